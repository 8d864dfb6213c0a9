//! Groups (issue 3): only commands addressed to the bot are answered, with the compact card
//! (the first screen of the link's answer) and its topic buttons, which only the asker may tap.

use std::collections::BTreeSet;

use scar_guide::content::html;
use scar_guide::conversation::Conversation;
use scar_guide::conversation::{Action, Input, State};
use scar_guide::knowledge::{Link, ScarKind, Topic};
use scar_guide::telegram::callback::{self, ButtonKey, GroupTap};
use scar_guide::telegram::{TEST_TOKEN, toast};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{ChatId, ReplyMarkup, UserId};
use teloxide_tests::{MockCallbackQuery, MockGroupChat, MockMessageText, MockUser};

use teloxide::types::Me;

use crate::util::{Chat, content, english, keyboard_buttons, url_buttons};

/// `https://t.me/<bot>?start=<payload>`, spelled out rather than taken from `share`.
fn expected_deep_link(me: &Me, link: Link) -> String {
    format!("https://t.me/{}?start={}", me.username(), link.payload())
}

/// A member of the group other than the one who asked.
const OTHER_MEMBER: u64 = 87_654_321;

/// The key the test bot tags its group buttons with.
fn key() -> ButtonKey {
    ButtonKey::from_token(TEST_TOKEN)
}

