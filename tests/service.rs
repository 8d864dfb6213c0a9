//! The bot as a service (issue #4), tested through the compiled binary: environment variables
//! in, Bot API calls out, against the emulated Telegram of `fake_api.rs` and with the harness
//! of `harness.rs`.
//!
//! - Faults: while one reply call in five fails (429, 500, 502, slow, dropped), every action of
//!   two chats gets its reply, edits and button answers land once, and a send is repeated only
//!   when the fake gave the bot no answer.
//! - Throttle: a burst of messages in one chat leaves at about one a second.
//! - Webhook: registered with its secret; a POST with a wrong or missing secret is refused.
//!   While setWebhook fails the bot is not ready (503, nothing handled) and SIGTERM still stops
//!   it; a refused setWebhook stops the start with one line.
//! - Configuration: each bad setting is one line naming it, exit 1.
//! - /healthz and /metrics; SIGTERM in the middle of a reply (/healthz then says
//!   "stopping") or while getMe hangs; a flooding chat; a user who blocked the bot; a success
//!   answer teloxide cannot read.
//!
//! Expected texts come from the conversation core and the content, as the bot computes them.

use std::time::{Duration, Instant};

use scar_guide::conversation::{Action, LanguageCode, State};
use scar_guide::knowledge::{AcneKind, ScarKind, Topic};
use serde_json::{Value, json};
use teloxide::prelude::*;
use teloxide::types::CallbackQueryId;
use teloxide::{ApiError, RequestError};

use crate::fake_api::{FakeTelegram, Fault, Faults, GetMe, Setup, TOKEN, TOKEN_SECRET, TgUser};
use crate::harness::{
    BotProcess, Metrics, Pick, PrivateChat, free_addr, http, pack, run_to_end, wait_for_http,
    wait_until,
};
use crate::util::note;

/// The longest a single wait may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// How long a clean stop after SIGTERM may take: the contract's default grace and a margin.
const STOP: Duration = Duration::from_secs(12);

/// Every metric the contract names.
const METRICS: [&str; 9] = [
    "scar_guide_updates_total",
    "scar_guide_updates_dropped_total",
    "scar_guide_replies_total",
    "scar_guide_api_errors_total",
    "scar_guide_api_retries_total",
    "scar_guide_api_gave_up_total",
    "scar_guide_conversations_active",
    "scar_guide_conversations_expired_total",
    "scar_guide_storage_errors_total",
];

/// Limits high enough that Throttle never slows a test that is not about it.
const FAST: [(&str, &str); 3] = [
    ("RATE_PER_CHAT", "30"),
    ("RATE_PER_GROUP", "6000"),
    ("RATE_OVERALL", "300"),
];

