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
    fn raw(&self) -> redis::Connection {
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

// --- Tests -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_session_written_by_one_instance_is_read_by_another() {
    let Some(server) = redis_server() else { return };
    let first = storage(&server, HOUR, "shared");
    let second = storage(&server, HOUR, "shared");

    put(&first, 7, session()).await;
    assert_eq!(get::<Session>(&second, 7).await, Some(session()));

    let later = Session {
        state: State::MainMenu,
        ..session()
    };
    put(&second, 7, later.clone()).await;
    assert_eq!(get::<Session>(&first, 7).await, Some(later));
    assert_eq!(get::<Session>(&first, 8).await, None, "another chat");

    let mut raw = server.raw();
    let json: String = redis::cmd("GET")
        .arg("shared:session:7")
        .query(&mut raw)
        .expect("GET");
    assert!(
        serde_json::from_str::<Session>(&json).is_ok(),
        "stored as JSON: {json}"
    );
    assert_eq!(
        stats(&first).await,
        StorageStats {
            active: 1,
            expired: 0
        }
    );
}

#[tokio::test]
async fn sessions_expire_after_the_ttl_and_reads_renew_it() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, Duration::from_secs(2), "expiry");
    let mut raw = server.raw();
    let (read_key, idle_key) = ("expiry:session:1", "expiry:session:2");

    put(&storage, 1, session()).await;
    put(&storage, 2, session()).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(idle_key)
        .query(&mut raw)
        .expect("TTL");
    assert!((1..=2).contains(&ttl), "the key's TTL is {ttl}");
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 2,
            expired: 0
        }
    );

    // Reading chat 1 halfway renews its two seconds; chat 2 stays idle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get::<Session>(&storage, 1).await, Some(session()));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(read_key)
        .query(&mut raw)
        .expect("PTTL");
    assert!(
        pttl > 1_500,
        "a read renews the TTL, but {pttl} ms are left"
    );

    wait_until_gone(&mut raw, idle_key).await;
    assert!(
        exists(&mut raw, read_key),
        "the chat read later is still there"
    );
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 1,
            expired: 1
        }
    );
    assert_eq!(get::<Session>(&storage, 2).await, None);

    wait_until_gone(&mut raw, read_key).await;
    assert_eq!(get::<Session>(&storage, 1).await, None);
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 0,
            expired: 2
        },
        "each expiry is counted once, whether a read or a scrape saw it first"
    );
}

#[tokio::test]
async fn writes_sweep_the_index_without_a_scrape() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, Duration::from_secs(1), "sweep");
    let mut raw = server.raw();
    for chat in 1..=3 {
        put(&storage, chat, 0_u32).await;
    }
    wait_until_gone(&mut raw, "sweep:session:3").await;
    // Every 256th write sweeps; these are writes 4 to 259.
    for n in 0..256 {
        put(&storage, 100, n).await;
    }
    let listed: u64 = redis::cmd("ZCARD")
        .arg("sweep:sessions")
        .query(&mut raw)
        .expect("ZCARD");
    let expired: u64 = redis::cmd("GET")
        .arg("sweep:expired")
        .query(&mut raw)
        .expect("GET");
    assert_eq!((listed, expired), (1, 3));
}

#[tokio::test]
async fn remove_deletes_the_key_and_is_idempotent() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, HOUR, "forget");
    let mut raw = server.raw();

    put(&storage, 5, session()).await;
    put(&storage, 6, session()).await;
    remove(&storage, 5).await;
    assert!(!exists(&mut raw, "forget:session:5"));
    assert_eq!(get::<Session>(&storage, 5).await, None);
    remove(&storage, 5).await;
    remove(&storage, 999).await;
    assert_eq!(get::<Session>(&storage, 6).await, Some(session()));
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 1,
            expired: 0
        },
        "a forgotten chat is not an expired one"
    );
}

