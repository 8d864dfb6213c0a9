//! The domain: the closed sets the advice is about.
//!
//! Every set here is an enum so that the conversation, the callback codec and the content loader
//! agree at compile time on what exists. Their `snake_case` names are the keys used in
//! `dialogues/` files and in callback data, so renaming a variant is a breaking change for both.

use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumString, IntoStaticStr};

/// Derives shared by every closed set: serde keys, callback codes and iteration all use the same
/// `snake_case` name.
macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, EnumIter, EnumString, IntoStaticStr,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The stable `snake_case` key used in `dialogues/` and in callback data.
            pub fn key(self) -> &'static str {
                self.into()
            }

            /// All values, in declaration order (the order menus show them in).
            pub fn all() -> impl Iterator<Item = Self> {
                <Self as strum::IntoEnumIterator>::iter()
            }
        }

        impl ClosedSet for $name {
            fn index(self) -> usize {
                self as usize
            }
            fn members() -> Vec<Self> {
                <Self as strum::IntoEnumIterator>::iter().collect()
            }
            fn key(self) -> &'static str {
                self.into()
            }
        }
    };
}

/// A closed set whose values index a dense table (see [`crate::content::Complete`]).
pub trait ClosedSet: Copy + Ord + std::fmt::Debug + 'static {
    /// Position in declaration order.
    fn index(self) -> usize;
    /// Every value, in declaration order.
    fn members() -> Vec<Self>;
    /// The stable `snake_case` key.
    fn key(self) -> &'static str;
}

closed_set! {
    /// The four kinds of acne scar the article distinguishes.
    ScarKind {
        /// Post-inflammatory erythema: flat red or pink marks.
        Redness,
        /// Post-inflammatory hyperpigmentation: flat brown or dark marks.
        Pigmentation,
        /// Atrophic scars: dents, pits and craters.
        Dents,
        /// Raised scars: hypertrophic lumps and keloids.
        Lumps,
    }
}

closed_set! {
    /// Atrophic scar shapes (Jacob, Dover, Kaminer 2001), found through the mirror self-check.
    DentShape { Icepick, Boxcar, Rolling }
}

closed_set! {
    /// Raised scar shapes: a hypertrophic scar stays within the spot, a keloid grows beyond it.
    LumpShape { Raised, Keloid }
}

closed_set! {
    /// The five acne kinds of the article, from mildest to most severe.
    AcneKind { White, Black, Red, Yellow, Purple }
}

closed_set! {
    /// The clinic treatments the article names.
    Treatment {
        DyeLaser,
        Led,
        Iontophoresis,
        Electroporation,
        ChemicalPeel,
        LaserToning,
        FractionalLaser,
        AcneInjection,
        ComedoExtraction,
    }
}

closed_set! {
    /// The article's seven daily-care habits, in its order.
    CareHabit {
        UvProtection,
        Moisturise,
        GentleKeratinCare,
        GentleWashing,
        NoFriction,
        WhiteningIngredients,
        BalancedDiet,
    }
}

closed_set! {
    /// The follow-up questions asked after the scar types, only when they change the advice.
    FollowUp {
        /// A lump that grows, bleeds or came without a spot needs a doctor soon.
        RedFlag,
        /// Pregnancy or breastfeeding rules out some whitening ingredients and retinoids.
        Pregnancy,
        /// Inflamed acne can leave new marks: the answer adds preventing them.
        ActiveAcne,
    }
}

closed_set! {
    /// The main menu's four topics.
    Topic { Identify, Prevent, Care, Treatments }
}

closed_set! {
    /// Answers to the first self-check: press a clear glass on a flat mark.
    FlatAnswer {
        /// It fades under the glass: a red mark.
        Fades,
        /// It stays: a brown mark.
        Stays,
        /// Some fade, some stay.
        Both,
        /// No flat marks.
        NoFlat,
    }
}

closed_set! {
    /// Answers to the second self-check: side light and a gentle stretch.
    DentsAnswer { Icepick, Boxcar, Rolling, NoDents }
}

closed_set! {
    /// Answers to the third self-check: firm raised bumps where spots were.
    RaisedAnswer {
        /// Raised, but within the original spot: hypertrophic.
        Within,
        /// Growing beyond the original spot: keloid.
        Beyond,
        NoRaised,
    }
}

/// Risk that an acne kind leaves a scar, as the article grades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScarRisk {
    /// White and black acne: non-inflamed, rarely leave scars.
    Low,
    /// Red and yellow acne: inflamed, often leave marks.
    High,
    /// Purple acne: deep pus and blood, very likely to scar.
    VeryHigh,
}