/// One thing the user does.
#[derive(Clone, Copy)]
enum Step {
    Send(&'static str),
    Tap(Pick),
}

fn tap(action: Action) -> Step {
    Step::Tap(Pick::Action(action))
}

fn play(chat: &mut PrivateChat, api: &FakeTelegram, script: &[Step]) {
    for step in script {
        match *step {
            Step::Send(text) => {
                chat.send(api, text);
            }
            Step::Tap(pick) => {
                chat.tap(api, pick);
            }
        }
    }
}

// --- Faults --------------------------------------------------------------------------------------

/// Typed words of the fault test: they must never reach the log.
const TYPED_A: &str = "my cheeks have small pits";
const TYPED_B: &str = "thank you for the card";

#[test]
fn under_one_fault_in_five_every_action_is_answered_and_nothing_lands_twice() {
    let timeout = Duration::from_secs(2);
    let api = FakeTelegram::with_faults(Some(Faults::at_rate(0.2)), timeout);
    let mut env = vec![("API_TIMEOUT", "2s"), ("RETRY_FOR", "60s")];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    let started = Instant::now();

    let english = [
        Step::Send("/start"),
        tap(Action::Topic(Topic::Identify)),
        tap(Action::Toggle(ScarKind::Dents)),
        tap(Action::Toggle(ScarKind::Redness)),
        tap(Action::Done),
        Step::Send(TYPED_A),
        // The follow-up questions, answered with their first button, end in the advice cards.
        Step::Tap(Pick::First),
        Step::Tap(Pick::First),
        Step::Send("/help"),
        // "What next?": another card.
        Step::Tap(Pick::First),
        Step::Send("/cancel"),
        tap(Action::Topic(Topic::Treatments)),
        // A treatment card.
        Step::Tap(Pick::First),
    ];
    let english_code = LanguageCode::parse("en").expect("a language code");
    let japanese = [
        Step::Send("/start"),
        tap(Action::Topic(Topic::Prevent)),
        tap(Action::Acne(AcneKind::Red)),
        Step::Send(TYPED_B),
        Step::Send("/settings"),
        // From here on the bot speaks English in this chat.
        tap(Action::Language(english_code)),
        Step::Send("/privacy"),
        Step::Send("/cancel"),
        tap(Action::Topic(Topic::Care)),
        tap(Action::StartOver),
        tap(Action::Topic(Topic::Identify)),
    ];
    let chats = [
        (TgUser::new(5_100_001, "Ada", "en"), &english[..]),
        (TgUser::new(5_100_002, "Hiro", "ja"), &japanese[..]),
    ];
    let actions: usize = chats.iter().map(|(_, s)| s.len()).sum();

    // The two chats talk at the same time; each waits for its own replies.
    let repeated: usize = std::thread::scope(|scope| {
        let players: Vec<_> = chats
            .iter()
            .map(|(user, script)| {
                let (api, bot) = (&api, &bot);
                scope.spawn(move || {
                    let mut chat = PrivateChat::new(user.clone());
                    chat.watch(bot);
                    // Each 5xx costs teloxide a 10 s pause of its own: leave room for a few.
                    chat.deadline = Duration::from_secs(60);
                    play(&mut chat, api, script);
                    chat.check(api)
                })
            })
            .collect();
        players
            .into_iter()
            .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum()
    });

    note(&format!(
        "{actions} actions answered in {:.1?} under {}; {repeated} sends repeated after no answer",
        started.elapsed(),
        api.fault_summary()
    ));
    assert!(
        api.injected().len() >= 3,
        "too few faults to mean anything: {}",
        api.fault_summary()
    );
    assert!(bot.is_running(), "the bot died:\n{}", bot.log().tail(40));
    assert_eq!(api.unknown_methods(), Vec::<String>::new());
    let output = bot.stop_cleanly(STOP);
    for secret in [TYPED_A, TYPED_B, TOKEN_SECRET, "panicked"] {
        assert!(!output.contains(secret), "{secret:?} in the log:\n{output}");
    }
}

// --- Throttle ------------------------------------------------------------------------------------

#[test]
fn a_burst_of_cards_in_one_chat_leaves_at_about_one_message_a_second() {
    let api = FakeTelegram::start();
    let mut bot = BotProcess::start(&api, &[]);
    let mut chat = PrivateChat::new(TgUser::new(5_200_001, "Ada", "en"));
    chat.watch(&bot);
    // A greeting, then two topics each with a card, the greeting and a menu: all at once.
    chat.send_all(&api, &["/start", "/redness", "/dents"]);
    chat.check(&api);
    let times: Vec<Instant> = api
        .deliveries_in(chat.id())
        .iter()
        .filter(|d| d.method == "sendmessage")
        .map(|d| d.at)
        .collect();
    assert!(times.len() >= 6, "only {} messages", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let span = times[times.len() - 1] - times[0];
    note(&format!(
        "{} messages in one chat over {span:.1?}; gaps {gaps:.2?}",
        times.len()
    ));
    let shortest = gaps.iter().min().copied().unwrap_or_default();
    assert!(
        shortest >= Duration::from_millis(700),
        "two messages {shortest:?} apart in one chat (gaps {gaps:.2?})"
    );
    bot.stop_cleanly(STOP);
}

// --- Webhook -------------------------------------------------------------------------------------

const WEBHOOK_URL: &str = "https://example.test/tg/hook";
const SECRET: &str = "webhook_secret-0123456789_abcdefghijkl";

#[test]
fn the_webhook_is_registered_with_its_secret_and_refuses_a_wrong_or_missing_one() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut bot = BotProcess::start(
        &api,
        &[
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("LISTEN_ADDR", &addr),
            ("WEBHOOK_SECRET", SECRET),
        ],
    );
    let log = bot.log();
    let hook = wait_until(
        DEADLINE,
        || format!("setWebhook; log:\n{}", log.tail(30)),
        || api.webhook(),
    );
    assert_eq!(hook["url"], json!(WEBHOOK_URL), "{hook}");
    assert_eq!(hook["secret_token"], json!(SECRET), "{hook}");
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);

