//! The conversation: a pure step function from (state, input) to (new state, what to show).
//!
//! It knows nothing about Telegram or terminals: the Telegram and console adapters translate
//! updates into [`Input`] and [`Outcome`] into messages, so every face says the same thing and
//! tests can walk every path without a network.
//!
//! A sample conversation (buttons in brackets). Every tap edits the one menu message in place:
//! questions and answers alike, so a whole identification adds no message to the chat.
//!
//! ```text
//! user  /start
//! bot   Welcome … general information, not a diagnosis.        (a message of its own)
//! bot   What would you like to do?
//!       [Identify my scars] [Prevent scars from acne I have now] [Daily care] [Treatments explained]
//! user  [Identify my scars]
//! bot   What do your marks look like? Tap all that apply, then Done.
//!       [Red or pink flat marks] [Brown or dark flat marks] [Dents, pits or craters] …
//! user  [Dents, pits or craters]  [Done ✓]
//! bot   Do you still get new spots? (why it is asked)  [Yes] [No] [Not sure]
//! user  [No]
//! bot   (the answer's summary: one phone screen) what the dents are, whether they fade, the
//!       clinic options, the one thing to do at home, the cautions for this person, when to
//!       see a dermatologist
//!       [Dents: details] [Sources] [Share] [Send to a chat] [Daily care] [Treatments explained]
//!       [« Back] [Start over]
//! user  [Dents: details]
//! bot   (the same message, now the details: shapes, where, home care, clinic treatments with
//!       sessions and downtime, salons, the doctor)  [« Back] [Start over]
//! ```

mod command;
mod input;
mod picture;
mod render;
mod search;
mod state;
mod typed;
pub mod walk;

pub use crate::content::text::{mentions, normalize};
pub use command::Command;
pub use input::{Action, Input, LanguageCode};
pub use picture::picture_of;
pub use search::{MAX_SEARCH_RESULTS, MAX_SUMMARY_CHARS, card_links};
pub use state::{Checks, Detail, Marks, State, View, view_of};
pub(crate) use state::{link_state, with_view};

use serde::{Deserialize, Serialize};

use crate::content::{Content, Pack};
use crate::knowledge::{
    AcneKind, CareHabit, DentShape, DentsAnswer, FlatAnswer, FollowUp, Link, LumpShape,
    RaisedAnswer, ScarKind, Topic, Treatment,
};
use crate::pictures::Picture;

/// One button of a [`Screen`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: Action,
}

/// The current question or answer: text (Telegram HTML), rows of buttons, the topic the
/// share buttons link to when the screen is an answer worth sharing, and the picture that goes
/// with it (named, never its bytes: the adapters hold those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub text: String,
    pub buttons: Vec<Vec<Button>>,
    pub share: Option<Link>,
    pub picture: Option<Picture>,
}

impl Screen {
    /// Buttons in reading order; typed numbers count in this order.
    pub fn flat_buttons(&self) -> impl Iterator<Item = &Button> {
        self.buttons.iter().flatten()
    }
}

/// What one step produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: State,
    /// A short line before the screen (or a pop-up for a tap): a hint, help, the greeting.
    pub notice: Option<String>,
    /// The question to show now. `None` only after `/forget`.
    pub screen: Option<Screen>,
    /// The language chosen in this step (`/settings`): the adapter keeps it for the chat.
    pub language: Option<LanguageCode>,
    /// The notice is information to keep (the greeting, help, privacy, a language change),
    /// not a hint about the question: Telegram sends it as its own message, so editing the
    /// menu on the next tap does not erase it.
    pub lasting: bool,
    /// A message of its own to keep and forward (the summary for the dermatologist), sent
    /// before the screen; the screen itself stays where it is.
    pub keep: Option<String>,
}

impl Outcome {
    fn lasting(self) -> Self {
        Self {
            lasting: true,
            ..self
        }
    }
}

/// The conversation over one language's content.
#[derive(Clone, Copy)]
pub struct Conversation<'a> {
    pub content: &'a Content,
    pub pack: &'a Pack,
}

