//! The answer of an identification: its summary, each kind's details, the sources, and the
//! summary for the dermatologist.

use std::fmt::Write as _;

use super::super::{Conversation, FollowUp, Marks};
use crate::content::{Note, ShapeText};
use crate::knowledge::{LumpShape, ScarKind, Treatment};

impl Conversation<'_> {
    /// The cautions that apply before any clinic treatment, from the follow-up answers. A
    /// question that was not asked counts as "yes": the safe default.
    pub(in crate::conversation) fn results_notes(
        &self,
        kinds: &[ScarKind],
        answers: &[(FollowUp, bool)],
    ) -> Vec<&Note> {
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
    pub(in crate::conversation) fn kind_treatments(
        &self,
        kind: ScarKind,
        marks: &Marks,
    ) -> &[Treatment] {
        let facts = self.content.knowledge.scars.get(kind);
        let keloid = marks.checks().and_then(|c| c.lump_shape()) == Some(LumpShape::Keloid);
        if kind == ScarKind::Lumps && keloid && !facts.keloid_treatments.is_empty() {
            &facts.keloid_treatments
        } else {
            &facts.treatments
        }
    }

    /// The name of a kind on the summary, with the shape the self-check found.
    pub(in crate::conversation) fn kind_name(&self, kind: ScarKind, marks: &Marks) -> String {
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

    pub(in crate::conversation) fn found_shape(
        &self,
        kind: ScarKind,
        marks: &Marks,
    ) -> Option<&ShapeText> {
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
        // The signs as a list, as on the acne pages: a run of clauses reads as one sentence.
        let _ = write!(
            out,
            "\n\n⚠️ <b>{}</b>\n{}",
            safety.red_flags.title,
            Self::bullets(&safety.red_flags.scar)
        );
        out
    }

    pub(in crate::conversation) fn scar_source_ids(&self, kind: ScarKind) -> Vec<&str> {
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

    pub(in crate::conversation) fn results_sources(
        &self,
        marks: &Marks,
        answers: &[(FollowUp, bool)],
    ) -> String {
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
}
