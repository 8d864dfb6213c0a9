//! The bot's commands: one closed set, parsed in one place.
//!
//! Every face goes through [`Command`]: the conversation turns one into an [`Input`](super::Input),
//! the Telegram face offers them in the command menus (`setMyCommands`), the console accepts
//! them typed. Topic commands (`/redness`, `/care`) are not here: each link payload is also a
//! command ([`crate::knowledge::Link::payload`]).

/// A command the bot has, by its name without the slash.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::EnumCount,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Command {
    Start,
    Help,
    Settings,
    Cancel,
    Privacy,
    Forget,
}

impl Command {
    /// The commands offered in groups: the guide's entry and its help (the topic commands are
    /// added by the Telegram face).
    pub const IN_GROUPS: [Self; 2] = [Self::Start, Self::Help];

    /// Parses a name without the slash or `@bot`, in any letter case.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// The name as typed after the slash.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn names_round_trip_in_any_case() {
        for command in Command::iter() {
            assert_eq!(Command::parse(command.name()), Some(command));
            assert_eq!(
                Command::parse(&command.name().to_ascii_uppercase()),
                Some(command)
            );
        }
        assert_eq!(Command::parse("redness"), None);
        assert_eq!(Command::parse(""), None);
    }
}
