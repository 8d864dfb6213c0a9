//! The life of the service: shutdown, flooding, a blocked bot, a Bot API silent at start-up,
//! an unreadable success, and the fake itself.

use super::*;
use crate::fake_api::{FakeApi, Reply};
use crate::harness::InProcess;

/// Waits until the bot has started sending its first reply.
fn wait_for_first_send(api: &FakeTelegram) {
    api.wait_for_call("the first reply on its way", DEADLINE, |calls| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage")
            .then_some(())
    });
}

#[test]
fn sigterm_while_a_reply_is_being_sent_finishes_it_and_exits_0() {
    const GRACE: Duration = Duration::from_secs(6);
    let api = FakeTelegram::start();
    // Each message takes 1.5 s to be confirmed: the greeting and the menu take 3 s.
    api.answer_late("sendmessage", Duration::from_millis(1500));
    let mut env = vec![("SHUTDOWN_GRACE", "6s")];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    let mut chat = PrivateChat::new(TgUser::new(5_700_001, "Ada", "en"));
    chat.watch(&bot);

    api.user_sends(&chat.user, "/start");
    wait_for_first_send(&api);
    let since = Instant::now();
    bot.terminate();
    chat.expect_replies(&api, &["/start"]);
    let status = bot.wait_exit(GRACE + Duration::from_secs(5));
    let took = since.elapsed();
    assert!(
        status.success(),
        "{status:?} after SIGTERM:\n{}",
        bot.output()
    );
    assert!(
        took <= GRACE + Duration::from_secs(3),
        "stopping took {took:?} with SHUTDOWN_GRACE=6s"
    );
    chat.check(&api);
}

#[test]
fn healthz_says_stopping_once_sigterm_came_while_a_reply_is_in_flight() {
    let api = FakeTelegram::start();
    // The greeting and the menu take 3 s to be confirmed.
    api.answer_late("sendmessage", Duration::from_millis(1500));
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str()), ("SHUTDOWN_GRACE", "6s")];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    let mut chat = PrivateChat::new(TgUser::new(5_710_001, "Ada", "en"));
    chat.watch(&bot);
    api.user_sends(&chat.user, "/start");
    wait_for_first_send(&api);
    bot.terminate();
    // Well before the reply is done: a load balancer must stop sending here at once.
    wait_for_http(
        &addr,
        "/healthz",
        Duration::from_secs(2),
        "503 stopping",
        |r| r.status == 503 && r.body.trim() == "stopping",
    );
    chat.expect_replies(&api, &["/start"]);
    let status = bot.wait_exit(STOP);
    assert!(
        status.success(),
        "{status:?} after SIGTERM:\n{}",
        bot.output()
    );
    chat.check(&api);
}

// --- Flooding ------------------------------------------------------------------------------------

#[test]
fn a_chat_flooding_the_bot_does_not_stall_another_and_gets_one_notice() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    // Default limits: the flooding chat's replies leave at one a second, so its queue fills.
    let bot = InProcess::start(&api, &[("METRICS_ADDR", addr.as_str())]);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);

    let flooder = TgUser::new(5_800_001, "Ada", "en");
    for i in 0..300 {
        api.user_sends(&flooder, &format!("message number {i}"));
    }
    let mut other = PrivateChat::new(TgUser::new(5_800_002, "Bea", "en"));
    let update = api.user_sends(&other.user, "/start");
    other.expect_replies(&api, &["/start"]);
    let answered_at = api.deliveries_in(other.id()).last().expect("the menu").at;
    let handed_at = api
        .calls()
        .iter()
        .find(|c| {
            c.method == "getupdates"
                && c.result
                    .as_array()
                    .is_some_and(|u| u.iter().any(|u| u["update_id"] == json!(update)))
        })
        .expect("the /start was handed out")
        .at;
    let waited = answered_at - handed_at;
    let flooder_replies = api.deliveries_in(flooder.id).len();
    note(&format!(
        "the other chat was answered {waited:.1?} after its /start was fetched, \
         while the flooder had {flooder_replies} replies"
    ));
    assert!(
        waited < Duration::from_secs(5),
        "the other chat waited {waited:?} behind the flood"
    );

    let flood = &pack("en").ui.hints.flood;
    let notices = || {
        api.deliveries_in(flooder.id)
            .iter()
            .filter(|d| d.method == "sendmessage")
            .filter(|d| d.text.as_ref().is_some_and(|t| t.contains(flood.as_str())))
            .count()
    };
    wait_until(
        DEADLINE,
        || "a flood notice".to_owned(),
        || (notices() > 0).then_some(()),
    );
    wait_until(
        DEADLINE,
        || {
            format!(
                "dropped updates to be counted:\n{}",
                Metrics::fetch(&addr).text
            )
        },
        || (Metrics::fetch(&addr).sum("scar_guide_updates_dropped_total") > 0.0).then_some(()),
    );
    assert!(bot.is_running(), "the bot stopped");
    assert_eq!(notices(), 1, "flood notices to the flooding chat");
}

