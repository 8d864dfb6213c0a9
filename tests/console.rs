//! The console face: the library's `console::run` over scripted input. The binary's `console`
//! subcommand is run in `binary.rs`.

use std::sync::OnceLock;

use scar_guide::console;
use scar_guide::content::{Content, Pack, html};
use scar_guide::conversation::{Action, Conversation, Input, Outcome, State};
use scar_guide::knowledge::{FollowUp, ScarKind, Topic};

fn content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| Content::embedded().expect("dialogues/ is valid"))
}

fn english() -> &'static Pack {
    content().pack(Some("en"))
}

/// Runs the console over `script` and returns everything it printed.
fn run_console(script: &str) -> String {
    let mut output = Vec::new();
    console::run(content(), Some("en"), script.as_bytes(), &mut output)
        .expect("the console ends cleanly at end of input");
    String::from_utf8(output).expect("the console prints UTF-8")
}

/// The 1-based number the console shows for `action` on this outcome's screen.
fn number_of(outcome: &Outcome, action: Action) -> usize {
    outcome
        .screen
        .as_ref()
        .expect("a screen")
        .flat_buttons()
        .position(|b| b.action == action)
        .unwrap_or_else(|| panic!("no {action:?} on the screen"))
        + 1
}

/// The console script that taps `actions` in turn from `/start`, and the last outcome.
pub(crate) fn script_for(actions: &[Action]) -> (String, Outcome) {
    let conv = Conversation::new(content(), english());
    let mut outcome = conv.step(&State::Idle, Input::Start);
    let mut script = String::new();
    for action in actions {
        script.push_str(&format!("{}\n", number_of(&outcome, *action)));
        outcome = conv.step(&outcome.state, Input::Tap(*action));
    }
    (script, outcome)
}

/// The taps from the main menu to the dents card: Identify, Dents, Done, then "No" to every
/// follow-up the dents card asks.
pub(crate) fn dents_path() -> Vec<Action> {
    let mut path = vec![
        Action::Topic(Topic::Identify),
        Action::Toggle(ScarKind::Dents),
        Action::Done,
    ];
    path.extend(
        FollowUp::for_kinds(&[ScarKind::Dents])
            .into_iter()
            .map(|q| Action::Answer(q, false)),
    );
    path
}

#[test]
fn the_dents_script_is_the_documented_numbers() {
    // Main menu 1 = Identify, 3 = Dents, 6 = Done, then 2 = No for each follow-up.
    let (script, _) = script_for(&dents_path());
    let follow_ups = FollowUp::for_kinds(&[ScarKind::Dents]).len();
    assert_eq!(script, format!("1\n3\n6\n{}", "2\n".repeat(follow_ups)));
}

#[test]
fn numbers_walk_to_a_scar_summary_with_the_doctor_line() {
    let (script, last) = script_for(&dents_path());
    assert!(
        matches!(last.state, State::Results { .. }),
        "{:?}",
        last.state
    );
    let out = run_console(&script);
    let pack = english();
    let title = html::to_plain(&pack.scars.get(ScarKind::Dents).short);
    assert!(out.contains(&title), "no {title:?} in:\n{out}");
    let doctor = format!(
        "🩺 {}",
        html::to_plain(&pack.scars.get(ScarKind::Dents).doctor_short)
    );
    assert!(out.contains(&doctor), "no {doctor:?} in:\n{out}");
    // The answer is the summary screen, in plain text.
    let summary = html::to_plain(&last.screen.as_ref().expect("an answer").text);
    assert!(
        out.contains(&summary),
        "the summary is missing from:\n{out}"
    );
}

#[test]
fn the_output_is_plain_text() {
    let (script, _) = script_for(&dents_path());
    let out = run_console(&script);
    for tag in ["<b>", "</b>", "<i>", "</i>", "&amp;", "&lt;"] {
        assert!(!out.contains(tag), "{tag} in the console output");
    }
}

#[test]
fn the_console_greets_and_numbers_the_main_menu() {
    let out = run_console("");
    let pack = english();
    assert!(out.contains(&html::to_plain(&pack.ui.greeting)));
    assert!(out.contains(&html::to_plain(&pack.ui.disclaimer)));
    assert!(out.contains(&html::to_plain(&pack.ui.main_question)));
    for (i, topic) in Topic::all().enumerate() {
        let line = format!("  {}. {}", i + 1, pack.topics.get(topic));
        assert!(out.contains(&line), "no {line:?} in:\n{out}");
    }
    assert!(out.contains(&html::to_plain(&pack.ui.hints.console_prompt)));
}

#[test]
fn end_of_input_ends_after_a_prompt() {
    let out = run_console("1\n");
    assert!(out.ends_with("> \n"), "{out:?}");
}

#[test]
fn blank_lines_are_ignored() {
    let with_blanks = run_console("\n   \n1\n\n");
    let without = run_console("1\n");
    // A blank line re-prints the question and prompt, nothing else.
    let pack = english();
    let question = html::to_plain(&pack.ui.identify.question);
    assert!(with_blanks.contains(&question));
    assert!(without.contains(&question));
    assert!(!with_blanks.contains(&html::to_plain(&pack.ui.hints.unknown_text)));
}

#[test]
fn commands_show_their_texts() {
    let pack = english();
    let out = run_console("/help\n/privacy\n/nonsense\n");
    assert!(out.contains(&html::to_plain(&pack.ui.commands.help)));
    assert!(out.contains(&html::to_plain(&pack.ui.commands.privacy)));
    assert!(out.contains(&html::to_plain(&pack.ui.hints.unknown_text)));
}

#[test]
fn typed_words_work_like_buttons() {
    let pack = english();
    let out = run_console("craters\n");
    let selected = format!(
        "{}{}",
        pack.ui.buttons.selected_mark,
        pack.scars.get(ScarKind::Dents).label
    );
    assert!(out.contains(&selected), "no {selected:?} in:\n{out}");
}

#[test]
fn forget_then_any_line_starts_afresh() {
    let pack = english();
    let out = run_console("/forget\nhello\n");
    assert!(out.contains(&html::to_plain(&pack.ui.commands.forgotten)));
    let greeting = html::to_plain(&pack.ui.greeting);
    assert_eq!(out.matches(&greeting).count(), 2, "{out}");
}

#[test]
fn line_input_maps_numbers_commands_and_text() {
    let conv = Conversation::new(content(), english());
    let start = conv.step(&State::Idle, Input::Start);
    assert_eq!(
        console::line_input("1", &start),
        Input::Tap(Action::Topic(Topic::Identify))
    );
    assert_eq!(console::line_input(" /start ", &start), Input::Start);
    assert_eq!(console::line_input("/cancel", &start), Input::Cancel);
    assert_eq!(console::line_input("/forget", &start), Input::Forget);
    assert_eq!(console::line_input("/what", &start), Input::UnknownCommand);
    assert_eq!(console::line_input("99", &start), Input::Text("99".into()));
    assert_eq!(
        console::line_input("red", &start),
        Input::Text("red".into())
    );
}
