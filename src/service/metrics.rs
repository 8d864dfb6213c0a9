//! The bot's metrics for `GET /metrics`, in the Prometheus text format (0.0.4), kept in a
//! `prometheus-client` registry.
//!
//! A leaf: it imports nothing of the runtime, so the Telegram adapter's delivery layer can count
//! into it without depending on the rest of [`crate::service`]. That is why [`StorageStats`],
//! what a storage reports, is defined here; [`super::storage`] re-exports it.
//!
//! Nothing here can carry a label from a user (no chat id, name or text): every label value is
//! a closed enum's name, a teloxide request type's name (`Payload::NAME`, a constant) or a
//! histogram bound.
//!
//! The reply latency is measured without threading a clock through every handler: the intake
//! runs each update's handler inside [`Metrics::time_reply`], which keeps the update's arrival in
//! a task-local, and [`Metrics::reply`], called by the delivery layer for every successful Bot
//! API call, observes the first one made while handling it.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, prometheus_text,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use strum::IntoEnumIterator;
use teloxide::types::{Update, UpdateKind};

/// What every metric's name starts with.
const PREFIX: &str = "scar_guide";

/// Upper bounds (seconds) of both histograms: from a quick answer to `RETRY_FOR`'s default. 2 and
/// 6 are the median and p90 goals for a tap's answer under faults; 10 catches teloxide's fixed
/// wait inside a 5xx answer.
const SECONDS_BUCKETS: [f64; 13] = [
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0, 15.0, 30.0, 60.0,
];

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
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumCount, strum::EnumIter, strum::IntoStaticStr,
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
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumCount, strum::EnumIter, strum::IntoStaticStr,
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

/// How an update's handling ended (the `outcome` label of `scar_guide_reply_latency_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ReplyOutcome {
    /// Observed when the first reply to the update was delivered.
    Replied,
    /// Observed when the handler ended without delivering any reply: the update needed none
    /// (a group message not addressed to the bot), or every reply failed.
    NoReply,
}

/// The snake_case names above as label values.
macro_rules! label_value {
    ($($label:ty),*) => {$(
        impl EncodeLabelValue for $label {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
                encoder.write_str(<&'static str>::from(*self))
            }
        }
    )*};
}
label_value!(UpdateLabel, ApiErrorLabel, ReplyOutcome);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UpdateKindLabels {
    kind: UpdateLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ApiErrorLabels {
    kind: ApiErrorLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: ReplyOutcome,
}

/// The request's type name in teloxide (`SendMessage`, `AnswerCallbackQuery`, ...), as in the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

tokio::task_local! {
    /// The update being handled on this task: when it arrived, and whether a reply was
    /// delivered yet.
    static HANDLING: ReplyClock;
}

struct ReplyClock {
    arrived: Instant,
    replied: Cell<bool>,
}

/// The bot's metrics. One per process, shared by every handler.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    updates: Family<UpdateKindLabels, Counter>,
    dropped: Counter,
    replies: Counter,
    api_errors: Family<ApiErrorLabels, Counter>,
    retries: Counter,
    gave_up: Counter,
    storage_errors: Counter,
    reply_latency: Histograms<OutcomeLabels>,
    api_calls: Histograms<MethodLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix(PREFIX),
            updates: Family::default(),
            dropped: Counter::default(),
            replies: Counter::default(),
            api_errors: Family::default(),
            retries: Counter::default(),
            gave_up: Counter::default(),
            storage_errors: Counter::default(),
            reply_latency: Family::new_with_constructor(seconds_histogram),
            api_calls: Family::new_with_constructor(seconds_histogram),
        };
        // Every label of a counter from the start, at 0, so a rate over it is defined before
        // the first event.
        for kind in UpdateLabel::iter() {
            let _ = metrics.updates.get_or_create(&UpdateKindLabels { kind });
        }
        for kind in ApiErrorLabel::iter() {
            let _ = metrics.api_errors.get_or_create(&ApiErrorLabels { kind });
        }
        for outcome in ReplyOutcome::iter() {
            let _ = metrics
                .reply_latency
                .get_or_create(&OutcomeLabels { outcome });
        }
        metrics.registered()
    }
}

