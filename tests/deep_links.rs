//! Deep links (issue 3): every documented payload, pinned, opens its topic with the greeting;
//! an answer opens on its first screen with the share row; anything else is the plain greeting.
//!
//! Expected values come from the same `Content` and `Conversation` the bot uses, with one
//! deliberate exception: the deep-link payloads. They are public URLs posted in communities, so
//! they are pinned here as literal strings and must never change.

use std::collections::BTreeSet;

use scar_guide::conversation::{
    Action, Checks, Conversation, Input, Marks, State, View, card_links,
};
use scar_guide::knowledge::{AcneKind, Link, ScarKind, Treatment};
use teloxide::types::Me;
use teloxide_tests::MockMe;

use crate::util::{
    Chat, assert_share_row, buttons, content, english, expected_buttons, has_share_buttons,
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
            view: View::Summary,
        },
        Link::NotSure => State::SelfCheck {
            checks: Checks::default(),
        },
        Link::Prevent => State::Prevent,
        Link::Acne(acne) => State::PreventAdvice {
            acne,
            view: View::Summary,
        },
        Link::Care => State::Care {
            view: View::Summary,
        },
        Link::Treatments => State::Treatments,
        Link::Treatment(treatment) => State::TreatmentInfo {
            treatment,
            view: View::Summary,
        },
    }
}

/// The first screen of the answer a card link opens, built by the render functions.
fn first_screen(conv: Conversation<'_>, link: Link) -> String {
    match link {
        Link::Scar(kind) => conv.results_summary(&Marks::Picked(vec![kind]), &[]),
        Link::Acne(acne) => conv.acne_summary(acne),
        Link::Care => conv.care_summary(),
        Link::Treatment(t) => conv.treatment_summary(t),
        Link::NotSure | Link::Prevent | Link::Treatments => {
            panic!("{link:?} opens a question, not an answer")
        }
    }
}

/// The mock bot's getMe.
fn chat_me() -> Me {
    MockMe::new().build()
}

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
async fn every_payload_opens_its_topic_with_the_greeting_and_the_share_row() {
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
        assert!(expected.lasting, "{payload}: the greeting is kept");
        // The greeting with the disclaimer on its own, then the screen: two messages. A link
        // into the self-checks sends the check's picture first with the greeting on its
        // caption, then the menu: still two messages (issue 11).
        let texts = match chat.last.sent_messages_photo.first() {
            Some(photo) => {
                let notice = expected.notice.clone().unwrap_or_default();
                let caption = photo.bot_request.caption.clone().unwrap_or_default();
                assert!(caption.starts_with(&notice), "{payload}: {caption:?}");
                assert_eq!(chat.last.sent_messages.len(), 2, "{payload}");
                [vec![notice], chat.sent_texts()].concat()
            }
            None => {
                chat.assert_sent(&expected, payload);
                chat.sent_texts()
            }
        };
        assert_eq!(texts.len(), 2, "{payload}: {texts:?}");
        assert_eq!(Some(&texts[0]), expected.notice.as_ref(), "{payload}");
        assert!(
            texts[0].starts_with(&pack.ui.greeting) && texts[0].contains(&pack.ui.disclaimer),
            "{payload}: no greeting and disclaimer in {:?}",
            texts[0]
        );
        let menu = chat.last.sent_messages.last().expect("a menu").clone();
        if link.is_card() {
            assert_eq!(texts[1], first_screen(conv, link), "{payload}");
            assert_share_row(&menu, &me, conv, link);
            shared.insert(link);
        } else {
            let question = match link {
                Link::NotSure => &pack.self_check.flat.question,
                Link::Prevent => &pack.ui.prevent_question,
                Link::Treatments => &pack.ui.treatments_question,
                _ => unreachable!("a card link"),
            };
            assert!(texts[1].contains(question.as_str()), "{payload}: {texts:?}");
            assert!(
                !has_share_buttons(&menu),
                "{payload}: a question is not shared"
            );
            assert!(QUESTION_PAYLOADS.contains(payload), "{payload}");
        }
        assert!(!has_share_buttons(&chat.last.sent_messages[0]), "{payload}");

        let session = chat.session().await.expect("a session");
        assert_eq!(session.state, expected_state(link), "{payload}");
        assert_eq!(session.menu, Some(menu.id), "{payload}");
        assert_eq!(buttons(&menu), expected_buttons(&expected), "{payload}");

        // The payload as a command opens the same (its picture is above already).
        let by_link = texts.clone();
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
    let me = chat_me();
    let mut chat = Chat::new();
    chat.send("/start prevent").await;
    chat.tap(Action::Acne(AcneKind::Yellow)).await;
    assert!(chat.sent_texts().is_empty(), "edited in place");
    assert_eq!(
        chat.last.edited_messages_text[0].bot_request.text,
        conv.acne_summary(AcneKind::Yellow)
    );
    assert_share_row(
        chat.menu.as_ref().unwrap(),
        &me,
        conv,
        Link::Acne(AcneKind::Yellow),
    );
    chat.send("/start treatments").await;
    chat.tap(Action::Treatment(Treatment::Led)).await;
    assert_eq!(
        chat.last.edited_messages_text[0].bot_request.text,
        conv.treatment_summary(Treatment::Led)
    );
    chat.tap(Action::Back).await;
    assert_eq!(chat.session().await.unwrap().state, State::Treatments);
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
    assert_eq!(chat.sent_texts().len(), 1, "{:?}", chat.sent_texts());
    assert!(
        chat.sent_texts()[0].starts_with(&english().ui.hints.unknown_text),
        "{:?}",
        chat.sent_texts()
    );
    // Nothing new opened: the answer on screen is shown again under the hint.
    assert_eq!(
        chat.session().await.unwrap().state,
        expected_state(Link::Scar(ScarKind::Redness))
    );
}
