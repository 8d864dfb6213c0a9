//! Per-chat state in memory that forgets idle chats.
//!
//! teloxide's `InMemStorage` never evicts, so memory would grow with every chat ever seen. This
//! implements teloxide's `Storage` over a moka cache: `time_to_idle` evicts conversations idle
//! for the TTL and `max_capacity` bounds memory however many chats arrive.
//!
//! moka measures time with its own clock, which tests cannot pause. Each entry therefore also
//! records when it was last used (written or read) on a [`Clock`] (tokio's by default),
//! and a read treats an entry older than the TTL as gone. The two agree in production; the second makes expiry
//! testable (paused tokio time, or a clock the test moves) and exact at the boundary (moka
//! evicts lazily).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use moka::notification::RemovalCause;
use moka::sync::Cache;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;
use tokio::time::Instant;

use crate::service::metrics::StorageStats;

#[derive(Clone)]
struct Entry<D> {
    value: D,
    /// When the entry was last used: written or read.
    used: Instant,
}

/// Where the storage reads the time. Tests whose handlers run on another runtime than the test
/// (the mock Bot API does that) cannot share a paused tokio clock, so they pass their own.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// An expiring, bounded dialogue storage.
pub struct ExpiringStorage<D> {
    cache: Cache<ChatId, Entry<D>>,
    ttl: Duration,
    clock: Clock,
    /// Conversations forgotten for being idle, by moka or by a read that found one too old.
    expired: Arc<AtomicU64>,
}

impl<D: Clone + Send + Sync + 'static> ExpiringStorage<D> {
    /// A storage that forgets a chat `ttl` after its last update and keeps at most `capacity`.
    pub fn new(ttl: Duration, capacity: u64) -> Arc<Self> {
        Self::with_clock(ttl, capacity, Arc::new(Instant::now))
    }

    /// Like [`ExpiringStorage::new`], reading the time from `clock`.
    pub fn with_clock(ttl: Duration, capacity: u64, clock: Clock) -> Arc<Self> {
        let expired = Arc::new(AtomicU64::new(0));
        let counter = expired.clone();
        let cache = Cache::builder()
            .time_to_idle(ttl)
            .max_capacity(capacity)
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Expired {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Arc::new(Self {
            cache,
            ttl,
            clock,
            expired,
        })
    }

    fn read(&self, chat_id: ChatId) -> Option<D> {
        let entry = self.cache.get(&chat_id)?;
        let now = (self.clock)();
        if now.saturating_duration_since(entry.used) >= self.ttl {
            // Counted here: moka reports an explicit invalidation as such, not as expiry.
            if self.cache.remove(&chat_id).is_some() {
                self.expired.fetch_add(1, Ordering::Relaxed);
            }
            return None;
        }
        // Reading is activity too, as for moka's time-to-idle and Redis's GETEX.
        self.cache.insert(
            chat_id,
            Entry {
                value: entry.value.clone(),
                used: now,
            },
        );
        Some(entry.value)
    }

    /// Conversations held now (approximate: moka counts lazily).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Held and expired conversations, for `/metrics`.
    pub fn stats(&self) -> StorageStats {
        let active = self.len();
        StorageStats {
            active,
            expired: self.expired.load(Ordering::Relaxed),
        }
    }
}

impl<D: Clone + Send + Sync + 'static> Storage<D> for ExpiringStorage<D> {
    type Error = Infallible;

    /// Removing a chat that is not there is not an error: `/forget` must always succeed.
    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move {
            self.cache.invalidate(&chat_id);
            Ok(())
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: D,
    ) -> BoxFuture<'static, Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move {
            self.cache.insert(
                chat_id,
                Entry {
                    value: dialogue,
                    used: (self.clock)(),
                },
            );
            Ok(())
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<D>, Self::Error>> {
        Box::pin(async move { Ok(self.read(chat_id)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn forgets_a_chat_after_the_ttl_and_not_before() {
        let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 10);
        let chat = ChatId(7);
        storage.clone().update_dialogue(chat, 1).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(1));
        // A write restarts the clock, and so does a read.
        storage.clone().update_dialogue(chat, 2).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(2));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(2));
        assert_eq!(storage.stats().expired, 0);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), None);
        assert_eq!(
            storage.stats(),
            StorageStats {
                active: 0,
                expired: 1
            }
        );
    }

    #[tokio::test]
    async fn remove_is_idempotent_and_other_chats_stay() {
        let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 10);
        storage.clone().update_dialogue(ChatId(1), 1).await.unwrap();
        storage.clone().update_dialogue(ChatId(2), 2).await.unwrap();
        storage.clone().remove_dialogue(ChatId(1)).await.unwrap();
        storage.clone().remove_dialogue(ChatId(1)).await.unwrap();
        assert_eq!(storage.clone().get_dialogue(ChatId(1)).await.unwrap(), None);
        assert_eq!(
            storage.clone().get_dialogue(ChatId(2)).await.unwrap(),
            Some(2)
        );
    }

    #[tokio::test]
    async fn capacity_bounds_memory() {
        let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 100);
        for i in 0..1_000 {
            storage.clone().update_dialogue(ChatId(i), 0).await.unwrap();
        }
        assert!(storage.len() <= 100, "{}", storage.len());
    }
}
