//! Built for sharing (issue 3): deep links, the share buttons under every card, groups, the
//! language choice, and the completeness of every language's `dialogues/` files.
//!
//! Expected values come from the same `Content` and `Conversation` the bot uses, with one
//! deliberate exception: the deep-link payloads. They are public URLs posted in communities, so
//! they are pinned here as literal strings and must never change.
//!
//! Inline mode is covered in `inline.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use scar_guide::content::{Content, html};
use scar_guide::conversation::{
    Action, Checks, Conversation, Input, LanguageCode, Marks, Outcome, State, card_links,
};
use scar_guide::knowledge::{
    AcneKind, DentsAnswer, FlatAnswer, FollowUp, Link, RaisedAnswer, ScarKind, Topic, Treatment,
};
use scar_guide::telegram::callback::{self, GroupTap};
use scar_guide::telegram::keyboards as share;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{
    ChatId, InlineKeyboardButtonKind, InlineKeyboardMarkup, Me, Message, ReplyMarkup, UserId,
};
use teloxide_tests::{MockCallbackQuery, MockGroupChat, MockMe, MockMessageText, MockUser};
use url::Url;

use crate::util::{
    Chat, buttons, content, dialogue_files, english, expected_buttons, keyboard_buttons, note,
};

/// Every documented deep-link payload (README, issue 3). Public URLs: never change one.
const PAYLOADS: &[&str] = &[
    "redness",
    "pigmentation",
    "dents",
    "lumps",
    "notsure",
    "prevent",
    "acne_white",
    "acne_black",
    "acne_red",
    "acne_yellow",
    "acne_purple",
    "care",
    "treatments",
    "t_dye_laser",
    "t_led",
    "t_iontophoresis",
    "t_electroporation",
    "t_chemical_peel",
    "t_laser_toning",
    "t_fractional_laser",
    "t_acne_injection",
    "t_comedo_extraction",
];

/// The documented payloads that open a question rather than an advice card.
const QUESTION_PAYLOADS: &[&str] = &["notsure", "prevent", "treatments"];

// --- Shared helpers ----------------------------------------------------------------------------

