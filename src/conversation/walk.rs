//! Every path of the conversation, walked: the states a person can reach by taps from `/start`
//! and from every deep link, and the limits every screen must keep on a phone.
//!
//! Pure and deterministic, so `scar-guide check` and the tests run the same walk over the same
//! content: a screen over a limit is a content error found before it reaches a person.

use std::collections::{HashMap, VecDeque};

use super::{Action, Conversation, Input, Outcome, State, View, view_of};
use crate::content::{Content, ContentError, html};
use crate::knowledge::Link;

/// The first screen of any answer (its summary) fits one phone screen.
pub const MAX_FIRST_SCREEN: usize = 800;

/// No message the bot sends is longer than this (a detail, a question with its notice).
pub const MAX_MESSAGE: usize = 1500;

/// Telegram's own limit for one message, in UTF-16 code units after entity parsing.
pub const TELEGRAM_MAX_MESSAGE: usize = 4096;

/// The most taps from `/start` to the first screen of any answer.
pub const MAX_TAPS: usize = 5;

/// Fail instead of looping forever if the state space were not finite.
const MAX_STATES: usize = 200_000;

/// Every state reachable by taps from `/start` and from every deep link.
pub struct Walk {
    /// What `/start` shows.
    pub start: Outcome,
    /// Reached states in breadth-first order, each with the fewest taps from `/start` that
    /// reach it (`None` when only a deep link reaches it).
    pub states: Vec<(State, Option<usize>)>,
}

/// `State` has no `Hash`; its `Debug` form is a faithful key.
fn key(state: &State) -> String {
    format!("{state:?}")
}

/// The actions of a screen's buttons, in reading order.
pub fn actions(outcome: &Outcome) -> Vec<Action> {
    outcome
        .screen
        .iter()
        .flat_map(|s| s.flat_buttons())
        .map(|b| b.action)
        .collect()
}

impl Walk {
    /// Breadth-first from `/start`, tapping every button of every screen; then from every
    /// deep link, for the states only a link reaches (an answer with no question asked).
    pub fn new(conv: &Conversation<'_>) -> Self {
        let start = conv.step(&State::Idle, Input::Start);
        let mut depth: HashMap<String, Option<usize>> = HashMap::new();
        let mut states = Vec::new();
        let mut queue = VecDeque::new();
        depth.insert(key(&start.state), Some(0));
        queue.push_back((start.state.clone(), Some(0usize)));
        let mut links = Link::all();
        loop {
            let Some((state, d)) = queue.pop_front() else {
                // The taps are exhausted: go on from the next deep link not yet reached.
                let Some(link) = links.next() else { break };
                let opened = conv.step(&State::Idle, Input::Open(link)).state;
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(key(&opened)) {
                    e.insert(None);
                    queue.push_back((opened, None));
                }
                continue;
            };
            let shown = conv.step(&state, Input::Help);
            for action in actions(&shown) {
                let next = conv.step(&state, Input::Tap(action)).state;
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(key(&next)) {
                    let taps = d.map(|d| d + 1);
                    e.insert(taps);
                    queue.push_back((next, taps));
                }
            }
            states.push((state, d));
            if depth.len() > MAX_STATES {
                break;
            }
        }
        Self { start, states }
    }
}

/// One problem a screen has, named by the screen and the language.
fn problem(code: &str, screen: &str, problem: String, fix: &str) -> ContentError {
    ContentError {
        file: format!("dialogues/{code}"),
        item: screen.to_owned(),
        problem,
        fix: fix.to_owned(),
    }
}

