//! proptest over the conversation core: random sequences of every kind of input, each step's
//! outcome checked as the Telegram adapter would send it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use scar_guide::content::{MAX_CAPTION, Pack, html};
use scar_guide::conversation::walk::{Walk, message_problems, screen_problems};
use scar_guide::conversation::{Action, Conversation, Input, LanguageCode, Outcome, State, back};
use scar_guide::knowledge::Link;
use scar_guide::telegram::callback;

use crate::util::{LANGUAGES, note, pack_in, static_content};

/// Cases of the bounded run (`cargo test`); `FUZZ_CASES` sets another number.
const DEFAULT_CASES: u32 = 40;

/// Steps in one case (a run of taps counting as one here): a long conversation, with
/// expiries and `/forget` inside it; about 120 inputs.
const STEPS: std::ops::RangeInclusive<usize> = 50..=80;

/// One thing a person (or their client, or time) does. Taps name buttons by index, resolved
/// against the screen on display when the step runs, so shrinking keeps them meaningful.
#[derive(Debug, Clone)]
enum Step {
    /// A typed line starting with '/': commands, deep links, topic commands, junk.
    Line(String),
    /// Typed text that is not a command.
    Text(String),
    /// A button of the screen on display.
    TapShown(usize),
    /// Several buttons in a row, each of the screen the one before shows: the way deep into
    /// an answer, where single taps between other inputs seldom go.
    Taps(Vec<usize>),
    /// Any action there is, on the current menu (an older client, data from elsewhere).
    TapAny(usize),
    /// A button of a menu that is no longer current.
    Stale,
    /// Callback data as the client sent it, parsed as the adapter does.
    Data(String),
    Media,
    Edited,
    /// The stored chat expired (TTL): the next update starts from nothing.
    Expire,
}

/// The corpus typed text is drawn from: every button label of every screen, the keywords, in
/// both languages, and typed numbers (the console's and the keyboard-less way to tap).
fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut words = std::collections::BTreeSet::new();
        for code in LANGUAGES {
            let pack = pack_in(code);
            let conv = Conversation::new(static_content(), pack);
            for (state, _) in Walk::new(&conv).states {
                let shown = conv.step(&state, Input::Help);
                for b in shown.screen.iter().flat_map(|s| s.flat_buttons()) {
                    words.insert(b.label.clone());
                }
            }
            words.extend(keywords(pack));
        }
        words.extend((0..=14).map(|n| n.to_string()));
        words.into_iter().collect()
    })
}

fn keywords(pack: &Pack) -> Vec<String> {
    let k = &pack.ui.keywords;
    let mut all: Vec<String> = [
        &k.back,
        &k.start_over,
        &k.done,
        &k.not_sure,
        &k.yes,
        &k.no,
        &k.active,
        &k.marks,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    for kind in scar_guide::knowledge::ScarKind::all() {
        all.extend(pack.scars.get(kind).keywords.iter().cloned());
    }
    for acne in scar_guide::knowledge::AcneKind::all() {
        all.extend(pack.acne.get(acne).keywords.iter().cloned());
    }
    for t in scar_guide::knowledge::Treatment::all() {
        all.extend(pack.treatments.get(t).keywords.iter().cloned());
    }
    all
}

/// Every action there is, the languages of the content included.
fn all_actions() -> &'static [Action] {
    static ALL: OnceLock<Vec<Action>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = callback::all_actions();
        all.extend(
            static_content()
                .packs()
                .filter_map(|p| LanguageCode::parse(&p.code))
                .map(Action::Language),
        );
        all
    })
}

fn text() -> impl Strategy<Value = String> {
    let word = || prop::sample::select(corpus());
    prop_oneof![
        4 => word(),
        1 => word().prop_map(|w| w.to_uppercase()),
        1 => (word(), word()).prop_map(|(a, b)| format!("{a} {b}")),
        1 => (word(), "\\PC{0,12}").prop_map(|(a, b)| format!("I think {a}{b}")),
        1 => "[ぁ-ゖァ-ヺ一-鿿ー、。]{1,16}",
        2 => "\\PC{0,40}",
        1 => any::<String>(),
        // A message up to Telegram's own length, with HTML-looking text in it.
        1 => "(<b>|</i>|&amp;|&|<|>|x ){200,1000}",
    ]
}

fn line() -> impl Strategy<Value = String> {
    let command = prop::sample::select(vec![
        "start", "settings", "help", "cancel", "privacy", "forget", "START", "Help",
    ]);
    let payload = prop_oneof![
        3 => prop::sample::select(Link::all().map(Link::payload).collect::<Vec<_>>()),
        1 => "[a-z_]{0,20}",
        1 => "\\PC{0,30}",
    ];
    prop_oneof![
        4 => command.prop_map(|c| format!("/{c}")),
        3 => payload.clone().prop_map(|p| format!("/start {p}")),
        2 => payload.prop_map(|p| format!("/{p}")),
        1 => "/[a-z0-9_@]{0,20}( \\PC{0,10})?",
        1 => "/\\PC{0,30}",
    ]
}

