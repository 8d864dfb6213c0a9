//! A fake Telegram Bot API for tests: plain HTTP/1.1 on 127.0.0.1, one thread per connection.
//!
//! Two layers:
//! - [`FakeApi`] is the plumbing every fake needs: it reads each request, takes the method name
//!   from the path (`/bot<token>/<method>`), parses the JSON parameters, asks a *responder* what
//!   to answer, records the call and writes the answer back, after a delay or not at all (a
//!   dropped connection) when the [`Reply`] says so. `binary.rs` scripts a whole bot session on
//!   it, `inline.rs` only answers `answerInlineQuery`.
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

// --- Faults --------------------------------------------------------------------------------------

/// One way a Bot API call goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 429 with `parameters.retry_after` = 1; the call is not processed.
    RateLimited,
    /// 500 with a JSON error; not processed.
    ServerError,
    /// 502 with the proxy's HTML page (not JSON); not processed.
    BadGateway,
    /// Processed, and answered after a delay well within the client's timeout.
    Slow(Duration),
    /// Processed, and answered only a second after the client's timeout: it never sees it.
    TooSlow,
    /// The connection is closed before the call is processed.
    DroppedBefore,
    /// The call is processed, then the connection is closed without an answer.
    DroppedAfter,
    /// Processed, and answered 200 `{"ok": true}` with a `result` teloxide cannot read (as from
    /// a Bot API newer than it): the bot got an answer, only not one it understands. Never
    /// drawn at random; for [`FakeTelegram::fail_next`].
    Unreadable,
}

impl Fault {
    /// The kind, without the delay, for counting.
    pub fn kind(self) -> &'static str {
        match self {
            Self::RateLimited => "429",
            Self::ServerError => "500",
            Self::BadGateway => "502",
            Self::Slow(_) => "slow",
            Self::TooSlow => "too slow",
            Self::DroppedBefore => "dropped before",
            Self::DroppedAfter => "dropped after",
            Self::Unreadable => "unreadable",
        }
    }
}

/// Random faults on the bot's reply calls (sends, edits, callback and inline answers): setup
/// calls (getMe, the profile, webhooks) and getUpdates never fail, so the runs stay
/// comparable. Each chat draws from its own stream seeded from `seed` and the chat id, so the
/// n-th reply call in a chat meets the same fault whatever the other chats do.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The share of reply calls that fail, 0.0 to 1.0.
    pub rate: f64,
    pub seed: u64,
}

impl Faults {
    /// `rate` of the reply calls fail. The seed is `FAKE_API_SEED` when set (to replay a
    /// failure), else taken from the clock; it is printed either way.
    pub fn at_rate(rate: f64) -> Self {
        let seed = std::env::var("FAKE_API_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970");
                splitmix(now.as_nanos() as u64 ^ u64::from(std::process::id()))
            });
        crate::util::note(&format!(
            "fake Bot API fails {:.0}% of reply calls, seed {seed} (FAKE_API_SEED={seed} replays it)",
            rate * 100.0
        ));
        Self { rate, seed }
    }

    /// The fault stream of one chat.
    fn stream(&self, chat: i64) -> XorShift {
        XorShift::new(self.seed ^ splitmix(chat as u64))
    }
}

/// xorshift64*: small, fast and good enough to pick faults.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point.
        Self(splitmix(seed).max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next call's fault, if any, with `rate`.
    fn fault(&mut self, rate: f64) -> Option<Fault> {
        let fails = self.unit() < rate;
        // Always draw the kind, so the stream does not shift with the rate.
        let kind = self.next() % 100;
        let slow = Duration::from_millis(200 + self.next() % 800);
        if !fails {
            return None;
        }
        Some(match kind {
            0..20 => Fault::RateLimited,
            20..30 => Fault::ServerError,
            30..40 => Fault::BadGateway,
            40..55 => Fault::Slow(slow),
            55..70 => Fault::TooSlow,
            70..85 => Fault::DroppedBefore,
            _ => Fault::DroppedAfter,
        })
    }
}

/// SplitMix64's finaliser: spreads nearby inputs (chat ids, clock ticks) over all bits.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// --- An emulated Telegram ------------------------------------------------------------------------

/// The token the tests give the bot; its secret part must never reach a log.
pub const TOKEN: &str = "123456:TESTTOKENsecretvalue";
pub const TOKEN_SECRET: &str = "TESTTOKENsecretvalue";

