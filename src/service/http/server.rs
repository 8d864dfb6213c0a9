//! The connections under the HTTP server: hyper's HTTP/1 over a tokio listener, because
//! `axum::serve` has neither timeouts nor a connection cap, and a few hundred clients that
//! send half a header (no secret needed) would otherwise hold the server's file descriptors
//! until it refuses everyone.
//!
//! - Headers must arrive within `header_timeout`, counted from when a connection starts
//!   waiting for a request (its opening, or the previous answer), so the same timer closes an
//!   idle keep-alive connection. The webhook bounds its body itself ([`super::webhook`]).
//! - At most `max_connections` are served at once. The loop takes a slot before it accepts, so
//!   the others wait in the kernel's listen queue, holding no descriptor of the process.
//! - An accept error (EMFILE, ENFILE, ENOBUFS…) never ends the server: it backs off briefly and
//!   accepts again.
//! - When `shutdown` resolves it stops listening, lets the requests in flight finish and closes
//!   idle connections (hyper's graceful shutdown), then returns.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::HttpLimits;

/// The first pause after an accept error; it doubles while the errors go on.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// The longest pause after accept errors.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Binds `addr` now (so a taken port is a start-up error) and serves `router` in the
/// background within `limits` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    log::info!("HTTP server listening on {}", listener.local_addr()?);
    Ok(tokio::spawn(serve_connections(
        listener, router, limits, shutdown,
    )))
}

/// Where connections come from: a TCP listener, or a script in the tests.
pub(super) trait Connections: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

impl Connections for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<Self::Io> {
        TcpListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// Accepts and serves connections until `shutdown` resolves, then waits for those open to
/// finish their requests.
pub(super) async fn serve_connections<C: Connections>(
    mut connections: C,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut backoff: Option<Duration> = None;
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = connections.accept() => accepted,
        };
        let io = match accepted {
            Ok(io) => {
                backoff = None;
                io
            }
            // The client gave up before it was accepted: nothing wrong with the server.
            Err(err) if is_client_error(&err) => continue,
            Err(err) => {
                if backoff.is_none() {
                    // Once per run of errors: EMFILE can repeat thousands of times a second.
                    log::warn!("the HTTP server could not accept a connection: {err}; retrying");
                }
                let pause = backoff.map_or(FIRST_BACKOFF, |b| (b * 2).min(MAX_BACKOFF));
                backoff = Some(pause);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => continue,
                }
            }
        };
        let connection =
            builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A timeout or a client hanging up ends its connection, and only that one.
            if let Err(err) = connection.await {
                log::debug!("an HTTP connection ended: {err}");
            }
            drop(slot);
        });
    }
    // Stop listening before waiting: new clients are refused, not queued.
    drop(connections);
    graceful.shutdown().await;
}

/// Errors that concern one client, not the listener.
fn is_client_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests;
