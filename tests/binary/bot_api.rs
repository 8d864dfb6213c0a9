//! The Telegram mode of the binary against the fake Bot API: a whole chat and SIGTERM, the
//! profile calls, a refused token, an unreachable Bot API, an unparseable update.

use super::*;

/// The whole life of the bot: start-up calls, `/start`, a tap, typed text, then SIGTERM.
#[test]
fn the_bot_answers_a_chat_over_the_bot_api_and_stops_on_sigterm() {
    const DIARY: &str = "my secret diary words";
    let api = FakeTelegram::start();
    let ada = ada();
    api.user_sends(&ada, "/start");
    let mut bot = BotProcess::start(&api, &[("RUST_LOG", "trace")]);

    // Start-up: the bot checks the token and sets its profile in every language.
    first_call(&api, "getme");
    let content = crate::util::content();
    let languages = content.packs().count();
    let calls = wait_for(&api, "the profile in every language", |calls| {
        (count(calls, "setmyshortdescription") >= languages).then(|| calls.to_vec())
    });
    assert_profile(&calls, &content);

    // /start: the greeting on its own, then the main menu with an inline keyboard.
    let pack = english();
    let conv = conversation();
    let start = conv.step(&State::Idle, Input::Start);
    let screen = start.screen.as_ref().expect("/start shows a menu");
    let expected_buttons = crate::util::expected_buttons(&start);
    let sent = wait_for_greeting(&api);
    assert_eq!(sent_texts(&sent), expected_messages(&start));
    let [greeting, menu] = &sent[..] else {
        panic!("not the greeting and a menu: {:?}", sent_texts(&sent))
    };
    let text = greeting.body["text"].as_str().expect("a text");
    assert!(
        text.contains(&pack.ui.greeting) && text.contains(&pack.ui.disclaimer),
        "no greeting in {text:?}"
    );
    assert!(
        greeting.body["reply_markup"].is_null(),
        "the greeting has buttons"
    );
    assert_eq!(menu.body["text"], json!(pack.ui.main_question));
    for message in [greeting, menu] {
        assert_eq!(message.body["chat_id"], json!(USER_ID));
    }
    let buttons = callback_buttons(&menu.body["reply_markup"]);
    assert_eq!(buttons, expected_buttons);

    // A tap on the first button: the query is answered and the menu edited in place.
    let first = screen.flat_buttons().next().expect("a first button");
    let after_tap = conv.step(&start.state, Input::Tap(first.action));
    let sends_before = count(&api.calls(), "sendmessage");
    let menu_id = menu.result["message_id"].as_i64().expect("a message id");
    let query = api.user_taps(&ada, menu_id, &buttons[0].1);
    let answer = first_call(&api, "answercallbackquery");
    assert_eq!(answer.body["callback_query_id"], json!(query));
    let edit = first_call(&api, "editmessagetext");
    assert_eq!(edit.body["message_id"], menu.result["message_id"]);
    assert_ne!(
        edit.body["message_id"], greeting.result["message_id"],
        "the greeting stays"
    );
    assert_eq!(edit.body["chat_id"], json!(USER_ID));
    let edited_screen = after_tap.screen.as_ref().expect("the tap shows a screen");
    assert_eq!(edit.body["text"], json!(edited_screen.text));
    assert!(
        edited_screen.text.contains(&pack.ui.identify.question),
        "the first button is not Identify: {:?}",
        edited_screen.text
    );

    // Typed private text: the bot replies (a hint and the question again).
    let after_text = conv.step(&after_tap.state, Input::Text(DIARY.to_owned()));
    let hint = after_text.notice.as_ref().expect("typed text gets a hint");
    api.user_sends(&ada, DIARY);
    let reply = wait_for(&api, "a reply to typed text", |calls| {
        calls
            .iter()
            .filter(|c| c.method == "sendmessage")
            .nth(sends_before)
            .cloned()
    });
    let text = reply.body["text"].as_str().expect("a text");
    assert!(text.contains(hint.as_str()), "no hint {hint:?} in {text:?}");
    let unknown: Vec<String> = api
        .calls()
        .into_iter()
        .filter(|c| c.result.is_null() && c.method != "getme")
        .map(|c| c.method)
        .collect();
    assert!(
        unknown.is_empty(),
        "calls the fake API does not know: {unknown:?}"
    );

    assert_eq!(api.unknown_methods(), Vec::<String>::new());

    // SIGTERM: a clean stop with status 0.
    let output = bot.stop_cleanly(DEADLINE);
    assert!(
        output.contains("connected as @scar_guide_test_bot"),
        "{output}"
    );
    for trouble in ["panicked", "a handler failed", "polling failed", "ERROR"] {
        assert!(
            !output.contains(trouble),
            "{trouble:?} in the log:\n{output}"
        );
    }
    assert!(
        !output.contains(TOKEN_SECRET),
        "the token's secret is in the log"
    );
    assert!(!output.contains(DIARY), "the user's text is in the log");
}