/// The client timeout the contract gives the bot by default (`API_TIMEOUT`).
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Telegram's answers that tests look for.
pub const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
pub const QUERY_TOO_OLD: &str =
    "Bad Request: query is too old and response timeout expired or query ID is invalid";
pub const BLOCKED: &str = "Forbidden: bot was blocked by the user";

/// The bot's reply calls: what a user sees. Only these meet [`Faults`].
const REPLY_METHODS: [&str; 6] = [
    "sendmessage",
    "editmessagetext",
    "editmessagereplymarkup",
    "answercallbackquery",
    "answerinlinequery",
    "deletemessage",
];

/// A person talking to the bot in a private chat (whose id is the user's id).
#[derive(Debug, Clone)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    /// The language code their Telegram reports.
    pub language: String,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str, language: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            language: language.to_owned(),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "is_bot": false,
            "first_name": self.first_name,
            "language_code": self.language,
        })
    }

    pub fn private_chat(&self) -> Value {
        json!({ "id": self.id, "type": "private", "first_name": self.first_name })
    }
}

/// Something a reply call did, as the user would see it: the call reached Telegram and took
/// effect. A call refused or failed (429, 5xx, dropped before processing, "not modified",
/// "too old") is no delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The lowercased method: sendmessage, editmessagetext, editmessagereplymarkup,
    /// answercallbackquery, answerinlinequery or deletemessage.
    pub method: String,
    /// The chat it happened in (for a callback answer, the chat of the tapped message).
    pub chat: i64,
    /// The message sent, edited or deleted.
    pub message_id: Option<i64>,
    /// The message text (sends and text edits) or the pop-up text (callback answers).
    pub text: Option<String>,
    /// The keyboard the message has now; `Null` when it has none.
    pub markup: Value,
    /// The callback query answered.
    pub query_id: Option<String>,
    /// Whether the bot got Telegram's answer. False when the connection was dropped after
    /// processing or the answer came after the client's timeout: only then may the bot rightly
    /// send the same thing again.
    pub answered: bool,
    pub at: Instant,
}

/// A message the bot sent, as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub text: String,
    /// `Null` when it has no keyboard.
    pub markup: Value,
}

/// How the fake answers getMe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMe {
    Bot,
    /// 500 Internal Server Error, until the test changes it.
    Failing,
}

/// How the fake answers a setup call (getMe, setWebhook, deleteWebhook…) instead of as
/// Telegram would, until the test changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// A JSON error with this code (HTTP status and `error_code`) and description.
    Error(u16, &'static str),
    /// The proxy's 502 page, not JSON.
    BadGateway,
    /// The usual answer, only after this long.
    Late(Duration),
}

/// Everything the emulated Telegram knows.
struct World {
    /// Updates for getUpdates, each with its `update_id`; confirmed ones (below the requested
    /// `offset`) are dropped, as Telegram does.
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    next_query: u64,
    /// The private chats of the users that wrote, by chat id.
    chats: HashMap<i64, Value>,
    messages: HashMap<(i64, i64), SentMessage>,
    /// Callback queries by id: their chat, and whether they were answered.
    queries: HashMap<String, (i64, bool)>,
    deliveries: Vec<Delivery>,
    /// The parameters of the last setWebhook, until deleteWebhook.
    webhook: Option<Value>,
    get_me: GetMe,
    /// Setup calls answered otherwise, by lowercased method.
    setup: HashMap<String, Setup>,
    /// Chats whose user blocked the bot: sends and edits there answer 403.
    blocked: HashSet<i64>,
    /// Methods answered late (after processing), for every call.
    slow: HashMap<String, Duration>,
    /// Faults for the next calls of a method, before any random ones.
    scripted: VecDeque<(String, Fault)>,
    /// The random fault stream of each chat.
    streams: HashMap<i64, XorShift>,
    /// Faults injected so far, by kind.
    injected: Vec<(Instant, String, i64, Fault)>,
    /// Methods the fake does not know.
    unknown: Vec<String>,
}

struct Shared {
    world: Mutex<World>,
    /// Wakes a held getUpdates when an update is queued.
    queued: Condvar,
    faults: Option<Faults>,
    client_timeout: Duration,
}

/// An emulated Telegram Bot API on [`FakeApi`] (see the module doc). The test plays the users
/// by queueing updates (or posting them to a webhook) and observes the deliveries.
pub struct FakeTelegram {
    api: FakeApi,
    shared: Arc<Shared>,
}

