//! Screens and advice cards, built from the content. Telegram HTML throughout.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{Action, Button, Card, Conversation, FollowUp, LanguageCode, Marks, Screen, State};
use crate::knowledge::{
    AcneKind, CareHabit, DentsAnswer, FlatAnswer, Link, RaisedAnswer, ScarKind, Topic, Treatment,
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
        let (text, mut buttons) = match state {
            State::Idle | State::MainMenu => {
                return Screen {
                    text: ui.main_question.clone(),
                    buttons: self.topic_rows(&self.topics_on(&State::MainMenu)),
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
                match (checks.flat, checks.dents) {
                    (None, _) => (
                        format!("{}\n\n{}", sc.intro, sc.flat.question),
                        vec![
                            vec![self.button(&sc.flat.fades, Action::Flat(FlatAnswer::Fades))],
                            vec![self.button(&sc.flat.stays, Action::Flat(FlatAnswer::Stays))],
                            vec![self.button(&sc.flat.both, Action::Flat(FlatAnswer::Both))],
                            vec![self.button(&sc.flat.none, Action::Flat(FlatAnswer::NoFlat))],
                        ],
                    ),
                    (Some(_), None) => (
                        sc.dents.question.clone(),
                        vec![
                            vec![
                                self.button(&sc.dents.icepick, Action::Dents(DentsAnswer::Icepick)),
                            ],
                            vec![self.button(&sc.dents.boxcar, Action::Dents(DentsAnswer::Boxcar))],
                            vec![
                                self.button(&sc.dents.rolling, Action::Dents(DentsAnswer::Rolling)),
                            ],
                            vec![self.button(&sc.dents.none, Action::Dents(DentsAnswer::NoDents))],
                        ],
                    ),
                    (Some(_), Some(_)) => {
                        (
                            sc.raised.question.clone(),
                            vec![
                                vec![self.button(
                                    &sc.raised.within,
                                    Action::Raised(RaisedAnswer::Within),
                                )],
                                vec![self.button(
                                    &sc.raised.beyond,
                                    Action::Raised(RaisedAnswer::Beyond),
                                )],
                                vec![self.button(
                                    &sc.raised.none,
                                    Action::Raised(RaisedAnswer::NoRaised),
                                )],
                            ],
                        )
                    }
                }
            }
            State::FollowUps { marks, answers } => {
                let question =
                    super::next_follow_up(marks, answers).unwrap_or(FollowUp::ActiveAcne);
                (
                    self.pack.follow_ups.get(question).clone(),
                    vec![vec![
                        self.button(&b.yes, Action::Answer(question, true)),
                        self.button(&b.no, Action::Answer(question, false)),
                    ]],
                )
            }
            State::Results { .. } | State::PreventAdvice { .. } | State::Care => (
                ui.results.next_question.clone(),
                self.topic_rows(&self.topics_on(state)),
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
                (ui.treatments_question.clone(), rows)
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
        Screen { text, buttons }
    }

    /// The cards after the scar questions: an urgent card first when a red flag was reported,
    /// one card per scar kind, then the notes that apply before any clinic treatment.
    pub(super) fn advice_cards(&self, marks: &Marks, answers: &[(FollowUp, bool)]) -> Vec<Card> {
        let kinds = marks.kinds();
        let said_yes = |q: FollowUp| answers.contains(&(q, true));
        let mut cards = Vec::new();
        if said_yes(FollowUp::RedFlag) {
            cards.push(Card::note(self.red_flag_card()));
        }
        if kinds.is_empty() {
            cards.push(Card::note(self.no_match_card()));
            return cards;
        }
        for kind in &kinds {
            cards.push(Card::topic(Link::Scar(*kind), self.scar_card(*kind, marks)));
        }
        cards.push(Card::note(self.before_treatment_card(&kinds, answers)));
        cards
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

    fn sources_line(&self, out: &mut String, ids: impl IntoIterator<Item = impl AsRef<str>>) {
        // Sorted and deduplicated: several sections often cite the same article section.
        let cites: BTreeSet<String> = ids
            .into_iter()
            .map(|id| self.pack.cite(id.as_ref()).to_owned())
            .collect();
        let _ = write!(
            out,
            "\n\n<i>{}</i>",
            self.plain_labelled(
                &self.pack.ui.card.sources,
                &cites
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(&self.pack.ui.card.list_separator)
            )
        );
    }

    fn treatment_lines(&self, treatments: &[Treatment]) -> String {
        let h = &self.pack.ui.card;
        Self::bullets(treatments.iter().map(|t| {
            let tt = self.pack.treatments.get(*t);
            format!(
                "{}\n  <i>{}</i>{sep}{}\n  <i>{}</i>{sep}{}",
                self.labelled(&tt.name, &tt.does),
                h.sessions,
                tt.sessions,
                h.downtime,
                tt.downtime,
                sep = h.label_separator
            )
        }))
    }

    /// One scar kind: what it is, whether it fades, home care, clinic treatments, salons and
    /// when to see a dermatologist.
    pub fn scar_card(&self, kind: ScarKind, marks: &Marks) -> String {
        let s = self.pack.scars.get(kind);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.scars.get(kind);
        let mut out = self.card_head(&s.title);
        let mut sources: Vec<&str> = s.sources.iter().map(String::as_str).collect();
        self.section(&mut out, &h.what, &s.what);

        // The shape the self-check found, or every shape so the reader can recognise theirs.
        let found = marks.checks().and_then(|c| match kind {
            ScarKind::Dents => c.dent_shape().and_then(|d| self.pack.dent_shape(d)),
            ScarKind::Lumps => c.lump_shape().and_then(|l| self.pack.lump_shape(l)),
            _ => None,
        });
        if let Some(shape) = found {
            self.section(
                &mut out,
                &h.your_shape,
                &self.labelled(&shape.name, &shape.text),
            );
            sources.extend(shape.sources.iter().map(String::as_str));
        } else {
            let shapes: Vec<_> = s
                .dent_shapes
                .values()
                .chain(s.lump_shapes.values())
                .collect();
            if !shapes.is_empty() {
                let _ = write!(
                    out,
                    "\n{}",
                    Self::bullets(shapes.iter().map(|sh| self.labelled(&sh.name, &sh.text)))
                );
                sources.extend(
                    shapes
                        .iter()
                        .flat_map(|sh| sh.sources.iter().map(String::as_str)),
                );
            }
        }
        if let Some(w) = &s.where_ {
            self.section(&mut out, &h.where_, w);
        }
        self.section(&mut out, &h.fades, &s.fades);
        self.section(&mut out, &h.home, &Self::bullets(&s.home));
        self.section(
            &mut out,
            &h.clinic,
            &self.treatment_lines(&facts.treatments),
        );
        sources.extend(facts.treatments.iter().flat_map(|t| {
            self.pack
                .treatments
                .get(*t)
                .sources
                .iter()
                .map(String::as_str)
        }));
        self.section(&mut out, &h.salon, &s.salon);
        self.section(&mut out, &h.doctor, &s.doctor);
        self.sources_line(&mut out, sources);
        out
    }

    fn red_flag_card(&self) -> String {
        let rf = &self.pack.safety.red_flags;
        let mut out = format!("<b>{}</b>\n{}", rf.title, Self::bullets(&rf.items));
        self.sources_line(&mut out, &rf.sources);
        out
    }

    fn no_match_card(&self) -> String {
        let sc = &self.pack.self_check;
        let rf = &self.pack.safety.red_flags;
        let mut out = self.card_head(&sc.no_match);
        self.section(&mut out, &rf.title, &Self::bullets(&rf.items));
        self.sources_line(&mut out, sc.sources.iter().chain(&rf.sources));
        out
    }

    /// The notes that apply before any clinic treatment, chosen by the follow-up answers.
    /// A question that was not asked counts as "yes" for cautions: the safe default.
    fn before_treatment_card(&self, kinds: &[ScarKind], answers: &[(FollowUp, bool)]) -> String {
        let safety = &self.pack.safety;
        let answer = |q: FollowUp| answers.iter().find(|(a, _)| *a == q).map(|(_, yes)| *yes);
        let mut notes = Vec::new();
        // Not asked (a deep link skips the questions) counts as "yes" where it applies.
        if answer(FollowUp::ActiveAcne).unwrap_or(FollowUp::ActiveAcne.applies_to(kinds)) {
            notes.push(&safety.active_acne);
        }
        if answer(FollowUp::Pregnancy).unwrap_or(FollowUp::Pregnancy.applies_to(kinds)) {
            notes.push(&safety.pregnancy);
        }
        let caution_always = kinds
            .iter()
            .any(|k| self.content.knowledge.scars.get(*k).darker_skin_caution);
        let darkens = answer(FollowUp::SkinDarkens).unwrap_or(caution_always);
        if darkens {
            notes.push(&safety.darker_skin);
        }
        notes.push(&safety.isotretinoin);
        notes.push(&safety.several_sessions);
        let rf = &safety.red_flags;
        let mut out = self.card_head(&self.pack.ui.results.before_treatment_title);
        let _ = write!(
            out,
            "\n\n{}",
            Self::bullets(notes.iter().map(|n| n.text.as_str()))
        );
        self.section(&mut out, &rf.title, &Self::bullets(&rf.items));
        self.sources_line(
            &mut out,
            notes
                .iter()
                .flat_map(|n| n.sources.iter())
                .chain(&rf.sources),
        );
        out
    }

    /// An acne kind: its scar risk and the measures that prevent scars.
    pub fn acne_card(&self, kind: AcneKind) -> String {
        let a = self.pack.acne.get(kind);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.acne.get(kind);
        let mut out = self.card_head(&self.plain_labelled(&a.label, &a.description));
        self.section(&mut out, &h.risk, &a.risk);
        self.section(&mut out, &h.measures, &Self::bullets(&a.measures));
        let names: Vec<&str> = facts
            .treatments
            .iter()
            .map(|t| self.pack.treatments.get(*t).name.as_str())
            .collect();
        self.section(&mut out, &h.clinic_only, &names.join(&h.list_separator));
        self.section(&mut out, &h.where_, &self.pack.where_scars_form);
        self.section(&mut out, &h.doctor, &a.doctor);
        self.sources_line(&mut out, a.sources.iter().chain(&self.pack.where_sources));
        out
    }

    /// The seven daily-care habits.
    pub fn care_card(&self) -> String {
        let h = &self.pack.ui.card;
        let mut out = self.card_head(&self.pack.care_title);
        let _ = write!(out, "\n{}", self.pack.care_intro);
        let habits: Vec<_> = CareHabit::all().map(|c| self.pack.habits.get(c)).collect();
        for (i, habit) in habits.iter().enumerate() {
            let _ = write!(out, "\n\n<b>{}. {}</b>\n{}", i + 1, habit.title, habit.text);
        }
        self.section(&mut out, &h.doctor, &self.pack.care_doctor);
        self.sources_line(&mut out, habits.iter().flat_map(|h| h.sources.iter()));
        out
    }

    /// One treatment: what it does, for which scars and acne, sessions and downtime.
    pub fn treatment_card(&self, t: Treatment) -> String {
        let tt = self.pack.treatments.get(t);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.treatments.get(t);
        let safety = &self.pack.safety;
        let mut out = self.card_head(&tt.name);
        let _ = write!(out, "\n<i>{}</i>", h.clinic_only);
        self.section(&mut out, &h.does, &tt.does);
        if !facts.for_scars.is_empty() {
            let names: Vec<&str> = facts
                .for_scars
                .iter()
                .map(|k| self.pack.scars.get(*k).label.as_str())
                .collect();
            self.section(&mut out, &h.helps_with, &names.join(&h.list_separator));
        }
        if !facts.for_acne.is_empty() {
            let names: Vec<&str> = facts
                .for_acne
                .iter()
                .map(|k| self.pack.acne.get(*k).label.as_str())
                .collect();
            self.section(&mut out, &h.acne_kinds, &names.join(&h.list_separator));
        }
        self.section(&mut out, &h.sessions, &tt.sessions);
        self.section(&mut out, &h.downtime, &tt.downtime);
        self.section(
            &mut out,
            &h.doctor,
            &Self::bullets([&safety.several_sessions.text, &safety.isotretinoin.text]),
        );
        self.sources_line(
            &mut out,
            tt.sources
                .iter()
                .chain(&safety.several_sessions.sources)
                .chain(&safety.isotretinoin.sources),
        );
        out
    }
}
