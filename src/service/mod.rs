//! The service runtime: what builds, feeds and serves the Telegram adapter once per process.
//!
//! [`run`] wires it all: the Bot API client, the storage ([`storage`]), the counters
//! ([`metrics`]), the intake ([`intake`]: counting, flood control), the HTTP server ([`http`]:
//! the webhook, `/healthz`, `/metrics`), the start-up calls ([`startup`]), the stop
//! ([`shutdown`]) and why it could not run ([`RunError`]). The runtime depends on the adapter
//! ([`crate::telegram`]: its handler tree, command menus, delivery layer), never the other way
//! round, except for the adapter counting into the leaf [`metrics`].
//!
//! teloxide's dispatcher panics when its first getMe fails and listens only for SIGINT, so
//! start-up checks the Bot API first (retrying with capped backoff), registers the profile in
//! the background (a failure is a warning), and the stop comes from the caller's future.
//!
//! The stack a reply goes through: the handlers → [`Delivery`] (retries) → `CacheMe` (getMe
//! once) → `Throttle` (Telegram's rate limits) → `Bot` (HTTP with `API_TIMEOUT`). Updates come
//! from long polling or the webhook, through [`Intake`] (counting, flood control).

pub mod error;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod shutdown;
pub mod startup;
pub mod storage;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::adaptors::CacheMe;
use teloxide::adaptors::throttle::{Limits, Settings, Throttle};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::webhooks::Options;
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;

pub use self::error::RunError;
use self::http::Service;
use self::intake::{Gate, Intake, Notifier, PER_CHAT_LIMIT, WORKER_QUEUE, worker_of};
use self::metrics::Metrics;
use self::shutdown::Shutdown;
use self::storage::{ExpiringStorage, RedisStorage, Store};
use crate::config::{Config, RateLimits, Receive, StorageConfig};
use crate::content::Content;
use crate::pictures::Pictures;
use crate::telegram::delivery::{Delivery, Policy, error_kind};
use crate::telegram::photos::Photos;
use crate::telegram::{self, HandlerError};

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
fn open_store(config: &Config) -> Store {
    match &config.storage {
        StorageConfig::Memory => Store::Memory(ExpiringStorage::new(
            config.state_ttl,
            config.state_capacity,
        )),
        // Opening does not connect: Redis down at start-up is an outage like any other.
        StorageConfig::Redis(url) => Store::Redis(RedisStorage::open(url, config.state_ttl)),
    }
}

/// How many messages one user action may send into a chat at once (at most two, by the
/// conversation's design).
const BURST_PER_CHAT: u32 = 2;

/// The throttle's limits. A reply of two messages (the greeting and the menu after /start)
/// arrives at once: Telegram tolerates a short burst in one chat, so two messages may go within
/// a second, while the per-minute limit keeps the average at `RATE_PER_CHAT` a second.
fn throttle_limits(limits: RateLimits) -> Limits {
    Limits {
        messages_per_sec_chat: limits.per_chat_per_sec.saturating_mul(BURST_PER_CHAT),
        // teloxide applies this one to private chats and basic groups alike: the average for a
        // private chat, and for a basic group whichever of the two limits is higher.
        messages_per_min_chat: limits
            .per_group_per_min
            .max(limits.per_chat_per_sec.saturating_mul(60)),
        messages_per_min_channel_or_supergroup: limits.per_group_per_min,
        messages_per_sec_overall: limits.overall_per_sec,
    }
}

/// Runs the bot until `shutdown` resolves (`main` passes [`shutdown::signals`]: SIGINT or
/// SIGTERM), then stops within `SHUTDOWN_GRACE`. Tests pass a future of their own.
///
/// An error means the bot could not start or keep running (a refused token, a port in use, a
/// dispatcher that could not start); the process should then exit non-zero.
pub async fn run<F>(config: Config, content: Arc<Content>, shutdown: F) -> Result<(), RunError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let raw = bot(&config)?;
    // Rendered once, before anything else: a broken drawing stops the bot before anyone waits.
    let pictures = Arc::new(Pictures::render_all().map_err(|e| RunError::Pictures(e.to_string()))?);
    let shutdown = Shutdown::new(shutdown);

    let metrics = Arc::new(Metrics::default());
    let store = open_store(&config);
    store.spawn_upkeep();
    let storage = store.erased();
    let photos = Photos::new(pictures, store.photo_cache());
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

    let Some(me) = startup::until_ok("getMe", &shutdown, || bot.get_me()).await? else {
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
        async move { startup::register_profile(&raw, &content).await }
    });

    let handler = gate.around(telegram::schema::<ServiceBot>());
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(telegram::dependencies_with(
            content, storage, delivery, photos,
        ))
        // The default handler would log the whole update, user text included, at WARN.
        .default_handler(|update| async move { log::debug!("ignored update {}", update.id.0) })
        .error_handler(Arc::new(QuietErrors))
        // Workers by chat would stay after a burst, one per chat (see `intake`).
        .distribution_function(worker_of)
        .worker_queue_size(WORKER_QUEUE)
        .build();

    // The stop: stop taking updates, let those in flight finish within SHUTDOWN_GRACE of it.
    let out_of_grace = shutdown::watch_grace(
        shutdown.clone(),
        config.shutdown_grace,
        dispatcher.shutdown_token(),
        service.clone(),
    );

    let dispatching = async {
        match webhook {
            Some((listener, url, secret)) => {
                let set = startup::until_ok("setWebhook", &shutdown, || {
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
                if startup::until_ok("deleteWebhook", &shutdown, || raw.delete_webhook())
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
    dispatcher: &mut Dispatcher<ServiceBot, HandlerError, u64>,
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
        Err(err) => Err(RunError::Dispatch(error_kind(&err))),
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