impl FakeTelegram {
    /// A Telegram that never fails.
    pub fn start() -> Self {
        Self::with_faults(None, DEFAULT_CLIENT_TIMEOUT)
    }

    /// A Telegram that fails reply calls with `faults`, for a bot whose requests time out
    /// after `client_timeout` (its `API_TIMEOUT`): an answer later than that is never seen.
    pub fn with_faults(faults: Option<Faults>, client_timeout: Duration) -> Self {
        let shared = Arc::new(Shared {
            world: Mutex::new(World {
                updates: VecDeque::new(),
                next_update_id: 1,
                next_message_id: 100,
                next_query: 1,
                chats: HashMap::new(),
                messages: HashMap::new(),
                queries: HashMap::new(),
                deliveries: Vec::new(),
                webhook: None,
                get_me: GetMe::Bot,
                setup: HashMap::new(),
                blocked: HashSet::new(),
                slow: HashMap::new(),
                scripted: VecDeque::new(),
                streams: HashMap::new(),
                injected: Vec::new(),
                unknown: Vec::new(),
            }),
            queued: Condvar::new(),
            faults,
            client_timeout,
        });
        let api = {
            let shared = shared.clone();
            FakeApi::start(move |method, params| shared.answer(method, params))
        };
        Self { api, shared }
    }

    /// The value for TELOXIDE_API_URL.
    pub fn url(&self) -> String {
        self.api.url()
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world.lock().expect("world lock")
    }

    // --- Knobs ---

    pub fn set_get_me(&self, get_me: GetMe) {
        self.world().get_me = get_me;
    }

    /// From now on the setup call `method` (lowercased, e.g. "setwebhook") is answered with
    /// `setup`; `None` answers it as Telegram would again.
    pub fn answer_setup(&self, method: &str, setup: Option<Setup>) {
        let mut world = self.world();
        match setup {
            Some(setup) => world.setup.insert(method.to_owned(), setup),
            None => world.setup.remove(method),
        };
    }

    /// The user of `chat` blocks the bot (`true`) or unblocks it.
    pub fn set_blocked(&self, chat: i64, blocked: bool) {
        let mut world = self.world();
        if blocked {
            world.blocked.insert(chat);
        } else {
            world.blocked.remove(&chat);
        }
    }

    /// Every call of `method` is processed at once and answered after `delay`.
    pub fn answer_late(&self, method: &str, delay: Duration) {
        self.world().slow.insert(method.to_owned(), delay);
    }

