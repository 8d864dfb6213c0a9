//! The bot's own HTTP server from a test: requests and answers, the webhook as Telegram
//! posts to it, and `/metrics` read as samples.

use super::*;

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
pub fn tap_update(
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
