//! What a private chat does not read (service messages, the bot's own inline cards), typed
//! yes/no on the first mirror self-check, and groups: replies thread to the command's forum
//! topic, and a /settings language choice follows its maker into groups.

use scar_guide::content::{Pack, html};
use scar_guide::conversation::{Action, Checks, Conversation, Input, LanguageCode, State};
use scar_guide::knowledge::{FlatAnswer, Link, ScarKind, Topic};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use scar_guide::service::storage::ExpiringStorage;
use scar_guide::telegram::{self, Session, callback};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{
    Chat as TgChat, ChatId, MessageId, MessageKind, ThreadId, Update, UpdateKind,
};
use teloxide_tests::{MockCallbackQuery, MockMessageText, MockSupergroupChat, MockUser};

use crate::util::{Chat, content, conversation, english, keyboard_buttons, note};

/// Asserts the last dispatch did nothing visible: no message, edit, pop-up or deletion.
fn assert_silent(chat: &Chat, context: &str) {
    let r = &chat.last;
    assert!(
        r.sent_messages.is_empty()
            && r.edited_messages_text.is_empty()
            && r.edited_messages_reply_markup.is_empty()
            && r.edited_messages_caption.is_empty()
            && r.answered_callback_queries.is_empty()
            && r.deleted_messages.is_empty(),
        "{context}: the bot answered: {:?}",
        chat.sent_texts()
    );
}

/// A private-chat service message from the user, as Telegram sends it: the usual message fields
/// plus `service` (e.g. `{"pinned_message": …}`), parsed from JSON like a real update.
fn service_update(message_id: i32, service: serde_json::Value) -> Update {
    let user = MockUser::ID;
    let mut message = serde_json::json!({
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": { "id": user, "type": "private", "first_name": MockUser::FIRST_NAME },
        "from": { "id": user, "is_bot": false, "first_name": MockUser::FIRST_NAME },
    });
    for (key, value) in service.as_object().expect("an object of service fields") {
        message[key] = value.clone();
    }
    // From text, as from the wire: teloxide reads update keys as borrowed strings.
    let json = serde_json::json!({ "update_id": 1, "message": message }).to_string();
    let update: Update = serde_json::from_str(&json).expect("a valid update");
    let UpdateKind::Message(parsed) = &update.kind else {
        panic!("not a message update: {:?}", update.kind)
    };
    assert!(
        !matches!(parsed.kind, MessageKind::Common(_)),
        "{service} parsed as a common message"
    );
    update
}

// --- Service messages ---------------------------------------------------------------------------

#[tokio::test]
async fn service_messages_in_a_private_chat_get_no_reply_and_change_nothing() {
    let mut chat = Chat::new();

    // Before any conversation: nothing is answered and nothing is stored.
    let timer = serde_json::json!({
        "message_auto_delete_timer_changed": { "message_auto_delete_time": 86_400 }
    });
    chat.send_update(service_update(9_000, timer.clone())).await;
    assert_silent(&chat, "a timer change before /start");
    assert_eq!(
        chat.session().await,
        None,
        "a timer change started a session"
    );

    // In the middle of identifying marks.
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Identify)).await;
    chat.tap(Action::Toggle(ScarKind::Redness)).await;
    let before = chat.session().await.expect("a session");
    assert_eq!(
        before.state,
        State::Identify {
            picked: vec![ScarKind::Redness]
        }
    );
    let menu = chat.menu.clone().expect("a menu");

    // The user pins the bot's menu: Telegram posts a "pinned" service message.
    let pinned = serde_json::json!({
        "pinned_message": serde_json::to_value(&menu).expect("a message serializes")
    });
    for (name, service) in [("a pin", pinned), ("a timer change", timer)] {
        chat.send_update(service_update(9_100, service)).await;
        assert_silent(&chat, name);
        assert_eq!(
            chat.session().await.as_ref(),
            Some(&before),
            "{name} changed the session"
        );
    }

    // The menu is still the current one: its buttons work as before.
    chat.tap(Action::Toggle(ScarKind::Dents)).await;
    assert_eq!(chat.answers().len(), 1);
    assert_eq!(
        chat.last.edited_messages_text.first().map(|e| e.message.id),
        Some(menu.id),
        "the pinned menu is edited in place"
    );
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify {
            picked: vec![ScarKind::Redness, ScarKind::Dents]
        }
    );
}

// --- The bot's own inline cards -----------------------------------------------------------------