    /// The next call of `method` (a reply method) meets `fault`.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.world().scripted.push_back((method.to_owned(), fault));
    }

    // --- The users ---

    /// Queues an update for getUpdates (its `update_id` is assigned here) and returns its id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let mut world = self.world();
        let id = world.next_update_id;
        world.next_update_id += 1;
        update["update_id"] = json!(id);
        world.updates.push_back(update);
        self.shared.queued.notify_all();
        id
    }

    /// The message of `user` sending `text` in their private chat.
    fn user_message(&self, user: &TgUser, text: &str) -> Value {
        let mut world = self.world();
        world.chats.insert(user.id, user.private_chat());
        world.next_message_id += 1;
        let mut message = json!({
            "message_id": world.next_message_id,
            "date": unix_now(),
            "chat": user.private_chat(),
            "from": user.json(),
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
        message
    }

    /// The update of `user` sending `text` in their private chat, with its `update_id`, not
    /// queued (to post it to a webhook).
    pub fn message_update(&self, user: &TgUser, text: &str) -> Value {
        let message = self.user_message(user, text);
        let mut world = self.world();
        let id = world.next_update_id;
        world.next_update_id += 1;
        json!({ "update_id": id, "message": message })
    }

    /// `user` sends `text` in their private chat; returns the update id.
    pub fn user_sends(&self, user: &TgUser, text: &str) -> i64 {
        let message = self.user_message(user, text);
        self.push_update(json!({ "message": message }))
    }

    /// `user` taps the button with callback `data` under the bot's message `message_id` in
    /// their private chat; returns the callback query id.
    pub fn user_taps(&self, user: &TgUser, message_id: i64, data: &str) -> String {
        let (id, message) = {
            let mut world = self.world();
            let id = format!("{}{:04}", user.id, world.next_query);
            world.next_query += 1;
            world.queries.insert(id.clone(), (user.id, false));
            let message = world
                .messages
                .get(&(user.id, message_id))
                .map(|sent| world.message_json(user.id, message_id, sent));
            (id, message)
        };
        let message =
            message.unwrap_or_else(|| panic!("no message {message_id} in chat {}", user.id));
        self.push_update(json!({
            "callback_query": {
                "id": id,
                "from": user.json(),
                "message": message,
                "chat_instance": format!("-{}", user.id),
                "data": data,
            }
        }));
        id
    }

    // --- What happened ---

    pub fn calls(&self) -> Vec<Call> {
        self.api.calls()
    }

    /// Waits until the calls satisfy `done`, or fails naming `what`.
    pub fn wait_for_call<T>(
        &self,
        what: &str,
        deadline: Duration,
        done: impl Fn(&[Call]) -> Option<T>,
    ) -> T {
        self.api.wait_for(what, deadline, done)
    }

    /// The deliveries in one chat.
    pub fn deliveries_in(&self, chat: i64) -> Vec<Delivery> {
        self.world()
            .deliveries
            .iter()
            .filter(|d| d.chat == chat)
            .cloned()
            .collect()
    }

    /// A message the bot sent, as it stands now.
    pub fn message(&self, chat: i64, message_id: i64) -> Option<SentMessage> {
        self.world().messages.get(&(chat, message_id)).cloned()
    }

    /// The parameters of the webhook the bot set, if any.
    pub fn webhook(&self) -> Option<Value> {
        self.world().webhook.clone()
    }

    /// The faults injected so far: when, the method, the chat and the fault.
    pub fn injected(&self) -> Vec<(Instant, String, i64, Fault)> {
        self.world().injected.clone()
    }

    /// Methods the bot called that the fake does not know.
    pub fn unknown_methods(&self) -> Vec<String> {
        self.world().unknown.clone()
    }

    /// A one-line summary of the faults injected, by kind.
    pub fn fault_summary(&self) -> String {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (_, _, _, fault) in self.injected() {
            match counts.iter_mut().find(|(k, _)| *k == fault.kind()) {
                Some((_, n)) => *n += 1,
                None => counts.push((fault.kind(), 1)),
            }
        }
        counts.sort();
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        format!("{} faults ({})", self.injected().len(), parts.join(", "))
    }
}

/// The bot's own user, as getMe returns it.
pub fn bot_user() -> Value {
    json!({
        "id": 123_456,
        "is_bot": true,
        "first_name": "Scar Guide",
        "username": "scar_guide_test_bot",
    })
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A keyboard as the fake keeps it: `Null` for none or an empty one.
fn normalized_markup(markup: &Value) -> Value {
    let empty = markup.is_null()
        || markup["inline_keyboard"]
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r.as_array().is_none_or(Vec::is_empty)));
    if empty { Value::Null } else { markup.clone() }
}

impl World {
    fn chat_json(&self, chat: i64) -> Value {
        self.chats
            .get(&chat)
            .cloned()
            .unwrap_or_else(|| json!({ "id": chat, "type": "private", "first_name": "User" }))
    }