impl FollowUp {
    /// Whether this question is worth asking for the chosen scar kinds.
    ///
    /// The rule follows the safety notes: the red-flag check only concerns lumps, the pregnancy
    /// question only comes up where the home care names hydroquinone (pigmentation), and
    /// active acne changes every answer. Where the pregnancy question is not asked its caution
    /// is shown anyway (the safe default), since every answer names clinic procedures. There is
    /// no question about skin colour: the darker-skin caution stands wherever lasers or peels
    /// are named, because a "No" to a proxy question must not hide it.
    pub fn applies_to(self, kinds: &[ScarKind]) -> bool {
        match self {
            Self::RedFlag => kinds.contains(&ScarKind::Lumps),
            Self::Pregnancy => kinds.contains(&ScarKind::Pigmentation),
            Self::ActiveAcne => !kinds.is_empty(),
        }
    }

    /// The follow-ups for these scar kinds, in the order they are asked, at most
    /// [`MAX_FOLLOW_UPS`]. When more apply, the lowest-priority ones are skipped and their
    /// caution is shown on the card unconditionally instead (the safe default).
    pub fn for_kinds(kinds: &[ScarKind]) -> Vec<Self> {
        // Declaration order is priority order.
        let mut chosen: Vec<Self> = Self::all().filter(|f| f.applies_to(kinds)).collect();
        chosen.truncate(MAX_FOLLOW_UPS);
        // Ask the everyday question first, the alarming one last.
        chosen.sort_by_key(|f| match f {
            Self::ActiveAcne => 0,
            Self::Pregnancy => 1,
            Self::RedFlag => 2,
        });
        chosen
    }
}

/// A topic a link can open directly: `t.me/<bot>?start=<payload>`, share buttons, inline
/// results and group commands all name topics this way.
///
/// The payloads are public URLs posted in communities: once shipped they must keep working, so
/// they are spelled out here (not derived from enum names that a refactor could change) and a
/// test pins every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Link {
    /// The advice card of one scar kind.
    Scar(ScarKind),
    /// The mirror self-checks.
    NotSure,
    /// The acne question of the prevention path.
    Prevent,
    /// The prevention advice for one acne kind.
    Acne(AcneKind),
    /// The daily-care card.
    Care,
    /// The treatment catalogue.
    Treatments,
    /// One treatment's card.
    Treatment(Treatment),
}

impl Link {
    /// Every link, in menu order.
    pub fn all() -> impl Iterator<Item = Self> {
        ScarKind::all()
            .map(Self::Scar)
            .chain([Self::NotSure, Self::Prevent])
            .chain(AcneKind::all().map(Self::Acne))
            .chain([Self::Care, Self::Treatments])
            .chain(Treatment::all().map(Self::Treatment))
    }

    /// The deep-link payload: only `A-Za-z0-9_-`, at most 64 characters.
    pub fn payload(self) -> String {
        match self {
            Self::Scar(k) => k.key().to_owned(),
            Self::NotSure => "notsure".to_owned(),
            Self::Prevent => "prevent".to_owned(),
            Self::Acne(a) => format!("acne_{}", a.key()),
            Self::Care => "care".to_owned(),
            Self::Treatments => "treatments".to_owned(),
            Self::Treatment(t) => format!("t_{}", t.key()),
        }
    }

    /// The link a payload names; `None` for anything else (the normal greeting then).
    pub fn parse(payload: &str) -> Option<Self> {
        Self::all().find(|l| l.payload() == payload)
    }

    /// Whether this link ends in an advice card (rather than a question).
    pub fn is_card(self) -> bool {
        matches!(
            self,
            Self::Scar(_) | Self::Acne(_) | Self::Care | Self::Treatment(_)
        )
    }
}

/// At most this many follow-up questions come between the scar types and the advice.
pub const MAX_FOLLOW_UPS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_strum() {
        for t in Treatment::all() {
            assert_eq!(t.key().parse::<Treatment>().ok(), Some(t));
        }
        assert_eq!(ScarKind::Dents.key(), "dents");
        assert_eq!(Treatment::FractionalLaser.key(), "fractional_laser");
    }

    #[test]
    fn single_kinds_get_at_most_two_follow_ups() {
        // Identify + type + Done + follow-ups must stay within five taps.
        for kind in ScarKind::all() {
            assert!(FollowUp::for_kinds(&[kind]).len() <= 2, "{kind:?}");
        }
    }

    #[test]
    fn follow_ups_are_capped_and_keep_the_red_flag() {
        let all: Vec<_> = ScarKind::all().collect();
        let asked = FollowUp::for_kinds(&all);
        assert!(asked.len() <= MAX_FOLLOW_UPS);
        assert!(asked.contains(&FollowUp::RedFlag));
        assert!(asked.contains(&FollowUp::Pregnancy));
    }
}
