//! Counters for `GET /metrics`, in the Prometheus text format.
//!
//! A leaf: it imports nothing of the runtime, so the Telegram adapter's delivery layer can count
//! into it without depending on the rest of [`crate::service`]. That is why [`StorageStats`],
//! what a storage reports, is defined here; [`super::storage`] re-exports it.
//!
//! Plain atomics rather than a metrics crate: the set is small and fixed, and nothing here can
//! carry a label from a user (no chat id, name or text), because every label is a closed enum.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use strum::{EnumCount, IntoEnumIterator};
use teloxide::types::{Update, UpdateKind};

/// What a storage reports for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Conversations held now.
    pub active: u64,
    /// Conversations forgotten because they went idle for the TTL, since the counter began
    /// (process start for memory; shared by all instances for Redis).
    pub expired: u64,
}

/// What kind of update arrived (the `kind` label of `scar_guide_updates_total`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumCount, strum::EnumIter, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum UpdateLabel {
    Message,
    EditedMessage,
    CallbackQuery,
    InlineQuery,
    Other,
}

impl UpdateLabel {
    pub fn of(update: &Update) -> Self {
        match update.kind {
            UpdateKind::Message(_) => Self::Message,
            UpdateKind::EditedMessage(_) => Self::EditedMessage,
            UpdateKind::CallbackQuery(_) => Self::CallbackQuery,
            UpdateKind::InlineQuery(_) => Self::InlineQuery,
            _ => Self::Other,
        }
    }
}

/// Why a Bot API call failed (the `kind` label of `scar_guide_api_errors_total`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumCount, strum::EnumIter, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum ApiErrorLabel {
    /// 429 Too Many Requests.
    RateLimited,
    /// 5xx, or an answer that is not the Bot API's JSON (a proxy's error page).
    Server,
    /// The connection failed or was dropped before an answer.
    Network,
    /// No answer within `API_TIMEOUT`.
    Timeout,
    /// Any other 4xx: the request itself was refused.
    Client,
    /// 403: the user blocked the bot (or deleted their account).
    Blocked,
    /// 400 "message is not modified": counted, but treated as success.
    NotModified,
}

/// The bot's counters. One per process, shared by every handler.
#[derive(Debug, Default)]
pub struct Metrics {
    updates: [AtomicU64; UpdateLabel::COUNT],
    dropped: AtomicU64,
    replies: AtomicU64,
    api_errors: [AtomicU64; ApiErrorLabel::COUNT],
    retries: AtomicU64,
    gave_up: AtomicU64,
    storage_errors: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn update(&self, label: UpdateLabel) {
        bump(&self.updates[label as usize]);
    }

    pub fn dropped(&self) {
        bump(&self.dropped);
    }

    pub fn reply(&self) {
        bump(&self.replies);
    }

    pub fn api_error(&self, label: ApiErrorLabel) {
        bump(&self.api_errors[label as usize]);
    }

    pub fn retry(&self) {
        bump(&self.retries);
    }

    pub fn gave_up(&self) {
        bump(&self.gave_up);
    }

    pub fn storage_error(&self) {
        bump(&self.storage_errors);
    }

    /// The Prometheus text exposition. `conversations` is `None` when the storage could not
    /// be asked (Redis down): those two series are then left out rather than reported as 0.
    pub fn render(&self, conversations: Option<StorageStats>) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        family(
            &mut out,
            "scar_guide_updates_total",
            "counter",
            "Updates received, by kind.",
        );
        for label in UpdateLabel::iter() {
            let value = load(&self.updates[label as usize]);
            sample(
                &mut out,
                "scar_guide_updates_total",
                Some(label.into()),
                value,
            );
        }
        let simple = [
            (
                "scar_guide_updates_dropped_total",
                "Updates dropped because one chat sent faster than it could be answered.",
                load(&self.dropped),
            ),
            (
                "scar_guide_replies_total",
                "Bot API calls answering a user that succeeded (messages, edits, button and inline answers).",
                load(&self.replies),
            ),
        ];
        for (name, help, value) in simple {
            family(&mut out, name, "counter", help);
            sample(&mut out, name, None, value);
        }
        let name = "scar_guide_api_errors_total";
        family(&mut out, name, "counter", "Failed Bot API calls, by kind.");
        for label in ApiErrorLabel::iter() {
            sample(
                &mut out,
                name,
                Some(label.into()),
                load(&self.api_errors[label as usize]),
            );
        }
        let simple = [
            (
                "scar_guide_api_retries_total",
                "Bot API calls repeated after a failure.",
                load(&self.retries),
            ),
            (
                "scar_guide_api_gave_up_total",
                "Bot API calls abandoned after RETRY_FOR.",
                load(&self.gave_up),
            ),
            (
                "scar_guide_storage_errors_total",
                "Conversation storage operations that failed (Redis unreachable).",
                load(&self.storage_errors),
            ),
        ];
        for (name, help, value) in simple {
            family(&mut out, name, "counter", help);
            sample(&mut out, name, None, value);
        }
        if let Some(stats) = conversations {
            let name = "scar_guide_conversations_active";
            family(&mut out, name, "gauge", "Conversations held now.");
            sample(&mut out, name, None, stats.active);
            let name = "scar_guide_conversations_expired_total";
            family(
                &mut out,
                name,
                "counter",
                "Conversations forgotten after STATE_TTL of inactivity.",
            );
            sample(&mut out, name, None, stats.expired);
        }
        out
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line, with a `kind` label when given (always a closed enum's name).
fn sample(out: &mut String, name: &str, kind: Option<&'static str>, value: u64) {
    let _ = match kind {
        Some(kind) => writeln!(out, "{name}{{kind=\"{kind}\"}} {value}"),
        None => writeln!(out, "{name} {value}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_its_labels() {
        let metrics = Metrics::default();
        metrics.update(UpdateLabel::CallbackQuery);
        metrics.api_error(ApiErrorLabel::RateLimited);
        metrics.reply();
        metrics.reply();
        let text = metrics.render(Some(StorageStats {
            active: 3,
            expired: 1,
        }));
        assert!(text.contains("scar_guide_updates_total{kind=\"callback_query\"} 1\n"));
        assert!(text.contains("scar_guide_updates_total{kind=\"edited_message\"} 0\n"));
        assert!(text.contains("scar_guide_api_errors_total{kind=\"rate_limited\"} 1\n"));
        assert!(text.contains("scar_guide_replies_total 2\n"));
        assert!(text.contains("scar_guide_conversations_active 3\n"));
        assert!(text.contains("scar_guide_conversations_expired_total 1\n"));
        // Every sample line belongs to a family declared with HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
        let without = metrics.render(None);
        assert!(!without.contains("conversations_active"));
    }
}
