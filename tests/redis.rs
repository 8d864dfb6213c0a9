//! The Redis storage against a real `redis-server`: shared between instances, expiring like the
//! in-memory storage, failing fast while Redis is down or hung and recovering by itself. Then
//! the compiled bot with `STORAGE_URL`: a conversation outlives a killed process, two
//! instances behind one webhook carry one conversation between them (and one of them stopping
//! leaves the webhook to the other), and while Redis is down the user is asked to try again and
//! `/healthz` says 503.
//!
//! Each test starts its own server on a free loopback port with a throw-away directory, so
//! tests run in parallel and never touch a developer's Redis. Without the `redis-server`
//! binary a test says so on stderr and passes, except in CI (`CI=true`), where it fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scar_guide::config::RedisUrl;
use scar_guide::conversation::{Action, State};
use scar_guide::knowledge::{ScarKind, Topic};
use scar_guide::service::storage::StorageStats;
use scar_guide::service::storage::redis::{RedisStorage, RedisStorageError};
use scar_guide::telegram::Session;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{ChatId, MessageId};

use crate::fake_api::{FakeTelegram, TgUser};
use crate::harness::{
    BotProcess, Metrics, Pick, PrivateChat, Webhook, free_addr, pack, wait_for_http, wait_until,
};

/// The longest a wait for the server may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// What "fails fast" means here: the storage's own bound is 3 s; this leaves room for a
/// loaded machine while still catching a call that hangs.
const FAST: Duration = Duration::from_secs(5);

const HOUR: Duration = Duration::from_secs(60 * 60);

// --- A throw-away redis-server -----------------------------------------------------------------

/// A `redis-server` on 127.0.0.1 without persistence, killed (and its directory removed) on
/// drop.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// A server for the calling test, or `None` (after saying so) when `redis-server` is not
/// installed outside CI.
pub(crate) fn redis_server() -> Option<RedisServer> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not installed, and CI=true requires the Redis tests to run \
             (.ci/run installs it: apt-get install redis-server)"
        );
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a Redis test");
        // Straight to the process's stderr, past libtest's capture, so a pass is not mistaken
        // for a run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: redis-server is not installed (apt-get install redis-server)"
        );
        return None;
    }
    Some(RedisServer::start())
}

impl RedisServer {
    fn start() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("scar-guide-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp dir for redis-server");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.restart();
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, and waits until it answers.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let start = Instant::now();
        while !self.answers() {
            assert!(
                start.elapsed() < DEADLINE,
                "redis-server on port {} did not answer within {DEADLINE:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL: no goodbye to its clients, as in a crash.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers.
    fn hang(&self) {
        self.signal("-STOP");
    }

    fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}: {status:?}");
    }

    /// Whether the server answers a PING, spoken by hand so this never depends on the storage
    /// under test.
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// A plain connection for looking at the keys directly.
    pub(crate) fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("a raw connection to redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a frozen (SIGSTOPped) server too.
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// --- Helpers -----------------------------------------------------------------------------------

fn storage(server: &RedisServer, ttl: Duration, prefix: &str) -> Arc<RedisStorage> {
    let url = RedisUrl::parse(&server.url()).expect("a valid Redis URL");
    RedisStorage::with_prefix(&url, ttl, prefix)
}

/// A session in the middle of a conversation, with every field set.
fn session() -> Session {
    Session {
        state: State::Identify {
            picked: vec![ScarKind::Dents, ScarKind::Redness],
        },
        menu: Some(MessageId(42)),
        lang: Some("en".to_owned()),
        seen_lang: Some("de".to_owned()),
        album: None,
    }
}

async fn get<D>(storage: &Arc<RedisStorage>, chat: i64) -> Option<D>
where
    D: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Storage::<D>::get_dialogue(storage.clone(), ChatId(chat))
        .await
        .expect("get from a running Redis")
}

async fn put<D>(storage: &Arc<RedisStorage>, chat: i64, value: D)
where
    D: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    storage
        .clone()
        .update_dialogue(ChatId(chat), value)
        .await
        .expect("update on a running Redis");
}

async fn remove(storage: &Arc<RedisStorage>, chat: i64) {
    Storage::<u32>::remove_dialogue(storage.clone(), ChatId(chat))
        .await
        .expect("remove on a running Redis");
}

async fn stats(storage: &RedisStorage) -> StorageStats {
    storage.stats().await.expect("stats from a running Redis")
}

fn exists(raw: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query::<bool>(raw)
        .expect("EXISTS")
}

/// Waits (up to `DEADLINE`) until Redis has dropped `key`.
async fn wait_until_gone(raw: &mut redis::Connection, key: &str) {
    let start = Instant::now();
    while exists(raw, key) {
        assert!(
            start.elapsed() < DEADLINE,
            "{key} still exists after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `call`, asserting it ends within [`FAST`]; returns its result.
async fn quickly<T>(what: &str, call: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let result = tokio::time::timeout(FAST + Duration::from_secs(5), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"));
    assert!(
        start.elapsed() < FAST,
        "{what} took {:?}, more than {FAST:?}",
        start.elapsed()
    );
    result
}

mod forget;
mod process;
mod scale;
mod storage;
