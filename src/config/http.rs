//! The HTTP side of the configuration: how updates arrive ([`Receive`]), where the bot's HTTP
//! server listens, and the limits that keep slow or idle clients from holding it
//! ([`HttpLimits`]).

use std::net::SocketAddr;
use std::time::Duration;

use super::{ConfigError, Problems, Secret, duration};

/// Default for `LISTEN_ADDR`: loopback, for a reverse proxy on the same machine. The container
/// image sets 0.0.0.0:8080.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

/// The ports Telegram delivers webhooks to.
pub const WEBHOOK_PORTS: [u16; 4] = [443, 80, 88, 8443];

/// The shortest `WEBHOOK_SECRET` accepted: as long as the random one teloxide generates.
pub const MIN_SECRET_LEN: usize = 32;

/// Default for `HTTP_HEADER_TIMEOUT`. A real client (Telegram, a proxy, a probe) sends its
/// headers in one packet; a connection that takes seconds is holding a slot on purpose.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Default for `HTTP_BODY_TIMEOUT`: an update is a few kilobytes, and even the largest body
/// read (2 MiB) needs only 200 KB/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Default for `HTTP_MAX_CONNECTIONS`: far above what Telegram opens (40 at most, its
/// `max_connections`) and the probes, far below a file limit of a few thousand.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// The most `HTTP_MAX_CONNECTIONS` accepted.
const MAX_MAX_CONNECTIONS: usize = 65_536;

/// How updates arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receive {
    /// getUpdates; `/healthz` and `/metrics` on `metrics_addr` if set.
    Polling { metrics_addr: Option<SocketAddr> },
    /// Telegram posts to `url`, which a proxy forwards to `listen`. `/healthz` and `/metrics`
    /// are served on `metrics_addr` if set (and then not on `listen`), else on `listen` too.
    /// Without a configured secret a random one is made at start.
    Webhook {
        url: url::Url,
        listen: SocketAddr,
        secret: Option<Secret>,
        metrics_addr: Option<SocketAddr>,
    },
}

/// What the HTTP server allows one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// How long a connection may take to send a request's headers, counted from when the server
    /// starts waiting for them: from the connection's opening, or from the previous answer. It
    /// is therefore also how long an idle keep-alive connection stays open (hyper has one timer
    /// for both).
    pub header_timeout: Duration,
    /// How long the webhook waits for a request's body once its headers are in.
    pub body_timeout: Duration,
    /// The most connections served at once; more wait in the kernel's queue until one closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// `HTTP_HEADER_TIMEOUT`, `HTTP_BODY_TIMEOUT` and `HTTP_MAX_CONNECTIONS`, defaults for the
/// unset ones. They apply in both modes, to whichever server runs.
pub(super) fn http_limits(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> HttpLimits {
    let defaults = HttpLimits::default();
    let bounds = (Duration::from_secs(1), Duration::from_secs(300), "5m");
    let header_timeout = problems.check(
        duration("HTTP_HEADER_TIMEOUT", get("HTTP_HEADER_TIMEOUT"), bounds),
        None,
    );
    let body_timeout = problems.check(
        duration("HTTP_BODY_TIMEOUT", get("HTTP_BODY_TIMEOUT"), bounds),
        None,
    );
    let max_connections = problems.check(
        match get("HTTP_MAX_CONNECTIONS") {
            None => Ok(None),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_MAX_CONNECTIONS).contains(n))
                .map(Some)
                .ok_or(ConfigError::BadMaxConnections(raw)),
        },
        None,
    );
    HttpLimits {
        header_timeout: header_timeout.unwrap_or(defaults.header_timeout),
        body_timeout: body_timeout.unwrap_or(defaults.body_timeout),
        max_connections: max_connections.unwrap_or(defaults.max_connections),
    }
}

fn socket_addr(raw: &str, err: fn(String) -> ConfigError) -> Result<SocketAddr, ConfigError> {
    raw.parse().map_err(|_| err(raw.to_owned()))
}

/// Long polling, or the webhook when `WEBHOOK_URL` is set; variables of the other mode are
/// refused rather than silently ignored.
/// A local Bot API server (`local_api`) also posts over http and to any port.
pub(super) fn receive(
    get: &impl Fn(&str) -> Option<String>,
    local_api: bool,
    problems: &mut Problems,
) -> Option<Receive> {
    let metrics_addr =
        get("METRICS_ADDR").map(|raw| socket_addr(&raw, ConfigError::BadMetricsAddr));
    let metrics_addr = problems.check(metrics_addr.transpose(), None);
    let Some(raw_url) = get("WEBHOOK_URL") else {
        // LISTEN_ADDR alone is fine (the container image sets it for both modes); a secret
        // without a webhook is a sign the webhook was meant to be on.
        if get("WEBHOOK_SECRET").is_some() {
            problems.0.push(ConfigError::WebhookOnly("WEBHOOK_SECRET"));
        }
        return Some(Receive::Polling { metrics_addr });
    };
    let url = super::urls::webhook_url(&raw_url, local_api);
    let url = problems.check(
        url.map(Some)
            .ok_or_else(|| ConfigError::BadWebhookUrl(super::urls::masked(&raw_url))),
        None,
    );
    let listen = socket_addr(
        &get("LISTEN_ADDR").unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned()),
        ConfigError::BadListenAddr,
    );
    let listen = problems.check(listen.map(Some), None);
    if let (Some(listen), Some(metrics)) = (listen, metrics_addr)
        && listen == metrics
    {
        problems.0.push(ConfigError::MetricsOnListenAddr);
    }
    let secret = get("WEBHOOK_SECRET").map(|raw| {
        let valid = (MIN_SECRET_LEN..=256).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        // The message gives the length only: the value is a secret.
        if valid {
            Ok(Secret(raw))
        } else {
            Err(ConfigError::BadSecret(raw.chars().count()))
        }
    });
    let secret = problems.check(secret.transpose(), None);
    Some(Receive::Webhook {
        url: url?,
        listen: listen?,
        secret,
        metrics_addr,
    })
}
