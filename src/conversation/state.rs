//! Where a chat is: the states, the parts of an answer, and how the marks were found.

use super::*;

/// Where a chat is in the conversation. Each variant carries exactly the answers so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// No conversation yet, or it was forgotten.
    #[default]
    Idle,
    MainMenu,
    /// "What do your marks look like?" with the kinds ticked so far.
    Identify {
        picked: Vec<ScarKind>,
    },
    /// The mirror self-checks; the current check is the first one unanswered.
    SelfCheck {
        checks: Checks,
    },
    /// The follow-up questions; the current one is the first of [`FollowUp::for_kinds`] unanswered.
    FollowUps {
        marks: Marks,
        answers: Vec<(FollowUp, bool)>,
    },
    /// The answer for the marks found: a summary, or one of its details.
    Results {
        marks: Marks,
        answers: Vec<(FollowUp, bool)>,
        #[serde(default)]
        view: View,
    },
    /// "Which acne do you have now?"
    Prevent,
    /// The prevention answer for one acne kind.
    PreventAdvice {
        acne: AcneKind,
        #[serde(default)]
        view: View,
    },
    /// The daily-care answer.
    Care {
        #[serde(default)]
        view: View,
    },
    /// "Which treatment would you like explained?"
    Treatments,
    /// One treatment explained; Back returns to the list.
    TreatmentInfo {
        treatment: Treatment,
        #[serde(default)]
        view: View,
    },
    /// `/settings`: "Which language should I use?", then back to where the person was.
    Settings {
        then: Box<State>,
    },
}

/// Which part of an answer is on screen. Every answer opens on its summary (one phone screen);
/// the details and the sources are one tap away, edited into the same message, and Back
/// returns to the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum View {
    #[default]
    Summary,
    Details(Detail),
    Sources,
}

/// A part of an answer with details of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Detail {
    /// One scar kind of an identification.
    Scar(ScarKind),
    /// One daily-care habit.
    Habit(CareHabit),
    /// The rest of an answer that is one part (an acne kind).
    More,
}

/// How the scar kinds were found: ticked directly, or through the self-checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Marks {
    Picked(Vec<ScarKind>),
    Checked(Checks),
}

/// Answers to the three mirror self-checks, in the order they are asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    pub flat: Option<FlatAnswer>,
    pub dents: Option<DentsAnswer>,
    pub raised: Option<RaisedAnswer>,
}

impl Checks {
    /// The scar kinds the answers point to, in menu order.
    pub fn kinds(&self) -> Vec<ScarKind> {
        let mut kinds = Vec::new();
        match self.flat {
            Some(FlatAnswer::Fades) => kinds.push(ScarKind::Redness),
            Some(FlatAnswer::Stays) => kinds.push(ScarKind::Pigmentation),
            Some(FlatAnswer::Both) => kinds.extend([ScarKind::Redness, ScarKind::Pigmentation]),
            Some(FlatAnswer::NoFlat) | None => {}
        }
        if self.dent_shape().is_some() {
            kinds.push(ScarKind::Dents);
        }
        if self.lump_shape().is_some() {
            kinds.push(ScarKind::Lumps);
        }
        kinds
    }

    pub fn dent_shape(&self) -> Option<DentShape> {
        match self.dents? {
            DentsAnswer::Icepick => Some(DentShape::Icepick),
            DentsAnswer::Boxcar => Some(DentShape::Boxcar),
            DentsAnswer::Rolling => Some(DentShape::Rolling),
            DentsAnswer::NoDents => None,
        }
    }

    pub fn lump_shape(&self) -> Option<LumpShape> {
        match self.raised? {
            RaisedAnswer::Within => Some(LumpShape::Raised),
            RaisedAnswer::Beyond => Some(LumpShape::Keloid),
            RaisedAnswer::NoRaised => None,
        }
    }

    /// Clears the last answer given, for Back. Returns false when there was none.
    pub(super) fn undo_last(&mut self) -> bool {
        if self.raised.take().is_some() || self.dents.take().is_some() {
            return true;
        }
        self.flat.take().is_some()
    }
}

impl Marks {
    pub fn kinds(&self) -> Vec<ScarKind> {
        match self {
            Self::Picked(kinds) => ScarKind::all().filter(|k| kinds.contains(k)).collect(),
            Self::Checked(checks) => checks.kinds(),
        }
    }

    pub(super) fn checks(&self) -> Option<&Checks> {
        match self {
            Self::Checked(c) => Some(c),
            Self::Picked(_) => None,
        }
    }
}

/// The state a link opens, as if reached through the menus.
pub(crate) fn link_state(link: Link) -> State {
    match link {
        Link::Scar(kind) => State::Results {
            marks: Marks::Picked(vec![kind]),
            answers: Vec::new(),
            view: View::Summary,
        },
        Link::NotSure => State::SelfCheck {
            checks: Checks::default(),
        },
        Link::Prevent => State::Prevent,
        Link::Acne(acne) => State::PreventAdvice {
            acne,
            view: View::Summary,
        },
        Link::Care => State::Care {
            view: View::Summary,
        },
        Link::Treatments => State::Treatments,
        Link::Treatment(treatment) => State::TreatmentInfo {
            treatment,
            view: View::Summary,
        },
    }
}

/// The same answer with another part on screen; questions have no parts.
pub(crate) fn with_view(state: &State, view: View) -> State {
    let mut state = state.clone();
    match &mut state {
        State::Results { view: v, .. }
        | State::PreventAdvice { view: v, .. }
        | State::Care { view: v }
        | State::TreatmentInfo { view: v, .. } => *v = view,
        _ => {}
    }
    state
}

/// The part of the answer on screen, if the state is an answer.
pub fn view_of(state: &State) -> Option<View> {
    match state {
        State::Results { view, .. }
        | State::PreventAdvice { view, .. }
        | State::Care { view }
        | State::TreatmentInfo { view, .. } => Some(*view),
        _ => None,
    }
}