    let mut chat = PrivateChat::new(TgUser::new(5_300_001, "Ada", "en"));
    chat.watch(&bot);
    let post = |update: &Value, secret: Option<&str>| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(secret) = secret {
            headers.push(("x-telegram-bot-api-secret-token", secret));
        }
        http(
            &addr,
            "POST",
            "/tg/hook",
            &headers,
            update.to_string().as_bytes(),
        )
        .expect("POST to the webhook")
        .status
    };
    let wrong = format!("{}x", &SECRET[..SECRET.len() - 1]);
    let refused = api.message_update(&chat.user, "/help");
    assert_eq!(post(&refused, Some(&wrong)), 401, "a wrong secret");
    let refused = api.message_update(&chat.user, "/privacy");
    assert_eq!(post(&refused, None), 401, "no secret");
    // The right secret with a body that is not an update: refused before teloxide, which
    // would log the body whole, and nothing of it in the log.
    let not_an_update = json!({ "message": { "text": "my private words" } });
    assert_eq!(post(&not_an_update, Some(SECRET)), 400, "not an update");
    let accepted = api.message_update(&chat.user, "/start");
    assert_eq!(post(&accepted, Some(SECRET)), 200, "the right secret");
    // Updates of one chat are handled in order: had a refused one been taken, its reply would
    // be in the chat before the greeting, and `check` would find it.
    chat.expect_replies(&api, &["/start"]);
    chat.check(&api);

    assert_eq!(
        api.calls()
            .iter()
            .filter(|c| c.method == "getupdates")
            .count(),
        0,
        "getUpdates in webhook mode"
    );
    let metrics = Metrics::fetch(&addr);
    assert!(metrics.mentions("scar_guide_updates_total"));

    // Nothing is in flight any more: SIGTERM stops at once, and leaves the webhook set.
    let since = Instant::now();
    let output = bot.stop_cleanly(STOP);
    let took = since.elapsed();
    assert!(
        api.webhook().is_some(),
        "the webhook was deleted on shutdown; another instance may still serve it"
    );
    assert!(
        took < Duration::from_secs(3),
        "with nothing in flight, stopping took {took:?}:\n{output}"
    );
    assert!(
        !output.contains("my private words"),
        "a refused body reached the log:\n{output}"
    );
}

/// The environment of a bot in webhook mode listening on `addr`.
fn webhook_env(addr: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("WEBHOOK_URL", WEBHOOK_URL),
        ("LISTEN_ADDR", addr),
        ("WEBHOOK_SECRET", SECRET),
    ]
}

