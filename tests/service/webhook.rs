//! The webhook mode: the secret, the route, updates posted as Telegram does.

use super::health::REFUSE;
use super::*;

pub(super) const WEBHOOK_URL: &str = "https://example.test/tg/hook";
pub(super) const SECRET: &str = "webhook_secret-0123456789_abcdefghijkl";

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
/// it) and never handled. SIGTERM still stops it cleanly, between retries or mid-call,
/// and without retrying for ever.
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

/// A reaction update with no actor posted with the right secret (unpatched teloxide-core
/// panicked deserializing it, in our guard's parse) is answered 200 and skipped with its id,
/// as polling skips it: Telegram repeats an update answered otherwise, and this one would
/// never read better. The bot keeps running and answers the /start after it.
#[test]
fn a_reaction_update_without_an_actor_is_acknowledged_skipped_and_the_bot_answers_on() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut bot = BotProcess::start(&api, &webhook_env(&addr));
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    let mut chat = PrivateChat::new(TgUser::new(5_320_001, "Ada", "en"));
    chat.watch(&bot);
    let post = |update: &Value| {
        let headers = [
            ("content-type", "application/json"),
            ("x-telegram-bot-api-secret-token", SECRET),
        ];
        let body = update.to_string();
        http(&addr, "POST", "/tg/hook", &headers, body.as_bytes())
            .expect("POST to the webhook")
            .status
    };
    let mut reaction = crate::fake_api::reaction_without_actor(&chat.user);
    reaction["update_id"] = json!(7_001);
    assert_eq!(post(&reaction), 200, "the reaction update");
    assert_eq!(post(&api.message_update(&chat.user, "/start")), 200);
    chat.expect_replies(&api, &["/start"]);
    chat.check(&api);
    assert!(bot.is_running(), "the bot died:\n{}", bot.output());
    let health = http(&addr, "GET", "/healthz", &[], b"").expect("GET /healthz");
    assert_eq!(health.status, 200, "/healthz after the reaction update");
    let output = bot.stop_cleanly(STOP);
    assert!(
        output.contains("skipped update 7001 that teloxide cannot parse"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}
