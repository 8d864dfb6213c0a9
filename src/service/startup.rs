//! Start-up calls: the Bot API is asked until it answers (or the stop comes), and the bot's
//! profile (command menus, descriptions) is set in every language, each call retried with the
//! same capped backoff a bounded number of times.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::BotCommandScope;
use teloxide::{ApiError, RequestError};

use super::error::RunError;
use super::shutdown::Shutdown;
use crate::content::{Content, DEFAULT_LANGUAGE};
use crate::telegram::commands::{group_commands, private_commands};
use crate::telegram::delivery::{self, error_kind};

/// First wait after a failed start-up call; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How many times one profile call is made before it is left as a warning: with the backoff,
/// about a minute of waiting (more after 5xx answers, on which teloxide waits 10 s itself).
pub const PROFILE_ATTEMPTS: u32 = 6;

/// How a retried call ended, short of success.
enum Failure {
    /// The stop came first.
    Stopped,
    /// Refused (401, other 4xx), or still failing after the last attempt allowed.
    Gave(RequestError),
}

/// Makes a call until it answers, retrying what may pass (5xx, network, 429) with capped
/// exponential backoff (at least as long as a 429 asks), at most `attempts` times if given.
async fn retried<Q>(
    what: &str,
    shutdown: &Shutdown,
    attempts: Option<u32>,
    request: impl Fn() -> Q,
) -> Result<Output<Q>, Failure>
where
    Q: Request<Err = RequestError>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut made = 0;
    loop {
        made += 1;
        let result = tokio::select! {
            result = request().send() => result,
            () = shutdown.requested() => return Err(Failure::Stopped),
        };
        let err = match result {
            Ok(output) => return Ok(output),
            Err(err) if !delivery::is_transient(&err) => return Err(Failure::Gave(err)),
            Err(err) if attempts.is_some_and(|most| made >= most) => {
                return Err(Failure::Gave(err));
            }
            Err(err) => err,
        };
        let wait = match &err {
            RequestError::RetryAfter(after) => backoff.max(after.duration()),
            _ => backoff,
        };
        log::warn!(
            "{what} failed ({}); retrying in {}s",
            error_kind(&err),
            wait.as_secs()
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.requested() => return Err(Failure::Stopped),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Makes a start-up call until it answers (see [`retried`]). `Ok(None)` if asked to stop
/// first, even mid-call; a refusal (401, other 4xx) ends it with an error.
pub(super) async fn until_ok<Q>(
    what: &'static str,
    shutdown: &Shutdown,
    request: impl Fn() -> Q,
) -> Result<Option<Output<Q>>, RunError>
where
    Q: Request<Err = RequestError>,
{
    match retried(what, shutdown, None, request).await {
        Ok(output) => Ok(Some(output)),
        Err(Failure::Stopped) => Ok(None),
        Err(Failure::Gave(RequestError::Api(ApiError::InvalidToken))) => {
            Err(RunError::InvalidToken)
        }
        Err(Failure::Gave(err)) => Err(RunError::Refused(what, error_kind(&err))),
    }
}

/// Sets the bot's commands (private chats and groups), description and short description,
/// once per language. The default language is set without a code so it covers everyone else.
/// A call that fails in a way that may pass is retried (at most [`PROFILE_ATTEMPTS`] times);
/// every failure left is a warning: the bot works without its profile. Stops with `shutdown`.
pub async fn register_profile(bot: &Bot, content: &Content, shutdown: &Shutdown) {
    for pack in content.packs() {
        let code = (pack.code != DEFAULT_LANGUAGE).then(|| pack.code.clone());
        let p = &pack.ui.profile;
        // The four requests are different types sharing only the `language_code` setter.
        macro_rules! in_language {
            ($what:literal, $request:expr) => {{
                let what = concat!("setting the ", $what);
                let result = retried(what, shutdown, Some(PROFILE_ATTEMPTS), || {
                    let mut request = $request;
                    if let Some(code) = &code {
                        request = request.language_code(code.clone());
                    }
                    request
                })
                .await;
                ($what, result.map(drop))
            }};
        }
        let results = [
            in_language!(
                "private commands",
                bot.set_my_commands(private_commands(pack))
                    .scope(BotCommandScope::AllPrivateChats)
            ),
            in_language!(
                "group commands",
                bot.set_my_commands(group_commands(pack))
                    .scope(BotCommandScope::AllGroupChats)
            ),
            in_language!(
                "description",
                bot.set_my_description().description(p.description.clone())
            ),
            in_language!(
                "short description",
                bot.set_my_short_description()
                    .short_description(p.short_description.clone())
            ),
        ];
        for (what, result) in results {
            match result {
                Ok(()) => {}
                Err(Failure::Stopped) => return,
                Err(Failure::Gave(err)) => log::warn!(
                    "could not set the {} {what}: {}",
                    pack.code,
                    error_kind(&err)
                ),
            }
        }
    }
}
