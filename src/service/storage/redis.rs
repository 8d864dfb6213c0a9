//! Conversation state in Redis, so a conversation survives a restart and several instances
//! share it.
//!
//! It behaves like the in-memory [`ExpiringStorage`](super::ExpiringStorage): a chat
//! is forgotten once it has been idle for the TTL, and reading it counts as activity.
//!
//! # Keys (`<prefix>` is `scar-guide` unless a test isolates itself)
//! - `<prefix>:session:<chat id>`: the session as JSON, with the TTL as Redis expiry, renewed on
//!   every read (`GETEX`) and write (`SET .. EX`).
//! - `<prefix>:sessions`: a sorted set of chat ids scored by when their key expires (unix
//!   seconds). Redis forgets expired keys silently; this index is how `/metrics` learns how many
//!   conversations are active and how many expired.
//! - `<prefix>:expired`: how many conversations expired, shared by all instances.
//! - `<prefix>:photo:<picture>:<hash of its PNG>`: the Telegram file id of an uploaded picture,
//!   so each picture is uploaded once per bot whichever instance sends it first
//!   ([`RedisStorage::photo_id`]). Plain `GET`/`SET`/`DEL` of a string, apart from the sessions
//!   and their index; kept for [`PHOTO_TTL`], renewed by every upload.
//! - the rate budget and the per-chat leases: see [`coordination`].
//!
//! Every session operation is one Lua script, so the key and the index never disagree, and each reads
//! the time from Redis (`TIME`), so instances with skewed clocks agree. Needs Redis 6.2+
//! (`GETEX`).
//!
//! # When Redis is away
//! Nothing connects at start-up: Redis being down then is not fatal. Every call is bounded in
//! time ([`CALL_DEADLINE`]) so a hung Redis never stalls a handler; the caller gets an error
//! and can tell the user to try again. The connection is re-established by the next call after
//! Redis is back, without a restart.

mod coordination;
mod keys;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use self::coordination::CoordinationScripts;
use self::keys::{Keys, Scripts};
use crate::config::RedisUrl;
use crate::service::metrics::StorageStats;

/// The key prefix in production.
pub const DEFAULT_PREFIX: &str = "scar-guide";

/// The longest one storage call may take, reconnecting included. A handler waiting longer
/// than this would feel like a bot that does not answer.
pub const CALL_DEADLINE: Duration = Duration::from_secs(3);

/// How long a picture's file id is kept. Telegram keeps ids valid for as long as the bot lives;
/// the expiry only clears the ids of pictures redrawn since (their key names the old bytes).
pub const PHOTO_TTL: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// A health check is a yes/no question; a slow answer already means "not healthy".
const PING_DEADLINE: Duration = Duration::from_secs(1);

/// One attempt to open a TCP connection (and authenticate).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// One command's answer on an open connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Every this many writes an instance also sweeps the index, so it cannot grow without bound
/// when nobody scrapes `/metrics`.
const SWEEP_EVERY: u64 = 256;

/// A storage call that failed. Neither `Display` nor `Debug` ever shows a stored value or the
/// URL (which may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum RedisStorageError {
    /// No answer: the connection failed or Redis did not reply in time. Worth trying again
    /// in a moment.
    #[error("Redis is unreachable ({0})")]
    Unreachable(&'static str),
    /// Redis answered with an error (its error code only: the message may quote data).
    #[error("Redis answered with an error ({0})")]
    Redis(String),
    /// A session could not be encoded as JSON.
    #[error("a conversation could not be encoded as JSON")]
    Encode,
}

impl RedisStorageError {
    /// Whether Redis could not be reached (rather than answering wrongly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }

    /// What a client error means here, without its message (which can quote data).
    fn from_redis(err: &RedisError) -> Self {
        if err.is_timeout() {
            Self::Unreachable("no answer in time")
        } else if err.is_connection_refusal() {
            Self::Unreachable("connection refused")
        } else if err.is_connection_dropped() {
            Self::Unreachable("connection lost")
        } else if err.is_io_error() {
            Self::Unreachable("network error")
        } else {
            Self::Redis(err.code().unwrap_or_else(|| err.category()).to_owned())
        }
    }
}

