//! What comes in: counting updates, dropping the ones nobody should see, and flood control.
//!
//! teloxide's dispatcher hands each update to a worker by key (a task and its queue) and blocks
//! its intake, for everyone, while one queue is full. Its default key is the chat, and it
//! removes an idle worker only when there are more than were ever busy at once: after a burst
//! of 3,000 chats, 3,000 workers stayed, about 29 KB each. [`worker_of`] maps chats onto
//! [`WORKERS`] keys instead: a chat always on the same one, so its updates are still handled
//! one after another (two taps at once never race on its state).
//!
//! One chat sending hundreds of messages would fill its worker's queue and stall every other
//! chat. [`Gate`] counts the updates of each chat between the listener and the end of their
//! handler, and drops a chat's updates beyond [`PER_CHAT_LIMIT`] before they reach the
//! dispatcher, telling the chat once per flood. Other chats never wait behind it.
//!
//! [`Intake`] wraps any update listener (long polling or the webhook) with the gate, the
//! update counters, and a filter for updates teloxide cannot parse: it would log those at
//! ERROR with the whole update, user text included.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use dptree::HandlerDescription;
use dptree::HandlerSignature;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, ChatId, Update, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};

use super::metrics::{Metrics, UpdateLabel};
use crate::telegram::HandlerError;

/// Updates of one chat allowed between the listener and the end of their handler. A small share
/// of a worker's queue ([`WORKER_QUEUE`]), so a flooding chat never fills it and blocks the
/// others: that takes 64 chats of one worker flooding at once.
pub const PER_CHAT_LIMIT: usize = 16;

/// The keys the dispatcher runs workers for. Enough that a chat whose reply is slow (retried
/// for up to `RETRY_FOR`) holds up under 1% of the others, few enough that the workers, which
/// stay once started, cost about a megabyte.
pub const WORKERS: u64 = 128;

/// Updates one worker's queue holds. Shared by the chats of that worker; the channel allocates
/// its slots 32 at a time as they fill, so a long queue costs nothing until it is used.
pub const WORKER_QUEUE: usize = 1024;

const _: () = assert!(PER_CHAT_LIMIT * 64 <= WORKER_QUEUE);

