//! The answer for an acne kind: its summary, the rest, the sources.

use std::fmt::Write as _;

use super::super::Conversation;
use crate::content::Note;
use crate::knowledge::{AcneKind, ScarRisk, Treatment};

impl Conversation<'_> {
    /// Whether this acne kind is inflamed (red, yellow, purple): the red flags belong with it.
    pub(in crate::conversation) fn inflamed(&self, kind: AcneKind) -> bool {
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
        // Purple acne: the guide names no treatment for it in particular (the doctor decides).
        if !facts.treatments.is_empty() {
            let _ = write!(
                out,
                "\n{}",
                self.plain_labelled(&h.clinic_only, &self.treatment_names(&facts.treatments))
            );
        }
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
    pub(in crate::conversation) fn procedure_notes(&self, treatments: &[Treatment]) -> Vec<&Note> {
        let safety = &self.pack.safety;
        let mut notes = Vec::new();
        if self.needs_darker_skin_note(treatments) {
            notes.push(&safety.darker_skin);
        }
        notes.extend([&safety.pregnancy, &safety.isotretinoin]);
        notes
    }

    pub(in crate::conversation) fn acne_sources(&self, kind: AcneKind) -> String {
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
}
