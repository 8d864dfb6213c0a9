//! Configuration from the environment (and a `.env` file, loaded by `main`).
//!
//! Every variable is documented in `.env.example`. The token is wrapped so that no `Debug` or
//! log line can print it.

use std::time::Duration;

pub use self::http::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_LISTEN_ADDR, DEFAULT_MAX_CONNECTIONS,
    HttpLimits, MIN_SECRET_LEN, Receive, WEBHOOK_PORTS,
};
pub use self::secret::{RedisUrl, Secret, Token};

mod http;
mod secret;
mod urls;

/// Default for `STATE_TTL`: idle conversations are forgotten after a day.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `STATE_TTL` accepted: a year is already far beyond any use, and the cache
/// refuses durations near its clock's range.
pub const MAX_STATE_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Default for `STATE_CAPACITY`: the most conversations kept in memory at once.
pub const DEFAULT_STATE_CAPACITY: u64 = 1_000_000;

/// Default for `RETRY_FOR`: how long one Bot API call is retried before giving up.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(60);

/// Default for `API_TIMEOUT`: one HTTP request to the Bot API. Above the 10 s long-polling
/// wait, so getUpdates is not cut short.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(20);

/// Default for `SHUTDOWN_GRACE`: under Docker's 10 s between SIGTERM and SIGKILL.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Where conversations are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// In this process, forgotten at exit (`STATE_CAPACITY` bounds it).
    Memory,
    /// A `redis://` URL, validated.
    Redis(RedisUrl),
}

/// Outgoing message limits (kept by [`crate::pacing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Messages per second in one chat (`RATE_PER_CHAT`).
    pub per_chat_per_sec: u32,
    /// Messages per minute in one group or supergroup (`RATE_PER_GROUP`).
    pub per_group_per_min: u32,
    /// Messages per second over all chats (`RATE_OVERALL`).
    pub overall_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_chat_per_sec: 1,
            per_group_per_min: 20,
            overall_per_sec: 30,
        }
    }
}

/// Everything the Telegram mode needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: Token,
    /// A local Bot API server, or `None` for api.telegram.org.
    pub api_url: Option<url::Url>,
    pub state_ttl: Duration,
    pub state_capacity: u64,
    pub receive: Receive,
    pub storage: StorageConfig,
    pub rate_limits: RateLimits,
    pub retry_for: Duration,
    pub api_timeout: Duration,
    pub shutdown_grace: Duration,
    pub http: HttpLimits,
}

