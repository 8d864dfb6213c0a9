//! Commands: the command line in a message, and the command menus Telegram shows.
//!
//! The set of commands is [`Command`], shared with every face; this module adds what only
//! Telegram has: `/name@bot` addressing, and the `setMyCommands` lists.

use teloxide::types::{BotCommand, Me};

use crate::content::{Pack, html};
use crate::conversation::{Command, Input};
use crate::knowledge::{Link, ScarKind};
use strum::IntoEnumIterator;

/// A command in a message: `/name[@bot] [argument]`.
pub(crate) struct CommandLine<'a> {
    pub(crate) name: &'a str,
    pub(crate) argument: &'a str,
    /// `Some(true)` when it names this bot, `Some(false)` another bot, `None` no bot at all.
    pub(crate) addressed: Option<bool>,
}

impl<'a> CommandLine<'a> {
    pub(crate) fn parse(text: &'a str, me: &Me) -> Option<Self> {
        let text = text.strip_prefix('/')?;
        let (head, argument) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let (name, addressed) = match head.split_once('@') {
            Some((name, bot)) => {
                let mine = me.user.username.as_deref();
                (
                    name,
                    Some(mine.is_some_and(|m| bot.eq_ignore_ascii_case(m))),
                )
            }
            None => (head, None),
        };
        Some(Self {
            name,
            argument: argument.trim(),
            addressed,
        })
    }

    pub(crate) fn input(&self) -> Input {
        match self.addressed {
            Some(false) => Input::UnknownCommand,
            _ => Input::command(self.name, self.argument).unwrap_or(Input::UnknownCommand),
        }
    }
}

/// What a command does, in a pack's language, for the command menu.
fn description(pack: &Pack, command: Command) -> &str {
    let d = &pack.ui.commands.descriptions;
    match command {
        Command::Start => &d.start,
        Command::Help => &d.help,
        Command::Settings => &d.settings,
        Command::Cancel => &d.cancel,
        Command::Privacy => &d.privacy,
        Command::Forget => &d.forget,
    }
}

/// The commands offered in private chats, in a pack's language: every [`Command`].
pub fn private_commands(pack: &Pack) -> Vec<BotCommand> {
    Command::iter()
        .map(|command| BotCommand::new(command.name(), description(pack, command)))
        .collect()
}

/// The commands offered in groups: the guide's entry and its main topics (each a link payload,
/// so `/redness@bot` opens the same topic as the `?start=redness` link).
pub fn group_commands(pack: &Pack) -> Vec<BotCommand> {
    let mut commands: Vec<_> = Command::IN_GROUPS
        .into_iter()
        .map(|command| BotCommand::new(command.name(), description(pack, command)))
        .collect();
    let topics =
        ScarKind::all()
            .map(Link::Scar)
            .chain([Link::Prevent, Link::Care, Link::Treatments]);
    commands.extend(topics.map(|link| {
        let description = match link {
            Link::Scar(kind) => pack.scars.get(kind).label.as_str(),
            _ => pack.link_title(link),
        };
        BotCommand::new(link.payload(), html::to_plain(description))
    }));
    commands
}
