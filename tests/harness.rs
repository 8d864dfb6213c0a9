//! The harness for tests that run the compiled binary as a service, the way an operator and its
//! users meet it: environment variables in, Bot API calls out.
//!
//! - [`BotProcess`] starts `scar-guide run` against a [`FakeTelegram`] in a fresh temporary
//!   directory (no developer `.env`, no inherited configuration), drains its output, sends it
//!   SIGTERM or SIGKILL, and kills it when dropped.
//! - [`PrivateChat`] plays one user: it sends messages and taps the buttons the bot actually
//!   sent, asks the conversation core what each action should produce, waits for exactly that
//!   to be delivered, and at the end checks that nothing was delivered twice unless the fake
//!   gave no answer the first time.
//! - [`http`], [`Metrics`] and [`free_addr`] reach the bot's own HTTP server (/healthz,
//!   /metrics, the webhook); a [`Webhook`] posts updates there as Telegram does, and a
//!   [`PrivateChat`] sent [`via`](PrivateChat::via) one talks to the bot that way.
//!
//! Every wait polls with a deadline and fails saying what it waited for.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scar_guide::content::{Content, Pack};
use scar_guide::conversation::{Action, Conversation, Input, Outcome, State};
use scar_guide::telegram::{callback, toast};
use serde_json::{Value, json};

use crate::fake_api::{Delivery, FakeTelegram, SentMessage, TOKEN, TgUser, bot_user, unix_now};
use crate::util::{content, expected_buttons, expected_messages};

pub const BIN: &str = env!("CARGO_BIN_EXE_scar-guide");

/// How often waits look again.
pub const POLL: Duration = Duration::from_millis(20);

/// Every variable the binary reads: none is inherited from the test's environment.
const SERVICE_VARS: [&str; 17] = [
    "TELOXIDE_TOKEN",
    "TELOXIDE_API_URL",
    "STATE_TTL",
    "STATE_CAPACITY",
    "STORAGE_URL",
    "WEBHOOK_URL",
    "LISTEN_ADDR",
    "WEBHOOK_SECRET",
    "METRICS_ADDR",
    "RATE_PER_CHAT",
    "RATE_PER_GROUP",
    "RATE_OVERALL",
    "RETRY_FOR",
    "API_TIMEOUT",
    "SHUTDOWN_GRACE",
    "RUST_LOG",
    "CI",
];

/// Polls `check` every [`POLL`] until it returns a value, or fails saying what it waited for:
/// `what`, computed only then, so it can show the state at the deadline.
pub fn wait_until<T>(
    deadline: Duration,
    what: impl Fn() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            start.elapsed() < deadline,
            "waited {deadline:?} in vain for {}",
            what()
        );
        std::thread::sleep(POLL);
    }
}

// --- Temporary directories ---------------------------------------------------------------------

/// A fresh empty directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "scar-guide-service-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- The bot process ---------------------------------------------------------------------------

/// What the process printed, shared with the threads that drain its pipes.
#[derive(Clone, Default)]
pub struct Log {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Log {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("stdout lock")).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// Everything printed so far, stdout then stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// The last `n` lines printed, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let output = self.output();
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// A started `scar-guide`. Its output is drained by threads (so a chatty log never blocks it on
/// a full pipe), and dropping it kills the process if it is still running.
pub struct BotProcess {
    child: Child,
    log: Log,
    readers: Vec<JoinHandle<()>>,
    /// The working directory, removed after the process.
    _dir: TempDir,
}

impl BotProcess {
    /// The binary in `dir`, with none of its variables inherited from the test's environment.
    pub fn command(dir: &Path) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir);
        for var in SERVICE_VARS {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Starts `scar-guide run` against `api` with the test token and `env` on top.
    pub fn start(api: &FakeTelegram, env: &[(&str, &str)]) -> Self {
        Self::start_with(&api.url(), env)
    }

    /// Starts `scar-guide run` against the Bot API at `api_url` with `env` on top.
    pub fn start_with(api_url: &str, env: &[(&str, &str)]) -> Self {
        let dir = TempDir::new("run");
        let mut cmd = Self::command(dir.path());
        cmd.arg("run")
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("TELOXIDE_API_URL", api_url)
            .envs(env.iter().copied());
        Self::spawn(cmd, dir)
    }

    /// Starts `cmd` (which runs in `dir`) with stdin closed.
    pub fn spawn(cmd: Command, dir: TempDir) -> Self {
        Self::spawn_with_input(cmd, dir, None)
    }

    /// Starts `cmd` (which runs in `dir`) with `stdin` written to it and then closed (EOF), or
    /// stdin null for `None`.
    pub fn spawn_with_input(mut cmd: Command, dir: TempDir, stdin: Option<&str>) -> Self {
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
        let log = Log::default();
        let readers = vec![
            drain(
                child.stdout.take().expect("piped stdout"),
                log.stdout.clone(),
            ),
            drain(
                child.stderr.take().expect("piped stderr"),
                log.stderr.clone(),
            ),
        ];
        Self {
            child,
            log,
            readers,
            _dir: dir,
        }
    }

    /// A handle on the output that outlives borrows of the process.
    pub fn log(&self) -> Log {
        self.log.clone()
    }

    pub fn output(&self) -> String {
        self.log.output()
    }

    pub fn stderr(&self) -> String {
        self.log.stderr()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("query the child").is_none()
    }

    /// Sends SIGTERM, as Docker and systemd do.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status:?}");
    }

