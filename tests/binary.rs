//! End-to-end tests of the compiled binary, the way an operator and a user meet it: its exit
//! codes and stderr lines, the console mode without a token, `check`, and the Telegram mode
//! against a scripted Bot API on the fake server of `fake_api.rs` (plain HTTP/1.1 on 127.0.0.1).
//!
//! Every run starts in a fresh temporary directory (so no developer `.env` is loaded), with the
//! Telegram variables removed or set explicitly, and a guard kills the process when a test ends.
//! Waits poll with short sleeps up to [`DEADLINE`] and fail with a message saying what was
//! awaited.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scar_guide::content::{Content, DEFAULT_LANGUAGE, html};
use scar_guide::conversation::{Input, State};
use scar_guide::knowledge::ScarKind;
use scar_guide::telegram;
use serde_json::{Value, json};
use teloxide::types::BotCommand;

use crate::fake_api::{Call, FakeApi, Reply, long_poll};
use crate::harness::drain;
use crate::util::{conversation, dialogues_dir, english, expected_messages, keyboard_buttons};

const BIN: &str = env!("CARGO_BIN_EXE_scar-guide");

/// The longest any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// How often waits look again.
const POLL: Duration = Duration::from_millis(20);

/// A well-formed token for the fake server; its secret part must never reach a log.
const TOKEN: &str = "123456:TESTTOKENsecretvalue";
const TOKEN_SECRET: &str = "TESTTOKENsecretvalue";

/// The user of the scripted private chat.
const USER_ID: i64 = 424_242;

// --- Temporary directories ---------------------------------------------------------------------

/// A fresh empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "scar-guide-binary-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("dir entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

// --- Running the binary ------------------------------------------------------------------------

/// The binary in `cwd`, with no token, API URL or log filter inherited from the test's
/// environment.
fn scar_guide(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd)
        .env_remove("TELOXIDE_TOKEN")
        .env_remove("TELOXIDE_API_URL")
        .env_remove("STATE_TTL")
        .env_remove("STATE_CAPACITY")
        .env_remove("RUST_LOG");
    cmd
}

/// The binary pointed at a Bot API at `api_url` with the test token.
fn telegram_mode(cwd: &Path, api_url: &str) -> Command {
    let mut cmd = scar_guide(cwd);
    cmd.arg("run")
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api_url);
    cmd
}

/// A started binary. Its output is drained by threads (so a chatty trace log never blocks it
/// on a full pipe), and dropping the guard kills the process if it is still running.
struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts `cmd` with `stdin` written to it and then closed (EOF), or stdin null for `None`.
    fn start(mut cmd: Command, stdin: Option<&str>) -> Self {
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start scar-guide");
        if let Some(script) = stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            // A binary that exits early closes the pipe; the exit status tells the story.
            let _ = pipe.write_all(script.as_bytes());
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            drain(child.stdout.take().expect("piped stdout"), stdout.clone()),
            drain(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Self {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("stdout lock")).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// Everything printed so far, stdout then stderr.
    fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("query the child").is_none()
    }

    /// Sends SIGTERM, as Docker and systemd do.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status:?}");
    }

    /// Sends SIGTERM, waits for a clean exit (status 0) and returns everything printed.
    fn stop_cleanly(&mut self) -> String {
        self.terminate();
        let status = self.wait_exit();
        let output = self.output();
        assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
        output
    }

    /// Waits for the exit, then for the output readers to reach EOF.
    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("query the child") {
                break status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "scar-guide did not exit within {DEADLINE:?}; output so far:\n{}",
                self.output()
            );
            std::thread::sleep(POLL);
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("output reader");
        }
        status
    }

    /// Waits until stderr satisfies `done`, failing with `what` and the output so far.
    fn wait_for_stderr(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while !done(&self.stderr()) {
            assert!(
                self.is_running(),
                "scar-guide exited while waiting for {what}:\n{}",
                self.output()
            );
            assert!(
                start.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}; output so far:\n{}",
                self.output()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to its end with `stdin`, returning the status, stdout and stderr.
fn run_to_end(cmd: Command, stdin: Option<&str>) -> (ExitStatus, String, String) {
    let mut running = Running::start(cmd, stdin);
    let status = running.wait_exit();
    (status, running.stdout(), running.stderr())
}

/// The only non-blank line of `stderr`; fails when there are more or none.
fn single_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    lines[0]
}

// --- A scripted Bot API on the fake server -----------------------------------------------------

/// What the scripted Bot API knows beyond the recorded calls.
#[derive(Default)]
struct ApiState {
    /// Updates for getUpdates, each with its `update_id`; confirmed ones (below the requested
    /// `offset`) are dropped, as Telegram does.
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
}

/// Methods (lowercased) the fake server fails, with the HTTP status it fails them with (500, or
/// 400 for anything else). teloxide waits 10 s after each 5xx, so use 500 sparingly.
type Failures = &'static [(&'static str, u16)];

