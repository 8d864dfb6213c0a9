//! The service runtime: what builds, feeds and serves the Telegram adapter once per process.
//!
//! [`run`] wires it all: the Bot API client, the storage ([`storage`]), the counters
//! ([`metrics`]), the intake ([`intake`]: counting, flood control), the HTTP servers ([`http`]:
//! the webhook, `/healthz`, `/metrics`, with their timeouts and connection cap), the start-up calls ([`startup`]), the stop
//! ([`shutdown`]) and why it could not run ([`RunError`]). The runtime depends on the adapter
//! ([`crate::telegram`]: its handler tree, command menus, delivery layer), never the other way
//! round, except for the adapter counting into the leaf [`metrics`].
//!
//! teloxide's dispatcher panics when its first getMe fails and listens only for SIGINT, so
//! start-up checks the Bot API first (retrying with capped backoff), registers the profile in
//! the background (each call retried a few times the same way; a failure is a warning), and
//! the stop comes from the caller's future.
//!
//! The stack a reply goes through: the handlers → [`Delivery`] (retries, and a slot from the
//! rate budget for every message: [`crate::pacing`] in this process, [`budget`] shared through
//! Redis) → `CacheMe` (getMe once) → `Bot` (HTTP with `API_TIMEOUT`). Updates come from long
//! polling or the webhook, through [`Intake`] (counting, flood control), and with Redis each
//! chat's update is handled under the chat's [`lease`], so instances never overwrite each
//! other's taps.

pub mod budget;
pub mod error;
pub mod http;
pub mod intake;
pub mod lease;
pub mod metrics;
pub mod shutdown;
pub mod startup;
pub mod storage;
pub mod trim;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use teloxide::adaptors::CacheMe;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::webhooks::Options;
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{ApiError, RequestError};

use self::budget::SharedBudget;
pub use self::error::RunError;
use self::http::Service;
use self::intake::{Gate, Intake, Notifier, PER_CHAT_LIMIT};
use self::lease::Leases;
use self::metrics::Metrics;
use self::shutdown::Shutdown;
use self::storage::{ExpiringStorage, RedisStorage, Store};
use crate::config::{Config, Receive, StorageConfig};
use crate::content::Content;
use crate::pacing::{Budget, LocalBudget, Rates};
use crate::pictures::Pictures;
use crate::telegram::callback::ButtonKey;
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
pub type ServiceBot = CacheMe<Bot>;

