//! End-to-end tests of the compiled binary, the way an operator and a user meet it: its exit
//! codes and stderr lines, the console mode without a token, `check`, and the Telegram mode
//! against the [`FakeTelegram`] of `fake_api.rs`, run by the [`BotProcess`] harness of
//! `harness.rs`.
//!
//! Every run starts in a fresh temporary directory (so no developer `.env` is loaded), with the
//! bot's variables removed or set explicitly, and a guard kills the process when a test ends.
//! Waits poll with short sleeps up to [`DEADLINE`] and fail with a message saying what was
//! awaited.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use scar_guide::content::{Content, DEFAULT_LANGUAGE, html};
use scar_guide::conversation::{Input, State};
use scar_guide::knowledge::ScarKind;
use scar_guide::telegram;
use serde_json::{Value, json};
use teloxide::types::BotCommand;

use crate::fake_api::{Call, FakeTelegram, Setup, TOKEN_SECRET, TgUser};
use crate::harness::{BotProcess, TempDir, callback_buttons, free_addr, run_command};
use crate::util::{conversation, dialogues_dir, english, expected_messages};

/// How long any one wait may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// The user of the Telegram tests.
const USER_ID: i64 = 424_242;

fn ada() -> TgUser {
    TgUser::new(USER_ID, "Ada", "en")
}

/// Copies the directory tree `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("dir entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// Runs `cmd` (which runs in `dir`) to its end with `stdin` written to it (or stdin null),
/// returning the status, stdout and stderr.
fn run_to_end(cmd: Command, dir: TempDir, stdin: Option<&str>) -> (ExitStatus, String, String) {
    run_command(cmd, dir, stdin, DEADLINE)
}

/// The only non-blank line of `stderr`; fails when there are more or none.
fn single_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    lines[0]
}

/// Waits until the calls satisfy `done` and returns its answer, or fails naming `what`.
fn wait_for<T>(api: &FakeTelegram, what: &str, done: impl Fn(&[Call]) -> Option<T>) -> T {
    api.wait_for_call(what, DEADLINE, done)
}

/// Waits for the first call of `method` (lowercased) and returns it.
fn first_call(api: &FakeTelegram, method: &str) -> Call {
    wait_for(api, method, |calls| {
        calls.iter().find(|c| c.method == method).cloned()
    })
}

/// Waits for the answer to a /start: every message the bot sends up to and including the
/// first one with a keyboard (the greeting on its own, then the main menu).
fn wait_for_greeting(api: &FakeTelegram) -> Vec<Call> {
    wait_for(api, "the greeting and the main menu", |calls| {
        let sent: Vec<Call> = calls
            .iter()
            .filter(|c| c.method == "sendmessage")
            .cloned()
            .collect();
        let menu = sent
            .iter()
            .position(|c| !c.body["reply_markup"].is_null())?;
        Some(sent[..=menu].to_vec())
    })
}

/// A profile call the Bot API refuses (400), and one failing on its side (500).
const REFUSED: Setup = Setup::Error(400, "Bad Request: failed on purpose by the fake Bot API");
const SERVER_ERROR: Setup = Setup::Error(500, "Internal Server Error");

/// The texts of sendMessage calls.
fn sent_texts(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.body["text"].as_str().expect("a text").to_owned())
        .collect()
}

mod bot_api;
mod offline;
mod updates;
