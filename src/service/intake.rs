//! What comes in: counting updates, dropping the ones nobody should see, and flood control.
//!
//! teloxide's dispatcher hands each update to a worker by key (a task and its queue). Its
//! default key is the chat, and it removes an idle worker only when there are more than were
//! ever busy at once: after a burst of 3,000 chats, 3,000 workers stayed, about 29 KB each. So
//! the bot runs every update on teloxide's one concurrent worker, and the [`Gate`] keeps each
//! chat's updates in order instead: it hands each a ticket as it arrives (the listener's order)
//! and lets a handler start only when the chat's earlier updates are done. Two taps at once
//! never race on a chat's state, a slow chat holds up no one else, and nothing of a chat stays
//! once its updates are done.
//!
//! One chat sending hundreds of messages would fill its worker's queue and stall every other
//! chat. [`Gate`] counts the updates of each chat between the listener and the end of their
//! handler, and drops a chat's updates beyond [`PER_CHAT_LIMIT`] before they reach the
//! dispatcher, telling the chat once per flood. Other chats never wait behind it.
//!
//! [`Intake`] wraps any update listener (long polling or the webhook) with the gate, the
//! update counters, and a filter for updates teloxide cannot parse: it would log those at
//! ERROR with the whole update, user text included.
//!
//! The gate also notes when it let each update in, so that the reply latency
//! ([`Metrics::time_reply`]) counts the wait in the dispatcher's queue, not only the handler.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Instant;

use dptree::HandlerDescription;
use dptree::HandlerSignature;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, ChatId, Update, UpdateId, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};

use super::metrics::{Metrics, UpdateLabel};
use crate::telegram::HandlerError;

/// Updates of one chat allowed between the listener and the end of their handler: more from a
/// flooding chat would only wait their turn, holding memory.
pub const PER_CHAT_LIMIT: usize = 16;

/// Sends the flood notice to a chat, in the language its update carried.
pub type Notifier = Box<dyn Fn(ChatId, Option<String>) + Send + Sync>;

#[derive(Debug)]
struct Load {
    in_flight: usize,
    /// Whether this flood was already announced to the chat.
    noticed: bool,
    /// The ticket the chat's next update gets.
    next: u64,
    /// The ticket whose turn it is; a handler waits for its own.
    serving: tokio::sync::watch::Sender<u64>,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            in_flight: 0,
            noticed: false,
            next: 0,
            serving: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// What the gate holds behind one lock.
#[derive(Debug, Default)]
struct Admitted {
    chats: HashMap<ChatId, Load>,
    /// When each update let through and not yet done arrived.
    arrived: HashMap<UpdateId, Instant>,
    /// The ticket of each update of a chat let through and not yet done.
    tickets: HashMap<UpdateId, (ChatId, u64)>,
}

impl Admitted {
    fn shrink(&mut self) {
        fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
            let held = map.len();
            if map.capacity() > 4 * held.max(16) {
                map.shrink_to(2 * held);
            }
        }
        shrink(&mut self.chats);
        shrink(&mut self.arrived);
        shrink(&mut self.tickets);
    }
}

/// Per-chat admission of updates; see the module documentation.
pub struct Gate {
    limit: usize,
    admitted: Mutex<Admitted>,
    metrics: Arc<Metrics>,
    notify: Notifier,
}

/// The chat an update belongs to (its sender for updates outside a chat, like inline queries).
pub(super) fn chat_of(update: &Update) -> Option<ChatId> {
    update
        .chat()
        .map(|chat| chat.id)
        .or_else(|| update.from().map(|user| ChatId::from(user.id)))
}

impl Gate {
    pub fn new(limit: usize, metrics: Arc<Metrics>, notify: Notifier) -> Arc<Self> {
        Arc::new(Self {
            limit,
            admitted: Mutex::default(),
            metrics,
            notify,
        })
    }

