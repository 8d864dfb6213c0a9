use super::*;
use crate::conversation::{Checks, Marks, State, View};
use crate::knowledge::ScarKind;
use crate::session::Session;
use teloxide::types::MessageId;

#[tokio::test(start_paused = true)]
async fn forgets_a_chat_after_the_ttl_and_not_before() {
    let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 10);
    let chat = ChatId(7);
    storage.clone().update_dialogue(chat, 1).await.unwrap();
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(1));
    // A write restarts the clock, and so does a read.
    storage.clone().update_dialogue(chat, 2).await.unwrap();
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(2));
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), Some(2));
    assert_eq!(storage.stats().expired, 0);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(storage.clone().get_dialogue(chat).await.unwrap(), None);
    assert_eq!(
        storage.stats(),
        StorageStats {
            active: 0,
            expired: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_sweep_forgets_idle_chats_that_nobody_reads_and_returns_their_memory() {
    let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 10_000);
    for i in 0..1_000 {
        storage.clone().update_dialogue(ChatId(i), 0).await.unwrap();
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    storage.clone().update_dialogue(ChatId(0), 1).await.unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(
        storage.stats(),
        StorageStats {
            active: 1,
            expired: 999
        }
    );
    let slots: usize = storage
        .shards
        .iter()
        .map(|shard| shard.lock().unwrap().capacity())
        .sum();
    assert!(slots < 100, "{slots} slots kept for one chat");
    assert_eq!(
        storage.clone().get_dialogue(ChatId(0)).await.unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn remove_is_idempotent_and_other_chats_stay() {
    let storage = ExpiringStorage::<u32>::new(Duration::from_secs(60), 10);
    storage.clone().update_dialogue(ChatId(1), 1).await.unwrap();
    storage.clone().update_dialogue(ChatId(2), 2).await.unwrap();
    storage.clone().remove_dialogue(ChatId(1)).await.unwrap();
    storage.clone().remove_dialogue(ChatId(1)).await.unwrap();
    assert_eq!(storage.clone().get_dialogue(ChatId(1)).await.unwrap(), None);
    assert_eq!(
        storage.clone().get_dialogue(ChatId(2)).await.unwrap(),
        Some(2)
    );
}

#[tokio::test(start_paused = true)]
async fn capacity_bounds_memory_and_keeps_the_recently_used() {
    let storage = ExpiringStorage::<u32>::new(Duration::from_secs(3600), 100);
    storage
        .clone()
        .update_dialogue(ChatId(-1), 7)
        .await
        .unwrap();
    for i in 0..1_000 {
        tokio::time::advance(Duration::from_millis(10)).await;
        storage.clone().update_dialogue(ChatId(i), 0).await.unwrap();
        // Chat -1 is read all along, so it is never the least recently used.
        assert_eq!(
            storage.clone().get_dialogue(ChatId(-1)).await.unwrap(),
            Some(7)
        );
    }
    let held = storage.len();
    assert!((50..=100).contains(&held), "{held}");
    // The newest chats are there, the oldest not.
    assert_eq!(
        storage.clone().get_dialogue(ChatId(999)).await.unwrap(),
        Some(0)
    );
    assert_eq!(storage.clone().get_dialogue(ChatId(0)).await.unwrap(), None);
    assert_eq!(storage.stats().expired, 0, "evicted for room, not expired");
}

#[tokio::test]
async fn sessions_come_back_as_they_were_stored() {
    let storage = ExpiringStorage::<Session>::new(Duration::from_secs(60), 1_000);
    let sessions = [
        Session::default(),
        Session {
            state: State::MainMenu,
            menu: Some(MessageId(123_456)),
            lang: None,
            seen_lang: Some("en".to_owned()),
            album: None,
        },
        Session {
            state: State::Settings {
                then: Box::new(State::Results {
                    marks: Marks::Checked(Checks::default()),
                    answers: Vec::new(),
                    view: View::Sources,
                }),
            },
            menu: Some(MessageId(i32::MAX)),
            lang: Some("pt-br".to_owned()),
            seen_lang: Some("ja".to_owned()),
            // Longer than fits inline.
            album: Some("13758453485730201138".to_owned()),
        },
        Session {
            state: State::Identify {
                picked: ScarKind::all().collect(),
            },
            ..Session::default()
        },
    ];
    for (i, session) in sessions.iter().enumerate() {
        storage
            .clone()
            .update_dialogue(ChatId(i as i64), session.clone())
            .await
            .unwrap();
    }
    for (i, session) in sessions.iter().enumerate() {
        let back = storage
            .clone()
            .get_dialogue(ChatId(i as i64))
            .await
            .unwrap();
        assert_eq!(back.as_ref(), Some(session));
    }
}

#[test]
fn a_slot_stays_small() {
    assert!(size_of::<Slot>() <= 32, "{}", size_of::<Slot>());
    let menu = Session {
        state: State::MainMenu,
        menu: Some(MessageId(123_456)),
        seen_lang: Some("en".to_owned()),
        ..Session::default()
    };
    assert!(matches!(
        Packed::encode(&menu).unwrap(),
        Packed::Inline { .. }
    ));
}
