//! The bot's HTTP server: the webhook (when `WEBHOOK_URL` is set), `GET /healthz` and
//! `GET /metrics`.
//!
//! The webhook route is teloxide's (`webhooks-axum`), behind a guard of ours that compares the
//! `X-Telegram-Bot-Api-Secret-Token` header in constant time: teloxide compares with `!=`, and
//! a mismatched or missing secret must be a 401 before anything reads the body. The body must
//! then arrive within `HTTP_BODY_TIMEOUT` (408 otherwise); the connections themselves, their
//! header timeout and their cap are [`server`]'s.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use teloxide::types::Update;
use teloxide::update_listeners::UpdateListener;
use teloxide::update_listeners::webhooks::{self, Options};

pub use self::server::serve;
use super::metrics::Metrics;
use super::storage::Store;

mod server;

/// The header Telegram sends the webhook secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the health and metrics endpoints report on.
pub struct Service {
    metrics: Arc<Metrics>,
    store: Store,
    /// Set once the bot knows who it is (getMe answered), its content is loaded and updates
    /// can flow (the webhook registered, or the polling about to start).
    ready: AtomicBool,
    /// Set once a stop was asked for (SIGINT or SIGTERM, in production): a proxy should send
    /// no more.
    stopping: AtomicBool,
}

impl Service {
    pub fn new(metrics: Arc<Metrics>, store: Store) -> Arc<Self> {
        Arc::new(Self {
            metrics,
            store,
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        })
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.stopping.load(Ordering::Acquire)
    }

    /// 200 once ready and while the storage answers; 503 otherwise, saying which.
    async fn health(&self) -> (StatusCode, &'static str) {
        if self.stopping.load(Ordering::Acquire) {
            (StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
        } else if !self.ready.load(Ordering::Acquire) {
            (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
        } else if !self.store.reachable().await {
            (StatusCode::SERVICE_UNAVAILABLE, "storage unreachable\n")
        } else {
            (StatusCode::OK, "ok\n")
        }
    }
}

/// `/healthz` and `/metrics`.
pub fn routes(service: Arc<Service>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(service)
}

async fn healthz(State(service): State<Arc<Service>>) -> (StatusCode, &'static str) {
    service.health().await
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    let stats = service.store.stats().await;
    let body = service.metrics.render(stats);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The webhook: an update listener, a future that resolves when the listener is stopped, and
/// the route (the path of `options.url`) behind the constant-time secret guard. Until the
/// service is ready it answers 503, so Telegram keeps an update rather than handing it to a
/// bot that could still stop before handling it. A body that takes longer than
/// `body_timeout` to arrive gets 408.
pub fn webhook(
    options: Options,
    secret: &str,
    body_timeout: Duration,
    service: Arc<Service>,
) -> (
    impl UpdateListener<Err = Infallible> + Send + 'static,
    impl Future<Output = ()> + Send + 'static,
    Router,
) {
    let options = options.secret_token(secret.to_owned());
    let (listener, stopped, router) = webhooks::axum_no_setup(options);
    let guard = Guard {
        secret: secret.as_bytes().into(),
        body_timeout,
        service,
    };
    let router = router.layer(middleware::from_fn_with_state(
        Arc::new(guard),
        require_secret,
    ));
    (listener, stopped, router)
}

/// What the webhook route checks before teloxide sees a request.
struct Guard {
    secret: Box<[u8]>,
    body_timeout: Duration,
    service: Arc<Service>,
}

/// Lets a request through only with the right secret header, and only once ready.
async fn require_secret(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(SECRET_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    // Lengths may differ in time (the secret's length is not the secret); contents do not.
    if !bool::from(given.ct_eq(&guard.secret)) {
        log::debug!("refused a webhook request without the right secret");
        StatusCode::UNAUTHORIZED.into_response()
    } else if !guard.service.is_ready() {
        // Telegram retries a 503 later (or at another instance).
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        // teloxide logs a body it cannot read as an update, whole, at ERROR: such a body is
        // refused here first, without a word of it in the log.
        let (parts, body) = request.into_parts();
        let read = axum::body::to_bytes(body, MAX_UPDATE_BYTES);
        // A body dribbled in slowly would hold the connection (and its slot) for ever.
        let Ok(read) = tokio::time::timeout(guard.body_timeout, read).await else {
            log::debug!("refused a webhook body that did not arrive in time");
            return StatusCode::REQUEST_TIMEOUT.into_response();
        };
        let Ok(bytes) = read else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        if !is_update(&bytes) {
            log::warn!("refused a webhook body that is not an update");
            return StatusCode::BAD_REQUEST.into_response();
        }
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    }
}

/// Whether `body` reads as an update. One teloxide reads only as `UpdateKind::Error` (a kind it
/// does not know, a field it cannot read) still is one: it goes on, and the intake skips it
/// with its id, as in polling mode, so the answer is 200 and Telegram does not send it again
/// (it repeats any update answered otherwise). A body without an update id, or one that makes
/// the deserializer panic, is a 400: teloxide-core 0.13 unwrapped inside the reaction
/// deserializer (patched in vendor/teloxide-core), and a panic here would kill the connection's
/// task, not answer it.
fn is_update(body: &[u8]) -> bool {
    // The closure only reads `body`; nothing shared is left half-changed by an unwind.
    std::panic::catch_unwind(|| serde_json::from_slice::<Update>(body).is_ok()).unwrap_or_else(
        |_| {
            log::error!("the update deserializer panicked on a webhook body");
            false
        },
    )
}

/// The largest webhook body read: axum's own default limit for a `String` body, which is what
/// teloxide's route takes.
const MAX_UPDATE_BYTES: usize = 2 * 1024 * 1024;
