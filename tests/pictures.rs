//! The pictures in the conversation (issue 11, items 3-4): the not-sure path shows each
//! self-check's drawing and numbers its answers like the drawing's dots; Telegram sends the
//! picture as a photo before the menu, uploaded once per bot and then reused by its file id;
//! the console says where the PNG is. The rejected-id fallback needs a Bot API that refuses an
//! id, which the mock cannot fake: it is tested with a fake sender in `src/telegram/photos.rs`.

use std::sync::Arc;

use scar_guide::content::{MAX_CAPTION, html};
use scar_guide::conversation::{Action, Input, Outcome, State, picture_of};
use scar_guide::knowledge::{DentsAnswer, FlatAnswer, Link, RaisedAnswer, Topic};
use scar_guide::pictures::Picture;
use scar_guide::telegram::delivery::{Delivery, Policy};
use scar_guide::telegram::photos::Photos;
use scar_guide::telegram::{self};
use teloxide::dispatching::dialogue::Storage as _;
use teloxide_tests::server::SentMessagePhoto;

use crate::util::{Chat, LANGUAGES, content, conversation, conversation_in};

/// The taps from the main menu through the three self-checks.
const NOT_SURE_PATH: [Action; 5] = [
    Action::Topic(Topic::Identify),
    Action::NotSure,
    Action::Flat(FlatAnswer::Both),
    Action::Dents(DentsAnswer::Rolling),
    Action::Raised(RaisedAnswer::Beyond),
];

/// The picture each step of [`NOT_SURE_PATH`] shows.
const PICTURES_ON_THE_PATH: [Option<Picture>; 5] = [
    None,
    Some(Picture::PressTest),
    Some(Picture::Dents),
    Some(Picture::Raised),
    None,
];

#[test]
fn the_not_sure_path_shows_each_checks_drawing_in_every_language() {
    for code in LANGUAGES {
        let conv = conversation_in(code);
        let mut outcome = conv.step(&State::Idle, Input::Start);
        for (action, picture) in NOT_SURE_PATH.into_iter().zip(PICTURES_ON_THE_PATH) {
            outcome = conv.step(&outcome.state, Input::Tap(action));
            let screen = outcome.screen.as_ref().expect("a screen");
            assert_eq!(screen.picture, picture, "{code}: after {action:?}");
            assert_eq!(picture_of(&outcome.state), picture, "{code}: {action:?}");
        }
    }
}

/// The labels of a screen's buttons, in order.
fn labels(outcome: &Outcome) -> Vec<String> {
    outcome
        .screen
        .iter()
        .flat_map(|s| s.flat_buttons())
        .map(|b| b.label.clone())
        .collect()
}

#[test]
fn the_answers_carry_the_numbers_of_the_drawings_and_keep_their_words() {
    for code in LANGUAGES {
        let conv = conversation_in(code);
        let sc = &conv.pack.self_check;
        let flat = conv.step(&State::Idle, Input::Open(Link::NotSure));
        assert_eq!(
            labels(&flat)[..4],
            [
                format!("1 · {}", sc.flat.fades),
                format!("2 · {}", sc.flat.stays),
                sc.flat.both.clone(),
                sc.flat.none.clone(),
            ],
            "{code}"
        );
        let dents = conv.step(&flat.state, Input::Tap(Action::Flat(FlatAnswer::NoFlat)));
        // One dot above the icepick drawing, two above the boxcar, three above the rolling.
        assert_eq!(
            labels(&dents)[..4],
            [
                format!("1 · {}", sc.dents.icepick),
                format!("2 · {}", sc.dents.boxcar),
                format!("3 · {}", sc.dents.rolling),
                sc.dents.none.clone(),
            ],
            "{code}"
        );
        // The question still describes the checks in words.
        assert_eq!(dents.screen.as_ref().unwrap().text, sc.dents.question);
        let raised = conv.step(
            &dents.state,
            Input::Tap(Action::Dents(DentsAnswer::NoDents)),
        );
        assert_eq!(
            labels(&raised)[..3],
            [
                format!("1 · {}", sc.raised.within),
                format!("2 · {}", sc.raised.beyond),
                sc.raised.none.clone(),
            ],
            "{code}"
        );
        for label in labels(&flat)
            .into_iter()
            .chain(labels(&dents))
            .chain(labels(&raised))
        {
            assert!(label.chars().count() <= 40, "{code}: {label:?} is too long");
        }
    }
}