/// Whether a payload is what Telegram accepts in `?start=`: 1 to 64 of `A-Za-z0-9_-`.
fn is_valid_payload(payload: &str) -> bool {
    (1..=64).contains(&payload.len())
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The state a deep link must leave the chat in, as if the topic had been reached by the menus.
fn expected_state(link: Link) -> State {
    match link {
        Link::Scar(kind) => State::Results {
            marks: Marks::Picked(vec![kind]),
            answers: Vec::new(),
        },
        Link::NotSure => State::SelfCheck {
            checks: Checks::default(),
        },
        Link::Prevent => State::Prevent,
        Link::Acne(acne) => State::PreventAdvice { acne },
        Link::Care => State::Care,
        Link::Treatments | Link::Treatment(_) => State::Treatments,
    }
}

/// The full card a card link opens, built the way the menus build it.
fn full_card(conv: Conversation<'_>, link: Link) -> String {
    match link {
        Link::Scar(kind) => conv.scar_card(kind, &Marks::Picked(vec![kind])),
        Link::Acne(acne) => conv.acne_card(acne),
        Link::Care => conv.care_card(),
        Link::Treatment(t) => conv.treatment_card(t),
        Link::NotSure | Link::Prevent | Link::Treatments => {
            panic!("{link:?} opens a question, not a card")
        }
    }
}

/// `https://t.me/<bot>?start=<payload>`, spelled out rather than taken from `share`.
fn expected_deep_link(me: &Me, link: Link) -> String {
    format!("https://t.me/{}?start={}", me.username(), link.payload())
}

/// Every button of a keyboard, flattened.
fn all_buttons(
    markup: &InlineKeyboardMarkup,
) -> impl Iterator<Item = &teloxide::types::InlineKeyboardButton> {
    markup.inline_keyboard.iter().flatten()
}

/// `(label, url)` of every URL button of a keyboard.
fn url_buttons(markup: &InlineKeyboardMarkup) -> Vec<(String, Url)> {
    all_buttons(markup)
        .filter_map(|b| match &b.kind {
            InlineKeyboardButtonKind::Url(u) => Some((b.text.clone(), u.clone())),
            _ => None,
        })
        .collect()
}

/// Checks the buttons under a card for `link`: Telegram's share sheet with the deep link and a
/// one-line text naming the card, and a "send to a chat" button whose inline query finds this
/// very card first. Labels and texts are in `conv`'s language.
fn assert_share_keyboard(message: &Message, me: &Me, conv: Conversation<'_>, link: Link) {
    let pack = conv.pack;
    let markup = message
        .reply_markup()
        .unwrap_or_else(|| panic!("{link:?}: the card has no share buttons"));
    assert!(
        keyboard_buttons(markup).is_empty(),
        "{link:?}: a card carries no conversation buttons"
    );

    // (a) The share sheet.
    let shares: Vec<(String, Url)> = url_buttons(markup)
        .into_iter()
        .filter(|(_, u)| u.host_str() == Some("t.me") && u.path() == "/share/url")
        .collect();
    assert_eq!(shares.len(), 1, "{link:?}: one share-sheet button");
    let (label, url) = &shares[0];
    assert_eq!(url.scheme(), "https", "{url}");
    assert_eq!(label, &pack.ui.share.button, "{link:?}: share label");
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query.keys().map(String::as_str).collect::<Vec<_>>(),
        ["text", "url"],
        "{url}"
    );
    assert_eq!(
        query["url"],
        expected_deep_link(me, link),
        "{link:?}: the shared link opens this topic"
    );
    let text = &query["text"];
    let title = html::to_plain(pack.link_title(link));
    assert!(
        text.contains(&title),
        "{link:?}: the shared text {text:?} does not name the card {title:?}"
    );
    assert!(
        !text.contains('\n') && html::to_plain(text) == *text,
        "{link:?}: the shared text is one plain line: {text:?}"
    );

    // (b) Posting the card into another chat through inline mode.
    let inline: Vec<(String, String)> = all_buttons(markup)
        .filter_map(|b| match &b.kind {
            InlineKeyboardButtonKind::SwitchInlineQuery(q) => Some((b.text.clone(), q.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(inline.len(), 1, "{link:?}: one send-to-a-chat button");
    let (label, query) = &inline[0];
    assert_eq!(
        label, &pack.ui.share.inline_button,
        "{link:?}: inline label"
    );
    assert!(!query.trim().is_empty(), "{link:?}: an empty inline query");
    assert_eq!(
        conv.search(query).first(),
        Some(&link),
        "{link:?}: the pre-filled inline query {query:?} does not find this card first"
    );
}

/// Whether a message carries any share button (share sheet or inline).
fn has_share_buttons(message: &Message) -> bool {
    message.reply_markup().is_some_and(|m| {
        all_buttons(m).any(|b| {
            matches!(
                &b.kind,
                InlineKeyboardButtonKind::SwitchInlineQuery(_) | InlineKeyboardButtonKind::Url(_)
            )
        })
    })
}

/// Checks what one step sent: each card as its own message (cards with a link carry share
/// buttons in `conv`'s language, notes carry none), then the menu without share buttons.
fn assert_cards_sent(chat: &Chat, me: &Me, conv: Conversation<'_>, outcome: &Outcome) {
    let sent = &chat.last.sent_messages;
    assert!(
        sent.len() > outcome.cards.len(),
        "expected {} cards and a menu, got {:?}",
        outcome.cards.len(),
        chat.sent_texts()
    );
    for (card, sent_text) in outcome.cards.iter().zip(&chat.last.sent_messages_text) {
        assert_eq!(sent_text.bot_request.text, card.text);
        let message = &sent_text.message;
        match card.link {
            Some(link) => assert_share_keyboard(message, me, conv, link),
            None => assert!(
                message.reply_markup().is_none(),
                "a note card has buttons: {:?}",
                message.text()
            ),
        }
    }
    for menu in &sent[outcome.cards.len()..] {
        assert!(!has_share_buttons(menu), "a menu has share buttons");
    }
}

/// The user sends `text` with this Telegram `language_code`.
async fn send_as(chat: &mut Chat, text: &str, language_code: Option<&str>) {
    let mut user = MockUser::new();
    if let Some(code) = language_code {
        user = user.language_code(code);
    }
    chat.send_update(MockMessageText::new().text(text).from(user.build()))
        .await;
}

/// The user (with this `language_code`) taps `action` on the current menu.
async fn tap_as(chat: &mut Chat, action: Action, language_code: Option<&str>) {
    let menu = chat.menu.clone().expect("a menu was shown");
    let data = callback::encode(action);
    assert!(
        buttons(&menu).iter().any(|(_, d)| *d == data),
        "the current menu has no button {action:?}: {:?}",
        buttons(&menu)
    );
    let mut user = MockUser::new();
    if let Some(code) = language_code {
        user = user.language_code(code);
    }
    chat.send_update(
        MockCallbackQuery::new()
            .message(menu)
            .data(data)
            .from(user.build()),
    )
    .await;
}

// --- Deep links --------------------------------------------------------------------------------

#[test]
fn every_documented_payload_is_pinned_and_valid() {
    let documented: BTreeSet<&str> = PAYLOADS.iter().copied().collect();
    assert_eq!(
        documented.len(),
        PAYLOADS.len(),
        "a payload is listed twice"
    );
    let links: Vec<Link> = Link::all().collect();
    let payloads: BTreeSet<String> = links.iter().map(|l| l.payload()).collect();
    assert_eq!(payloads.len(), links.len(), "two links share a payload");
    let payloads: BTreeSet<&str> = payloads.iter().map(String::as_str).collect();
    let gone: Vec<_> = documented.difference(&payloads).collect();
    let undocumented: Vec<_> = payloads.difference(&documented).collect();
    assert!(
        gone.is_empty() && undocumented.is_empty(),
        "published payloads that no longer open anything: {gone:?}; new payloads to document \
         in README and here: {undocumented:?}"
    );
    for payload in PAYLOADS {
        assert!(is_valid_payload(payload), "{payload:?}");
        let link = Link::parse(payload).unwrap_or_else(|| panic!("{payload:?} does not parse"));
        assert_eq!(link.payload(), *payload);
        assert_eq!(
            link.is_card(),
            !QUESTION_PAYLOADS.contains(payload),
            "{payload:?}"
        );
    }
    for link in links {
        assert_eq!(Link::parse(&link.payload()), Some(link));
    }
}

#[test]
fn anything_else_is_not_a_payload() {
    let long = "r".repeat(200);
    for other in [
        "",
        "nonsense",
        "REDNESS",
        "Redness",
        " redness",
        "redness ",
        "redness extra",
        "t_",
        "acne_",
        "t_laser",
        "acne_green",
        "scar_redness",
        long.as_str(),
    ] {
        assert_eq!(Link::parse(other), None, "{other:?}");
    }
}

#[tokio::test]
async fn every_payload_opens_its_topic_with_the_greeting_and_share_buttons() {
    let content = content();
    let pack = english();
    let conv = Conversation::new(&content, pack);
    // One chat for all payloads: a deep link opens its topic whatever the chat was doing.
    let mut chat = Chat::new();
    let me = chat.bot.me.clone();
    assert_eq!(me.username(), MockMe::USERNAME, "the mock bot's getMe");
    let mut shared = BTreeSet::new();
    for payload in PAYLOADS {
        let link = Link::parse(payload).expect("a documented payload");
        chat.send(&format!("/start {payload}")).await;

        let expected = conv.step(&State::Idle, Input::Open(link));
        assert_eq!(expected.state, expected_state(link), "{payload}");
        assert_eq!(expected.cards, conv.open(link).cards, "{payload}");
        assert!(expected.lasting, "{payload}: the greeting is kept");
        // The cards, the greeting with the disclaimer on its own, then the menu.
        chat.assert_sent(&expected, payload);
        let texts = chat.sent_texts();
        assert_eq!(
            texts.len(),
            expected.cards.len() + 2,
            "{payload}: {texts:?}"
        );
        let greeting = &texts[texts.len() - 2];
        assert_eq!(Some(greeting), expected.notice.as_ref(), "{payload}");
        assert!(
            greeting.starts_with(&pack.ui.greeting) && greeting.contains(&pack.ui.disclaimer),
            "{payload}: no greeting and disclaimer in {greeting:?}"
        );
        let last = texts.last().cloned().unwrap_or_default();
        assert_eq!(
            Some(&last),
            expected.screen.as_ref().map(|s| &s.text),
            "{payload}: the menu message is the screen alone"
        );
        if link.is_card() {
            let card = expected.cards.first().expect("a card link sends a card");
            assert_eq!(card.link, Some(link), "{payload}");
            assert_eq!(card.text, full_card(conv, link), "{payload}");
        } else {
            assert!(expected.cards.is_empty(), "{payload}: a question, no card");
            let question = match link {
                Link::NotSure => &pack.self_check.flat.question,
                Link::Prevent => &pack.ui.prevent_question,
                Link::Treatments => &pack.ui.treatments_question,
                _ => unreachable!("a card link"),
            };
            assert!(last.contains(question.as_str()), "{payload}: {last:?}");
        }

        let session = chat.session().await.expect("a session");
        assert_eq!(session.state, expected_state(link), "{payload}");
        let menu = chat.last.sent_messages.last().expect("a menu");
        assert_eq!(session.menu, Some(menu.id), "{payload}");
        assert_eq!(buttons(menu), expected_buttons(&expected), "{payload}");

        // Every card carries its share buttons; the notes and the menu none.
        assert_cards_sent(&chat, &me, conv, &expected);
        shared.extend(expected.cards.iter().filter_map(|c| c.link));

        // The payload as a command opens the same.
        let by_link = chat.sent_texts();
        chat.send(&format!("/{payload}")).await;
        assert_eq!(chat.sent_texts(), by_link, "/{payload}");
        let session = chat.session().await.expect("a session");
        assert_eq!(session.state, expected_state(link), "/{payload}");
    }
    let every: BTreeSet<Link> = card_links().collect();
    assert_eq!(shared, every, "every card link was shared");
}

#[tokio::test]
async fn a_deep_linked_question_works_like_one_reached_by_the_menus() {
    let content = content();
    let conv = Conversation::new(&content, english());
    let mut chat = Chat::new();
    chat.send("/start prevent").await;
    chat.tap(Action::Acne(AcneKind::Yellow)).await;
    assert_eq!(chat.sent_texts()[0], conv.acne_card(AcneKind::Yellow));
    chat.send("/start treatments").await;
    chat.tap(Action::Treatment(Treatment::Led)).await;
    assert_eq!(chat.sent_texts()[0], conv.treatment_card(Treatment::Led));
    chat.send("/start notsure").await;
    chat.tap(Action::Back).await;
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify { picked: vec![] },
        "Back from the self-checks leads to the scar types"
    );
}

#[tokio::test]
async fn unknown_payloads_open_the_normal_greeting() {
    let content = content();
    let conv = Conversation::new(&content, english());
    let greeting = conv.step(&State::Idle, Input::Start);
    let long = "x".repeat(200);
    let mut chat = Chat::new();
    for payload in [
        "nonsense",
        "",
        "REDNESS",
        "redness extra",
        "t_laser",
        "acne_",
        long.as_str(),
    ] {
        chat.send(&format!("/start {payload}")).await;
        chat.assert_sent(&greeting, &format!("{payload:?}"));
        assert_eq!(
            chat.sent_texts(),
            vec![
                greeting.notice.clone().unwrap(),
                english().ui.main_question.clone()
            ],
            "{payload:?}"
        );
        assert_eq!(chat.session().await.unwrap().state, State::MainMenu);
        // Something that is not a deep link at all is not an error either.
        chat.send("/cancel").await;
    }
}

#[tokio::test]
async fn a_topic_command_addressed_to_another_bot_opens_nothing() {
    // Every payload as a bare command is checked with the deep links above.
    let mut chat = Chat::new();
    let me = chat.bot.me.clone();
    chat.send("/start redness").await;
    let by_link = chat.sent_texts();
    chat.send(&format!("/redness@{}", me.username())).await;
    assert_eq!(chat.sent_texts(), by_link, "addressed to this bot");
    chat.send("/redness@someone_elses_bot").await;
    assert!(
        chat.sent_texts()[0].starts_with(&english().ui.hints.unknown_text),
        "{:?}",
        chat.sent_texts()
    );
    assert!(
        chat.last
            .sent_messages
            .iter()
            .all(|m| !has_share_buttons(m)),
        "no card was sent"
    );
}

/// The documentation of `Conversation::open` and of the before-treatment card says that a
/// question skipped by a deep link counts as "yes" for cautions (the safe default), so every
/// caution a follow-up question could have added is on a deep-linked scar card.
#[test]
fn a_deep_linked_scar_card_shows_every_caution_its_questions_could_add() {
    let content = content();
    let pack = english();
    let conv = Conversation::new(&content, pack);
    for kind in ScarKind::all() {
        let opened = conv.open(Link::Scar(kind));
        let all: String = opened.cards.iter().map(|c| c.text.as_str()).collect();
        for question in FollowUp::for_kinds(&[kind]) {
            let caution = match question {
                FollowUp::RedFlag => &pack.safety.red_flags.items[0],
                FollowUp::Pregnancy => &pack.safety.pregnancy.text,
                FollowUp::ActiveAcne => &pack.safety.active_acne.text,
                FollowUp::SkinDarkens => &pack.safety.darker_skin.text,
            };
            assert!(
                all.contains(caution.as_str()),
                "{kind:?}: the deep-linked card lacks the {question:?} caution"
            );
        }
    }
}

// --- Share buttons -----------------------------------------------------------------------------

#[test]
fn share_links_are_built_from_the_bots_username() {
    let content = content();
    let me = MockMe::new().username("some_other_bot").build();
    for pack in content.packs() {
        for link in Link::all() {
            let deep = share::deep_link(&me, link).expect("a deep link");
            assert_eq!(deep.as_str(), expected_deep_link(&me, link));
            assert!(deep.as_str().starts_with("https://t.me/some_other_bot?"));
            let url = share::share_url(&me, pack, link).expect("a share URL");
            let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(query["url"], deep.as_str());
            assert_eq!(query["text"], share::share_text(pack, link));
            assert!(
                share::share_text(pack, link).contains(&pack.ui.share.tagline),
                "{}: {link:?}",
                pack.code
            );
            let keyboard = share::card_keyboard(&me, pack, link).expect("a keyboard");
            assert_eq!(all_buttons(&keyboard).count(), 2, "{link:?}");
        }
    }
}

#[tokio::test]
async fn cards_reached_through_the_menus_carry_share_buttons_and_notes_none() {
    let content = content();
    let pack = english();
    let conv = Conversation::new(&content, pack);
    let mut chat = Chat::new();
    let me = chat.bot.me.clone();

    // Every scar kind, every follow-up answered "yes": the red-flag card, four scar cards and
    // the before-treatment notes.
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Identify)).await;
    for kind in ScarKind::all() {
        chat.tap(Action::Toggle(kind)).await;
    }
    chat.tap(Action::Done).await;
    let mut state = chat.session().await.unwrap().state;
    let mut outcome = None;
    while let State::FollowUps { marks, answers } = &state {
        let question = FollowUp::for_kinds(&marks.kinds())
            .into_iter()
            .find(|q| !answers.iter().any(|(a, _)| a == q))
            .expect("a question left");
        let action = Action::Answer(question, true);
        outcome = Some(conv.step(&state, Input::Tap(action)));
        chat.tap(action).await;
        state = chat.session().await.unwrap().state;
    }
    let outcome = outcome.expect("follow-up questions were asked");
    assert!(matches!(outcome.state, State::Results { .. }));
    assert_eq!(
        outcome.cards.first().map(|c| c.link),
        Some(None),
        "the red-flag card comes first and has no link"
    );
    assert!(outcome.cards[0].text.contains(&pack.safety.red_flags.title));
    let with_links: Vec<Link> = outcome.cards.iter().filter_map(|c| c.link).collect();
    assert_eq!(
        with_links,
        ScarKind::all().map(Link::Scar).collect::<Vec<_>>()
    );
    assert!(
        outcome
            .cards
            .last()
            .unwrap()
            .text
            .contains(&pack.ui.results.before_treatment_title),
        "the before-treatment notes come last"
    );
    assert_eq!(outcome.cards.last().unwrap().link, None);
    assert_cards_sent(&chat, &me, conv, &outcome);

    // The self-checks with nothing found: the no-match card is a note.
    chat.send("/start notsure").await;
    let mut state = chat.session().await.unwrap().state;
    for action in [
        Action::Flat(FlatAnswer::NoFlat),
        Action::Dents(DentsAnswer::NoDents),
        Action::Raised(RaisedAnswer::NoRaised),
    ] {
        let expected = conv.step(&state, Input::Tap(action));
        chat.tap(action).await;
        state = expected.state.clone();
        if !expected.cards.is_empty() {
            assert!(expected.cards.iter().all(|c| c.link.is_none()));
            assert_cards_sent(&chat, &me, conv, &expected);
        }
    }

    // Acne, treatment and daily-care cards reached by taps.
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Prevent)).await;
    let expected = conv.step(&State::Prevent, Input::Tap(Action::Acne(AcneKind::Red)));
    chat.tap(Action::Acne(AcneKind::Red)).await;
    assert_cards_sent(&chat, &me, conv, &expected);
    chat.tap(Action::Topic(Topic::Care)).await;
    let expected = conv.open(Link::Care);
    assert_cards_sent(&chat, &me, conv, &expected);
    chat.tap(Action::Topic(Topic::Treatments)).await;
    for t in Treatment::all() {
        let expected = conv.step(&State::Treatments, Input::Tap(Action::Treatment(t)));
        chat.tap(Action::Treatment(t)).await;
        assert_cards_sent(&chat, &me, conv, &expected);
    }
}