// --- A user who blocked the bot ------------------------------------------------------------------

#[test]
fn a_user_who_blocked_the_bot_is_forgotten() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str())];
    env.extend(FAST);
    let mut bot = InProcess::start(&api, &env);
    let mut chat = PrivateChat::new(TgUser::new(5_900_001, "Ada", "en"));
    chat.send(&api, "/start");
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    let active = |n: f64| {
        wait_until(
            DEADLINE,
            || {
                format!(
                    "conversations_active to be {n}:\n{}",
                    Metrics::fetch(&addr).text
                )
            },
            || {
                (Metrics::fetch(&addr).value("scar_guide_conversations_active") == Some(n))
                    .then_some(())
            },
        )
    };
    active(1.0);

    api.set_blocked(chat.id(), true);
    api.user_sends(&chat.user, "is anyone there");
    api.wait_for_call("a send refused with 403", DEADLINE, |calls| {
        calls.iter().any(|c| c.status == 403).then_some(())
    });
    active(0.0);
    assert_eq!(
        api.calls().iter().filter(|c| c.status == 403).count(),
        1,
        "a 403 was retried"
    );

    // Unblocked, the chat starts afresh: typed text gets the greeting and the main menu, not a
    // hint about the scar question it was on.
    api.set_blocked(chat.id(), false);
    chat.state = State::Idle;
    chat.menu = None;
    chat.send(&api, "hello again");
    chat.check(&api);
    bot.stop_cleanly(STOP);
}

// --- A Bot API that does not answer at start-up --------------------------------------------------

#[test]
fn sigterm_while_get_me_hangs_exits_0_at_once() {
    let api = FakeTelegram::start();
    // Far beyond the client's timeout: the call is stuck until the bot gives up on it.
    api.answer_setup("getme", Some(Setup::Late(Duration::from_secs(120))));
    let addr = free_addr();
    let mut bot = BotProcess::start(
        &api,
        &[("METRICS_ADDR", addr.as_str()), ("API_TIMEOUT", "10s")],
    );
    api.wait_for_call("a getMe", DEADLINE, |calls| {
        calls.iter().any(|c| c.method == "getme").then_some(())
    });
    let health = wait_for_http(&addr, "/healthz", DEADLINE, "an answer", |_| true);
    assert_eq!((health.status, health.body.trim()), (503, "starting"));
    // Not after API_TIMEOUT (10 s): the call in progress is abandoned.
    let since = Instant::now();
    bot.stop_cleanly(Duration::from_secs(3));
    note(&format!(
        "stopped {:.1?} after SIGTERM during a hanging getMe",
        since.elapsed()
    ));
}

// --- A success teloxide cannot read --------------------------------------------------------------

#[test]
fn a_send_answered_with_a_success_teloxide_cannot_read_is_not_repeated() {
    let api = FakeTelegram::start();
    let mut bot = BotProcess::start(&api, &FAST);
    let mut chat = PrivateChat::new(TgUser::new(5_950_001, "Ada", "en"));
    chat.watch(&bot);
    // Typed text in a new chat: the greeting and the main menu in one message, answered
    // `{"ok": true}` with a result teloxide cannot read.
    api.fail_next("sendmessage", Fault::Unreadable);
    chat.send(&api, "hello there");
    // Updates of one chat are handled in order: once this is answered, the first one is done,
    // retries included. (The first handler failed, so its state was not saved; /cancel shows
    // the main menu whatever the state.)
    chat.send(&api, "/cancel");
    let unreadable = api
        .injected()
        .iter()
        .filter(|(_, _, _, f)| *f == Fault::Unreadable)
        .count();
    assert_eq!(unreadable, 1, "{}", api.fault_summary());
    assert!(bot.is_running(), "the bot died:\n{}", bot.log().tail(40));
    // Each text was delivered as often as asked: the unreadable answer was not sent again.
    assert_eq!(chat.check(&api), 0, "sends with no answer");
    let output = bot.stop_cleanly(STOP);
    assert!(!output.contains("panicked"), "{output}");
}

