//! How long a tap waits for its answer while the Bot API fails one reply call in five:
//! `cargo bench --bench faults` (the seed is printed; `FAKE_API_SEED=<seed>` replays a run).
//!
//! The bot runs in this process (`service::run`, release build, the default rate limits,
//! `API_TIMEOUT=2s` as in the seeded fault test) against the fake Bot API of
//! `tests/fake_api/`, which fails 20% of the reply calls (429, 500, 502, slow, too slow,
//! dropped before or after processing). A few users talk at once; each taps a button of the
//! bot's current menu, about once a second, chosen from a seeded stream. A tap's latency is
//! from the tap to the later of its button answer and the first visible change it makes (the
//! edited menu, or a new message). Goal (issue 12, item 3): median ≤ 2 s, p90 ≤ 6 s, and no
//! message sent twice after Telegram had answered the first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scar_guide::config::Config;
use scar_guide::content::Content;
use scar_guide::service;
use serde_json::Value;

#[allow(dead_code, unused_imports)]
#[path = "../tests/fake_api/mod.rs"]
mod fake_api;

/// What `tests/fake_api/` needs from the test crate's `util`.
mod util {
    pub fn note(text: &str) {
        eprintln!("NOTE: {text}");
    }
}

use fake_api::{FakeTelegram, Faults, TOKEN, TgUser};

const USERS: i64 = 8;
const TAPS_PER_USER: usize = 30;
const FAULT_RATE: f64 = 0.2;
const API_TIMEOUT: Duration = Duration::from_secs(2);
/// A user reads the new screen before tapping again.
const THINK: Duration = Duration::from_millis(800);
/// A tap unanswered this long counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(90);

fn main() {
    let api = FakeTelegram::with_faults(Some(Faults::at_rate(FAULT_RATE)), API_TIMEOUT);
    let vars: HashMap<&str, String> = [
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", api.url()),
        ("API_TIMEOUT", "2s".to_owned()),
    ]
    .into_iter()
    .collect();
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("a valid config");
    let content = Arc::new(Content::embedded().expect("dialogues/ is valid"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let shutdown = async move {
            let _ = stopped.await;
        };
        runtime.block_on(service::run(config, content, shutdown))
    });

    let started = Instant::now();
    let results: Vec<UserRun> = std::thread::scope(|scope| {
        let players: Vec<_> = (0..USERS)
            .map(|n| {
                let api = &api;
                scope.spawn(move || play(api, &TgUser::new(7_000_001 + n, "Ada", "en")))
            })
            .collect();
        players
            .into_iter()
            .map(|p| p.join().expect("a player"))
            .collect()
    });
    let elapsed = started.elapsed();
    let _ = stop.send(());
    match bot.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!("service::run failed: {err}"),
        Err(_) => eprintln!("service::run panicked"),
    }

    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.latencies.clone()).collect();
    latencies.sort();
    let lost: usize = results.iter().map(|r| r.lost).sum();
    let no_change: usize = results.iter().map(|r| r.no_change).sum();
    let (twice, resent) = repeated_sends(&api);
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{} taps by {USERS} users in {elapsed:.1?} under {}",
        latencies.len(),
        api.fault_summary()
    );
    println!(
        "tap answer latency: median {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?} \
         (goal: median ≤ 2 s, p90 ≤ 6 s)",
        pick(0.5),
        pick(0.9),
        pick(0.99),
        pick(1.0)
    );
    println!(
        "lost taps: {lost}; taps with only a button answer: {no_change}; \
         sends repeated after an answer: {twice} (goal 0); after no answer: {resent}"
    );
}

struct UserRun {
    latencies: Vec<Duration>,
    lost: usize,
    /// Taps whose button was answered but whose screen did not change (an identical edit).
    no_change: usize,
}

/// One user: /start, then taps on the current menu.
fn play(api: &FakeTelegram, user: &TgUser) -> UserRun {
    let mut run = UserRun {
        latencies: Vec::new(),
        lost: 0,
        no_change: 0,
    };
    api.user_sends(user, "/start");
    let mut random = user.id as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let deadline = Instant::now() + LOST_AFTER;
    while current_menu(api, user.id).is_none() {
        assert!(Instant::now() < deadline, "no menu after /start");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..TAPS_PER_USER {
        std::thread::sleep(THINK);
        let Some((message_id, buttons)) = current_menu(api, user.id) else {
            run.lost += 1;
            continue;
        };
        random = xorshift(random);
        let data = &buttons[(random % buttons.len() as u64) as usize];
        let tapped = Instant::now();
        let query = api.user_taps(user, message_id, data);
        match answered(api, user.id, &query, tapped) {
            Some((latency, changed)) => {
                run.latencies.push(latency);
                run.no_change += usize::from(!changed);
            }
            None => run.lost += 1,
        }
    }
    run
}

/// Waits for the tap's answer: its button answer and the first other delivery in the chat
/// after `tapped`. The latency and whether the screen changed; `None` if lost.
fn answered(
    api: &FakeTelegram,
    chat: i64,
    query: &str,
    tapped: Instant,
) -> Option<(Duration, bool)> {
    let mut answer_seen: Option<Instant> = None;
    loop {
        let deliveries = api.deliveries_in(chat);
        let answer = deliveries
            .iter()
            .find(|d| d.query_id.as_deref() == Some(query))
            .map(|d| d.at);
        let screen = deliveries
            .iter()
            .find(|d| d.method != "answercallbackquery" && d.at >= tapped)
            .map(|d| d.at);
        match (answer, screen) {
            (Some(a), Some(s)) => return Some((a.max(s) - tapped, true)),
            // An identical edit is "not modified" and delivers nothing: give it a while.
            (Some(a), None) => {
                let seen = *answer_seen.get_or_insert_with(Instant::now);
                if seen.elapsed() > Duration::from_secs(15) {
                    return Some((a - tapped, false));
                }
            }
            _ => {}
        }
        if tapped.elapsed() > LOST_AFTER {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The newest message in `chat` that has callback buttons now, with their data.
fn current_menu(api: &FakeTelegram, chat: i64) -> Option<(i64, Vec<String>)> {
    let deliveries = api.deliveries_in(chat);
    deliveries.iter().rev().find_map(|d| {
        let id = d.message_id?;
        let message = api.message(chat, id)?;
        let buttons = callback_data(&message.markup);
        (!buttons.is_empty()).then_some((id, buttons))
    })
}

fn callback_data(markup: &Value) -> Vec<String> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

/// A message sent twice in a row with the same text and buttons, nothing else delivered in the
/// chat between (so not two taps): after Telegram had answered the first (wrong), and after the
/// bot got no answer (the price of never losing one).
fn repeated_sends(api: &FakeTelegram) -> (usize, usize) {
    let (mut twice, mut resent) = (0, 0);
    for n in 0..USERS {
        for pair in api.deliveries_in(7_000_001 + n).windows(2) {
            let same = pair[0].text == pair[1].text && pair[0].markup == pair[1].markup;
            if pair.iter().all(|d| d.method == "sendmessage") && same {
                if pair[0].answered {
                    twice += 1;
                } else {
                    resent += 1;
                }
            }
        }
    }
    (twice, resent)
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}
