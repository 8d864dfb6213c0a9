//! Per-chat state in memory that forgets idle chats, in a few dozen bytes a chat.
//!
//! teloxide's `InMemStorage` never evicts, so memory would grow with every chat ever seen.
//! [`ExpiringStorage`] forgets a chat idle for the TTL and keeps at most its capacity.
//!
//! A million idle chats must fit a small machine, so each is kept as compactly as it can be: a
//! hash-map slot of 40 bytes holding the chat id, when it was last used and the value in
//! postcard's binary form, inline when it fits in [`INLINE`] bytes (a chat at the menu takes
//! about a dozen), boxed otherwise. The maps are sharded so that one lock is never held
//! across every chat. An earlier version kept the `Session` struct in a moka cache: about 330
//! bytes a chat, most of them moka's bookkeeping (an entry, its metadata and its LRU nodes,
//! each behind a pointer, and a frequency sketch sized to the capacity), none of which plain
//! time-to-idle with a bound needs.
//!
//! Expiry: a read treats an entry idle for the TTL as gone, so expiry is exact at the boundary;
//! [`ExpiringStorage::sweep`] removes idle entries and gives their memory back (the service
//! runs it periodically, and [`ExpiringStorage::len`] first). Capacity: a new chat in a full
//! storage first drops the idle chats of its shard, or else the least recently used eighth of
//! it (1/128 of the storage), which keeps the cost per write constant on average.
//!
//! Time comes from a [`Clock`] (tokio's by default), so tests can pause it or move it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;
use tokio::time::Instant;

use crate::service::metrics::StorageStats;

/// Where the storage reads the time. Tests whose handlers run on another runtime than the test
/// (the mock Bot API does that) cannot share a paused tokio clock, so they pass their own.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Values up to this many bytes (encoded) live inside the map's slot, with no allocation.
pub const INLINE: usize = 22;

/// Shards of the map, each behind its own lock.
const SHARDS: usize = 16;

/// A value in postcard's binary form.
enum Packed {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Packed {
    fn encode<D: Serialize>(value: &D) -> Result<Self, postcard::Error> {
        let mut bytes = [0; INLINE];
        match postcard::to_slice(value, &mut bytes).map(|used| used.len()) {
            // At most INLINE, so the cast keeps the value.
            Ok(len) => Ok(Self::Inline {
                len: len as u8,
                bytes,
            }),
            Err(postcard::Error::SerializeBufferFull) => {
                Ok(Self::Heap(postcard::to_allocvec(value)?.into_boxed_slice()))
            }
            Err(err) => Err(err),
        }
    }

    fn decode<D: DeserializeOwned>(&self) -> Result<D, postcard::Error> {
        let bytes = match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(bytes) => bytes,
        };
        postcard::from_bytes(bytes)
    }
}

struct Slot {
    /// When the entry was last used (written or read), in milliseconds since the storage began.
    used: u64,
    value: Packed,
}

type Shard = HashMap<i64, Slot>;

/// An expiring, bounded dialogue storage; see the module documentation.
pub struct ExpiringStorage<D> {
    shards: Box<[Mutex<Shard>]>,
    capacity: usize,
    /// Entries held, across the shards.
    held: AtomicUsize,
    ttl_ms: u64,
    clock: Clock,
    origin: Instant,
    /// Conversations forgotten for being idle, by a sweep or by a read that found one too old.
    expired: AtomicU64,
    stored: PhantomData<fn(D) -> D>,
}