impl<'a> Conversation<'a> {
    pub fn new(content: &'a Content, pack: &'a Pack) -> Self {
        Self { content, pack }
    }

    /// Advances the conversation by one input. Never fails: bad input re-asks the question.
    pub fn step(&self, state: &State, input: Input) -> Outcome {
        let ui = &self.pack.ui;
        // An idle chat has no question to repeat; the main menu is the question.
        let current = match state {
            State::Idle => State::MainMenu,
            other => other.clone(),
        };
        match input {
            Input::Start => self.show(State::MainMenu, Some(self.greeting())).lasting(),
            Input::Cancel => self.show(State::MainMenu, None),
            Input::Help => self.show(current, Some(ui.commands.help.clone())).lasting(),
            Input::Privacy => self
                .show(current, Some(ui.commands.privacy.clone()))
                .lasting(),
            Input::Forget => Outcome {
                state: State::Idle,
                notice: Some(ui.commands.forgotten.clone()),
                screen: None,
                language: None,
                lasting: true,
                keep: None,
            },
            Input::Open(link) => Outcome {
                notice: Some(self.greeting()),
                ..self.open(link)
            }
            .lasting(),
            // /settings twice keeps the place the first one came from.
            Input::Settings => self.show(
                State::Settings {
                    then: Box::new(match current {
                        State::Settings { then } => *then,
                        other => other,
                    }),
                },
                None,
            ),
            Input::UnknownCommand => self.remind(current, ui.hints.unknown_text.clone()),
            Input::Media => self.remind(current, ui.hints.media.clone()),
            Input::Edited => self.remind(current, ui.hints.edited.clone()),
            Input::Stale => self.show(current, Some(ui.hints.expired.clone())),
            Input::Forged => self.show(current, Some(ui.hints.invalid.clone())),
            Input::Tap(_) if *state == State::Idle => {
                self.show(State::MainMenu, Some(ui.hints.expired.clone()))
            }
            Input::Tap(action) => self
                .apply(&current, action)
                .unwrap_or_else(|| self.show(current, Some(ui.hints.expired.clone()))),
            Input::Text(_) if *state == State::Idle => {
                self.show(State::MainMenu, Some(self.greeting()))
            }
            Input::Text(text) => self.receive_text(current, &text),
        }
    }

    /// The greeting and the one-line disclaimer that open every conversation.
    fn greeting(&self) -> String {
        format!(
            "{}\n<i>{}</i>",
            self.pack.ui.greeting, self.pack.ui.disclaimer
        )
    }

    /// A hint above the current question, sent as a new message with it. On an answer's detail
    /// or sources the answer's summary comes back instead: it is short enough to carry the
    /// hint, and the details are one tap away again.
    fn remind(&self, state: State, hint: String) -> Outcome {
        let state = match view_of(&state) {
            Some(view) if view != View::Summary => with_view(&state, View::Summary),
            _ => state,
        };
        self.show(state, Some(hint))
    }

    /// The screen for a state.
    fn show(&self, state: State, notice: Option<String>) -> Outcome {
        let screen = self.screen(&state);
        Outcome {
            state,
            notice,
            screen: Some(screen),
            language: None,
            lasting: false,
            keep: None,
        }
    }