    /// A bot message as the Bot API returns it.
    fn message_json(&self, chat: i64, message_id: i64, sent: &SentMessage) -> Value {
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": self.chat_json(chat),
            "from": bot_user(),
            "text": sent.text,
        });
        if !sent.markup.is_null() {
            message["reply_markup"] = sent.markup.clone();
        }
        message
    }

    /// The chat a reply call is about.
    fn chat_of(&self, method: &str, params: &Value) -> i64 {
        match method {
            "answercallbackquery" => params["callback_query_id"]
                .as_str()
                .and_then(|id| self.queries.get(id))
                .map_or(0, |(chat, _)| *chat),
            _ => params["chat_id"].as_i64().unwrap_or(0),
        }
    }

    /// Carries out a reply call as Telegram would, recording a delivery when it takes effect.
    fn process(&mut self, method: &str, params: &Value, answered: bool) -> Reply {
        let chat = self.chat_of(method, params);
        let mut delivery = Delivery {
            method: method.to_owned(),
            chat,
            message_id: None,
            text: None,
            markup: Value::Null,
            query_id: None,
            answered,
            at: Instant::now(),
        };
        let reply = match method {
            "sendmessage" => {
                self.next_message_id += 1;
                let id = self.next_message_id;
                let sent = SentMessage {
                    text: params["text"].as_str().unwrap_or_default().to_owned(),
                    markup: normalized_markup(&params["reply_markup"]),
                };
                let reply = Reply::ok(self.message_json(chat, id, &sent));
                delivery.message_id = Some(id);
                delivery.text = Some(sent.text.clone());
                delivery.markup = sent.markup.clone();
                self.messages.insert((chat, id), sent);
                reply
            }
            "editmessagetext" | "editmessagereplymarkup" => {
                let id = params["message_id"].as_i64().unwrap_or(0);
                let Some(current) = self.messages.get(&(chat, id)).cloned() else {
                    return Reply::error(400, "Bad Request: message to edit not found");
                };
                let edited = SentMessage {
                    text: match method {
                        "editmessagetext" => params["text"].as_str().unwrap_or_default().to_owned(),
                        _ => current.text.clone(),
                    },
                    // Telegram drops the keyboard of a text edit that carries none.
                    markup: normalized_markup(&params["reply_markup"]),
                };
                if edited == current {
                    return Reply::error(400, NOT_MODIFIED);
                }
                let mut message = self.message_json(chat, id, &edited);
                message["edit_date"] = json!(unix_now());
                delivery.message_id = Some(id);
                delivery.text = Some(edited.text.clone());
                delivery.markup = edited.markup.clone();
                self.messages.insert((chat, id), edited);
                Reply::ok(message)
            }
            "answercallbackquery" => {
                let id = params["callback_query_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match self.queries.get_mut(&id) {
                    Some((_, answered @ false)) => *answered = true,
                    _ => return Reply::error(400, QUERY_TOO_OLD),
                }
                delivery.text = params["text"].as_str().map(str::to_owned);
                delivery.query_id = Some(id);
                Reply::ok(json!(true))
            }
            "answerinlinequery" => Reply::ok(json!(true)),
            "deletemessage" => {
                let id = params["message_id"].as_i64().unwrap_or(0);
                if self.messages.remove(&(chat, id)).is_none() {
                    return Reply::error(400, "Bad Request: message to delete not found");
                }
                delivery.message_id = Some(id);
                Reply::ok(json!(true))
            }
            _ => unreachable!("not a reply method: {method}"),
        };
        self.deliveries.push(delivery);
        reply
    }
}

impl Shared {
    /// The reply to one call: what Telegram would answer, or an injected fault.
    fn answer(&self, method: &str, params: &Value) -> Reply {
        let setup = self
            .world
            .lock()
            .expect("world lock")
            .setup
            .get(method)
            .copied();
        match setup {
            Some(Setup::Error(code, description)) => Reply::error(code, description),
            Some(Setup::BadGateway) => Reply::bad_gateway(),
            Some(Setup::Late(delay)) => self.as_telegram(method, params).after(delay),
            None => self.as_telegram(method, params),
        }
    }

    /// What Telegram would answer, or a fault injected into a reply call.
    fn as_telegram(&self, method: &str, params: &Value) -> Reply {
        let result = match method {
            "getupdates" => return self.updates(params),
            "getme" if self.world.lock().expect("world lock").get_me == GetMe::Failing => {
                return Reply::error(500, "Internal Server Error");
            }
            "getme" => {
                let mut me = bot_user();
                let extra = json!({
                    "can_join_groups": true,
                    "can_read_all_group_messages": false,
                    "supports_inline_queries": true,
                    "can_connect_to_business": false,
                    "has_main_web_app": false,
                });
                me.as_object_mut()
                    .expect("an object")
                    .extend(extra.as_object().expect("an object").clone());
                me
            }
            "setwebhook" => {
                self.world.lock().expect("world lock").webhook = Some(params.clone());
                json!(true)
            }
            "deletewebhook" => {
                self.world.lock().expect("world lock").webhook = None;
                json!(true)
            }
            "getwebhookinfo" => {
                let world = self.world.lock().expect("world lock");
                let url = world
                    .webhook
                    .as_ref()
                    .map_or(json!(""), |w| w["url"].clone());
                json!({ "url": url, "has_custom_certificate": false, "pending_update_count": 0 })
            }
            "setmycommands" | "deletemycommands" | "setmydescription" | "setmyshortdescription" => {
                json!(true)
            }
            m if REPLY_METHODS.contains(&m) => return self.reply_call(method, params),
            _ => {
                self.world
                    .lock()
                    .expect("world lock")
                    .unknown
                    .push(method.to_owned());
                // Not "Not Found": teloxide reads that description as an invalid token.
                return Reply::error(
                    400,
                    "Bad Request: method not implemented by the fake Bot API",
                );
            }
        };
        Reply::ok(result)
    }