    /// Sends SIGKILL: a crash, or a deploy that does not wait.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the exit (failing after `deadline`), then for the output readers to reach EOF.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let status = wait_until(
            deadline,
            || format!("scar-guide to exit; output:\n{}", self.log.tail(40)),
            || self.child.try_wait().expect("query the child"),
        );
        for reader in self.readers.drain(..) {
            reader.join().expect("output reader");
        }
        status
    }

    /// Sends SIGTERM, waits up to `deadline` for status 0 and returns everything printed.
    pub fn stop_cleanly(&mut self, deadline: Duration) -> String {
        self.terminate();
        let status = self.wait_exit(deadline);
        let output = self.output();
        assert!(status.success(), "{status:?} after SIGTERM:\n{output}");
        output
    }

    /// Waits until stderr satisfies `done`, failing with `what` if the process exits first.
    pub fn wait_for_stderr(&mut self, what: &str, deadline: Duration, done: impl Fn(&str) -> bool) {
        let log = self.log.clone();
        wait_until(
            deadline,
            || format!("{what}; output:\n{}", log.tail(40)),
            || {
                if done(&log.stderr()) {
                    return Some(());
                }
                assert!(
                    self.is_running(),
                    "scar-guide exited while waiting for {what}:\n{}",
                    log.tail(40)
                );
                None
            },
        );
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Copies `from` into `into` on a thread until it ends, so a child never blocks on a full pipe.
pub fn drain(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
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

/// Runs `scar-guide run` with `env` (and a token, and a Bot API where nothing listens) to its
/// end, failing if it is still running after `deadline`. Returns the status, stdout and stderr.
pub fn run_to_end(env: &[(&str, &str)], deadline: Duration) -> (ExitStatus, String, String) {
    let nowhere = format!("http://{}/", free_addr());
    let mut bot = BotProcess::start_with(&nowhere, env);
    let status = bot.wait_exit(deadline);
    (status, bot.log.stdout(), bot.log.stderr())
}

/// Runs `cmd` (which runs in `dir`) to its end with `stdin` written to it (or stdin null),
/// failing if it is still running after `deadline`. Returns the status, stdout and stderr.
pub fn run_command(
    cmd: Command,
    dir: TempDir,
    stdin: Option<&str>,
    deadline: Duration,
) -> (ExitStatus, String, String) {
    let mut bot = BotProcess::spawn_with_input(cmd, dir, stdin);
    let status = bot.wait_exit(deadline);
    (status, bot.log.stdout(), bot.log.stderr())
}

// --- HTTP ----------------------------------------------------------------------------------------

/// `127.0.0.1:<port>` with a port free right now (bound, noted, released).
pub fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    format!(
        "127.0.0.1:{}",
        listener.local_addr().expect("local address").port()
    )
}

/// An HTTP answer from the bot's server.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `addr` (`host:port`) on a fresh connection.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

pub fn http_get(addr: &str, path: &str) -> std::io::Result<HttpResponse> {
    http(addr, "GET", path, &[], b"")
}

/// Polls `GET path` until it answers (the server may not be listening yet) and `done` accepts
/// the answer; fails with the last answer after `deadline`.
pub fn wait_for_http(
    addr: &str,
    path: &str,
    deadline: Duration,
    what: &str,
    done: impl Fn(&HttpResponse) -> bool,
) -> HttpResponse {
    let last = Mutex::new(None::<String>);
    wait_until(
        deadline,
        || {
            format!(
                "{what} from GET {path} on {addr}; last answer: {:?}",
                last.lock().expect("lock")
            )
        },
        || {
            let answer = http_get(addr, path);
            *last.lock().expect("lock") = Some(match &answer {
                Ok(r) => format!("{} {:?}", r.status, r.body),
                Err(e) => e.to_string(),
            });
            answer.ok().filter(&done)
        },
    )
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_line = std::str::from_utf8(&rest[..end]).ok()?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = decoded;
    }
    Some(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

// --- The webhook -------------------------------------------------------------------------------

/// A bot's webhook endpoint, reached the way Telegram reaches it.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The bot's `LISTEN_ADDR`.
    pub addr: String,
    /// The path of its `WEBHOOK_URL`.
    pub path: String,
    /// Its `WEBHOOK_SECRET`.
    pub secret: String,
}

impl Webhook {
    /// POSTs `update` with the secret header; fails unless the bot takes it (200).
    pub fn post(&self, update: &Value) {
        let headers = [
            ("content-type", "application/json"),
            ("x-telegram-bot-api-secret-token", self.secret.as_str()),
        ];
        let answer = http(
            &self.addr,
            "POST",
            &self.path,
            &headers,
            update.to_string().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("POST {} on {}: {e}", self.path, self.addr));
        assert_eq!(
            answer.status, 200,
            "POST {} on {}: {answer:?}",
            self.path, self.addr
        );
    }
}

/// The update Telegram posts when `user` taps the button with `data` under the bot's message
/// `message_id` (which reads `shown`): the callback query `query` that
/// [`FakeTelegram::user_taps`] registered, in the shape it queues for getUpdates.
fn tap_update(
    user: &TgUser,
    message_id: i64,
    shown: &SentMessage,
    query: &str,
    data: &str,
) -> Value {
    // Posted updates are numbered apart from the fake's queue (which counts from 1), within
    // the u32 teloxide reads; nothing but a log reads the id of an update that is not polled.
    static NEXT_ID: AtomicI64 = AtomicI64::new(2_000_000_000);
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": user.private_chat(),
        "from": bot_user(),
        "text": shown.text,
    });
    if !shown.markup.is_null() {
        message["reply_markup"] = shown.markup.clone();
    }
    json!({
        "update_id": NEXT_ID.fetch_add(1, Ordering::Relaxed),
        "callback_query": {
            "id": query,
            "from": user.json(),
            "message": message,
            "chat_instance": format!("-{}", user.id),
            "data": data,
        }
    })
}