// --- Groups ------------------------------------------------------------------------------------

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

// --- Languages ---------------------------------------------------------------------------------

/// The code of the synthetic language built by [`with_test_language`].
const TEST_LANGUAGE: &str = "xx";

/// The English files copied as language [`TEST_LANGUAGE`] ("Testish"), with the texts these
/// tests look at changed so that every one of them tells the languages apart.
fn test_language_files() -> Vec<(String, String)> {
    fn prefix_value(line: &str, key: &str, prefix: &str) -> Option<String> {
        let start = format!("{key} = \"");
        let rest = line.strip_prefix(&start)?;
        Some(match rest.strip_prefix("\"\"") {
            // A multi-line string: its text starts on the next line.
            Some(after) => format!("{start}\"\"{prefix}{after}"),
            None => format!("{start}{prefix}{rest}"),
        })
    }
    let mut out = Vec::new();
    for (path, text) in dialogue_files() {
        let Some(name) = path.strip_prefix("en/") else {
            continue;
        };
        let mut table = String::new();
        let mut changed = 0;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if let Some(header) = line.strip_prefix('[') {
                    table = header.trim_end_matches(']').to_owned();
                }
                let new = match (name, table.as_str()) {
                    ("ui.toml", "") => prefix_value(line, "language_name", "Test-")
                        .or_else(|| prefix_value(line, "greeting", "Testish: "))
                        .or_else(|| prefix_value(line, "main_question", "Testish: ")),
                    ("ui.toml", "topics") => line
                        .split_once(" = \"")
                        .map(|(k, v)| format!("{k} = \"T {v}")),
                    ("ui.toml", "settings") => prefix_value(line, "changed", "Testish! "),
                    ("ui.toml", "share") => prefix_value(line, "button", "T ")
                        .or_else(|| prefix_value(line, "inline_button", "T "))
                        .or_else(|| prefix_value(line, "tagline", "testish ")),
                    ("ui.toml", "commands") => prefix_value(line, "help", "Testish help. "),
                    ("care.toml", "") => prefix_value(line, "title", "Testish "),
                    ("scars.toml", _) => prefix_value(line, "title", "Testish "),
                    _ => None,
                };
                if new.is_some() {
                    changed += 1;
                }
                new.unwrap_or_else(|| line.to_owned())
            })
            .collect();
        if ["ui.toml", "scars.toml", "care.toml"].contains(&name) {
            assert!(changed > 0, "nothing changed in {name}");
        }
        out.push((format!("{TEST_LANGUAGE}/{name}"), lines.join("\n") + "\n"));
    }
    out
}

