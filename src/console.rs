//! The same conversation in a terminal: no token, no network.
//!
//! Buttons become numbered choices; typing a number taps it, anything else is typed text, and
//! lines starting with `/` are the bot's commands. End of input ends the session. This is how a
//! newcomer tries the bot and how content editors review the wording.

use std::io::{self, BufRead, Write};

use crate::content::{Content, html};
use crate::conversation::{Conversation, Input, Outcome, State};

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
    loop {
        print_outcome(&mut output, &outcome)?;
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

fn print_outcome(output: &mut impl Write, outcome: &Outcome) -> io::Result<()> {
    let rule = "─".repeat(RULE_WIDTH);
    writeln!(output, "{rule}")?;
    if let Some(notice) = &outcome.notice {
        writeln!(output, "{}\n", html::to_plain(notice))?;
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