impl<D: Serialize + DeserializeOwned + Send + 'static> ExpiringStorage<D> {
    /// A storage that forgets a chat `ttl` after its last update and keeps at most `capacity`.
    pub fn new(ttl: Duration, capacity: u64) -> Arc<Self> {
        Self::with_clock(ttl, capacity, Arc::new(Instant::now))
    }

    /// Like [`ExpiringStorage::new`], reading the time from `clock`.
    pub fn with_clock(ttl: Duration, capacity: u64, clock: Clock) -> Arc<Self> {
        Arc::new(Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            held: AtomicUsize::new(0),
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            origin: clock(),
            clock,
            expired: AtomicU64::new(0),
            stored: PhantomData,
        })
    }

    fn now(&self) -> u64 {
        let since = (self.clock)().saturating_duration_since(self.origin);
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }

    fn is_idle(&self, slot: &Slot, now: u64) -> bool {
        now.saturating_sub(slot.used) >= self.ttl_ms
    }

    fn shard_of(chat: ChatId) -> usize {
        // A fixed spread of the id, so neighbouring ids land in different shards.
        let spread = (chat.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        usize::try_from(spread % SHARDS as u64).unwrap_or_default()
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding the lock leaves a consistent map: still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn shard(&self, chat: ChatId) -> MutexGuard<'_, Shard> {
        self.lock(Self::shard_of(chat))
    }

    fn remove(&self, shard: &mut Shard, chat: ChatId) -> bool {
        let removed = shard.remove(&chat.0).is_some();
        if removed {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    fn read(&self, chat: ChatId) -> Option<D> {
        let now = self.now();
        let mut shard = self.shard(chat);
        let slot = shard.get_mut(&chat.0)?;
        if self.is_idle(slot, now) {
            self.remove(&mut shard, chat);
            self.expired.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // Reading is activity too, as for Redis's GETEX.
        slot.used = now;
        match slot.value.decode() {
            Ok(value) => Some(value),
            Err(err) => {
                log::error!("a stored conversation could not be read ({err}); it starts afresh");
                self.remove(&mut shard, chat);
                None
            }
        }
    }

    fn write(&self, chat: ChatId, value: &D) {
        let value = match Packed::encode(value) {
            Ok(value) => value,
            Err(err) => {
                log::error!("a conversation could not be stored ({err}); it starts afresh");
                self.remove(&mut self.shard(chat), chat);
                return;
            }
        };
        let now = self.now();
        let index = Self::shard_of(chat);
        let new = !self.lock(index).contains_key(&chat.0);
        if new && self.held.load(Ordering::Relaxed) >= self.capacity {
            self.make_room(index, now);
        }
        if self
            .lock(index)
            .insert(chat.0, Slot { used: now, value })
            .is_none()
        {
            self.held.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops the idle entries of the chat's shard, or if there are none its least recently
    /// used eighth; the next shard's if that one is empty. One lock at a time.
    fn make_room(&self, index: usize, now: u64) {
        for index in (index..SHARDS).chain(0..index) {
            let mut shard = self.lock(index);
            if self.drop_idle(&mut shard, now) > 0 {
                return;
            }
            if shard.is_empty() {
                continue;
            }
            let mut used: Vec<u64> = shard.values().map(|slot| slot.used).collect();
            let oldest = (used.len() / 8).max(1) - 1;
            let (_, &mut cutoff, _) = used.select_nth_unstable(oldest);
            let before = shard.len();
            shard.retain(|_, slot| slot.used > cutoff);
            self.held.fetch_sub(before - shard.len(), Ordering::Relaxed);
            return;
        }
    }

    /// Drops the shard's idle entries; returns how many.
    fn drop_idle(&self, shard: &mut Shard, now: u64) -> usize {
        let before = shard.len();
        shard.retain(|_, slot| !self.is_idle(slot, now));
        let dropped = before - shard.len();
        self.held.fetch_sub(dropped, Ordering::Relaxed);
        self.expired.fetch_add(dropped as u64, Ordering::Relaxed);
        dropped
    }

    /// Removes the conversations idle for the TTL and returns the memory they held.
    pub fn sweep(&self) {
        let now = self.now();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            self.drop_idle(&mut shard, now);
            // Halving at a quarter full keeps a shrink from following every removal.
            let held = shard.len();
            if shard.capacity() > 4 * held {
                shard.shrink_to(2 * held);
            }
        }
    }

    /// Conversations held now, after a sweep.
    pub fn len(&self) -> u64 {
        self.sweep();
        self.held.load(Ordering::Relaxed) as u64
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

    /// How often the service sweeps: often enough that memory follows the chats within a
    /// fraction of the TTL, rarely enough to cost nothing.
    pub fn sweep_interval(&self) -> Duration {
        (Duration::from_millis(self.ttl_ms) / 8)
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl<D: Serialize + DeserializeOwned + Send + 'static> Storage<D> for ExpiringStorage<D> {
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
            self.remove(&mut self.shard(chat_id), chat_id);
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
            self.write(chat_id, &dialogue);
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
mod tests;