/// Conversation state in Redis; see the module documentation.
pub struct RedisStorage {
    client: Client,
    /// Created on first use rather than in [`RedisStorage::open`]: it must live on the async
    /// runtime, and is replaced after an error it would not recover from by itself.
    connection: Mutex<Option<ConnectionManager>>,
    keys: Keys,
    /// The TTL in whole seconds, as Redis takes it.
    ttl_secs: u64,
    scripts: Scripts,
    coordination: CoordinationScripts,
    writes: AtomicU64,
}

impl RedisStorage {
    /// A storage at `url` (validated by the configuration), without connecting: Redis being
    /// down at start-up is not fatal, the first call connects.
    pub fn open(url: &RedisUrl, ttl: Duration) -> Arc<Self> {
        Self::with_prefix(url, ttl, DEFAULT_PREFIX)
    }

    /// Like [`RedisStorage::open`], with keys under `prefix` instead of `scar-guide` (tests
    /// isolate themselves with it).
    pub fn with_prefix(url: &RedisUrl, ttl: Duration, prefix: &str) -> Arc<Self> {
        Arc::new(Self {
            client: url.client().clone(),
            connection: Mutex::new(None),
            keys: Keys::new(prefix),
            ttl_secs: ttl_secs(ttl),
            scripts: Scripts::new(),
            coordination: CoordinationScripts::new(),
            writes: AtomicU64::new(0),
        })
    }

