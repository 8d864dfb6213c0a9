//! Configuration refused at start, and the health and metrics endpoints.

use super::webhook::WEBHOOK_URL;
use super::*;
use crate::harness::InProcess;

/// How long a binary that should refuse its configuration may run.
pub(super) const REFUSE: Duration = Duration::from_secs(10);

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
    // In-process: nothing here needs a real process.
    let mut bot = InProcess::start(&api, &env);
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
    let mut bot = InProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    let before = Metrics::fetch(&addr);

    const NAME: &str = "Quennevillette";
    const ID: i64 = 7_301_927_465;
    const TEXT: &str = "zebra onion diary";
    let mut chat = PrivateChat::new(TgUser::new(ID, NAME, "en"));
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

#[test]
fn metrics_time_each_reply_and_each_bot_api_call_by_method_but_name_no_one() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut env = vec![("METRICS_ADDR", addr.as_str())];
    env.extend(FAST);
    let mut bot = InProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);

    const NAME: &str = "Aubertinelle";
    const ID: i64 = 6_502_883_117;
    const TEXT: &str = "walrus pepper atlas";
    let mut chat = PrivateChat::new(TgUser::new(ID, NAME, "en"));
    chat.send(&api, "/start");
    chat.send(&api, TEXT);
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    let deliveries = api.deliveries_in(ID);

    // Three updates, each answered: three first replies timed, none timed as unanswered.
    let replied = r#"scar_guide_reply_latency_seconds_count{outcome="replied"}"#;
    let no_reply = r#"scar_guide_reply_latency_seconds_count{outcome="no_reply"}"#;
    let calls = "scar_guide_api_call_duration_seconds_count";
    let after = wait_until(
        DEADLINE,
        || {
            format!(
                "three replies timed; /metrics:\n{}",
                Metrics::fetch(&addr).text
            )
        },
        || {
            let now = Metrics::fetch(&addr);
            let done = now.value(replied) == Some(3.0) && now.sum(calls) >= deliveries.len() as f64;
            done.then_some(now)
        },
    );
    assert_eq!(after.value(no_reply), Some(0.0), "{}", after.text);
    // Each Bot API method the conversation used has its durations, under teloxide's name for
    // the request (the fake records it lowercased), at least once per call made.
    let timed: Vec<(String, f64)> = after
        .samples()
        .into_iter()
        .filter_map(|(series, count)| {
            let method = series
                .strip_prefix(&format!("{calls}{{method=\""))?
                .strip_suffix("\"}")?;
            Some((method.to_owned(), count))
        })
        .collect();
    for used in ["sendmessage", "editmessagetext", "answercallbackquery"] {
        let made = deliveries.iter().filter(|d| d.method == used).count() as f64;
        assert!(made >= 1.0, "the conversation made no {used}");
        let count = timed
            .iter()
            .find(|(method, _)| method.to_lowercase() == used)
            .map(|(_, count)| *count);
        assert!(
            count.is_some_and(|count| count >= made),
            "{used}: {made} calls, timed {count:?}:\n{}",
            after.text
        );
    }
    // A histogram's buckets count up to its total.
    let inf = r#"scar_guide_reply_latency_seconds_bucket{outcome="replied",le="+Inf"}"#;
    assert_eq!(after.value(inf), Some(3.0), "{}", after.text);

    // Every label is one of the closed set of keys, with a bucket bound or a word as value.
    for (series, _) in after.samples() {
        let Some(labels) = series
            .split_once('{')
            .and_then(|(_, rest)| rest.strip_suffix('}'))
        else {
            continue;
        };
        for pair in labels.split(',') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.trim_matches('"');
            let fits = match key {
                "le" => value == "+Inf" || value.parse::<f64>().is_ok_and(|bound| bound <= 60.0),
                "kind" | "outcome" | "method" => {
                    !value.is_empty() && value.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                }
                _ => false,
            };
            assert!(fits, "label {pair} in {series}:\n{}", after.text);
        }
    }
    for private in [&ID.to_string(), NAME, TEXT, "walrus", "pepper"] {
        assert!(
            !after.text.contains(private),
            "{private:?} in /metrics:\n{}",
            after.text
        );
    }
    bot.stop_cleanly(STOP);
}
