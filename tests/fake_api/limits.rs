//! Telegram's published message limits, enforced the way a strict Bot API would: a message
//! over a limit is refused with 429 and `retry_after`, and not sent.

use super::*;

/// The limits, counted over sliding windows as Telegram describes them: `overall` messages in
/// any second for the bot, `per_chat` in any second in one private chat (a short burst),
/// `per_group` in any minute in one group.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub overall: usize,
    pub per_chat: usize,
    pub per_group: usize,
}

impl Limits {
    /// What Telegram publishes (and the bot's defaults): 30 a second, a burst of two in a chat
    /// at about one a second, 20 a minute in a group.
    pub const TELEGRAM: Self = Self {
        overall: 30,
        per_chat: 2,
        per_group: 20,
    };
}

/// The messages sent lately, and the count of those refused.
#[derive(Debug)]
pub(super) struct Enforcer {
    limits: Limits,
    /// Accepted messages, oldest first: when, and into which chat.
    sent: VecDeque<(Instant, i64)>,
    pub(super) refused: usize,
}

const SECOND: Duration = Duration::from_secs(1);

/// How much closer than the rate two messages may arrive without counting as a burst: what the
/// way from the bot to Telegram (a connection opened, a thread scheduled on a busy machine)
/// adds to one message and not to the next. Telegram counts at its own edge, after the network.
const JITTER: Duration = Duration::from_millis(50);
const MINUTE: Duration = Duration::from_secs(60);

impl Enforcer {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            sent: VecDeque::new(),
            refused: 0,
        }
    }

    /// Whether a message into `chat` may go now; records it if so.
    pub(super) fn admit(&mut self, chat: i64) -> bool {
        let now = Instant::now();
        while self
            .sent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= MINUTE)
        {
            self.sent.pop_front();
        }
        let within = |window: Duration, only: Option<i64>| {
            self.sent
                .iter()
                .rev()
                .take_while(|(at, _)| now.duration_since(*at) < window)
                .filter(|(_, c)| only.is_none_or(|o| o == *c))
                .count()
        };
        let over = within(SECOND - JITTER, None) >= self.limits.overall
            || if chat < 0 {
                within(MINUTE, Some(chat)) >= self.limits.per_group
            } else {
                within(SECOND - JITTER, Some(chat)) >= self.limits.per_chat
            };
        if over {
            self.refused += 1;
        } else {
            self.sent.push_back((now, chat));
        }
        !over
    }
}
