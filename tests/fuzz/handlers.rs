//! Random updates through the real handler tree on the `teloxide_tests` mock Bot API: private
//! messages, media, edits, callback queries with shown, random and forged data (on the menu,
//! on an older message, on an inline message, on a message too old to read), group commands
//! and group taps by the asker and by others, inline queries. Every callback query gets exactly
//! one answer, every private message a reply, and afterwards `/start` still works.
//!
//! The mock Bot API has no `answerInlineQuery`, so inline queries go through the same tree on the
//! fake Bot API `inline.rs` uses, between the other updates.

use proptest::prelude::*;
use scar_guide::conversation::walk::message_problems;
use scar_guide::conversation::{Conversation, Input};
use scar_guide::knowledge::Link;
use scar_guide::telegram::callback::{self, GroupTap};
use teloxide::types::{Message, UpdateId, UserId};
use teloxide_tests::{
    MockCallbackQuery, MockGroupChat, MockMessagePhoto, MockMessageText, MockUser,
};

use crate::util::{Chat, buttons, expected_messages, note, static_content};

/// Cases of the bounded run; `FUZZ_HANDLER_CASES` sets another number.
const DEFAULT_CASES: u32 = 2;

/// Updates in one case (each dispatch on the mock starts its server: about 0.2 s).
const UPDATES: std::ops::Range<usize> = 15..25;

/// A member of the group other than the one who asked.
const OTHER_MEMBER: u64 = 87_654_321;

/// One update, its buttons named by index into the message it is on when it is sent.
#[derive(Debug, Clone)]
enum Event {
    /// A private text message (commands included).
    Text(String),
    /// An edit of an earlier private message.
    Edit(String),
    Photo,
    /// A button of the current menu.
    Tap(usize),
    /// Random callback data on the current menu.
    Data(String),
    /// A button of an older message with buttons.
    OldTap(usize, usize),
    /// Callback data on a message the Bot API no longer gives (inaccessible).
    Inaccessible(String),
    /// Callback data on a message posted through inline mode (no chat, only an id).
    InlineMessage(String),
    /// A message in a group, by the asker (false) or another member (true).
    GroupText(String, bool),
    /// A button of the bot's last group message, by the asker or another member.
    GroupTap(usize, bool),
    /// Group callback data, forged or naming a topic for someone else.
    GroupData(String, bool),
    InlineQuery(String),
}

fn text() -> impl Strategy<Value = String> {
    let link = prop::sample::select(Link::all().map(Link::payload).collect::<Vec<_>>());
    prop_oneof![
        2 => prop::sample::select(vec![
            "/start", "/settings", "/help", "/cancel", "/privacy", "/forget", "/nonsense",
            "keloid", "赤み", "クレーター", "yes", "no", "1", "2", "back",
        ])
        .prop_map(str::to_owned),
        1 => link.prop_map(|p| format!("/start {p}")),
        1 => "\\PC{0,40}",
    ]
}

fn group_text() -> impl Strategy<Value = String> {
    let bot = teloxide_tests::MockMe::USERNAME;
    prop_oneof![
        2 => prop::sample::select(vec!["start", "help", "redness", "care", "settings", "x"])
            .prop_map(move |c| format!("/{c}@{bot}")),
        1 => "\\PC{0,30}",
    ]
}

fn data() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(callback::all_actions()).prop_map(callback::encode),
        1 => "1:[a-z:_]{0,30}",
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn group_data() -> impl Strategy<Value = String> {
    let link = prop::sample::select(Link::all().collect::<Vec<_>>());
    prop_oneof![
        2 => (link, prop_oneof![Just(MockUser::ID), Just(OTHER_MEMBER)])
            .prop_map(|(link, asker)| {
                // Signed with the key the test bot uses: genuine buttons, pressed by anyone.
                let key = callback::ButtonKey::from_token(scar_guide::telegram::TEST_TOKEN);
                callback::encode_group(GroupTap { asker: UserId(asker), link }, &key)
            }),
        1 => "1:g:[0-9]{0,12}:[a-z_]{0,12}",
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => text().prop_map(Event::Text),
        1 => text().prop_map(Event::Edit),
        1 => Just(Event::Photo),
        6 => any::<usize>().prop_map(Event::Tap),
        2 => data().prop_map(Event::Data),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(m, b)| Event::OldTap(m, b)),
        1 => data().prop_map(Event::Inaccessible),
        1 => data().prop_map(Event::InlineMessage),
        2 => (group_text(), any::<bool>()).prop_map(|(t, o)| Event::GroupText(t, o)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(b, o)| Event::GroupTap(b, o)),
        1 => (group_data(), any::<bool>()).prop_map(|(d, o)| Event::GroupData(d, o)),
        1 => prop_oneof![
            text(),
            "\\PC{0,64}",
        ]
        .prop_map(Event::InlineQuery),
    ]
}

