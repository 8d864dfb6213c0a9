//! One instance at a time per chat, when several share the conversations in Redis.
//!
//! Within one instance teloxide's dispatcher handles a chat's updates one after another. Two
//! instances behind one webhook do not know of each other: Telegram posts updates concurrently
//! (`max_connections` > 1), so two taps of one person can arrive at both at once; both would
//! read the same state, and the later write would erase the other tap. [`around`] wraps the
//! handler tree so that an update of a chat is handled only while its instance holds the chat's
//! lease in Redis (`SET NX` with a short expiry, renewed while the handler works, released by
//! token). The other instance waits for it, then reads what the first one wrote: the visible
//! result is what one instance would have shown.
//!
//! A lease that cannot be had (Redis down, or a holder still working after [`MAX_WAIT`]) does
//! not hold the update back: it is handled without one, as a single instance would, and the
//! handler's own storage call tells the user to try again if Redis is down.

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dptree::{HandlerDescription, HandlerSignature};
use futures_util::FutureExt;
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::types::{ChatId, Update, UpdateKind};
use tokio::time::Instant;

use super::intake::chat_of;
use super::storage::RedisStorage;
use crate::telegram::HandlerError;

/// How long a lease lasts without renewal: an instance that dies holding one delays that
/// chat by at most this.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// How often a held lease is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(3);

/// The longest an update waits for its chat's lease before it is handled anyway. A holder
/// renewing for longer is stuck behind a failing Bot API; the user should not wait on it.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Hands out the leases of one instance.
pub struct Leases {
    redis: Arc<RedisStorage>,
    /// This instance's random part of every token.
    instance: u64,
    next: AtomicU64,
}

/// A lease held; released by [`Leases::release`].
struct Held {
    chat: ChatId,
    token: String,
}

impl Leases {
    pub fn new(redis: Arc<RedisStorage>) -> Arc<Self> {
        Arc::new(Self {
            redis,
            instance: RandomState::new().hash_one(std::process::id()),
            next: AtomicU64::new(0),
        })
    }

    /// Waits for the lease of `chat`; `None` when it is handled without one (see the module
    /// documentation).
    async fn acquire(&self, chat: ChatId) -> Option<Held> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let token = format!("{:016x}-{n}", self.instance);
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match self.redis.try_lease(chat, &token, LEASE_TTL).await {
                Ok(true) => return Some(Held { chat, token }),
                Ok(false) if started.elapsed() < MAX_WAIT => {
                    // Spread the waiters of a chat apart, and back off to a few polls a
                    // second while the holder is slow.
                    let jitter = RandomState::new().hash_one(n) % 10;
                    tokio::time::sleep(pause + Duration::from_millis(jitter)).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Ok(false) => {
                    log::warn!(
                        "a chat's lease was held for over {MAX_WAIT:?}; handling its update anyway"
                    );
                    return None;
                }
                Err(err) => {
                    log::debug!("no lease ({err}); handling the update without one");
                    return None;
                }
            }
        }
    }

    async fn release(&self, held: Held) {
        if let Err(err) = self
            .redis
            .renew_lease(held.chat, &held.token, Duration::ZERO)
            .await
        {
            // It expires by itself within LEASE_TTL.
            log::debug!("could not release a lease: {err}");
        }
    }

    /// Renews `held` until the future is dropped; it never ends by itself.
    async fn keep(&self, held: &Held) -> Infallible {
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            match self
                .redis
                .renew_lease(held.chat, &held.token, LEASE_TTL)
                .await
            {
                Ok(true) => {}
                Ok(false) => log::warn!("a chat's lease lapsed while its update was handled"),
                Err(err) => log::debug!("could not renew a lease: {err}"),
            }
        }
    }
}

/// Updates that change a conversation; inline queries only read one.
fn leased(update: &Update) -> Option<ChatId> {
    match update.kind {
        UpdateKind::InlineQuery(_) => None,
        _ => chat_of(update),
    }
}

/// `handler` run under its chat's lease; see the module documentation.
pub fn around(
    leases: Arc<Leases>,
    handler: UpdateHandler<HandlerError>,
) -> UpdateHandler<HandlerError> {
    let lease = dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: dptree::di::DependencyMap, cont| {
            let leases = leases.clone();
            async move {
                let chat = deps.try_get::<Update>().and_then(|u| leased(&u));
                let held = match chat {
                    Some(chat) => leases.acquire(chat).await,
                    None => None,
                };
                let Some(held) = held else {
                    return cont(deps).await;
                };
                // The lease is released even when a handler panics (the gate outside turns
                // the panic into an error afterwards).
                let work = AssertUnwindSafe(cont(deps)).catch_unwind();
                let result = tokio::select! {
                    result = work => result,
                    never = leases.keep(&held) => match never {},
                };
                leases.release(held).await;
                match result {
                    Ok(flow) => flow,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        },
        HandlerSignature::Entry,
    );
    lease.chain(handler)
}
