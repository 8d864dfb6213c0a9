//! Groups (issue 3): only commands addressed to the bot are answered, with the compact card
//! (the first screen of the link's answer) and its topic buttons, which only the asker may tap.

use std::collections::BTreeSet;

use scar_guide::content::html;
use scar_guide::conversation::Conversation;
use scar_guide::knowledge::{Link, ScarKind, Topic};
use scar_guide::telegram::callback::{self, GroupTap};
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
            let tap = callback::parse_group(&data)
                .unwrap_or_else(|| panic!("{data:?} is not a group button"));
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
