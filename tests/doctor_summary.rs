//! The summary for the dermatologist: one forwardable message with the kinds found and how,
//! the answers given (only the questions asked), what to ask the clinic and what to tell it.
//! Expected texts come from the same content the bot uses.

use scar_guide::content::Pack;
use scar_guide::conversation::{
    Action, Checks, Conversation, Detail, Input, Marks, Outcome, State, View,
};
use scar_guide::knowledge::{DentsAnswer, FlatAnswer, FollowUp, RaisedAnswer, ScarKind, Treatment};

use crate::util::{Chat, buttons, conversation_in, english};

/// The results summary for these marks and answers, as the step leaves it.
fn results(marks: Marks, answers: Vec<(FollowUp, bool)>) -> State {
    State::Results {
        marks,
        answers,
        view: View::Summary,
    }
}

fn summary_of(conv: &Conversation<'_>, state: &State) -> Outcome {
    conv.step(state, Input::Tap(Action::ForDoctor))
}

fn treatment(pack: &Pack, t: Treatment) -> &str {
    &pack.treatments.get(t).name
}

#[test]
fn ticked_kinds_list_only_the_questions_asked_and_what_to_ask() {
    for code in ["en", "ja"] {
        let conv = conversation_in(code);
        let pack = conv.pack;
        let d = &pack.ui.doctor_summary;
        let state = results(
            Marks::Picked(vec![ScarKind::Redness, ScarKind::Dents]),
            vec![(FollowUp::ActiveAcne, true)],
        );
        let outcome = summary_of(&conv, &state);
        let text = outcome.keep.expect("the summary is a message of its own");
        // The answer on screen stays as it is.
        assert_eq!(outcome.state, state, "{code}");
        for needed in [
            &d.title,
            &d.picked,
            &pack.scars.get(ScarKind::Redness).short,
            &pack.scars.get(ScarKind::Dents).short,
            &pack.follow_ups.get(FollowUp::ActiveAcne).question,
            &pack.ui.buttons.yes,
            &d.ask_sessions,
            &d.ask_cost,
            &d.footer,
            &pack.safety.isotretinoin.short,
            &pack.safety.darker_skin.short,
        ] {
            assert!(
                text.contains(needed.as_str()),
                "{code}: no {needed:?} in {text}"
            );
        }
        assert!(
            text.contains(treatment(pack, Treatment::DyeLaser)),
            "{code}"
        );
        assert!(
            text.contains(treatment(pack, Treatment::FractionalLaser)),
            "{code}"
        );
        // Not asked, so not listed as an answer.
        for absent in [
            &d.checked,
            &pack.follow_ups.get(FollowUp::Pregnancy).question,
            &pack.follow_ups.get(FollowUp::RedFlag).question,
        ] {
            assert!(
                !text.contains(absent.as_str()),
                "{code}: {absent:?} in {text}"
            );
        }
    }
}

#[test]
fn a_keloid_found_by_the_checks_names_the_injection_and_a_red_flag_goes_to_the_clinic() {
    for code in ["en", "ja"] {
        let conv = conversation_in(code);
        let pack = conv.pack;
        let d = &pack.ui.doctor_summary;
        let checks = Checks {
            flat: Some(FlatAnswer::NoFlat),
            dents: Some(DentsAnswer::NoDents),
            raised: Some(RaisedAnswer::Beyond),
        };
        let state = results(
            Marks::Checked(checks),
            vec![(FollowUp::ActiveAcne, false), (FollowUp::RedFlag, true)],
        );
        let text = summary_of(&conv, &state).keep.expect("a summary");
        let keloid = &pack
            .scars
            .get(ScarKind::Lumps)
            .lump_shapes
            .values()
            .last()
            .expect("the keloid shape")
            .name;
        for needed in [
            &d.checked,
            keloid,
            &pack.follow_ups.get(FollowUp::RedFlag).question,
            &pack.follow_ups.get(FollowUp::ActiveAcne).question,
            &pack.ui.buttons.no,
            &pack.ui.results.red_flag_text,
        ] {
            assert!(
                text.contains(needed.as_str()),
                "{code}: no {needed:?} in {text}"
            );
        }
        assert!(
            text.contains(treatment(pack, Treatment::AcneInjection)),
            "{code}"
        );
        // The guide names the injection for keloids; the fractional laser is for other lumps.
        assert!(
            !text.contains(treatment(pack, Treatment::FractionalLaser)),
            "{code}: {text}"
        );
        assert!(
            !text.contains(&pack.safety.active_acne.short),
            "{code}: a No drops it"
        );
    }
}

