//! End-to-end through the real handler tree and the mock Bot API: what a Telegram user sees.
//! Groups, deep links, share buttons and languages are in `groups.rs`, `deep_links.rs`,
//! `share.rs` and `languages.rs`.

use std::time::Duration;

use scar_guide::conversation::{Action, Detail, Input, Outcome, State, View, back, picture_of};
use scar_guide::knowledge::{
    AcneKind, DentsAnswer, FlatAnswer, FollowUp, Link, RaisedAnswer, ScarKind, Topic, Treatment,
};
use scar_guide::telegram::callback;
use teloxide::types::{MessageId, Update, UpdateId, UpdateKind};
use teloxide_tests::{
    MockMessageDice, MockMessageDocument, MockMessagePhoto, MockMessageSticker, MockMessageText,
    MockMessageVoice,
};

use crate::util::{
    Chat, TestClock, assert_share_row, buttons, conversation, english, expected_buttons,
    has_share_buttons, mock_me,
};

async fn started() -> Chat {
    let mut chat = Chat::new();
    chat.send("/start").await;
    chat
}

#[tokio::test]
async fn start_greets_once_with_the_disclaimer_and_the_main_menu() {
    let mut chat = Chat::new();
    chat.send("/start").await;
    let expected = conversation().step(&State::Idle, Input::Start);
    assert!(expected.lasting, "the greeting is kept");
    // The greeting with the disclaimer on its own, then the main question with the main menu.
    chat.assert_sent(&expected, "/start");
    let texts = chat.sent_texts();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(Some(&texts[0]), expected.notice.as_ref());
    assert!(texts[0].starts_with(&english().ui.greeting));
    assert!(texts[0].contains(&english().ui.disclaimer));
    assert_eq!(texts[1], english().ui.main_question);
    let main_menu = conversation().step(&State::Idle, Input::Cancel);
    let menu = chat.menu.clone().unwrap();
    assert_eq!(buttons(&menu), expected_buttons(&main_menu));
    assert_eq!(menu.id, chat.last.sent_messages[1].id);
    let session = chat.session().await.unwrap();
    assert_eq!(session.state, State::MainMenu);
    assert_eq!(session.menu, Some(menu.id));
}

/// The edit a tap made: exactly one, of the tapped menu, and nothing new posted.
fn assert_edited_in_place(chat: &Chat, menu: MessageId, context: &str) -> String {
    assert!(
        chat.sent_texts().is_empty(),
        "{context}: posted {:?}",
        chat.sent_texts()
    );
    let edits = &chat.last.edited_messages_text;
    assert_eq!(edits.len(), 1, "{context}: one edit");
    assert_eq!(
        edits[0].message.id, menu,
        "{context}: the tapped menu is edited"
    );
    assert_eq!(chat.answers().len(), 1, "{context}: the tap is answered");
    edits[0].bot_request.text.clone()
}

/// Walks to every scar kind's answer by taps: every menu, questions and the answer alike, is
/// edited in place, and the answer is its summary with the share row.
#[tokio::test]
async fn every_scar_kind_reaches_its_summary_within_five_taps_edited_in_place() {
    let me = mock_me();
    for kind in ScarKind::all() {
        let mut chat = started().await;
        let menu = chat.menu.clone().unwrap().id;
        let mut state = State::MainMenu;
        let mut taps = 0;
        let mut path = vec![
            Action::Topic(Topic::Identify),
            Action::Toggle(kind),
            Action::Done,
        ];
        let mut shown = String::new();
        while let Some(action) = path.first().copied() {
            path.remove(0);
            let expected = conversation().step(&state, Input::Tap(action));
            chat.tap(action).await;
            taps += 1;
            shown = assert_edited_in_place(&chat, menu, &format!("{kind:?} {action:?}"));
            assert_eq!(Some(&shown), expected.screen.as_ref().map(|s| &s.text));
            assert_eq!(
                buttons(chat.menu.as_ref().unwrap()),
                expected_buttons(&expected)
            );
            state = expected.state.clone();
            assert_eq!(chat.session().await.unwrap().state, state);
            assert_eq!(chat.session().await.unwrap().menu, Some(menu));
            if let State::FollowUps { .. } = &state {
                path.push(Action::Answer(next_question(&expected), false));
            }
        }
        assert!(taps <= 5, "{kind:?} took {taps} taps");
        let State::Results {
            marks,
            answers,
            view,
        } = &state
        else {
            panic!("{kind:?} ended in {state:?}")
        };
        assert_eq!(*view, View::Summary);
        assert_eq!(
            shown,
            conversation().results_summary(marks, answers),
            "{kind:?}"
        );
        assert!(
            shown.contains(&english().scars.get(kind).doctor_short),
            "{kind:?}"
        );
        assert!(
            shown.contains("\n\n🩺 "),
            "{kind:?}: when to see a dermatologist"
        );
        assert_share_row(
            chat.menu.as_ref().unwrap(),
            &me,
            conversation(),
            Link::Scar(kind),
        );
    }
}