#[test]
fn random_updates_through_the_handler_tree_are_all_answered() {
    let cases = crate::fuzz::env_count("FUZZ_HANDLER_CASES", DEFAULT_CASES);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let updates = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = crate::fuzz::runner(cases);
    let result = runner.run(&prop::collection::vec(event(), UPDATES), |events| {
        updates.fetch_add(events.len() + 1, std::sync::atomic::Ordering::Relaxed);
        runtime
            .block_on(run_case(&events))
            .map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let updates = updates.into_inner();
    note(&format!("handler fuzz: {cases} cases, {updates} updates"));
}

/// A private message or a callback query, to be answered.
fn sender() -> teloxide::types::User {
    MockUser::new().build()
}

async fn run_case(events: &[Event]) -> Result<(), String> {
    let mut chat = Chat::new();
    let group = MockGroupChat::new().build();
    // Messages with buttons the bot sent in the private chat, and its last one in the group.
    let mut menus: Vec<Message> = Vec::new();
    let mut group_menu: Option<Message> = None;
    let member = |other: bool| match other {
        true => MockUser::new().id(OTHER_MEMBER).first_name("Bea").build(),
        false => sender(),
    };
    for (i, event) in events.iter().enumerate() {
        let menu = chat.menu.clone();
        let on_menu = |d: String| {
            let mut q = MockCallbackQuery::new().data(d).from(sender());
            q.message = menu.clone();
            q
        };
        let pick = |m: &Message, n: usize| {
            let b = buttons(m);
            b.get(n % b.len().max(1))
                .map(|(_, d)| d.clone())
                .unwrap_or_default()
        };
        let is_callback = match event {
            Event::Text(t) => {
                chat.send_update(MockMessageText::new().text(t).from(sender()))
                    .await;
                false
            }
            Event::Edit(t) => {
                let edited = teloxide::types::Update {
                    id: UpdateId(0),
                    kind: teloxide::types::UpdateKind::EditedMessage(
                        MockMessageText::new().text(t).build(),
                    ),
                };
                chat.send_update(edited).await;
                false
            }
            Event::Photo => {
                chat.send_update(MockMessagePhoto::new()).await;
                false
            }
            Event::Tap(n) => {
                let data = menu.as_ref().map(|m| pick(m, *n)).unwrap_or_default();
                chat.send_update(on_menu(data)).await;
                true
            }
            Event::Data(d) => {
                chat.send_update(on_menu(d.clone())).await;
                true
            }
            Event::OldTap(m, n) => {
                let old = menus.get(m % menus.len().max(1)).cloned();
                let mut q = MockCallbackQuery::new().from(sender());
                q.data = old.as_ref().map(|o| pick(o, *n));
                q.message = old;
                chat.send_update(q).await;
                true
            }
            Event::Inaccessible(d) => {
                let mut q = MockCallbackQuery::new().data(d.clone()).from(sender());
                if let Some(menu) = &menu {
                    q = q.message(menu.clone());
                }
                chat.send_update(q.make_message_inaccessible()).await;
                true
            }
            Event::InlineMessage(d) => {
                let mut q = MockCallbackQuery::new().data(d.clone()).from(sender());
                q.message = None;
                q.inline_message_id = Some("inline-1".to_owned());
                chat.send_update(q).await;
                true
            }
            Event::GroupText(t, other) => {
                chat.send_update(
                    MockMessageText::new()
                        .text(t)
                        .chat(group.clone())
                        .from(member(*other)),
                )
                .await;
                false
            }
            Event::GroupTap(n, other) => {
                let on = group_menu.clone().unwrap_or_else(|| {
                    MockMessageText::new()
                        .text("earlier")
                        .chat(group.clone())
                        .build()
                });
                let q = MockCallbackQuery::new()
                    .message(on.clone())
                    .data(pick(&on, *n))
                    .from(member(*other));
                chat.send_update(q).await;
                true
            }
            Event::GroupData(d, other) => {
                let on = group_menu.clone().unwrap_or_else(|| {
                    MockMessageText::new()
                        .text("earlier")
                        .chat(group.clone())
                        .build()
                });
                let q = MockCallbackQuery::new()
                    .message(on)
                    .data(d.clone())
                    .from(member(*other));
                chat.send_update(q).await;
                true
            }
            Event::InlineQuery(query) => {
                check_inline(query).await?;
                continue;
            }
        };
        let r = &chat.last;
        let answered = r.answered_callback_queries.len();
        if is_callback && answered != 1 {
            return Err(format!("update {i} {event:?}: {answered} callback answers"));
        }
        if !is_callback && answered != 0 {
            return Err(format!(
                "update {i} {event:?}: a callback answer for no callback"
            ));
        }
        let private = matches!(event, Event::Text(_) | Event::Edit(_) | Event::Photo);
        if private && r.sent_messages.is_empty() {
            return Err(format!("update {i} {event:?}: no reply"));
        }
        for sent in r
            .sent_messages
            .iter()
            .chain(r.edited_messages_text.iter().map(|e| &e.message))
        {
            if sent.reply_markup().is_none() {
                continue;
            }
            if sent.chat.id == group.id {
                group_menu = Some(sent.clone());
            } else {
                menus.push(sent.clone());
            }
        }
    }
    // Whatever came before, /start answers with the greeting and the main menu.
    chat.send("/start").await;
    let session = chat.session().await.unwrap_or_default();
    let content = static_content();
    let pack = content.pack(session.lang.as_deref().or(session.seen_lang.as_deref()));
    let expected = Conversation::new(content, pack).step(&session.state, Input::Start);
    if chat.sent_texts() != expected_messages(&expected) {
        return Err(format!(
            "after the updates, /start sent {:?}",
            chat.sent_texts()
        ));
    }
    Ok(())
}

/// An inline query through the same handler tree on the fake Bot API of `inline.rs` (the
/// mock has no `answerInlineQuery`): one answer, at most 50 results, each message within
/// Telegram's limit and well-formed.
async fn check_inline(query: &str) -> Result<(), String> {
    let answer = crate::inline::ask_as(query, MockUser::ID, None).await;
    let results = crate::inline::results(&answer);
    if results.len() > 50 {
        return Err(format!("{query:?}: {} inline results", results.len()));
    }
    for r in results {
        let text = r["input_message_content"]["message_text"]
            .as_str()
            .unwrap_or_default();
        let problems = message_problems(text, 0);
        if text.is_empty() || !problems.is_empty() {
            return Err(format!("{query:?}: the result {:?}: {problems:?}", r["id"]));
        }
    }
    Ok(())
}
