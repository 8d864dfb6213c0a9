//! Giving memory back after a burst.
//!
//! A burst of thousands of people pressing Start runs thousands of handlers at once; once they
//! are answered, what they allocated is free again, but glibc's allocator keeps freed pages in
//! its arenas (one per worker thread), so the process would stay at its peak size until the
//! next burst reuses them. [`spawn`] asks glibc every [`EVERY`] to return the free pages of all
//! arenas to the system (`malloc_trim(0)`, which walks each arena once: milliseconds).
//!
//! Elsewhere (musl, other systems) there is nothing to call and nothing is spawned.

use std::time::Duration;

/// How often free memory is returned: soon after a burst ends, rarely enough to cost nothing.
pub const EVERY: Duration = Duration::from_secs(10);

/// Starts returning free memory to the system every [`EVERY`], for as long as the runtime runs.
pub fn spawn() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            release();
        }
    });
}

/// Returns the free pages of every malloc arena to the system now.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointer and
    // is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Nothing to return on other allocators.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() {}