    /// Applies a button to the state it was shown for. `None` when the button does not belong to
    /// the current question (an older menu, a double tap): the caller treats it as expired.
    fn apply(&self, state: &State, action: Action) -> Option<Outcome> {
        match (state, action) {
            // The main menu has neither button: such a tap comes from an older menu.
            (State::MainMenu, Action::StartOver | Action::Back) => None,
            (_, Action::StartOver) => Some(self.show(State::MainMenu, None)),
            (_, Action::Back) => Some(self.show(back(state), None)),
            (_, Action::Show(view)) if self.views_on(state).contains(&view) => {
                Some(self.show(with_view(state, view), None))
            }
            (
                State::Results {
                    marks,
                    answers,
                    view: View::Summary,
                },
                Action::ForDoctor,
            ) if !marks.kinds().is_empty() => Some(Outcome {
                keep: Some(self.doctor_summary(marks, answers)),
                ..self.show(state.clone(), None)
            }),
            (_, Action::Topic(topic)) if self.topics_on(state).contains(&topic) => {
                Some(self.receive_topic(topic))
            }
            (State::Identify { picked }, action) => self.receive_marks(picked, action),
            (State::SelfCheck { checks }, action) => self.receive_self_check(checks, action),
            (State::FollowUps { marks, answers }, Action::Answer(question, yes)) => {
                self.receive_follow_up(marks, answers, question, yes)
            }
            // Not sure is not a No: the safe answer is taken, and the person is told.
            (State::FollowUps { marks, answers }, Action::Unsure(question)) => self
                .receive_follow_up(marks, answers, question, true)
                .map(|outcome| Outcome {
                    notice: Some(self.pack.ui.hints.unsure_counted.clone()),
                    ..outcome
                }),
            (State::Prevent, Action::Acne(acne)) => Some(self.open(Link::Acne(acne))),
            (State::Treatments, Action::Treatment(t)) => Some(self.open(Link::Treatment(t))),
            (State::Settings { then }, Action::Language(code)) => {
                self.choose_language(code, (**then).clone())
            }
            _ => None,
        }
    }

    fn receive_topic(&self, topic: Topic) -> Outcome {
        match topic {
            Topic::Identify => self.show(State::Identify { picked: Vec::new() }, None),
            Topic::Prevent => self.show(State::Prevent, None),
            Topic::Care => self.open(Link::Care),

            Topic::Treatments => self.show(State::Treatments, None),
        }
    }

    fn receive_marks(&self, picked: &[ScarKind], action: Action) -> Option<Outcome> {
        match action {
            Action::Toggle(kind) => {
                let mut picked = picked.to_vec();
                match picked.iter().position(|k| *k == kind) {
                    Some(i) => {
                        picked.remove(i);
                    }
                    None => picked.push(kind),
                }
                picked.sort();
                Some(self.show(State::Identify { picked }, None))
            }
            // The checks decide the kinds in place of any ticks: said, so nothing is dropped
            // without a word.
            Action::NotSure => Some(self.show(
                State::SelfCheck {
                    checks: Checks::default(),
                },
                (!picked.is_empty()).then(|| self.pack.ui.identify.not_sure_replaces.clone()),
            )),
            Action::Done if picked.is_empty() => Some(self.show(
                State::Identify { picked: Vec::new() },
                Some(self.pack.ui.identify.none_selected.clone()),
            )),
            Action::Done => Some(self.after_marks(Marks::Picked(picked.to_vec()), Vec::new())),
            _ => None,
        }
    }

    fn receive_self_check(&self, checks: &Checks, action: Action) -> Option<Outcome> {
        let mut checks = checks.clone();
        match (checks.flat, checks.dents, action) {
            (None, _, Action::Flat(a)) => checks.flat = Some(a),
            (Some(_), None, Action::Dents(a)) => checks.dents = Some(a),
            (Some(_), Some(_), Action::Raised(a)) => {
                checks.raised = Some(a);
                return Some(self.after_marks(Marks::Checked(checks), Vec::new()));
            }
            _ => return None,
        }
        Some(self.show(State::SelfCheck { checks }, None))
    }

    fn receive_follow_up(
        &self,
        marks: &Marks,
        answers: &[(FollowUp, bool)],
        question: FollowUp,
        yes: bool,
    ) -> Option<Outcome> {
        if next_follow_up(marks, answers) != Some(question) {
            return None;
        }
        let mut answers = answers.to_vec();
        answers.push((question, yes));
        Some(self.after_marks(marks.clone(), answers))
    }

    /// Asks the next follow-up, or gives the answer when none is left.
    fn after_marks(&self, marks: Marks, answers: Vec<(FollowUp, bool)>) -> Outcome {
        if next_follow_up(&marks, &answers).is_some() {
            return self.show(State::FollowUps { marks, answers }, None);
        }
        self.show(
            State::Results {
                marks,
                answers,
                view: View::Summary,
            },
            None,
        )
    }

