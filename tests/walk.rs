//! An exhaustive walk of the pure conversation core over the real English content.
//!
//! Breadth-first from `/start`, tapping every button of every screen, so every state a person can
//! reach by taps is visited and its minimal tap count from the main menu is known. Each test then
//! checks one property over every reached state (or every transition between them). Expected
//! texts come from the same `Content` the bot uses, never from copied sentences.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use scar_guide::content::{Content, Pack, html};
use scar_guide::conversation::{
    Action, Conversation, Input, LanguageCode, Marks, Outcome, State, back,
};
use scar_guide::knowledge::{AcneKind, DentShape, Link, LumpShape, ScarKind, Topic, Treatment};
use scar_guide::telegram::callback;

/// Fail instead of looping forever if the state space is not finite.
const MAX_STATES: usize = 100_000;

/// The most taps from the main menu any advice card may take.
const MAX_TAPS: usize = 5;

/// Telegram's limit for one message, in UTF-16 code units after entity parsing.
const MAX_MESSAGE_LEN: usize = 4096;

fn content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| Content::embedded().expect("dialogues/ is valid"))
}

fn english() -> &'static Pack {
    content().pack(Some("en"))
}

fn conversation() -> Conversation<'static> {
    Conversation::new(content(), english())
}

/// Every state reachable by taps from `/start`, with its minimal tap count.
struct Walk {
    /// What `/start` shows.
    start: Outcome,
    /// Reached states in breadth-first order, each with the fewest taps that reach it.
    states: Vec<(State, usize)>,
}

/// One tap: from a reached state, a button of its screen, and what the tap produced.
struct Edge<'a> {
    from: &'a State,
    /// Taps needed to reach `from`; the tap itself is one more.
    depth: usize,
    action: Action,
    outcome: Outcome,
}

/// `State` has no `Hash`; its `Debug` form is a faithful key.
fn key(state: &State) -> String {
    format!("{state:?}")
}

/// The actions of an outcome's buttons, in reading order.
fn actions(outcome: &Outcome) -> Vec<Action> {
    outcome
        .screen
        .iter()
        .flat_map(|s| s.flat_buttons())
        .map(|b| b.action)
        .collect()
}

fn walk() -> &'static Walk {
    static WALK: OnceLock<Walk> = OnceLock::new();
    WALK.get_or_init(|| {
        let conv = conversation();
        let start = conv.step(&State::Idle, Input::Start);
        let mut depth: HashMap<String, usize> = HashMap::new();
        let mut states = Vec::new();
        let mut queue = VecDeque::new();
        depth.insert(key(&start.state), 0);
        queue.push_back((start.state.clone(), 0usize));
        while let Some((state, d)) = queue.pop_front() {
            let shown = conv.step(&state, Input::Help);
            for action in actions(&shown) {
                let next = conv.step(&state, Input::Tap(action)).state;
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(key(&next)) {
                    e.insert(d + 1);
                    queue.push_back((next, d + 1));
                }
            }
            states.push((state, d));
            assert!(
                depth.len() <= MAX_STATES,
                "more than {MAX_STATES} states reached: the conversation is not finite"
            );
        }
        Walk { start, states }
    })
}

impl Walk {
    /// Every tap on every reached state's screen, recomputed (outcomes are pure and cheap).
    fn edges(&self) -> impl Iterator<Item = Edge<'_>> {
        let conv = conversation();
        self.states.iter().flat_map(move |(state, depth)| {
            let shown = conv.step(state, Input::Help);
            actions(&shown).into_iter().map(move |action| Edge {
                from: state,
                depth: *depth,
                action,
                outcome: conv.step(state, Input::Tap(action)),
            })
        })
    }

    /// The fewest taps after which some card satisfies `wanted`.
    fn taps_to_card(&self, wanted: impl Fn(&str) -> bool) -> Option<usize> {
        self.edges()
            .filter(|e| e.outcome.cards.iter().any(|c| wanted(&c.text)))
            .map(|e| e.depth + 1)
            .min()
    }
}

