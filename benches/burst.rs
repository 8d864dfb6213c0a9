//! A burst of people pressing Start at once, against a fake Bot API that enforces Telegram's
//! limits (30 messages a second per bot, a burst of two at about one a second per chat): how
//! close the delivered rate comes to the ceiling, how many messages Telegram refused (429), and
//! how long people waited for their first reply.
//!
//! `cargo bench --bench burst` runs 5,000 people on one instance (long polling), then, when
//! `redis-server` is installed, on two instances behind one webhook sharing one Redis.
//! `BURST_PEOPLE=500` makes it shorter. The bot runs in this process (`service::run`); the
//! fake Bot API is the tests' (`tests/fake_api/`).

#[path = "../tests/fake_api/mod.rs"]
#[allow(dead_code)]
mod fake_api;

/// What the fake Bot API expects of the tests' utilities.
mod util {
    pub fn note(text: &str) {
        eprintln!("{text}");
    }
}

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fake_api::{FakeTelegram, Limits, TOKEN, TgUser};
use scar_guide::config::Config;
use scar_guide::content::Content;
use scar_guide::service;
use serde_json::Value;

const SECRET: &str = "burst_webhook_secret-0123456789_abcdefgh";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `service::run` on a runtime of its own; stops when the sender is dropped.
fn start_bot(
    api: &FakeTelegram,
    env: &[(&str, String)],
) -> (tokio::sync::oneshot::Sender<()>, JoinHandle<()>) {
    let mut vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    vars.insert("TELOXIDE_TOKEN".into(), TOKEN.into());
    vars.insert("TELOXIDE_API_URL".into(), api.url());
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("a valid config");
    let content = Arc::new(Content::embedded().expect("the embedded content"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(err) = runtime.block_on(service::run(config, content, shutdown)) {
            eprintln!("the bot stopped: {err}");
        }
    });
    (stop, run)
}

/// POSTs `update` to a webhook at `port`.
fn post(port: u16, update: &Value) {
    let body = update.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the webhook");
    let request = format!(
        "POST /tg/hook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         x-telegram-bot-api-secret-token: {SECRET}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("a post");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the webhook answered {answer:?}"
    );
}

fn wait_for_health(port: u16) {
    let until = Instant::now() + Duration::from_secs(120);
    while Instant::now() < until {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the bot on port {port} never became healthy");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs one burst and prints its figures.
fn burst(people: usize, instances: usize, redis: Option<u16>) {
    let api = FakeTelegram::start();
    api.enforce_limits(Limits::TELEGRAM);
    let mut bots = Vec::new();
    let mut hooks = Vec::new();
    for _ in 0..instances {
        let mut env: Vec<(&str, String)> = Vec::new();
        if let Some(port) = redis {
            let port_http = free_port();
            env.push(("STORAGE_URL", format!("redis://127.0.0.1:{port}")));
            env.push(("WEBHOOK_URL", "https://example.test/tg/hook".into()));
            env.push(("WEBHOOK_SECRET", SECRET.into()));
            env.push(("LISTEN_ADDR", format!("127.0.0.1:{port_http}")));
            hooks.push(port_http);
        }
        bots.push(start_bot(&api, &env));
    }
    for port in &hooks {
        wait_for_health(*port);
    }
    let users: Vec<TgUser> = (0..people)
        .map(|i| TgUser::new(6_000_000 + i as i64, "Ada", "en"))
        .collect();
    let started = Instant::now();
    if hooks.is_empty() {
        for user in &users {
            api.user_sends(user, "/start");
        }
    } else {
        // Eight posting threads, the updates spread over the instances in turn.
        let updates: Vec<(u16, Value)> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (hooks[i % hooks.len()], api.message_update(u, "/start")))
            .collect();
        let chunks: Vec<Vec<(u16, Value)>> = updates
            .chunks(people.div_ceil(8))
            .map(<[_]>::to_vec)
            .collect();
        let threads: Vec<_> = chunks
            .into_iter()
            .map(|chunk| std::thread::spawn(move || chunk.iter().for_each(|(p, u)| post(*p, u))))
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("posting"));
    }
    let expected = 2 * people;
    let deadline = started + Duration::from_secs(60 + (expected as u64) / 20);
    let sent = |api: &FakeTelegram| {
        api.deliveries()
            .into_iter()
            .filter(|d| d.method == "sendmessage")
            .collect::<Vec<_>>()
    };
    while sent(&api).len() < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
    }
    let deliveries = sent(&api);
    let mut first: HashMap<i64, Instant> = HashMap::new();
    for d in &deliveries {
        first.entry(d.chat).or_insert(d.at);
    }
    let mut waits: Vec<Duration> = first
        .values()
        .map(|at| at.duration_since(started))
        .collect();
    waits.sort();
    let (begin, end) = (
        deliveries.first().map(|d| d.at).unwrap_or(started),
        deliveries.last().map(|d| d.at).unwrap_or(started),
    );
    let rate =
        (deliveries.len().saturating_sub(1)) as f64 / end.duration_since(begin).as_secs_f64();
    println!(
        "burst of {people} on {instances} instance(s){}: {} of {expected} messages in {:.0?}; \
         {rate:.2}/s = {:.1}% of the 30/s ceiling; 429s: {}; first reply p50 {:.1?}, p95 {:.1?}, \
         max {:.1?}; everyone answered: {}",
        if redis.is_some() { " on one Redis" } else { "" },
        deliveries.len(),
        end.duration_since(started),
        rate / 30.0 * 100.0,
        api.refused_over_limits(),
        percentile(&waits, 0.5),
        percentile(&waits, 0.95),
        waits.last().copied().unwrap_or_default(),
        first.len() == people,
    );
    for (stop, run) in bots {
        drop(stop);
        let _ = run.join();
    }
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Option<(Redis, u16)> {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Redis(child), port))
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument other than "burst" skips this one.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"burst".contains(a.as_str()))
    {
        return;
    }
    let people = std::env::var("BURST_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    burst(people, 1, None);
    match start_redis() {
        Some((_redis, port)) => burst(people, 2, Some(port)),
        None => println!("redis-server is not installed: the two-instance burst is skipped"),
    }
}