/// The real content plus the synthetic language [`TEST_LANGUAGE`].
fn with_test_language() -> Arc<Content> {
    let mut files = dialogue_files();
    files.extend(test_language_files());
    let content = Content::from_files(files).expect("the test language loads");
    assert_eq!(content.pack(Some(TEST_LANGUAGE)).code, TEST_LANGUAGE);
    Arc::new(content)
}

#[tokio::test]
async fn the_users_telegram_language_picks_the_pack_and_english_is_the_fallback() {
    let content = with_test_language();
    let mut chat = Chat::with_content(content.clone());
    let start = |code: &str| {
        let pack = content.packs().find(|p| p.code == code).expect("a pack");
        Conversation::new(&content, pack).step(&State::Idle, Input::Start)
    };
    let japanese = if content.packs().any(|p| p.code == "ja") {
        "ja"
    } else {
        "en"
    };
    for (language_code, pack) in [
        (Some(TEST_LANGUAGE), TEST_LANGUAGE),
        (Some("XX"), TEST_LANGUAGE),
        (Some("xx-YY"), TEST_LANGUAGE),
        (Some("en"), "en"),
        (Some("fr"), "en"),
        (Some("ja"), japanese),
        (None, "en"),
    ] {
        // Each case on its own: the bot remembers the last language Telegram reported.
        send_as(&mut chat, "/forget", Some("en")).await;
        send_as(&mut chat, "/start", language_code).await;
        chat.assert_sent(&start(pack), &format!("{language_code:?}"));
        assert_eq!(chat.session().await.unwrap().lang, None, "nothing chosen");
    }
    assert_ne!(
        start(TEST_LANGUAGE),
        start("en"),
        "the test language differs"
    );
}

