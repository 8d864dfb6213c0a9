//! The same conversation in a terminal: no token, no network.
//!
//! Buttons become numbered choices; typing a number taps it, anything else is typed text, and
//! lines starting with `/` are the bot's commands. End of input ends the session. This is how a
//! newcomer tries the bot and how content editors review the wording.
//!
//! A screen with a picture says where its PNG is instead of showing it: the picture is written
//! once to [`pictures_dir`] and a line `[picture: <what it is> — <path>]` stands for it.

use std::collections::BTreeSet;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use crate::content::{Content, html};
use crate::conversation::{Conversation, Input, Outcome, State, picture_of};
use crate::pictures::Picture;

/// Width of the rule printed between messages.
const RULE_WIDTH: usize = 60;

/// Runs the conversation over `input` and `output` until end of input.
pub fn run(
    content: &Content,
    language: Option<&str>,
    input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    let mut pack = content.pack(language);
    let mut outcome = Conversation::new(content, pack).step(&State::Idle, Input::Start);
    let mut lines = input.lines();
    // The picture on the screen shown last, and the pictures written out so far.
    let mut before = None;
    let mut written = BTreeSet::new();
    loop {
        let shown = picture_of(&outcome.state).filter(|_| outcome.screen.is_some());
        let picture = shown
            .filter(|p| Some(*p) != before)
            .map(|p| picture_line(&Conversation::new(content, pack), p, &mut written));
        before = shown;
        print_outcome(&mut output, &outcome, picture.as_deref())?;
        writeln!(
            output,
            "\n{}",
            html::to_plain(&pack.ui.hints.console_prompt)
        )?;
        write!(output, "> ")?;
        output.flush()?;
        let Some(line) = lines.next().transpose()? else {
            writeln!(output)?;
            return Ok(());
        };
        if line.trim().is_empty() {
            continue;
        }
        let input = line_input(&line, &outcome);
        // /forget leaves no screen; the next line starts afresh like a new chat.
        outcome = Conversation::new(content, pack).step(&outcome.state, input);
        if let Some(code) = outcome.language {
            pack = content.pack(Some(code.as_str()));
        }
    }
}

fn print_outcome(
    output: &mut impl Write,
    outcome: &Outcome,
    picture: Option<&str>,
) -> io::Result<()> {
    let rule = "─".repeat(RULE_WIDTH);
    writeln!(output, "{rule}")?;
    if let Some(keep) = &outcome.keep {
        writeln!(output, "{}\n{rule}", html::to_plain(keep))?;
    }
    if let Some(notice) = &outcome.notice {
        writeln!(output, "{}\n", html::to_plain(notice))?;
    }
    if let Some(line) = picture {
        writeln!(output, "{line}\n")?;
    }
    if let Some(screen) = &outcome.screen {
        writeln!(output, "{}", html::to_plain(&screen.text))?;
        for (i, button) in screen.flat_buttons().enumerate() {
            writeln!(output, "  {}. {}", i + 1, button.label)?;
        }
    }
    Ok(())
}

/// What a typed console line means: a command, a numbered button, or text.
pub fn line_input(line: &str, outcome: &Outcome) -> Input {
    let line = line.trim();
    if line.starts_with('/') {
        return Input::from_command_line(line);
    }
    let tapped = line
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| {
            outcome
                .screen
                .as_ref()?
                .flat_buttons()
                .nth(i)
                .map(|b| b.action)
        });
    match tapped {
        Some(action) => Input::Tap(action),
        None => Input::Text(line.to_owned()),
    }
}

/// Where the console writes the pictures: `scar-guide-pictures/` in the system's temp folder.
pub fn pictures_dir() -> PathBuf {
    std::env::temp_dir().join("scar-guide-pictures")
}

/// The line that stands for a picture: the first line of its caption and where its PNG is,
/// written there the first time this session shows it.
fn picture_line(
    conv: &Conversation<'_>,
    picture: Picture,
    written: &mut BTreeSet<Picture>,
) -> String {
    let caption = html::to_plain(conv.caption(picture));
    let what = caption.lines().next().unwrap_or_default();
    let path = pictures_dir().join(format!("{}.png", picture.key()));
    let saved = if written.contains(&picture) {
        Ok(())
    } else {
        write_png(picture, &path)
    };
    match saved {
        Ok(()) => {
            written.insert(picture);
            format!("[picture: {what} — {}]", path.display())
        }
        Err(err) => format!("[picture: {what} — could not be written: {err}]"),
    }
}

/// Renders `picture` into `path`, through a file of its own renamed into place, so a viewer (or
/// another console) never sees half a PNG.
fn write_png(picture: Picture, path: &Path) -> Result<(), String> {
    let png = crate::pictures::render(picture).map_err(|e| e.to_string())?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let partial = dir.join(format!(".{}.{}.png", picture.key(), std::process::id()));
    std::fs::write(&partial, png).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, path).map_err(|e| e.to_string())
}
