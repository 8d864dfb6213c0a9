//! A fake Telegram Bot API for tests: plain HTTP/1.1 on 127.0.0.1, one thread per connection.
//!
//! Two layers:
//! - [`FakeApi`] is the plumbing every fake needs: it reads each request, takes the method name
//!   from the path (`/bot<token>/<method>`), parses the JSON parameters, asks a *responder* what
//!   to answer, records the call and writes the answer back, after a delay or not at all (a
//!   dropped connection) when the [`Reply`] says so. `inline.rs` runs on it alone, answering
//!   only `answerInlineQuery`.
//! - [`FakeTelegram`] is a responder that behaves like Telegram towards the bot: it hands out
//!   the updates a test queues, keeps the messages the bot sent (so an identical edit is
//!   "message is not modified" and a second answer to a callback query is "query is too old"),
//!   records what was *delivered* (the effect took place) and whether the bot got the answer,
//!   and, with [`Faults`], fails the bot's reply calls the way the real API does, at a chosen
//!   rate, from a printed seed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One Bot API call the client made, as the fake server saw and answered it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The request's path, as the client sent it (`/bot<token>/<method>` under the base URL).
    pub path: String,
    /// The method name, lowercased (teloxide sends e.g. "GetMe"; Telegram ignores case).
    pub method: String,
    /// The JSON parameters (`Null` for an empty body).
    pub body: Value,
    /// The `result` the fake server answered with (`Null` when it answered with an error).
    pub result: Value,
    /// The HTTP status of the answer; 0 when the connection was dropped without one.
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

/// What the fake server answers to one call: an HTTP status and a body, possibly late, or no
/// answer at all.
pub struct Reply {
    status: u16,
    body: Value,
    /// A body that is not JSON (an HTML error page), sent instead of `body`.
    raw: Option<String>,
    delay: Duration,
    hang_up: bool,
}

impl Reply {
    /// A successful call: `{"ok": true, "result": …}`.
    pub fn ok(result: Value) -> Self {
        Self::json(200, json!({ "ok": true, "result": result }))
    }

    /// A refused call, with `code` as both the HTTP status and the Bot API's `error_code`.
    pub fn error(code: u16, description: &str) -> Self {
        Self::json(
            code,
            json!({ "ok": false, "error_code": code, "description": description }),
        )
    }

    /// 429 Too Many Requests with `parameters.retry_after`, as Telegram answers a flood.
    pub fn retry_after(seconds: u64) -> Self {
        Self::json(
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {seconds}"),
                "parameters": { "retry_after": seconds },
            }),
        )
    }

    /// 502 with the HTML page of the proxy in front of the Bot API: not JSON at all.
    pub fn bad_gateway() -> Self {
        Self {
            raw: Some(
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                 <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
                    .to_owned(),
            ),
            ..Self::json(502, Value::Null)
        }
    }

    /// No answer: the server closes the connection once it has read the request.
    pub fn hang_up() -> Self {
        Self {
            hang_up: true,
            ..Self::json(0, Value::Null)
        }
    }

    /// The same answer, written only after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }

    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            raw: None,
            delay: Duration::ZERO,
            hang_up: false,
        }
    }
}

/// Decides the reply to a call from its (lowercased) method and its JSON parameters.
type Responder = dyn Fn(&str, &Value) -> Reply + Send + Sync;

/// The calls so far, and a condition variable that wakes whoever waits for a new one.
#[derive(Default)]
struct Recorded {
    calls: Mutex<Vec<Call>>,
    changed: Condvar,
}