#[tokio::test]
async fn french_and_unset_languages_get_english() {
    let content = content();
    let english_start = Conversation::new(&content, english()).step(&State::Idle, Input::Start);
    let mut chat = Chat::new();
    for language_code in [Some("fr"), Some("en"), Some("en-GB"), Some("de"), None] {
        send_as(&mut chat, "/forget", Some("en")).await;
        send_as(&mut chat, "/start", language_code).await;
        chat.assert_sent(&english_start, &format!("{language_code:?}"));
        assert_eq!(chat.session().await.unwrap().lang, None, "nothing chosen");
    }
}

#[tokio::test]
async fn japanese_users_get_japanese_when_there_is_a_japanese_pack() {
    let content = content();
    let Some(ja) = content.packs().find(|p| p.code == "ja") else {
        note(
            "dialogues/ja/ does not exist yet: checked only that a Japanese user gets English; \
             the Japanese checks run once it lands",
        );
        let english_start = Conversation::new(&content, english()).step(&State::Idle, Input::Start);
        let mut chat = Chat::new();
        send_as(&mut chat, "/start", Some("ja")).await;
        chat.assert_sent(&english_start, "ja without a Japanese pack");
        return;
    };
    let conv = Conversation::new(&content, ja);
    let mut chat = Chat::new();
    send_as(&mut chat, "/start", Some("ja")).await;
    let start = conv.step(&State::Idle, Input::Start);
    chat.assert_sent(&start, "ja");
    assert_eq!(
        chat.sent_texts(),
        vec![start.notice.clone().unwrap(), ja.ui.main_question.clone()]
    );
    assert!(
        chat.sent_texts()[0].starts_with(&ja.ui.greeting)
            && chat.sent_texts()[0].contains(&ja.ui.disclaimer)
    );
    assert_eq!(
        chat.session().await.unwrap().lang,
        None,
        "followed, not chosen"
    );

    // A deep link opens the Japanese card.
    send_as(&mut chat, "/start redness", Some("ja")).await;
    let opened = conv.step(&State::Idle, Input::Open(Link::Scar(ScarKind::Redness)));
    chat.assert_sent(&opened, "ja: /start redness");

    // Typed Japanese answers are understood.
    send_as(&mut chat, "/start", Some("ja")).await;
    tap_as(&mut chat, Action::Topic(Topic::Identify), Some("ja")).await;
    for (typed, kind) in [
        ("赤み", ScarKind::Redness),
        ("クレーター", ScarKind::Dents),
        ("ケロイド", ScarKind::Lumps),
    ] {
        send_as(&mut chat, typed, Some("ja")).await;
        let State::Identify { picked } = chat.session().await.unwrap().state else {
            panic!("{typed}: left the scar types")
        };
        assert!(
            picked.contains(&kind),
            "{typed} did not pick {kind:?}: {picked:?}"
        );
    }
}

