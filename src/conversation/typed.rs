//! Typed answers: "red", "brown spots", "craters", "keloid", "2" work like taps.

use super::{Action, Conversation, Outcome, State};
use crate::content::text::{mentions, normalize};
use crate::knowledge::{AcneKind, DentsAnswer, FlatAnswer, RaisedAnswer, ScarKind, Treatment};

impl Conversation<'_> {
    /// Understands typed text as the current question's buttons; otherwise a one-line hint and
    /// the question again.
    pub(super) fn receive_text(&self, state: State, text: &str) -> Outcome {
        let normal = normalize(text);
        // A button's own label or number is exactly a tap, so it wins over keywords: typing a
        // ticked option's label unticks it, as tapping it does.
        if let Some(action) = self.exact_button(&state, text, &normal) {
            return self.apply_typed(state, action);
        }
        // Not sure is never a No ("no idea" has a "no" in it): on a safety question it takes
        // the safe answer and says so.
        if let State::FollowUps { marks, answers } = &state
            && mentions_any(&normal, &self.pack.ui.keywords.not_sure)
            && let Some(q) = super::next_follow_up(marks, answers)
        {
            return self.apply_typed(state, Action::Unsure(q));
        }
        // A mirror check has no safe default: "no idea" there is not a No but a nudge to pick
        // the closest answer.
        if matches!(state, State::SelfCheck { .. })
            && mentions_any(&normal, &self.pack.ui.keywords.not_sure)
        {
            return self.remind(state, self.pack.ui.hints.unsure_check.clone());
        }
        // A sentence holding a whole button label ("I have no flat marks") is that button.
        if let Some(action) = self.contained_button(&state, &normal) {
            return self.apply_typed(state, action);
        }
        // Acne a person has now ("red pimples") is prevention, not the red marks it may leave.
        // A scar kind's own words without an acne colour ("brown spots", "dark spots") stay
        // the marks they name, though "spots" is also an acne-now word.
        let k = &self.pack.ui.keywords;
        if state == State::MainMenu
            && mentions_any(&normal, &k.active)
            && !mentions_any(&normal, &k.marks)
        {
            let acne =
                AcneKind::all().find(|a| mentions_any(&normal, &self.pack.acne.get(*a).keywords));
            let scar =
                ScarKind::all().any(|k| mentions_any(&normal, &self.pack.scars.get(k).keywords));
            match acne {
                Some(acne) => return self.open(crate::knowledge::Link::Acne(acne)),
                None if !scar => return self.show(State::Prevent, None),
                None => {}
            }
        }
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
            Some(action) => self.apply_typed(state, action),
            None => self.remind(state, self.pack.ui.hints.unknown_text.clone()),
        }
    }

    /// Applies a typed action. Typing "back" or "menu" on the main menu (which has neither
    /// button) just shows the menu again; anything else that does not fit gets the hint.
    fn apply_typed(&self, state: State, action: Action) -> Outcome {
        if state == State::MainMenu && matches!(action, Action::Back | Action::StartOver) {
            return self.show(state, None);
        }
        self.apply(&state, action)
            .unwrap_or_else(|| self.remind(state.clone(), self.pack.ui.hints.unknown_text.clone()))
    }

    /// The button whose number (as the console shows them) or label was typed, if any.
    fn exact_button(&self, state: &State, raw: &str, normal: &str) -> Option<Action> {
        let buttons = self.normalized_buttons(state);
        if let Ok(n) = raw.trim().trim_end_matches('.').parse::<usize>() {
            return n
                .checked_sub(1)
                .and_then(|i| buttons.get(i))
                .map(|(_, action)| *action);
        }
        buttons
            .iter()
            .find(|(label, _)| label == normal)
            .map(|(_, action)| *action)
    }

    /// The button whose whole label (of two words or more) the text contains, the longest
    /// label first; none when two labels of that length are contained.
    fn contained_button(&self, state: &State, normal: &str) -> Option<Action> {
        let buttons = self.normalized_buttons(state);
        let mut hits: Vec<&(String, Action)> = buttons
            .iter()
            .filter(|(label, _)| label.contains(' ') && mentions(normal, label))
            .collect();
        hits.sort_by_key(|(label, _)| std::cmp::Reverse(label.chars().count()));
        match hits.as_slice() {
            [(first, action), rest @ ..]
                if rest
                    .first()
                    .is_none_or(|(l, _)| l.chars().count() < first.chars().count()) =>
            {
                Some(*action)
            }
            _ => None,
        }
    }

    /// The screen's buttons in order, each as its normalized label without the ticked mark.
    fn normalized_buttons(&self, state: &State) -> Vec<(String, Action)> {
        let mark = normalize(&self.pack.ui.buttons.selected_mark);
        self.screen(state)
            .flat_buttons()
            .map(|b| {
                let label = normalize(&b.label);
                let label = match label.strip_prefix(&mark) {
                    Some(rest) if !mark.is_empty() => rest.trim().to_owned(),
                    _ => label,
                };
                (label, b.action)
            })
            .collect()
    }

    /// The button typed words mean on this screen (keywords: "yes", "back", "keloid"…), if any.
    fn typed_action(&self, state: &State, raw: &str, normal: &str) -> Option<Action> {
        let k = &self.pack.ui.keywords;
        let raw_lower = raw.trim().to_lowercase();
        let says = |words: &[String]| words.contains(&raw_lower) || mentions_any(normal, words);
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
                // "Does the colour fade while you press?": yes is red, no is brown. A colour
                // named in the answer ("no, it stays brown") decides first.
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
                        (false, false) if says(&k.yes) => Some(Action::Flat(FlatAnswer::Fades)),
                        (false, false) if says(&k.no) => Some(Action::Flat(FlatAnswer::Stays)),
                        (false, false) => None,
                    }
                }
                (Some(_), None) if says(&k.no) => Some(Action::Dents(DentsAnswer::NoDents)),
                (Some(_), None) => crate::knowledge::DentShape::all()
                    .find(|d| {
                        self.pack
                            .dent_shape(*d)
                            .is_some_and(|s| mentions_any(normal, &s.keywords))
                    })
                    .map(|d| {
                        Action::Dents(match d {
                            crate::knowledge::DentShape::Icepick => DentsAnswer::Icepick,
                            crate::knowledge::DentShape::Boxcar => DentsAnswer::Boxcar,
                            crate::knowledge::DentShape::Rolling => DentsAnswer::Rolling,
                        })
                    }),
                (Some(_), Some(_)) if says(&k.no) => Some(Action::Raised(RaisedAnswer::NoRaised)),
                (Some(_), Some(_)) => crate::knowledge::LumpShape::all()
                    .find(|l| {
                        self.pack
                            .lump_shape(*l)
                            .is_some_and(|s| mentions_any(normal, &s.keywords))
                    })
                    .map(|l| {
                        Action::Raised(match l {
                            crate::knowledge::LumpShape::Raised => RaisedAnswer::Within,
                            crate::knowledge::LumpShape::Keloid => RaisedAnswer::Beyond,
                        })
                    }),
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
            let buttons = self.normalized_buttons(state);
            let mut hits = buttons.iter().filter(|(label, _)| mentions(label, normal));
            match (hits.next(), hits.next()) {
                (Some((_, action)), None) => Some(*action),
                _ => None,
            }
        })
    }
}

/// Shortest typed text matched against words inside labels; shorter ones are too ambiguous.
const MIN_LABEL_WORDS_CHARS: usize = 3;

fn mentions_any(text: &str, phrases: &[String]) -> bool {
    phrases.iter().any(|p| mentions(text, p))
}