/// A short name for a screen in a report, naming the content it shows.
pub fn describe(state: &State) -> String {
    let kinds = |marks: &super::Marks| {
        marks
            .kinds()
            .iter()
            .map(|k| k.key())
            .collect::<Vec<_>>()
            .join("+")
    };
    match state {
        State::Results {
            marks,
            answers,
            view,
        } => match view {
            View::Summary => format!(
                "the answer's summary for {} (follow-ups {answers:?})",
                kinds(marks)
            ),
            View::Details(d) => format!("the details {d:?} (scars.toml)"),
            View::Sources => format!("the Sources view for {}", kinds(marks)),
        },
        State::PreventAdvice { acne, view } => {
            format!("acne.toml kinds.{} ({view:?})", acne.key())
        }
        State::Care { view } => format!("care.toml ({view:?})"),
        State::TreatmentInfo { treatment, view } => {
            format!("treatments.toml {} ({view:?})", treatment.key())
        }
        other => {
            let text = format!("the question {other:?}");
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

/// Every screen of every language within the limits: each answer's first screen within
/// [`MAX_FIRST_SCREEN`], every message within [`MAX_MESSAGE`] (a question with the longest hint
/// it can carry included), every message well-formed HTML within Telegram's limit, and every
/// answer within [`MAX_TAPS`] taps of `/start`. All problems are returned, none stops the rest.
pub fn check_limits(content: &Content) -> Vec<ContentError> {
    let mut problems = Vec::new();
    // The same screen text reached by many paths is reported once.
    let mut reported = std::collections::HashSet::new();
    for pack in content.packs() {
        let conv = Conversation::new(content, pack);
        let walk = Walk::new(&conv);
        if walk.states.len() > MAX_STATES {
            problems.push(problem(
                &pack.code,
                "the conversation",
                format!("more than {MAX_STATES} states"),
                "the state space must be finite",
            ));
        }
        let hints = &pack.ui.hints;
        let longest_hint = [
            &hints.unknown_text,
            &hints.media,
            &hints.edited,
            &hints.expired,
            &hints.invalid,
            &hints.unsure_counted,
        ]
        .into_iter()
        .map(|h| html::telegram_len(h))
        .max()
        .unwrap_or(0);
        for lasting in [
            &pack.ui.commands.help,
            &pack.ui.commands.privacy,
            &pack.ui.commands.forgotten,
        ] {
            if html::telegram_len(lasting) > MAX_MESSAGE {
                problems.push(problem(
                    &pack.code,
                    "ui.toml commands",
                    format!("a command's text is over {MAX_MESSAGE} characters"),
                    "shorten it",
                ));
            }
        }
        for (state, _) in &walk.states {
            let Some(screen) = conv.step(state, Input::Help).screen else {
                continue;
            };
            if !reported.insert(screen.text.clone()) {
                continue;
            }
            // The screen's first line tells an editor which text it is.
            let plain = html::to_plain(&screen.text);
            let first = plain.lines().next().unwrap_or_default();
            let name = format!("{} «{first}»", describe(state));
            // A question or an answer's summary is sent with a hint above it after unexpected
            // input (a photo, nonsense, an edit); a detail or the sources give way to the
            // summary then (`Conversation::remind`), so they carry no hint.
            let carries_hint = view_of(state).is_none_or(|v| v == View::Summary);
            let hint = if carries_hint { longest_hint } else { 0 };
            for (p, fix) in screen_problems(state, &screen.text, hint) {
                problems.push(problem(&pack.code, &name, p, fix));
            }
            // The summary for the dermatologist, a message of its own from an answer's summary.
            if view_of(state) == Some(View::Summary)
                && let Some(kept) = conv.step(state, Input::Tap(Action::ForDoctor)).keep
            {
                for (p, _) in message_problems(&kept, 0) {
                    problems.push(problem(
                        &pack.code,
                        &format!("the summary for the dermatologist from {name}"),
                        p,
                        "shorten ui.toml [doctor_summary] or the texts it repeats",
                    ));
                }
            }
        }
        for link in Link::all().filter(|l| l.is_card()) {
            let taps = fewest_taps(&walk, link);
            if taps.is_none_or(|t| t > MAX_TAPS) {
                problems.push(problem(
                    &pack.code,
                    &format!("the answer of link {}", link.payload()),
                    match taps {
                        Some(t) => format!("{t} taps from /start, over {MAX_TAPS}"),
                        None => "not reachable by taps from /start".to_owned(),
                    },
                    "ask fewer questions before this answer",
                ));
            }
        }
    }
    problems
}

/// What is wrong with the screen shown for `state` (its text `text`), sent with a hint of
/// `hint` characters above it (0 for none), each problem with the fix to suggest: the first
/// screen of an answer over [`MAX_FIRST_SCREEN`], and what [`message_problems`] finds.
/// The walk checks every screen with the longest hint; the fuzz tests check what one step shows.
pub fn screen_problems(state: &State, text: &str, hint: usize) -> Vec<(String, &'static str)> {
    let mut problems = Vec::new();
    let len = html::telegram_len(text);
    if view_of(state) == Some(View::Summary) && len > MAX_FIRST_SCREEN {
        problems.push((
            format!("the answer's first screen is {len} characters, over {MAX_FIRST_SCREEN}"),
            "shorten the summary lines it shows (scars.toml short/summary/home_first/doctor_short, acne.toml risk/measures[0]/doctor, care.toml short, safety.toml *.short)",
        ));
    }
    problems.extend(message_problems(text, hint));
    problems
}

/// What is wrong with one message the bot sends (Telegram HTML), with a hint of `hint`
/// characters glued above it (0 for none): HTML Telegram would refuse, over [`MAX_MESSAGE`]
/// with the hint, over Telegram's [`TELEGRAM_MAX_MESSAGE`].
pub fn message_problems(text: &str, hint: usize) -> Vec<(String, &'static str)> {
    let mut problems = Vec::new();
    if let Err(p) = html::check(text) {
        problems.push((p, "fix the HTML of its texts"));
    }
    let len = html::telegram_len(text);
    let with_hint = if hint > 0 { len + hint + 2 } else { len };
    if with_hint > MAX_MESSAGE {
        problems.push((
            format!("a message of {with_hint} characters, over {MAX_MESSAGE}"),
            "shorten the texts this screen shows",
        ));
    }
    if len > TELEGRAM_MAX_MESSAGE {
        problems.push((
            format!("{len} characters: Telegram refuses messages over {TELEGRAM_MAX_MESSAGE}"),
            "shorten the texts this screen shows",
        ));
    }
    problems
}

/// The fewest taps from `/start` to the first screen of the answer a link opens; for a scar
/// kind, any identification that finds that kind alone, whatever the follow-up answers.
pub fn fewest_taps(walk: &Walk, link: Link) -> Option<usize> {
    let target = super::link_state(link);
    let same = |other: &State| match (&target, other) {
        (
            State::Results { marks, .. },
            State::Results {
                marks: other_marks,
                view,
                ..
            },
        ) => *view == View::Summary && marks.kinds() == other_marks.kinds(),
        _ => *other == target,
    };
    walk.states
        .iter()
        .filter(|(s, _)| same(s))
        .filter_map(|(_, taps)| *taps)
        .min()
}
