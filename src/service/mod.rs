//! Start-up and shutdown of the Telegram mode.
//!
//! teloxide's dispatcher panics when its first getMe fails and listens only for SIGINT, so this
//! module checks the Bot API first (retrying with capped backoff), registers the profile in the
//! background (a failure is a warning), and turns SIGINT and SIGTERM into a bounded, clean stop.
//!
//! The stack a reply goes through: the handlers → [`Delivery`] (retries) → `CacheMe` (getMe
//! once) → `Throttle` (Telegram's rate limits) → `Bot` (HTTP with `API_TIMEOUT`). Updates come
//! from long polling or the webhook, through [`Intake`] (counting, flood control).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::adaptors::CacheMe;
use teloxide::adaptors::throttle::{Limits, Settings, Throttle};
use teloxide::dispatching::DefaultKey;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::{AllowedUpdate, BotCommand, BotCommandScope};
use teloxide::update_listeners::webhooks::Options;
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;

use super::HandlerError;
use super::delivery::{self, Delivery, Policy};
use super::http::{self, Service};
use super::intake::{Gate, Intake, Notifier, PER_CHAT_LIMIT};
use super::metrics::Metrics;
use super::storage::{ExpiringStorage, Store};
use crate::config::{Config, RateLimits, Receive, StorageConfig};
use crate::content::{Content, DEFAULT_LANGUAGE, Pack, html};
use crate::knowledge::{Link, ScarKind};

/// First wait after a failed start-up call; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The longest getUpdates long poll; shorter when `API_TIMEOUT` would cut it off.
const LONG_POLL: Duration = Duration::from_secs(10);

/// The updates the handler tree answers (asked for explicitly when setting the webhook).
const ALLOWED_UPDATES: [AllowedUpdate; 4] = [
    AllowedUpdate::Message,
    AllowedUpdate::EditedMessage,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::InlineQuery,
];

/// The Bot API client the handlers run on in production.
pub type ServiceBot = CacheMe<Throttle<Bot>>;

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
    #[error("STORAGE_URL: {0}")]
    Storage(String),
    #[error("the Bot API refused {0}: {1}")]
    Refused(&'static str, String),
}

/// Builds the bot from the configuration: the API URL honoured for a local Bot API server, and
/// every request bounded by `API_TIMEOUT`.
pub fn bot(config: &Config) -> Result<Bot, RunError> {
    let client = teloxide::net::default_reqwest_settings()
        .timeout(config.api_timeout)
        .build()
        .map_err(|e| RunError::Client(e.to_string()))?;
    let bot = Bot::with_client(config.token.expose(), client);
    Ok(match &config.api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    })
}

/// The conversation storage `STORAGE_URL` asks for.
fn open_store(config: &Config) -> Result<Store, RunError> {
    match &config.storage {
        StorageConfig::Memory => Ok(Store::Memory(ExpiringStorage::new(
            config.state_ttl,
            config.state_capacity,
        ))),
        // Opening does not connect: Redis down at start-up is an outage like any other.
        StorageConfig::Redis(url) => {
            super::redis::RedisStorage::open(url.expose(), config.state_ttl)
                .map(Store::Redis)
                .map_err(|e| RunError::Storage(e.to_string()))
        }
    }
}