/// How the fake server answers getMe.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GetMe {
    /// A valid bot user.
    Bot,
    /// HTTP 401 Unauthorized, as Telegram answers a revoked or mistyped token.
    Unauthorized,
}

/// The script the responder follows, shared with the test that queues updates. The condition
/// variable wakes a held getUpdates when an update is queued.
struct Script {
    state: Mutex<ApiState>,
    queued: Condvar,
    get_me: GetMe,
    failures: Failures,
}

/// A minimal Telegram Bot API on [`FakeApi`]: enough for teloxide's start-up, long polling and
/// the bot's replies. The test plays the user by queueing updates for getUpdates, and waits for
/// the bot's calls.
struct FakeBotApi {
    api: FakeApi,
    script: Arc<Script>,
}

/// The bot's own user, as getMe returns it.
fn bot_user() -> Value {
    json!({
        "id": 123_456,
        "is_bot": true,
        "first_name": "Scar Guide",
        "username": "scar_guide_test_bot",
    })
}

fn private_chat() -> Value {
    json!({ "id": USER_ID, "type": "private", "first_name": "Ada" })
}

fn user() -> Value {
    json!({ "id": USER_ID, "is_bot": false, "first_name": "Ada", "language_code": "en" })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

impl FakeBotApi {
    fn start(get_me: GetMe) -> Self {
        Self::failing(get_me, &[])
    }

    /// A server that answers `failures`' methods with their HTTP error status.
    fn failing(get_me: GetMe, failures: Failures) -> Self {
        let script = Arc::new(Script {
            state: Mutex::new(ApiState {
                next_update_id: 1,
                next_message_id: 100,
                ..ApiState::default()
            }),
            queued: Condvar::new(),
            get_me,
            failures,
        });
        let api = {
            let script = script.clone();
            FakeApi::start(move |method, params| script.answer(method, params))
        };
        Self { api, script }
    }

    /// The value for TELOXIDE_API_URL.
    fn url(&self) -> String {
        self.api.url()
    }

    fn calls(&self) -> Vec<Call> {
        self.api.calls()
    }

    /// Waits until the calls satisfy `done` and returns its answer, or fails naming `what`.
    fn wait_for<T>(&self, what: &str, done: impl Fn(&[Call]) -> Option<T>) -> T {
        self.api.wait_for(what, DEADLINE, done)
    }

    /// Waits for the first call of `method` (lowercased) and returns it.
    fn wait_for_call(&self, method: &str) -> Call {
        self.wait_for(method, |calls| {
            calls.iter().find(|c| c.method == method).cloned()
        })
    }

    /// Waits for the answer to a /start: every message the bot sends up to and including the
    /// first one with a keyboard (the greeting on its own, then the main menu).
    fn wait_for_greeting(&self) -> Vec<Call> {
        self.wait_for("the greeting and the main menu", |calls| {
            let sent: Vec<Call> = calls
                .iter()
                .filter(|c| c.method == "sendmessage")
                .cloned()
                .collect();
            let menu = sent
                .iter()
                .position(|c| !c.body["reply_markup"].is_null())?;
            Some(sent[..=menu].to_vec())
        })
    }

    /// Queues an update (its `update_id` is assigned here) for the next getUpdates.
    fn push_update(&self, mut update: Value) {
        let mut state = self.script.state.lock().expect("api lock");
        update["update_id"] = json!(state.next_update_id);
        state.next_update_id += 1;
        state.updates.push_back(update);
        self.script.queued.notify_all();
    }

    /// The user sends a private text message.
    fn user_sends(&self, text: &str) {
        let mut message = json!({
            "message_id": self.script.next_message_id(),
            "date": unix_now(),
            "chat": private_chat(),
            "from": user(),
            "text": text,
        });
        if text.starts_with('/') {
            let length = text
                .split_whitespace()
                .next()
                .unwrap_or(text)
                .encode_utf16()
                .count();
            message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
        }
        self.push_update(json!({ "message": message }));
    }

    /// The user taps the button with callback `data` under the bot's `message`.
    fn user_taps(&self, message: &Value, data: &str) {
        self.push_update(json!({
            "callback_query": {
                "id": "4242001",
                "from": user(),
                "message": message,
                "chat_instance": "-777",
                "data": data,
            }
        }));
    }
}

impl Script {
    fn next_message_id(&self) -> i64 {
        let mut state = self.state.lock().expect("api lock");
        state.next_message_id += 1;
        state.next_message_id
    }

    /// The reply to one call: a scripted failure, or what Telegram would answer.
    fn answer(&self, method: &str, params: &Value) -> Reply {
        if let Some(&(_, code)) = self.failures.iter().find(|(m, _)| *m == method) {
            return match code {
                500 => Reply::error(500, "Internal Server Error"),
                _ => Reply::error(400, "Bad Request: failed on purpose by the fake Bot API"),
            };
        }
        let result = match method {
            "getme" if self.get_me == GetMe::Unauthorized => {
                return Reply::error(401, "Unauthorized");
            }
            "getme" => {
                let mut me = bot_user();
                let extra = json!({
                    "can_join_groups": true,
                    "can_read_all_group_messages": false,
                    "supports_inline_queries": false,
                    "can_connect_to_business": false,
                    "has_main_web_app": false,
                });
                me.as_object_mut()
                    .expect("an object")
                    .extend(extra.as_object().expect("an object").clone());
                me
            }
            "getwebhookinfo" => json!({
                "url": "",
                "has_custom_certificate": false,
                "pending_update_count": 0,
            }),
            "setmycommands"
            | "setmydescription"
            | "setmyshortdescription"
            | "deletewebhook"
            | "answercallbackquery" => json!(true),
            "getupdates" => self.updates(params),
            "sendmessage" => bot_message(json!(self.next_message_id()), params),
            "editmessagetext" => {
                let mut message = bot_message(params["message_id"].clone(), params);
                message["edit_date"] = json!(unix_now());
                message
            }
            // Not "Not Found": teloxide reads that description as an invalid token.
            _ => {
                return Reply::error(
                    400,
                    "Bad Request: method not implemented by the fake Bot API",
                );
            }
        };
        Reply::ok(result)
    }

    /// getUpdates: the queued updates from `offset` on, held briefly while there are none.
    fn updates(&self, params: &Value) -> Value {
        let state = self.state.lock().expect("api lock");
        long_poll(state, &self.queued, params, |s| &mut s.updates)
    }
}

/// The bot's message `message_id` as sendMessage and editMessageText return it: the text and
/// keyboard of the call, in the chat it was sent to.
fn bot_message(message_id: Value, params: &Value) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": private_chat(),
        "from": bot_user(),
        "text": params["text"],
    });
    if !params["reply_markup"].is_null() {
        message["reply_markup"] = params["reply_markup"].clone();
    }
    message["chat"]["id"] = params["chat_id"].clone();
    message
}

