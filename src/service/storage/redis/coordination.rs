//! What instances sharing one bot coordinate through Redis besides the conversations: the
//! rate budget (one set of Telegram limits for all of them, see [`crate::pacing`]) and the
//! per-chat lease (one instance at a time handles a chat's update, so two taps arriving at two
//! instances at once never overwrite each other's state).
//!
//! # Keys
//! - `<prefix>:pace`: the bot's theoretical arrival time (µs since the epoch, Redis' clock);
//!   `<prefix>:pace:<chat id>` the same for one chat. Each expires soon after it lies in the
//!   past, when it is as good as absent.
//! - `<prefix>:lease:<chat id>`: a random token of the instance handling that chat, with a
//!   short expiry renewed while it works, so a crashed instance holds a chat for seconds only.

use std::time::Duration;

use ::redis::Script;
use teloxide::types::ChatId;

use super::{RedisStorage, RedisStorageError};
use crate::pacing::Pace;

/// Reserves one message under the bot's and the chat's limits (the GCRA of
/// [`crate::pacing::reserve`], on Redis' clock). KEYS: the bot's and the chat's TAT. ARGV: the
/// bot's interval and tolerance, the chat's, in µs. Returns the wait in µs.
const PACE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local function tat(key)
  local value = redis.call('GET', key)
  if value then return tonumber(value) end
  return 0
end
local bot, chat = tat(KEYS[1]), tat(KEYS[2])
local at = math.max(now, bot - tonumber(ARGV[2]), chat - tonumber(ARGV[4]))
bot = math.max(bot, at) + tonumber(ARGV[1])
chat = math.max(chat, at) + tonumber(ARGV[3])
local function keep(key, value)
  redis.call('SET', key, string.format('%d', value), 'PX', math.floor((value - now) / 1000) + 1000)
end
keep(KEYS[1], bot)
keep(KEYS[2], chat)
return math.floor(at - now)
";

/// Pushes the bot's TAT to at least ARGV[1] µs from now (Telegram answered 429).
const HOLD: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local until_ = now + tonumber(ARGV[1])
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
";

/// Renews (ARGV[2] ms) or, with ARGV[2] = 0, releases the lease KEYS[1] if ARGV[1] holds it.
const LEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
";

pub(super) struct CoordinationScripts {
    pace: Script,
    hold: Script,
    lease: Script,
}

impl CoordinationScripts {
    pub(super) fn new() -> Self {
        Self {
            pace: Script::new(PACE),
            hold: Script::new(HOLD),
            lease: Script::new(LEASE),
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisStorage {
    fn pace_key(&self, chat: Option<ChatId>) -> String {
        match chat {
            Some(chat) => format!("{}:pace:{}", self.keys.prefix, chat.0),
            None => format!("{}:pace", self.keys.prefix),
        }
    }

    fn lease_key(&self, chat: ChatId) -> String {
        format!("{}:lease:{}", self.keys.prefix, chat.0)
    }

    /// Reserves one message into `chat` in the budget all instances share; the wait before
    /// it may go. Within `deadline` or an error (the caller then paces by itself).
    pub async fn pace(
        &self,
        chat: ChatId,
        (overall, limit): (Pace, Pace),
        deadline: Duration,
    ) -> Result<Duration, RedisStorageError> {
        let mut invocation = self.coordination.pace.prepare_invoke();
        invocation
            .key(self.pace_key(None))
            .key(self.pace_key(Some(chat)))
            .arg(overall.interval_us)
            .arg(overall.tolerance_us)
            .arg(limit.interval_us)
            .arg(limit.tolerance_us);
        let invocation = &invocation;
        let wait: u64 = self
            .call(deadline, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        Ok(Duration::from_micros(wait))
    }

    /// No message of any instance goes before `wait` from now.
    pub async fn hold(&self, wait: Duration, deadline: Duration) -> Result<(), RedisStorageError> {
        let mut invocation = self.coordination.hold.prepare_invoke();
        invocation.key(self.pace_key(None)).arg(micros(wait));
        let invocation = &invocation;
        self.call(deadline, |mut connection| async move {
            invocation.invoke_async::<()>(&mut connection).await
        })
        .await
    }

    /// Takes the lease of `chat` for `ttl` with `token`, if nobody holds it.
    pub async fn try_lease(
        &self,
        chat: ChatId,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStorageError> {
        let key = &self.lease_key(chat);
        self.call(super::CALL_DEADLINE, |mut connection| async move {
            ::redis::cmd("SET")
                .arg(key)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async::<Option<String>>(&mut connection)
                .await
        })
        .await
        .map(|set| set.is_some())
    }

    /// Extends the lease of `chat` by `ttl` from now if `token` still holds it; releases it
    /// with `ttl` zero. Whether `token` held it.
    pub async fn renew_lease(
        &self,
        chat: ChatId,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStorageError> {
        let mut invocation = self.coordination.lease.prepare_invoke();
        let ttl_ms = if ttl.is_zero() { 0 } else { millis(ttl) };
        invocation.key(self.lease_key(chat)).arg(token).arg(ttl_ms);
        let invocation = &invocation;
        let held: u8 = self
            .call(super::CALL_DEADLINE, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        Ok(held == 1)
    }
}
