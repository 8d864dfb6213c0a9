//! The share row under every answer (issue 3, issue 10): Telegram's share sheet with the deep
//! link and a one-line text, and posting the answer into another chat through inline mode,
//! above the navigation row, in the user's language.

use std::collections::BTreeMap;

use scar_guide::conversation::{Action, Conversation, Detail, Input, State, View};
use scar_guide::knowledge::{
    AcneKind, DentsAnswer, FlatAnswer, FollowUp, Link, RaisedAnswer, ScarKind, Topic, Treatment,
};
use scar_guide::telegram::keyboards as share;
use teloxide_tests::MockMe;

use crate::languages::{TEST_LANGUAGE, with_test_language};
use crate::util::{Chat, assert_share_row, content, english, has_share_buttons, send_as, tap_as};

#[test]
fn share_links_are_built_from_the_bots_username() {
    let content = content();
    let me = MockMe::new().username("some_other_bot").build();
    for pack in content.packs() {
        for link in Link::all() {
            let deep = share::deep_link(&me, link).expect("a deep link");
            assert_eq!(
                deep.as_str(),
                format!("https://t.me/some_other_bot?start={}", link.payload())
            );
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
            let row = share::share_row(&me, pack, link).expect("a share row");
            assert_eq!(row.len(), 2, "{link:?}");
        }
    }
}

/// Answers carry the share row under their summary and their parts, for the one topic they
/// are about; questions and a summary of several kinds carry none.
#[tokio::test]
async fn answers_reached_through_the_menus_carry_the_share_row_and_questions_none() {
    let content = content();
    let pack = english();
    let conv = Conversation::new(&content, pack);
    let mut chat = Chat::new();
    let me = chat.bot.me.clone();

    // Every scar kind, every follow-up answered "yes".
    chat.send("/start").await;
    for action in [Action::Topic(Topic::Identify)]
        .into_iter()
        .chain(ScarKind::all().map(Action::Toggle))
        .chain([Action::Done])
    {
        chat.tap(action).await;
        assert!(
            !has_share_buttons(chat.menu.as_ref().unwrap()),
            "{action:?}"
        );
    }
    let mut state = chat.session().await.unwrap().state;
    while let State::FollowUps { marks, answers } = &state {
        let question = FollowUp::for_kinds(&marks.kinds())
            .into_iter()
            .find(|q| !answers.iter().any(|(a, _)| a == q))
            .expect("a question left");
        assert!(
            !has_share_buttons(chat.menu.as_ref().unwrap()),
            "{question:?}"
        );
        chat.tap(Action::Answer(question, true)).await;
        state = chat.session().await.unwrap().state;
    }
    let summary = conv.step(&state, Input::Help).screen.expect("the summary");
    assert_eq!(
        summary.share, None,
        "a summary of four kinds is not one topic"
    );
    assert!(!has_share_buttons(chat.menu.as_ref().unwrap()));
    assert!(summary.text.contains(&pack.ui.results.red_flag_title));
    for kind in ScarKind::all() {
        let part = View::Details(Detail::Scar(kind));
        chat.tap(Action::Show(part)).await;
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Scar(kind));
        chat.tap(Action::Back).await;
    }

    // The self-checks with nothing found: nothing to share.
    chat.send("/start notsure").await;
    for action in [
        Action::Flat(FlatAnswer::NoFlat),
        Action::Dents(DentsAnswer::NoDents),
        Action::Raised(RaisedAnswer::NoRaised),
    ] {
        chat.tap(action).await;
    }
    let state = chat.session().await.unwrap().state;
    assert!(matches!(state, State::Results { .. }), "{state:?}");
    assert!(!has_share_buttons(chat.menu.as_ref().unwrap()));

    // Acne, daily care and treatments reached by taps.
    chat.send("/start").await;
    chat.tap(Action::Topic(Topic::Prevent)).await;
    chat.tap(Action::Acne(AcneKind::Red)).await;
    assert_share_row(
        chat.menu.as_ref().unwrap(),
        &me,
        conv,
        Link::Acne(AcneKind::Red),
    );
    chat.tap(Action::Topic(Topic::Care)).await;
    assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Care);
    chat.tap(Action::Topic(Topic::Treatments)).await;
    for t in Treatment::all() {
        chat.tap(Action::Treatment(t)).await;
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Treatment(t));
        chat.tap(Action::Show(View::Sources)).await;
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Treatment(t));
        chat.tap(Action::Back).await;
        chat.tap(Action::Back).await;
    }
}

/// The issue: "a Japanese user gets the whole conversation in Japanese". The share row under
/// an answer is part of it, with no /settings choice made: in the synthetic language and in
/// Japanese.
#[tokio::test]
async fn share_buttons_speak_the_users_telegram_language() {
    let synthetic = with_test_language();
    let real = content();
    for (content, code) in [(synthetic, TEST_LANGUAGE), (real, "ja")] {
        let pack = content.pack(Some(code));
        assert_eq!(pack.code, code);
        let conv = Conversation::new(&content, pack);
        let mut chat = Chat::with_content(content.clone());
        let me = chat.bot.me.clone();
        // A deep link (a message)…
        send_as(&mut chat, "/start care", Some(code)).await;
        assert_eq!(
            chat.sent_texts().last(),
            Some(&conv.care_summary()),
            "{code}: the answer is translated"
        );
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Care);
        // …and a tap (a callback), edited in place.
        tap_as(&mut chat, Action::Topic(Topic::Treatments), Some(code)).await;
        let t = Treatment::FractionalLaser;
        tap_as(&mut chat, Action::Treatment(t), Some(code)).await;
        assert!(chat.sent_texts().is_empty(), "{code}: edited in place");
        assert_eq!(
            chat.last.edited_messages_text[0].bot_request.text,
            conv.treatment_summary(t)
        );
        assert_share_row(chat.menu.as_ref().unwrap(), &me, conv, Link::Treatment(t));
        drop(chat);
    }
}