    /// Whether Redis answers `PING` within about a second.
    pub async fn ping(&self) -> bool {
        self.call(PING_DEADLINE, |mut connection| async move {
            ::redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .is_ok()
    }

    /// Active conversations and those expired so far (by any instance). Counts the
    /// conversations that expired since the last look first.
    pub async fn stats(&self) -> Result<StorageStats, RedisStorageError> {
        let mut invocation = self.scripts.stats.prepare_invoke();
        invocation.key(&self.keys.index).key(&self.keys.expired);
        let invocation = &invocation;
        let (active, expired): (u64, u64) = self
            .call(CALL_DEADLINE, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        Ok(StorageStats { active, expired })
    }

    async fn read(&self, chat_id: ChatId) -> Result<Option<String>, RedisStorageError> {
        let mut invocation = self.scripts.get.prepare_invoke();
        self.keys.add(&mut invocation, chat_id);
        invocation.arg(chat_id.0).arg(self.ttl_secs);
        let invocation = &invocation;
        self.call(CALL_DEADLINE, |mut connection| async move {
            invocation.invoke_async(&mut connection).await
        })
        .await
    }

    async fn write(&self, chat_id: ChatId, json: String) -> Result<(), RedisStorageError> {
        let sweep = self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
        let mut invocation = self.scripts.update.prepare_invoke();
        self.keys.add(&mut invocation, chat_id);
        invocation
            .arg(chat_id.0)
            .arg(self.ttl_secs)
            .arg(json)
            .arg(u8::from(sweep));
        let invocation = &invocation;
        self.call(CALL_DEADLINE, |mut connection| async move {
            invocation.invoke_async::<()>(&mut connection).await
        })
        .await
    }

    async fn remove(&self, chat_id: ChatId) -> Result<(), RedisStorageError> {
        let mut invocation = self.scripts.remove.prepare_invoke();
        self.keys.add(&mut invocation, chat_id);
        invocation.arg(chat_id.0);
        let invocation = &invocation;
        self.call(CALL_DEADLINE, |mut connection| async move {
            invocation.invoke_async::<()>(&mut connection).await
        })
        .await
    }

    /// The file id cached for a picture (`key`: [`crate::telegram::photos::Photos::key`]).
    pub async fn photo_id(&self, key: &str) -> Result<Option<String>, RedisStorageError> {
        let name = &self.keys.photo(key);
        self.call(CALL_DEADLINE, |mut connection| async move {
            ::redis::cmd("GET")
                .arg(name)
                .query_async::<Option<String>>(&mut connection)
                .await
        })
        .await
    }

    /// Keeps a picture's file id for [`PHOTO_TTL`].
    pub async fn set_photo_id(&self, key: &str, file_id: &str) -> Result<(), RedisStorageError> {
        let name = &self.keys.photo(key);
        self.call(CALL_DEADLINE, |mut connection| async move {
            ::redis::cmd("SET")
                .arg(name)
                .arg(file_id)
                .arg("EX")
                .arg(PHOTO_TTL.as_secs())
                .query_async::<()>(&mut connection)
                .await
        })
        .await
    }

    /// Drops a picture's file id (Telegram refused it).
    pub async fn forget_photo_id(&self, key: &str) -> Result<(), RedisStorageError> {
        let name = &self.keys.photo(key);
        self.call(CALL_DEADLINE, |mut connection| async move {
            ::redis::cmd("DEL")
                .arg(name)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
    }

    /// Runs `op` on the connection within `deadline`.
    ///
    /// The connection manager reports a lost connection to the call that finds it and only
    /// then reconnects; without a second attempt the first call after an outage would fail
    /// even though Redis is back. Every script is idempotent, so repeating one is safe.
    async fn call<T, F, Fut>(&self, deadline: Duration, op: F) -> Result<T, RedisStorageError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let attempts = async {
            let mut retried = false;
            loop {
                let connection = self.connection()?;
                match op(connection).await {
                    Ok(value) => return Ok(value),
                    Err(err) if !retried && err.is_io_error() && !err.is_timeout() => {
                        log::debug!("Redis connection lost; trying once more");
                        retried = true;
                    }
                    Err(err) => {
                        self.after_error(&err);
                        return Err(RedisStorageError::from_redis(&err));
                    }
                }
            }
        };
        tokio::time::timeout(deadline, attempts)
            .await
            .unwrap_or(Err(RedisStorageError::Unreachable("no answer in time")))
    }

    fn connection(&self) -> Result<ConnectionManager, RedisStorageError> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        // One attempt per call (no backoff inside the manager): the caller has a deadline,
        // and the next call tries again anyway.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let connection = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|err| RedisStorageError::from_redis(&err))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// The manager reconnects by itself after network errors only. A failed handshake (wrong
    /// password, `LOADING` while Redis restarts, a replica after failover) would otherwise
    /// fail every later call, so any other error starts over with a fresh connection.
    fn after_error(&self, err: &RedisError) {
        if !err.is_io_error() {
            *self
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

impl fmt::Debug for RedisStorage {
    /// Without the client: its URL may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStorage")
            .field("prefix", &self.keys.prefix)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl<D> Storage<D> for RedisStorage
where
    D: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Error = RedisStorageError;

    /// Removing a chat that is not there is not an error: `/forget` must always succeed.
    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move { self.remove(chat_id).await })
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
            let json = serde_json::to_string(&dialogue).map_err(|_| RedisStorageError::Encode)?;
            self.write(chat_id, json).await
        })
    }

    /// A stored session this version cannot read (written by another version of the bot) is
    /// treated as absent: the chat starts over instead of being told "try again" until the TTL
    /// passes.
    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<D>, Self::Error>> {
        Box::pin(async move {
            let Some(json) = self.read(chat_id).await? else {
                return Ok(None);
            };
            match serde_json::from_str(&json) {
                Ok(dialogue) => Ok(Some(dialogue)),
                Err(err) => {
                    // The category and position only: the message itself can quote the value.
                    log::warn!(
                        "a stored conversation could not be read ({:?} error at line {}, column {}); starting it over",
                        err.classify(),
                        err.line(),
                        err.column()
                    );
                    Ok(None)
                }
            }
        })
    }
}

/// The TTL as Redis takes it: whole seconds, rounded up, at least one.
fn ttl_secs(ttl: Duration) -> u64 {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests;