/// While setWebhook keeps failing with `failure`, the bot is not ready: /healthz says
/// "starting", and an update posted with the right secret is refused with 503 (so Telegram keeps
/// it) and never handled. SIGTERM still stops it cleanly, mid-call (teloxide holds a call
/// answered 5xx for 10 s) and without retrying for ever.
fn while_set_webhook_fails_nothing_is_taken_and_sigterm_stops(failure: Setup) {
    const GRACE: Duration = Duration::from_secs(2);
    let api = FakeTelegram::start();
    api.answer_setup("setwebhook", Some(failure));
    let addr = free_addr();
    let mut env = webhook_env(&addr);
    env.push(("SHUTDOWN_GRACE", "2s"));
    let mut bot = BotProcess::start(&api, &env);
    api.wait_for_call("a setWebhook", DEADLINE, |calls| {
        calls.iter().any(|c| c.method == "setwebhook").then_some(())
    });
    let health = wait_for_http(&addr, "/healthz", DEADLINE, "an answer", |_| true);
    assert_eq!(
        (health.status, health.body.trim()),
        (503, "starting"),
        "/healthz while setWebhook fails with {failure:?}"
    );

    let user = TgUser::new(5_310_001, "Ada", "en");
    let update = api.message_update(&user, "/start");
    let posted = http(
        &addr,
        "POST",
        "/tg/hook",
        &[
            ("content-type", "application/json"),
            ("x-telegram-bot-api-secret-token", SECRET),
        ],
        update.to_string().as_bytes(),
    )
    .expect("POST to the webhook");
    assert_eq!(posted.status, 503, "an update before the webhook is set");

    let since = Instant::now();
    bot.terminate();
    let status = bot.wait_exit(GRACE + Duration::from_secs(3));
    let output = bot.output();
    assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
    note(&format!(
        "stopped {:.1?} after SIGTERM while setWebhook failed with {failure:?}",
        since.elapsed()
    ));
    // The process is gone: whatever it would have sent, it has.
    assert_eq!(
        api.deliveries_in(user.id).len(),
        0,
        "the update refused with 503 was handled"
    );
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn while_set_webhook_answers_500_nothing_is_taken_and_sigterm_stops() {
    while_set_webhook_fails_nothing_is_taken_and_sigterm_stops(Setup::Error(
        500,
        "Internal Server Error",
    ));
}

#[test]
fn while_set_webhook_answers_502_nothing_is_taken_and_sigterm_stops() {
    while_set_webhook_fails_nothing_is_taken_and_sigterm_stops(Setup::BadGateway);
}

#[test]
fn a_refused_set_webhook_stops_the_start_with_one_error_line_naming_it() {
    let api = FakeTelegram::start();
    api.answer_setup(
        "setwebhook",
        Some(Setup::Error(
            400,
            "Bad Request: bad webhook: Failed to resolve host: Name or service not known",
        )),
    );
    let addr = free_addr();
    let mut bot = BotProcess::start(&api, &webhook_env(&addr));
    let status = bot.wait_exit(REFUSE);
    let stderr = bot.stderr();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    // Log lines start with "[": the error lines are main's.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("error"))
        .collect();
    assert_eq!(errors.len(), 1, "error lines in stderr:\n{stderr}");
    assert!(
        errors[0].starts_with("error:") && errors[0].contains("setWebhook"),
        "{:?} does not name setWebhook",
        errors[0]
    );
    let set = api
        .calls()
        .iter()
        .filter(|c| c.method == "setwebhook")
        .count();
    assert_eq!(set, 1, "a refused setWebhook was repeated");
    for secret in [SECRET, TOKEN_SECRET, "panicked"] {
        assert!(!stderr.contains(secret), "{secret:?} in stderr:\n{stderr}");
    }
}

// --- Configuration -------------------------------------------------------------------------------

/// How long a binary that should refuse its configuration may run.
const REFUSE: Duration = Duration::from_secs(10);

/// Runs the binary with `env` and checks it stops with exit 1 and exactly one `error:` line
/// for each of `vars`, naming it.
fn assert_refused(env: &[(&str, &str)], vars: &[&str]) {
    let (status, _, stderr) = run_to_end(env, REFUSE);
    let context = format!("{env:?}\nstderr:\n{stderr}");
    assert_eq!(status.code(), Some(1), "{context}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), vars.len(), "one line per problem: {context}");
    for line in &lines {
        assert!(line.starts_with("error"), "{line:?}: {context}");
    }
    for var in vars {
        let naming = lines.iter().filter(|l| l.contains(var)).count();
        assert_eq!(naming, 1, "lines naming {var}: {context}");
    }
    assert!(!stderr.contains("panicked"), "{context}");
}

#[test]
fn each_bad_service_setting_stops_the_start_with_one_line_naming_it() {
    let webhook = ("WEBHOOK_URL", WEBHOOK_URL);
    let bad_url = ("WEBHOOK_URL", "not a url");
    let bad_addr = ("LISTEN_ADDR", "127.0.0.1:99999");
    let bad_secret = ("WEBHOOK_SECRET", "spaces and ! are not allowed");
    let bad_storage = ("STORAGE_URL", "http://127.0.0.1:6379");
    assert_refused(&[bad_url], &["WEBHOOK_URL"]);
    assert_refused(&[webhook, bad_addr], &["LISTEN_ADDR"]);
    assert_refused(&[webhook, bad_secret], &["WEBHOOK_SECRET"]);
    assert_refused(&[bad_storage], &["STORAGE_URL"]);
    assert_refused(
        &[bad_url, bad_addr, bad_secret, bad_storage],
        &[
            "WEBHOOK_URL",
            "LISTEN_ADDR",
            "WEBHOOK_SECRET",
            "STORAGE_URL",
        ],
    );
}

#[test]
fn bad_limits_timeouts_and_metrics_address_stop_the_start_too() {
    for (var, value) in [
        ("METRICS_ADDR", "nowhere"),
        ("RATE_PER_CHAT", "fast"),
        ("RATE_PER_GROUP", "many"),
        ("RATE_OVERALL", "-3"),
        ("RETRY_FOR", "forever"),
        ("API_TIMEOUT", "soon"),
        ("SHUTDOWN_GRACE", "later"),
    ] {
        assert_refused(&[(var, value)], &[var]);
    }
}

// --- Health and metrics --------------------------------------------------------------------------

#[test]
fn healthz_says_503_while_get_me_fails_and_200_once_it_answers() {
    let api = FakeTelegram::start();
    api.set_get_me(GetMe::Failing);
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str()), ("API_TIMEOUT", "2s")];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    api.wait_for_call("a getMe", DEADLINE, |calls| {
        calls.iter().any(|c| c.method == "getme").then_some(())
    });
    let starting = wait_for_http(&addr, "/healthz", DEADLINE, "answer", |_| true);
    assert_eq!(starting.status, 503, "{starting:?}");
    assert!(starting.body.contains("starting"), "{starting:?}");
    api.wait_for_call("a second getMe", DEADLINE, |calls| {
        (calls.iter().filter(|c| c.method == "getme").count() >= 2).then_some(())
    });
    let still = wait_for_http(&addr, "/healthz", DEADLINE, "answer", |_| true);
    assert_eq!(still.status, 503, "after two failed getMe: {still:?}");

    api.set_get_me(GetMe::Bot);
    let ok = wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    assert_eq!(ok.body.trim(), "ok");
    bot.stop_cleanly(STOP);
}