fn count(calls: &[Call], method: &str) -> usize {
    calls.iter().filter(|c| c.method == method).count()
}

/// The commands as the Bot API receives them.
fn commands_json(commands: &[BotCommand]) -> Value {
    commands
        .iter()
        .map(|c| json!({ "command": c.command, "description": c.description }))
        .collect()
}

/// The profile calls: per language, the private and group commands, the description and the
/// short description, each exactly once; the default language without a language code (it
/// covers everyone else), the others with theirs; every text within Telegram's limits.
fn assert_profile(calls: &[Call], content: &Content) {
    let languages = content.packs().count();
    assert_eq!(
        count(calls, "setmycommands"),
        2 * languages,
        "setMyCommands calls"
    );
    assert_eq!(count(calls, "setmydescription"), languages);
    assert_eq!(count(calls, "setmyshortdescription"), languages);
    for pack in content.packs() {
        let code = if pack.code == DEFAULT_LANGUAGE {
            Value::Null
        } else {
            json!(pack.code)
        };
        let find = |method: &str, scope: Option<&str>| -> Vec<&Call> {
            calls
                .iter()
                .filter(|c| {
                    c.method == method
                        && c.body["language_code"] == code
                        && scope.is_none_or(|s| c.body["scope"] == json!({ "type": s }))
                })
                .collect()
        };
        let lang = &pack.code;

        // Each command list: sent once for its scope, as the bot builds it, with these names,
        // and every command valid for Telegram.
        let private_names = ["start", "help", "settings", "cancel", "privacy", "forget"];
        let group_names = [
            "start",
            "help",
            "redness",
            "pigmentation",
            "dents",
            "lumps",
            "prevent",
            "care",
            "treatments",
        ];
        for (what, scope, expected, pinned) in [
            (
                "private",
                "all_private_chats",
                telegram::commands::private_commands(pack),
                &private_names[..],
            ),
            (
                "group",
                "all_group_chats",
                telegram::commands::group_commands(pack),
                &group_names[..],
            ),
        ] {
            let sent = find("setmycommands", Some(scope));
            assert_eq!(sent.len(), 1, "{lang}: {what} commands");
            assert_eq!(sent[0].body["commands"], commands_json(&expected), "{lang}");
            let names: Vec<&str> = expected.iter().map(|c| c.command.as_str()).collect();
            assert_eq!(names, pinned, "{lang}");
            for c in &expected {
                assert!(
                    (1..=32).contains(&c.command.len())
                        && c.command
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{lang}: command {:?}",
                    c.command
                );
                let chars = c.description.chars().count();
                assert!(
                    (1..=256).contains(&chars) && html::to_plain(&c.description) == c.description,
                    "{lang}: /{} description {:?}",
                    c.command,
                    c.description
                );
            }
        }

        let description = find("setmydescription", None);
        assert_eq!(description.len(), 1, "{lang}: description");
        let text = description[0].body["description"].as_str().expect("a text");
        assert_eq!(text, pack.ui.profile.description, "{lang}");
        assert!(text.chars().count() <= 512, "{lang}: description too long");

        let short = find("setmyshortdescription", None);
        assert_eq!(short.len(), 1, "{lang}: short description");
        let text = short[0].body["short_description"].as_str().expect("a text");
        assert_eq!(text, pack.ui.profile.short_description, "{lang}");
        assert!(
            text.chars().count() <= 120,
            "{lang}: short description too long"
        );
    }
}

