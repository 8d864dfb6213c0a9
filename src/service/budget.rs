//! The rate budget of a bot with several instances: one set of Telegram's limits kept in Redis
//! ([`crate::pacing`] has the arithmetic, the storage's `coordination` module the script), so
//! N instances together send what one bot may.
//!
//! Redis down or slow must never stall a reply: a reservation that takes longer than
//! [`PACE_DEADLINE`] falls back to this instance's own [`LocalBudget`] (with one warning per
//! outage), which keeps each instance within the limits on its own; together they may then
//! exceed them until Redis is back, and Telegram's 429s, which every instance honours, cover
//! that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::types::ChatId;

use super::storage::RedisStorage;
use crate::pacing::{Budget, LocalBudget, Rates};

/// The longest a reservation may wait for Redis before the instance paces by itself: a
/// loopback or same-zone Redis answers in about a millisecond.
pub const PACE_DEADLINE: Duration = Duration::from_millis(250);

/// The budget shared by the instances of one bot; see the module documentation.
pub struct SharedBudget {
    redis: Arc<RedisStorage>,
    rates: Rates,
    local: LocalBudget,
    /// Whether the last reservation fell back (to warn once per outage).
    degraded: AtomicBool,
}

impl SharedBudget {
    pub fn new(redis: Arc<RedisStorage>, rates: Rates) -> Self {
        Self {
            redis,
            rates,
            local: LocalBudget::new(rates),
            degraded: AtomicBool::new(false),
        }
    }

    fn went_well(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            log::info!("the shared rate budget answers again");
        }
    }

    fn fell_back(&self, why: &dyn std::fmt::Display) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            log::warn!("the shared rate budget is unavailable ({why}); pacing in this instance");
        }
    }
}

impl Budget for SharedBudget {
    fn reserve(&self, chat: ChatId) -> BoxFuture<'_, Duration> {
        Box::pin(async move {
            let limits = (self.rates.overall, self.rates.of(chat));
            match self.redis.pace(chat, limits, PACE_DEADLINE).await {
                Ok(wait) => {
                    self.went_well();
                    wait
                }
                Err(err) => {
                    self.fell_back(&err);
                    self.local.reserve_now(chat)
                }
            }
        })
    }

    fn spacing(&self) -> Duration {
        Duration::from_micros(self.rates.overall.interval_us)
    }

    fn hold(&self, wait: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Held here too: a fallback then starts from the pause Telegram asked for.
            self.local.hold_now(wait);
            if let Err(err) = self.redis.hold(wait, PACE_DEADLINE).await {
                self.fell_back(&err);
            }
        })
    }
}
