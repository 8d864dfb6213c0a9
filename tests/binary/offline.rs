//! The binary without Telegram: the console mode (the default without a token), exit codes and
//! one-line errors for a missing or malformed token, and `check`.

use super::*;

#[test]
fn no_subcommand_and_no_token_runs_the_console_with_one_note() {
    let dir = TempDir::new("console-default");
    let cmd = BotProcess::command(dir.path());
    let (status, stdout, stderr) = run_to_end(cmd, dir, Some("1\n"));
    assert!(status.success(), "{status:?}\nstderr: {stderr}");
    assert!(single_line(&stderr).contains("TELOXIDE_TOKEN"), "{stderr}");
    let pack = english();
    let main_question = html::to_plain(&pack.ui.main_question);
    let identify = html::to_plain(&pack.ui.identify.question);
    assert!(
        stdout.contains(&main_question),
        "no main menu in:\n{stdout}"
    );
    assert!(
        stdout.contains(&identify),
        "no identify question in:\n{stdout}"
    );
    assert!(
        stdout.find(&main_question) < stdout.find(&identify),
        "the identify question came before the main menu:\n{stdout}"
    );
}

#[test]
fn run_without_a_token_fails_with_one_line() {
    let dir = TempDir::new("run-no-token");
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("run");
    let (status, _, stderr) = run_to_end(cmd, dir, None);
    assert!(!status.success(), "`run` succeeded without a token");
    assert!(single_line(&stderr).contains("TELOXIDE_TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn run_with_a_malformed_token_fails_without_echoing_it() {
    let dir = TempDir::new("run-bad-token");
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("run")
        .env("TELOXIDE_TOKEN", "not-a-token-SECRET123");
    let (status, stdout, stderr) = run_to_end(cmd, dir, None);
    assert!(!status.success(), "`run` accepted a malformed token");
    assert!(stderr.contains("TELOXIDE_TOKEN"), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(
            !shown.contains("SECRET123"),
            "the token was echoed:\n{shown}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_accepts_the_built_in_dialogues() {
    let dir = TempDir::new("check");
    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("check");
    let (status, stdout, stderr) = run_to_end(cmd, dir, None);
    assert!(status.success(), "{status:?}\nstderr: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
}

#[test]
fn check_refuses_a_copy_with_a_missing_key_and_names_the_file() {
    let dir = TempDir::new("check-broken");
    let copy = dir.path().join("dialogues");
    copy_dir(&dialogues_dir(), &copy);
    let ui = copy.join("en").join("ui.toml");
    let text = std::fs::read_to_string(&ui).expect("read ui.toml");
    let broken: String = text
        .lines()
        .filter(|l| !l.starts_with("main_question ="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(broken, text, "ui.toml has no main_question line to remove");
    std::fs::write(&ui, broken).expect("write ui.toml");

    let mut cmd = BotProcess::command(dir.path());
    cmd.arg("--dialogues").arg(&copy).arg("check");
    let (status, _, stderr) = run_to_end(cmd, dir, None);
    assert!(!status.success(), "a copy without main_question passed");
    assert!(
        stderr.contains("en/ui.toml"),
        "the file is not named:\n{stderr}"
    );
    assert!(
        stderr.contains("main_question"),
        "the key is not named:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
