//! Where conversations are kept: [`Store`] chooses the backend `STORAGE_URL` asks for, the
//! in-memory [`memory::ExpiringStorage`] or [`redis::RedisStorage`], and answers what
//! `/healthz` and `/metrics` ask of it.
//!
//! Both backends are generic over the stored value; the bot stores [`Session`]s.

pub mod memory;
pub mod photos;
pub mod redis;

use std::sync::Arc;

use teloxide::dispatching::dialogue::Storage;

pub use self::memory::ExpiringStorage;
pub use self::photos::RedisPhotoCache;
pub use self::redis::RedisStorage;
pub use super::metrics::StorageStats;
use crate::session::{Session, SessionStorage};
use crate::telegram::photos::{MemoryCache, PhotoCache};

/// The conversation storage the bot runs with (`STORAGE_URL`), and what `/healthz` and
/// `/metrics` ask of it.
#[derive(Clone)]
pub enum Store {
    Memory(Arc<ExpiringStorage<Session>>),
    Redis(Arc<RedisStorage>),
}

impl Store {
    /// The storage as the handlers use it.
    pub fn erased(&self) -> Arc<SessionStorage> {
        match self {
            Self::Memory(storage) => storage.clone().erase(),
            Self::Redis(storage) => Storage::<Session>::erase(storage.clone()),
        }
    }

    /// Where the pictures' Telegram ids are kept: in Redis too when the conversations are, so
    /// instances share one upload per picture.
    pub fn photo_cache(&self) -> Arc<dyn PhotoCache> {
        match self {
            Self::Memory(_) => MemoryCache::new(),
            Self::Redis(storage) => RedisPhotoCache::new(storage.clone()),
        }
    }

    /// Starts what keeps the storage tidy in the background: the in-memory one sweeps its idle
    /// conversations, so their memory is returned even when no update comes (Redis expires
    /// keys itself). The task ends when the storage is dropped.
    pub fn spawn_upkeep(&self) {
        let Self::Memory(storage) = self else {
            return;
        };
        let every = storage.sweep_interval();
        let storage = Arc::downgrade(storage);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(storage) = storage.upgrade() else {
                    return;
                };
                storage.sweep();
            }
        });
    }

    /// Whether the storage answers now (memory always does).
    pub async fn reachable(&self) -> bool {
        match self {
            Self::Memory(_) => true,
            Self::Redis(storage) => storage.ping().await,
        }
    }

    /// Held and expired conversations; `None` when the storage cannot be asked.
    pub async fn stats(&self) -> Option<StorageStats> {
        match self {
            Self::Memory(storage) => Some(storage.stats()),
            Self::Redis(storage) => storage.stats().await.ok(),
        }
    }
}
