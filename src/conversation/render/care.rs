//! The daily-care answer: the seven habits, each habit's details, the sources.

use std::fmt::Write as _;

use super::super::Conversation;
use crate::knowledge::CareHabit;

impl Conversation<'_> {
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

    pub(in crate::conversation) fn care_sources(&self) -> String {
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
}
