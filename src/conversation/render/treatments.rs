//! One treatment explained, and its sources.

use std::fmt::Write as _;

use super::super::Conversation;
use crate::knowledge::Treatment;

impl Conversation<'_> {
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

    pub(in crate::conversation) fn treatment_sources(&self, t: Treatment) -> String {
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
