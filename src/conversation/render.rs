//! Screens and advice cards, built from the content. Telegram HTML throughout.

use std::fmt::Write as _;

use super::{
    Action, Button, Conversation, Detail, FollowUp, LanguageCode, Marks, Screen, State, View,
};
use crate::content::{Note, ShapeText};
use crate::knowledge::{
    AcneKind, CareHabit, DentsAnswer, FlatAnswer, Link, LumpShape, RaisedAnswer, ScarKind,
    ScarRisk, Topic, Treatment,
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

    // ---- Identification ----

    /// The cautions that apply before any clinic treatment, from the follow-up answers. A
    /// question that was not asked counts as "yes": the safe default.
    fn results_notes(&self, kinds: &[ScarKind], answers: &[(FollowUp, bool)]) -> Vec<&Note> {
        let safety = &self.pack.safety;
        let answer = |q: FollowUp| answers.iter().find(|(a, _)| *a == q).map(|(_, yes)| *yes);
        let treatments: Vec<Treatment> = kinds
            .iter()
            .flat_map(|k| {
                self.content
                    .knowledge
                    .scars
                    .get(*k)
                    .treatments
                    .iter()
                    .copied()
            })
            .collect();
        let mut notes = Vec::new();
        if self.needs_darker_skin_note(&treatments) {
            notes.push(&safety.darker_skin);
        }
        if answer(FollowUp::Pregnancy) != Some(false) {
            notes.push(&safety.pregnancy);
        }
        notes.push(&safety.isotretinoin);
        if answer(FollowUp::ActiveAcne) != Some(false) {
            notes.push(&safety.active_acne);
        }
        notes
    }

    /// The clinic treatments for a kind as found: a keloid found by the self-check has its own
    /// (the guide names acne injection for keloids), any other the kind's.
    fn kind_treatments(&self, kind: ScarKind, marks: &Marks) -> &[Treatment] {
        let facts = self.content.knowledge.scars.get(kind);
        let keloid = marks.checks().and_then(|c| c.lump_shape()) == Some(LumpShape::Keloid);
        if kind == ScarKind::Lumps && keloid && !facts.keloid_treatments.is_empty() {
            &facts.keloid_treatments
        } else {
            &facts.treatments
        }
    }

    /// The name of a kind on the summary, with the shape the self-check found.
    fn kind_name(&self, kind: ScarKind, marks: &Marks) -> String {
        let s = self.pack.scars.get(kind);
        match self.found_shape(kind, marks) {
            Some(shape) => self
                .pack
                .ui
                .card
                .with_shape
                .replace("{kind}", &s.short)
                .replace("{shape}", &shape.name),
            None => s.short.clone(),
        }
    }

    fn found_shape(&self, kind: ScarKind, marks: &Marks) -> Option<&ShapeText> {
        marks.checks().and_then(|c| match kind {
            ScarKind::Dents => c.dent_shape().and_then(|d| self.pack.dent_shape(d)),
            ScarKind::Lumps => c.lump_shape().and_then(|l| self.pack.lump_shape(l)),
            _ => None,
        })
    }

    /// The first screen of an identification: for each kind a line or two, what repeats said
    /// once, the cautions that apply to this person, and when to see a doctor. After a red-flag
    /// Yes, a doctor's check comes first and the clinic options wait for it.
    pub fn results_summary(&self, marks: &Marks, answers: &[(FollowUp, bool)]) -> String {
        let ui = &self.pack.ui;
        let r = &ui.results;
        let kinds = marks.kinds();
        let safety = &self.pack.safety;
        let red_flag = answers.contains(&(FollowUp::RedFlag, true));
        if kinds.is_empty() {
            let sc = &self.pack.self_check;
            let mut out = self.card_head(&sc.no_match);
            self.section(
                &mut out,
                &safety.red_flags.title,
                &Self::bullets(&safety.red_flags.scar),
            );
            return out;
        }
        let mut out = self.card_head(&r.title);
        if red_flag {
            let _ = write!(
                out,
                "\n\n⚠️ <b>{}</b>\n{}",
                r.red_flag_title, r.red_flag_text
            );
        }
        for kind in &kinds {
            let s = self.pack.scars.get(*kind);
            let _ = write!(
                out,
                "\n\n{}",
                self.labelled(&self.kind_name(*kind, marks), &s.summary)
            );
            if !red_flag {
                let treatments = self.kind_treatments(*kind, marks);
                let _ = write!(
                    out,
                    "\n{}",
                    self.plain_labelled(&r.clinic, &self.treatment_names(treatments))
                );
            }
        }
        if red_flag {
            let _ = write!(out, "\n\n<i>{}</i>", r.after_check);
        }
        let home = Self::distinct(
            kinds
                .iter()
                .map(|k| self.pack.scars.get(*k).home_first.as_str()),
        );
        let _ = write!(out, "\n\n{}", self.labelled(&r.at_home, &home.join(" ")));
        // A lump answer whose red-flag question was not asked (a shared link) lists the signs.
        if kinds.contains(&ScarKind::Lumps) && !answers.iter().any(|(q, _)| *q == FollowUp::RedFlag)
        {
            self.section(
                &mut out,
                &safety.red_flags.title,
                &Self::bullets(&safety.red_flags.scar),
            );
        }
        let notes = self.results_notes(&kinds, answers);
        self.section(
            &mut out,
            &format!("⚠️ {}", r.before_treatment_title),
            &Self::bullets(notes.iter().map(|n| n.short.as_str())),
        );
        // After a red-flag Yes the last word is the doctor's check, not cosmetic treatment.
        if red_flag {
            let _ = write!(out, "\n\n🩺 {}", r.after_check);
        } else {
            let doctor = Self::distinct(
                kinds
                    .iter()
                    .map(|k| self.pack.scars.get(*k).doctor_short.as_str()),
            );
            let _ = write!(out, "\n\n🩺 {}", doctor.join(" "));
        }
        out
    }

    /// One scar kind in full: what it is, its shapes, where it forms, whether it fades, home
    /// care, the clinic treatments for it with sessions and downtime, salons, and the doctor.
    /// After a red-flag Yes, the doctor's check heads the details too; the signs that need a
    /// doctor soon close every kind's details.
    pub fn scar_details(
        &self,
        kind: ScarKind,
        marks: &Marks,
        answers: &[(FollowUp, bool)],
    ) -> String {
        let s = self.pack.scars.get(kind);
        let h = &self.pack.ui.card;
        let r = &self.pack.ui.results;
        let safety = &self.pack.safety;
        let treatments = self.kind_treatments(kind, marks);
        let mut out = self.card_head(&s.title);
        if answers.contains(&(FollowUp::RedFlag, true)) {
            let _ = write!(
                out,
                "\n\n⚠️ <b>{}</b>\n{}",
                r.red_flag_title, r.red_flag_text
            );
        }
        let _ = write!(out, "\n\n{}", s.what);
        if let Some(shape) = self.found_shape(kind, marks) {
            self.section(
                &mut out,
                &h.your_shape,
                &self.labelled(&shape.name, &shape.text),
            );
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
            }
        }
        if let Some(w) = &s.where_ {
            self.section(&mut out, &h.where_, w);
        }
        self.section(&mut out, &h.fades, &s.fades);
        self.section(&mut out, &h.home, &Self::bullets(&s.home));
        let clinic = treatments.iter().filter_map(|t| {
            let line = s.clinic.get(t)?;
            Some(self.labelled(&self.pack.treatments.get(*t).name, line))
        });
        let mut body = Self::bullets(clinic);
        let _ = write!(body, "\n{}", safety.several_sessions.text);
        if self.needs_darker_skin_note(treatments) {
            let _ = write!(body, "\n⚠️ {}", safety.darker_skin.text);
        }
        self.section(&mut out, &h.clinic, &body);
        self.section(&mut out, &h.salon, &s.salon);
        self.section(&mut out, &h.doctor, &s.doctor);
        let _ = write!(
            out,
            "\n⚠️ {}{}{}",
            safety.red_flags.title,
            self.pack.ui.card.label_separator,
            self.joined(safety.red_flags.scar.iter().map(String::as_str))
        );
        out
    }

    fn scar_source_ids(&self, kind: ScarKind) -> Vec<&str> {
        let s = self.pack.scars.get(kind);
        s.sources
            .iter()
            .chain(&s.clinic_sources)
            .chain(s.dent_shapes.values().flat_map(|sh| &sh.sources))
            .chain(s.lump_shapes.values().flat_map(|sh| &sh.sources))
            .map(String::as_str)
            .collect()
    }

    /// One compact message to bring to a dermatologist: the kinds found and how, the answers
    /// given (only the questions asked), what to ask the clinic, the cautions to tell it, and
    /// that this is general information. Built from the conversation alone: nothing is kept.
    pub fn doctor_summary(&self, marks: &Marks, answers: &[(FollowUp, bool)]) -> String {
        let d = &self.pack.ui.doctor_summary;
        let b = &self.pack.ui.buttons;
        let kinds = marks.kinds();
        let how = match marks {
            Marks::Picked(_) => &d.picked,
            Marks::Checked(_) => &d.checked,
        };
        let names: Vec<String> = kinds.iter().map(|k| self.kind_name(*k, marks)).collect();
        let mut out = format!("<b>{}</b>", d.title);
        let _ = write!(
            out,
            "\n\n{}",
            self.labelled(how, &self.joined(names.iter().map(String::as_str)))
        );
        if !answers.is_empty() {
            let lines = answers.iter().map(|(q, yes)| {
                let answer = if *yes { &b.yes } else { &b.no };
                format!("{} — {answer}", self.pack.follow_ups.get(*q).question)
            });
            let _ = write!(
                out,
                "\n\n<b>{}</b>\n{}\n<i>{}</i>",
                d.answers,
                Self::bullets(lines),
                d.unsure
            );
        }
        let treatments = kinds.iter().map(|k| {
            self.labelled(
                &self.pack.scars.get(*k).short,
                &self.treatment_names(self.kind_treatments(*k, marks)),
            )
        });
        // The treatments the guide names, one line per kind under the first question.
        let mut first = d.ask_treatments.clone();
        for t in treatments {
            let _ = write!(first, "\n   ◦ {t}");
        }
        let ask = [first, d.ask_sessions.clone(), d.ask_cost.clone()];
        self.section(&mut out, &d.ask, &Self::bullets(ask));
        let notes = self.results_notes(&kinds, answers);
        let mut tell: Vec<&str> = Vec::new();
        if answers.contains(&(FollowUp::RedFlag, true)) {
            tell.push(&self.pack.ui.results.red_flag_text);
        }
        tell.extend(notes.iter().map(|n| n.short.as_str()));
        self.section(&mut out, &d.tell, &Self::bullets(tell));
        let _ = write!(out, "\n\n<i>{}</i>", d.footer);
        out
    }

    fn results_sources(&self, marks: &Marks, answers: &[(FollowUp, bool)]) -> String {
        let kinds = marks.kinds();
        let safety = &self.pack.safety;
        let mut parts: Vec<(&str, Vec<&str>)> = kinds
            .iter()
            .map(|k| {
                (
                    self.pack.scars.get(*k).short.as_str(),
                    self.scar_source_ids(*k),
                )
            })
            .collect();
        let mut notes: Vec<&str> = self
            .results_notes(&kinds, answers)
            .into_iter()
            .chain([&safety.several_sessions, &safety.setting])
            .flat_map(|n| n.sources.iter().map(String::as_str))
            .collect();
        // The signs that need a doctor close every kind's details (and head the summary after
        // a red-flag Yes or for lumps): cited with the cautions.
        notes.extend(safety.red_flags.sources.iter().map(String::as_str));
        if kinds.is_empty() {
            notes.extend(self.pack.self_check.sources.iter().map(String::as_str));
        }
        parts.push((&self.pack.ui.results.before_treatment_title, notes));
        self.sources_view(parts)
    }

    // ---- Prevention ----

    /// Whether this acne kind is inflamed (red, yellow, purple): the red flags belong with it.
    fn inflamed(&self, kind: AcneKind) -> bool {
        self.content.knowledge.acne.get(kind).risk != ScarRisk::Low
    }

    /// The first screen of an acne kind: its scar risk, what helps most, the clinic options,
    /// the red flags where the acne is inflamed, and when to see a doctor.
    pub fn acne_summary(&self, kind: AcneKind) -> String {
        let a = self.pack.acne.get(kind);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.acne.get(kind);
        let rf = &self.pack.safety.red_flags;
        let mut out = self.card_head(&a.title);
        let _ = write!(out, "\n{}", a.description);
        let _ = write!(out, "\n\n{}", self.labelled(&h.risk, &a.risk));
        if let Some(first) = a.measures.first() {
            let _ = write!(out, "\n\n{}", self.labelled(&h.measures, first));
        }
        let _ = write!(
            out,
            "\n{}",
            self.plain_labelled(&h.clinic_only, &self.treatment_names(&facts.treatments))
        );
        // A peel or laser named on the first screen carries its caution there too.
        if self.needs_darker_skin_note(&facts.treatments) {
            let _ = write!(out, "\n⚠️ {}", self.pack.safety.darker_skin.short);
        }
        if self.inflamed(kind) {
            self.section(
                &mut out,
                &format!("⚠️ {}", rf.title),
                &Self::bullets(&rf.acne),
            );
        }
        let _ = write!(out, "\n\n🩺 {}", a.doctor);
        out
    }

    /// The rest of an acne kind: every measure, the cautions for the medicines and procedures
    /// named, and where acne scars form.
    pub fn acne_details(&self, kind: AcneKind) -> String {
        let a = self.pack.acne.get(kind);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.acne.get(kind);
        let mut out = self.card_head(&a.title);
        self.section(&mut out, &h.measures, &Self::bullets(&a.measures));
        self.section(
            &mut out,
            &format!("⚠️ {}", self.pack.ui.results.before_treatment_title),
            &Self::bullets(
                self.procedure_notes(&facts.treatments)
                    .iter()
                    .map(|n| n.short.as_str()),
            ),
        );
        // Where craters form and adult acne scars: about inflamed acne, which leaves them.
        if self.inflamed(kind) {
            self.section(&mut out, &h.where_scars, &self.pack.where_scars_form);
        }
        out
    }

    /// The cautions wherever medicines or procedures are named: darker skin for lasers and
    /// peels, pregnancy, isotretinoin.
    fn procedure_notes(&self, treatments: &[Treatment]) -> Vec<&Note> {
        let safety = &self.pack.safety;
        let mut notes = Vec::new();
        if self.needs_darker_skin_note(treatments) {
            notes.push(&safety.darker_skin);
        }
        notes.extend([&safety.pregnancy, &safety.isotretinoin]);
        notes
    }

    fn acne_sources(&self, kind: AcneKind) -> String {
        let a = self.pack.acne.get(kind);
        let facts = self.content.knowledge.acne.get(kind);
        let safety = &self.pack.safety;
        let mut notes: Vec<&str> = self
            .procedure_notes(&facts.treatments)
            .into_iter()
            .flat_map(|n| n.sources.iter().map(String::as_str))
            .collect();
        if self.inflamed(kind) {
            notes.extend(safety.red_flags.sources.iter().map(String::as_str));
        }
        self.sources_view([
            (
                a.title.as_str(),
                a.sources
                    .iter()
                    .chain(
                        self.inflamed(kind)
                            .then_some(&self.pack.where_sources)
                            .into_iter()
                            .flatten(),
                    )
                    .map(String::as_str)
                    .collect(),
            ),
            (self.pack.ui.results.before_treatment_title.as_str(), notes),
        ])
    }

    // ---- Daily care ----

    /// The first screen of daily care: the seven habits, a line each.
    pub fn care_summary(&self) -> String {
        let mut out = self.card_head(&self.pack.care_title);
        let _ = write!(out, "\n{}\n", self.pack.care_intro);
        for (i, h) in CareHabit::all()
            .map(|c| self.pack.habits.get(c))
            .enumerate()
        {
            let _ = write!(out, "\n{}. {}", i + 1, self.labelled(&h.title, &h.short));
        }
        let _ = write!(out, "\n\n🩺 {}", self.pack.care_doctor);
        out
    }

    /// One habit in full, with the pregnancy caution beside whitening ingredients.
    pub fn habit_details(&self, habit: CareHabit) -> String {
        let h = self.pack.habits.get(habit);
        let n = CareHabit::all().position(|c| c == habit).unwrap_or(0) + 1;
        let mut out = format!("<b>{n}. {}</b>\n{}", h.title, h.text);
        if habit == CareHabit::WhiteningIngredients {
            let _ = write!(out, "\n\n⚠️ {}", self.pack.safety.pregnancy.text);
        }
        let _ = write!(out, "\n\n🩺 {}", self.pack.care_doctor);
        out
    }

    fn care_sources(&self) -> String {
        let safety = &self.pack.safety;
        self.sources_view(
            CareHabit::all()
                .map(|c| {
                    let h = self.pack.habits.get(c);
                    let mut ids: Vec<&str> = h.sources.iter().map(String::as_str).collect();
                    if c == CareHabit::WhiteningIngredients {
                        ids.extend(safety.pregnancy.sources.iter().map(String::as_str));
                    }
                    (h.title.as_str(), ids)
                })
                .collect::<Vec<_>>(),
        )
    }

    // ---- Treatments ----

    /// One treatment: where it is done, what it does, what it helps, sessions and downtime,
    /// its cautions, and who decides.
    pub fn treatment_summary(&self, t: Treatment) -> String {
        let tt = self.pack.treatments.get(t);
        let h = &self.pack.ui.card;
        let facts = self.content.knowledge.treatments.get(t);
        let safety = &self.pack.safety;
        let mut out = self.card_head(&tt.name);
        let _ = write!(out, "\n{}", safety.setting.short);
        let _ = write!(out, "\n\n{}", tt.does);
        if !facts.for_scars.is_empty() {
            let names = facts
                .for_scars
                .iter()
                .map(|k| self.pack.scars.get(*k).short.as_str());
            let _ = write!(
                out,
                "\n\n{}",
                self.labelled(&h.helps_with, &self.joined(names))
            );
        }
        if !facts.for_acne.is_empty() {
            let names = facts
                .for_acne
                .iter()
                .map(|k| self.pack.acne.get(*k).title.as_str());
            let _ = write!(
                out,
                "\n{}",
                self.labelled(&h.acne_kinds, &self.joined(names))
            );
        }
        let _ = write!(out, "\n{}", self.labelled(&h.sessions, &tt.sessions));
        let _ = write!(out, "\n{}", self.labelled(&h.downtime, &tt.downtime));
        self.section(
            &mut out,
            &format!("⚠️ {}", self.pack.ui.results.before_treatment_title),
            &Self::bullets(self.procedure_notes(&[t]).iter().map(|n| n.short.as_str())),
        );
        let _ = write!(out, "\n\n🩺 {}", self.pack.ui.results.treatment_doctor);
        out
    }

    fn treatment_sources(&self, t: Treatment) -> String {
        let tt = self.pack.treatments.get(t);
        let safety = &self.pack.safety;
        let notes: Vec<&str> = self
            .procedure_notes(&[t])
            .into_iter()
            .chain([&safety.setting])
            .flat_map(|n| n.sources.iter().map(String::as_str))
            .collect();
        self.sources_view([
            (
                tt.name.as_str(),
                tt.sources.iter().map(String::as_str).collect(),
            ),
            (self.pack.ui.results.before_treatment_title.as_str(), notes),
        ])
    }
}
