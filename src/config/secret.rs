//! The values that must never print: the token, the webhook secret, the Redis URL (which may
//! carry a password). Each `Debug` prints a placeholder, and none has `Display`.

use std::fmt;

/// The bot token. Its `Debug` prints a placeholder, and it has no `Display`.
#[derive(Clone)]
pub struct Token(pub(super) String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A secret that must not be printed (the webhook secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A `STORAGE_URL` the Redis backend can use: `redis://host[:port][/db]`, checked here once
/// (by the Redis client too) without connecting. It may carry a password, so its `Debug`
/// prints a placeholder.
#[derive(Clone)]
pub struct RedisUrl {
    raw: String,
    client: redis::Client,
}

impl RedisUrl {
    /// Validates `raw`; the error says why, naming the URL without its userinfo.
    pub fn parse(raw: &str) -> Result<Self, String> {
        // Named without its userinfo, which may carry a password.
        let shown = |url: &url::Url| super::urls::masked(url.as_str());
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        if url.scheme() != "redis" || url.host_str().is_none_or(str::is_empty) {
            return Err(shown(&url));
        }
        let why = |why: &str| format!("{} (the Redis URL {why})", shown(&url));
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u16>().is_err() {
            return Err(why("path must be a database number (like /0)"));
        }
        // The Redis client's own checks, without connecting.
        let client = redis::Client::open(raw).map_err(|_| why("is not a valid Redis URL"))?;
        Ok(Self {
            raw: raw.to_owned(),
            client,
        })
    }

    /// The URL as given, password included.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The Redis client for this URL (it has not connected).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }
}

impl PartialEq for RedisUrl {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for RedisUrl {}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisUrl(<redacted>)")
    }
}