    /// A call the user would see: maybe refused for a blocked chat, maybe failed on purpose.
    fn reply_call(&self, method: &str, params: &Value) -> Reply {
        let mut world = self.world.lock().expect("world lock");
        let chat = world.chat_of(method, params);
        if world.blocked.contains(&chat) && method != "answercallbackquery" {
            return Reply::error(403, BLOCKED);
        }
        let scripted = world.scripted.iter().position(|(m, _)| m == method);
        let fault = match scripted {
            Some(i) => world.scripted.remove(i).map(|(_, f)| f),
            None => self.faults.and_then(|faults| {
                world
                    .streams
                    .entry(chat)
                    .or_insert_with(|| faults.stream(chat))
                    .fault(faults.rate)
            }),
        };
        if let Some(fault) = fault {
            world
                .injected
                .push((Instant::now(), method.to_owned(), chat, fault));
        }
        let too_slow = self.client_timeout + Duration::from_secs(1);
        match fault {
            Some(Fault::RateLimited) => Reply::retry_after(1),
            Some(Fault::ServerError) => Reply::error(500, "Internal Server Error"),
            Some(Fault::BadGateway) => Reply::bad_gateway(),
            Some(Fault::DroppedBefore) => Reply::hang_up(),
            Some(Fault::DroppedAfter) => {
                world.process(method, params, false);
                Reply::hang_up()
            }
            Some(Fault::TooSlow) => world.process(method, params, false).after(too_slow),
            Some(Fault::Unreadable) => {
                world.process(method, params, true);
                Reply::ok(json!({ "message_id": "a shape teloxide cannot read" }))
            }
            Some(Fault::Slow(delay)) => world.process(method, params, true).after(delay),
            None => {
                let delay = world.slow.get(method).copied().unwrap_or_default();
                let answered = delay < self.client_timeout;
                world.process(method, params, answered).after(delay)
            }
        }
    }

    /// getUpdates: the queued updates from `offset` on, held briefly while there are none.
    /// Refused while a webhook is set, as Telegram does.
    fn updates(&self, params: &Value) -> Reply {
        let world = self.world.lock().expect("world lock");
        if world.webhook.is_some() {
            return Reply::error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        Reply::ok(long_poll(world, &self.queued, params, |w| &mut w.updates))
    }
}

/// getUpdates for a fake holding its queue in `state`: forgets the updates below `offset`,
/// holds an empty answer briefly (long polling, shortened, so the client does not spin) and
/// answers at most `limit` updates.
pub fn long_poll<S>(
    mut state: MutexGuard<'_, S>,
    queued: &Condvar,
    params: &Value,
    updates: impl Fn(&mut S) -> &mut VecDeque<Value>,
) -> Value {
    let offset = params["offset"].as_i64().unwrap_or(0);
    updates(&mut state).retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
    let hold = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0))
        .min(Duration::from_millis(300));
    let until = Instant::now() + hold;
    while updates(&mut state).is_empty() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        state = queued.wait_timeout(state, left).expect("fake API lock").0;
    }
    let limit = params["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    Value::Array(updates(&mut state).iter().take(limit).cloned().collect())
}

#[test]
fn a_fault_stream_replays_from_its_seed_and_keeps_to_its_rate() {
    let faults = Faults {
        rate: 0.2,
        seed: 42,
    };
    let draw = |chat| {
        let mut stream = faults.stream(chat);
        (0..2000)
            .map(|_| stream.fault(faults.rate))
            .collect::<Vec<_>>()
    };
    let first = draw(7);
    assert_eq!(
        first,
        draw(7),
        "the same seed and chat give the same faults"
    );
    assert_ne!(first, draw(8), "another chat has its own stream");
    let failed = first.iter().flatten().count();
    assert!(
        (300..500).contains(&failed),
        "{failed} of 2000 calls failed at 20%"
    );
    for kind in [
        "429",
        "500",
        "502",
        "slow",
        "too slow",
        "dropped before",
        "dropped after",
    ] {
        assert!(
            first.iter().flatten().any(|f| f.kind() == kind),
            "no {kind} fault in 2000 calls"
        );
    }
}
