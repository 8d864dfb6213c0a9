//! Memory of a burst through the real dispatcher: `cargo bench --bench burst_memory`.
//!
//! Goal (issue 13): at most 2 KB per recently active chat, and the RSS back near the idle
//! baseline once the chats go quiet (their sessions stay until they expire). `service::run`
//! runs in this process against a small Bot API on 127.0.0.1 that forgets what it is sent, run
//! in a child process (this binary again) so that its threads and buffers are not counted;
//! 3,000 private chats each send /start once, at the same moment.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Counting, mib, rss};
use scar_guide::config::Config;
use scar_guide::content::Content;
use scar_guide::service;
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CHATS: usize = 3_000;
const TOKEN: &str = "123456:bench-token";

/// The Bot API as far as /start needs it. Updates are made before the baseline is measured
/// and released by moving `released`.
struct Api {
    updates: Vec<String>,
    released: AtomicUsize,
    sent: AtomicUsize,
}

impl Api {
    fn answer(&self, method: &str, params: &Value) -> String {
        let result = match method {
            "getme" => json!({
                "id": 1, "is_bot": true, "first_name": "Bench", "username": "bench_bot",
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": true, "can_connect_to_business": false,
                "has_main_web_app": false,
            })
            .to_string(),
            "getupdates" => {
                let offset = params["offset"].as_u64().unwrap_or(0) as usize;
                let released = self.released.load(Ordering::Relaxed);
                if offset >= released {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let end = released.min(offset + 100);
                let start = offset.min(end);
                format!("[{}]", self.updates[start..end].join(","))
            }
            "sendmessage" => {
                let n = self.sent.fetch_add(1, Ordering::Relaxed);
                json!({
                    "message_id": n + 1, "date": 0, "text": "x",
                    "chat": {"id": params["chat_id"], "type": "private", "first_name": "A"},
                })
                .to_string()
            }
            _ => "true".to_owned(),
        };
        format!(r#"{{"ok":true,"result":{result}}}"#)
    }

    fn serve(self: Arc<Self>, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("a socket"));
        let mut stream = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let method = line
                .split_whitespace()
                .nth(1)
                .and_then(|path| path.rsplit('/').next())
                .unwrap_or_default()
                .to_lowercase();
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    return;
                }
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = self.answer(&method, &params);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            if stream.write_all(head.as_bytes()).is_err()
                || stream.write_all(answer.as_bytes()).is_err()
            {
                return;
            }
        }
    }
}

fn start_update(id: usize) -> String {
    let chat = 100_000_000 + id as i64 * 7_919;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    json!({
        "update_id": id,
        "message": {
            "message_id": 1, "date": now, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            "chat": {"id": chat, "type": "private", "first_name": "A"},
            "from": {"id": chat, "is_bot": false, "first_name": "A", "language_code": "en"},
        }
    })
    .to_string()
}

/// Waits until `sent` messages went out, sampling RSS; returns the highest seen.
fn wait_for(api: &mut Child, sent: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut peak = rss();
    while api.sent() < sent {
        assert!(
            Instant::now() < deadline,
            "the bot answered fewer than {sent}"
        );
        std::thread::sleep(Duration::from_millis(10));
        peak = peak.max(rss());
    }
    peak
}

const WARM_UP: usize = 10;

/// The child: serves the Bot API, prints its address, then answers the parent's lines on
/// stdin: a number releases that many updates, an empty line asks how many messages were sent.
fn serve_api() {
    let api = Arc::new(Api {
        updates: (0..WARM_UP + CHATS).map(start_update).collect(),
        released: AtomicUsize::new(0),
        sent: AtomicUsize::new(0),
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    println!("http://{}/", listener.local_addr().expect("an address"));
    std::thread::spawn({
        let api = api.clone();
        move || {
            for stream in listener.incoming().flatten() {
                let api = api.clone();
                std::thread::spawn(move || api.serve(stream));
            }
        }
    });
    for line in std::io::stdin().lines() {
        let Ok(line) = line else { return };
        match line.trim().parse() {
            Ok(n) => api.released.store(n, Ordering::Relaxed),
            Err(_) => println!("{}", api.sent.load(Ordering::Relaxed)),
        }
    }
}

/// The parent's end of the child's pipes.
struct Child {
    to: std::process::ChildStdin,
    from: BufReader<std::process::ChildStdout>,
}

impl Child {
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.from
            .read_line(&mut line)
            .expect("the fake Bot API answers");
        line.trim().to_owned()
    }
    fn release(&mut self, n: usize) {
        writeln!(self.to, "{n}").expect("the fake Bot API listens");
    }
    fn sent(&mut self) -> usize {
        writeln!(self.to).expect("the fake Bot API listens");
        self.line().parse().unwrap_or_default()
    }
}

fn main() {
    if std::env::var_os("BURST_FAKE_API").is_some() {
        return serve_api();
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .env("BURST_FAKE_API", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the fake Bot API starts");
    let mut api = Child {
        to: child.stdin.take().expect("a pipe"),
        from: BufReader::new(child.stdout.take().expect("a pipe")),
    };
    let url = api.line();

    let vars = [
        ("TELOXIDE_TOKEN", TOKEN),
        ("TELOXIDE_API_URL", url.as_str()),
        // The limits are not what is measured here: let the burst go as fast as it can.
        ("RATE_OVERALL", "10000"),
        ("RATE_PER_CHAT", "100"),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("a valid configuration");
    let content = Arc::new(Content::embedded().expect("valid content"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let result = runtime.block_on(service::run(config, content, std::future::pending()));
        if let Err(err) = result {
            eprintln!("service::run stopped: {err}");
            std::process::exit(1);
        }
    });

    // A few chats first, so that what every process allocates once is in the baseline.
    api.release(WARM_UP);
    wait_for(&mut api, 1);
    std::thread::sleep(Duration::from_secs(2));
    let per_start = api.sent() / WARM_UP;
    let before = rss();

    let started = Instant::now();
    api.release(WARM_UP + CHATS);
    let peak = wait_for(&mut api, per_start * (WARM_UP + CHATS));
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let answered = rss();
    std::thread::sleep(Duration::from_secs(10));
    let quiet = rss();
    // reqwest keeps idle connections for 90 s, Throttle remembers a minute of sends.
    std::thread::sleep(Duration::from_secs(90));
    let later = rss();

    let per_chat = |rss: usize| rss.saturating_sub(before) / CHATS;
    println!(
        "{CHATS} chats sent /start at once; all answered in {took:.1?} ({per_start} messages each)"
    );
    println!("RSS before: {}", mib(before));
    println!(
        "RSS peak: {} ({} bytes per chat)",
        mib(peak),
        per_chat(peak)
    );
    println!(
        "RSS once answered: {} ({} bytes per recently active chat)",
        mib(answered),
        per_chat(answered)
    );
    println!(
        "RSS after 10 s quiet: {} ({} bytes per chat over the baseline)",
        mib(quiet),
        per_chat(quiet)
    );
    println!(
        "RSS after 100 s quiet: {} ({} bytes per chat over the baseline)",
        mib(later),
        per_chat(later)
    );
    let _ = child.kill();
    std::process::exit(0);
}