    /// Whether to let `update` through. A dropped one is counted, and the first of a flood
    /// triggers the notice.
    pub fn admit(&self, update: &Update) -> bool {
        let now = Instant::now();
        let notice = {
            let mut admitted = self.lock();
            let Some(chat) = chat_of(update) else {
                admitted.arrived.insert(update.id, now);
                return true;
            };
            let load = admitted.chats.entry(chat).or_default();
            if load.in_flight < self.limit {
                load.in_flight += 1;
                let ticket = load.next;
                load.next += 1;
                admitted.arrived.insert(update.id, now);
                // Inline queries (no chat) are answered whenever they come.
                if update.chat().is_some() {
                    admitted.tickets.insert(update.id, (chat, ticket));
                }
                return true;
            }
            (!std::mem::replace(&mut load.noticed, true)).then_some(chat)
        };
        self.metrics.dropped();
        log::debug!("dropped an update from a chat over its limit");
        if let Some(chat) = notice {
            let language = update.from().and_then(|u| u.language_code.clone());
            (self.notify)(chat, language);
        }
        false
    }

    /// When `update` was let through; `None` for one that did not come through the gate.
    pub fn arrival(&self, update: &Update) -> Option<Instant> {
        self.lock().arrived.get(&update.id).copied()
    }

    /// Waits until the earlier updates of `update`'s chat are done.
    pub async fn turn(&self, update: &Update) {
        let waiting = {
            let admitted = self.lock();
            admitted.tickets.get(&update.id).and_then(|(chat, ticket)| {
                let serving = admitted.chats.get(chat)?.serving.subscribe();
                Some((serving, *ticket))
            })
        };
        if let Some((mut serving, ticket)) = waiting {
            // Tickets are served in order; an error means the chat's entry is gone, when no
            // earlier update is left to wait for.
            let _ = serving.wait_for(|now| *now >= ticket).await;
        }
    }

    /// Marks `update`'s handling as finished.
    pub fn done(&self, update: &Update) {
        let mut admitted = self.lock();
        admitted.arrived.remove(&update.id);
        let ticketed = admitted.tickets.remove(&update.id).is_some();
        let Some(chat) = chat_of(update) else {
            return;
        };
        if let Some(load) = admitted.chats.get_mut(&chat) {
            if ticketed {
                load.serving.send_modify(|now| *now += 1);
            }
            load.in_flight = load.in_flight.saturating_sub(1);
            // The flood is over once the chat's queue drains; a new one gets a new notice.
            if load.in_flight == 0 {
                admitted.chats.remove(&chat);
                // After a burst the maps' slots would stay as large as they were at the peak.
                admitted.shrink();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Admitted> {
        // A panic elsewhere while holding the lock leaves plain counters: still usable.
        self.admitted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handler tree wrapped so that every update, handled or not, is marked done, even
    /// when a handler panics, and its reply latency is timed from its arrival. A panic is also turned into an error: left to unwind, it would
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
                    let arrived = update.as_deref().and_then(|update| gate.arrival(update));
                    if let Some(update) = update.as_deref() {
                        gate.turn(update).await;
                    }
                    let handling = AssertUnwindSafe(cont(deps)).catch_unwind();
                    let result = gate
                        .metrics
                        .time_reply(arrived.unwrap_or_else(Instant::now), handling)
                        .await;
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

    #[tokio::test]
    async fn a_chats_updates_take_turns_in_arrival_order_and_leave_nothing_behind() {
        let gate = Gate::new(16, Arc::default(), Box::new(|_, _| {}));
        let (first, second, other) = (message(1, 1), message(1, 2), message(2, 3));
        assert!(gate.admit(&first) && gate.admit(&second) && gate.admit(&other));
        let waiting = |update: &Update| {
            let gate = gate.clone();
            let update = update.clone();
            tokio::spawn(async move { gate.turn(&update).await })
        };
        // Another chat does not wait; the first of a chat does not either.
        tokio::time::timeout(std::time::Duration::from_secs(1), gate.turn(&other))
            .await
            .expect("another chat's turn at once");
        gate.turn(&first).await;
        let second_turn = waiting(&second);
        // Time for it to run, and find it is not its turn.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            !second_turn.is_finished(),
            "the second went before the first was done"
        );
        gate.done(&first);
        second_turn
            .await
            .expect("the second's turn after the first");
        gate.done(&second);
        gate.done(&other);
        let admitted = gate.lock();
        assert!(
            admitted.chats.is_empty() && admitted.tickets.is_empty() && admitted.arrived.is_empty()
        );
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
