//! The Redis keys under one prefix, and the Lua scripts every operation runs (see the parent
//! module's documentation for what each key holds).

use ::redis::Script;
use teloxide::types::ChatId;

/// The key names under one prefix.
pub(super) struct Keys {
    pub(super) prefix: String,
    pub(super) index: String,
    pub(super) expired: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            index: format!("{prefix}:sessions"),
            expired: format!("{prefix}:expired"),
        }
    }

    pub(super) fn session(&self, chat_id: ChatId) -> String {
        format!("{}:session:{}", self.prefix, chat_id.0)
    }

    /// A picture's Telegram file id; `key` names the picture and a hash of its bytes.
    pub(super) fn photo(&self, key: &str) -> String {
        format!("{}:photo:{key}", self.prefix)
    }

    /// The keys every per-chat script takes, in the order `PRELUDE` expects.
    pub(super) fn add(&self, invocation: &mut ::redis::ScriptInvocation<'_>, chat_id: ChatId) {
        invocation
            .key(&self.index)
            .key(&self.expired)
            .key(self.session(chat_id));
    }
}

/// Shared by every script. KEYS[1] is the index, KEYS[2] the expired counter, KEYS[3] the
/// session key; ARGV[1] the chat id, ARGV[2] the TTL in seconds.
const PRELUDE: &str = r"
local index, expired, session = KEYS[1], KEYS[2], KEYS[3]
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000

-- Counts and unlists every chat whose key has expired.
local function sweep()
  local gone = redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. now)
  if gone > 0 then redis.call('INCRBY', expired, gone) end
end

-- A chat whose key lapsed before a sweep saw it is counted before it is written or removed
-- again, so the count does not depend on when /metrics was scraped.
local function retire()
  if redis.call('EXISTS', session) == 1 then return end
  local score = redis.call('ZSCORE', index, ARGV[1])
  if score and tonumber(score) < now then redis.call('INCR', expired) end
  redis.call('ZREM', index, ARGV[1])
end
";

/// `GETEX` renews the expiry: reading a conversation is activity, as in memory.
const GET: &str = r"
local value = redis.call('GETEX', session, 'EX', ARGV[2])
if value then
  redis.call('ZADD', index, now + tonumber(ARGV[2]), ARGV[1])
else
  retire()
end
return value
";

/// ARGV[3] is the JSON, ARGV[4] `1` to sweep the index too.
const UPDATE: &str = r"
retire()
redis.call('SET', session, ARGV[3], 'EX', ARGV[2])
redis.call('ZADD', index, now + tonumber(ARGV[2]), ARGV[1])
if ARGV[4] == '1' then sweep() end
return 1
";

const REMOVE: &str = r"
retire()
redis.call('DEL', session)
redis.call('ZREM', index, ARGV[1])
return 1
";

/// Takes only KEYS[1] and KEYS[2]; returns `{active, expired}`.
const STATS: &str = r"
sweep()
return {redis.call('ZCARD', index), tonumber(redis.call('GET', expired) or '0')}
";

pub(super) struct Scripts {
    pub(super) get: Script,
    pub(super) update: Script,
    pub(super) remove: Script,
    pub(super) stats: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Self {
            get: script(GET),
            update: script(UPDATE),
            remove: script(REMOVE),
            stats: script(STATS),
        }
    }
}