#[tokio::test]
async fn prefixes_do_not_see_each_other() {
    let Some(server) = redis_server() else { return };
    let blue = storage(&server, HOUR, "blue");
    let green = storage(&server, HOUR, "green");

    put(&blue, 1, 10_u32).await;
    assert_eq!(get::<u32>(&green, 1).await, None);
    put(&green, 1, 20_u32).await;
    put(&green, 2, 30_u32).await;
    assert_eq!(get::<u32>(&blue, 1).await, Some(10));
    assert_eq!(get::<u32>(&green, 1).await, Some(20));
    remove(&green, 1).await;
    assert_eq!(get::<u32>(&blue, 1).await, Some(10));
    assert_eq!(stats(&blue).await.active, 1);
    assert_eq!(stats(&green).await.active, 1);
}

#[tokio::test]
async fn calls_fail_fast_while_redis_is_down_and_recover_when_it_is_back() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let storage = storage(&server, HOUR, "outage");
    put(&storage, 1, session()).await;
    assert!(storage.ping().await);

    server.kill();
    let got = quickly(
        "get while down",
        Storage::<Session>::get_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(matches!(got, Err(ref e) if e.is_unreachable()), "{got:?}");
    let put_down = quickly(
        "update while down",
        storage.clone().update_dialogue(ChatId(1), session()),
    )
    .await;
    assert!(put_down.is_err());
    let removed = quickly(
        "remove while down",
        Storage::<Session>::remove_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(removed.is_err());
    assert!(quickly("stats while down", storage.stats()).await.is_err());
    assert!(!quickly("ping while down", storage.ping()).await);
    let err = storage.stats().await.expect_err("still down");
    assert!(
        !format!("{err} {err:?}").contains("127.0.0.1"),
        "{err} {err:?}"
    );

    // The connection manager reconnects in the background after a failure; let that attempt
    // fail too, so the first call below meets a connection that is known to be broken.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The same storage, no restart of the bot: the very first call after Redis is back works.
    server.restart();
    put(&storage, 1, session()).await;
    assert!(storage.ping().await);
    assert_eq!(get::<Session>(&storage, 1).await, Some(session()));
}

#[tokio::test]
async fn a_hung_redis_does_not_stall_calls() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, HOUR, "hung");
    put(&storage, 1, 1_u32).await;

    server.hang();
    let got = quickly(
        "get from a hung Redis",
        Storage::<u32>::get_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(
        matches!(got, Err(RedisStorageError::Unreachable(_))),
        "{got:?}"
    );
    assert!(!quickly("ping a hung Redis", storage.ping()).await);

    server.resume();
    assert_eq!(get::<u32>(&storage, 1).await, Some(1));
    assert!(storage.ping().await);
}

#[tokio::test]
async fn redis_down_at_start_up_is_not_fatal() {
    let Some(mut server) = redis_server() else {
        return;
    };
    server.kill();
    let storage = storage(&server, HOUR, "late");
    assert!(!quickly("ping before Redis starts", storage.ping()).await);
    assert!(
        quickly("stats before Redis starts", storage.stats())
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.restart();
    put(&storage, 3, session()).await;
    assert_eq!(get::<Session>(&storage, 3).await, Some(session()));
}

#[tokio::test]
async fn a_refused_handshake_is_tried_again_on_the_next_call() {
    let Some(server) = redis_server() else { return };
    // The URL's password is wrong until the server is given it: a deploy that sets the
    // password on both sides in the wrong order.
    let url = format!("redis://:s3cret@127.0.0.1:{}", server.port);
    let url = RedisUrl::parse(&url).expect("a valid Redis URL");
    let storage = RedisStorage::with_prefix(&url, HOUR, "auth");
    let err = quickly("stats with a refused password", storage.stats())
        .await
        .expect_err("the password is refused");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
    assert!(!storage.ping().await);

    let mut raw = server.raw();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("s3cret")
        .exec(&mut raw)
        .expect("CONFIG SET requirepass");
    put(&storage, 1, 1_u32).await;
    assert!(storage.ping().await);
}

// --- Through the binary --------------------------------------------------------------------------

/// The longest one wait on the bot may take.
const BOT_DEADLINE: Duration = Duration::from_secs(30);

/// How long a clean stop after SIGTERM may take (the default grace and a margin).
const STOP: Duration = Duration::from_secs(12);

/// The user of the process tests.
const USER: i64 = 5_550_123;

/// The bot's settings for the Redis at `url`, a TTL to check, and limits high enough that
/// Throttle never slows the tests.
fn bot_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("STORAGE_URL", url),
        ("STATE_TTL", "1h"),
        ("RATE_PER_CHAT", "30"),
        ("RATE_PER_GROUP", "6000"),
        ("RATE_OVERALL", "300"),
    ]
}

