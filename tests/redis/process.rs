//! The compiled bot with `STORAGE_URL`: conversations outlive the process and are shared.

use super::*;

/// The longest one wait on the bot may take.
const BOT_DEADLINE: Duration = Duration::from_secs(30);

/// How long a clean stop after SIGTERM may take (the default grace and a margin).
const STOP: Duration = Duration::from_secs(12);

/// The user of the process tests.
const USER: i64 = 5_550_123;

/// The bot's settings for the Redis at `url`, a TTL to check, and limits high enough that
/// the rate budget never slows the tests.
fn bot_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("STORAGE_URL", url),
        ("STATE_TTL", "1h"),
        ("RATE_PER_CHAT", "30"),
        ("RATE_PER_GROUP", "6000"),
        ("RATE_OVERALL", "300"),
    ]
}

/// Waits until a getUpdates call confirmed (by its offset) every update the bot received, so
/// a process killed now leaves none for the next one to receive again.
fn wait_until_confirmed(api: &FakeTelegram) {
    api.wait_for_call(
        "a getUpdates confirming every update",
        BOT_DEADLINE,
        |calls| {
            let polls = || calls.iter().filter(|c| c.method == "getupdates");
            let last = polls()
                .filter_map(|c| c.result.as_array())
                .flatten()
                .filter_map(|u| u["update_id"].as_i64())
                .max()?;
            polls()
                .filter_map(|c| c.body["offset"].as_i64())
                .any(|offset| offset > last)
                .then_some(())
        },
    );
}

/// Waits until Redis holds `chat`'s conversation where the test expects it: the bot stores it
/// after its replies, so a reply seen is not yet a state saved.
pub(super) fn wait_until_stored(raw: &mut redis::Connection, chat: &PrivateChat) {
    let key = format!("scar-guide:session:{}", chat.id());
    wait_until(
        BOT_DEADLINE,
        || format!("{key} never held the state {:?}", chat.state),
        || {
            let json: Option<String> = redis::cmd("GET").arg(&key).query(raw).expect("GET");
            let session: Session = serde_json::from_str(&json?).expect("a stored Session");
            (session.state == chat.state && session.menu.map(|m| i64::from(m.0)) == chat.menu)
                .then_some(())
        },
    );
}

#[test]
fn a_conversation_continues_in_a_second_process_after_the_first_is_killed() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let url = server.url();
    let env = bot_env(&url);
    let mut first = BotProcess::start(&api, &env);
    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.watch(&first);
    chat.send(&api, "/start");
    chat.tap(&api, Pick::First);
    assert_ne!(
        chat.state,
        State::MainMenu,
        "the tap moved the conversation on"
    );

    let mut raw = server.raw();
    wait_until_stored(&mut raw, &chat);
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("scar-guide:session:{USER}"))
        .query(&mut raw)
        .expect("TTL");
    assert!(
        (3_500..=3_600).contains(&ttl),
        "the session key's TTL is {ttl} s, not STATE_TTL"
    );
    wait_until_confirmed(&api);
    first.kill();

    // The menu the first process showed is still the current one for the second, so the tap
    // is acted on (not answered as an expired menu).
    let mut second = BotProcess::start(&api, &env);
    chat.watch(&second);
    chat.tap(&api, Pick::First);
    chat.check(&api);
    let output = second.stop_cleanly(STOP);
    assert!(!output.contains("unreachable"), "{output}");
}

/// The webhook both instances of the shared-webhook test register.
const WEBHOOK_URL: &str = "https://example.test/tg/hook";
const WEBHOOK_SECRET: &str = "shared_webhook_secret-0123456789_abcdefgh";

/// The replies an instance's /metrics counts.
fn replies(addr: &str) -> f64 {
    Metrics::fetch(addr).sum("scar_guide_replies_total")
}

