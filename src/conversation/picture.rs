//! Which picture a screen shows, and its words. The core names the picture only: the adapters
//! hold the rendered bytes ([`crate::pictures::Pictures`]) and decide how to show it.
//!
//! The self-checks ask people to judge shapes they may never have seen drawn, so each check
//! comes with its drawing, and the answers it numbers carry the same numbers as the dots above
//! each drawing ("1 · Narrow, deep pinholes"). The words stay as they are, so a person who
//! cannot see the picture answers from them alone.

use super::{Conversation, State};
use crate::pictures::Picture;

impl<'a> Conversation<'a> {
    /// The caption under the picture (Telegram HTML): what it shows, what each numbered
    /// drawing is, and its sources.
    pub fn caption(&self, picture: Picture) -> &'a str {
        &self.pack.pictures.get(picture).caption
    }

    /// The picture in words (plain text).
    pub fn alt(&self, picture: Picture) -> &'a str {
        &self.pack.pictures.get(picture).alt
    }

    /// An answer's label with the number of its drawing: "1 · Narrow, deep pinholes".
    pub(super) fn numbered(number: u8, label: &str) -> String {
        format!("{number} · {label}")
    }
}

/// The picture a state's screen shows: the drawing each self-check asks about.
pub fn picture_of(state: &State) -> Option<Picture> {
    match state {
        State::SelfCheck { checks } => Some(match (checks.flat, checks.dents) {
            (None, _) => Picture::PressTest,
            (Some(_), None) => Picture::Dents,
            (Some(_), Some(_)) => Picture::Raised,
        }),
        _ => None,
    }
}