fn next_question(outcome: &Outcome) -> FollowUp {
    outcome
        .screen
        .iter()
        .flat_map(|s| s.flat_buttons())
        .find_map(|b| match b.action {
            Action::Answer(q, _) => Some(q),
            _ => None,
        })
        .expect("a follow-up screen has answer buttons")
}

#[tokio::test]
async fn follow_up_answers_change_the_advice() {
    let mut chat = started().await;
    for action in [
        Action::Topic(Topic::Identify),
        Action::Toggle(ScarKind::Pigmentation),
        Action::Toggle(ScarKind::Lumps),
        Action::Done,
    ] {
        chat.tap(action).await;
    }
    // Yes to everything: the doctor's check comes first, the pregnancy note shows.
    loop {
        let state = chat.session().await.unwrap().state;
        let State::FollowUps { .. } = state else {
            break;
        };
        let outcome = conversation().step(&state, Input::Text("x".into()));
        chat.tap(Action::Answer(next_question(&outcome), true))
            .await;
    }
    let shown = chat.last.edited_messages_text[0].bot_request.text.clone();
    let pack = english();
    let warning = shown
        .find(&pack.ui.results.red_flag_title)
        .expect("the red flag");
    let kind = shown
        .find(&pack.scars.get(ScarKind::Pigmentation).summary)
        .unwrap();
    assert!(warning < kind, "the doctor's check comes first: {shown}");
    assert!(shown.contains(&pack.safety.pregnancy.short));
    assert!(shown.contains(&pack.safety.active_acne.short));
}

/// A full identification, a detail, its Back, the sources: each tap edits the one message.
#[tokio::test]
async fn details_and_sources_open_in_place_and_back_returns_to_the_summary() {
    let me = mock_me();
    let mut chat = started().await;
    let menu = chat.menu.clone().unwrap().id;
    for action in identify_path(&[ScarKind::Dents]) {
        chat.tap(action).await;
    }
    while let State::FollowUps { .. } = chat.session().await.unwrap().state {
        let state = chat.session().await.unwrap().state;
        let q = next_question(&conversation().step(&state, Input::Help));
        chat.tap(Action::Answer(q, false)).await;
    }
    let summary_state = chat.session().await.unwrap().state;
    let summary = conversation()
        .step(&summary_state, Input::Help)
        .screen
        .unwrap()
        .text;
    for part in [View::Details(Detail::Scar(ScarKind::Dents)), View::Sources] {
        chat.tap(Action::Show(part)).await;
        let text = assert_edited_in_place(&chat, menu, &format!("{part:?}"));
        let expected = conversation().step(&summary_state, Input::Tap(Action::Show(part)));
        assert_eq!(
            Some(&text),
            expected.screen.as_ref().map(|s| &s.text),
            "{part:?}"
        );
        assert_ne!(text, summary, "{part:?}");
        assert_share_row(
            chat.menu.as_ref().unwrap(),
            &me,
            conversation(),
            Link::Scar(ScarKind::Dents),
        );
        chat.tap(Action::Back).await;
        let text = assert_edited_in_place(&chat, menu, &format!("Back from {part:?}"));
        assert_eq!(text, summary, "Back from {part:?} is the summary");
        assert_eq!(chat.session().await.unwrap().state, summary_state);
    }
    // Back from the summary: the question before it.
    chat.tap(Action::Back).await;
    assert_edited_in_place(&chat, menu, "Back from the summary");
    assert!(matches!(
        chat.session().await.unwrap().state,
        State::FollowUps { .. }
    ));
}

fn identify_path(kinds: &[ScarKind]) -> Vec<Action> {
    let mut path = vec![Action::Topic(Topic::Identify)];
    path.extend(kinds.iter().map(|k| Action::Toggle(*k)));
    path.push(Action::Done);
    path
}