    /// The topic a link names, as if reached through the menus. A scar answer opened this way
    /// skips the follow-up questions, so its cautions are all shown (the safe default).
    pub fn open(&self, link: Link) -> Outcome {
        self.show(link_state(link), None)
    }

    /// Switches the language and returns to where the person was, question and confirmation
    /// in the new language.
    fn choose_language(&self, code: LanguageCode, then: State) -> Option<Outcome> {
        let pack = self.content.packs().find(|p| p.code == code.as_str())?;
        let there = Conversation::new(self.content, pack);
        Some(
            Outcome {
                language: Some(code),
                ..there.show(then, Some(pack.ui.settings.changed.clone()))
            }
            .lasting(),
        )
    }

    /// Topics offered under an answer's summary: the ones not just shown. After a Yes to
    /// active acne, preventing new marks comes first.
    fn topics_on(&self, state: &State) -> Vec<Topic> {
        match state {
            State::MainMenu => Topic::all().collect(),
            State::Results {
                answers,
                view: View::Summary,
                ..
            } => {
                let mut topics = Vec::new();
                if answers.contains(&(FollowUp::ActiveAcne, true)) {
                    topics.push(Topic::Prevent);
                }
                topics.extend([Topic::Care, Topic::Treatments]);
                topics
            }
            State::PreventAdvice {
                view: View::Summary,
                ..
            } => vec![Topic::Care, Topic::Treatments],
            State::Care {
                view: View::Summary,
            } => vec![Topic::Identify, Topic::Treatments],
            _ => Vec::new(),
        }
    }

    /// The parts of the answer on screen that a button opens: each detail, and the sources.
    /// Only from the summary: a detail's own screen has Back to the summary and its sources.
    pub(crate) fn views_on(&self, state: &State) -> Vec<View> {
        let details: Vec<Detail> = match state {
            State::Results {
                marks,
                view: View::Summary,
                ..
            } => marks.kinds().into_iter().map(Detail::Scar).collect(),
            State::PreventAdvice {
                view: View::Summary,
                ..
            } => vec![Detail::More],
            State::Care {
                view: View::Summary,
            } => CareHabit::all().map(Detail::Habit).collect(),
            State::TreatmentInfo {
                view: View::Summary,
                ..
            } => Vec::new(),
            _ => return Vec::new(),
        };
        let mut views: Vec<View> = details.into_iter().map(View::Details).collect();
        views.push(View::Sources);
        views
    }
}

/// The first follow-up not answered yet.
fn next_follow_up(marks: &Marks, answers: &[(FollowUp, bool)]) -> Option<FollowUp> {
    FollowUp::for_kinds(&marks.kinds())
        .into_iter()
        .find(|q| !answers.iter().any(|(a, _)| a == q))
}

/// Where Back leads from each state: the previous question, with its answer undone.
pub fn back(state: &State) -> State {
    let before_follow_ups = |marks: &Marks| match marks {
        Marks::Picked(picked) => State::Identify {
            picked: picked.clone(),
        },
        Marks::Checked(checks) => {
            let mut checks = checks.clone();
            checks.undo_last();
            State::SelfCheck { checks }
        }
    };
    // From a detail or the sources, Back is the answer's summary.
    if view_of(state).is_some_and(|v| v != View::Summary) {
        return with_view(state, View::Summary);
    }
    match state {
        State::Idle | State::MainMenu | State::Identify { .. } => State::MainMenu,
        State::SelfCheck { checks } => {
            let mut checks = checks.clone();
            if checks.undo_last() {
                State::SelfCheck { checks }
            } else {
                State::Identify { picked: Vec::new() }
            }
        }
        State::FollowUps { marks, answers } | State::Results { marks, answers, .. } => {
            match answers.split_last() {
                Some((_, earlier)) => State::FollowUps {
                    marks: marks.clone(),
                    answers: earlier.to_vec(),
                },
                None => before_follow_ups(marks),
            }
        }
        State::Prevent | State::Care { .. } | State::Treatments => State::MainMenu,
        State::Settings { then } => (**then).clone(),
        State::PreventAdvice { .. } => State::Prevent,
        State::TreatmentInfo { .. } => State::Treatments,
    }
}