/// The issue: "a Japanese user gets the whole conversation in Japanese". The share buttons under
/// a card are part of it, with no /settings choice made. Shown with the synthetic language so it
/// runs without `dialogues/ja/`.
#[tokio::test]
async fn share_buttons_speak_the_users_telegram_language() {
    let content = with_test_language();
    let pack = content.pack(Some(TEST_LANGUAGE));
    let conv = Conversation::new(&content, pack);
    let mut chat = Chat::with_content(content.clone());
    let me = chat.bot.me.clone();
    // A deep link (a message)…
    send_as(&mut chat, "/start care", Some(TEST_LANGUAGE)).await;
    let expected = conv.step(&State::Idle, Input::Open(Link::Care));
    assert_eq!(
        chat.sent_texts()[0],
        expected.cards[0].text,
        "the card is translated"
    );
    assert_cards_sent(&chat, &me, conv, &expected);
    // …and a tap (a callback).
    tap_as(
        &mut chat,
        Action::Topic(Topic::Treatments),
        Some(TEST_LANGUAGE),
    )
    .await;
    let action = Action::Treatment(Treatment::FractionalLaser);
    tap_as(&mut chat, action, Some(TEST_LANGUAGE)).await;
    let expected = conv.step(&State::Treatments, Input::Tap(action));
    assert_cards_sent(&chat, &me, conv, &expected);
}