/// Every `State` variant by name; an exhaustive match, so a new variant must be listed here.
fn variant(state: &State) -> &'static str {
    match state {
        State::Idle => "Idle",
        State::MainMenu => "MainMenu",
        State::Identify { .. } => "Identify",
        State::SelfCheck { .. } => "SelfCheck",
        State::FollowUps { .. } => "FollowUps",
        State::Results { .. } => "Results",
        State::Prevent => "Prevent",
        State::PreventAdvice { .. } => "PreventAdvice",
        State::Care => "Care",
        State::Treatments => "Treatments",
        State::Settings { .. } => "Settings",
    }
}

const REACHABLE_VARIANTS: &[&str] = &[
    "MainMenu",
    "Identify",
    "SelfCheck",
    "FollowUps",
    "Results",
    "Prevent",
    "PreventAdvice",
    "Care",
    "Treatments",
];

/// The message text sent for an outcome: notice, blank line, question.
fn message_text(outcome: &Outcome) -> Option<String> {
    let screen = outcome.screen.as_ref().map(|s| s.text.as_str());
    match (&outcome.notice, screen) {
        (Some(n), Some(s)) => Some(format!("{n}\n\n{s}")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

/// The inputs that only show a notice and re-ask the current question, with that notice.
fn notice_inputs(pack: &Pack) -> Vec<(Input, &str)> {
    let ui = &pack.ui;
    vec![
        (Input::Media, ui.hints.media.as_str()),
        (Input::Edited, ui.hints.edited.as_str()),
        (Input::Forged, ui.hints.invalid.as_str()),
        (Input::Stale, ui.hints.expired.as_str()),
        (Input::UnknownCommand, ui.hints.unknown_text.as_str()),
        (Input::Help, ui.commands.help.as_str()),
        (Input::Privacy, ui.commands.privacy.as_str()),
    ]
}

/// Every outcome the walk can observe: taps, typed numbers, notices, nonsense text.
fn every_observable_outcome() -> Vec<(String, Outcome)> {
    let conv = conversation();
    let pack = english();
    let mut all = vec![("/start".to_owned(), walk().start.clone())];
    for edge in walk().edges() {
        all.push((
            format!("{:?} on {:?}", edge.action, edge.from),
            edge.outcome,
        ));
    }
    for (state, _) in &walk().states {
        for (input, _) in notice_inputs(pack) {
            let label = format!("{input:?} on {state:?}");
            all.push((label, conv.step(state, input)));
        }
        let label = format!("nonsense text on {state:?}");
        all.push((label, conv.step(state, Input::Text("qwertyuiop".into()))));
        all.push((
            format!("/cancel on {state:?}"),
            conv.step(state, Input::Cancel),
        ));
    }
    all
}

#[test]
fn the_walk_is_finite_and_reaches_every_state_variant() {
    let walk = walk();
    assert!(!walk.states.is_empty());
    assert_eq!(walk.start.state, State::MainMenu);
    for name in REACHABLE_VARIANTS {
        assert!(
            walk.states.iter().any(|(s, _)| variant(s) == *name),
            "no path of taps reaches a {name} state"
        );
    }
    assert!(
        walk.states.iter().all(|(s, _)| *s != State::Idle),
        "taps never forget the conversation"
    );
}

#[test]
fn every_scar_kind_card_is_within_five_taps() {
    let pack = english();
    for kind in ScarKind::all() {
        let head = format!("<b>{}</b>", pack.scars.get(kind).title);
        let taps = walk().taps_to_card(|c| c.starts_with(&head));
        assert!(
            taps.is_some_and(|t| t <= MAX_TAPS),
            "{kind:?} card needs {taps:?} taps"
        );
    }
}

#[test]
fn every_acne_kind_card_is_within_five_taps() {
    let conv = conversation();
    for kind in AcneKind::all() {
        let card = conv.acne_card(kind);
        let taps = walk().taps_to_card(|c| c == card);
        assert!(
            taps.is_some_and(|t| t <= MAX_TAPS),
            "{kind:?} card needs {taps:?} taps"
        );
    }
}

#[test]
fn every_treatment_card_is_within_five_taps() {
    let conv = conversation();
    for t in Treatment::all() {
        let card = conv.treatment_card(t);
        let taps = walk().taps_to_card(|c| c == card);
        assert!(
            taps.is_some_and(|n| n <= MAX_TAPS),
            "{t:?} card needs {taps:?} taps"
        );
    }
}

#[test]
fn the_care_card_is_within_five_taps() {
    let card = conversation().care_card();
    let taps = walk().taps_to_card(|c| c == card);
    assert!(
        taps.is_some_and(|n| n <= MAX_TAPS),
        "care card needs {taps:?} taps"
    );
}

#[test]
fn the_self_check_path_names_every_dent_and_lump_shape() {
    let pack = english();
    // Cards given for marks found through "Not sure" and the mirror checks.
    let checked_cards: Vec<String> = walk()
        .edges()
        .filter(|e| {
            matches!(
                e.outcome.state,
                State::Results {
                    marks: Marks::Checked(_),
                    ..
                }
            )
        })
        .flat_map(|e| e.outcome.cards)
        .map(|c| c.text)
        .collect();
    assert!(
        !checked_cards.is_empty(),
        "the self-check never gives advice"
    );
    let names = DentShape::all()
        .map(|d| pack.dent_shape(d).expect("every dent shape").name.clone())
        .chain(
            LumpShape::all().map(|l| pack.lump_shape(l).expect("every lump shape").name.clone()),
        );
    for name in names {
        assert!(
            checked_cards.iter().any(|c| c.contains(&name)),
            "no self-check card names the shape {name:?}"
        );
    }
}

#[test]
fn self_check_starts_from_not_sure() {
    let conv = conversation();
    let identify = State::Identify { picked: Vec::new() };
    let outcome = conv.step(&identify, Input::Tap(Action::NotSure));
    assert!(
        matches!(outcome.state, State::SelfCheck { .. }),
        "{:?}",
        outcome.state
    );
}

#[test]
fn no_screen_is_a_dead_end() {
    for (what, outcome) in every_observable_outcome() {
        let screen = outcome
            .screen
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no screen"));
        assert!(
            screen.flat_buttons().next().is_some(),
            "{what}: a screen without buttons"
        );
        if outcome.state != State::MainMenu {
            let acts: Vec<Action> = screen.flat_buttons().map(|b| b.action).collect();
            assert!(acts.contains(&Action::Back), "{what}: no Back button");
            assert!(
                acts.contains(&Action::StartOver),
                "{what}: no Start over button"
            );
        }
    }
}

#[test]
fn forget_leaves_no_screen_and_an_idle_state() {
    let conv = conversation();
    let pack = english();
    for (state, _) in &walk().states {
        let outcome = conv.step(state, Input::Forget);
        assert_eq!(outcome.state, State::Idle, "{state:?}");
        assert_eq!(outcome.screen, None, "{state:?}");
        assert_eq!(
            outcome.notice.as_deref(),
            Some(pack.ui.commands.forgotten.as_str())
        );
    }
}

#[test]
fn every_message_fits_telegram_and_is_well_formed_html() {
    for (what, outcome) in every_observable_outcome() {
        for card in &outcome.cards {
            let card = &card.text;
            let len = html::telegram_len(card);
            assert!(len <= MAX_MESSAGE_LEN, "{what}: a card of {len} characters");
            assert_eq!(html::check(card), Ok(()), "{what}: card {card:?}");
        }
        if let Some(notice) = &outcome.notice {
            assert_eq!(html::check(notice), Ok(()), "{what}: notice {notice:?}");
        }
        if let Some(screen) = &outcome.screen {
            assert_eq!(html::check(&screen.text), Ok(()), "{what}: screen text");
        }
        if let Some(text) = message_text(&outcome) {
            let len = html::telegram_len(&text);
            assert!(
                len <= MAX_MESSAGE_LEN,
                "{what}: a message of {len} characters"
            );
            assert_eq!(html::check(&text), Ok(()), "{what}: message {text:?}");
        }
    }
}

#[test]
fn every_button_has_valid_round_tripping_callback_data() {
    for (state, _) in &walk().states {
        let shown = conversation().step(state, Input::Help);
        for button in shown.screen.iter().flat_map(|s| s.flat_buttons()) {
            let data = callback::encode(button.action);
            assert!(
                data.len() <= callback::MAX_BYTES,
                "{state:?}: {data:?} is {} bytes",
                data.len()
            );
            assert_eq!(
                callback::parse(&data),
                Some(button.action),
                "{state:?}: {data:?}"
            );
            assert!(!button.label.trim().is_empty(), "{state:?}: empty label");
        }
    }
}

#[test]
fn scar_advice_always_says_when_to_see_a_dermatologist() {
    let pack = english();
    let doctor = &pack.ui.card.doctor;
    let red_flags = &pack.safety.red_flags.title;
    let mut advice_given = 0;
    for edge in walk().edges() {
        if !matches!(edge.outcome.state, State::Results { .. }) || edge.outcome.cards.is_empty() {
            continue;
        }
        advice_given += 1;
        assert!(
            edge.outcome
                .cards
                .iter()
                .any(|c| c.text.contains(doctor.as_str()) || c.text.contains(red_flags.as_str())),
            "{:?} on {:?}: no dermatologist advice in {:#?}",
            edge.action,
            edge.from,
            edge.outcome.cards
        );
    }
    assert!(advice_given > 0, "the walk never reached scar advice");
}

#[test]
fn every_entry_into_results_gives_advice_cards() {
    for edge in walk().edges() {
        if matches!(edge.outcome.state, State::Results { .. })
            && !matches!(edge.from, State::Results { .. })
        {
            assert!(
                !edge.outcome.cards.is_empty(),
                "{:?} on {:?} reached results without cards",
                edge.action,
                edge.from
            );
        }
    }
}

#[test]
fn acne_treatment_and_care_cards_say_when_to_see_a_dermatologist() {
    let conv = conversation();
    let doctor = &english().ui.card.doctor;
    let cards = AcneKind::all()
        .map(|a| (format!("{a:?}"), conv.acne_card(a)))
        .chain(Treatment::all().map(|t| (format!("{t:?}"), conv.treatment_card(t))))
        .chain([("care".to_owned(), conv.care_card())]);
    for (what, card) in cards {
        assert!(card.contains(doctor.as_str()), "{what} card: {card}");
    }
}

#[test]
fn every_card_but_the_red_flag_card_carries_the_disclaimer() {
    let pack = english();
    let disclaimer = &pack.ui.card.disclaimer;
    let red_flag_head = format!("<b>{}</b>", pack.safety.red_flags.title);
    let mut red_flag_cards = 0;
    for edge in walk().edges() {
        for card in edge.outcome.cards.iter().map(|c| &c.text) {
            if card.starts_with(&red_flag_head) {
                red_flag_cards += 1;
                continue;
            }
            assert!(
                card.contains(disclaimer.as_str()),
                "{:?} on {:?}: card without the disclaimer: {card}",
                edge.action,
                edge.from
            );
        }
    }
    assert!(
        red_flag_cards > 0,
        "the walk never reached the red-flag card"
    );
}

#[test]
fn back_goes_to_the_previous_question_and_start_over_to_the_main_menu() {
    let conv = conversation();
    for (state, _) in &walk().states {
        let shown = actions(&conv.step(state, Input::Help));
        if shown.contains(&Action::Back) {
            let outcome = conv.step(state, Input::Tap(Action::Back));
            assert_eq!(outcome.state, back(state), "Back on {state:?}");
            assert_eq!(outcome.notice, None, "Back on {state:?}");
        }
        if shown.contains(&Action::StartOver) {
            let outcome = conv.step(state, Input::Tap(Action::StartOver));
            assert_eq!(outcome.state, State::MainMenu, "Start over on {state:?}");
        }
    }
}

#[test]
fn back_never_leaves_the_reached_states() {
    let reached: Vec<String> = walk().states.iter().map(|(s, _)| key(s)).collect();
    for (state, _) in &walk().states {
        let previous = back(state);
        assert!(
            reached.contains(&key(&previous)),
            "back({state:?}) = {previous:?} is not reachable by taps"
        );
    }
}

/// Off-screen taps other than the navigation pair, which `apply` accepts on every state.
#[test]
fn off_screen_taps_keep_the_state_and_say_the_menu_expired() {
    let conv = conversation();
    let expired = &english().ui.hints.expired;
    for (state, _) in &walk().states {
        let shown = actions(&conv.step(state, Input::Help));
        for action in callback::all_actions() {
            if shown.contains(&action) || matches!(action, Action::Back | Action::StartOver) {
                continue;
            }
            let outcome = conv.step(state, Input::Tap(action));
            assert_eq!(outcome.state, *state, "{action:?} on {state:?}");
            assert_eq!(
                outcome.notice.as_ref(),
                Some(expired),
                "{action:?} on {state:?}"
            );
            assert!(outcome.cards.is_empty(), "{action:?} on {state:?}");
        }
    }
}

/// The main menu has no Back or Start over button, so a tap on one comes from an older menu.
#[test]
fn off_screen_navigation_taps_on_the_main_menu_say_the_menu_expired() {
    let conv = conversation();
    let expired = &english().ui.hints.expired;
    for action in [Action::Back, Action::StartOver] {
        let outcome = conv.step(&State::MainMenu, Input::Tap(action));
        assert_eq!(outcome.state, State::MainMenu, "{action:?}");
        assert_eq!(outcome.notice.as_ref(), Some(expired), "{action:?}");
    }
}

#[test]
fn a_tap_on_an_idle_chat_shows_the_main_menu_as_expired() {
    let conv = conversation();
    let expired = &english().ui.hints.expired;
    for action in callback::all_actions() {
        let outcome = conv.step(&State::Idle, Input::Tap(action));
        assert_eq!(outcome.state, State::MainMenu, "{action:?}");
        assert_eq!(outcome.notice.as_ref(), Some(expired), "{action:?}");
    }
}

#[test]
fn typing_a_button_number_equals_tapping_it() {
    let conv = conversation();
    for (state, _) in &walk().states {
        let shown = actions(&conv.step(state, Input::Help));
        for (i, action) in shown.iter().enumerate() {
            let tapped = conv.step(state, Input::Tap(*action));
            let typed = conv.step(state, Input::Text((i + 1).to_string()));
            assert_eq!(
                typed.state,
                tapped.state,
                "typing {} for {action:?} on {state:?}",
                i + 1
            );
            assert_eq!(typed.cards, tapped.cards, "typing {} on {state:?}", i + 1);
        }
        let beyond = conv.step(state, Input::Text((shown.len() + 1).to_string()));
        assert_eq!(beyond.state, *state, "a number past the last button");
    }
}

/// The label a person would type: as shown, without the multi-select tick.
fn typed_label(label: &str, pack: &Pack) -> String {
    label
        .strip_prefix(pack.ui.buttons.selected_mark.as_str())
        .unwrap_or(label)
        .to_owned()
}

/// Typed labels that differ from taps: `(what was typed, typed state, tapped state)`.
fn label_mismatches(include: impl Fn(&State, Action) -> bool) -> Vec<String> {
    let conv = conversation();
    let pack = english();
    let mut mismatches = Vec::new();
    for (state, _) in &walk().states {
        let shown = conv.step(state, Input::Help);
        for button in shown.screen.iter().flat_map(|s| s.flat_buttons()) {
            if !include(state, button.action) {
                continue;
            }
            let tapped = conv.step(state, Input::Tap(button.action));
            let text = typed_label(&button.label, pack);
            let typed = conv.step(state, Input::Text(text.clone()));
            if typed.state != tapped.state || typed.cards != tapped.cards {
                mismatches.push(format!(
                    "typing {text:?} on {state:?}: got {:?}, tapping gives {:?}",
                    typed.state, tapped.state
                ));
            }
        }
    }
    mismatches
}

/// Whether the button is a ticked option of the multi-select.
fn is_ticked(state: &State, action: Action) -> bool {
    match (state, action) {
        (State::Identify { picked }, Action::Toggle(kind)) => picked.contains(&kind),
        _ => false,
    }
}

#[test]
fn typing_a_button_label_equals_tapping_it() {
    let mismatches = label_mismatches(|state, action| !is_ticked(state, action));
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A ticked option shows as "<mark><label>"; typing the label should untick it like a tap does.
#[test]
fn typing_a_ticked_label_unticks_it_like_a_tap() {
    let mismatches = label_mismatches(is_ticked);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn nonsense_text_keeps_the_state_with_the_unknown_text_hint() {
    let conv = conversation();
    let hint = &english().ui.hints.unknown_text;
    for (state, _) in &walk().states {
        let outcome = conv.step(state, Input::Text("qwertyuiop".into()));
        assert_eq!(outcome.state, *state);
        assert_eq!(outcome.notice.as_ref(), Some(hint), "{state:?}");
        assert!(outcome.cards.is_empty());
    }
}

#[test]
fn scar_words_on_the_main_menu_start_identification() {
    let conv = conversation();
    for (typed, kind) in [
        ("craters", ScarKind::Dents),
        ("keloid", ScarKind::Lumps),
        ("red", ScarKind::Redness),
        ("brown spots", ScarKind::Pigmentation),
    ] {
        let outcome = conv.step(&State::MainMenu, Input::Text(typed.into()));
        assert_eq!(
            outcome.state,
            State::Identify { picked: vec![kind] },
            "typing {typed:?}"
        );
    }
}

#[test]
fn an_acne_word_in_prevent_gives_its_advice() {
    let conv = conversation();
    let outcome = conv.step(&State::Prevent, Input::Text("purple".into()));
    assert_eq!(
        outcome.state,
        State::PreventAdvice {
            acne: AcneKind::Purple
        }
    );
    assert_eq!(outcome.cards, conv.open(Link::Acne(AcneKind::Purple)).cards);
    assert_eq!(outcome.cards[0].text, conv.acne_card(AcneKind::Purple));
}

#[test]
fn a_treatment_name_in_treatments_gives_its_card() {
    let conv = conversation();
    let outcome = conv.step(&State::Treatments, Input::Text("fractional laser".into()));
    assert_eq!(outcome.state, State::Treatments);
    assert_eq!(
        outcome.cards[0].text,
        conv.treatment_card(Treatment::FractionalLaser)
    );
    assert_eq!(
        outcome.cards[0].link,
        Some(Link::Treatment(Treatment::FractionalLaser))
    );
}

#[test]
fn notices_keep_the_state_and_re_ask_the_question() {
    let conv = conversation();
    let pack = english();
    let states = std::iter::once(State::Idle).chain(walk().states.iter().map(|(s, _)| s.clone()));
    for state in states {
        let expected_state = match &state {
            State::Idle => State::MainMenu,
            other => other.clone(),
        };
        let question = conv.step(&expected_state, Input::Help).screen;
        for (input, notice) in notice_inputs(pack) {
            let outcome = conv.step(&state, input.clone());
            assert_eq!(outcome.state, expected_state, "{input:?} on {state:?}");
            assert_eq!(
                outcome.notice.as_deref(),
                Some(notice),
                "{input:?} on {state:?}"
            );
            assert!(outcome.cards.is_empty(), "{input:?} on {state:?}");
            assert_eq!(outcome.screen, question, "{input:?} on {state:?}");
        }
    }
}

#[test]
fn start_greets_with_the_disclaimer_on_every_state() {
    let conv = conversation();
    let pack = english();
    for (state, _) in &walk().states {
        let outcome = conv.step(state, Input::Start);
        assert_eq!(outcome.state, State::MainMenu);
        let notice = outcome.notice.unwrap_or_default();
        assert!(notice.contains(&pack.ui.greeting), "{state:?}");
        assert!(notice.contains(&pack.ui.disclaimer), "{state:?}");
    }
}

#[test]
fn the_main_menu_offers_every_topic() {
    let shown = actions(&walk().start);
    let topics: Vec<Action> = Topic::all().map(Action::Topic).collect();
    assert_eq!(shown, topics);
}

#[test]
fn settings_returns_to_the_question_it_was_opened_from() {
    let conv = conversation();
    let here = State::Identify {
        picked: vec![ScarKind::Dents],
    };
    let settings = conv.step(&here, Input::Settings);
    let in_settings = State::Settings {
        then: Box::new(here.clone()),
    };
    assert_eq!(settings.state, in_settings);
    // /settings again keeps the original place.
    assert_eq!(conv.step(&in_settings, Input::Settings).state, in_settings);
    // Back returns there, answers kept.
    assert_eq!(
        conv.step(&in_settings, Input::Tap(Action::Back)).state,
        here
    );
    // Choosing a language returns there too, in that language, with the confirmation.
    for pack in content().packs() {
        let code = LanguageCode::parse(&pack.code).expect("a valid code");
        let chosen = conv.step(&in_settings, Input::Tap(Action::Language(code)));
        assert_eq!(chosen.state, here, "{}", pack.code);
        assert_eq!(chosen.language, Some(code));
        assert_eq!(chosen.notice.as_ref(), Some(&pack.ui.settings.changed));
        let there = Conversation::new(content(), pack).step(&here, Input::Help);
        assert_eq!(
            chosen.screen, there.screen,
            "{}: the question in the new language",
            pack.code
        );
    }
}
