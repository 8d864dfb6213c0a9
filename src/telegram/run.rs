//! Start-up and shutdown of the Telegram mode.
//!
//! teloxide's dispatcher panics when its first getMe fails and listens only for SIGINT, so this
//! module checks the Bot API first (retrying with capped backoff), registers the commands (a
//! failure is a warning), and turns both SIGINT and SIGTERM into a clean dispatcher shutdown.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use teloxide::dispatching::dialogue::Storage as _;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, BotCommand, BotCommandScope, Me, Update, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener, polling_default};
use teloxide::{ApiError, RequestError};

use super::storage::ExpiringStorage;
use super::{HandlerError, Session};
use crate::config::Config;
use crate::content::{Content, DEFAULT_LANGUAGE, Pack, html};
use crate::knowledge::{Link, ScarKind};

/// First wait after a failed start-up call; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why the bot could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "the Bot API rejected TELOXIDE_TOKEN (401 Unauthorized): check the token from @BotFather"
    )]
    InvalidToken,
}

/// Builds the bot from the configuration (the API URL honoured for a local Bot API server).
pub fn bot(config: &Config) -> Bot {
    let bot = Bot::new(config.token.expose());
    match &config.api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    }
}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(config: Config, content: Arc<Content>) -> Result<(), RunError> {
    let bot = bot(&config);
    let shutdown = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(signal_notifier(shutdown.clone()));

    let Some(me) = wait_for_api(&bot, &shutdown).await? else {
        log::info!("stopped before the Bot API answered");
        return Ok(());
    };
    log::info!(
        "connected as @{}",
        me.user.username.as_deref().unwrap_or("(no username)")
    );
    // In the background: a slow or failing profile call (teloxide waits after each 5xx) must
    // not hold up the first answer.
    tokio::spawn({
        let (bot, content) = (bot.clone(), content.clone());
        async move { register_profile(&bot, &content).await }
    });

    let storage = ExpiringStorage::<Session>::new(config.state_ttl, config.state_capacity).erase();
    let mut dispatcher = Dispatcher::builder(bot.clone(), super::schema())
        .dependencies(super::dependencies(content, storage))
        // The default handler would log the whole update, user text included, at WARN.
        .default_handler(|update| async move { log::debug!("ignored update {}", update.id.0) })
        .error_handler(Arc::new(QuietErrors))
        .build();

    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        shutdown.notified().await;
        log::info!("stopping: finishing updates in flight");
        // The dispatcher may not be running yet (IdleShutdownError); try until it is.
        loop {
            match token.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });

    let mut backoff = FIRST_BACKOFF;
    loop {
        let listener = Quiet(polling_default(bot.clone()).await);
        let result = dispatcher
            .try_dispatch_with_listener(listener, Arc::new(QuietErrors))
            .await;
        match result {
            Ok(()) => break,
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(RunError::InvalidToken),
            Err(err) => {
                log::warn!(
                    "Bot API unavailable ({}); retrying in {}s",
                    error_kind(&err),
                    backoff.as_secs()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    log::info!("stopped");
    Ok(())
}

/// Calls getMe until it answers, with capped exponential backoff. `None` if asked to stop first.
async fn wait_for_api(bot: &Bot, shutdown: &tokio::sync::Notify) -> Result<Option<Me>, RunError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match bot.get_me().await {
            Ok(me) => return Ok(Some(me)),
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(RunError::InvalidToken),
            Err(err) => {
                log::warn!(
                    "Bot API unreachable ({}); retrying in {}s",
                    error_kind(&err),
                    backoff.as_secs()
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.notified() => return Ok(None),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The commands offered in private chats, in a pack's language.
pub fn private_commands(pack: &Pack) -> Vec<BotCommand> {
    let d = &pack.ui.commands.descriptions;
    vec![
        BotCommand::new("start", &d.start),
        BotCommand::new("help", &d.help),
        BotCommand::new("settings", &d.settings),
        BotCommand::new("cancel", &d.cancel),
        BotCommand::new("privacy", &d.privacy),
        BotCommand::new("forget", &d.forget),
    ]
}

/// The commands offered in groups: the guide's entry and its main topics (each a link payload,
/// so `/redness@bot` opens the same topic as the `?start=redness` link).
pub fn group_commands(pack: &Pack) -> Vec<BotCommand> {
    let d = &pack.ui.commands.descriptions;
    let mut commands = vec![
        BotCommand::new("start", &d.start),
        BotCommand::new("help", &d.help),
    ];
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

/// Resolves when SIGINT or SIGTERM arrives (Docker and systemd send SIGTERM).
async fn signal_notifier(shutdown: Arc<tokio::sync::Notify>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                log::warn!("cannot listen for SIGTERM ({err}); only Ctrl-C stops the bot");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    // notify_one stores a permit, so a waiter that starts later still wakes.
    shutdown.notify_one();
}

/// A log-safe description of a Bot API error: its kind, never a message text or the token
/// (teloxide already strips the token from network errors).
pub fn error_kind(err: &RequestError) -> String {
    match err {
        RequestError::Api(api) => format!("API error: {api}"),
        RequestError::MigrateToChatId(_) => "chat migrated".to_owned(),
        RequestError::RetryAfter(secs) => format!("rate limited for {}s", secs.seconds()),
        RequestError::Network(e) if e.is_timeout() => "timeout".to_owned(),
        RequestError::Network(e) if e.is_connect() => "connection failed".to_owned(),
        RequestError::Network(_) => "network error".to_owned(),
        RequestError::InvalidJson { .. } => "invalid JSON from the Bot API".to_owned(),
        RequestError::Io(_) => "I/O error".to_owned(),
    }
}

/// An update listener that keeps user text out of the log.
///
/// teloxide logs an update it cannot parse (a Bot API newer than it) at ERROR with the whole
/// update, text included. This drops such updates before the dispatcher sees them and logs only
/// their id.
struct Quiet<L>(L);

impl<'a, L> AsUpdateStream<'a> for Quiet<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type StreamErr = L::Err;
    type Stream = BoxStream<'a, Result<Update, L::Err>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        self.0
            .as_stream()
            .filter(|update| {
                let keep = match update {
                    Ok(Update {
                        id,
                        kind: UpdateKind::Error(_),
                    }) => {
                        log::warn!("skipped update {} that teloxide cannot parse", id.0);
                        false
                    }
                    _ => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }
}

impl<L> UpdateListener for Quiet<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.0.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.0.hint_allowed_updates(hint);
    }
}

/// Logs errors by kind only: a request error's Debug can carry message text (an invalid
/// getUpdates answer carries the raw updates).
struct QuietErrors;

impl ErrorHandler<RequestError> for QuietErrors {
    fn handle_error(
        self: Arc<Self>,
        error: RequestError,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let kind = error_kind(&error);
        Box::pin(async move { log::warn!("polling failed: {kind}") })
    }
}

impl ErrorHandler<HandlerError> for QuietErrors {
    fn handle_error(
        self: Arc<Self>,
        error: HandlerError,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let kind = match error.downcast_ref::<RequestError>() {
            Some(err) => error_kind(err),
            None => "storage or handler error".to_owned(),
        };
        Box::pin(async move { log::warn!("a handler failed: {kind}") })
    }
}