/// `/settings` from a user whose Telegram language is `from`, choosing `to`: the confirmation
/// and the menu come in `to`, the choice is stored and outlives the Telegram language, and
/// `/forget` erases it.
async fn choose_language(content: Arc<Content>, from: &str, to: &str) {
    let mut chat = Chat::with_content(content.clone());
    let me = chat.bot.me.clone();
    let old = content.pack(Some(from));
    let new = content.pack(Some(to));
    assert_eq!((old.code.as_str(), new.code.as_str()), (from, to));
    let old_conv = Conversation::new(&content, old);
    let new_conv = Conversation::new(&content, new);
    let context = format!("{from} → {to}");

    send_as(&mut chat, "/start", Some(from)).await;
    send_as(&mut chat, "/settings", Some(from)).await;
    let settings = old_conv.step(&State::MainMenu, Input::Settings);
    chat.assert_sent(&settings, &context);
    assert_eq!(
        chat.sent_texts(),
        vec![old.ui.settings.question.clone()],
        "{context}"
    );
    assert!(chat.sent_texts()[0].contains(&old.ui.settings.question));
    let in_settings = State::Settings {
        then: Box::new(State::MainMenu),
    };
    assert_eq!(chat.session().await.unwrap().state, in_settings);
    let menu = buttons(chat.menu.as_ref().unwrap());
    assert_eq!(menu, expected_buttons(&settings), "{context}");
    // One button per language, labelled with the language's own name; the current one marked.
    let languages: Vec<&(String, String)> = menu
        .iter()
        .filter(|(_, d)| matches!(callback::parse(d), Some(Action::Language(_))))
        .collect();
    assert_eq!(languages.len(), content.packs().count(), "{context}");
    for pack in content.packs() {
        let code = LanguageCode::parse(&pack.code).expect("a valid language code");
        let data = callback::encode(Action::Language(code));
        let (label, _) = languages
            .iter()
            .find(|(_, d)| *d == data)
            .unwrap_or_else(|| panic!("{context}: no button for {}", pack.code));
        let wanted = if pack.code == old.code {
            format!("{}{}", old.ui.buttons.selected_mark, pack.ui.language_name)
        } else {
            pack.ui.language_name.clone()
        };
        assert_eq!(label, &wanted, "{context}");
    }

    // The choice: a new message in the new language, with its main menu.
    let code = LanguageCode::parse(to).expect("a valid language code");
    let chosen = old_conv.step(&in_settings, Input::Tap(Action::Language(code)));
    assert_eq!(
        chosen.state,
        State::MainMenu,
        "{context}: back where /settings was sent"
    );
    assert_eq!(chosen.language, Some(code));
    tap_as(&mut chat, Action::Language(code), Some(from)).await;
    assert!(chosen.lasting, "{context}: the confirmation is kept");
    assert_eq!(
        chat.answers(),
        vec![None],
        "{context}: the tap is answered, without a pop-up"
    );
    // The confirmation on its own, then the main menu, both in the new language.
    chat.assert_sent(&chosen, &context);
    assert_eq!(
        chat.sent_texts(),
        vec![
            new.ui.settings.changed.clone(),
            new.ui.main_question.clone()
        ],
        "{context}"
    );
    let main_menu = new_conv.step(&State::Idle, Input::Cancel);
    assert_eq!(
        buttons(chat.menu.as_ref().unwrap()),
        expected_buttons(&main_menu),
        "{context}: the main menu in the new language"
    );
    let session = chat.session().await.unwrap();
    assert_eq!(session.lang.as_deref(), Some(to), "{context}");
    assert_eq!(session.state, State::MainMenu);

    // Later messages and taps stay in the chosen language, whatever Telegram says.
    send_as(&mut chat, "/start", Some(from)).await;
    chat.assert_sent(&new_conv.step(&State::MainMenu, Input::Start), &context);
    send_as(&mut chat, "/start care", Some(from)).await;
    let care = new_conv.step(&State::MainMenu, Input::Open(Link::Care));
    assert_eq!(chat.sent_texts()[0], care.cards[0].text, "{context}");
    assert_cards_sent(&chat, &me, new_conv, &care);
    tap_as(&mut chat, Action::Topic(Topic::Treatments), Some(from)).await;
    let action = Action::Treatment(Treatment::DyeLaser);
    tap_as(&mut chat, action, Some(from)).await;
    let card = new_conv.step(&State::Treatments, Input::Tap(action));
    assert_cards_sent(&chat, &me, new_conv, &card);
    let here = chat.session().await.unwrap().state;
    send_as(&mut chat, "/help", Some(from)).await;
    chat.assert_sent(&new_conv.step(&here, Input::Help), &context);
    assert_eq!(
        chat.sent_texts().first(),
        Some(&new.ui.commands.help),
        "{context}: the help on its own"
    );
    send_as(&mut chat, "/settings", Some(from)).await;
    assert_eq!(
        buttons(chat.menu.as_ref().unwrap()),
        expected_buttons(&new_conv.step(&State::MainMenu, Input::Settings)),
        "{context}: the chosen language is the marked one"
    );
    assert_eq!(chat.session().await.unwrap().lang.as_deref(), Some(to));

    // /forget erases the choice with the rest.
    send_as(&mut chat, "/forget", Some(from)).await;
    assert_eq!(chat.session().await, None, "{context}");
    send_as(&mut chat, "/start", Some(from)).await;
    chat.assert_sent(
        &old_conv.step(&State::Idle, Input::Start),
        &format!("{context}: after /forget the Telegram language is followed again"),
    );
    assert_eq!(chat.session().await.unwrap().lang, None);
}

#[tokio::test]
async fn settings_switches_the_language_and_the_choice_is_remembered() {
    // The synthetic second language, both ways: this runs whatever languages exist.
    let synthetic = with_test_language();
    choose_language(synthetic.clone(), "en", TEST_LANGUAGE).await;
    choose_language(synthetic, TEST_LANGUAGE, "en").await;

    // The real languages.
    let content = content();
    let others: Vec<String> = content
        .packs()
        .map(|p| p.code.clone())
        .filter(|c| c != "en")
        .collect();
    if others.is_empty() {
        note(
            "dialogues/ has only English: /settings was checked with English and a synthetic language",
        );
        choose_language(content.clone(), "en", "en").await;
    }
    for code in others {
        choose_language(content.clone(), "en", &code).await;
        choose_language(content.clone(), &code, "en").await;
    }
}

// --- Key completeness --------------------------------------------------------------------------

/// One language folder: file name → parsed TOML.
type Folder = BTreeMap<String, toml::Value>;

/// Every `dialogues/<lang>/*.toml`, parsed as plain TOML.
fn language_folders() -> BTreeMap<String, Folder> {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    for (path, text) in dialogue_files() {
        let Some((lang, name)) = path.split_once('/') else {
            continue;
        };
        let value: toml::Value = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("dialogues/{path} is not valid TOML: {e}"));
        folders
            .entry(lang.to_owned())
            .or_default()
            .insert(name.to_owned(), value);
    }
    assert!(folders.contains_key("en"), "no dialogues/en/");
    folders
}

/// Every key path of a TOML value (tables recursed, arrays are leaves).
fn key_paths(value: &toml::Value, path: &str, out: &mut BTreeSet<String>) {
    if let toml::Value::Table(table) = value {
        for (key, value) in table {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            out.insert(path.clone());
            key_paths(value, &path, out);
        }
    }
}

