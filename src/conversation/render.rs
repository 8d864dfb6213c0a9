//! Screens, built from the content. Telegram HTML throughout. This file has the questions and
//! the parts every answer shares (its buttons, headings, lists, the Sources view); each answer
//! has its own file below.

mod care;
mod prevention;
mod results;
mod treatments;

use std::fmt::Write as _;

use super::{Action, Button, Conversation, Detail, FollowUp, LanguageCode, Screen, State, View};
use crate::knowledge::{
    AcneKind, DentsAnswer, FlatAnswer, Link, RaisedAnswer, ScarKind, Topic, Treatment,
};

/// Treatments per row in the treatments menu: names are short, two fit a phone.
const TREATMENTS_PER_ROW: usize = 2;

impl Conversation<'_> {
    fn button(&self, label: impl Into<String>, action: Action) -> Button {
        Button {
            label: label.into(),
            action,
        }
    }

    fn nav_row(&self) -> Vec<Button> {
        let b = &self.pack.ui.buttons;
        vec![
            self.button(&b.back, Action::Back),
            self.button(&b.start_over, Action::StartOver),
        ]
    }

    fn topic_rows(&self, topics: &[Topic]) -> Vec<Vec<Button>> {
        topics
            .iter()
            .map(|t| vec![self.button(self.pack.topics.get(*t), Action::Topic(*t))])
            .collect()
    }

    /// The question for a state, with its buttons.
    pub(super) fn screen(&self, state: &State) -> Screen {
        let ui = &self.pack.ui;
        let b = &ui.buttons;
        if let Some((text, mut buttons, share)) = self.answer(state) {
            buttons.push(self.nav_row());
            return Screen {
                text,
                buttons,
                share,
                picture: super::picture_of(state),
            };
        }
        let (text, mut buttons) = match state {
            State::Idle | State::MainMenu => {
                return Screen {
                    text: ui.main_question.clone(),
                    buttons: self.topic_rows(&self.topics_on(&State::MainMenu)),
                    share: None,
                    picture: None,
                };
            }
            State::Identify { picked } => {
                let mut rows: Vec<Vec<Button>> = ScarKind::all()
                    .map(|k| {
                        let label = &self.pack.scars.get(k).label;
                        let label = if picked.contains(&k) {
                            format!("{}{label}", b.selected_mark)
                        } else {
                            label.clone()
                        };
                        vec![self.button(label, Action::Toggle(k))]
                    })
                    .collect();
                rows.push(vec![self.button(&b.not_sure, Action::NotSure)]);
                rows.push(vec![self.button(&b.done, Action::Done)]);
                (ui.identify.question.clone(), rows)
            }
            State::SelfCheck { checks } => {
                let sc = &self.pack.self_check;
                // The answers a drawing shows carry its number (the dots above it): the picture
                // and the words say the same, and the words alone still answer.
                let row = |label: String, action| vec![self.button(label, action)];
                let n = Self::numbered;
                match (checks.flat, checks.dents) {
                    (None, _) => (
                        format!("{}\n\n{}", sc.intro, sc.flat.question),
                        vec![
                            row(n(1, &sc.flat.fades), Action::Flat(FlatAnswer::Fades)),
                            row(n(2, &sc.flat.stays), Action::Flat(FlatAnswer::Stays)),
                            row(sc.flat.both.clone(), Action::Flat(FlatAnswer::Both)),
                            row(sc.flat.none.clone(), Action::Flat(FlatAnswer::NoFlat)),
                        ],
                    ),
                    (Some(_), None) => (
                        sc.dents.question.clone(),
                        vec![
                            row(n(1, &sc.dents.icepick), Action::Dents(DentsAnswer::Icepick)),
                            row(n(2, &sc.dents.boxcar), Action::Dents(DentsAnswer::Boxcar)),
                            row(n(3, &sc.dents.rolling), Action::Dents(DentsAnswer::Rolling)),
                            row(sc.dents.none.clone(), Action::Dents(DentsAnswer::NoDents)),
                        ],
                    ),
                    (Some(_), Some(_)) => (
                        sc.raised.question.clone(),
                        vec![
                            row(
                                n(1, &sc.raised.within),
                                Action::Raised(RaisedAnswer::Within),
                            ),
                            row(
                                n(2, &sc.raised.beyond),
                                Action::Raised(RaisedAnswer::Beyond),
                            ),
                            row(
                                sc.raised.none.clone(),
                                Action::Raised(RaisedAnswer::NoRaised),
                            ),
                        ],
                    ),
                }
            }
            State::FollowUps { marks, answers } => {
                // A FollowUps state always has a question left (after_marks moves on when
                // none is); were it not so, the last one is asked again rather than failing.
                let question = super::next_follow_up(marks, answers)
                    .or_else(|| answers.last().map(|(q, _)| *q))
                    .unwrap_or(FollowUp::ActiveAcne);
                let fu = self.pack.follow_ups.get(question);
                (
                    format!("{}\n<i>{}</i>", fu.question, fu.why),
                    vec![vec![
                        self.button(&b.yes, Action::Answer(question, true)),
                        self.button(&b.no, Action::Answer(question, false)),
                        self.button(&b.not_sure, Action::Unsure(question)),
                    ]],
                )
            }
            // Answers are handled above; a detail that does not belong to its answer (never
            // stored by the step) shows the main menu's question.
            State::Results { .. }
            | State::PreventAdvice { .. }
            | State::Care { .. }
            | State::TreatmentInfo { .. } => (
                ui.main_question.clone(),
                self.topic_rows(&self.topics_on(&State::MainMenu)),
            ),
            State::Prevent => {
                let mut text = format!("{}\n", ui.prevent_question);
                for kind in AcneKind::all() {
                    let a = self.pack.acne.get(kind);
                    let _ = write!(text, "\n• {}", self.labelled(&a.label, &a.description));
                }
                let rows = AcneKind::all()
                    .map(|k| vec![self.button(&self.pack.acne.get(k).label, Action::Acne(k))])
                    .collect();
                (text, rows)
            }
            State::Treatments => {
                let all: Vec<Treatment> = Treatment::all().collect();
                let rows = all
                    .chunks(TREATMENTS_PER_ROW)
                    .map(|chunk| {
                        chunk
                            .iter()
                            .map(|t| {
                                self.button(
                                    &self.pack.treatments.get(*t).name,
                                    Action::Treatment(*t),
                                )
                            })
                            .collect()
                    })
                    .collect();
                (
                    format!(
                        "{}\n<i>{}</i>",
                        ui.treatments_question, self.pack.safety.setting.text
                    ),
                    rows,
                )
            }
            State::Settings { .. } => {
                // Each language's own name, so a person can find theirs whatever is shown now.
                let rows = self
                    .content
                    .packs()
                    .filter_map(|p| {
                        let code = LanguageCode::parse(&p.code)?;
                        let label = if p.code == self.pack.code {
                            format!("{}{}", b.selected_mark, p.ui.language_name)
                        } else {
                            p.ui.language_name.clone()
                        };
                        Some(vec![self.button(label, Action::Language(code))])
                    })
                    .collect();
                (ui.settings.question.clone(), rows)
            }
        };
        buttons.push(self.nav_row());
        Screen {
            text,
            buttons,
            share: None,
            picture: super::picture_of(state),
        }
    }

    /// The answer a state shows, with the buttons that open its parts, and the topic to share.
    fn answer(&self, state: &State) -> Option<(String, Vec<Vec<Button>>, Option<Link>)> {
        let b = &self.pack.ui.buttons;
        let (text, link) = match state {
            State::Results {
                marks,
                answers,
                view,
            } => {
                let kinds = marks.kinds();
                let link = match kinds.as_slice() {
                    [one] => Some(Link::Scar(*one)),
                    _ => None,
                };
                match view {
                    View::Summary => (self.results_summary(marks, answers), link),
                    View::Details(Detail::Scar(kind)) if kinds.contains(kind) => (
                        self.scar_details(*kind, marks, answers),
                        Some(Link::Scar(*kind)),
                    ),
                    View::Sources => (self.results_sources(marks, answers), link),
                    View::Details(_) => return None,
                }
            }
            State::PreventAdvice { acne, view } => {
                let link = Some(Link::Acne(*acne));
                match view {
                    View::Summary => (self.acne_summary(*acne), link),
                    View::Details(Detail::More) => (self.acne_details(*acne), link),
                    View::Sources => (self.acne_sources(*acne), link),
                    View::Details(_) => return None,
                }
            }
            State::Care { view } => {
                let link = Some(Link::Care);
                match view {
                    View::Summary => (self.care_summary(), link),
                    View::Details(Detail::Habit(h)) => (self.habit_details(*h), link),
                    View::Sources => (self.care_sources(), link),
                    View::Details(_) => return None,
                }
            }
            State::TreatmentInfo { treatment, view } => {
                let link = Some(Link::Treatment(*treatment));
                match view {
                    View::Summary => (self.treatment_summary(*treatment), link),
                    View::Sources => (self.treatment_sources(*treatment), link),
                    View::Details(_) => return None,
                }
            }
            _ => return None,
        };
        let mut rows: Vec<Vec<Button>> = Vec::new();
        let views = self.views_on(state);
        let details: Vec<Button> = views
            .iter()
            .filter_map(|v| match v {
                View::Details(d) => Some(self.button(self.detail_label(*d), Action::Show(*v))),
                _ => None,
            })
            .collect();
        // Habits are seven short titles: two to a row. Scar kinds are one to a row.
        let per_row = if details.len() > 4 { 2 } else { 1 };
        rows.extend(details.chunks(per_row).map(<[Button]>::to_vec));
        if views.contains(&View::Sources) {
            rows.push(vec![self.button(&b.sources, Action::Show(View::Sources))]);
        }
        // An identification that found something can be summed up for the dermatologist.
        if let State::Results {
            marks,
            view: View::Summary,
            ..
        } = state
            && !marks.kinds().is_empty()
        {
            rows.push(vec![
                self.button(&self.pack.ui.doctor_summary.button, Action::ForDoctor),
            ]);
        }
        rows.extend(self.topic_rows(&self.topics_on(state)));
        Some((text, rows, link))
    }

    /// The label of the button that opens a detail.
    fn detail_label(&self, detail: Detail) -> String {
        let b = &self.pack.ui.buttons;
        match detail {
            Detail::Scar(kind) => b
                .details
                .replace("{name}", &self.pack.scars.get(kind).short),
            Detail::Habit(h) => self.pack.habits.get(h).title.clone(),
            Detail::More => b.more.clone(),
        }
    }

    /// "<b>name</b>: text", with the language's separator.
    fn labelled(&self, name: &str, text: &str) -> String {
        format!("<b>{name}</b>{}{text}", self.pack.ui.card.label_separator)
    }

    /// "name: text" without bold, with the language's separator.
    pub(super) fn plain_labelled(&self, name: &str, text: &str) -> String {
        format!("{name}{}{text}", self.pack.ui.card.label_separator)
    }

    fn card_head(&self, title: &str) -> String {
        format!("<b>{title}</b>\n<i>{}</i>", self.pack.ui.card.disclaimer)
    }

    fn section(&self, out: &mut String, heading: &str, body: &str) {
        let _ = write!(out, "\n\n<b>{heading}</b>\n{body}");
    }

    fn bullets(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
        items
            .into_iter()
            .map(|i| format!("• {}", i.as_ref()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Items once each, in first-seen order: kinds that share a line say it once.
    fn distinct<'s>(items: impl IntoIterator<Item = &'s str>) -> Vec<&'s str> {
        let mut seen = Vec::new();
        for item in items {
            if !seen.contains(&item) {
                seen.push(item);
            }
        }
        seen
    }

    /// A list of items on one line, with the language's separator.
    fn joined<'s>(&self, items: impl IntoIterator<Item = &'s str>) -> String {
        items
            .into_iter()
            .collect::<Vec<_>>()
            .join(&self.pack.ui.card.list_separator)
    }

    fn treatment_names(&self, treatments: &[Treatment]) -> String {
        self.joined(
            treatments
                .iter()
                .map(|t| self.pack.treatments.get(*t).name.as_str()),
        )
    }

    /// Whether any of these treatments is a laser or a peel.
    fn needs_darker_skin_note(&self, treatments: &[Treatment]) -> bool {
        treatments.iter().any(|t| {
            self.content
                .knowledge
                .treatments
                .get(*t)
                .darker_skin_caution
        })
    }

    /// The Sources view: every citation of the answer once, numbered, one per line; then each
    /// part of the answer with the numbers of the sources it comes from.
    fn sources_view<'s>(&self, parts: impl IntoIterator<Item = (&'s str, Vec<&'s str>)>) -> String {
        let mut cites: Vec<&str> = Vec::new();
        let mut index = String::new();
        for (heading, ids) in parts {
            let mut numbers: Vec<usize> = Vec::new();
            for cite in ids.into_iter().map(|id| self.pack.cite(id)) {
                let n = match cites.iter().position(|c| *c == cite) {
                    Some(i) => i + 1,
                    None => {
                        cites.push(cite);
                        cites.len()
                    }
                };
                if !numbers.contains(&n) {
                    numbers.push(n);
                }
            }
            if numbers.is_empty() {
                continue;
            }
            numbers.sort_unstable();
            let numbers: Vec<String> = numbers.iter().map(ToString::to_string).collect();
            let _ = write!(
                index,
                "\n{}",
                self.labelled(heading, &numbers.join(&self.pack.ui.card.list_separator))
            );
        }
        let mut out = format!("<b>{}</b>\n", self.pack.ui.results.sources_title);
        for (i, cite) in cites.iter().enumerate() {
            let _ = write!(out, "\n{}. {cite}", i + 1);
        }
        let _ = write!(out, "\n{index}");
        out
    }
}
