//! Memory of stored conversations: `cargo bench --bench memory`.
//!
//! Goals (issue 12): at most 200 bytes per idle stored chat; a process holding 1,000,000 stored
//! chats (the default `STATE_CAPACITY`) within 300 MB of RSS; and the memory given back once
//! they expire. A bench binary, not criterion: it prints figures, measured with a counting
//! allocator (bytes asked for) and the process's RSS (what the machine pays).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Counting, live, mib, rss};
use scar_guide::config::{DEFAULT_STATE_CAPACITY, DEFAULT_STATE_TTL};
use scar_guide::conversation::State;
use scar_guide::knowledge::ScarKind;
use scar_guide::service::storage::ExpiringStorage;
use scar_guide::telegram::Session;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{ChatId, MessageId};
use tokio::time::Instant;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a chat that pressed Start and went quiet keeps: the menu, its message, its language.
fn idle_session() -> Session {
    Session {
        state: State::MainMenu,
        menu: Some(MessageId(123_456)),
        lang: None,
        seen_lang: Some("en".to_owned()),
        album: None,
    }
}

/// A chat in the middle of identifying its marks, every kind ticked.
fn busy_session() -> Session {
    Session {
        state: State::Identify {
            picked: ScarKind::all().collect(),
        },
        ..idle_session()
    }
}

fn fill(
    runtime: &tokio::runtime::Runtime,
    store: &Arc<ExpiringStorage<Session>>,
    chats: i64,
    session: &Session,
) {
    runtime.block_on(async {
        for chat in 0..chats {
            // Spread like real ids (users from 10^8 up), not 0, 1, 2…
            let id = ChatId(100_000_000 + chat * 7_919);
            store
                .clone()
                .update_dialogue(id, session.clone())
                .await
                .expect("infallible");
        }
    });
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    // A clock the bench moves, to expire a million chats without waiting a day.
    let started = Instant::now();
    let offset = Arc::new(AtomicU64::new(0));
    let clock = {
        let offset = offset.clone();
        Arc::new(move || started + Duration::from_secs(offset.load(Ordering::Relaxed)))
    };

    for (name, session) in [
        ("idle (main menu)", idle_session()),
        ("identifying", busy_session()),
    ] {
        const CHATS: i64 = 100_000;
        let before = live();
        let store = ExpiringStorage::<Session>::new(DEFAULT_STATE_TTL, DEFAULT_STATE_CAPACITY);
        fill(&runtime, &store, CHATS, &session);
        let per_chat = (live() - before) / CHATS as usize;
        println!("allocated: {per_chat} bytes per stored chat, {name}, {CHATS} chats");
    }

    const MILLION: i64 = 1_000_000;
    let baseline = rss();
    println!("RSS before: {}", mib(baseline));
    let store =
        ExpiringStorage::<Session>::with_clock(DEFAULT_STATE_TTL, DEFAULT_STATE_CAPACITY, clock);
    let live_before = live();
    fill(&runtime, &store, MILLION, &idle_session());
    let full = rss();
    assert_eq!(store.len(), MILLION as u64, "every chat is kept");
    println!(
        "RSS with {MILLION} idle stored chats: {} ({} bytes per chat over the baseline; allocated {} bytes per chat)",
        mib(full),
        (full - baseline) / MILLION as usize,
        (live() - live_before) / MILLION as usize,
    );

    offset.store(DEFAULT_STATE_TTL.as_secs(), Ordering::Relaxed);
    store.sweep();
    assert!(store.is_empty(), "every chat expired");
    println!(
        "RSS after they expire and a sweep: {} (allocated: {} bytes held over the baseline)",
        mib(rss()),
        live().saturating_sub(live_before),
    );
}