#[test]
fn the_button_is_only_on_a_summary_that_found_something() {
    let conv = conversation_in("en");
    let label = &english().ui.doctor_summary.button;
    let has_button = |state: &State| {
        conv.step(state, Input::Help)
            .screen
            .expect("a screen")
            .flat_buttons()
            .any(|b| b.action == Action::ForDoctor && b.label == *label)
    };
    let found = results(Marks::Picked(vec![ScarKind::Lumps]), Vec::new());
    assert!(has_button(&found));
    let details = State::Results {
        marks: Marks::Picked(vec![ScarKind::Lumps]),
        answers: Vec::new(),
        view: View::Details(Detail::Scar(ScarKind::Lumps)),
    };
    assert!(!has_button(&details));
    let nothing = results(Marks::Checked(Checks::default()), Vec::new());
    assert!(!has_button(&nothing));
    // A forged tap where there is no summary is an expired menu, not a summary.
    let outcome = conv.step(&nothing, Input::Tap(Action::ForDoctor));
    assert_eq!(outcome.keep, None);
    assert_eq!(
        outcome.notice.as_deref(),
        Some(english().ui.hints.expired.as_str())
    );
}

#[test]
fn every_summary_for_the_dermatologist_fits_one_message() {
    for code in ["en", "ja"] {
        let conv = conversation_in(code);
        let walk = scar_guide::conversation::walk::Walk::new(&conv);
        let mut seen = 0;
        for (state, _) in &walk.states {
            if let Some(text) = summary_of(&conv, state).keep {
                seen += 1;
                let len = scar_guide::content::html::telegram_len(&text);
                assert!(
                    len <= scar_guide::conversation::walk::MAX_MESSAGE,
                    "{code}: {len} characters for {state:?}"
                );
                assert_eq!(scar_guide::content::html::check(&text), Ok(()), "{code}");
            }
        }
        assert!(seen > 100, "{code}: only {seen} summaries");
    }
}

#[tokio::test]
async fn the_tap_sends_one_message_without_buttons_and_leaves_the_answer_in_place() {
    let mut chat = Chat::new();
    chat.send("/redness").await;
    let before = chat.session().await.expect("a session");
    let menu = chat.menu.clone().expect("the answer is the menu");
    chat.tap(Action::ForDoctor).await;
    let sent = &chat.last.sent_messages;
    assert_eq!(sent.len(), 1, "one new message: {:?}", chat.sent_texts());
    assert!(
        sent[0].reply_markup().is_none(),
        "forwardable, with no buttons"
    );
    let expected = conversation_in("en")
        .step(&before.state, Input::Tap(Action::ForDoctor))
        .keep
        .expect("a summary");
    assert_eq!(chat.sent_texts()[0], expected);
    assert!(
        chat.last.edited_messages_text.is_empty(),
        "the answer stays as it is"
    );
    let after = chat.session().await.expect("a session");
    // Nothing more is kept than before: the summary is built from the answers, not stored.
    assert_eq!(after.state, before.state);
    assert_eq!(after.menu, Some(menu.id));
    assert!(!buttons(&menu).is_empty());
    chat.send("/forget").await;
    assert_eq!(chat.session().await, None, "/forget erases everything");
}
