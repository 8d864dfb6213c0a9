//! Why the service could not start or keep running: each one ends the process with status 1.

use std::net::SocketAddr;

/// Why the bot could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "the Bot API rejected TELOXIDE_TOKEN (401 Unauthorized): check the token from @BotFather"
    )]
    InvalidToken,
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("the Bot API refused {0}: {1}")]
    Refused(&'static str, String),
    #[error("the dispatcher could not start: {0}")]
    Dispatch(String),
    #[error("a picture does not render ({0}): run `scar-guide check`")]
    Pictures(String),
}
