//! Configuration from the environment (and a `.env` file, loaded by `main`).
//!
//! Every variable is documented in `.env.example`. The token is wrapped so that no `Debug` or
//! log line can print it.

use std::fmt;
use std::time::Duration;

/// Default for `STATE_TTL`: idle conversations are forgotten after a day.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `STATE_TTL` accepted: a year is already far beyond any use, and the cache
/// refuses durations near its clock's range.
pub const MAX_STATE_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Default for `STATE_CAPACITY`: the most conversations kept in memory at once.
pub const DEFAULT_STATE_CAPACITY: u64 = 1_000_000;

/// The bot token. Its `Debug` and `Display` print a placeholder.
#[derive(Clone)]
pub struct Token(String);

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

/// Everything the Telegram mode needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: Token,
    /// A local Bot API server, or `None` for api.telegram.org.
    pub api_url: Option<url::Url>,
    pub state_ttl: Duration,
    pub state_capacity: u64,
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
    #[error("TELOXIDE_API_URL is not a valid http(s) URL: {0}")]
    BadApiUrl(String),
    #[error("STATE_TTL is not a duration like '24h' or '30m' (at most a year): {0}")]
    BadTtl(String),
    #[error("STATE_CAPACITY is not a positive whole number: {0}")]
    BadCapacity(String),
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let token = get("TELOXIDE_TOKEN")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        let token = token.ok_or(ConfigError::MissingToken)?;
        // Telegram tokens are "<bot id>:<secret>"; catching a pasted placeholder early beats a
        // confusing 401 later. The message deliberately does not echo the value.
        match token.split_once(':') {
            Some((id, secret))
                if !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && !secret.is_empty() => {}
            _ => return Err(ConfigError::MalformedToken),
        }
        let api_url = match get("TELOXIDE_API_URL").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(raw) => {
                let url = url::Url::parse(raw.trim())
                    .map_err(|e| ConfigError::BadApiUrl(format!("{raw} ({e})")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ConfigError::BadApiUrl(raw));
                }
                Some(url)
            }
        };
        let state_ttl = match get("STATE_TTL").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_STATE_TTL,
            Some(raw) => humantime::parse_duration(raw.trim())
                .ok()
                .filter(|d| !d.is_zero() && *d <= MAX_STATE_TTL)
                .ok_or(ConfigError::BadTtl(raw))?,
        };
        let state_capacity = match get("STATE_CAPACITY").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_STATE_CAPACITY,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::BadCapacity(raw))?,
        };
        Ok(Self {
            token: Token(token),
            api_url,
            state_ttl,
            state_capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn missing_token_names_the_variable() {
        let err = Config::from_lookup(env(&[])).unwrap_err();
        assert_eq!(err, ConfigError::MissingToken);
        assert!(err.to_string().contains("TELOXIDE_TOKEN"));
    }

    #[test]
    fn token_never_prints() {
        let config = Config::from_lookup(env(&[("TELOXIDE_TOKEN", "123:secret-value")])).unwrap();
        assert!(!format!("{config:?}").contains("secret-value"));
        assert_eq!(config.state_ttl, DEFAULT_STATE_TTL);
    }

    #[test]
    fn reads_api_url_and_ttl() {
        let config = Config::from_lookup(env(&[
            ("TELOXIDE_TOKEN", "123:abc"),
            ("TELOXIDE_API_URL", "http://127.0.0.1:8081"),
            ("STATE_TTL", "30m"),
        ]))
        .unwrap();
        assert_eq!(config.api_url.unwrap().as_str(), "http://127.0.0.1:8081/");
        assert_eq!(config.state_ttl, Duration::from_secs(1800));
    }

    #[test]
    fn rejects_bad_values() {
        let bad =
            |k, v| Config::from_lookup(env(&[("TELOXIDE_TOKEN", "1:a"), (k, v)])).unwrap_err();
        assert!(matches!(
            bad("TELOXIDE_API_URL", "not a url"),
            ConfigError::BadApiUrl(_)
        ));
        assert!(matches!(bad("STATE_TTL", "soon"), ConfigError::BadTtl(_)));
        assert!(matches!(
            bad("STATE_TTL", "2000years"),
            ConfigError::BadTtl(_)
        ));
        assert!(matches!(
            bad("STATE_CAPACITY", "0"),
            ConfigError::BadCapacity(_)
        ));
        assert_eq!(
            Config::from_lookup(env(&[("TELOXIDE_TOKEN", "hello")])).unwrap_err(),
            ConfigError::MalformedToken
        );
    }
}
