//! Wiring only: configuration, logging, content, then the Telegram bot (stopped by SIGINT or
//! SIGTERM) or the console.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use scar_guide::config::{Config, ConfigError};
use scar_guide::content::Content;
use scar_guide::service;

/// Scar Guide: acne-scar advice on Telegram, or in this terminal with `console`.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Load wording from this dialogues/ folder instead of the copy built into the binary.
    #[arg(long, global = true, value_name = "DIR")]
    dialogues: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Run the Telegram bot; without TELOXIDE_TOKEN, fail. With no subcommand at all, a missing
    /// token starts the console instead, so a first `cargo run` always shows the bot.
    Run,
    /// Run the conversation in this terminal: no token, no network.
    Console {
        /// Language code of the wording to use.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Check the dialogues/ content and exit.
    Check,
}

fn main() -> ExitCode {
    // A missing .env file is normal; the environment alone is enough.
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();

    if matches!(cli.command, Some(Mode::Check)) {
        return check(cli.dialogues.as_deref());
    }
    let content = match &cli.dialogues {
        Some(dir) => Content::from_dir(dir),
        None => Content::embedded(),
    };
    let content = match content {
        Ok(content) => Arc::new(content),
        Err(err) => {
            eprintln!("error: invalid content: {err}");
            return ExitCode::FAILURE;
        }
    };

    let explicit = cli.command.is_some();
    match cli.command.unwrap_or(Mode::Run) {
        Mode::Check => check(cli.dialogues.as_deref()),
        Mode::Console { lang } => console(&content, &lang),
        Mode::Run => {
            let config = match Config::from_env() {
                Ok(config) => config,
                Err(errors) if !explicit && errors.contains(&ConfigError::MissingToken) => {
                    eprintln!(
                        "note: TELOXIDE_TOKEN is not set, so this is the console mode (see .env.example to run the Telegram bot)"
                    );
                    return console(&content, "en");
                }
                Err(errors) => {
                    // One line per problem, so all of them can be fixed in one go.
                    for err in errors {
                        eprintln!("error: {err}");
                    }
                    return ExitCode::FAILURE;
                }
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("error: cannot start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(service::run(config, content, service::shutdown::signals())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `check`: every content rule over every file and every screen of every path, all problems
/// printed at once (one `error:` line each), exit status 1 if there is any.
fn check(dir: Option<&std::path::Path>) -> ExitCode {
    let files = match dir {
        Some(dir) => match Content::dir_files(dir) {
            Ok(files) => files,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        },
        None => Content::embedded_files(),
    };
    let mut problems = scar_guide::content::lint::lint(&files);
    // The pictures are compiled in whatever --dialogues says: parsed, rendered, within
    // Telegram's photo limits, each source cited.
    let drawings = scar_guide::pictures::check();
    let (content, found) = Content::check_files(files);
    problems.extend(found);
    let languages = match content {
        Some(content) => {
            // The screens are walked only over content that loads cleanly.
            problems.extend(scar_guide::conversation::walk::check_limits(&content));
            content.packs().count()
        }
        None => 0,
    };
    if problems.is_empty() && drawings.is_empty() {
        println!(
            "dialogues OK: {languages} language(s), every screen of every path within the limits, every picture renders"
        );
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        eprintln!("error: {p}");
    }
    for p in &drawings {
        eprintln!("error: {p}");
    }
    eprintln!(
        "{} problem(s) in dialogues/",
        problems.len() + drawings.len()
    );
    ExitCode::FAILURE
}

/// The conversation over stdin and stdout.
fn console(content: &Content, lang: &str) -> ExitCode {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match scar_guide::console::run(content, Some(lang), stdin, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: console: {err}");
            ExitCode::FAILURE
        }
    }
}