#[test]
fn metrics_count_updates_replies_and_retries_but_name_no_one() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str())];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    let before = Metrics::fetch(&addr);

    const NAME: &str = "Quennevillette";
    const ID: i64 = 7_301_927_465;
    const TEXT: &str = "zebra onion diary";
    let mut chat = PrivateChat::new(TgUser::new(ID, NAME, "en"));
    chat.watch(&bot);
    // The first reply meets a dropped connection: an error and a retry to count.
    api.fail_next("sendmessage", Fault::DroppedBefore);
    chat.send(&api, "/start");
    chat.send(&api, TEXT);
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    // Every delivery is a reply: the messages, the menu edit and the button answer.
    let replies = api.deliveries_in(ID).len() as f64;

    let messages = r#"scar_guide_updates_total{kind="message"}"#;
    let taps = r#"scar_guide_updates_total{kind="callback_query"}"#;
    let was = |series: &str| before.value(series).unwrap_or(0.0);
    let after = wait_until(
        DEADLINE,
        || {
            format!(
                "the counts to move; /metrics:\n{}",
                Metrics::fetch(&addr).text
            )
        },
        || {
            let now = Metrics::fetch(&addr);
            let moved = now.value(messages) == Some(was(messages) + 2.0)
                && now.value(taps) == Some(was(taps) + 1.0)
                && now.sum("scar_guide_replies_total")
                    >= before.sum("scar_guide_replies_total") + replies;
            moved.then_some(now)
        },
    );
    for name in METRICS {
        assert!(
            after.mentions(name),
            "no {name} in /metrics:\n{}",
            after.text
        );
    }
    assert!(
        after.sum("scar_guide_api_errors_total") >= 1.0
            && after.sum("scar_guide_api_retries_total") >= 1.0,
        "a dropped connection was not counted as an error and a retry:\n{}",
        after.text
    );
    assert!(
        after
            .value("scar_guide_conversations_active")
            .is_some_and(|n| n >= 1.0),
        "{}",
        after.text
    );
    for private in [&ID.to_string(), NAME, TEXT, "zebra"] {
        assert!(
            !after.text.contains(private),
            "{private:?} in /metrics:\n{}",
            after.text
        );
    }
    bot.stop_cleanly(STOP);
}

// --- Shutdown ------------------------------------------------------------------------------------

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
    let mut bot = BotProcess::start(&api, &[("METRICS_ADDR", addr.as_str())]);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);

    let flooder = TgUser::new(5_800_001, "Ada", "en");
    for i in 0..300 {
        api.user_sends(&flooder, &format!("message number {i}"));
    }
    let mut other = PrivateChat::new(TgUser::new(5_800_002, "Bea", "en"));
    other.watch(&bot);
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
    let log = bot.log();
    wait_until(
        DEADLINE,
        || format!("a flood notice; log:\n{}", log.tail(30)),
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
    assert!(bot.is_running(), "the bot died:\n{}", log.tail(40));
    assert_eq!(notices(), 1, "flood notices to the flooding chat");
}

// --- A user who blocked the bot ------------------------------------------------------------------

#[test]
fn a_user_who_blocked_the_bot_is_forgotten() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str())];
    env.extend(FAST);
    let mut bot = BotProcess::start(&api, &env);
    let mut chat = PrivateChat::new(TgUser::new(5_900_001, "Ada", "en"));
    chat.watch(&bot);
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
