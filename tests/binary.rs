//! End-to-end tests of the compiled binary, the way an operator and a user meet it: its exit
//! codes and stderr lines, the console mode without a token, `check`, and the Telegram mode
//! against a fake Bot API server written here (plain HTTP/1.1 on 127.0.0.1).
//!
//! Every run starts in a fresh temporary directory (so no developer `.env` is loaded), with the
//! Telegram variables removed or set explicitly, and a guard kills the process when a test ends.
//! Waits poll with short sleeps up to [`DEADLINE`] and fail with a message saying what was
//! awaited.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scar_guide::content::{Content, DEFAULT_LANGUAGE, html};
use scar_guide::conversation::{Input, State};
use scar_guide::knowledge::ScarKind;
use scar_guide::telegram;
use serde_json::{Value, json};
use teloxide::types::BotCommand;

use crate::util::{conversation, english, keyboard_buttons};

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

fn drain(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .expect("output lock")
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

/// Runs `cmd` to its end with `stdin`, returning the status, stdout and stderr.
fn run_to_end(cmd: Command, stdin: Option<&str>) -> (ExitStatus, String, String) {
    let mut running = Running::start(cmd, stdin);
    let status = running.wait_exit();
    (status, running.stdout(), running.stderr())
}

/// The non-blank lines of `text`.
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

// --- A fake Bot API server ---------------------------------------------------------------------

/// One Bot API call the binary made.
#[derive(Debug, Clone)]
struct Call {
    /// The method name, lowercased (teloxide sends e.g. "GetMe"; Telegram ignores case).
    method: String,
    /// The JSON parameters (`Null` for an empty body).
    body: Value,
    /// The `result` the fake server answered with.
    result: Value,
}

/// What the fake server knows: the calls so far and the updates not yet confirmed.
#[derive(Default)]
struct ApiState {
    calls: Vec<Call>,
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

/// A minimal Telegram Bot API over HTTP/1.1 on 127.0.0.1: enough for teloxide's start-up,
/// long polling and the bot's replies. Every call is recorded; a condition variable wakes both
/// held getUpdates calls (when an update is queued) and tests waiting for a call.
struct FakeBotApi {
    port: u16,
    shared: Arc<(Mutex<ApiState>, Condvar)>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake Bot API");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new((
            Mutex::new(ApiState {
                next_update_id: 1,
                next_message_id: 100,
                ..ApiState::default()
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (shared, stop) = (shared.clone(), stop.clone());
                    // One thread per connection, so a held getUpdates never delays a reply.
                    std::thread::spawn(move || {
                        serve_connection(stream, &shared, &stop, get_me, failures);
                    });
                }
            })
        };
        Self {
            port,
            shared,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The value for TELOXIDE_API_URL.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Queues an update (its `update_id` is assigned here) for the next getUpdates.
    fn push_update(&self, mut update: Value) {
        let (lock, wake) = &*self.shared;
        let mut state = lock.lock().expect("api lock");
        update["update_id"] = json!(state.next_update_id);
        state.next_update_id += 1;
        state.updates.push_back(update);
        wake.notify_all();
    }

    /// The user sends a private text message.
    fn user_sends(&self, text: &str) {
        let message_id = {
            let mut state = self.shared.0.lock().expect("api lock");
            state.next_message_id += 1;
            state.next_message_id
        };
        let mut message = json!({
            "message_id": message_id,
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

    fn calls(&self) -> Vec<Call> {
        self.shared.0.lock().expect("api lock").calls.clone()
    }

    /// Waits until the calls satisfy `done` and returns its answer, or fails naming `what`.
    fn wait_for<T>(&self, what: &str, done: impl Fn(&[Call]) -> Option<T>) -> T {
        let (lock, wake) = &*self.shared;
        let start = Instant::now();
        let mut state = lock.lock().expect("api lock");
        loop {
            if let Some(found) = done(&state.calls) {
                return found;
            }
            let methods: Vec<&str> = state.calls.iter().map(|c| c.method.as_str()).collect();
            assert!(
                start.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}; calls so far: {methods:?}"
            );
            state = wake.wait_timeout(state, POLL).expect("api lock").0;
        }
    }
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.shared.1.notify_all();
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve_connection(
    stream: TcpStream,
    shared: &(Mutex<ApiState>, Condvar),
    stop: &AtomicBool,
    get_me: GetMe,
    failures: Failures,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    while let Some((path, body)) = read_request(&mut reader) {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (status, response) = answer(&path, &body, shared, stop, get_me, failures);
        let text = response.to_string();
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            text.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(text.as_bytes()).is_err()
        {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Reads one HTTP/1.1 request: the path and the body (Content-Length or chunked). `None` when
/// the connection closes.
fn read_request(reader: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut content_length = 0;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            content_length = value.parse().ok()?;
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2]; // the data and its CRLF
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(content_length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((path, body))
}

/// The HTTP status and JSON reply to one call to `path` (`/bot<token>/<method>`), recorded.
fn answer(
    path: &str,
    body: &[u8],
    shared: &(Mutex<ApiState>, Condvar),
    stop: &AtomicBool,
    get_me: GetMe,
    failures: Failures,
) -> (&'static str, Value) {
    let method = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let params: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or_else(
            |e| json!({ "unparsed": String::from_utf8_lossy(body), "error": e.to_string() }),
        )
    };
    let (lock, wake) = shared;
    let mut state = lock.lock().expect("api lock");
    if let Some(&(_, code)) = failures.iter().find(|(m, _)| *m == method) {
        state.calls.push(Call {
            method,
            body: params,
            result: Value::Null,
        });
        wake.notify_all();
        let (status, description) = match code {
            500 => ("500 Internal Server Error", "Internal Server Error"),
            _ => (
                "400 Bad Request",
                "Bad Request: failed on purpose by the fake Bot API",
            ),
        };
        let error = json!({ "ok": false, "error_code": code, "description": description });
        return (status, error);
    }
    let result = match method.as_str() {
        "getme" if get_me == GetMe::Unauthorized => {
            state.calls.push(Call {
                method,
                body: params,
                result: Value::Null,
            });
            wake.notify_all();
            let error = json!({ "ok": false, "error_code": 401, "description": "Unauthorized" });
            return ("401 Unauthorized", error);
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
        "getupdates" => {
            // Updates below `offset` are confirmed: forget them.
            let offset = params["offset"].as_i64().unwrap_or(0);
            state
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            // Long polling, shortened: hold an empty answer briefly so the client does not spin.
            let hold = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0))
                .min(Duration::from_millis(300));
            let until = Instant::now() + hold;
            while state.updates.is_empty() && !stop.load(Ordering::SeqCst) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = wake.wait_timeout(state, left).expect("api lock").0;
            }
            let limit = params["limit"].as_u64().unwrap_or(100) as usize;
            Value::Array(state.updates.iter().take(limit).cloned().collect())
        }
        "sendmessage" => {
            state.next_message_id += 1;
            let mut message = json!({
                "message_id": state.next_message_id,
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
        "editmessagetext" => {
            let mut message = json!({
                "message_id": params["message_id"],
                "date": unix_now(),
                "edit_date": unix_now(),
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
        _ => {
            state.calls.push(Call {
                method,
                body: params,
                result: Value::Null,
            });
            wake.notify_all();
            // Not "Not Found": teloxide reads that description as an invalid token.
            let error = json!({
                "ok": false,
                "error_code": 400,
                "description": "Bad Request: method not implemented by the fake Bot API",
            });
            return ("400 Bad Request", error);
        }
    };
    state.calls.push(Call {
        method,
        body: params,
        result: result.clone(),
    });
    wake.notify_all();
    ("200 OK", json!({ "ok": true, "result": result }))
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
    let notes = lines(&stderr);
    assert_eq!(
        notes.len(),
        1,
        "expected one note on stderr, got:\n{stderr}"
    );
    assert!(notes[0].contains("TELOXIDE_TOKEN"), "{stderr}");
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
    let errors = lines(&stderr);
    assert_eq!(
        errors.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    assert!(errors[0].contains("TELOXIDE_TOKEN"), "{stderr}");
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
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues"),
        &copy,
    );
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
    api.wait_for("getMe", |calls| {
        calls.iter().find(|c| c.method == "getme").map(drop)
    });
    let content = crate::util::content();
    let languages = content.packs().count();
    let calls = api.wait_for("the profile in every language", |calls| {
        (count(calls, "setmyshortdescription") >= languages).then(|| calls.to_vec())
    });
    assert_profile(&calls, &content);

    // /start: the greeting with the main menu as an inline keyboard.
    let pack = english();
    let conv = conversation();
    let start = conv.step(&State::Idle, Input::Start);
    let screen = start.screen.as_ref().expect("/start shows a menu");
    let expected_buttons = keyboard_buttons(&telegram::keyboard(screen));
    let menu = api.wait_for("the greeting", |calls| {
        calls
            .iter()
            .find(|c| c.method == "sendmessage" && !c.body["reply_markup"].is_null())
            .cloned()
    });
    let text = menu.body["text"].as_str().expect("a text");
    assert!(text.contains(&pack.ui.greeting), "no greeting in {text:?}");
    assert_eq!(menu.body["chat_id"], json!(USER_ID));
    let buttons = json_buttons(&menu.body["reply_markup"]);
    assert_eq!(buttons, expected_buttons);

    // A tap on the first button: the query is answered and the menu edited in place.
    let first = screen.flat_buttons().next().expect("a first button");
    let after_tap = conv.step(&start.state, Input::Tap(first.action));
    let sends_before = count(&api.calls(), "sendmessage");
    api.user_taps(&menu.result, &buttons[0].1);
    let answer = api.wait_for("answerCallbackQuery", |calls| {
        calls
            .iter()
            .find(|c| c.method == "answercallbackquery")
            .cloned()
    });
    assert_eq!(answer.body["callback_query_id"], json!("4242001"));
    let edit = api.wait_for("editMessageText", |calls| {
        calls
            .iter()
            .find(|c| c.method == "editmessagetext")
            .cloned()
    });
    assert_eq!(edit.body["message_id"], menu.result["message_id"]);
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
    bot.terminate();
    let status = bot.wait_exit();
    let output = bot.output();
    assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
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

        let private = find("setmycommands", Some("all_private_chats"));
        assert_eq!(private.len(), 1, "{lang}: private commands");
        let expected = telegram::run::private_commands(pack);
        assert_eq!(
            private[0].body["commands"],
            commands_json(&expected),
            "{lang}"
        );
        let names: Vec<&str> = expected.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            names,
            ["start", "help", "settings", "cancel", "privacy", "forget"],
            "{lang}"
        );

        let group = find("setmycommands", Some("all_group_chats"));
        assert_eq!(group.len(), 1, "{lang}: group commands");
        let expected_group = telegram::run::group_commands(pack);
        assert_eq!(
            group[0].body["commands"],
            commands_json(&expected_group),
            "{lang}"
        );
        let names: Vec<&str> = expected_group.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            names,
            [
                "start",
                "help",
                "redness",
                "pigmentation",
                "dents",
                "lumps",
                "prevent",
                "care",
                "treatments"
            ],
            "{lang}"
        );
        for c in expected.iter().chain(&expected_group) {
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
    api.wait_for("getMe", |calls| {
        calls.iter().find(|c| c.method == "getme").map(drop)
    });
    let since = Instant::now();
    let greeting = api.wait_for("the greeting", |calls| {
        calls
            .iter()
            .find(|c| c.method == "sendmessage" && !c.body["reply_markup"].is_null())
            .cloned()
    });
    let text = greeting.body["text"].as_str().expect("a text");
    assert!(text.contains(&english().ui.greeting), "{text:?}");
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
    bot.terminate();
    let status = bot.wait_exit();
    let output = bot.output();
    assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
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
    bot.terminate();
    assert!(bot.wait_exit().success());
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

    bot.terminate();
    let status = bot.wait_exit();
    assert!(
        status.success(),
        "{status:?} after SIGTERM:\n{}",
        bot.output()
    );
    assert!(!bot.output().contains("panicked"), "{}", bot.output());
}

#[test]
fn a_rejected_token_stops_the_bot_with_one_line() {
    let api = FakeBotApi::start(GetMe::Unauthorized);
    let dir = TempDir::new("unauthorized");
    let cmd = telegram_mode(dir.path(), &api.url());
    let (status, stdout, stderr) = run_to_end(cmd, None);
    assert!(!status.success(), "a rejected token exited with success");
    assert_eq!(count(&api.calls(), "getme"), 1, "getMe was not called once");
    let errors = lines(&stderr);
    assert_eq!(
        errors.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    assert!(errors[0].contains("TELOXIDE_TOKEN"), "{stderr}");
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
    bot.terminate();
    let status = bot.wait_exit();
    let output = bot.output();
    assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
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
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues"),
        &copy,
    );
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
