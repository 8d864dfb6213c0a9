//! The delivery layer: every call that answers a user goes through [`Delivery::send`], and
//! every failure is named for the log by [`error_kind`], beside `classify`, which decides
//! what to do about it.
//!
//! teloxide's `Bot` makes one attempt per call, so a 429 or a dropped connection in the middle
//! of a reply loses it. This repeats a call while that is safe and useful:
//! - 429: wait the `retry_after` Telegram asks for (the budget hears of it too, and holds all
//!   sending for that long, as Telegram expects);
//! - 5xx, an answer that is not the Bot API's JSON, a timeout or a dropped connection: capped
//!   exponential backoff with jitter, so many instances do not retry in step (the vendored
//!   teloxide-core returns a 5xx at once; as published it slept 10 s first, see
//!   vendor/teloxide-core/PATCHES.md);
//! - any other 4xx: not repeated, the request itself was refused (logged with its method only);
//! - 403 "bot was blocked by the user": the chat's state is erased, nobody is there to answer.
//!
//! A send repeated after a dropped connection can arrive twice if Telegram had processed it;
//! that is the price of never losing one. Edits and button answers are harmless to repeat
//! ("message is not modified", "query is too old"). After `RETRY_FOR` it gives up with a warning.
//!
//! It works through `Request::send_ref`, so the same request is reused for every attempt,
//! whatever `Requester` the handlers run on. In production every message first takes its slot from the rate budget ([`crate::pacing`]: in this process, or shared by
//! all instances through Redis), so replies stay within Telegram's limits without a 429.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use teloxide::requests::{Output, Payload, Request, Requester};
use teloxide::types::ChatId;
use teloxide::{ApiError, RequestError};
use tokio::time::Instant;

use crate::pacing::{Budget, Release};
use crate::service::metrics::{ApiErrorLabel, Metrics};
use crate::session::SessionStorage;

/// What the handlers need from a Bot API client: a plain `Bot` in tests, `CacheMe<Bot>` in
/// production. The request types must be `Sync` because a retry borrows them across awaits.
pub trait Api:
    Requester<
        Err = RequestError,
        SendMessage: Send + Sync,
        SendPhoto: Send + Sync,
        EditMessageText: Send + Sync,
        EditMessageReplyMarkup: Send + Sync,
        AnswerCallbackQuery: Send + Sync,
        AnswerInlineQuery: Send + Sync,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Api for T where
    T: Requester<
            Err = RequestError,
            SendMessage: Send + Sync,
            SendPhoto: Send + Sync,
            EditMessageText: Send + Sync,
            EditMessageReplyMarkup: Send + Sync,
            AnswerCallbackQuery: Send + Sync,
            AnswerInlineQuery: Send + Sync,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Give up on a call after retrying it this long (`RETRY_FOR`).
    pub give_up_after: Duration,
    /// The first wait after a server or network failure; doubled each time up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            give_up_after: Duration::from_secs(60),
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Answers Telegram stops waiting for within seconds (a button's spinner, an inline query):
/// repeating them longer than [`ANSWER_EXPIRES`] only delays what comes after.
const ANSWERS: [&str; 2] = ["AnswerCallbackQuery", "AnswerInlineQuery"];
const ANSWER_EXPIRES: Duration = Duration::from_secs(10);

impl Policy {
    /// How long a call of `method` is retried.
    fn give_up_for(&self, method: &str) -> Duration {
        if ANSWERS.contains(&method) {
            self.give_up_after.min(ANSWER_EXPIRES)
        } else {
            self.give_up_after
        }
    }
}

/// What to do about one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Wait this long (Telegram said so), then try again.
    WaitThenRetry(Duration),
    /// Back off, then try again.
    Retry,
    /// Do not repeat: the error is the answer.
    Final,
}

