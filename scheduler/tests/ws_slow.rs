//! A websocket client that subscribes and then stops reading: the server's memory for it is
//! bounded (a queue of [`PUSH_QUEUE`](graphedge_scheduler::websocket::PUSH_QUEUE) pushes, then
//! the socket's buffers), the socket is dropped, and its subscriptions are freed.
//!
//! * `a_client_that_does_not_read_is_dropped` — 40 live queries whose answers are ~1 MB each
//!   (40 MB pushed at once) on a socket that never reads: within 60 s the server has dropped
//!   the socket (its reads see the end) and `/dev/subscriptions` is empty; the server's
//!   resident memory stayed bounded meanwhile (a loose guard against a growing backlog).
mod common;

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{database, Server};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

/// The server's resident set size (VmRSS), in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_client_that_does_not_read_is_dropped() {
    let (_pg, url) = database();
    let server = Server::start_logged(&url, &[], &[("HASURA_GRAPHQL_DEV_MODE", "true")]).0;
    // 2,000 rows of ~500 bytes: each answer is about 1 MB.
    server.run_sql(
        "CREATE TABLE big (id int PRIMARY KEY, body text NOT NULL);
         INSERT INTO big SELECT i, repeat('x', 500) FROM generate_series(1, 2000) i;",
    );
    server.track("big");
    let before = rss_kib(server.pid());

    let host = server.base.trim_start_matches("http://").to_string();
    let stream = TcpStream::connect(&host).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{host}/v1/graphql"), stream).unwrap();
    let send = |ws: &mut tungstenite::WebSocket<TcpStream>, v: Value| {
        ws.send(Message::text(v.to_string())).unwrap()
    };
    send(&mut ws, json!({"type": "connection_init", "payload": {}}));
    for i in 0..40 {
        send(
            &mut ws,
            json!({"id": format!("s{i}"), "type": "start", "payload": {
                "query": "subscription ($n: Int!) { big(where: {id: {_gt: $n}}) { id body } }",
                "variables": {"n": -i}
            }}),
        );
    }
    // The subscriptions are there (one poller, 40 cohorts).
    let pollers = |server: &Server| -> Value {
        ureq::get(&format!("{}/dev/subscriptions", server.base))
            .call()
            .ok()
            .and_then(|r| r.into_string().ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while pollers(&server).as_array().is_none_or(|a| a.is_empty()) {
        assert!(Instant::now() < deadline, "no poller: {}", pollers(&server));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Never read: the server must give up on the socket.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut peak = 0;
    loop {
        peak = peak.max(rss_kib(server.pid()));
        let gone = pollers(&server).as_array().is_some_and(|a| a.is_empty());
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the socket is still served: {}",
            pollers(&server)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The memory stayed bounded: one round's answer (40 MB read from Postgres, parsed and
    // framed: a few copies, transiently) and at most a queue's worth of pushes, never a
    // growing backlog. The bound is loose (a debug build, the allocator's own slack).
    let grown = peak.saturating_sub(before);
    eprintln!("RSS before {before} KiB, peak {peak} KiB while the socket stalled");
    assert!(
        grown < 1024 * 1024,
        "RSS grew by {grown} KiB (before {before} KiB)"
    );
    // The client's side: reading now drains what was sent, then sees the end.
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
                ) =>
            {
                break
            }
            Err(tungstenite::Error::Protocol(_)) => break,
            Ok(_) => assert!(Instant::now() < deadline, "the socket is still open"),
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
}