#[test]
fn two_instances_behind_one_webhook_share_the_conversation() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let url = server.url();
    // One webhook in front of two instances, as a load balancer would spread it.
    let start = |addr: &str| {
        let mut env = bot_env(&url);
        env.extend([
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("LISTEN_ADDR", addr),
        ]);
        let bot = BotProcess::start(&api, &env);
        wait_for_http(addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
        let webhook = Webhook {
            addr: addr.to_owned(),
            path: "/tg/hook".to_owned(),
            secret: WEBHOOK_SECRET.to_owned(),
        };
        (bot, webhook)
    };
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let (mut a, hook_a) = start(&addr_a);
    let (mut b, hook_b) = start(&addr_b);
    api.wait_for_call("both setWebhook calls", BOT_DEADLINE, |calls| {
        (calls.iter().filter(|c| c.method == "setwebhook").count() == 2).then_some(())
    });

    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.deadline = Duration::from_secs(10);
    let mut raw = server.raw();
    // Each step goes to the other instance than the one before, once the state the last one
    // saved is in Redis (it saves after replying): what the conversation core expects at each
    // step is right only if the instance taking it read what the other one wrote.
    let on = |bot: &BotProcess, webhook: &Webhook, chat: &mut PrivateChat| {
        chat.watch(bot);
        chat.via(Some(webhook));
    };
    on(&a, &hook_a, &mut chat);
    chat.send(&api, "/start");
    wait_until_stored(&mut raw, &chat);
    on(&b, &hook_b, &mut chat);
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    wait_until_stored(&mut raw, &chat);
    on(&a, &hook_a, &mut chat);
    chat.tap(&api, Pick::Action(Action::Toggle(ScarKind::Dents)));
    wait_until_stored(&mut raw, &chat);
    // Typed words that tick another kind, on top of the one ticked on the other instance.
    let redness = &pack("en").scars.get(ScarKind::Redness).keywords[0];
    on(&b, &hook_b, &mut chat);
    chat.send(&api, &format!("and {redness} marks"));
    assert!(
        matches!(&chat.state, State::Identify { picked }
            if picked.contains(&ScarKind::Dents) && picked.contains(&ScarKind::Redness)),
        "the typed answer ticks a second kind: {:?}",
        chat.state
    );
    wait_until_stored(&mut raw, &chat);
    for (name, addr) in [("A", &addr_a), ("B", &addr_b)] {
        assert!(replies(addr) >= 1.0, "instance {name} answered no step");
    }

    // A stops (a deploy): the webhook stays, and B carries on alone.
    a.stop_cleanly(STOP);
    let deleted = api
        .calls()
        .iter()
        .filter(|c| c.method == "deletewebhook")
        .count();
    assert_eq!(deleted, 0, "deleteWebhook calls");
    assert!(api.webhook().is_some(), "the webhook is still set");
    let before = replies(&addr_b);
    on(&b, &hook_b, &mut chat);
    chat.tap(&api, Pick::Action(Action::Done));
    chat.tap(&api, Pick::First);
    assert!(replies(&addr_b) > before, "B answered after A stopped");
    chat.check(&api);
    let output = b.stop_cleanly(STOP);
    assert!(!output.contains("unreachable"), "{output}");
}

#[test]
fn while_redis_is_down_the_user_is_asked_to_retry_and_healthz_says_503() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let api = FakeTelegram::start();
    let url = server.url();
    let addr = free_addr();
    let mut env = bot_env(&url);
    env.push(("METRICS_ADDR", &addr));
    let mut bot = BotProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.watch(&bot);
    chat.send(&api, "/start");
    chat.tap(&api, Pick::First);

    // A snapshot, so the server comes back with the conversation, as a Redis with persistence
    // would after a crash.
    let mut raw = server.raw();
    wait_until_stored(&mut raw, &chat);
    redis::cmd("SAVE").exec(&mut raw).expect("SAVE a snapshot");
    server.kill();
    let down = wait_for_http(&addr, "/healthz", BOT_DEADLINE, "503", |r| r.status == 503);
    assert!(down.body.contains("storage unreachable"), "{down:?}");

    let busy = &pack("en").ui.hints.busy;
    api.user_sends(&chat.user, "hello?");
    wait_until(
        BOT_DEADLINE,
        || format!("no {busy:?} in the chat; log:\n{}", bot.output()),
        || {
            api.deliveries_in(USER)
                .iter()
                .any(|d| d.method == "sendmessage" && d.text.as_ref() == Some(busy))
                .then_some(())
        },
    );
    assert!(bot.is_running(), "the bot stays up while Redis is down");

    server.restart();
    wait_for_http(&addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
    // The same process and the same conversation: the tap on the menu shown before the outage
    // is acted on.
    chat.tap(&api, Pick::First);
    let metrics = Metrics::fetch(&addr);
    assert!(
        metrics.sum("scar_guide_storage_errors_total") >= 1.0,
        "{}",
        metrics.text
    );
    bot.stop_cleanly(STOP);
}