/// Starts the bot against `api` in `dir`, waits for the greeting of a /start sent before it
/// started and returns the process and the time from getMe to the greeting.
fn start_and_greet(api: &FakeTelegram) -> (BotProcess, Duration) {
    api.user_sends(&ada(), "/start");
    let bot = BotProcess::start(api, &[]);
    first_call(api, "getme");
    let since = Instant::now();
    let sent = wait_for_greeting(api);
    let start = conversation().step(&State::Idle, Input::Start);
    assert_eq!(sent_texts(&sent), expected_messages(&start));
    assert!(sent_texts(&sent)[0].contains(&english().ui.greeting));
    (bot, since.elapsed())
}

#[test]
fn a_profile_the_bot_api_refuses_is_a_warning_and_the_bot_still_answers() {
    // Refusals (400) are not retried: each call is made once, then left as a warning.
    let api = FakeTelegram::start();
    for method in ["setmycommands", "setmydescription", "setmyshortdescription"] {
        api.answer_setup(method, Some(REFUSED));
    }
    let (mut bot, _) = start_and_greet(&api);
    let languages = crate::util::content().packs().count();
    // The profile is set in the background: wait for its last call.
    wait_for(&api, "every profile call", |calls| {
        (count(calls, "setmyshortdescription") == languages).then_some(())
    });
    let output = bot.stop_cleanly(DEADLINE);
    let calls = api.calls();
    assert_eq!(
        count(&calls, "setmycommands"),
        2 * languages,
        "tried every language, once"
    );
    assert_eq!(count(&calls, "setmydescription"), languages);
    assert_eq!(count(&calls, "setmyshortdescription"), languages);
    for what in [
        "private commands",
        "group commands",
        "description",
        "short description",
    ] {
        assert!(
            output.contains(&format!("could not set the {DEFAULT_LANGUAGE} {what}")),
            "no warning about the {what}:\n{output}"
        );
    }
    for trouble in ["panicked", "ERROR", TOKEN_SECRET, "retrying"] {
        assert!(
            !output.contains(trouble),
            "{trouble:?} in the log:\n{output}"
        );
    }
}

/// A profile call that fails in a way that may pass (here the connection drops) is made again
/// after the start-up backoff, and the profile ends up complete with no warning left.
#[test]
fn a_failed_profile_call_is_made_again() {
    let api = FakeTelegram::start();
    api.answer_setup_once("setmycommands", Setup::HangUp);
    let (mut bot, _) = start_and_greet(&api);
    let content = crate::util::content();
    let languages = content.packs().count();
    let calls = wait_for(&api, "the profile in every language", |calls| {
        (count(calls, "setmyshortdescription") >= languages).then(|| calls.to_vec())
    });
    let commands: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "setmycommands")
        .collect();
    assert_eq!(commands.len(), 2 * languages + 1, "one call repeated");
    assert_eq!(commands[0].status, 0, "the first call got no answer");
    assert_eq!(commands[1].status, 200);
    assert_eq!(commands[0].body, commands[1].body, "the same call again");
    // Without the failed call, the profile is exactly what it should be.
    let answered: Vec<Call> = calls.into_iter().filter(|c| c.status != 0).collect();
    assert_profile(&answered, &content);
    let output = bot.stop_cleanly(DEADLINE);
    assert!(
        output.contains("setting the private commands failed"),
        "no retry in the log:\n{output}"
    );
    for trouble in ["could not set", "panicked", "ERROR", TOKEN_SECRET] {
        assert!(
            !output.contains(trouble),
            "{trouble:?} in the log:\n{output}"
        );
    }
}

/// The profile calls are made one after another; were they made before the dispatcher starts,
/// a Bot API failing them would hold every user's first answer (with teloxide-core as
/// published, which waits 10 s inside each 5xx answer, 40 s per language).
#[test]
fn a_profile_failing_with_server_errors_does_not_delay_the_first_answer() {
    let api = FakeTelegram::start();
    for method in ["setmycommands", "setmydescription", "setmyshortdescription"] {
        api.answer_setup(method, Some(SERVER_ERROR));
    }
    let (mut bot, waited) = start_and_greet(&api);
    assert!(
        waited < Duration::from_secs(5),
        "the first answer came {waited:?} after getMe"
    );
    bot.stop_cleanly(DEADLINE);
}