/// Issue 10: at most two new messages per user action; a tap on the current menu edits it in
/// place (none). Answers carry the share row wherever they are shown.
#[tokio::test]
async fn no_action_sends_more_than_two_new_messages() {
    let me = mock_me();
    let conv = conversation();
    let mut worst = 0;
    let mut check = |chat: &Chat, what: &str, most: usize| {
        let new = chat.last.sent_messages.len();
        assert!(
            new <= most,
            "{what}: {new} new messages: {:?}",
            chat.sent_texts()
        );
        worst = worst.max(new);
    };
    let mut chat = Chat::new();
    chat.send("/start").await;
    check(&chat, "/start", 2);
    chat.send("/start t_fractional_laser").await;
    check(&chat, "a deep link", 2);
    assert_share_row(
        chat.menu.as_ref().unwrap(),
        &me,
        conv,
        Link::Treatment(Treatment::FractionalLaser),
    );
    chat.send("keloid").await;
    check(&chat, "typed text", 2);
    chat.send("/cancel").await;
    check(&chat, "/cancel", 2);
    // Every tap of a full identification, through the self-checks and every follow-up.
    let mut state = chat.session().await.unwrap().state;
    let mut path = vec![
        Action::Topic(Topic::Identify),
        Action::NotSure,
        Action::Flat(FlatAnswer::Both),
        Action::Dents(DentsAnswer::Rolling),
        Action::Raised(RaisedAnswer::Beyond),
    ];
    while let Some(action) = (!path.is_empty()).then(|| path.remove(0)) {
        let expected = conv.step(&state, Input::Tap(action));
        // A self-check's new picture goes first, the menu as a new message below it (issue 11):
        // two new messages; every other tap edits in place.
        let picture = expected.screen.as_ref().and_then(|s| s.picture);
        let new_picture = picture.is_some() && picture != picture_of(&state);
        chat.tap(action).await;
        check(
            &chat,
            &format!("{action:?}"),
            if new_picture { 2 } else { 0 },
        );
        assert_eq!(
            chat.last.edited_messages_text.len(),
            usize::from(!new_picture),
            "{action:?}"
        );
        state = expected.state.clone();
        if let State::FollowUps { .. } = state {
            path.push(Action::Answer(next_question(&expected), false));
        }
    }
    assert!(matches!(state, State::Results { .. }), "{state:?}");
    for action in [
        Action::Show(View::Details(Detail::Scar(ScarKind::Lumps))),
        Action::Back,
        Action::Show(View::Sources),
        Action::Back,
    ] {
        chat.tap(action).await;
        check(&chat, &format!("{action:?}"), 0);
        assert_eq!(chat.last.edited_messages_text.len(), 1, "{action:?}");
    }
    chat.send("/help").await;
    check(&chat, "/help", 2);
    chat.send("/settings").await;
    check(&chat, "/settings", 2);
    let ja = scar_guide::conversation::LanguageCode::parse("ja").unwrap();
    chat.tap(Action::Language(ja)).await;
    check(&chat, "a language change", 2);
    crate::util::note(&format!("the most new messages one action sent: {worst}"));
}
#[tokio::test]
async fn back_and_start_over_work_at_every_step_of_the_identify_path() {
    let path = [
        Action::Topic(Topic::Identify),
        Action::Toggle(ScarKind::Dents),
        Action::Done,
        Action::Answer(FollowUp::ActiveAcne, true),
    ];
    for depth in 1..=path.len() {
        for leave in [Action::Back, Action::StartOver] {
            let mut chat = started().await;
            for action in &path[..depth] {
                chat.tap(*action).await;
            }
            let here = chat.session().await.unwrap().state;
            chat.tap(leave).await;
            let state = chat.session().await.unwrap().state;
            let expected = conversation().step(&here, Input::Tap(leave));
            let wanted = if leave == Action::Back {
                back(&here)
            } else {
                State::MainMenu
            };
            assert_eq!(state, wanted, "{leave:?} after {depth} taps");
            assert_eq!(expected.state, wanted);
            assert_eq!(chat.menu_text(), expected.screen.unwrap().text);
            assert!(chat.sent_texts().is_empty(), "the menu is edited in place");
        }
    }
}