/// Every string of a TOML value with its path (`a.b[2]`), leaving out source ids and keywords,
/// which are identifiers and search words rather than texts.
fn texts(value: &toml::Value, path: &str, out: &mut BTreeMap<String, String>) {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    if last.ends_with("sources") || last == "keywords" || path.starts_with("keywords") {
        return;
    }
    match value {
        toml::Value::String(s) => {
            out.insert(path.to_owned(), s.clone());
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                texts(item, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (key, value) in table {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                texts(value, &path, out);
            }
        }
        _ => {}
    }
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}')
}

#[test]
fn every_language_has_every_key_of_the_english_and_no_empty_text() {
    let folders = language_folders();
    let english = &folders["en"];
    let others: Vec<&String> = folders.keys().filter(|l| *l != "en").collect();
    if others.is_empty() {
        note("dialogues/ has only English: the completeness checks ran on English alone");
    }
    let mut problems = Vec::new();
    for (lang, folder) in &folders {
        let en_files: BTreeSet<&String> = english.keys().collect();
        let files: BTreeSet<&String> = folder.keys().collect();
        for missing in en_files.difference(&files) {
            problems.push(format!("dialogues/{lang}/{missing}: missing file"));
        }
        for extra in files.difference(&en_files) {
            problems.push(format!(
                "dialogues/{lang}/{extra}: a file English does not have"
            ));
        }
        for (name, value) in folder {
            let file = format!("dialogues/{lang}/{name}");
            if let Some(en_value) = english.get(name) {
                let (mut want, mut have) = (BTreeSet::new(), BTreeSet::new());
                key_paths(en_value, "", &mut want);
                key_paths(value, "", &mut have);
                for key in want.difference(&have) {
                    problems.push(format!("{file}: missing key {key}"));
                }
                for key in have.difference(&want) {
                    problems.push(format!("{file}: key {key} is not in the English"));
                }
            }
            let mut all = BTreeMap::new();
            texts(value, "", &mut all);
            for (path, text) in all {
                if text.trim().is_empty() {
                    problems.push(format!("{file}: {path} is empty"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Citations of published papers, which stay as published whatever the reader's language.
const PUBLISHED_REFERENCES: &[&str] = &[
    "citations.note_atrophic_subtypes",
    "citations.note_severity",
];

#[test]
fn every_japanese_text_is_japanese() {
    let folders = language_folders();
    let Some(japanese) = folders.get("ja") else {
        note("dialogues/ja/ does not exist yet: the Japanese text checks did not run");
        return;
    };
    let english = &folders["en"];
    let mut problems = Vec::new();
    for (name, value) in japanese {
        let file = format!("dialogues/ja/{name}");
        let mut ja_texts = BTreeMap::new();
        texts(value, "", &mut ja_texts);
        let mut en_texts = BTreeMap::new();
        if let Some(en) = english.get(name) {
            texts(en, "", &mut en_texts);
        }
        for (path, text) in &ja_texts {
            let plain = html::to_plain(text);
            // Symbols only (a check mark, an arrow): nothing to translate.
            if !plain.chars().any(char::is_alphabetic) {
                continue;
            }
            // Published papers are cited as published, in every language.
            if name == "sources.toml" && PUBLISHED_REFERENCES.contains(&path.as_str()) {
                continue;
            }
            if en_texts.get(path) == Some(text) {
                problems.push(format!("{file}: {path} is the English text: {text:?}"));
            } else if !plain.chars().any(is_japanese) {
                problems.push(format!("{file}: {path} has no Japanese: {text:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_language_missing_any_ui_key_is_refused_naming_the_file_and_the_key() {
    let mut files = dialogue_files();
    let lang = if files.iter().any(|(p, _)| p == "ja/ui.toml") {
        "ja"
    } else {
        note(
            "dialogues/ja/ does not exist yet: the missing-key check ran on a copy of the English",
        );
        files.extend(test_language_files());
        TEST_LANGUAGE
    };
    Content::from_files(files.clone()).expect("the unchanged files load");
    let path = format!("{lang}/ui.toml");
    let text = files
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, t)| t.clone())
        .expect("ui.toml");

    // Every `key = value` entry that fits on its line, outside multi-line strings.
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::new();
    let mut in_multiline = false;
    for (i, line) in lines.iter().enumerate() {
        if in_multiline {
            in_multiline = !line.contains("\"\"\"");
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let key = key.trim();
        if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') || key.is_empty() {
            continue;
        }
        let value = value.trim();
        if let Some(text) = value.strip_prefix("\"\"\"") {
            in_multiline = !text.contains("\"\"\"");
            continue;
        }
        let complete = (value.starts_with('"') && value.ends_with('"') && value.len() >= 2)
            || (value.starts_with('[') && value.ends_with(']'));
        if complete {
            entries.push((i, key.to_owned()));
        }
    }
    assert!(
        entries.len() >= 20,
        "only {} entries found in {path}",
        entries.len()
    );

    for (line, key) in entries {
        let broken: String = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != line)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let mut edited = files.clone();
        edited
            .iter_mut()
            .find(|(p, _)| *p == path)
            .expect("ui.toml")
            .1 = broken;
        let err = Content::from_files(edited)
            .expect_err(&format!("{path} without {key} (line {}) loaded", line + 1));
        assert_eq!(err.file, format!("dialogues/{path}"), "{err}");
        assert!(
            err.to_string().contains(&key),
            "the key {key} is not named: {err}"
        );
    }
}
