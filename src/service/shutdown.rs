//! The stop: a shutdown future from the caller (the signals, in production) turned into a
//! value every waiter can see, and the bounded grace after it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::ShutdownToken;
use tokio::sync::Notify;

use super::http::Service;

/// Set once the caller's shutdown future resolves; every waiter sees it (a `Notify` would wake
/// only one).
#[derive(Clone)]
pub struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Watches `stop` in the background.
    pub fn new<F>(stop: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stopped, watched) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            // A watch keeps the value, so a waiter that starts later sees it too.
            let _ = stopped.send(true);
        });
        Self(watched)
    }

    /// Resolves once a stop was asked for.
    pub async fn requested(&self) {
        let mut signalled = self.0.clone();
        if signalled.wait_for(|stop| *stop).await.is_err() {
            // The watcher is gone without a stop: nothing will ask to stop.
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves when SIGINT or SIGTERM arrives (Docker and systemd send SIGTERM); never, when no
/// signal can be listened for. What `main` passes to [`super::run`].
pub async fn signals() {
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
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Once a stop is asked for: marks the service as stopping (`/healthz` answers 503), tells the
/// dispatcher to stop taking updates, and notifies the returned `Notify` when `grace` after the
/// stop has passed, however far the updates in flight got.
pub(super) fn watch_grace(
    shutdown: Shutdown,
    grace: Duration,
    token: ShutdownToken,
    service: Arc<Service>,
) -> Arc<Notify> {
    let out_of_grace = Arc::new(Notify::new());
    tokio::spawn({
        let out_of_grace = out_of_grace.clone();
        async move {
            shutdown.requested().await;
            let deadline = tokio::time::Instant::now() + grace;
            service.set_stopping();
            log::info!("stopping: finishing updates in flight");
            // The dispatcher may not be running yet (IdleShutdownError): start-up calls see
            // the stop themselves; once it runs, it is told here.
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
    out_of_grace
}