impl Metrics {
    /// Puts every metric in the registry, in the order `/metrics` lists them.
    fn registered(mut self) -> Self {
        let registry = &mut self.registry;
        registry.register("updates", "Updates received, by kind", self.updates.clone());
        registry.register(
            "updates_dropped",
            "Updates dropped because one chat sent faster than it could be answered",
            self.dropped.clone(),
        );
        registry.register(
            "replies",
            "Bot API calls answering a user that succeeded (messages, edits, button and inline answers)",
            self.replies.clone(),
        );
        registry.register(
            "api_errors",
            "Failed Bot API calls, by kind",
            self.api_errors.clone(),
        );
        registry.register(
            "api_retries",
            "Bot API calls repeated after a failure",
            self.retries.clone(),
        );
        registry.register(
            "api_gave_up",
            "Bot API calls abandoned after RETRY_FOR",
            self.gave_up.clone(),
        );
        registry.register(
            "storage_errors",
            "Conversation storage operations that failed (Redis unreachable)",
            self.storage_errors.clone(),
        );
        registry.register_with_unit(
            "reply_latency",
            "Time from an update's arrival to its first reply delivered (or, with outcome no_reply, to the end of its handling)",
            Unit::Seconds,
            self.reply_latency.clone(),
        );
        registry.register_with_unit(
            "api_call_duration",
            "Time one attempt of a Bot API call took, rate limiter queue included, by method",
            Unit::Seconds,
            self.api_calls.clone(),
        );
        self
    }

    pub fn update(&self, label: UpdateLabel) {
        self.updates
            .get_or_create(&UpdateKindLabels { kind: label })
            .inc();
    }

    pub fn dropped(&self) {
        self.dropped.inc();
    }

    /// A reply delivered; the first one for the update being handled on this task (see
    /// [`Metrics::time_reply`]) also gives its reply latency.
    pub fn reply(&self) {
        self.replies.inc();
        let first = HANDLING
            .try_with(|clock| (!clock.replied.replace(true)).then(|| clock.arrived.elapsed()));
        if let Ok(Some(latency)) = first {
            self.observe_reply(ReplyOutcome::Replied, latency);
        }
    }

    pub fn api_error(&self, label: ApiErrorLabel) {
        self.api_errors
            .get_or_create(&ApiErrorLabels { kind: label })
            .inc();
    }

    pub fn retry(&self) {
        self.retries.inc();
    }

    pub fn gave_up(&self) {
        self.gave_up.inc();
    }

    pub fn storage_error(&self) {
        self.storage_errors.inc();
    }

    /// One attempt of a Bot API call of type `method` (`Payload::NAME`) took `took`.
    pub fn api_call(&self, method: &'static str, took: Duration) {
        self.api_calls
            .get_or_create(&MethodLabels { method })
            .observe(took.as_secs_f64());
    }

    /// Runs `handling`, an update's handler, timing its first reply from `arrived`: observed by
    /// [`Metrics::reply`] when it is delivered, or here at the end when there was none.
    pub async fn time_reply<F: Future>(&self, arrived: Instant, handling: F) -> F::Output {
        let clock = ReplyClock {
            arrived,
            replied: Cell::new(false),
        };
        let (output, replied) = HANDLING
            .scope(clock, async {
                let output = handling.await;
                let replied = HANDLING.try_with(|clock| clock.replied.get());
                (output, replied.unwrap_or(false))
            })
            .await;
        if !replied {
            self.observe_reply(ReplyOutcome::NoReply, arrived.elapsed());
        }
        output
    }

    fn observe_reply(&self, outcome: ReplyOutcome, latency: Duration) {
        self.reply_latency
            .get_or_create(&OutcomeLabels { outcome })
            .observe(latency.as_secs_f64());
    }

    /// The Prometheus text exposition. `conversations` is `None` when the storage could not
    /// be asked (Redis down): those two series are then left out rather than reported as 0.
    pub fn render(&self, conversations: Option<StorageStats>) -> String {
        let mut out = String::with_capacity(8192);
        // Encoding into a String cannot fail: only the writer can.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        if let Some(stats) = conversations {
            // Read from the storage at each scrape, so they live in a registry of their own.
            let mut storage = Registry::with_prefix(PREFIX);
            storage.register(
                "conversations_active",
                "Conversations held now",
                ConstGauge::new(stats.active),
            );
            storage.register(
                "conversations_expired",
                "Conversations forgotten after STATE_TTL of inactivity",
                ConstCounter::new(stats.expired),
            );
            let _ = prometheus_text::encode(&mut out, &storage);
        }
        out
    }
}

#[cfg(test)]
mod tests;