#[tokio::test]
async fn typed_answers_work_like_taps() {
    let mut chat = started().await;
    chat.send("craters").await;
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify {
            picked: vec![ScarKind::Dents]
        }
    );
    chat.send("brown spots").await;
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify {
            picked: vec![ScarKind::Pigmentation, ScarKind::Dents]
        }
    );
    chat.send("done").await;
    let State::FollowUps { answers, .. } = chat.session().await.unwrap().state else {
        panic!()
    };
    assert!(answers.is_empty());
    chat.send("No").await;
    chat.send("2").await; // the option's number: "No"
    let session = chat.session().await.unwrap();
    let State::Results { answers, .. } = &session.state else {
        panic!("{:?}", session.state)
    };
    assert!(answers.iter().all(|(_, yes)| !yes));
    let State::Results { marks, .. } = &session.state else {
        unreachable!()
    };
    // Typed, the answer comes as a new message: the summary, now the menu.
    assert_eq!(
        chat.sent_texts(),
        vec![conversation().results_summary(marks, answers)]
    );
    assert_eq!(session.menu, Some(chat.menu.as_ref().unwrap().id));
    // One MockBot at a time: it holds a process-wide lock until dropped.
    drop(chat);

    let mut chat = started().await;
    chat.send("keloid").await;
    assert_eq!(
        chat.session().await.unwrap().state,
        State::Identify {
            picked: vec![ScarKind::Lumps]
        }
    );
}

#[tokio::test]
async fn other_text_gets_a_hint_and_the_same_question() {
    let mut chat = started().await;
    chat.tap(Action::Topic(Topic::Prevent)).await;
    chat.send("what is the meaning of life").await;
    let hint = &english().ui.hints.unknown_text;
    assert_eq!(chat.sent_texts().len(), 1);
    assert!(chat.sent_texts()[0].starts_with(hint.as_str()));
    assert!(chat.sent_texts()[0].contains(&english().ui.prevent_question));
    assert_eq!(chat.session().await.unwrap().state, State::Prevent);
    // The new message is now the menu; its buttons work.
    chat.tap(Action::Acne(AcneKind::Purple)).await;
    assert!(chat.sent_texts().is_empty(), "edited in place");
    assert_eq!(
        chat.last.edited_messages_text[0].bot_request.text,
        conversation().acne_summary(AcneKind::Purple)
    );
}

/// A tap the bot would not act on: its pop-up says `hint`, the chat is (back) at the main menu,
/// and a fresh copy of the main question is posted. `context` names the case in failures.
async fn assert_refused_with_a_fresh_main_menu(chat: &Chat, hint: &str, context: &str) {
    assert_eq!(
        chat.answers(),
        vec![Some(hint.to_owned())],
        "{context}: the pop-up"
    );
    assert_eq!(
        chat.session().await.unwrap().state,
        State::MainMenu,
        "{context}: not acted on"
    );
    assert!(
        chat.sent_texts()
            .last()
            .unwrap()
            .ends_with(&english().ui.main_question),
        "{context}: no fresh main question in {:?}",
        chat.sent_texts()
    );
}