/// The worker an update is handled on (the dispatcher's distribution function): the same for
/// every update of a chat. Updates outside a chat (inline queries) go to the default worker.
pub fn worker_of(update: &Update) -> Option<u64> {
    let chat = update.chat()?.id.0;
    // A fixed spread of the id, so neighbouring ids land on different workers.
    Some(((chat as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % WORKERS)
}

/// Sends the flood notice to a chat, in the language its update carried.
pub type Notifier = Box<dyn Fn(ChatId, Option<String>) + Send + Sync>;

#[derive(Debug, Default)]
struct Load {
    in_flight: usize,
    /// Whether this flood was already announced to the chat.
    noticed: bool,
}

/// Per-chat admission of updates; see the module documentation.
pub struct Gate {
    limit: usize,
    chats: Mutex<HashMap<ChatId, Load>>,
    metrics: Arc<Metrics>,
    notify: Notifier,
}

/// The chat an update belongs to (its sender for updates outside a chat, like inline queries).
fn key(update: &Update) -> Option<ChatId> {
    update
        .chat()
        .map(|chat| chat.id)
        .or_else(|| update.from().map(|user| ChatId::from(user.id)))
}

impl Gate {
    pub fn new(limit: usize, metrics: Arc<Metrics>, notify: Notifier) -> Arc<Self> {
        Arc::new(Self {
            limit,
            chats: Mutex::default(),
            metrics,
            notify,
        })
    }

    /// Whether to let `update` through. A dropped one is counted, and the first of a flood
    /// triggers the notice.
    pub fn admit(&self, update: &Update) -> bool {
        let Some(chat) = key(update) else {
            return true;
        };
        let notice = {
            // A panic elsewhere while holding the lock leaves plain counters: still usable.
            let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
            let load = chats.entry(chat).or_default();
            if load.in_flight < self.limit {
                load.in_flight += 1;
                return true;
            }
            !std::mem::replace(&mut load.noticed, true)
        };
        self.metrics.dropped();
        log::debug!("dropped an update from a chat over its limit");
        if notice {
            let language = update.from().and_then(|u| u.language_code.clone());
            (self.notify)(chat, language);
        }
        false
    }

    /// Marks `update`'s handling as finished.
    pub fn done(&self, update: &Update) {
        let Some(chat) = key(update) else {
            return;
        };
        let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(load) = chats.get_mut(&chat) {
            load.in_flight = load.in_flight.saturating_sub(1);
            // The flood is over once the chat's queue drains; a new one gets a new notice.
            if load.in_flight == 0 {
                chats.remove(&chat);
                // After a burst the map's slots would stay as large as it was at its peak.
                let held = chats.len();
                if chats.capacity() > 4 * held.max(16) {
                    chats.shrink_to(2 * held);
                }
            }
        }
    }

    /// The handler tree wrapped so that every update, handled or not, is marked done, even
    /// when a handler panics. A panic is also turned into an error: left to unwind, it would
    /// kill teloxide's worker for that chat, and the chat's next update would take the whole
    /// dispatcher down.
    pub fn around(
        self: &Arc<Self>,
        handler: UpdateHandler<HandlerError>,
    ) -> UpdateHandler<HandlerError> {
        let gate = self.clone();
        let track = dptree::from_fn_with_description(
            DpHandlerDescription::entry(),
            move |deps: dptree::di::DependencyMap, cont| {
                let gate = gate.clone();
                async move {
                    let update = deps.try_get::<Update>();
                    let result = AssertUnwindSafe(cont(deps)).catch_unwind().await;
                    if let Some(update) = update {
                        gate.done(&update);
                    }
                    result.unwrap_or_else(|_| {
                        log::error!("a handler panicked; the update is dropped");
                        let error: HandlerError = "a handler panicked".into();
                        std::ops::ControlFlow::Break(Err(error))
                    })
                }
            },
            HandlerSignature::Entry,
        );
        track.chain(handler)
    }
}

/// An update listener with counting, the parse filter and the gate in front; see the module
/// documentation.
pub struct Intake<L> {
    inner: L,
    gate: Arc<Gate>,
    /// Ends the stream when it resolves (see [`Intake::until`]).
    until: Option<BoxFuture<'static, ()>>,
}

impl<L> Intake<L> {
    pub fn new(inner: L, gate: Arc<Gate>) -> Self {
        Self {
            inner,
            gate,
            until: None,
        }
    }

    /// Ends the update stream when `stopped` resolves. teloxide's webhook stream only ends
    /// when another request arrives after the stop, so without this a shutdown would wait for
    /// Telegram's next post (or the whole grace period).
    pub fn until(self, stopped: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            until: Some(Box::pin(stopped)),
            ..self
        }
    }
}

impl<'a, L> AsUpdateStream<'a> for Intake<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type StreamErr = L::Err;
    type Stream = BoxStream<'a, Result<Update, L::Err>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let gate = self.gate.clone();
        let stream = self.inner.as_stream();
        let stream = match self.until.take() {
            Some(stopped) => drain_then_end(stream.boxed(), stopped),
            None => stream.boxed(),
        };
        stream
            .filter(move |update| {
                let keep = match update {
                    Ok(Update {
                        id,
                        kind: UpdateKind::Error(_),
                    }) => {
                        gate.metrics.update(UpdateLabel::Other);
                        log::warn!("skipped update {} that teloxide cannot parse", id.0);
                        false
                    }
                    Ok(update) => {
                        gate.metrics.update(UpdateLabel::of(update));
                        gate.admit(update)
                    }
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }
}

/// Ends `stream` once `stopped` has resolved and nothing more is ready at once: updates the
/// webhook already acknowledged to Telegram are still handled, none are waited for.
fn drain_then_end<'a, T: Send + 'a>(
    mut stream: impl futures_util::Stream<Item = T> + Send + Unpin + 'a,
    mut stopped: BoxFuture<'static, ()>,
) -> BoxStream<'a, T> {
    let mut draining = false;
    futures_util::stream::poll_fn(move |cx| {
        if !draining && stopped.as_mut().poll(cx).is_ready() {
            draining = true;
        }
        match stream.poll_next_unpin(cx) {
            Poll::Pending if draining => Poll::Ready(None),
            other => other,
        }
    })
    .boxed()
}

impl<L> UpdateListener for Intake<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.inner.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.inner.hint_allowed_updates(hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn message(chat: i64, id: i32) -> Update {
        // From a string: Update's deserializer does not accept a `serde_json::Value`.
        let json = serde_json::json!({
            "update_id": id,
            "message": {
                "message_id": id, "date": 0, "text": "hi",
                "chat": {"id": chat, "type": "private", "first_name": "A"},
                "from": {"id": chat, "is_bot": false, "first_name": "A", "language_code": "ja"}
            }
        });
        serde_json::from_str(&json.to_string()).expect("a valid update")
    }

    #[test]
    fn one_flooding_chat_is_capped_and_told_once_per_flood() {
        let notices = Arc::new(AtomicUsize::new(0));
        let counted = notices.clone();
        let gate = Gate::new(
            3,
            Arc::default(),
            Box::new(move |chat, lang| {
                assert_eq!((chat, lang.as_deref()), (ChatId(1), Some("ja")));
                counted.fetch_add(1, Ordering::Relaxed);
            }),
        );
        let admitted: Vec<bool> = (0..10).map(|i| gate.admit(&message(1, i))).collect();
        assert_eq!(admitted.iter().filter(|a| **a).count(), 3);
        assert_eq!(notices.load(Ordering::Relaxed), 1);
        // Another chat is not affected.
        assert!(gate.admit(&message(2, 100)));
        // The flood drains; the next flood is announced again.
        for i in 0..3 {
            gate.done(&message(1, i));
        }
        assert!((0..3).all(|i| gate.admit(&message(1, 20 + i))));
        assert!(!gate.admit(&message(1, 30)));
        assert_eq!(notices.load(Ordering::Relaxed), 2);
        assert_eq!(
            gate.metrics.render(None).matches("dropped_total 8").count(),
            1
        );
    }
}