fn throttle_limits(limits: RateLimits) -> Limits {
    Limits {
        messages_per_sec_chat: limits.per_chat_per_sec,
        // teloxide applies this one to private chats and basic groups alike; a private chat is
        // held by the per-second limit, so only groups feel it.
        messages_per_min_chat: limits
            .per_group_per_min
            .max(limits.per_chat_per_sec.saturating_mul(60)),
        messages_per_min_channel_or_supergroup: limits.per_group_per_min,
        messages_per_sec_overall: limits.overall_per_sec,
    }
}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(config: Config, content: Arc<Content>) -> Result<(), RunError> {
    let raw = bot(&config)?;
    let (signalled, shutdown) = tokio::sync::watch::channel(false);
    let shutdown = Shutdown(shutdown);
    tokio::spawn(signal_notifier(signalled));

    let metrics = Arc::new(Metrics::default());
    let store = open_store(&config)?;
    let storage = store.erased();
    let service = Service::new(metrics.clone(), store);
    let throttle = Throttle::spawn_with_settings(
        raw.clone(),
        Settings::default()
            .limits(throttle_limits(config.rate_limits))
            // Delivery retries 429s itself, within RETRY_FOR; Throttle would retry forever.
            .no_retry(),
    );
    let bot: ServiceBot = CacheMe::new(throttle);
    let policy = Policy {
        give_up_after: config.retry_for,
        ..Policy::default()
    };
    let delivery = Delivery::new(policy, metrics.clone(), storage.clone());
    let gate = Gate::new(
        PER_CHAT_LIMIT,
        metrics.clone(),
        flood_notifier(bot.clone(), delivery.clone(), content.clone()),
    );
    // Fired once the dispatcher has stopped, to close the HTTP server after it.
    let server_stop = Arc::new(Notify::new());
    let stopped = {
        let stop = server_stop.clone();
        async move { stop.notified().await }
    };

    // The HTTP server starts first, so /healthz answers 503 while the Bot API is unreachable.
    let (webhook, server) = match &config.receive {
        Receive::Polling { metrics_addr } => {
            let server = match metrics_addr {
                Some(addr) => Some(
                    http::serve(*addr, http::routes(service.clone()), stopped)
                        .await
                        .map_err(|e| RunError::Listen(*addr, e))?,
                ),
                None => None,
            };
            (None, server)
        }
        Receive::Webhook {
            url,
            listen,
            secret,
        } => {
            let mut options = Options::new(*listen, url.clone());
            let secret = match secret {
                Some(secret) => secret.expose().to_owned(),
                None => options.get_or_gen_secret_token().to_owned(),
            };
            let (listener, listener_stopped, router) =
                http::webhook(options, &secret, service.clone());
            let router = router.merge(http::routes(service.clone()));
            let server = http::serve(*listen, router, stopped)
                .await
                .map_err(|e| RunError::Listen(*listen, e))?;
            let listener = Intake::new(listener, gate.clone()).until(listener_stopped);
            (Some((listener, url.clone(), secret)), Some(server))
        }
    };

    let Some(me) = until_ok("getMe", &shutdown, || bot.get_me()).await? else {
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
        let (raw, content) = (raw.clone(), content.clone());
        async move { register_profile(&raw, &content).await }
    });

    let handler = gate.around(super::schema::<ServiceBot>());
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(super::dependencies_with(content, storage, delivery))
        // The default handler would log the whole update, user text included, at WARN.
        .default_handler(|update| async move { log::debug!("ignored update {}", update.id.0) })
        .error_handler(Arc::new(QuietErrors))
        .build();

    // SIGINT/SIGTERM: stop taking updates, let those in flight finish within SHUTDOWN_GRACE
    // of the signal.
    let out_of_grace = Arc::new(Notify::new());
    let token = dispatcher.shutdown_token();
    tokio::spawn({
        let (shutdown, out_of_grace, service) =
            (shutdown.clone(), out_of_grace.clone(), service.clone());
        let grace = config.shutdown_grace;
        async move {
            shutdown.requested().await;
            let deadline = tokio::time::Instant::now() + grace;
            service.set_stopping();
            log::info!("stopping: finishing updates in flight");
            // The dispatcher may not be running yet (IdleShutdownError): start-up calls see
            // the signal themselves; once it runs, it is told here.
            let stop = async {
                while token.shutdown().is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            let _ = tokio::time::timeout_at(deadline, stop).await;
            tokio::time::sleep_until(deadline).await;
            out_of_grace.notify_one();
        }
    });

    let dispatching = async {
        match webhook {
            Some((listener, url, secret)) => {
                let set = until_ok("setWebhook", &shutdown, || {
                    raw.set_webhook(url.clone())
                        .secret_token(secret.clone())
                        .allowed_updates(ALLOWED_UPDATES)
                })
                .await?;
                if set.is_none() {
                    return Ok(());
                }
                service.set_ready();
                log::info!("webhook set; waiting for updates");
                // Deliberately no deleteWebhook at the end: another instance may serve it.
                dispatch(&mut dispatcher, listener).await
            }
            None => {
                // A webhook left from webhook mode would make getUpdates fail (409). Deleting
                // is idempotent; done here rather than by teloxide's builder, which tries once
                // and logs the error's Debug.
                if until_ok("deleteWebhook", &shutdown, || raw.delete_webhook())
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
                service.set_ready();
                let poll = LONG_POLL.min(config.api_timeout.saturating_sub(Duration::from_secs(1)));
                let polling = Polling::builder(raw.clone()).timeout(poll).build();
                dispatch(&mut dispatcher, Intake::new(polling, gate)).await
            }
        }
    };
    tokio::select! {
        result = dispatching => result?,
        () = out_of_grace.notified() => {
            log::warn!("updates still in flight after SHUTDOWN_GRACE; stopping anyway");
        }
    }
    server_stop.notify_one();
    if let Some(server) = server {
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    }
    log::info!("stopped");
    Ok(())
}