#[tokio::test]
async fn forged_callback_data_is_answered_and_ignored() {
    let mut chat = started().await;
    let menu = chat.menu.clone().unwrap();
    for forged in [
        "",
        "1:pick:nose",
        "2:done",
        "drop table",
        "1:tr:fractional_laser:x",
    ] {
        chat.tap_raw(&menu, forged).await;
        assert_refused_with_a_fresh_main_menu(
            &chat,
            &english().ui.hints.invalid,
            &format!("{forged:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_button_on_a_superseded_menu_says_expired_and_shows_a_fresh_menu() {
    let mut chat = started().await;
    let old = chat.menu.clone().unwrap();
    chat.send("/start").await; // a new menu supersedes the old one
    chat.tap_raw(&old, &callback::encode(Action::Topic(Topic::Care)))
        .await;
    assert_refused_with_a_fresh_main_menu(&chat, &english().ui.hints.expired, "a superseded menu")
        .await;
    let fresh = chat.menu.clone().unwrap();
    assert_ne!(fresh.id, old.id);
    assert_eq!(chat.session().await.unwrap().menu, Some(fresh.id));
}

#[tokio::test]
async fn an_expired_conversation_answers_taps_with_a_fresh_menu() {
    let ttl = Duration::from_secs(60 * 60);
    let clock = TestClock::default();
    let mut chat = Chat::with_clock(ttl, &clock);
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Identify)).await;
    clock.advance(ttl - Duration::from_secs(1));
    assert!(
        chat.session().await.is_some(),
        "not forgotten before the TTL"
    );
    // That look was a read, which counts as activity (as in Redis): a whole TTL must pass.
    clock.advance(ttl - Duration::from_secs(1));
    assert!(chat.session().await.is_some(), "a read keeps it");
    clock.advance(ttl);
    assert_eq!(chat.session().await, None, "idle state is forgotten");
    chat.tap(Action::Toggle(ScarKind::Redness)).await;
    assert_refused_with_a_fresh_main_menu(&chat, &english().ui.hints.expired, "an expired chat")
        .await;
}

#[tokio::test]
async fn media_gets_a_polite_reply_and_the_current_question() {
    let mut chat = started().await;
    chat.tap(Action::Topic(Topic::Identify)).await;
    chat.tap(Action::Toggle(ScarKind::Redness)).await;
    let state = chat.session().await.unwrap().state;
    let media = &english().ui.hints.media;
    chat.send_update(MockMessagePhoto::new()).await;
    chat.send_update(MockMessageSticker::new()).await;
    chat.send_update(MockMessageVoice::new()).await;
    chat.send_update(MockMessageDocument::new()).await;
    // A dice is not an ordinary message kind, but a person sent it: it gets the same reply.
    chat.send_update(MockMessageDice::new()).await;
    let text = &chat.sent_texts()[0];
    assert!(text.starts_with(media.as_str()) && text.contains(&english().ui.identify.question));
    assert_eq!(
        chat.session().await.unwrap().state,
        state,
        "the answers so far are kept"
    );
}

#[tokio::test]
async fn edited_messages_are_not_read_but_answered() {
    let mut chat = started().await;
    let edited = Update {
        id: UpdateId(0),
        kind: UpdateKind::EditedMessage(MockMessageText::new().text("craters").build()),
    };
    chat.send_update(edited).await;
    assert!(chat.sent_texts()[0].starts_with(english().ui.hints.edited.as_str()));
    assert_eq!(chat.session().await.unwrap().state, State::MainMenu);
}

#[tokio::test]
async fn commands_cancel_forget_help_and_privacy() {
    let mut chat = started().await;
    chat.tap(Action::Topic(Topic::Treatments)).await;
    chat.send("/help").await;
    let help = conversation().step(&State::Treatments, Input::Help);
    chat.assert_sent(&help, "/help");
    assert_eq!(
        chat.sent_texts(),
        vec![
            english().ui.commands.help.clone(),
            help.screen.as_ref().unwrap().text.clone()
        ]
    );
    assert_eq!(chat.session().await.unwrap().state, State::Treatments);
    chat.send("/privacy").await;
    let privacy = conversation().step(&State::Treatments, Input::Privacy);
    chat.assert_sent(&privacy, "/privacy");
    assert_eq!(
        chat.sent_texts(),
        vec![
            english().ui.commands.privacy.clone(),
            privacy.screen.as_ref().unwrap().text.clone()
        ]
    );
    assert_eq!(chat.session().await.unwrap().state, State::Treatments);
    chat.send("/cancel").await;
    assert_eq!(chat.session().await.unwrap().state, State::MainMenu);
    assert_eq!(chat.sent_texts(), vec![english().ui.main_question.clone()]);
    let old = chat.menu.clone().unwrap();
    chat.send("/forget").await;
    assert_eq!(
        chat.sent_texts(),
        vec![english().ui.commands.forgotten.clone()]
    );
    assert_eq!(chat.session().await, None, "/forget erases the state");
    chat.tap_raw(&old, &callback::encode(Action::Topic(Topic::Care)))
        .await;
    assert_eq!(
        chat.answers(),
        vec![Some(english().ui.hints.expired.clone())]
    );
    chat.send("/nonsense").await;
    assert!(chat.sent_texts()[0].starts_with(english().ui.hints.unknown_text.as_str()));
}

/// Every acne kind, every treatment and daily care: the summary edited into the menu, with
/// the share row; a treatment's Back returns to the list of treatments.
#[tokio::test]
async fn every_acne_kind_treatment_and_daily_care_opens_its_summary_in_place() {
    let me = mock_me();
    let conv = conversation();
    let mut chat = started().await;
    let menu = chat.menu.clone().unwrap().id;
    chat.tap(Action::Topic(Topic::Prevent)).await;
    for acne in AcneKind::all() {
        chat.tap(Action::Acne(acne)).await;
        let text = assert_edited_in_place(&chat, menu, &format!("{acne:?}"));
        assert_eq!(text, conv.acne_summary(acne));
        assert_eq!(
            chat.session().await.unwrap().state,
            State::PreventAdvice {
                acne,
                view: View::Summary
            }
        );
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Acne(acne));
        chat.tap(Action::Back).await;
        assert_eq!(chat.session().await.unwrap().state, State::Prevent);
    }
    chat.tap(Action::StartOver).await;
    chat.tap(Action::Topic(Topic::Treatments)).await;
    for t in Treatment::all() {
        chat.tap(Action::Treatment(t)).await;
        let text = assert_edited_in_place(&chat, menu, &format!("{t:?}"));
        assert_eq!(text, conv.treatment_summary(t));
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Treatment(t));
        chat.tap(Action::Back).await;
        assert_edited_in_place(&chat, menu, "Back to the treatments");
        assert_eq!(chat.session().await.unwrap().state, State::Treatments);
        assert!(
            !has_share_buttons(chat.menu.as_ref().unwrap()),
            "a question is not shared"
        );
    }
    chat.tap(Action::StartOver).await;
    chat.tap(Action::Topic(Topic::Care)).await;
    let text = assert_edited_in_place(&chat, menu, "daily care");
    assert_eq!(text, conv.care_summary());
    assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Care);
}

