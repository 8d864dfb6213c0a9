//! What a person does, as the conversation sees it: buttons (actions), commands, typed text.

use super::*;

/// What a button does. Telegram encodes it as callback data, the console as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Topic(Topic),
    Toggle(ScarKind),
    Done,
    NotSure,
    Flat(FlatAnswer),
    Dents(DentsAnswer),
    Raised(RaisedAnswer),
    Answer(FollowUp, bool),
    /// "Not sure" to a follow-up: counted as yes, the safe answer, and said so.
    Unsure(FollowUp),
    Acne(AcneKind),
    Treatment(Treatment),
    /// Choose the language with this code (`/settings`).
    Language(LanguageCode),
    /// Open a part of the answer on screen (details, sources).
    Show(View),
    /// Send the summary to bring to a dermatologist, a message of its own.
    ForDoctor,
    Back,
    StartOver,
}

/// A language code as a `Copy` value, so actions stay `Copy` and callback data stays short.
/// Only lower-case ASCII letters, digits and '-', 2 to 8 of them ("en", "ja", "pt-br").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode {
    bytes: [u8; 8],
    len: u8,
}

impl LanguageCode {
    pub fn parse(code: &str) -> Option<Self> {
        let valid = (2..=8).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return None;
        }
        let mut bytes = [0; 8];
        bytes[..code.len()].copy_from_slice(code.as_bytes());
        Some(Self {
            bytes,
            len: code.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was ever stored, so this cannot fail; an empty code would be refused later.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for LanguageCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LanguageCode({})", self.as_str())
    }
}

/// Something a person did, as the conversation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `/start`, or `/start` with a payload that names no topic.
    Start,
    /// `/start <payload>` from a deep link: open that topic directly.
    Open(Link),
    /// `/settings`: choose the language.
    Settings,
    Help,
    /// `/cancel`: back to the main menu.
    Cancel,
    Privacy,
    /// `/forget`: erase the state now.
    Forget,
    /// A command the bot does not have.
    UnknownCommand,
    /// A button on the current menu.
    Tap(Action),
    /// A button on a menu that is no longer current, or after the state expired.
    Stale,
    /// Callback data that does not parse: forged or from another version.
    Forged,
    /// Typed text.
    Text(String),
    /// A photo, sticker, voice message, document or anything else that is not text.
    Media,
    /// An edit of an earlier message.
    Edited,
}

impl Input {
    /// A command by name (without the slash or `@bot`) and its argument. Every face parses
    /// commands here, so `/start redness`, `/redness` and a `t.me/<bot>?start=redness` link all
    /// open the same topic. `None` for a name the bot does not have.
    pub fn command(name: &str, argument: &str) -> Option<Self> {
        let input = match Command::parse(name) {
            Some(Command::Start) => Link::parse(argument.trim()).map_or(Self::Start, Self::Open),
            Some(Command::Help) => Self::Help,
            Some(Command::Cancel) => Self::Cancel,
            Some(Command::Privacy) => Self::Privacy,
            Some(Command::Forget) => Self::Forget,
            Some(Command::Settings) => Self::Settings,
            // Topic commands: each link payload is also a command ("/redness", "/care").
            None => Self::Open(Link::parse(&name.to_ascii_lowercase())?),
        };
        Some(input)
    }

    /// Typed text that starts with '/': the command, or [`Input::UnknownCommand`].
    pub fn from_command_line(line: &str) -> Self {
        let line = line.trim().trim_start_matches('/');
        let (name, argument) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        Self::command(name, argument).unwrap_or(Self::UnknownCommand)
    }
}