// --- Metrics -------------------------------------------------------------------------------------

/// A /metrics page in the Prometheus text format.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub text: String,
}

impl Metrics {
    /// GET /metrics on `addr`, which must answer 200 in the text format.
    pub fn fetch(addr: &str) -> Self {
        let answer =
            http_get(addr, "/metrics").unwrap_or_else(|e| panic!("GET /metrics on {addr}: {e}"));
        assert_eq!(answer.status, 200, "GET /metrics: {answer:?}");
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("text/plain"),
            "GET /metrics content type {content_type:?}"
        );
        Self { text: answer.body }
    }

    /// The samples: series (name with labels, as written) and value.
    pub fn samples(&self) -> Vec<(String, f64)> {
        self.text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let split = match l.find('}') {
                    Some(brace) => brace + 1,
                    None => l.find(char::is_whitespace)?,
                };
                let value = l[split..].split_whitespace().next()?.parse().ok()?;
                Some((l[..split].trim().to_owned(), value))
            })
            .collect()
    }

    /// The value of one series, written exactly as `series` (e.g.
    /// `scar_guide_updates_total{kind="message"}`); `None` when absent.
    pub fn value(&self, series: &str) -> Option<f64> {
        self.samples()
            .into_iter()
            .find(|(s, _)| s == series)
            .map(|(_, v)| v)
    }

    /// The sum over every series of metric `name`, whatever its labels; 0 when absent.
    pub fn sum(&self, name: &str) -> f64 {
        self.samples()
            .into_iter()
            .filter(|(s, _)| s.split('{').next() == Some(name))
            .map(|(_, v)| v)
            .sum()
    }

    /// Whether `name` appears at all, in a sample or a `# TYPE`/`# HELP` line.
    pub fn mentions(&self, name: &str) -> bool {
        self.text.lines().any(|l| {
            l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == name)
        })
    }
}

// --- A private chat played by the test ----------------------------------------------------------

