//! The two Bot API URLs: `TELOXIDE_API_URL` (where the bot sends its calls) and `WEBHOOK_URL`
//! (where Telegram posts updates), and how either is named in an error without its userinfo.
//!
//! Every Bot API call carries the token in its path (`/bot<token>/<method>`), so plain http is
//! accepted only to this machine, or to a private network the operator vouches for with
//! `ALLOW_HTTP_API`. A local Bot API server also posts webhooks over http and to any port,
//! which api.telegram.org does not.

use std::net::IpAddr;

use super::{ConfigError, WEBHOOK_PORTS};

/// A checked `TELOXIDE_API_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiUrl {
    /// Without a trailing slash after a path, so the method's segments follow it directly.
    pub url: url::Url,
    /// A local Bot API server: on loopback, or allowed over http by `ALLOW_HTTP_API`.
    pub local: bool,
}

/// `TELOXIDE_API_URL`; `allow_http` is `ALLOW_HTTP_API`.
pub(super) fn api_url(
    raw: Option<String>,
    allow_http: bool,
) -> Result<Option<ApiUrl>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let shown = masked(&raw);
    let mut url =
        url::Url::parse(&raw).map_err(|e| ConfigError::BadApiUrl(format!("{shown} ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::BadApiUrl(shown));
    }
    let loopback = is_loopback(&url);
    if url.scheme() == "http" && !loopback && !allow_http {
        return Err(ConfigError::ClearTextApiUrl(shown));
    }
    // teloxide appends `bot<token>/<method>` as path segments: after a trailing slash that
    // makes an empty segment (".../tg//bot…"), which a Bot API server behind a proxy answers
    // with 404. The root path "/" is the one exception the URL crate handles.
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(Some(ApiUrl {
        url,
        local: loopback || allow_http,
    }))
}

/// `WEBHOOK_URL`: https on one of Telegram's ports, or, for a local Bot API server (which also
/// posts over http, to any port), http(s) on any port. `None` when it is not one.
pub(super) fn webhook_url(raw: &str, local_api: bool) -> Option<url::Url> {
    url::Url::parse(raw).ok().filter(|u| {
        let scheme = match u.scheme() {
            "https" => true,
            "http" => local_api,
            _ => false,
        };
        scheme
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.port_or_known_default()
                .is_some_and(|p| local_api || WEBHOOK_PORTS.contains(&p))
            // The path becomes an axum route, where ':' and '*' start parameters.
            && !u.path().split('/').any(|seg| seg.starts_with([':', '*']))
    })
}

/// Whether the URL's host is this machine: 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) or
/// `localhost`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).to_canonical().is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `raw` with any userinfo (`user:password@`) replaced by `***@`, for an error message. Works
/// on the text, so a URL that does not even parse is masked too.
pub(super) fn masked(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => raw.to_owned(),
    }
}