/// Builds the bot from the configuration: the API URL honoured for a local Bot API server, and
/// every request bounded by `API_TIMEOUT`.
pub fn bot(config: &Config) -> Result<Bot, RunError> {
    let client = teloxide::net::default_reqwest_settings()
        .timeout(config.api_timeout)
        // A burst opens a connection per message in flight; at 30 messages a second a few
        // dozen kept open serve the next one, and the rest would hold their buffers for the
        // pool's 90 s.
        .pool_max_idle_per_host(32)
        .pool_idle_timeout(Duration::from_secs(30))
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

/// Where messages take their slots: shared by the instances when the conversations are in
/// Redis, this process's own otherwise.
fn budget(store: &Store, config: &Config) -> Arc<dyn Budget> {
    let rates = Rates::new(config.rate_limits);
    match store {
        Store::Memory(_) => Arc::new(LocalBudget::new(rates)),
        Store::Redis(redis) => Arc::new(SharedBudget::new(redis.clone(), rates)),
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
    trim::spawn();
    let storage = store.erased();
    let photos = Photos::new(pictures, store.photo_cache());
    let bot: ServiceBot = CacheMe::new(raw.clone());
    let policy = Policy {
        give_up_after: config.retry_for,
        ..Policy::default()
    };
    let delivery = Delivery::paced(
        policy,
        metrics.clone(),
        storage.clone(),
        budget(&store, &config),
    );
    let leases = match &store {
        Store::Redis(redis) => Some(Leases::new(redis.clone())),
        Store::Memory(_) => None,
    };
    let service = Service::new(metrics.clone(), store);
    let gate = Gate::new(
        PER_CHAT_LIMIT,
        metrics.clone(),
        flood_notifier(bot.clone(), delivery.clone(), content.clone()),
    );
    // Set once the dispatcher has stopped, to close the HTTP servers after it.
    let (server_stop, server_stopped) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stopped = server_stopped.clone();
        // A dropped sender is a stop too.
        async move { drop(stopped.wait_for(|stop| *stop).await) }
    };
    let limits = config.http;
    let serve = move |addr, router, stop| async move {
        http::serve(addr, router, limits, stop)
            .await
            .map_err(|e| RunError::Listen(addr, e))
    };

    // The HTTP server starts first, so /healthz answers 503 while the Bot API is unreachable.
    let mut servers = Vec::new();
    let webhook = match &config.receive {
        Receive::Polling { metrics_addr } => {
            if let Some(addr) = metrics_addr {
                servers.push(serve(*addr, http::routes(service.clone()), stopped()).await?);
            }
            None
        }
        Receive::Webhook {
            url,
            listen,
            secret,
            metrics_addr,
        } => {
            let mut options = Options::new(*listen, url.clone());
            let secret = match secret {
                Some(secret) => secret.expose().to_owned(),
                None => options.get_or_gen_secret_token().to_owned(),
            };
            let (listener, listener_stopped, router) =
                http::webhook(options, &secret, limits.body_timeout, service.clone());
            // /healthz and /metrics on an address of their own (loopback, say) when asked,
            // so the webhook's port serves the webhook only.
            let router = match metrics_addr {
                Some(addr) => {
                    let routes = http::routes(service.clone());
                    servers.push(serve(*addr, routes, stopped()).await?);
                    router
                }
                None => router.merge(http::routes(service.clone())),
            };
            servers.push(serve(*listen, router, stopped()).await?);
            let listener = Intake::new(listener, gate.clone()).until(listener_stopped);
            Some((listener, url.clone(), secret))
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
    // In the background: a slow or failing profile call must not hold up the first answer.
    tokio::spawn({
        let (raw, content, shutdown) = (raw.clone(), content.clone(), shutdown.clone());
        async move { startup::register_profile(&raw, &content, &shutdown).await }
    });

    let handler = match leases {
        Some(leases) => lease::around(leases, telegram::schema::<ServiceBot>()),
        None => telegram::schema::<ServiceBot>(),
    };
    let handler = gate.around(handler);
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(telegram::dependencies_with(
            content,
            storage,
            delivery,
            photos,
            ButtonKey::from_token(config.token.expose()),
        ))
        // The default handler would log the whole update, user text included, at WARN.
        .default_handler(|update| async move { log::debug!("ignored update {}", update.id.0) })
        .error_handler(Arc::new(QuietErrors))
        // No worker per chat: they would stay after a burst, one per chat. Every update is
        // handled concurrently, and the gate keeps each chat's in order (see `intake`).
        .distribution_function(|_| None::<()>)
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
                let polling = Polling::builder(raw.clone())
                    .timeout(poll)
                    .backoff_strategy(polling_backoff)
                    .build();
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
    server_stop.send_replace(true);
    let servers = futures_util::future::join_all(servers);
    let _ = tokio::time::timeout(Duration::from_secs(2), servers).await;
    log::info!("stopped");
    Ok(())
}

/// The wait after the n-th getUpdates failure in a row: 250 ms doubling to 4 s. teloxide's
/// default doubles from 1 s to 64 s, so a short Bot API outage left every user waiting up to
/// a minute after it ended. A long poll is one request every few seconds anyway, so a capped
/// 4 s keeps the load on a failing Bot API small; a 429's `retry_after` is honoured apart.
fn polling_backoff(failures: u32) -> Duration {
    POLL_FIRST_BACKOFF.saturating_mul(1 << failures.min(4))
}

const POLL_FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Runs the dispatcher over `listener` until it is shut down.
async fn dispatch<L>(
    dispatcher: &mut Dispatcher<ServiceBot, HandlerError, ()>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_from_a_quarter_second_to_four_seconds() {
        let waits: Vec<u128> = (0..8).map(|n| polling_backoff(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
        assert_eq!(polling_backoff(u32::MAX), Duration::from_secs(4));
    }
}