#[tokio::test]
async fn the_bots_own_inline_cards_posted_in_the_private_chat_are_not_answers() {
    let mut chat = Chat::new();
    let me = chat.bot.me.user.clone();
    chat.send("/start").await;
    let before = chat.session().await.expect("a session");
    assert_eq!(before.state, State::MainMenu);

    // What the user posts from the bot's inline mode: a card (as plain text) and a keyword.
    let card = html::to_plain(&conversation().compact_card(Link::Scar(ScarKind::Lumps)));
    for text in [card.as_str(), "keloid"] {
        chat.send_update(MockMessageText::new().text(text).via_bot(me.clone()))
            .await;
        assert_silent(&chat, &format!("{text:?} via the bot"));
        assert_eq!(
            chat.session().await.as_ref(),
            Some(&before),
            "{text:?} via the bot changed the session"
        );
    }

    // The same word typed by the user is read: "keloid" on the main menu starts identifying.
    let typed = conversation().step(&State::MainMenu, Input::Text("keloid".into()));
    let lumps = State::Identify {
        picked: vec![ScarKind::Lumps],
    };
    assert_eq!(typed.state, lumps);
    chat.send("keloid").await;
    assert_eq!(chat.session().await.unwrap().state, lumps);
    assert!(!chat.last.sent_messages.is_empty() || !chat.last.edited_messages_text.is_empty());
}

#[tokio::test]
async fn text_posted_through_another_inline_bot_is_still_read() {
    let mut chat = Chat::new();
    chat.send("/start").await;
    let other_bot = MockUser::new()
        .id(chat.bot.me.user.id.0 + 1)
        .is_bot(true)
        .first_name("Other")
        .username("other_bot")
        .build();
    chat.send_update(MockMessageText::new().text("keloid").via_bot(other_bot))
        .await;
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify {
            picked: vec![ScarKind::Lumps]
        },
        "only the bot's own inline posts are skipped"
    );
}

// --- Typed answers on the first mirror self-check -----------------------------------------------

/// The first self-check ("Does the colour fade while you press?") in `pack`'s language: the
/// state and the label of its "no flat marks" button.
fn first_self_check(conv: &Conversation<'_>) -> (State, String) {
    let outcome = conv.step(
        &State::Identify { picked: Vec::new() },
        Input::Tap(Action::NotSure),
    );
    let state = State::SelfCheck {
        checks: Checks::default(),
    };
    assert_eq!(
        outcome.state, state,
        "'not sure' opens the first self-check"
    );
    let no_flat = outcome
        .screen
        .as_ref()
        .expect("the self-check has a screen")
        .flat_buttons()
        .find(|b| b.action == Action::Flat(FlatAnswer::NoFlat))
        .expect("a 'no flat marks' button")
        .label
        .clone();
    (state, no_flat)
}

/// What typing `text` on the first self-check answers, in `conv`'s language.
fn flat_answer(conv: &Conversation<'_>, text: &str) -> Option<FlatAnswer> {
    let (state, _) = first_self_check(conv);
    let outcome = conv.step(&state, Input::Text(text.to_owned()));
    match outcome.state {
        State::SelfCheck { checks } => {
            assert_eq!(checks.dents, None, "{text:?}");
            assert_eq!(checks.raised, None, "{text:?}");
            checks.flat
        }
        other => panic!("{text:?} left the self-checks: {other:?}"),
    }
}

fn assert_typed_flat_answers(pack: &Pack, cases: &[(&str, FlatAnswer)]) {
    let content = content();
    let conv = Conversation::new(&content, pack);
    for (text, wanted) in cases {
        assert_eq!(
            flat_answer(&conv, text),
            Some(*wanted),
            "{}: {text:?}",
            pack.code
        );
    }
    // The button's own label is exactly a tap on it.
    let (state, no_flat) = first_self_check(&conv);
    assert_eq!(
        flat_answer(&conv, &no_flat),
        Some(FlatAnswer::NoFlat),
        "{}: the label {no_flat:?}",
        pack.code
    );
    let tapped = conv.step(&state, Input::Tap(Action::Flat(FlatAnswer::NoFlat)));
    let typed = conv.step(&state, Input::Text(no_flat));
    assert_eq!(typed, tapped, "{}: typing the label is the tap", pack.code);
}

#[test]
fn typed_yes_and_no_answer_the_colour_check() {
    let pack = english();
    // The keywords the bot reads for yes and no are the ones it says it reads.
    let keywords = &pack.ui.keywords;
    assert!(keywords.yes.iter().any(|w| w == "yes"));
    assert!(keywords.no.iter().any(|w| w == "no"));
    assert_typed_flat_answers(
        pack,
        &[
            ("yes", FlatAnswer::Fades),
            ("Yes", FlatAnswer::Fades),
            ("no", FlatAnswer::Stays),
            ("No.", FlatAnswer::Stays),
            // A colour named in the answer decides: brown marks stay.
            ("no, it stays brown", FlatAnswer::Stays),
        ],
    );
    // Unrelated words are not a yes or a no: the question is asked again with the hint.
    let conv = conversation();
    let (state, _) = first_self_check(&conv);
    let other = conv.step(&state, Input::Text("what is the meaning of life".into()));
    assert_eq!(other.state, state);
    assert_eq!(
        other.notice.as_deref(),
        Some(pack.ui.hints.unknown_text.as_str())
    );
}