/// Classifies an error: what to count it as, and whether repeating the call can help.
fn classify(err: &RequestError) -> (ApiErrorLabel, Verdict) {
    match err {
        RequestError::RetryAfter(after) => (
            ApiErrorLabel::RateLimited,
            Verdict::WaitThenRetry(after.duration()),
        ),
        RequestError::Network(e) if e.is_timeout() => (ApiErrorLabel::Timeout, Verdict::Retry),
        RequestError::Network(_) | RequestError::Io(_) => (ApiErrorLabel::Network, Verdict::Retry),
        // A success teloxide cannot read (a Bot API newer than it): the call took effect, and
        // repeating it would send the message again.
        RequestError::InvalidJson { raw, .. } if is_success(raw) => {
            (ApiErrorLabel::Client, Verdict::Final)
        }
        // A proxy's HTML error page (502 from nginx) rather than the Bot API's JSON.
        RequestError::InvalidJson { .. } => (ApiErrorLabel::Server, Verdict::Retry),
        RequestError::Api(ApiError::MessageNotModified) => {
            (ApiErrorLabel::NotModified, Verdict::Final)
        }
        RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated) => {
            (ApiErrorLabel::Blocked, Verdict::Final)
        }
        // teloxide keeps no status code: a 5xx arrives as an unknown error whose description
        // is not one of the 4xx prefixes Telegram uses ("Bad Request: …", "Forbidden: …").
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
            (ApiErrorLabel::Server, Verdict::Retry)
        }
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => {
            (ApiErrorLabel::Client, Verdict::Final)
        }
    }
}

/// Whether repeating the call may help (429, 5xx, network): used by start-up calls too.
pub fn is_transient(err: &RequestError) -> bool {
    classify(err).1 != Verdict::Final
}

/// Whether an answer is the Bot API's `{"ok": true, …}`.
fn is_success(raw: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("ok").and_then(serde_json::Value::as_bool))
        == Some(true)
}

/// Whether an unrecognised Bot API error description is a server-side failure.
fn is_server_error(description: &str) -> bool {
    const CLIENT_PREFIXES: [&str; 7] = [
        "Bad Request",
        "Unauthorized",
        "Forbidden",
        "Not Found",
        "Conflict",
        "Request Entity Too Large",
        "Too Many Requests",
    ];
    !CLIENT_PREFIXES.iter().any(|p| description.starts_with(p))
}

/// A log-safe description of a Bot API error: its kind, never a message text or the token
/// (teloxide already strips the token from network errors).
pub fn error_kind(err: &RequestError) -> String {
    match err {
        RequestError::Api(api) => format!("API error: {api}"),
        RequestError::MigrateToChatId(_) => "chat migrated".to_owned(),
        RequestError::RetryAfter(secs) => format!("rate limited for {}s", secs.seconds()),
        RequestError::Network(e) if e.is_timeout() => "timeout".to_owned(),
        RequestError::Network(e) if e.is_connect() => "connection failed".to_owned(),
        RequestError::Network(_) => "network error".to_owned(),
        RequestError::InvalidJson { .. } => "invalid JSON from the Bot API".to_owned(),
        RequestError::Io(_) => "I/O error".to_owned(),
    }
}

/// The methods that send a message into a chat: what Telegram's limits count (edits, button
/// answers and inline answers are not messages).
const MESSAGES: [&str; 6] = [
    "SendMessage",
    "SendPhoto",
    "SendMediaGroup",
    "SendDocument",
    "CopyMessage",
    "ForwardMessage",
];

/// Sends replies with retries, counts them, and erases the state of chats that blocked the bot.
pub struct Delivery {
    policy: Policy,
    metrics: Arc<Metrics>,
    storage: Arc<SessionStorage>,
    /// Where messages get their slots; `None` sends at once (tests on the mock Bot API).
    budget: Option<Arc<dyn Budget>>,
    release: Release,
    /// Seeds the jitter; a fresh random state per process.
    jitter: RandomState,
}