/// The texts of sendMessage calls.
fn sent_texts(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.body["text"].as_str().expect("a text").to_owned())
        .collect()
}

/// `(text, callback_data)` of every button of an inline keyboard in JSON.
fn json_buttons(reply_markup: &Value) -> Vec<(String, String)> {
    reply_markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_owned(),
                b["callback_data"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

// --- Console and check -------------------------------------------------------------------------

#[test]
fn no_subcommand_and_no_token_runs_the_console_with_one_note() {
    let dir = TempDir::new("console-default");
    let (status, stdout, stderr) = run_to_end(scar_guide(dir.path()), Some("1\n"));
    assert!(status.success(), "{status:?}\nstderr: {stderr}");
    assert!(single_line(&stderr).contains("TELOXIDE_TOKEN"), "{stderr}");
    let pack = english();
    let main_question = html::to_plain(&pack.ui.main_question);
    let identify = html::to_plain(&pack.ui.identify.question);
    assert!(
        stdout.contains(&main_question),
        "no main menu in:\n{stdout}"
    );
    assert!(
        stdout.contains(&identify),
        "no identify question in:\n{stdout}"
    );
    assert!(
        stdout.find(&main_question) < stdout.find(&identify),
        "the identify question came before the main menu:\n{stdout}"
    );
}

#[test]
fn run_without_a_token_fails_with_one_line() {
    let dir = TempDir::new("run-no-token");
    let mut cmd = scar_guide(dir.path());
    cmd.arg("run");
    let (status, _, stderr) = run_to_end(cmd, None);
    assert!(!status.success(), "`run` succeeded without a token");
    assert!(single_line(&stderr).contains("TELOXIDE_TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn run_with_a_malformed_token_fails_without_echoing_it() {
    let dir = TempDir::new("run-bad-token");
    let mut cmd = scar_guide(dir.path());
    cmd.arg("run")
        .env("TELOXIDE_TOKEN", "not-a-token-SECRET123");
    let (status, stdout, stderr) = run_to_end(cmd, None);
    assert!(!status.success(), "`run` accepted a malformed token");
    assert!(stderr.contains("TELOXIDE_TOKEN"), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(
            !shown.contains("SECRET123"),
            "the token was echoed:\n{shown}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_accepts_the_built_in_dialogues() {
    let dir = TempDir::new("check");
    let mut cmd = scar_guide(dir.path());
    cmd.arg("check");
    let (status, stdout, stderr) = run_to_end(cmd, None);
    assert!(status.success(), "{status:?}\nstderr: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
}

#[test]
fn check_refuses_a_copy_with_a_missing_key_and_names_the_file() {
    let dir = TempDir::new("check-broken");
    let copy = dir.path().join("dialogues");
    copy_dir(&dialogues_dir(), &copy);
    let ui = copy.join("en").join("ui.toml");
    let text = std::fs::read_to_string(&ui).expect("read ui.toml");
    let broken: String = text
        .lines()
        .filter(|l| !l.starts_with("main_question ="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(broken, text, "ui.toml has no main_question line to remove");
    std::fs::write(&ui, broken).expect("write ui.toml");

    let mut cmd = scar_guide(dir.path());
    cmd.arg("--dialogues").arg(&copy).arg("check");
    let (status, _, stderr) = run_to_end(cmd, None);
    assert!(!status.success(), "a copy without main_question passed");
    assert!(
        stderr.contains("en/ui.toml"),
        "the file is not named:\n{stderr}"
    );
    assert!(
        stderr.contains("main_question"),
        "the key is not named:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// --- The Telegram mode against the fake Bot API ------------------------------------------------

/// The whole life of the bot: start-up calls, `/start`, a tap, typed text, then SIGTERM.
#[test]
fn the_bot_answers_a_chat_over_the_bot_api_and_stops_on_sigterm() {
    const DIARY: &str = "my secret diary words";
    let api = FakeBotApi::start(GetMe::Bot);
    api.user_sends("/start");
    let dir = TempDir::new("telegram");
    let mut cmd = telegram_mode(dir.path(), &api.url());
    cmd.env("RUST_LOG", "trace");
    let mut bot = Running::start(cmd, None);

    // Start-up: the bot checks the token and sets its profile in every language.
    api.wait_for_call("getme");
    let content = crate::util::content();
    let languages = content.packs().count();
    let calls = api.wait_for("the profile in every language", |calls| {
        (count(calls, "setmyshortdescription") >= languages).then(|| calls.to_vec())
    });
    assert_profile(&calls, &content);

    // /start: the greeting on its own, then the main menu with an inline keyboard.
    let pack = english();
    let conv = conversation();
    let start = conv.step(&State::Idle, Input::Start);
    let screen = start.screen.as_ref().expect("/start shows a menu");
    let expected_buttons = keyboard_buttons(&telegram::keyboard(screen));
    let sent = api.wait_for_greeting();
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
    let buttons = json_buttons(&menu.body["reply_markup"]);
    assert_eq!(buttons, expected_buttons);

    // A tap on the first button: the query is answered and the menu edited in place.
    let first = screen.flat_buttons().next().expect("a first button");
    let after_tap = conv.step(&start.state, Input::Tap(first.action));
    let sends_before = count(&api.calls(), "sendmessage");
    api.user_taps(&menu.result, &buttons[0].1);
    let answer = api.wait_for_call("answercallbackquery");
    assert_eq!(answer.body["callback_query_id"], json!("4242001"));
    let edit = api.wait_for_call("editmessagetext");
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
    api.user_sends(DIARY);
    let reply = api.wait_for("a reply to typed text", |calls| {
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

    // SIGTERM: a clean stop with status 0.
    let output = bot.stop_cleanly();
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
fn start_and_greet(api: &FakeBotApi, dir: &TempDir) -> (Running, Duration) {
    api.user_sends("/start");
    let bot = Running::start(telegram_mode(dir.path(), &api.url()), None);
    api.wait_for_call("getme");
    let since = Instant::now();
    let sent = api.wait_for_greeting();
    let start = conversation().step(&State::Idle, Input::Start);
    assert_eq!(sent_texts(&sent), expected_messages(&start));
    assert!(sent_texts(&sent)[0].contains(&english().ui.greeting));
    (bot, since.elapsed())
}

#[test]
fn a_profile_the_bot_api_refuses_is_a_warning_and_the_bot_still_answers() {
    // One method fails with a server error: teloxide then waits 10 s per language (see the
    // ignored test below), still within the deadline for two languages.
    let api = FakeBotApi::failing(
        GetMe::Bot,
        &[
            ("setmycommands", 400),
            ("setmydescription", 400),
            ("setmyshortdescription", 500),
        ],
    );
    let dir = TempDir::new("profile-refused");
    let (mut bot, _) = start_and_greet(&api, &dir);
    let languages = crate::util::content().packs().count();
    // The profile is set in the background: wait for its last call (after a 500, teloxide
    // waits 10 s before the next language).
    api.wait_for("every profile call", |calls| {
        (count(calls, "setmyshortdescription") == languages).then_some(())
    });
    let calls = api.calls();
    assert_eq!(
        count(&calls, "setmycommands"),
        2 * languages,
        "tried every language"
    );
    assert_eq!(count(&calls, "setmydescription"), languages);
    assert_eq!(count(&calls, "setmyshortdescription"), languages);
    let output = bot.stop_cleanly();
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
    for trouble in ["panicked", "ERROR", TOKEN_SECRET] {
        assert!(
            !output.contains(trouble),
            "{trouble:?} in the log:\n{output}"
        );
    }
}

/// teloxide waits 10 s after every 5xx answer before returning the error. The profile is set
/// before the dispatcher starts, one call after another, so a Bot API failing it with 500 holds
/// every user's first answer for 10 s per call: 40 s per language.
#[test]
fn a_profile_failing_with_server_errors_does_not_delay_the_first_answer() {
    let api = FakeBotApi::failing(
        GetMe::Bot,
        &[
            ("setmycommands", 500),
            ("setmydescription", 500),
            ("setmyshortdescription", 500),
        ],
    );
    let dir = TempDir::new("profile-500");
    let (mut bot, waited) = start_and_greet(&api, &dir);
    assert!(
        waited < Duration::from_secs(5),
        "the first answer came {waited:?} after getMe"
    );
    bot.stop_cleanly();
}

#[test]
fn an_unreachable_bot_api_is_retried_until_sigterm() {
    // A port on which nothing listens: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let dir = TempDir::new("unreachable");
    let cmd = telegram_mode(dir.path(), &format!("http://127.0.0.1:{port}/"));
    let mut bot = Running::start(cmd, None);

    // Two warnings prove it came back after a backoff rather than giving up.
    bot.wait_for_stderr("a second retry warning", |err| {
        err.matches("retrying").count() >= 2
    });
    assert!(bot.is_running(), "scar-guide gave up:\n{}", bot.output());
    let stderr = bot.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains(TOKEN_SECRET),
        "the token's secret is in the log"
    );

    let output = bot.stop_cleanly();
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn a_rejected_token_stops_the_bot_with_one_line() {
    let api = FakeBotApi::start(GetMe::Unauthorized);
    let dir = TempDir::new("unauthorized");
    let cmd = telegram_mode(dir.path(), &api.url());
    let (status, stdout, stderr) = run_to_end(cmd, None);
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
    let api = FakeBotApi::start(GetMe::Bot);
    // A private text message whose `date` is not a Unix time: UpdateKind::Error in teloxide.
    api.push_update(json!({ "message": {
        "message_id": 5,
        "date": "yesterday",
        "chat": private_chat(),
        "from": user(),
        "text": DIARY,
    }}));
    let dir = TempDir::new("unparseable");
    let mut bot = Running::start(telegram_mode(dir.path(), &api.url()), None);
    // The update is confirmed by the offset of the next getUpdates, so it was handled.
    api.wait_for("the update's confirmation", |calls| {
        calls
            .iter()
            .any(|c| c.method == "getupdates" && c.body["offset"] == json!(2))
            .then_some(())
    });
    let output = bot.stop_cleanly();
    assert!(
        !output.contains(DIARY),
        "the user's text is in the log:\n{output}"
    );
}

#[test]
fn the_console_subcommand_runs_a_script_to_a_scar_card() {
    let dir = TempDir::new("console");
    let (script, _) = crate::console::script_for(&crate::console::dents_path());
    let mut cmd = scar_guide(dir.path());
    cmd.arg("console");
    let (status, stdout, stderr) = run_to_end(cmd, Some(&script));
    assert!(status.success(), "{status:?}: {stderr}");
    let pack = english();
    assert!(
        stdout.contains(&html::to_plain(&pack.ui.greeting)),
        "{stdout}"
    );
    let title = html::to_plain(&pack.scars.get(ScarKind::Dents).title);
    assert!(stdout.contains(&title), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_accepts_an_unchanged_copy_of_the_dialogues_folder() {
    let dir = TempDir::new("check-copy");
    let copy = dir.path().join("dialogues");
    copy_dir(&dialogues_dir(), &copy);
    let mut cmd = scar_guide(dir.path());
    cmd.arg("--dialogues").arg(&copy).arg("check");
    let (status, _, stderr) = run_to_end(cmd, None);
    assert!(status.success(), "{stderr}");
}

#[test]
fn check_refuses_a_missing_dialogues_folder() {
    let dir = TempDir::new("check-missing");
    let mut cmd = scar_guide(dir.path());
    cmd.arg("--dialogues")
        .arg(dir.path().join("no-such-folder"))
        .arg("check");
    let (status, _, stderr) = run_to_end(cmd, None);
    assert!(!status.success());
    assert!(stderr.contains("no-such-folder"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