/// Runs the dispatcher over `listener` until it is shut down.
async fn dispatch<L>(
    dispatcher: &mut Dispatcher<ServiceBot, HandlerError, DefaultKey>,
    listener: L,
) -> Result<(), RunError>
where
    L: UpdateListener + Send,
    L::Err: std::fmt::Debug,
    QuietErrors: ErrorHandler<L::Err>,
{
    // getMe is answered from CacheMe's copy, so this does not fail on the network.
    match dispatcher
        .try_dispatch_with_listener(listener, Arc::new(QuietErrors))
        .await
    {
        Ok(()) => Ok(()),
        Err(RequestError::Api(ApiError::InvalidToken)) => Err(RunError::InvalidToken),
        Err(err) => {
            log::error!("the dispatcher could not start: {}", error_kind(&err));
            Ok(())
        }
    }
}

/// Sends the flood notice in the background, so the listener never waits on the Bot API.
fn flood_notifier(bot: ServiceBot, delivery: Arc<Delivery>, content: Arc<Content>) -> Notifier {
    Box::new(move |chat, language| {
        let (bot, delivery, content) = (bot.clone(), delivery.clone(), content.clone());
        tokio::spawn(async move {
            let text = &content.pack(language.as_deref()).ui.hints.flood;
            if let Err(err) = delivery
                .send(Some(chat), bot.send_message(chat, text))
                .await
            {
                log::debug!("could not send the flood notice: {}", error_kind(&err));
            }
        });
    })
}

/// Set once SIGINT or SIGTERM arrives; every waiter sees it (a `Notify` would wake only one).
#[derive(Clone)]
struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once a stop was asked for.
    async fn requested(&self) {
        let mut signalled = self.0.clone();
        if signalled.wait_for(|stop| *stop).await.is_err() {
            // The signal listener is gone without a signal: nothing will ask to stop.
            std::future::pending::<()>().await;
        }
    }
}

/// Makes a start-up call until it answers, retrying what may pass (5xx, network, 429) with
/// capped exponential backoff. `Ok(None)` if asked to stop first, even mid-call; a refusal
/// (401, other 4xx) ends it with an error.
async fn until_ok<Q>(
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

/// Sets `signalled` when SIGINT or SIGTERM arrives (Docker and systemd send SIGTERM).
async fn signal_notifier(signalled: tokio::sync::watch::Sender<bool>) {
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
                if tokio::signal::ctrl_c().await.is_err() {
                    log::warn!("cannot listen for Ctrl-C either; stop the bot with SIGKILL");
                    return;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    // A watch keeps the value, so a waiter that starts later sees it too.
    let _ = signalled.send(true);
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

/// Logs errors by kind only: a request error's Debug can carry message text (an invalid
/// getUpdates answer carries the raw updates).
struct QuietErrors;

impl ErrorHandler<RequestError> for QuietErrors {
    fn handle_error(self: Arc<Self>, error: RequestError) -> BoxFuture<'static, ()> {
        let kind = error_kind(&error);
        Box::pin(async move { log::warn!("polling failed: {kind}") })
    }
}

/// The webhook listener cannot fail.
impl ErrorHandler<Infallible> for QuietErrors {
    fn handle_error(self: Arc<Self>, error: Infallible) -> BoxFuture<'static, ()> {
        match error {}
    }
}

impl ErrorHandler<HandlerError> for QuietErrors {
    fn handle_error(self: Arc<Self>, error: HandlerError) -> BoxFuture<'static, ()> {
        let kind = match error.downcast_ref::<RequestError>() {
            Some(err) => error_kind(err),
            None => "storage or handler error".to_owned(),
        };
        Box::pin(async move { log::warn!("a handler failed: {kind}") })
    }
}
