//! The HTTP server against hostile or careless clients (issue 13): a flood of half-sent
//! headers, a body that never finishes, and `/healthz` and `/metrics` on an address of their
//! own in webhook mode.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use super::webhook::{SECRET, WEBHOOK_URL};
use super::*;
use crate::harness::{Webhook, http_get};

/// The flood of the issue: with the file limit at 128, 200 of these used to stop the server.
const FLOOD: usize = 300;

/// The webhook's path in [`WEBHOOK_URL`].
const HOOK: &str = "/tg/hook";

/// Whether the server has closed `stream`: reading ends (EOF, or a reset) instead of timing
/// out. Whatever the server said before closing is ignored.
fn closed_by_server(stream: &mut TcpStream) -> Result<(), String> {
    stream
        .set_read_timeout(Some(DEADLINE))
        .map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => Ok(()),
        Err(e) => Err(format!("still open after {DEADLINE:?}: {e}")),
    }
}

#[test]
fn a_flood_of_half_sent_headers_leaves_the_webhook_answering_and_is_closed() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut bot = BotProcess::start(
        &api,
        &[
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("LISTEN_ADDR", &addr),
            ("WEBHOOK_SECRET", SECRET),
            ("HTTP_HEADER_TIMEOUT", "1s"),
            // Below the flood, whatever the machine's speed: some of it waits for a slot, and
            // so does the real update behind it.
            ("HTTP_MAX_CONNECTIONS", "150"),
        ],
    );
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);

    // Each sends half a header, with no secret, and then nothing.
    let mut flood: Vec<TcpStream> = (0..FLOOD)
        .map(|i| {
            let mut stream = TcpStream::connect(&addr)
                .unwrap_or_else(|e| panic!("connection {i} of the flood: {e}"));
            stream
                .write_all(b"POST /tg/hook HTTP/1.1\r\nhost: example.test\r\ncontent-le")
                .unwrap_or_else(|e| panic!("half a header on connection {i}: {e}"));
            stream
        })
        .collect();

    let flooded = Instant::now();
    // A real update still gets in and is answered.
    let mut chat = PrivateChat::new(TgUser::new(5_320_001, "Ada", "en"));
    chat.watch(&bot);
    chat.via(Some(&Webhook {
        addr: addr.clone(),
        path: HOOK.to_owned(),
        secret: SECRET.to_owned(),
    }));
    chat.send(&api, "/start");
    let answered = flooded.elapsed();

    let still_open: Vec<String> = flood
        .iter_mut()
        .enumerate()
        .filter_map(|(i, stream)| closed_by_server(stream).err().map(|e| format!("{i}: {e}")))
        .collect();
    assert!(
        still_open.is_empty(),
        "{} of {FLOOD} half-open connections were not closed: {still_open:?}",
        still_open.len()
    );
    note(&format!(
        "{FLOOD} half-sent headers: a webhook update answered {answered:.1?} after them, all \
         closed {:.1?} after them",
        flooded.elapsed()
    ));
    assert!(bot.is_running(), "the bot died:\n{}", bot.log().tail(40));
    chat.check(&api);
    let output = bot.stop_cleanly(STOP);
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn a_webhook_body_that_never_finishes_gets_408_and_the_connection_closes() {
    let api = FakeTelegram::start();
    let addr = free_addr();
    let mut bot = InProcess::start(
        &api,
        &[
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("LISTEN_ADDR", &addr),
            ("WEBHOOK_SECRET", SECRET),
            ("HTTP_BODY_TIMEOUT", "1s"),
        ],
    );
    wait_for_http(&addr, "/healthz", DEADLINE, "200", |r| r.status == 200);
    let mut stream = TcpStream::connect(&addr).expect("connect");
    let head = format!(
        "POST {HOOK} HTTP/1.1\r\nhost: example.test\r\ncontent-type: application/json\r\n\
         x-telegram-bot-api-secret-token: {SECRET}\r\ncontent-length: 400\r\n\r\n{{\"update_id\":"
    );
    stream
        .write_all(head.as_bytes())
        .expect("the head and a bit of body");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        read.is_ok() && answer.starts_with("HTTP/1.1 408"),
        "{read:?}: {answer:?}"
    );
    bot.stop_cleanly(STOP);
}

#[test]
fn with_metrics_addr_in_webhook_mode_health_and_metrics_move_off_the_webhook_port() {
    let api = FakeTelegram::start();
    let (listen, metrics) = (free_addr(), free_addr());
    let mut bot = InProcess::start(
        &api,
        &[
            ("WEBHOOK_URL", WEBHOOK_URL),
            ("LISTEN_ADDR", &listen),
            ("WEBHOOK_SECRET", SECRET),
            ("METRICS_ADDR", &metrics),
        ],
    );
    wait_for_http(&metrics, "/healthz", DEADLINE, "200", |r| r.status == 200);

    let mut chat = PrivateChat::new(TgUser::new(5_330_001, "Ada", "en"));
    chat.via(Some(&Webhook {
        addr: listen.clone(),
        path: HOOK.to_owned(),
        secret: SECRET.to_owned(),
    }));
    chat.send(&api, "/start");
    chat.check(&api);

    for path in ["/healthz", "/metrics"] {
        // Not served there: the webhook's guard refuses any other path without the secret.
        let answer = http_get(&listen, path).expect("an answer on LISTEN_ADDR");
        assert!(
            matches!(answer.status, 401 | 404),
            "GET {path} on the webhook's port: {answer:?}"
        );
    }
    let answer = http(
        &metrics,
        "POST",
        HOOK,
        &[("x-telegram-bot-api-secret-token", SECRET)],
        b"{}",
    )
    .expect("an answer on METRICS_ADDR");
    assert_eq!(
        answer.status, 404,
        "the webhook on METRICS_ADDR: {answer:?}"
    );
    let counted = wait_until(
        DEADLINE,
        || "the /start counted on METRICS_ADDR".to_owned(),
        || {
            let page = Metrics::fetch(&metrics);
            (page.value(r#"scar_guide_updates_total{kind="message"}"#) == Some(1.0)).then_some(page)
        },
    );
    assert!(
        counted.mentions("scar_guide_replies_total"),
        "{}",
        counted.text
    );
    bot.stop_cleanly(STOP);
}
