//! Start-up calls: the Bot API is asked until it answers (or the stop comes), and the bot's
//! profile (command menus, descriptions) is set in every language.

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

/// Makes a start-up call until it answers, retrying what may pass (5xx, network, 429) with
/// capped exponential backoff. `Ok(None)` if asked to stop first, even mid-call; a refusal
/// (401, other 4xx) ends it with an error.
pub(super) async fn until_ok<Q>(
    what: &'static str,
    shutdown: &Shutdown,
    request: impl Fn() -> Q,
) -> Result<Option<Output<Q>>, RunError>
where
    Q: Request<Err = RequestError>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let result = tokio::select! {
            result = request().send() => result,
            () = shutdown.requested() => return Ok(None),
        };
        match result {
            Ok(output) => return Ok(Some(output)),
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(RunError::InvalidToken),
            Err(err) if !delivery::is_transient(&err) => {
                return Err(RunError::Refused(what, error_kind(&err)));
            }
            Err(err) => {
                log::warn!(
                    "{what} failed ({}); retrying in {}s",
                    error_kind(&err),
                    backoff.as_secs()
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.requested() => return Ok(None),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Sets the bot's commands (private chats and groups), description and short description,
/// once per language. The default language is set without a code so it covers everyone else.
/// Every failure is a warning: the bot works without its profile.
pub async fn register_profile(bot: &Bot, content: &Content) {
    for pack in content.packs() {
        let code = (pack.code != DEFAULT_LANGUAGE).then(|| pack.code.clone());
        // The four requests are different types sharing only the `language_code` setter.
        macro_rules! in_language {
            ($request:expr) => {{
                let mut request = $request;
                if let Some(code) = &code {
                    request = request.language_code(code.clone());
                }
                request.await.map(drop)
            }};
        }
        let p = &pack.ui.profile;
        let results = [
            (
                "private commands",
                in_language!(
                    bot.set_my_commands(private_commands(pack))
                        .scope(BotCommandScope::AllPrivateChats)
                ),
            ),
            (
                "group commands",
                in_language!(
                    bot.set_my_commands(group_commands(pack))
                        .scope(BotCommandScope::AllGroupChats)
                ),
            ),
            (
                "description",
                in_language!(bot.set_my_description().description(p.description.clone())),
            ),
            (
                "short description",
                in_language!(
                    bot.set_my_short_description()
                        .short_description(p.short_description.clone())
                ),
            ),
        ];
        for (what, result) in results {
            if let Err(err) = result {
                log::warn!(
                    "could not set the {} {what}: {}",
                    pack.code,
                    error_kind(&err)
                );
            }
        }
    }
}
