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
//! - [`InProcess`] runs the same service inside the test process, by `service::run` with a
//!   shutdown future, for tests that need no real process.
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
const SERVICE_VARS: [&str; 21] = [
    "TELOXIDE_TOKEN",
    "TELOXIDE_API_URL",
    "ALLOW_HTTP_API",
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
    "HTTP_HEADER_TIMEOUT",
    "HTTP_BODY_TIMEOUT",
    "HTTP_MAX_CONNECTIONS",
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

mod chat;
mod in_process;
mod web;

pub use chat::*;
pub use in_process::InProcess;
pub use web::*;