fn data() -> impl Strategy<Value = String> {
    let encoded = || prop::sample::select(all_actions()).prop_map(callback::encode);
    prop_oneof![
        2 => encoded(),
        1 => (encoded(), "\\PC{0,3}").prop_map(|(d, s)| format!("{d}{s}")),
        1 => (encoded(), 0..20usize).prop_map(|(d, n)| d.chars().take(n).collect()),
        1 => encoded().prop_map(|d| d.replacen("1:", "2:", 1)),
        1 => "1:(g|pick|ans|show|lang|tr|acne):[a-z0-9_:]{0,40}",
        1 => prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => line().prop_map(Step::Line),
        4 => text().prop_map(Step::Text),
        6 => any::<usize>().prop_map(Step::TapShown),
        6 => prop::collection::vec(any::<usize>(), 2..8).prop_map(Step::Taps),
        2 => any::<usize>().prop_map(Step::TapAny),
        1 => Just(Step::Stale),
        2 => data().prop_map(Step::Data),
        1 => Just(Step::Media),
        1 => Just(Step::Edited),
        1 => Just(Step::Expire),
    ]
}

/// A case: the language the person's Telegram reports, and what they do.
fn case() -> impl Strategy<Value = (Option<&'static str>, Vec<Step>)> {
    (
        prop::option::of(prop::sample::select(LANGUAGES.to_vec())),
        prop::collection::vec(step(), STEPS),
    )
}

/// Steps run so far, over all cases of the run.
static STEPS_RUN: AtomicUsize = AtomicUsize::new(0);

/// The distinct states reached, by their `Debug` form: how much of the walk the run covered.
static REACHED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

