//! Fuzzing (issue 12): random sequences of everything a person can do, checked against the
//! limits and the promises of the conversation.
//!
//! - `conversation.rs`: proptest over the pure core, [`Conversation::step`] directly: commands,
//!   deep links, typed text in both languages, taps (shown, any, stale, forged bytes), media,
//!   edits, expiry. Every step's messages are checked with the same limit checks as the walk
//!   (`walk::screen_problems`, `walk::message_problems`).
//! - `handlers.rs`: fewer, random updates through the real handler tree on the mock Bot API:
//!   private and group messages, edits, callback queries with random data, inline queries.
//!
//! `cargo test` runs a bounded version in a few seconds. The long run is
//! `FUZZ_CASES=1000 FUZZ_HANDLER_CASES=10 cargo test --test main fuzz:: -- --nocapture`
//! (about 114,000 core steps, 200 updates); the number of steps is printed either way.
//!
//! [`Conversation::step`]: scar_guide::conversation::Conversation::step

mod conversation;
mod handlers;

/// A count from the environment variable `name`, else `default`.
fn env_count(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A proptest runner for `cases` cases that writes no regression files (a failure prints the
/// smallest sequence found, which is what a regression test is written from).
fn runner(cases: u32) -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })
}
