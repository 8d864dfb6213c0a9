//! Pacing outgoing messages within Telegram's limits: about 30 messages a second per bot, about
//! one a second in a chat (a short burst tolerated), 20 a minute in a group.
//!
//! Each message *reserves* the next free moment under every limit it falls under (the bot's
//! and its chat's) and waits until then: a generic cell rate algorithm (GCRA) per limit, where
//! a limit keeps one number, the theoretical arrival time (TAT) of its next message. Reserving
//! rather than polling keeps a queue moving at the full rate with no idle gaps, in the order the
//! messages asked: the first message of everyone in a burst gets a slot before anyone's second.
//!
//! The same arithmetic runs in two places: [`LocalBudget`] in the process, and a Lua script in
//! Redis when several instances share one bot (`service::budget`), so that together they stay
//! within what one bot may send. The adapter sees only the [`Budget`] trait.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::types::ChatId;
use tokio::time::Instant;

use crate::config::RateLimits;

/// How many messages one user action may send into a private chat at once (at most two, by the
/// conversation's design: a greeting and the menu below it).
pub const BURST_PER_CHAT: u64 = 2;

/// Every interval is this many per mille longer than the configured limit allows. Messages
/// from several instances, or from a busy machine, reach Telegram with milliseconds of jitter,
/// and a limit met exactly is broken by any of it: 1.5% leaves 15 ms in every second for it
/// and keeps a queue at 98.5% of the ceiling.
const MARGIN_PER_MILLE: u64 = 15;

/// One limit: a message at most every `interval`, with up to `tolerance` of it taken early
/// (a burst of `tolerance / interval + 1` messages after a quiet spell). In microseconds, as
/// the Lua script counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub interval_us: u64,
    pub tolerance_us: u64,
}

impl Pace {
    /// `count` messages per `period`, bursts of `burst` messages, with the safety margin.
    fn new(count: u32, period: Duration, burst: u64) -> Self {
        let period_us = u64::try_from(period.as_micros()).unwrap_or(u64::MAX);
        let interval_us =
            (period_us / u64::from(count.max(1))).saturating_mul(1000 + MARGIN_PER_MILLE) / 1000;
        Self {
            interval_us,
            tolerance_us: interval_us.saturating_mul(burst.saturating_sub(1)),
        }
    }

    /// Reserves a slot under this limit no earlier than `at`; `tat` is the limit's state.
    fn take(self, tat: &mut u64, at: u64) {
        *tat = (*tat).max(at).saturating_add(self.interval_us);
    }

    /// The earliest moment this limit allows a message, given its state.
    fn earliest(self, tat: u64) -> u64 {
        tat.saturating_sub(self.tolerance_us)
    }
}

/// The limits a message falls under, from the configured [`RateLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// All messages of the bot: no burst, since a burst ahead of the rate is what a sliding
    /// one-second window counts against.
    pub overall: Pace,
    /// One private chat: `RATE_PER_CHAT`, a two-message reply at once.
    pub private: Pace,
    /// One group or channel: `RATE_PER_GROUP` a minute, one at a time.
    pub group: Pace,
}

impl Rates {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            overall: Pace::new(limits.overall_per_sec, Duration::from_secs(1), 1),
            private: Pace::new(
                limits.per_chat_per_sec,
                Duration::from_secs(1),
                BURST_PER_CHAT,
            ),
            group: Pace::new(limits.per_group_per_min, Duration::from_secs(60), 1),
        }
    }

    /// The limit of `chat`: Telegram's group and channel ids are negative.
    pub fn of(&self, chat: ChatId) -> Pace {
        if chat.0 < 0 { self.group } else { self.private }
    }
}

/// Reserves one message under both limits at `now`; returns the moment it may go. The moment
/// is the earliest both allow, and both are charged from it.
pub fn reserve(
    now: u64,
    (overall, overall_tat): (Pace, &mut u64),
    (chat, chat_tat): (Pace, &mut u64),
) -> u64 {
    let at = now
        .max(overall.earliest(*overall_tat))
        .max(chat.earliest(*chat_tat));
    overall.take(overall_tat, at);
    chat.take(chat_tat, at);
    at
}

/// Where messages get their slots: in this process, or shared through Redis.
pub trait Budget: Send + Sync {
    /// Reserves the next slot for one message into `chat`; the caller waits the answer, then
    /// sends.
    fn reserve(&self, chat: ChatId) -> BoxFuture<'_, Duration>;

    /// Telegram answered 429 with `retry_after`: no message goes before it has passed.
    fn hold(&self, wait: Duration) -> BoxFuture<'_, ()>;

    /// The least time between two messages of the bot: see [`Release`].
    fn spacing(&self) -> Duration;
}

/// The last step before a message leaves this process. A task that wakes late for its slot
/// (a busy machine) would otherwise leave right before the next one, on time: two messages
/// closer than the rate allows, which a strict Bot API counts as a burst. Releasing no two
/// messages closer than a minimum spacing (the caller passes half the overall interval) turns
/// lateness into a short delay of the following ones instead.
#[derive(Default)]
pub struct Release {
    last: Mutex<Option<Instant>>,
}

impl Release {
    /// Waits until `spacing` has passed since the previous message released, then releases
    /// this one.
    pub async fn after(&self, spacing: Duration) {
        loop {
            let earliest = {
                let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                match *last {
                    Some(at) if now < at + spacing => at + spacing,
                    _ => {
                        *last = Some(now);
                        return;
                    }
                }
            };
            tokio::time::sleep_until(earliest).await;
        }
    }
}