#[test]
fn typed_yes_and_no_answer_the_colour_check_in_japanese() {
    let content = content();
    let Some(ja) = content.packs().find(|p| p.code == "ja") else {
        note("no Japanese pack in dialogues/: typed はい/いいえ on the colour check not checked");
        return;
    };
    assert!(ja.ui.keywords.yes.iter().any(|w| w == "はい"));
    assert!(ja.ui.keywords.no.iter().any(|w| w == "いいえ"));
    assert_typed_flat_answers(
        ja,
        &[("はい", FlatAnswer::Fades), ("いいえ", FlatAnswer::Stays)],
    );
}

// --- Groups -------------------------------------------------------------------------------------

/// A forum supergroup.
fn forum() -> TgChat {
    MockSupergroupChat::new().is_forum(true).build()
}

/// Asserts the last dispatch sent one message into `chat_id`: the reply to message `command`,
/// in forum topic `topic`.
fn assert_threaded_reply(chat: &Chat, group: &TgChat, command: MessageId, topic: Option<i64>) {
    let sent = &chat.last.sent_messages_text;
    assert_eq!(sent.len(), 1, "one answer: {:?}", chat.sent_texts());
    let request = &sent[0].bot_request;
    assert_eq!(sent[0].message.chat.id, group.id, "answered in the group");
    assert_eq!(request.message_thread_id, topic, "the forum topic");
    let reply = request
        .reply_parameters
        .as_ref()
        .expect("the answer replies to the command");
    assert_eq!(reply.message_id, command, "replies to the command message");
    assert_eq!(
        sent[0].message.reply_to_message().map(|m| m.id),
        Some(command),
        "the mock saw the reply to the command"
    );
}

#[tokio::test]
async fn a_group_command_in_a_forum_topic_is_answered_in_that_topic_as_a_reply() {
    let mut chat = Chat::new();
    let bot = chat.bot.me.username().to_owned();
    let group = forum();
    let topic = ThreadId(MessageId(77));

    // Ids far above the mock's counter, so it keeps them as given.
    let start = MessageId(10_000);
    chat.send_update(
        MockMessageText::new()
            .text(format!("/start@{bot}"))
            .chat(group.clone())
            .id(start.0)
            .thread_id(topic)
            .is_topic_message(true),
    )
    .await;
    assert_eq!(chat.sent_texts(), vec![english().ui.group.intro.clone()]);
    assert_threaded_reply(&chat, &group, start, Some(i64::from(topic.0.0)));

    // A topic card command in another topic: its own topic, its own reply.
    let other_topic = ThreadId(MessageId(88));
    let redness = MessageId(20_000);
    chat.send_update(
        MockMessageText::new()
            .text(format!("/redness@{bot}"))
            .chat(group.clone())
            .id(redness.0)
            .thread_id(other_topic)
            .is_topic_message(true),
    )
    .await;
    assert_eq!(
        chat.sent_texts(),
        vec![conversation().compact_card(Link::Scar(ScarKind::Redness))]
    );
    assert_threaded_reply(&chat, &group, redness, Some(i64::from(other_topic.0.0)));

    // Outside any topic: still a reply to the command, with no thread.
    let plain = MockSupergroupChat::new().build();
    let general = MessageId(30_000);
    chat.send_update(
        MockMessageText::new()
            .text(format!("/start@{bot}"))
            .chat(plain.clone())
            .id(general.0),
    )
    .await;
    assert_threaded_reply(&chat, &plain, general, None);
}