#[test]
fn every_caption_names_its_drawings_and_its_sources_within_telegrams_limit() {
    for code in LANGUAGES {
        let conv = conversation_in(code);
        for picture in Picture::all() {
            let caption = conv.caption(picture);
            assert!(html::check(caption).is_ok(), "{code} {picture:?}");
            assert!(
                html::telegram_len(caption) <= MAX_CAPTION,
                "{code} {picture:?}"
            );
            let spec = scar_guide::pictures::spec(picture).unwrap();
            for source in &spec.sources {
                assert!(
                    caption.contains(conv.pack.cite(source)),
                    "{code} {picture:?}: {caption:?} does not cite {source}"
                );
            }
            assert!(!conv.alt(picture).trim().is_empty(), "{code} {picture:?}");
        }
        // The dent caption says what each numbered drawing is.
        let dents = conv.caption(Picture::Dents);
        for n in ["1 · ", "2 · ", "3 · "] {
            assert!(dents.contains(n), "{code}: {dents}");
        }
    }
}

/// The photos of the last dispatch.
fn photos(chat: &Chat) -> &[SentMessagePhoto] {
    &chat.last.sent_messages_photo
}

/// Whether a photo was uploaded (bytes and a file name) rather than sent by file id (the mock
/// names those `no_name.jpg` and keeps the id as the data).
fn uploaded(photo: &SentMessagePhoto) -> bool {
    photo.bot_request.file_name != "no_name.jpg"
}

#[tokio::test]
async fn entering_each_check_sends_its_picture_before_the_menu_with_its_caption() {
    let conv = conversation();
    let mut chat = Chat::new();
    chat.send("/start").await;
    let mut state = chat.session().await.unwrap().state;
    for (action, picture) in NOT_SURE_PATH.into_iter().zip(PICTURES_ON_THE_PATH) {
        let old_menu = chat.menu.clone().unwrap().id;
        let expected = conv.step(&state, Input::Tap(action));
        chat.tap(action).await;
        state = expected.state.clone();
        let sent = &chat.last.sent_messages;
        let Some(picture) = picture else {
            // No picture: the tap edits the menu in place, as before.
            assert!(sent.is_empty(), "{action:?}: {:?}", chat.sent_texts());
            assert_eq!(chat.last.edited_messages_text.len(), 1, "{action:?}");
            continue;
        };
        // Two new messages: the photo first, then the menu below it; the old menu retired.
        assert_eq!(sent.len(), 2, "{action:?}");
        assert!(
            sent[0].photo().is_some(),
            "{action:?}: the photo comes first"
        );
        assert!(
            sent[0].reply_markup().is_none(),
            "{action:?}: the photo has no buttons"
        );
        assert_eq!(chat.menu.as_ref().map(|m| m.id), Some(sent[1].id));
        let screen = expected.screen.as_ref().unwrap();
        assert_eq!(chat.sent_texts(), vec![screen.text.clone()], "{action:?}");
        let photo = &photos(&chat)[0];
        assert_eq!(
            photo.bot_request.caption.as_deref(),
            Some(conv.caption(picture)),
            "{action:?}"
        );
        assert_eq!(
            photo.bot_request.file_name,
            format!("{}.png", picture.key())
        );
        assert!(
            chat.last
                .edited_messages_reply_markup
                .iter()
                .any(|e| e.message.id == old_menu),
            "{action:?}: the old menu keeps no buttons"
        );
        assert_eq!(chat.session().await.unwrap().menu, Some(sent[1].id));
    }
    assert!(matches!(
        state,
        State::Results { .. } | State::FollowUps { .. }
    ));
}

#[tokio::test]
async fn typed_input_on_a_check_resends_the_menu_but_not_the_picture_above_it() {
    let mut chat = Chat::new();
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Identify)).await;
    chat.tap(Action::NotSure).await;
    assert_eq!(photos(&chat).len(), 1);
    chat.send("/help").await;
    assert!(photos(&chat).is_empty(), "the picture is still above");
    assert_eq!(chat.last.sent_messages.len(), 2, "help, then the menu");
    // Back to the press test from the dents check is a new picture again.
    chat.tap(Action::Flat(FlatAnswer::Both)).await;
    chat.tap(Action::Back).await;
    assert_eq!(photos(&chat).len(), 1);
    assert_eq!(
        photos(&chat)[0].bot_request.caption.as_deref(),
        Some(conversation().caption(Picture::PressTest))
    );
}

#[tokio::test]
async fn a_deep_link_into_the_checks_still_sends_two_messages_the_greeting_on_the_photo() {
    let conv = conversation();
    let mut chat = Chat::new();
    chat.send(&format!("/start {}", Link::NotSure.payload()))
        .await;
    let expected = conv.step(&State::Idle, Input::Open(Link::NotSure));
    let sent = &chat.last.sent_messages;
    assert_eq!(sent.len(), 2, "{:?}", chat.sent_texts());
    let caption = photos(&chat)[0].bot_request.caption.clone().unwrap();
    let greeting = expected.notice.clone().unwrap();
    assert_eq!(
        caption,
        format!("{greeting}\n\n{}", conv.caption(Picture::PressTest))
    );
    assert_eq!(
        chat.sent_texts(),
        vec![expected.screen.unwrap().text],
        "the menu carries the question only"
    );
}