/// Which button of the current menu to tap.
#[derive(Debug, Clone, Copy)]
pub enum Pick {
    /// The button with this action; the menu must have it.
    Action(Action),
    /// The first button, whatever it is.
    First,
}

/// One user in their private chat with the bot, played by the test.
///
/// Each action waits until the bot has done what the conversation core says it should: the
/// messages sent (the `n`-th time a text is expected, the `n`-th *answered* send of it), the
/// menu edited, the old menu's buttons retired, the button press answered. [`Self::check`]
/// then compares everything delivered in the chat with what was expected.
pub struct PrivateChat {
    pub user: TgUser,
    /// The language the bot speaks here: the user's, until /settings changes it.
    lang: String,
    /// Where the conversation is, per the conversation core.
    pub state: State,
    /// The message with the bot's current menu, as the bot knows it.
    pub menu: Option<i64>,
    /// How long the bot may take over one action.
    pub deadline: Duration,
    /// The bot's log, shown when a wait fails.
    log: Option<Log>,
    /// Texts the bot should have sent so far, with how many times.
    sent: HashMap<String, usize>,
    /// Text edits that should have changed a message.
    edits: usize,
    /// Old menus whose buttons should have been removed.
    retired: usize,
    /// The callback queries of the taps so far.
    queries: Vec<String>,
    /// Where the user's updates go: a bot's webhook, or (`None`) the fake's getUpdates queue.
    route: Option<Webhook>,
}

/// The real content, for the packs the chats speak.
fn shared_content() -> &'static Content {
    static CONTENT: OnceLock<Arc<Content>> = OnceLock::new();
    CONTENT.get_or_init(content)
}

/// The pack the bot uses for a language code.
pub fn pack(lang: &str) -> &'static Pack {
    shared_content().pack(Some(lang))
}