impl Delivery {
    pub fn new(policy: Policy, metrics: Arc<Metrics>, storage: Arc<SessionStorage>) -> Arc<Self> {
        Arc::new(Self {
            policy,
            metrics,
            storage,
            budget: None,
            release: Release::default(),
            jitter: RandomState::new(),
        })
    }

    /// Like [`Delivery::new`], with every message paced by `budget`.
    pub fn paced(
        policy: Policy,
        metrics: Arc<Metrics>,
        storage: Arc<SessionStorage>,
        budget: Arc<dyn Budget>,
    ) -> Arc<Self> {
        Arc::new(Self {
            policy,
            metrics,
            storage,
            budget: Some(budget),
            release: Release::default(),
            jitter: RandomState::new(),
        })
    }

    /// Waits for a slot for one message into `chat`, when `method` sends one.
    async fn pace(&self, chat: Option<ChatId>, method: &str) {
        let (Some(budget), Some(chat)) = (&self.budget, chat) else {
            return;
        };
        if MESSAGES.contains(&method) {
            let wait = budget.reserve(chat).await;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // Half the interval: a message that woke late still leaves at once, so the queue
            // catches up, but never right on top of the next one.
            self.release.after(budget.spacing() / 2).await;
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Sends `request`, retrying as the module documentation says. `chat` is the chat the call
    /// answers, so its state can be erased if the user blocked the bot.
    pub async fn send<Q>(&self, chat: Option<ChatId>, request: Q) -> Result<Output<Q>, RequestError>
    where
        Q: Request<Err = RequestError> + Send + Sync,
        Output<Q>: Send,
    {
        let method = <Q::Payload as Payload>::NAME;
        // One slot per message, taken before the first attempt: a repeat uses the slot of the
        // attempt that failed (Telegram did not count it, or asked for the pause a 429 waits)
        // rather than queueing behind everyone who asked since. The wait for it counts in the
        // reply's latency, not in the call's duration or in RETRY_FOR.
        self.pace(chat, method).await;
        let started = Instant::now();
        let mut backoff = self.policy.first_backoff;
        let mut attempt: u32 = 1;
        loop {
            let attempt_started = Instant::now();
            let result = request.send_ref().await;
            self.metrics.api_call(method, attempt_started.elapsed());
            let err = match result {
                Ok(output) => {
                    self.metrics.reply();
                    return Ok(output);
                }
                Err(err) => err,
            };
            let (label, verdict) = classify(&err);
            self.metrics.api_error(label);
            let wait = match verdict {
                Verdict::Final => {
                    self.refused(chat, method, label, &err).await;
                    return Err(err);
                }
                Verdict::WaitThenRetry(wait) => {
                    if let Some(budget) = &self.budget {
                        budget.hold(wait).await;
                    }
                    wait
                }
                Verdict::Retry => {
                    let wait = self.jittered(backoff, attempt);
                    backoff = (backoff * 2).min(self.policy.max_backoff);
                    wait
                }
            };
            if started.elapsed() + wait > self.policy.give_up_for(method) {
                self.metrics.gave_up();
                log::warn!(
                    "gave up on {method} after {attempt} attempts in {:.1}s: {}",
                    started.elapsed().as_secs_f32(),
                    error_kind(&err)
                );
                return Err(err);
            }
            log::debug!(
                "{method} failed ({}); attempt {} in {}ms",
                error_kind(&err),
                attempt + 1,
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
            self.metrics.retry();
            attempt += 1;
        }
    }

    /// A call the Bot API refused for good.
    async fn refused(
        &self,
        chat: Option<ChatId>,
        method: &str,
        label: ApiErrorLabel,
        err: &RequestError,
    ) {
        match label {
            // The caller decides; an unchanged menu is the expected case.
            ApiErrorLabel::NotModified => {}
            ApiErrorLabel::Blocked => {
                if let Some(chat) = chat {
                    // Nobody will come back to this conversation; keep nothing of it.
                    if self.storage.clone().remove_dialogue(chat).await.is_err() {
                        self.metrics.storage_error();
                    }
                }
                log::info!("{method}: the user blocked the bot; their conversation is erased");
            }
            _ => log::warn!("{method} refused: {}", error_kind(err)),
        }
    }

    /// `base` scaled by a random factor in [0.5, 1): spreads retries of many calls apart.
    fn jittered(&self, base: Duration, attempt: u32) -> Duration {
        let random = self.jitter.hash_one((Instant::now(), attempt));
        let fraction = 0.5 + (random % 1_000) as f64 / 2_000.0;
        base.mul_f64(fraction)
    }
}

/// Sends through `delivery`, treating "message is not modified" as success.
pub async fn edit<Q>(delivery: &Delivery, chat: ChatId, request: Q) -> Result<(), RequestError>
where
    Q: Request<Err = RequestError> + Send + Sync,
    Output<Q>: Send,
{
    match delivery.send(Some(chat), request).await {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    #[test]
    fn classifies_what_to_repeat() {
        let retry_after = RequestError::RetryAfter(Seconds::from_seconds(3));
        assert_eq!(
            classify(&retry_after),
            (
                ApiErrorLabel::RateLimited,
                Verdict::WaitThenRetry(Duration::from_secs(3))
            )
        );
        let server = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert_eq!(classify(&server), (ApiErrorLabel::Server, Verdict::Retry));
        let gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert_eq!(classify(&gateway), (ApiErrorLabel::Server, Verdict::Retry));
        let client = RequestError::Api(ApiError::Unknown("Bad Request: something new".into()));
        assert_eq!(classify(&client), (ApiErrorLabel::Client, Verdict::Final));
        let blocked = RequestError::Api(ApiError::BotBlocked);
        assert_eq!(classify(&blocked), (ApiErrorLabel::Blocked, Verdict::Final));
        let same = RequestError::Api(ApiError::MessageNotModified);
        assert_eq!(
            classify(&same),
            (ApiErrorLabel::NotModified, Verdict::Final)
        );
        let old = RequestError::Api(ApiError::InvalidQueryId);
        assert_eq!(classify(&old), (ApiErrorLabel::Client, Verdict::Final));
        let large = RequestError::Api(ApiError::Unknown("Request Entity Too Large".into()));
        assert_eq!(classify(&large), (ApiErrorLabel::Client, Verdict::Final));
        let unreadable = |raw: &str| RequestError::InvalidJson {
            source: std::sync::Arc::new(serde_json::from_str::<u8>("x").unwrap_err()),
            raw: raw.into(),
        };
        let page = unreadable("<html>502 Bad Gateway</html>");
        assert_eq!(classify(&page), (ApiErrorLabel::Server, Verdict::Retry));
        let sent = unreadable(r#"{"ok":true,"result":{"message_id":"new shape"}}"#);
        assert_eq!(classify(&sent), (ApiErrorLabel::Client, Verdict::Final));
    }

    #[test]
    fn answers_that_expire_are_not_retried_past_their_expiry() {
        let policy = Policy::default();
        assert_eq!(policy.give_up_for("AnswerInlineQuery"), ANSWER_EXPIRES);
        assert_eq!(policy.give_up_for("AnswerCallbackQuery"), ANSWER_EXPIRES);
        assert_eq!(policy.give_up_for("SendMessage"), policy.give_up_after);
        let short = Policy {
            give_up_after: Duration::from_secs(2),
            ..policy
        };
        assert_eq!(
            short.give_up_for("AnswerInlineQuery"),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full_backoff() {
        use teloxide::dispatching::dialogue::{InMemStorage, Storage as _};
        let storage = InMemStorage::<crate::session::Session>::new().erase();
        let delivery = Delivery::new(Policy::default(), Arc::default(), storage);
        for attempt in 0..200 {
            let wait = delivery.jittered(Duration::from_secs(2), attempt);
            assert!(wait >= Duration::from_secs(1) && wait < Duration::from_secs(2));
        }
    }
}