/// Waits until a getUpdates call confirmed (by its offset) every update the bot received, so
/// a process killed now leaves none for the next one to receive again.
fn wait_until_confirmed(api: &FakeTelegram) {
    api.wait_for_call(
        "a getUpdates confirming every update",
        BOT_DEADLINE,
        |calls| {
            let polls = || calls.iter().filter(|c| c.method == "getupdates");
            let last = polls()
                .filter_map(|c| c.result.as_array())
                .flatten()
                .filter_map(|u| u["update_id"].as_i64())
                .max()?;
            polls()
                .filter_map(|c| c.body["offset"].as_i64())
                .any(|offset| offset > last)
                .then_some(())
        },
    );
}

/// Waits until Redis holds `chat`'s conversation where the test expects it: the bot stores it
/// after its replies, so a reply seen is not yet a state saved.
fn wait_until_stored(raw: &mut redis::Connection, chat: &PrivateChat) {
    let key = format!("scar-guide:session:{}", chat.id());
    wait_until(
        BOT_DEADLINE,
        || format!("{key} never held the state {:?}", chat.state),
        || {
            let json: Option<String> = redis::cmd("GET").arg(&key).query(raw).expect("GET");
            let session: Session = serde_json::from_str(&json?).expect("a stored Session");
            (session.state == chat.state && session.menu.map(|m| i64::from(m.0)) == chat.menu)
                .then_some(())
        },
    );
}

#[test]
fn a_conversation_continues_in_a_second_process_after_the_first_is_killed() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let url = server.url();
    let env = bot_env(&url);
    let mut first = BotProcess::start(&api, &env);
    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.watch(&first);
    chat.send(&api, "/start");
    chat.tap(&api, Pick::First);
    assert_ne!(
        chat.state,
        State::MainMenu,
        "the tap moved the conversation on"
    );

    let mut raw = server.raw();
    wait_until_stored(&mut raw, &chat);
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("scar-guide:session:{USER}"))
        .query(&mut raw)
        .expect("TTL");
    assert!(
        (3_500..=3_600).contains(&ttl),
        "the session key's TTL is {ttl} s, not STATE_TTL"
    );
    wait_until_confirmed(&api);
    first.kill();

    // The menu the first process showed is still the current one for the second, so the tap
    // is acted on (not answered as an expired menu).
    let mut second = BotProcess::start(&api, &env);
    chat.watch(&second);
    chat.tap(&api, Pick::First);
    chat.check(&api);
    let output = second.stop_cleanly(STOP);
    assert!(!output.contains("unreachable"), "{output}");
}

/// The webhook both instances of the shared-webhook test register.
const WEBHOOK_URL: &str = "https://example.test/tg/hook";
const WEBHOOK_SECRET: &str = "shared_webhook_secret-0123456789_abcdefgh";

/// The replies an instance's /metrics counts.
fn replies(addr: &str) -> f64 {
    Metrics::fetch(addr).sum("scar_guide_replies_total")
}