#[tokio::test]
async fn each_picture_is_uploaded_once_across_many_chats_then_sent_by_its_file_id() {
    let photos_handle = Photos::in_memory();
    let mut uploads = Vec::new();
    let mut by_id = Vec::new();
    let mut first_ids = std::collections::BTreeMap::new();
    for chat_number in 0..4 {
        let mut chat = Chat::new();
        let storage = chat.storage.clone().erase();
        let delivery = Delivery::new(Policy::default(), Arc::default(), storage.clone());
        chat.bot.dependencies(telegram::dependencies_with(
            content(),
            storage,
            delivery,
            photos_handle.clone(),
            telegram::callback::ButtonKey::from_token(telegram::TEST_TOKEN),
        ));
        chat.send("/start").await;
        for action in NOT_SURE_PATH {
            chat.tap(action).await;
            for photo in photos(&chat) {
                let name = photo.bot_request.file_name.clone();
                if uploaded(photo) {
                    let id = photo.message.photo().unwrap()[0].file.id.0.clone();
                    first_ids.insert(name.clone(), id);
                    uploads.push((chat_number, name));
                } else {
                    by_id.push((chat_number, photo.bot_request.file_data.clone()));
                }
            }
        }
    }
    // The first chat uploads the three pictures of the path; the other three reuse their ids.
    assert_eq!(
        uploads,
        vec![
            (0, "press_test.png".to_owned()),
            (0, "dents.png".to_owned()),
            (0, "raised.png".to_owned()),
        ]
    );
    assert_eq!(by_id.len(), 9, "{by_id:?}");
    assert!(by_id.iter().all(|(chat, _)| *chat > 0));
    for (_, id) in &by_id {
        assert!(
            first_ids.values().any(|first| first == id),
            "{id} is not an id Telegram returned"
        );
    }
    crate::util::note(&format!(
        "pictures across 4 chats: {} uploads, {} sends by file id",
        uploads.len(),
        by_id.len()
    ));
}

#[test]
fn the_console_says_where_the_png_is_and_writes_it() {
    let conv = conversation();
    let (script, _) = crate::console::script_for(&NOT_SURE_PATH[..3]);
    let mut output = Vec::new();
    scar_guide::console::run(&content(), Some("en"), script.as_bytes(), &mut output).unwrap();
    let output = String::from_utf8(output).unwrap();
    for picture in [Picture::PressTest, Picture::Dents] {
        let path = scar_guide::console::pictures_dir().join(format!("{}.png", picture.key()));
        let caption = html::to_plain(conv.caption(picture));
        let what = caption.lines().next().unwrap();
        let line = format!("[picture: {what} — {}]", path.display());
        assert_eq!(output.matches(&line).count(), 1, "{line} in:\n{output}");
        let png = std::fs::read(&path).unwrap();
        assert_eq!(png, scar_guide::pictures::render(picture).unwrap());
    }
    assert!(
        !output.contains("raised.png"),
        "the raised check was not reached"
    );
}

#[tokio::test]
async fn instances_share_picture_ids_through_redis_beside_the_sessions() {
    use scar_guide::config::RedisUrl;
    use scar_guide::service::storage::{RedisPhotoCache, RedisStorage};
    use scar_guide::telegram::photos::PhotoCache;

    let Some(mut server) = crate::redis::redis_server() else {
        return;
    };
    let url = RedisUrl::parse(&server.url()).expect("a valid Redis URL");
    let hour = std::time::Duration::from_secs(3600);
    let first = RedisStorage::with_prefix(&url, hour, "photos");
    let second = RedisStorage::with_prefix(&url, hour, "photos");
    let (a, b) = (
        RedisPhotoCache::new(first.clone()),
        RedisPhotoCache::new(second),
    );
    let key = Photos::in_memory().key(Picture::Dents).to_owned();
    assert_eq!(b.get(&key).await, None);
    a.put(&key, "file-id-1").await;
    assert_eq!(b.get(&key).await.as_deref(), Some("file-id-1"), "shared");
    let stored: Option<String> = redis::cmd("GET")
        .arg(format!("photos:photo:{key}"))
        .query(&mut server.raw())
        .expect("GET");
    assert_eq!(stored.as_deref(), Some("file-id-1"));
    // The sessions' index does not count it.
    assert_eq!(first.stats().await.expect("stats").active, 0);
    // A refused id is dropped for every instance.
    b.forget(&key).await;
    let fresh = RedisPhotoCache::new(first.clone());
    assert_eq!(fresh.get(&key).await, None);
    // Redis away is a cache miss, not an error: the picture is uploaded once more.
    server.kill();
    let after = RedisPhotoCache::new(first);
    assert_eq!(after.get(&key).await, None);
    after.put(&key, "file-id-2").await;
    assert_eq!(
        after.get(&key).await.as_deref(),
        Some("file-id-2"),
        "kept in memory"
    );
}