/// A running fake Bot API. Dropping it stops accepting connections.
pub struct FakeApi {
    port: u16,
    recorded: Arc<Recorded>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Starts a server on a free port that answers every call with `respond`.
    pub fn start(respond: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake Bot API");
        let port = listener.local_addr().expect("local address").port();
        let respond: Arc<Responder> = Arc::new(respond);
        let recorded = Arc::new(Recorded::default());
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (recorded, stop) = (recorded.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (respond, recorded, stop) =
                        (respond.clone(), recorded.clone(), stop.clone());
                    // One thread per connection, so a held call (a long poll) never delays another.
                    std::thread::spawn(move || serve(stream, &*respond, &recorded, &stop));
                }
            })
        };
        Self {
            port,
            recorded,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The Bot API URL of this server (the value for TELOXIDE_API_URL).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Every call so far, in the order they were answered (recorded once the responder has
    /// decided, before any delay).
    pub fn calls(&self) -> Vec<Call> {
        self.recorded.calls.lock().expect("calls lock").clone()
    }

    /// Waits until the calls satisfy `done` and returns its answer, or fails naming `what`
    /// once `deadline` has passed.
    pub fn wait_for<T>(
        &self,
        what: &str,
        deadline: Duration,
        done: impl Fn(&[Call]) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        let mut calls = self.recorded.calls.lock().expect("calls lock");
        loop {
            if let Some(found) = done(&calls) {
                return found;
            }
            let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
            assert!(
                start.elapsed() < deadline,
                "no {what} within {deadline:?}; calls so far: {methods:?}"
            );
            calls = self
                .recorded
                .changed
                .wait_timeout(calls, Duration::from_millis(20))
                .expect("calls lock")
                .0;
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Answers the requests of one keep-alive connection until the client closes it, the reply
/// says to hang up, or the server stops.
fn serve(stream: TcpStream, respond: &Responder, recorded: &Recorded, stop: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    while let Some((path, boundary, body)) = read_request(&mut reader) {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let at = Instant::now();
        let method = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let params: Value = if body.is_empty() {
            Value::Null
        } else if let Some(boundary) = boundary {
            multipart_fields(&body, &boundary)
        } else {
            serde_json::from_slice(&body).unwrap_or_else(
                |e| json!({ "unparsed": String::from_utf8_lossy(&body), "error": e.to_string() }),
            )
        };
        let reply = respond(&method, &params);
        // Recorded before the answer is written, so the client never sees an unrecorded reply.
        recorded.calls.lock().expect("calls lock").push(Call {
            path,
            method,
            body: params,
            result: reply.body.get("result").cloned().unwrap_or(Value::Null),
            status: reply.status,
            at,
        });
        recorded.changed.notify_all();
        if !reply.delay.is_zero() {
            std::thread::sleep(reply.delay);
        }
        if reply.hang_up || write_reply(&mut writer, &reply).is_err() {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn write_reply(writer: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let (content_type, text) = match &reply.raw {
        Some(raw) => ("text/html", raw.clone()),
        None => ("application/json", reply.body.to_string()),
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        reply.status,
        text.len()
    );
    writer.write_all(head.as_bytes())?;
    writer.write_all(text.as_bytes())
}

/// The fields of a multipart/form-data body (teloxide sends setWebhook that way) as a JSON
/// object: a field that holds a JSON array or object is parsed, any other is a string.
fn multipart_fields(body: &[u8], boundary: &str) -> Value {
    let body = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split(';')
            .find_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.split("\r\n").next().unwrap_or(n).trim_matches('"'))
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let parsed = match value.trim_start().chars().next() {
            Some('[' | '{') => serde_json::from_str(value).ok(),
            _ => None,
        };
        fields.insert(
            name.to_owned(),
            parsed.unwrap_or_else(|| Value::String(value.to_owned())),
        );
    }
    Value::Object(fields)
}

/// Reads one HTTP/1.1 request: the path, the multipart boundary if the body is a form, and the
/// body (Content-Length or chunked). `None` when the connection closes.
fn read_request(reader: &mut impl BufRead) -> Option<(String, Option<String>, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut content_length = 0;
    let mut chunked = false;
    let mut boundary = None;
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
        } else if name == "content-type" && value.starts_with("multipart/form-data") {
            boundary = value
                .split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_owned());
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
    Some((path, boundary, body))
}

// A mod.rs, so that the benchmarks that load it with #[path] find its submodules beside it.
mod faults;
mod limits;
mod telegram;

pub use faults::*;
pub use limits::Limits;
pub use telegram::*;