#[test]
fn two_instances_behind_one_webhook_share_the_conversation() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let url = server.url();
    // One webhook in front of two instances, as a load balancer would spread it.
    let start = |addr: &str| {
        let mut env = bot_env(&url);
        env.extend([
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("LISTEN_ADDR", addr),
        ]);
        let bot = BotProcess::start(&api, &env);
        wait_for_http(addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
        let webhook = Webhook {
            addr: addr.to_owned(),
            path: "/tg/hook".to_owned(),
            secret: WEBHOOK_SECRET.to_owned(),
        };
        (bot, webhook)
    };
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let (mut a, hook_a) = start(&addr_a);
    let (mut b, hook_b) = start(&addr_b);
    api.wait_for_call("both setWebhook calls", BOT_DEADLINE, |calls| {
        (calls.iter().filter(|c| c.method == "setwebhook").count() == 2).then_some(())
    });

    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.deadline = Duration::from_secs(10);
    let mut raw = server.raw();
    // Each step goes to the other instance than the one before, once the state the last one
    // saved is in Redis (it saves after replying): what the conversation core expects at each
    // step is right only if the instance taking it read what the other one wrote.
    let on = |bot: &BotProcess, webhook: &Webhook, chat: &mut PrivateChat| {
        chat.watch(bot);
        chat.via(Some(webhook));
    };
    on(&a, &hook_a, &mut chat);
    chat.send(&api, "/start");
    wait_until_stored(&mut raw, &chat);
    on(&b, &hook_b, &mut chat);
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    wait_until_stored(&mut raw, &chat);
    on(&a, &hook_a, &mut chat);
    chat.tap(&api, Pick::Action(Action::Toggle(ScarKind::Dents)));
    wait_until_stored(&mut raw, &chat);
    // Typed words that tick another kind, on top of the one ticked on the other instance.
    let redness = &pack("en").scars.get(ScarKind::Redness).keywords[0];
    on(&b, &hook_b, &mut chat);
    chat.send(&api, &format!("and {redness} marks"));
    assert!(
        matches!(&chat.state, State::Identify { picked }
            if picked.contains(&ScarKind::Dents) && picked.contains(&ScarKind::Redness)),
        "the typed answer ticks a second kind: {:?}",
        chat.state
    );
    wait_until_stored(&mut raw, &chat);
    for (name, addr) in [("A", &addr_a), ("B", &addr_b)] {
        assert!(replies(addr) >= 1.0, "instance {name} answered no step");
    }

    // A stops (a deploy): the webhook stays, and B carries on alone.
    a.stop_cleanly(STOP);
    let deleted = api
        .calls()
        .iter()
        .filter(|c| c.method == "deletewebhook")
        .count();
    assert_eq!(deleted, 0, "deleteWebhook calls");
    assert!(api.webhook().is_some(), "the webhook is still set");
    let before = replies(&addr_b);
    on(&b, &hook_b, &mut chat);
    chat.tap(&api, Pick::Action(Action::Done));
    chat.tap(&api, Pick::First);
    assert!(replies(&addr_b) > before, "B answered after A stopped");
    chat.check(&api);
    let output = b.stop_cleanly(STOP);
    assert!(!output.contains("unreachable"), "{output}");
}

#[test]
fn while_redis_is_down_the_user_is_asked_to_retry_and_healthz_says_503() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let api = FakeTelegram::start();
    let url = server.url();
    let addr = free_addr();
    let mut env = bot_env(&url);
    env.push(("METRICS_ADDR", &addr));
    let mut bot = BotProcess::start(&api, &env);
    wait_for_http(&addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
    let mut chat = PrivateChat::new(TgUser::new(USER, "Ada", "en"));
    chat.watch(&bot);
    chat.send(&api, "/start");
    chat.tap(&api, Pick::First);

    // A snapshot, so the server comes back with the conversation, as a Redis with persistence
    // would after a crash.
    let mut raw = server.raw();
    wait_until_stored(&mut raw, &chat);
    redis::cmd("SAVE").exec(&mut raw).expect("SAVE a snapshot");
    server.kill();
    let down = wait_for_http(&addr, "/healthz", BOT_DEADLINE, "503", |r| r.status == 503);
    assert!(down.body.contains("storage unreachable"), "{down:?}");

    let busy = &pack("en").ui.hints.busy;
    api.user_sends(&chat.user, "hello?");
    wait_until(
        BOT_DEADLINE,
        || format!("no {busy:?} in the chat; log:\n{}", bot.output()),
        || {
            api.deliveries_in(USER)
                .iter()
                .any(|d| d.method == "sendmessage" && d.text.as_ref() == Some(busy))
                .then_some(())
        },
    );
    assert!(bot.is_running(), "the bot stays up while Redis is down");

    server.restart();
    wait_for_http(&addr, "/healthz", BOT_DEADLINE, "200", |r| r.status == 200);
    // The same process and the same conversation: the tap on the menu shown before the outage
    // is acted on.
    chat.tap(&api, Pick::First);
    let metrics = Metrics::fetch(&addr);
    assert!(
        metrics.sum("scar_guide_storage_errors_total") >= 1.0,
        "{}",
        metrics.text
    );
    bot.stop_cleanly(STOP);
}