#[tokio::test]
async fn in_a_group_only_addressed_commands_are_answered_and_only_the_asker_may_tap() {
    let content = content();
    let pack = english();
    let conv = Conversation::new(&content, pack);
    let mut chat = Chat::new();
    let me = chat.bot.me.clone();
    let bot = me.username().to_owned();
    let group = MockGroupChat::new().build();
    let say = |text: &str| MockMessageText::new().text(text).chat(group.clone());

    // Unaddressed commands, commands for other bots and chatter: silence.
    for quiet in [
        "/start".to_owned(),
        "/help".to_owned(),
        "/redness".to_owned(),
        "/start redness".to_owned(),
        "/settings".to_owned(),
        "/start@other_bot".to_owned(),
        "/redness@other_bot".to_owned(),
        format!("/start@{bot}x"),
        "my scars are red".to_owned(),
        "redness".to_owned(),
        format!("@{bot} keloid"),
    ] {
        chat.send_update(say(&quiet)).await;
        let r = &chat.last;
        assert!(
            r.sent_messages.is_empty()
                && r.edited_messages_text.is_empty()
                && r.answered_callback_queries.is_empty(),
            "{quiet:?} got an answer: {:?}",
            chat.sent_texts()
        );
    }

    // /start@bot: the group intro, topic buttons for the asker, and the private chat.
    chat.send_update(say(&format!("/start@{bot}"))).await;
    assert_eq!(chat.sent_texts(), vec![pack.ui.group.intro.clone()]);
    let intro = chat.last.sent_messages[0].clone();
    assert_eq!(intro.chat.id, group.id);
    let markup = intro.reply_markup().expect("the intro has buttons").clone();
    let taps: Vec<(String, String, GroupTap)> = keyboard_buttons(&markup)
        .into_iter()
        .map(|(label, data)| {
            // Tagged with the bot's key.
            let tap = callback::parse_group(&data)
                .and_then(|d| d.verified(&key()))
                .unwrap_or_else(|| panic!("{data:?} is not a genuine group button"));
            (label, data, tap)
        })
        .collect();
    assert!(!taps.is_empty(), "no topic buttons");
    for (label, _, tap) in &taps {
        assert_eq!(
            tap.asker,
            UserId(MockUser::ID),
            "the asker travels with the button"
        );
        assert!(tap.link.is_card(), "{:?} opens no card", tap.link);
        let expected = match tap.link {
            Link::Scar(kind) => &pack.scars.get(kind).label,
            Link::Care => pack.topics.get(Topic::Care),
            other => pack.link_title(other),
        };
        assert_eq!(label, expected);
    }
    let topics: BTreeSet<Link> = taps.iter().map(|(_, _, t)| t.link).collect();
    for kind in ScarKind::all() {
        assert!(topics.contains(&Link::Scar(kind)), "no {kind:?} button");
    }
    let private = format!("https://t.me/{bot}");
    assert_eq!(
        url_buttons(&markup)
            .iter()
            .map(|(l, u)| (l.as_str(), u.as_str().trim_end_matches('/')))
            .collect::<Vec<_>>(),
        vec![(pack.ui.group.open_private.as_str(), private.as_str())]
    );
    chat.send_update(say(&format!("/help@{bot}"))).await;
    assert_eq!(chat.sent_texts(), vec![pack.ui.group.intro.clone()]);

    // /redness@bot: the compact card and the deep link into the private chat.
    chat.send_update(say(&format!("/redness@{bot}"))).await;
    let redness = Link::Scar(ScarKind::Redness);
    assert_eq!(chat.sent_texts(), vec![conv.compact_card(redness)]);
    let card = &chat.last.sent_messages[0];
    let links = url_buttons(card.reply_markup().expect("a button under the card"));
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, pack.ui.group.open_private);
    assert_eq!(links[0].1.as_str(), expected_deep_link(&me, redness));

    // Every group command gets exactly one answer.
    for command in scar_guide::telegram::commands::group_commands(pack) {
        chat.send_update(say(&format!("/{}@{bot}", command.command)))
            .await;
        assert_eq!(chat.last.sent_messages.len(), 1, "/{}", command.command);
        let sent = &chat.last.sent_messages[0];
        let url = url_buttons(sent.reply_markup().expect("buttons"))
            .last()
            .map(|(_, u)| u.to_string())
            .unwrap_or_default();
        match Link::parse(&command.command) {
            Some(link) if link.is_card() => {
                assert_eq!(chat.sent_texts(), vec![conv.compact_card(link)]);
                assert_eq!(url, expected_deep_link(&me, link));
            }
            Some(link) => {
                assert_eq!(chat.sent_texts(), vec![pack.ui.group.intro.clone()]);
                assert_eq!(url, expected_deep_link(&me, link));
            }
            None => assert_eq!(chat.sent_texts(), vec![pack.ui.group.intro.clone()]),
        }
    }
    // Commands about a private conversation point to it.
    for private_only in ["settings", "forget", "cancel", "privacy", "nonsense"] {
        chat.send_update(say(&format!("/{private_only}@{bot}")))
            .await;
        assert_eq!(
            chat.sent_texts(),
            vec![pack.ui.hints.group.clone()],
            "/{private_only}"
        );
    }

    // Another member presses a topic button: a short notice, nothing changes.
    let (_, data, tap) = taps[0].clone();
    let other = MockUser::new().id(OTHER_MEMBER).first_name("Bea").build();
    chat.send_update(
        MockCallbackQuery::new()
            .message(intro.clone())
            .data(data.clone())
            .from(other),
    )
    .await;
    let not_yours: String = html::to_plain(&pack.ui.group.not_yours)
        .chars()
        .take(200)
        .collect();
    assert_eq!(chat.answers(), vec![Some(not_yours.clone())]);
    assert!(not_yours.chars().count() <= 200);
    assert_eq!(not_yours, pack.ui.group.not_yours, "not cut, plain text");
    assert!(chat.last.edited_messages_text.is_empty(), "not acted on");
    assert!(chat.last.sent_messages.is_empty());

    // The asker presses it: the intro becomes that topic's compact card.
    chat.send_update(
        MockCallbackQuery::new()
            .message(intro.clone())
            .data(data.clone()),
    )
    .await;
    assert_eq!(chat.answers(), vec![None]);
    assert!(chat.last.sent_messages.is_empty(), "edited, not posted");
    assert_eq!(chat.last.edited_messages_text.len(), 1);
    let edit = &chat.last.edited_messages_text[0];
    assert_eq!(edit.message.id, intro.id);
    assert_eq!(edit.message.chat.id, group.id);
    assert_eq!(edit.bot_request.text, conv.compact_card(tap.link));
    let Some(ReplyMarkup::InlineKeyboard(markup)) = &edit.bot_request.reply_markup else {
        panic!("the card has no deep link")
    };
    let links = url_buttons(markup);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].1.as_str(), expected_deep_link(&me, tap.link));

    // Forged group data is answered (the button stops spinning) and ignored.
    chat.send_update(
        MockCallbackQuery::new()
            .message(intro.clone())
            .data(format!("1:g:{}:nonsense", MockUser::ID)),
    )
    .await;
    assert_eq!(chat.answers().len(), 1);
    assert!(chat.last.edited_messages_text.is_empty());

    // Nothing is stored, for the group or for the people in it.
    for id in [
        group.id,
        ChatId(MockUser::ID as i64),
        ChatId(OTHER_MEMBER as i64),
    ] {
        let stored = chat.storage.clone().get_dialogue(id).await.unwrap();
        assert_eq!(stored, None, "state stored for {id}");
    }
}

/// What the bot shows a member who presses a group button that is not theirs.
fn not_yours() -> Option<String> {
    Some(toast(&english().ui.group.not_yours))
}

