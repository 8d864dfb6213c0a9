//! The accept loop over in-memory connections, on tokio's paused clock: the timeouts pass
//! without the test waiting for them.

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};

use super::*;

/// Connections handed over by the test, or accept errors.
struct Script(mpsc::UnboundedReceiver<io::Result<DuplexStream>>);

impl Connections for Script {
    type Io = DuplexStream;

    async fn accept(&mut self) -> io::Result<DuplexStream> {
        match self.0.recv().await {
            Some(next) => next,
            None => std::future::pending().await,
        }
    }
}

const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";

struct Server {
    connections: mpsc::UnboundedSender<io::Result<DuplexStream>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    fn start(limits: HttpLimits) -> Self {
        let (connections, script) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let router = Router::new().route("/hello", get(|| async { "hello" }));
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve_connections(Script(script), router, limits, shutdown));
        Self {
            connections,
            stop: Some(stop),
            task,
        }
    }

    /// A new client; its other end is queued for the server to accept.
    fn connect(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(4096);
        self.connections.send(Ok(server)).expect("the server runs");
        client
    }

    fn fail_accept(&self, err: io::Error) {
        self.connections.send(Err(err)).expect("the server runs");
    }
}

/// Everything the server sends until it closes the connection. The clock is paused, so the
/// bound costs no real time: it only turns a connection left open into a failure, not a hang.
async fn read_to_close(client: &mut DuplexStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(3600), client.read_to_end(&mut got))
        .await
        .expect("the server closed the connection")
        .expect("read");
    String::from_utf8_lossy(&got).into_owned()
}

fn limits(max_connections: usize) -> HttpLimits {
    HttpLimits {
        header_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(10),
        max_connections,
    }
}

#[tokio::test(start_paused = true)]
async fn accept_errors_such_as_emfile_do_not_end_the_server() {
    let server = Server::start(limits(4));
    for _ in 0..5 {
        // EMFILE: the process is out of file descriptors.
        server.fail_accept(io::Error::from_raw_os_error(24));
    }
    server.fail_accept(io::ErrorKind::ConnectionAborted.into());
    let mut client = server.connect();
    client.write_all(REQUEST).await.expect("write");
    let answer = read_to_close(&mut client).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
        "{answer:?}"
    );
    assert!(!server.task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_header_is_closed_and_frees_its_slot_for_the_next_client() {
    // One slot: the second client waits until the server closes the first.
    let server = Server::start(limits(1));
    let mut slow = server.connect();
    slow.write_all(b"GET /hello HTTP/1.1\r\nhost: te")
        .await
        .expect("write");
    let mut next = server.connect();
    next.write_all(REQUEST).await.expect("write");
    let answer = read_to_close(&mut next).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // The slow one was closed without an answer (read_to_close returned).
    assert!(!read_to_close(&mut slow).await.contains("hello"));
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(limits(4));
    let mut client = server.connect();
    client
        .write_all(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    // The answer, then nothing more is asked: the connection closes by itself.
    let answer = read_to_close(&mut client).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
        "{answer:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_ends_the_server_and_its_connections() {
    let mut server = Server::start(limits(4));
    let mut idle = server.connect();
    // Let the server accept it before the stop.
    tokio::task::yield_now().await;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    server.task.await.expect("the server's task");
    assert_eq!(read_to_close(&mut idle).await, "");
}