#[test]
fn an_unreachable_bot_api_is_retried_until_sigterm() {
    // A port on which nothing listens.
    let mut bot = BotProcess::start_with(&format!("http://{}/", free_addr()), &[]);

    // Two warnings prove it came back after a backoff rather than giving up.
    bot.wait_for_stderr("a second retry warning", DEADLINE, |err| {
        err.matches("retrying").count() >= 2
    });
    assert!(bot.is_running(), "scar-guide gave up:\n{}", bot.output());
    let stderr = bot.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains(TOKEN_SECRET),
        "the token's secret is in the log"
    );

    let output = bot.stop_cleanly(DEADLINE);
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn a_rejected_token_stops_the_bot_with_one_line() {
    let api = FakeTelegram::start();
    api.answer_setup("getme", Some(Setup::Error(401, "Unauthorized")));
    let mut bot = BotProcess::start(&api, &[]);
    let status = bot.wait_exit(DEADLINE);
    let (stdout, stderr) = (bot.log().stdout(), bot.log().stderr());
    assert!(!status.success(), "a rejected token exited with success");
    assert_eq!(count(&api.calls(), "getme"), 1, "getMe was not called once");
    assert!(single_line(&stderr).contains("TELOXIDE_TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(
            !shown.contains(TOKEN_SECRET),
            "the token was echoed:\n{shown}"
        );
    }
}

/// Telegram sometimes sends what this teloxide version cannot parse (a changed field after a
/// Bot API update). Such an update must not put the user's words into the log either.
#[test]
fn an_update_teloxide_cannot_parse_keeps_the_user_text_out_of_the_log() {
    const DIARY: &str = "my secret diary words";
    let api = FakeTelegram::start();
    let ada = ada();
    // A private text message whose `date` is not a Unix time: UpdateKind::Error in teloxide.
    api.push_update(json!({ "message": {
        "message_id": 5,
        "date": "yesterday",
        "chat": ada.private_chat(),
        "from": ada.json(),
        "text": DIARY,
    }}));
    let mut bot = BotProcess::start(&api, &[]);
    // The update is confirmed by the offset of the next getUpdates, so it was handled.
    wait_for(&api, "the update's confirmation", |calls| {
        calls
            .iter()
            .any(|c| c.method == "getupdates" && c.body["offset"] == json!(2))
            .then_some(())
    });
    let output = bot.stop_cleanly(DEADLINE);
    assert!(
        !output.contains(DIARY),
        "the user's text is in the log:\n{output}"
    );
}

#[test]
fn the_console_subcommand_runs_a_script_to_the_dents_answer() {
    let dir = TempDir::new("console");
    let (script, _) = crate::console::script_for(&crate::console::dents_path());
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("console");
    let (status, stdout, stderr) = run_to_end(cmd, dir, Some(&script));
    assert!(status.success(), "{status:?}: {stderr}");
    let pack = english();
    assert!(
        stdout.contains(&html::to_plain(&pack.ui.greeting)),
        "{stdout}"
    );
    // The answer's first screen: the dents' summary line.
    let summary = html::to_plain(&pack.scars.get(ScarKind::Dents).summary);
    assert!(stdout.contains(&summary), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_accepts_an_unchanged_copy_of_the_dialogues_folder() {
    let dir = TempDir::new("check-copy");
    let copy = dir.path().join("dialogues");
    copy_dir(&dialogues_dir(), &copy);
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("--dialogues").arg(&copy).arg("check");
    let (status, _, stderr) = run_to_end(cmd, dir, None);
    assert!(status.success(), "{stderr}");
}

#[test]
fn check_refuses_a_missing_dialogues_folder() {
    let dir = TempDir::new("check-missing");
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("--dialogues")
        .arg(dir.path().join("no-such-folder"))
        .arg("check");
    let (status, _, stderr) = run_to_end(cmd, dir, None);
    assert!(!status.success());
    assert!(stderr.contains("no-such-folder"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