#[tokio::test]
async fn the_settings_language_is_used_in_groups() {
    let content = content();
    let Some(ja) = content.packs().find(|p| p.code == "ja") else {
        note("no Japanese pack in dialogues/: the /settings language in groups not checked");
        return;
    };
    let en = english();
    let english_user = || MockUser::new().language_code("en").build();
    let mut chat = Chat::new();
    let bot = chat.bot.me.username().to_owned();

    // In the private chat (its id is the user's id), the user chooses Japanese.
    chat.send_update(MockMessageText::new().text("/start").from(english_user()))
        .await;
    chat.send_update(
        MockMessageText::new()
            .text("/settings")
            .from(english_user()),
    )
    .await;
    let japanese = LanguageCode::parse("ja").expect("a valid code");
    chat.tap(Action::Language(japanese)).await;
    let session = chat.session().await.expect("a session");
    assert_eq!(session.lang.as_deref(), Some("ja"));
    assert_eq!(chat.chat_id().0, MockUser::ID as i64, "the private chat");

    // In a group, with Telegram still saying English: the Japanese intro.
    let group = MockSupergroupChat::new().build();
    chat.send_update(
        MockMessageText::new()
            .text(format!("/start@{bot}"))
            .chat(group.clone())
            .from(english_user()),
    )
    .await;
    assert_eq!(chat.sent_texts(), vec![ja.ui.group.intro.clone()]);
    assert_ne!(ja.ui.group.intro, en.ui.group.intro);
    let intro = chat.last.sent_messages[0].clone();

    // The asker's topic buttons open the Japanese card.
    let markup = intro.reply_markup().expect("topic buttons").clone();
    let (label, data) = keyboard_buttons(&markup)
        .into_iter()
        .next()
        .expect("a topic button");
    let tap = callback::parse_group(&data).expect("a group button").tap;
    let ja_conv = Conversation::new(&content, ja);
    let title: &str = match tap.link {
        Link::Scar(kind) => &ja.scars.get(kind).label,
        Link::Care => ja.topics.get(Topic::Care),
        other => ja.link_title(other),
    };
    assert_eq!(label, title, "the button speaks Japanese");
    chat.send_update(
        MockCallbackQuery::new()
            .message(intro)
            .data(data)
            .from(english_user()),
    )
    .await;
    assert_eq!(
        chat.last
            .edited_messages_text
            .first()
            .map(|e| e.bot_request.text.clone()),
        Some(ja_conv.compact_card(tap.link)),
        "the card in Japanese"
    );

    // Another member who chose nothing reads their Telegram language.
    let other = MockUser::new()
        .id(MockUser::ID + 1)
        .language_code("en")
        .build();
    chat.send_update(
        MockMessageText::new()
            .text(format!("/start@{bot}"))
            .chat(group.clone())
            .from(other),
    )
    .await;
    assert_eq!(chat.sent_texts(), vec![en.ui.group.intro.clone()]);
    let group_id = group.id;

    // The choice lives in the private chat only: nothing is stored for the group.
    let stored = |id: ChatId| {
        let storage = chat.storage.clone();
        async move {
            storage
                .get_dialogue(id)
                .await
                .expect("storage is infallible")
        }
    };
    let private = stored(ChatId(MockUser::ID as i64)).await.expect("kept");
    assert_eq!(private.lang.as_deref(), Some("ja"));
    assert_eq!(stored(group_id).await, None, "state stored for the group");
}

// --- A storage blip after the reply --------------------------------------------------------------

/// A storage whose next `failures` writes fail, as during a Redis blip.
struct Blip {
    inner: Arc<ExpiringStorage<Session>>,
    failures: AtomicUsize,
}

impl Storage<Session> for Blip {
    type Error = std::io::Error;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            self.inner
                .clone()
                .remove_dialogue(chat_id)
                .await
                .map_err(std::io::Error::other)
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: Session,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let failing = self
                .failures
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(std::io::Error::other("Redis is unreachable"));
            }
            self.inner
                .clone()
                .update_dialogue(chat_id, dialogue)
                .await
                .map_err(std::io::Error::other)
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<Session>, Self::Error>> {
        Box::pin(async move {
            self.inner
                .clone()
                .get_dialogue(chat_id)
                .await
                .map_err(std::io::Error::other)
        })
    }
}

#[tokio::test]
async fn a_store_that_fails_once_after_the_reply_keeps_the_step() {
    let inner = ExpiringStorage::<Session>::new(Duration::from_secs(3600), 100);
    let storage = Arc::new(Blip {
        inner: inner.clone(),
        failures: AtomicUsize::new(1),
    });
    let mut bot = teloxide_tests::MockBot::new(
        MockMessageText::new().text("/start"),
        telegram::schema::<teloxide::Bot>(),
    );
    bot.dependencies(telegram::dependencies(content(), storage.clone().erase()));
    bot.dispatch().await;
    assert!(
        !bot.get_responses().sent_messages.is_empty(),
        "the reply went out"
    );
    let stored = inner
        .get_dialogue(ChatId(MockUser::ID as i64))
        .await
        .expect("memory answers")
        .expect("the step was stored after one failed write");
    let pack = english();
    let expected = Conversation::new(&content(), pack).step(&State::Idle, Input::Start);
    assert_eq!(stored.state, expected.state);
    assert_eq!(storage.failures.load(Ordering::Relaxed), 0);
}