/// The callback buttons of a keyboard in JSON: `(label, callback data)`.
pub fn callback_buttons(markup: &Value) -> Vec<(String, String)> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|b| {
            Some((
                b["text"].as_str()?.to_owned(),
                b["callback_data"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// What the bot makes of a text message.
pub fn input_of(text: &str) -> Input {
    if text.starts_with('/') {
        Input::from_command_line(text)
    } else {
        Input::Text(text.to_owned())
    }
}

impl PrivateChat {
    pub fn new(user: TgUser) -> Self {
        let lang = user.language.clone();
        Self {
            user,
            lang,
            state: State::Idle,
            menu: None,
            deadline: Duration::from_secs(30),
            log: None,
            sent: HashMap::new(),
            edits: 0,
            retired: 0,
            queries: Vec::new(),
            route: None,
        }
    }

    /// From now on the user's messages and taps are posted to `webhook` (`None`: queued for
    /// getUpdates again), so a test can hand each action to a bot instance of its choice.
    pub fn via(&mut self, webhook: Option<&Webhook>) {
        self.route = webhook.cloned();
    }

    /// Shows the tail of `bot`'s log when a wait fails.
    pub fn watch(&mut self, bot: &BotProcess) {
        self.log = Some(bot.log());
    }

    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// The conversation in the language the bot speaks here.
    pub fn conversation(&self) -> Conversation<'static> {
        Conversation::new(shared_content(), pack(&self.lang))
    }

    /// The user sends `text`; waits for the bot's reply.
    pub fn send(&mut self, api: &FakeTelegram, text: &str) -> Outcome {
        self.send_all(api, &[text]).pop().expect("one outcome")
    }

    /// The user sends all `texts` at once; waits for the bot's replies to all of them.
    pub fn send_all(&mut self, api: &FakeTelegram, texts: &[&str]) -> Vec<Outcome> {
        for text in texts {
            match &self.route {
                Some(webhook) => webhook.post(&api.message_update(&self.user, text)),
                None => {
                    api.user_sends(&self.user, text);
                }
            }
        }
        self.expect_replies(api, texts)
    }

    /// The bot received `texts` from this user some other way (a webhook POST): waits for the
    /// replies.
    pub fn expect_replies(&mut self, api: &FakeTelegram, texts: &[&str]) -> Vec<Outcome> {
        let mut expected = Vec::new();
        let mut menu = None;
        let mut outcomes = Vec::new();
        for text in texts {
            let outcome = self.conversation().step(&self.state, input_of(text));
            let messages = expected_messages(&outcome);
            menu = outcome
                .screen
                .as_ref()
                .map(|_| (expected.len() + messages.len() - 1, outcome.clone()));
            expected.extend(messages);
            self.advance(&outcome);
            outcomes.push(outcome);
        }
        let what = format!("the replies to {texts:?}");
        let sends = self.wait_for_sends(api, &what, &expected, |_| true);
        self.menu = menu.map(|(i, outcome)| {
            let sent = &sends[i];
            assert_eq!(
                callback_buttons(&sent.markup),
                expected_buttons(&outcome),
                "the menu's buttons after {texts:?}"
            );
            sent.message_id.expect("a sent message has an id")
        });
        outcomes
    }

    /// The user taps a button of the bot's current menu; waits for the answer and the reply.
    pub fn tap(&mut self, api: &FakeTelegram, pick: Pick) -> Outcome {
        let menu = self.menu.expect("the bot showed a menu to tap");
        let shown = api
            .message(self.id(), menu)
            .unwrap_or_else(|| panic!("the menu {menu} is not in the chat"));
        let buttons = callback_buttons(&shown.markup);
        let data = match pick {
            Pick::Action(action) => {
                let data = callback::encode(action);
                assert!(
                    buttons.iter().any(|(_, d)| *d == data),
                    "the menu has no button {action:?}: {buttons:?}"
                );
                data
            }
            Pick::First => buttons.first().expect("the menu has buttons").1.clone(),
        };
        let action = callback::parse(&data)
            .unwrap_or_else(|| panic!("{data:?} is not a button the bot makes"));
        let outcome = self.conversation().step(&self.state, Input::Tap(action));
        // Also queued for getUpdates, where no one polls while a webhook is set (Telegram
        // refuses getUpdates then).
        let query = api.user_taps(&self.user, menu, &data);
        if let Some(webhook) = &self.route {
            webhook.post(&tap_update(&self.user, menu, &shown, &query, &data));
        }
        self.queries.push(query.clone());
        let what = format!("the reply to a tap on {action:?}");
        let in_place = outcome.cards.is_empty() && outcome.language.is_none();
        if in_place {
            let screen = outcome.screen.as_ref().expect("a tap shows a screen");
            let buttons = expected_buttons(&outcome);
            let is_shown =
                |m: &SentMessage| m.text == screen.text && callback_buttons(&m.markup) == buttons;
            if !is_shown(&shown) {
                self.edits += 1;
            }
            self.wait(api, &what, || {
                let done = api.message(self.id(), menu).is_some_and(|m| is_shown(&m))
                    && answered(&api.deliveries_in(self.id()), &query);
                done.then_some(())
            });
        } else {
            // Cards (or a new language) come as new messages, then the old menu loses its
            // buttons; a new language is said in the new menu rather than in the pop-up.
            let delivered = Outcome {
                notice: outcome.language.and(outcome.notice.clone()),
                ..outcome.clone()
            };
            let expected = expected_messages(&delivered);
            self.retired += 1;
            let id = self.id();
            let sends = self.wait_for_sends(api, &what, &expected, |deliveries| {
                answered(deliveries, &query)
                    && api.message(id, menu).is_some_and(|m| m.markup.is_null())
            });
            self.menu = outcome.screen.as_ref().map(|_| {
                let sent = sends.last().expect("the menu was sent");
                assert_eq!(
                    callback_buttons(&sent.markup),
                    expected_buttons(&outcome),
                    "{what}: the new menu's buttons"
                );
                sent.message_id.expect("a sent message has an id")
            });
        }
        let pop_up = outcome
            .notice
            .as_ref()
            .filter(|_| outcome.language.is_none())
            .map(|n| toast(n));
        let answer = api
            .deliveries_in(self.id())
            .into_iter()
            .find(|d| d.query_id.as_deref() == Some(query.as_str()))
            .expect("the tap was answered");
        assert_eq!(answer.text, pop_up, "{what}: the pop-up");
        self.advance(&outcome);
        outcome
    }

    /// Checks everything delivered in this chat against what the actions expected: every
    /// expected text was delivered *and answered* exactly as often as expected (extra copies
    /// only where the fake gave the bot no answer), nothing else was sent, each text edit and
    /// each retired menu was delivered once, and each tap was answered exactly once. Returns
    /// how many sends were repeated after no answer.
    pub fn check(&self, api: &FakeTelegram) -> usize {
        let deliveries = api.deliveries_in(self.id());
        let sends: Vec<&Delivery> = deliveries
            .iter()
            .filter(|d| d.method == "sendmessage")
            .collect();
        let text_of = |d: &Delivery| d.text.clone().unwrap_or_default();
        for send in &sends {
            assert!(
                self.sent.contains_key(&text_of(send)),
                "chat {}: the bot sent {:?}, which no action asked for",
                self.id(),
                text_of(send)
            );
        }
        for (text, times) in &self.sent {
            let answered = sends
                .iter()
                .filter(|d| d.answered && text_of(d) == *text)
                .count();
            assert_eq!(
                answered,
                *times,
                "chat {}: {text:?} was sent and answered {answered} times, expected {times}; \
                 a send the bot got an answer for must not be repeated",
                self.id()
            );
        }
        let count = |method: &str| deliveries.iter().filter(|d| d.method == method).count();
        assert_eq!(
            count("editmessagetext"),
            self.edits,
            "chat {}: menu edits delivered",
            self.id()
        );
        assert_eq!(
            count("editmessagereplymarkup"),
            self.retired,
            "chat {}: old menus retired",
            self.id()
        );
        for query in &self.queries {
            let answers = deliveries
                .iter()
                .filter(|d| d.query_id.as_deref() == Some(query.as_str()))
                .count();
            assert_eq!(answers, 1, "chat {}: answers to tap {query}", self.id());
        }
        assert_eq!(
            count("answercallbackquery"),
            self.queries.len(),
            "chat {}: button answers",
            self.id()
        );
        sends.iter().filter(|d| !d.answered).count()
    }

    /// Moves the expected conversation on by one outcome.
    fn advance(&mut self, outcome: &Outcome) {
        self.state = outcome.state.clone();
        if let Some(code) = outcome.language {
            code.as_str().clone_into(&mut self.lang);
        }
    }

    /// Expects `texts` to be sent, in this order, on top of everything sent before; waits
    /// until each was delivered and answered (and `also` holds), and returns those deliveries.
    fn wait_for_sends(
        &mut self,
        api: &FakeTelegram,
        what: &str,
        texts: &[String],
        also: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        // The n-th time a text is expected, the n-th answered send of it is the one.
        let targets: Vec<(String, usize)> = texts
            .iter()
            .map(|text| {
                let n = self.sent.entry(text.clone()).or_default();
                *n += 1;
                (text.clone(), *n)
            })
            .collect();
        let id = self.id();
        let found = self.wait(api, what, || {
            let deliveries = api.deliveries_in(id);
            let found: Option<Vec<(usize, Delivery)>> = targets
                .iter()
                .map(|(text, n)| {
                    deliveries
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| {
                            d.method == "sendmessage" && d.answered && d.text.as_ref() == Some(text)
                        })
                        .nth(n - 1)
                        .map(|(i, d)| (i, d.clone()))
                })
                .collect();
            found.filter(|_| also(&deliveries))
        });
        let order: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{what}: sent out of order (positions {order:?}) in chat {id}"
        );
        found.into_iter().map(|(_, d)| d).collect()
    }

    /// Waits up to this chat's deadline, failing with what happened in the chat.
    fn wait<T>(&self, api: &FakeTelegram, what: &str, check: impl FnMut() -> Option<T>) -> T {
        wait_until(self.deadline, || self.describe(api, what), check)
    }

    /// What happened in this chat, for a failure message.
    fn describe(&self, api: &FakeTelegram, what: &str) -> String {
        let id = self.id();
        let mut text = format!("{what} in chat {id}\ndelivered there:\n");
        for d in api.deliveries_in(id) {
            let what = d.text.as_deref().unwrap_or_default();
            let what: String = what.chars().take(60).collect();
            text.push_str(&format!(
                "  {} {}{} {what:?}{}\n",
                d.method,
                d.message_id.map(|m| format!("#{m}")).unwrap_or_default(),
                d.query_id.as_deref().unwrap_or_default(),
                if d.answered { "" } else { " (no answer)" }
            ));
        }
        let faults: Vec<String> = api
            .injected()
            .into_iter()
            .filter(|(_, _, chat, _)| *chat == id)
            .map(|(_, method, _, fault)| format!("{method}: {fault:?}"))
            .collect();
        text.push_str(&format!("faults injected there: {faults:?}\n"));
        if let Some(log) = &self.log {
            text.push_str(&format!("the bot's log ends:\n{}", log.tail(30)));
        }
        text
    }
}

/// Whether callback query `query` was answered (delivered).
fn answered(deliveries: &[Delivery], query: &str) -> bool {
    deliveries
        .iter()
        .any(|d| d.query_id.as_deref() == Some(query))
}
