//! Faults: the ways a reply call fails, injected at a chosen rate from a printed seed.

use super::*;

/// One way a Bot API call goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 429 with `parameters.retry_after` = 1; the call is not processed.
    RateLimited,
    /// 500 with a JSON error; not processed.
    ServerError,
    /// 502 with the proxy's HTML page (not JSON); not processed.
    BadGateway,
    /// Processed, and answered after a delay well within the client's timeout.
    Slow(Duration),
    /// Processed, and answered only a second after the client's timeout: it never sees it.
    TooSlow,
    /// The connection is closed before the call is processed.
    DroppedBefore,
    /// The call is processed, then the connection is closed without an answer.
    DroppedAfter,
    /// Processed, and answered 200 `{"ok": true}` with a `result` teloxide cannot read (as from
    /// a Bot API newer than it): the bot got an answer, only not one it understands. Never
    /// drawn at random; for [`FakeTelegram::fail_next`].
    Unreadable,
}

impl Fault {
    /// The kind, without the delay, for counting.
    pub fn kind(self) -> &'static str {
        match self {
            Self::RateLimited => "429",
            Self::ServerError => "500",
            Self::BadGateway => "502",
            Self::Slow(_) => "slow",
            Self::TooSlow => "too slow",
            Self::DroppedBefore => "dropped before",
            Self::DroppedAfter => "dropped after",
            Self::Unreadable => "unreadable",
        }
    }
}

/// Random faults on the bot's reply calls (sends, edits, callback and inline answers): setup
/// calls (getMe, the profile, webhooks) and getUpdates never fail, so the runs stay
/// comparable. Each chat draws from its own stream seeded from `seed` and the chat id, so the
/// n-th reply call in a chat meets the same fault whatever the other chats do.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The share of reply calls that fail, 0.0 to 1.0.
    pub rate: f64,
    pub seed: u64,
}

impl Faults {
    /// `rate` of the reply calls fail. The seed is `FAKE_API_SEED` when set (to replay a
    /// failure), else taken from the clock; it is printed either way.
    pub fn at_rate(rate: f64) -> Self {
        let seed = std::env::var("FAKE_API_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970");
                splitmix(now.as_nanos() as u64 ^ u64::from(std::process::id()))
            });
        crate::util::note(&format!(
            "fake Bot API fails {:.0}% of reply calls, seed {seed} (FAKE_API_SEED={seed} replays it)",
            rate * 100.0
        ));
        Self { rate, seed }
    }

    /// The fault stream of one chat.
    pub(super) fn stream(&self, chat: i64) -> XorShift {
        XorShift::new(self.seed ^ splitmix(chat as u64))
    }
}

/// xorshift64*: small, fast and good enough to pick faults.
pub(super) struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point.
        Self(splitmix(seed).max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next call's fault, if any, with `rate`.
    pub(super) fn fault(&mut self, rate: f64) -> Option<Fault> {
        let fails = self.unit() < rate;
        // Always draw the kind, so the stream does not shift with the rate.
        let kind = self.next() % 100;
        let slow = Duration::from_millis(200 + self.next() % 800);
        if !fails {
            return None;
        }
        Some(match kind {
            0..20 => Fault::RateLimited,
            20..30 => Fault::ServerError,
            30..40 => Fault::BadGateway,
            40..55 => Fault::Slow(slow),
            55..70 => Fault::TooSlow,
            70..85 => Fault::DroppedBefore,
            _ => Fault::DroppedAfter,
        })
    }
}

/// SplitMix64's finaliser: spreads nearby inputs (chat ids, clock ticks) over all bits.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