/// Copies of a group button that another member could send are refused with the group's
/// notice and edit nothing: the asker's data with the presser's id, a changed tag, the
/// presser's own genuine button pressed on the asker's message.
#[tokio::test]
async fn forged_group_buttons_are_refused_and_the_message_is_not_edited() {
    let mut chat = Chat::new();
    let bot = chat.bot.me.username().to_owned();
    let group = MockGroupChat::new().build();
    let other = MockUser::new().id(OTHER_MEMBER).first_name("Bea").build();
    let start = format!("/start@{bot}");
    chat.send_update(MockMessageText::new().text(&start).chat(group.clone()))
        .await;
    let intro = chat.last.sent_messages[0].clone();
    let data = keyboard_buttons(intro.reply_markup().expect("topic buttons"))[0]
        .1
        .clone();
    // Bea's own greeting, with her own genuine buttons.
    chat.send_update(
        MockMessageText::new()
            .text(&start)
            .chat(group.clone())
            .from(other.clone()),
    )
    .await;
    let hers = chat.last.sent_messages[0].clone();
    let her_data = keyboard_buttons(hers.reply_markup().expect("topic buttons"))[0]
        .1
        .clone();
    let her_tap = callback::parse_group(&her_data)
        .expect("a group button")
        .tap;
    assert_eq!(her_tap.asker, UserId(OTHER_MEMBER));

    let flipped = if data.ends_with('0') { '1' } else { '0' };
    let wrong_tag = format!("{}{flipped}", &data[..data.len() - 1]);
    let with_her_id = data.replacen(&MockUser::ID.to_string(), &OTHER_MEMBER.to_string(), 1);
    assert_ne!(with_her_id, data);
    let forgeries = [
        ("her id in the asker's data", with_her_id, other.clone()),
        (
            "the asker's data with a wrong tag",
            wrong_tag,
            MockUser::new().build(),
        ),
        (
            "her own button on the asker's message",
            her_data.clone(),
            other.clone(),
        ),
    ];
    for (what, forged, from) in forgeries {
        chat.send_update(
            MockCallbackQuery::new()
                .message(intro.clone())
                .data(forged)
                .from(from),
        )
        .await;
        assert_eq!(chat.answers(), vec![not_yours()], "{what}");
        assert!(chat.last.edited_messages_text.is_empty(), "{what}: edited");
        assert!(chat.last.sent_messages.is_empty(), "{what}: posted");
    }

    // The genuine presses still work: hers on her message, the asker's on theirs.
    let content = content();
    let conv = Conversation::new(&content, english());
    for (message, data, from, tap) in [
        (hers, her_data, other, her_tap),
        (
            intro,
            data.clone(),
            MockUser::new().build(),
            callback::parse_group(&data).expect("a group button").tap,
        ),
    ] {
        chat.send_update(
            MockCallbackQuery::new()
                .message(message.clone())
                .data(data)
                .from(from),
        )
        .await;
        assert_eq!(chat.answers(), vec![None]);
        let edits = &chat.last.edited_messages_text;
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].message.id, message.id);
        assert_eq!(edits[0].bot_request.text, conv.compact_card(tap.link));
    }
}

/// A group button's data sent on a private menu, even the presser's own and genuine, is
/// invalid there: answered as such, and the conversation goes on where it was.
#[tokio::test]
async fn group_data_on_a_private_menu_is_invalid() {
    let mut chat = Chat::new();
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Prevent)).await;
    let menu = chat.menu.clone().expect("a menu");
    let before = chat.session().await.expect("a session").state;
    assert_eq!(before, State::Prevent);
    let genuine = callback::encode_group(
        GroupTap {
            asker: UserId(MockUser::ID),
            link: Link::Scar(ScarKind::Redness),
        },
        &key(),
    );
    chat.tap_raw(&menu, &genuine).await;
    let pack = english();
    let expected = Conversation::new(&content(), pack).step(&before, Input::Forged);
    assert_eq!(chat.answers(), vec![Some(toast(&pack.ui.hints.invalid))]);
    assert_eq!(
        expected.notice.as_deref(),
        Some(pack.ui.hints.invalid.as_str())
    );
    let card = Conversation::new(&content(), pack).compact_card(Link::Scar(ScarKind::Redness));
    assert!(
        chat.last
            .edited_messages_text
            .iter()
            .all(|e| e.bot_request.text != card),
        "the private menu became a group card"
    );
    assert_eq!(chat.session().await.expect("a session").state, before);
    // The question is asked anew, and its buttons work.
    assert!(
        chat.sent_texts()
            .last()
            .is_some_and(|t| t.contains(&pack.ui.prevent_question)),
        "{:?}",
        chat.sent_texts()
    );
    chat.tap(Action::Acne(scar_guide::knowledge::AcneKind::Purple))
        .await;
    assert_eq!(chat.answers(), vec![None]);
}