/// A configuration problem, one line each, naming the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "TELOXIDE_TOKEN is not set: put the token from @BotFather in the environment or in .env (see .env.example), or run `scar-guide console` to try the bot without one"
    )]
    MissingToken,
    #[error("TELOXIDE_TOKEN does not look like a bot token (expected digits, ':' and a secret)")]
    MalformedToken,
    #[error("TELOXIDE_API_URL is not a valid http(s) URL with a host: {0}")]
    BadApiUrl(String),
    #[error(
        "TELOXIDE_API_URL sends the token in clear over http:// to a host that is not this machine: {0}. Use https://, a loopback address (127.0.0.1, ::1, localhost), or set ALLOW_HTTP_API=1 for a local Bot API server on a private network you trust"
    )]
    ClearTextApiUrl(String),
    #[error(
        "ALLOW_HTTP_API is set but TELOXIDE_API_URL is not: it only applies to a local Bot API server"
    )]
    AllowHttpWithoutApiUrl,
    #[error("{0} is not 1 or 0 (true or false): {1}")]
    BadFlag(&'static str, String),
    #[error("STATE_TTL is not a duration like '24h' or '30m' (at most a year): {0}")]
    BadTtl(String),
    #[error("STATE_CAPACITY is not a positive whole number: {0}")]
    BadCapacity(String),
    #[error(
        "STATE_CAPACITY bounds the conversations kept in memory, but STORAGE_URL keeps them in Redis, which it does not bound: remove STATE_CAPACITY (Redis's own maxmemory bounds it; STATE_TTL still expires them)"
    )]
    CapacityWithRedis,
    #[error(
        "WEBHOOK_URL must be an https URL with a host, on port 443, 80, 88 or 8443 (the ports Telegram posts to; http and other ports only with a local Bot API server in TELOXIDE_API_URL): {0}"
    )]
    BadWebhookUrl(String),
    #[error("LISTEN_ADDR is not an IP address and port like 0.0.0.0:8080: {0}")]
    BadListenAddr(String),
    #[error("METRICS_ADDR is not an IP address and port like 127.0.0.1:9090: {0}")]
    BadMetricsAddr(String),
    #[error(
        "WEBHOOK_SECRET must be 32 to 256 characters of A-Z, a-z, 0-9, _ and - (it was {0} characters or had others)"
    )]
    BadSecret(usize),
    #[error("{0} is set but WEBHOOK_URL is not: it only applies to webhook mode")]
    WebhookOnly(&'static str),
    #[error(
        "METRICS_ADDR is the same address as LISTEN_ADDR: unset it to serve /healthz and /metrics there, or give them an address of their own"
    )]
    MetricsOnListenAddr,
    #[error("HTTP_MAX_CONNECTIONS is not a whole number from 1 to 65536: {0}")]
    BadMaxConnections(String),
    #[error("STORAGE_URL must be 'memory' or a redis://host[:port][/db] URL: {0}")]
    BadStorageUrl(String),
    #[error("{0} is not a whole number from 1 to 10000: {1}")]
    BadRate(&'static str, String),
    #[error("{0} is not a duration like '30s' or '2m' (at most {1}): {2}")]
    BadDuration(&'static str, &'static str, String),
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Vec<ConfigError>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get`, so tests need not touch the process environment.
    /// Every problem is reported, one per variable, not just the first.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<ConfigError>> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Problems::default();
        let token = problems.check(token(get("TELOXIDE_TOKEN")).map(Some), None);
        let allow_http = problems.check(flag("ALLOW_HTTP_API", get("ALLOW_HTTP_API")), false);
        let raw_api_url = get("TELOXIDE_API_URL");
        if allow_http && raw_api_url.is_none() {
            problems.0.push(ConfigError::AllowHttpWithoutApiUrl);
        }
        let api_url = problems.check(urls::api_url(raw_api_url, allow_http), None);
        let local_api = api_url.as_ref().is_some_and(|a| a.local);
        let state_ttl = problems.check(
            duration(
                "STATE_TTL",
                get("STATE_TTL"),
                (Duration::from_secs(1), MAX_STATE_TTL, "a year"),
            ),
            None,
        );
        let state_capacity = problems.check(
            match get("STATE_CAPACITY") {
                None => Ok(None),
                Some(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or(ConfigError::BadCapacity(raw)),
            },
            None,
        );
        let receive = http::receive(&get, local_api, &mut problems);
        let http = http::http_limits(&get, &mut problems);
        let storage = problems.check(storage(get("STORAGE_URL")), StorageConfig::Memory);
        // Redis keeps every conversation until STATE_TTL: a capacity would be a promise unkept.
        if state_capacity.is_some() && matches!(storage, StorageConfig::Redis(_)) {
            problems.0.push(ConfigError::CapacityWithRedis);
        }
        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            per_chat_per_sec: problems
                .check(rate("RATE_PER_CHAT", get("RATE_PER_CHAT")), None)
                .unwrap_or(defaults.per_chat_per_sec),
            per_group_per_min: problems
                .check(rate("RATE_PER_GROUP", get("RATE_PER_GROUP")), None)
                .unwrap_or(defaults.per_group_per_min),
            overall_per_sec: problems
                .check(rate("RATE_OVERALL", get("RATE_OVERALL")), None)
                .unwrap_or(defaults.overall_per_sec),
        };
        let retry_for = problems.check(
            duration(
                "RETRY_FOR",
                get("RETRY_FOR"),
                (Duration::ZERO, Duration::from_secs(3600), "1h"),
            ),
            None,
        );
        let api_timeout = problems.check(
            duration(
                "API_TIMEOUT",
                get("API_TIMEOUT"),
                // At least 2 s: the long poll is a second shorter, and must not be zero.
                (Duration::from_secs(2), Duration::from_secs(600), "10m"),
            ),
            None,
        );
        let shutdown_grace = problems.check(
            duration(
                "SHUTDOWN_GRACE",
                get("SHUTDOWN_GRACE"),
                (Duration::ZERO, Duration::from_secs(600), "10m"),
            ),
            None,
        );
        match (token, receive) {
            (Some(token), Some(receive)) if problems.0.is_empty() => Ok(Self {
                token,
                api_url: api_url.map(|a| a.url),
                state_ttl: state_ttl.unwrap_or(DEFAULT_STATE_TTL),
                state_capacity: state_capacity.unwrap_or(DEFAULT_STATE_CAPACITY),
                receive,
                storage,
                rate_limits,
                retry_for: retry_for.unwrap_or(DEFAULT_RETRY_FOR),
                api_timeout: api_timeout.unwrap_or(DEFAULT_API_TIMEOUT),
                shutdown_grace: shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
                http,
            }),
            _ => Err(problems.0),
        }
    }
}

/// The problems found so far.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    /// The value, or `stand_in` with the problem recorded: every variable gets checked, and
    /// a stand-in is never used because any problem makes the whole configuration an error.
    fn check<T>(&mut self, result: Result<T, ConfigError>, stand_in: T) -> T {
        result.unwrap_or_else(|err| {
            self.0.push(err);
            stand_in
        })
    }
}

fn token(raw: Option<String>) -> Result<Token, ConfigError> {
    let token = raw.ok_or(ConfigError::MissingToken)?;
    // Telegram tokens are "<bot id>:<secret>"; catching a pasted placeholder early beats a
    // confusing 401 later. The message deliberately does not echo the value.
    match token.split_once(':') {
        Some((id, secret))
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty() =>
        {
            Ok(Token(token))
        }
        _ => Err(ConfigError::MalformedToken),
    }
}

/// A duration within `(min, max, max in words)`; `Ok(None)` when unset.
fn duration(
    name: &'static str,
    raw: Option<String>,
    (min, max, max_words): (Duration, Duration, &'static str),
) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    humantime::parse_duration(&raw)
        .ok()
        .filter(|d| *d >= min && *d <= max)
        .map(Some)
        .ok_or(ConfigError::BadDuration(name, max_words, raw))
}

/// A yes/no setting: `1`/`true`/`yes` or `0`/`false`/`no`; `false` when unset.
fn flag(name: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(_) => Err(ConfigError::BadFlag(name, raw.unwrap_or_default())),
    }
}

/// A rate from 1 to 10 000; `Ok(None)` when unset.
fn rate(name: &'static str, raw: Option<String>) -> Result<Option<u32>, ConfigError> {
    match raw {
        None => Ok(None),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .map(Some)
            .ok_or(ConfigError::BadRate(name, raw)),
    }
}

fn storage(raw: Option<String>) -> Result<StorageConfig, ConfigError> {
    let Some(raw) = raw else {
        return Ok(StorageConfig::Memory);
    };
    if raw.eq_ignore_ascii_case("memory") {
        return Ok(StorageConfig::Memory);
    }
    RedisUrl::parse(&raw)
        .map(StorageConfig::Redis)
        .map_err(ConfigError::BadStorageUrl)
}

#[cfg(test)]
mod tests;
