//! Languages (issue 3): the user's Telegram language picks the pack, English is the fallback,
//! `/settings` switches and remembers the choice. A synthetic language ("Testish", built from
//! the English files) tells the languages apart in every text these tests look at; Japanese
//! must exist.

use std::sync::Arc;

use scar_guide::content::Content;
use scar_guide::conversation::{Action, Conversation, Input, LanguageCode, State};
use scar_guide::knowledge::{Link, ScarKind, Topic, Treatment};
use scar_guide::telegram::callback;

use crate::util::{
    Chat, assert_share_row, buttons, content, dialogue_files, english, expected_buttons, send_as,
    tap_as,
};

/// The code of the synthetic language built by [`with_test_language`].
pub const TEST_LANGUAGE: &str = "xx";

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
pub fn with_test_language() -> Arc<Content> {
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
    let japanese = "ja";
    assert!(
        content.packs().any(|p| p.code == japanese),
        "dialogues/ja/ exists"
    );
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
async fn japanese_users_get_japanese() {
    let content = content();
    let ja = content
        .packs()
        .find(|p| p.code == "ja")
        .expect("dialogues/ja/ exists");
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
    chat.assert_sent(&care, &context);
    assert_share_row(chat.menu.as_ref().unwrap(), &me, new_conv, Link::Care);
    tap_as(&mut chat, Action::Topic(Topic::Treatments), Some(from)).await;
    let action = Action::Treatment(Treatment::DyeLaser);
    tap_as(&mut chat, action, Some(from)).await;
    assert_eq!(
        chat.last.edited_messages_text[0].bot_request.text,
        new_conv.treatment_summary(Treatment::DyeLaser),
        "{context}"
    );
    assert_share_row(
        chat.menu.as_ref().unwrap(),
        &me,
        new_conv,
        Link::Treatment(Treatment::DyeLaser),
    );
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
    assert!(
        others.contains(&"ja".to_owned()),
        "dialogues/ja/ exists: {others:?}"
    );
    for code in others {
        choose_language(content.clone(), "en", &code).await;
        choose_language(content.clone(), &code, "en").await;
    }
}