#[test]
fn random_conversations_stay_within_the_limits_and_keep_their_promises() {
    let cases = crate::fuzz::env_count("FUZZ_CASES", DEFAULT_CASES);
    let result = crate::fuzz::runner(cases).run(&case(), |(telegram_lang, steps)| {
        run_case(telegram_lang, &steps).map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let walked: usize = LANGUAGES
        .iter()
        .map(|code| {
            Walk::new(&Conversation::new(static_content(), pack_in(code)))
                .states
                .len()
        })
        .sum();
    let reached = REACHED.lock().map(|r| r.len()).unwrap_or_default();
    note(&format!(
        "conversation fuzz: {cases} cases, {} steps, {reached} distinct states reached \
         (the walk has {walked} in all languages together)",
        STEPS_RUN.load(Ordering::Relaxed)
    ));
}

/// One chat as the adapter keeps it: the state, the language chosen with `/settings`.
struct Chat {
    state: State,
    chosen: Option<String>,
    /// The buttons of the menu on display, `None` when there is none (after `/forget`).
    shown: Option<Outcome>,
}

fn run_case(telegram_lang: Option<&str>, steps: &[Step]) -> Result<(), String> {
    let content = static_content();
    let mut chat = Chat {
        state: State::default(),
        chosen: None,
        shown: None,
    };
    let steps = steps.iter().flat_map(|s| match s {
        Step::Taps(taps) => taps.iter().map(|n| Step::TapShown(*n)).collect(),
        other => vec![other.clone()],
    });
    for (i, step) in steps.enumerate() {
        let pack = content.pack(chat.chosen.as_deref().or(telegram_lang));
        let conv = Conversation::new(content, pack);
        let shown_actions: Vec<Action> = chat
            .shown
            .iter()
            .filter_map(|o| o.screen.as_ref())
            .flat_map(|s| s.flat_buttons())
            .map(|b| b.action)
            .collect();
        let (input, via_callback) = match step {
            Step::Expire => {
                chat = Chat {
                    state: State::default(),
                    chosen: None,
                    shown: None,
                };
                continue;
            }
            Step::Line(l) => (Input::from_command_line(&l), false),
            Step::Text(t) if t.starts_with('/') => (Input::from_command_line(&t), false),
            Step::Text(t) => (Input::Text(t), false),
            Step::TapShown(n) => match shown_actions.get(n % shown_actions.len().max(1)) {
                Some(a) => (Input::Tap(*a), true),
                None => (Input::Stale, true),
            },
            Step::TapAny(n) => (Input::Tap(all_actions()[n % all_actions().len()]), true),
            Step::Stale => (Input::Stale, true),
            Step::Data(d) => match callback::parse(&d) {
                Some(a) if callback::encode(a) == d => (Input::Tap(a), true),
                Some(a) => return Err(format!("{d:?} parsed as {a:?}, not its encoding")),
                None => (Input::Forged, true),
            },
            Step::Media => (Input::Media, false),
            Step::Edited => (Input::Edited, false),
            Step::Taps(_) => continue,
        };
        STEPS_RUN.fetch_add(1, Ordering::Relaxed);
        let before = chat.state.clone();
        let outcome = conv.step(&before, input.clone());
        let context = || format!("step {i}: {input:?} on {before:?}");
        check_outcome(&conv, &input, &outcome, via_callback)
            .map_err(|e| format!("{}: {e}", context()))?;
        if let Input::Tap(action) = input
            && shown_actions.contains(&action)
        {
            let ui = &pack.ui.hints;
            if outcome
                .notice
                .as_ref()
                .is_some_and(|n| *n == ui.expired || *n == ui.invalid)
            {
                return Err(format!("{}: a button on display was refused", context()));
            }
        }
        check_ways_out(&conv, &outcome.state).map_err(|e| format!("{}: {e}", context()))?;
        if let Some(code) = outcome.language {
            chat.chosen = Some(code.as_str().to_owned());
        }
        chat.state = outcome.state.clone();
        if let Ok(mut reached) = REACHED.lock() {
            reached.insert(format!("{} {:?}", pack.code, chat.state));
        }
        // A forged or stale tap leaves the menu on display as it was.
        if outcome.screen.is_some() || input == Input::Forget {
            chat.shown = Some(outcome);
        }
    }
    Ok(())
}

/// What one step shows, checked as Telegram would receive it.
fn check_outcome(
    conv: &Conversation<'_>,
    input: &Input,
    outcome: &Outcome,
    via_callback: bool,
) -> Result<(), String> {
    let json = serde_json::to_string(&outcome.state).map_err(|e| e.to_string())?;
    let stored: State = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    if stored != outcome.state {
        return Err(format!("the state does not survive storage: {json}"));
    }
    if *input == Input::Forget {
        return match (&outcome.state, &outcome.screen) {
            (State::Idle, None) if outcome.state == State::default() => Ok(()),
            other => Err(format!("after /forget: {other:?}")),
        };
    }
    let Some(screen) = &outcome.screen else {
        return Err("no screen".to_owned());
    };
    let mut problems = Vec::new();
    // A tap's notice is its pop-up (cut to 200 characters), unless the language changed: then
    // it is a message, as after a typed input. A lasting notice is a message of its own; a
    // hint is glued above the screen.
    let notice = outcome
        .notice
        .as_deref()
        .filter(|_| !via_callback || outcome.language.is_some());
    let hint = match notice {
        Some(n) if outcome.lasting => {
            problems.extend(message_problems(n, 0));
            0
        }
        Some(n) => html::telegram_len(n),
        None => 0,
    };
    problems.extend(screen_problems(&outcome.state, &screen.text, hint));
    if let Some(keep) = &outcome.keep {
        problems.extend(message_problems(keep, 0));
    }
    if let Some(picture) = screen.picture {
        let len = html::telegram_len(conv.caption(picture));
        if len > MAX_CAPTION {
            problems.push((format!("a caption of {len}, over {MAX_CAPTION}"), ""));
        }
    }
    for b in screen.flat_buttons() {
        let data = callback::encode(b.action);
        if data.len() > callback::MAX_BYTES || callback::parse(&data) != Some(b.action) {
            problems.push((format!("callback data {data:?}"), ""));
        }
        if b.label.trim().is_empty() {
            problems.push((format!("an empty label on {:?}", b.action), ""));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("{problems:?} in {:?}", screen.text)),
    }
}

/// From any state, Back and Start over lead to a screen; where the screen shows them, they
/// lead somewhere else: Back to [`back`]'s state, Start over to the main menu.
fn check_ways_out(conv: &Conversation<'_>, state: &State) -> Result<(), String> {
    let shown = conv.step(state, Input::Help);
    let has = |a: Action| {
        shown
            .screen
            .iter()
            .flat_map(|s| s.flat_buttons())
            .any(|b| b.action == a)
    };
    for action in [Action::Back, Action::StartOver] {
        let next = conv.step(state, Input::Tap(action));
        if next.screen.is_none() {
            return Err(format!("{action:?} shows nothing"));
        }
        if !has(action) {
            continue;
        }
        let expected = match action {
            Action::Back => back(state),
            _ => State::MainMenu,
        };
        if next.state != expected || next.state == *state {
            return Err(format!("{action:?} led to {:?}", next.state));
        }
    }
    Ok(())
}