/// Chats whose slots lie this far in the past are dropped from [`LocalBudget`]'s map (they
/// are as good as new), checked every this many reservations.
const SWEEP_EVERY: u32 = 1024;

struct LocalState {
    overall: u64,
    chats: HashMap<ChatId, u64>,
    since_sweep: u32,
}

/// The budget of one process.
pub struct LocalBudget {
    rates: Rates,
    /// Microseconds count from here.
    origin: Instant,
    state: Mutex<LocalState>,
}

impl LocalBudget {
    pub fn new(rates: Rates) -> Self {
        Self {
            rates,
            origin: Instant::now(),
            state: Mutex::new(LocalState {
                overall: 0,
                chats: HashMap::new(),
                since_sweep: 0,
            }),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The wait before one message into `chat` may go (see [`Budget::reserve`]).
    pub fn reserve_now(&self, chat: ChatId) -> Duration {
        let now = self.now_us();
        // A panic elsewhere while holding the lock leaves plain numbers: still usable.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let LocalState {
            overall,
            chats,
            since_sweep,
        } = &mut *state;
        *since_sweep += 1;
        if *since_sweep >= SWEEP_EVERY {
            *since_sweep = 0;
            chats.retain(|_, tat| *tat > now);
        }
        let chat_tat = chats.entry(chat).or_insert(0);
        let at = reserve(
            now,
            (self.rates.overall, overall),
            (self.rates.of(chat), chat_tat),
        );
        Duration::from_micros(at - now)
    }

    /// Holds every message until `wait` from now has passed.
    pub fn hold_now(&self, wait: Duration) {
        let until = self
            .now_us()
            .saturating_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX));
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.overall = state.overall.max(until);
    }

    /// How many chats the budget holds slots for (for the tests of its sweep).
    pub fn chats(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .chats
            .len()
    }
}

impl Budget for LocalBudget {
    fn reserve(&self, chat: ChatId) -> BoxFuture<'_, Duration> {
        let wait = self.reserve_now(chat);
        Box::pin(std::future::ready(wait))
    }

    fn hold(&self, wait: Duration) -> BoxFuture<'_, ()> {
        self.hold_now(wait);
        Box::pin(std::future::ready(()))
    }

    fn spacing(&self) -> Duration {
        Duration::from_micros(self.rates.overall.interval_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> Rates {
        Rates::new(RateLimits::default())
    }

    /// Send times (µs) of `n` messages asked for at once, spread over `chats` chats.
    fn burst(n: u64, chats: i64) -> Vec<(i64, u64)> {
        let rates = rates();
        let mut overall = 0;
        let mut tats: HashMap<i64, u64> = HashMap::new();
        (0..n)
            .map(|i| {
                let chat = (i as i64) % chats + 1;
                let tat = tats.entry(chat).or_insert(0);
                let at = reserve(
                    0,
                    (rates.overall, &mut overall),
                    (rates.of(ChatId(chat)), tat),
                );
                (chat, at)
            })
            .collect()
    }

    #[test]
    fn a_burst_of_many_chats_is_spaced_just_under_the_overall_rate() {
        let times: Vec<u64> = burst(300, 300).into_iter().map(|(_, at)| at).collect();
        // No 31 messages within any second (a sliding window, as Telegram counts)…
        for w in times.windows(31) {
            assert!(w[30] - w[0] >= 1_000_000, "31 within {} µs", w[30] - w[0]);
        }
        // …while the queue moves at 99% of 30 a second.
        let rate = 299.0 / (times[299] as f64 / 1e6);
        assert!((29.4..30.0).contains(&rate), "{rate} a second");
    }

    #[test]
    fn a_chat_gets_a_two_message_reply_at_once_then_about_one_a_second() {
        let times: Vec<u64> = burst(6, 1).into_iter().map(|(_, at)| at).collect();
        assert!(times[1] - times[0] < 100_000, "{times:?}");
        for w in times.windows(3) {
            assert!(w[2] - w[0] >= 1_000_000, "three within a second: {times:?}");
        }
    }

    #[test]
    fn a_group_gets_twenty_a_minute() {
        let rates = rates();
        let (mut overall, mut tat) = (0, 0);
        let times: Vec<u64> = (0..21)
            .map(|_| {
                reserve(
                    0,
                    (rates.overall, &mut overall),
                    (rates.of(ChatId(-5)), &mut tat),
                )
            })
            .collect();
        assert!(times[20] - times[0] >= 60_000_000, "{times:?}");
    }

    #[tokio::test]
    async fn a_hold_delays_everyone_and_old_chats_are_swept() {
        let budget = LocalBudget::new(rates());
        budget.hold(Duration::from_secs(3)).await;
        assert!(budget.reserve(ChatId(1)).await >= Duration::from_millis(2900));
        let budget = LocalBudget::new(Rates::new(RateLimits {
            overall_per_sec: 1_000_000,
            per_chat_per_sec: 1_000_000,
            per_group_per_min: 1_000_000,
        }));
        for chat in 0..(i64::from(SWEEP_EVERY) * 2) {
            budget.reserve_now(ChatId(chat));
            std::thread::sleep(Duration::from_micros(2));
        }
        assert!(
            budget.chats() < SWEEP_EVERY as usize + 1,
            "{} chats kept",
            budget.chats()
        );
    }
}
