//! Typed answers: "red", "brown spots", "craters", "keloid", "2" work like taps.

use super::{Action, Conversation, Outcome, State};
use crate::knowledge::{AcneKind, DentsAnswer, FlatAnswer, RaisedAnswer, ScarKind, Treatment};

impl Conversation<'_> {
    /// Understands typed text as the current question's buttons; otherwise a one-line hint and
    /// the question again.
    pub(super) fn receive_text(&self, state: State, text: &str) -> Outcome {
        let normal = normalize(text);
        // Scar words work on the main menu too: "keloid" there starts identification with it.
        if matches!(state, State::MainMenu | State::Identify { .. }) {
            let mentioned: Vec<ScarKind> = ScarKind::all()
                .filter(|k| mentions_any(&normal, &self.pack.scars.get(*k).keywords))
                .collect();
            if !mentioned.is_empty() {
                let mut picked = match &state {
                    State::Identify { picked } => picked.clone(),
                    _ => Vec::new(),
                };
                picked.extend(
                    mentioned
                        .into_iter()
                        .filter(|k| !picked.contains(k))
                        .collect::<Vec<_>>(),
                );
                picked.sort();
                return self.show(State::Identify { picked }, None);
            }
        }
        match self.typed_action(&state, text, &normal) {
            Some(action) => self.apply(&state, action).unwrap_or_else(|| {
                self.show(state.clone(), Some(self.pack.ui.hints.unknown_text.clone()))
            }),
            None => self.show(state, Some(self.pack.ui.hints.unknown_text.clone())),
        }
    }

    /// The button a typed text means on this screen, if any.
    fn typed_action(&self, state: &State, raw: &str, normal: &str) -> Option<Action> {
        let screen = self.screen(state);
        let buttons: Vec<_> = screen.flat_buttons().collect();
        // An option's number, as the console shows them.
        if let Ok(n) = raw.trim().trim_end_matches('.').parse::<usize>() {
            return n
                .checked_sub(1)
                .and_then(|i| buttons.get(i))
                .map(|b| b.action);
        }
        let mark = normalize(&self.pack.ui.buttons.selected_mark);
        let label_of = |label: &str| {
            let l = normalize(label);
            l.strip_prefix(&mark)
                .map(str::trim)
                .map(str::to_owned)
                .unwrap_or(l)
        };
        if let Some(b) = buttons.iter().find(|b| label_of(&b.label) == normal) {
            return Some(b.action);
        }
        let k = &self.pack.ui.keywords;
        let raw_lower = raw.trim().to_lowercase();
        let says =
            |words: &[String]| words.iter().any(|w| *w == raw_lower) || mentions_any(normal, words);
        if says(&k.start_over) {
            return Some(Action::StartOver);
        }
        if says(&k.back) {
            return Some(Action::Back);
        }
        let by_state = match state {
            State::Identify { .. } if says(&k.not_sure) => Some(Action::NotSure),
            State::Identify { .. } if says(&k.done) => Some(Action::Done),
            State::SelfCheck { checks } => match (checks.flat, checks.dents) {
                (None, _) if says(&k.no) => Some(Action::Flat(FlatAnswer::NoFlat)),
                (None, _) => {
                    let red =
                        mentions_any(normal, &self.pack.scars.get(ScarKind::Redness).keywords);
                    let brown = mentions_any(
                        normal,
                        &self.pack.scars.get(ScarKind::Pigmentation).keywords,
                    );
                    match (red, brown) {
                        (true, true) => Some(Action::Flat(FlatAnswer::Both)),
                        (true, false) => Some(Action::Flat(FlatAnswer::Fades)),
                        (false, true) => Some(Action::Flat(FlatAnswer::Stays)),
                        (false, false) => None,
                    }
                }
                (Some(_), None) if says(&k.no) => Some(Action::Dents(DentsAnswer::NoDents)),
                (Some(_), None) => crate::knowledge::DentShape::all()
                    .find(|d| {
                        self.pack
                            .dent_shape(*d)
                            .is_some_and(|s| mentions(normal, &normalize(&s.name)))
                    })
                    .map(|d| {
                        Action::Dents(match d {
                            crate::knowledge::DentShape::Icepick => DentsAnswer::Icepick,
                            crate::knowledge::DentShape::Boxcar => DentsAnswer::Boxcar,
                            crate::knowledge::DentShape::Rolling => DentsAnswer::Rolling,
                        })
                    }),
                (Some(_), Some(_)) if says(&k.no) => Some(Action::Raised(RaisedAnswer::NoRaised)),
                (Some(_), Some(_)) => self
                    .pack
                    .lump_shape(crate::knowledge::LumpShape::Keloid)
                    .filter(|s| mentions(normal, &normalize(&s.name)))
                    .map(|_| Action::Raised(RaisedAnswer::Beyond)),
            },
            State::FollowUps { marks, answers } => {
                let q = super::next_follow_up(marks, answers)?;
                if says(&k.yes) {
                    Some(Action::Answer(q, true))
                } else if says(&k.no) {
                    Some(Action::Answer(q, false))
                } else {
                    None
                }
            }
            State::Prevent => AcneKind::all()
                .find(|a| mentions_any(normal, &self.pack.acne.get(*a).keywords))
                .map(Action::Acne),
            State::Treatments => Treatment::all()
                .find(|t| mentions_any(normal, &self.pack.treatments.get(*t).keywords))
                .map(Action::Treatment),
            _ => None,
        };
        by_state.or_else(|| {
            // Last resort: words that appear in exactly one button's label ("care" → Daily care).
            if normal.chars().count() < MIN_LABEL_WORDS_CHARS {
                return None;
            }
            let mut hits = buttons
                .iter()
                .filter(|b| mentions(&label_of(&b.label), normal));
            match (hits.next(), hits.next()) {
                (Some(b), None) => Some(b.action),
                _ => None,
            }
        })
    }
}

/// Shortest typed text matched against words inside labels; shorter ones are too ambiguous.
const MIN_LABEL_WORDS_CHARS: usize = 3;

/// Lower case, punctuation to spaces, single spaces.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether normalized `text` contains `phrase` as whole words (plural "s"/"es" allowed).
/// Scripts written without spaces (Japanese) match as plain substrings.
pub fn mentions(text: &str, phrase: &str) -> bool {
    let phrase = normalize(phrase);
    if phrase.is_empty() {
        return false;
    }
    if !phrase.is_ascii() {
        return text.contains(&phrase);
    }
    let padded = format!(" {text} ");
    ["", "s", "es"]
        .iter()
        .any(|suffix| padded.contains(&format!(" {phrase}{suffix} ")))
}

fn mentions_any(text: &str, phrases: &[String]) -> bool {
    phrases.iter().any(|p| mentions(text, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_and_plurals_match() {
        assert!(mentions(&normalize("Brown spots!"), "brown"));
        assert!(mentions(&normalize("craters"), "crater"));
        assert!(mentions(&normalize("red and brown"), "red"));
        assert!(!mentions(&normalize("reduce"), "red"));
        assert!(!mentions(&normalize("bored"), "red"));
        assert!(mentions("赤みがあります", "赤み"));
    }
}