// --- The Bot API URL ---------------------------------------------------------------------------

/// A TELOXIDE_API_URL with a path (a Bot API server behind a proxy), with or without a trailing
/// slash: the calls go under that path, with no empty segment before `bot<token>`.
#[tokio::test]
async fn an_api_url_with_a_path_keeps_it_in_every_call() {
    let api = FakeApi::start(|_, _| Reply::ok(json!(true)));
    let base = api.url();
    for path in ["tg", "tg/", "proxy/tg//"] {
        let env = [
            ("TELOXIDE_TOKEN", TOKEN.to_owned()),
            ("TELOXIDE_API_URL", format!("{base}{path}")),
        ];
        let config = scar_guide::config::Config::from_lookup(|name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        })
        .expect("a valid configuration");
        let bot = scar_guide::service::bot(&config).expect("a client");
        bot.delete_webhook().await.expect("answered");
        let call = api.calls().pop().expect("a call");
        let expected = format!("/{}/bot{TOKEN}/deletewebhook", path.trim_end_matches('/'));
        assert_eq!(
            call.path.to_ascii_lowercase(),
            expected.to_ascii_lowercase(),
            "{path}"
        );
    }
}

// --- The fake itself -----------------------------------------------------------------------------

/// The service tests trust the fake to behave like Telegram; this pins down how.
#[tokio::test]
async fn the_fake_telegram_refuses_repeated_edits_and_answers_like_telegram() {
    let api = FakeTelegram::start();
    let user = TgUser::new(5_000_001, "Ada", "en");
    let chat = ChatId(user.id);
    let bot = Bot::new(TOKEN).set_api_url(url::Url::parse(&api.url()).expect("a URL"));
    api.user_sends(&user, "hi");

    let sent = bot.send_message(chat, "one").await.expect("sent");
    bot.edit_message_text(chat, sent.id, "two")
        .await
        .expect("edited");
    let again = bot.edit_message_text(chat, sent.id, "two").await;
    assert!(
        matches!(again, Err(RequestError::Api(ApiError::MessageNotModified))),
        "{again:?}"
    );
    let query = CallbackQueryId(api.user_taps(&user, i64::from(sent.id.0), "data"));
    bot.answer_callback_query(query.clone())
        .await
        .expect("answered");
    let again = bot.answer_callback_query(query).await;
    assert!(matches!(again, Err(RequestError::Api(_))), "{again:?}");

    api.fail_next("sendmessage", Fault::RateLimited);
    let limited = bot.send_message(chat, "three").await;
    assert!(
        matches!(limited, Err(RequestError::RetryAfter(s)) if s.seconds() == 1),
        "{limited:?}"
    );
    api.fail_next("sendmessage", Fault::DroppedAfter);
    let dropped = bot.send_message(chat, "four").await;
    assert!(
        matches!(dropped, Err(RequestError::Network(_))),
        "{dropped:?}"
    );
    api.fail_next("sendmessage", Fault::DroppedBefore);
    let dropped = bot.send_message(chat, "five").await;
    assert!(
        matches!(dropped, Err(RequestError::Network(_))),
        "{dropped:?}"
    );

    let delivered: Vec<(String, Option<String>, bool)> = api
        .deliveries_in(user.id)
        .into_iter()
        .map(|d| (d.method, d.text, d.answered))
        .collect();
    let expected = [
        ("sendmessage", Some("one"), true),
        ("editmessagetext", Some("two"), true),
        ("answercallbackquery", None, true),
        ("sendmessage", Some("four"), false),
    ]
    .map(|(m, t, a)| (m.to_owned(), t.map(str::to_owned), a));
    assert_eq!(delivered, expected);
}