/// /help is kept: it is its own message above the menu, so tapping a main-menu button edits the
/// menu message only and the help stays readable.
#[tokio::test]
async fn after_help_a_tap_edits_only_the_menu_and_the_help_stays() {
    let mut chat = started().await;
    chat.send("/help").await;
    let help = conversation().step(&State::MainMenu, Input::Help);
    chat.assert_sent(&help, "/help");
    let [help_message, menu] = &chat.last.sent_messages[..] else {
        panic!("/help sent {:?}", chat.sent_texts())
    };
    let (help_message, menu) = (help_message.clone(), menu.clone());
    assert_eq!(
        help_message.text(),
        Some(english().ui.commands.help.as_str())
    );
    assert_ne!(help_message.id, menu.id);
    assert_eq!(chat.session().await.unwrap().menu, Some(menu.id));

    let action = Action::Topic(Topic::Identify);
    chat.tap(action).await;
    let expected = conversation().step(&State::MainMenu, Input::Tap(action));
    assert_eq!(chat.answers(), vec![None], "answered without a pop-up");
    assert!(chat.sent_texts().is_empty(), "nothing new is posted");
    let edits = &chat.last.edited_messages_text;
    assert_eq!(edits.len(), 1, "one edit");
    assert_eq!(edits[0].message.id, menu.id, "the menu message is edited");
    assert_ne!(
        edits[0].message.id, help_message.id,
        "the help is not edited"
    );
    assert_eq!(
        edits[0].bot_request.text,
        expected.screen.as_ref().unwrap().text
    );
    assert!(
        chat.last.edited_messages_reply_markup.is_empty()
            && chat.last.edited_messages_caption.is_empty()
            && chat.last.deleted_messages.is_empty(),
        "nothing else is touched"
    );
    assert_eq!(
        buttons(chat.menu.as_ref().unwrap()),
        expected_buttons(&expected)
    );
    let session = chat.session().await.unwrap();
    assert_eq!(session.state, expected.state);
    assert_eq!(
        session.menu,
        Some(menu.id),
        "the menu message stays the menu"
    );
}

#[tokio::test]
async fn an_album_of_photos_gets_one_polite_reply() {
    use teloxide::types::MediaGroupId;
    let mut chat = started().await;
    let media = &english().ui.hints.media;
    let album = || MediaGroupId("album-1".to_owned());
    chat.send_update(MockMessagePhoto::new().media_group_id(album()))
        .await;
    assert_eq!(chat.sent_texts().len(), 1);
    assert!(chat.sent_texts()[0].starts_with(media.as_str()));
    for _ in 0..3 {
        chat.send_update(MockMessagePhoto::new().media_group_id(album()))
            .await;
        assert!(
            chat.sent_texts().is_empty(),
            "the rest of the album is not answered again"
        );
    }
    // Another album, or a single photo, is answered again.
    chat.send_update(MockMessagePhoto::new().media_group_id(MediaGroupId("album-2".to_owned())))
        .await;
    assert_eq!(chat.sent_texts().len(), 1);
    chat.send_update(MockMessagePhoto::new()).await;
    assert_eq!(chat.sent_texts().len(), 1);
    assert_eq!(chat.session().await.unwrap().state, State::MainMenu);
}
