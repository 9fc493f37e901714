//! Requests that must not hold others up, against the real binary: a client that gives up on a
//! slow statement (pooled read, pipelined read, mutation, `run_sql`) gets its statement
//! cancelled — nobody queues behind it, a cancelled transaction commits nothing — and a large
//! body is parsed while the HTTP thread keeps serving other clients; a body over
//! `GRAPHEDGE_MAX_BODY_BYTES` is refused.
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{database, Server};
use graphedge_metadata::db::{Database, Statement};
use graphedge_scheduler::db::PgDatabase;
use serde_json::{json, Value};

/// What an abandoned statement would take: far beyond every deadline below.
const SLOW_SECONDS: u32 = 30;
/// How long anything may take that must not wait on an abandoned statement.
const PROMPT: Duration = Duration::from_secs(15);

const SCHEMA: &str = r#"
CREATE TABLE ctl (id int PRIMARY KEY, slow boolean NOT NULL);
INSERT INTO ctl VALUES (1, false);
CREATE TABLE item (id int PRIMARY KEY, name text);
INSERT INTO item VALUES (1, 'a'), (2, 'b');
CREATE VIEW slow_item AS
  SELECT i.id, i.name FROM item i, ctl
  WHERE ctl.id = 1 AND (NOT ctl.slow OR pg_sleep(30) IS NOT NULL);
CREATE TABLE slow_log (id int PRIMARY KEY, v text);
CREATE FUNCTION slow_log_sleep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
CREATE TRIGGER slow_log_sleep BEFORE INSERT ON slow_log
  FOR EACH ROW EXECUTE FUNCTION slow_log_sleep();
"#;

/// A direct connection to the database, beside the server under test.
struct Monitor {
    rt: tokio::runtime::Runtime,
    db: PgDatabase,
}

impl Monitor {
    fn new(url: &str) -> Monitor {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Monitor {
            rt,
            db: PgDatabase::connect(url, 1).unwrap(),
        }
    }

    fn value(&self, sql: &str) -> String {
        let stmt = Statement {
            sql: sql.to_string(),
            params: vec![],
        };
        self.rt
            .block_on(self.db.query_one(&stmt))
            .unwrap()
            .unwrap_or_default()
    }

    /// Backends sleeping in `pg_sleep` (the abandoned statements).
    fn sleeping(&self) -> usize {
        self.value("SELECT count(*)::text FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
            .parse()
            .unwrap()
    }

    fn wait_for(&self, what: &str, deadline: Duration, ok: impl Fn(&Self) -> bool) {
        let end = Instant::now() + deadline;
        while !ok(self) {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends a request and leaves the connection open, unanswered, until dropped.
fn start_request(server: &Server, path: &str, body: &Value) -> TcpStream {
    start_request_with(server, path, "", body)
}

/// [`start_request`] with extra header lines (each ending in `\r\n`).
fn start_request_with(server: &Server, path: &str, headers: &str, body: &Value) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    s
}

/// POSTs with a deadline; returns the answer and how long it took.
fn timed_post(base: &str, path: &str, body: &str, deadline: Duration) -> (u16, Value, Duration) {
    let started = Instant::now();
    let agent = ureq::AgentBuilder::new().timeout(deadline).build();
    let resp = match agent
        .post(&format!("{base}{path}"))
        .set("content-type", "application/json")
        .send_string(body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path} did not answer within {deadline:?}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json, started.elapsed())
}

/// Another client's quick query (`item` has the id 1) answers within `deadline`; returns how
/// long it took.
fn quick_query_within(server: &Server, deadline: Duration) -> Duration {
    let body = json!({"query": "{ item(order_by: {id: asc}) { id } }"}).to_string();
    let (status, resp, took) = timed_post(&server.base, "/v1/graphql", &body, deadline);
    assert_eq!(
        (status, &resp["data"]["item"][0]["id"]),
        (200, &json!(1)),
        "{resp}"
    );
    took
}

fn quick_query_answers(server: &Server) {
    quick_query_within(server, PROMPT);
}

/// A server with `flags` and a tracked table `item` (ids 1 and 2).
fn item_server(url: &str, flags: &[&str]) -> Server {
    let server = Server::start_with(url, flags);
    server.run_sql("CREATE TABLE item (id int PRIMARY KEY); INSERT INTO item VALUES (1), (2)");
    server.track("item");
    quick_query_answers(&server);
    server
}

/// `clients` clients start `path`/`body` (one at a time, each once its statement sleeps),
/// then all disconnect: the statements are cancelled and others are served meanwhile.
fn abandon(server: &Server, monitor: &Monitor, clients: usize, path: &str, body: Value) {
    let mut open = Vec::new();
    for i in 0..clients {
        open.push(start_request(server, path, &body));
        monitor.wait_for(
            &format!("{} sleeping statements of {path} {body}", i + 1),
            PROMPT,
            |m| m.sleeping() > i,
        );
    }
    drop(open);
    quick_query_answers(server);
    monitor.wait_for("the abandoned statements to be cancelled", PROMPT, |m| {
        m.sleeping() == 0
    });
}

#[test]
fn abandoned_statements_are_cancelled() {
    let (_pg, url) = database();
    // One HTTP thread: 2 pooled and 2 pipelined connections; no sharing of identical queries.
    let server = Server::start_with(
        &url,
        &[
            "--pg-connections",
            "4",
            "--pg-pipeline-connections",
            "2",
            "--http-threads",
            "1",
            "--coalesce-queries",
            "false",
        ],
    );
    server.run_sql(&SCHEMA.replace("30", &SLOW_SECONDS.to_string()));
    for t in ["ctl", "item", "slow_item", "slow_log"] {
        server.track(t);
    }
    let monitor = Monitor::new(&url);
    quick_query_answers(&server);
    let set_slow = |slow: bool| {
        server.run_sql(&format!("UPDATE ctl SET slow = {slow}"));
    };
    let count = |sql: &str| monitor.value(&format!("SELECT ({sql})::text"));

    // A statement fast so far (pipelined) that turns slow.
    let pipelined = json!({"query": "{ slow_item { id name } }"});
    for _ in 0..20 {
        let (status, resp) = server.post_json("/v1/graphql", pipelined.clone());
        assert_eq!(
            (status, &resp["data"]["slow_item"][0]["id"]),
            (200, &json!(1))
        );
    }
    set_slow(true);
    abandon(&server, &monitor, 4, "/v1/graphql", pipelined.clone());

    // Pooled reads: as many as the pool has connections.
    let pooled = json!({"query": "{ slow_item(where: {id: {_eq: 2}}) { id } }"});
    abandon(&server, &monitor, 2, "/v1/graphql", pooled);

    // A mutation: the fast first insert is rolled back with the slow second one.
    let mutation = json!({"query": r#"mutation {
        a: insert_item_one(object: {id: 100, name: "x"}) { id }
        b: insert_slow_log_one(object: {id: 1, v: "slow"}) { id } }"#});
    abandon(&server, &monitor, 1, "/v1/graphql", mutation);
    assert_eq!(count("SELECT count(*) FROM item WHERE id = 100"), "0");
    assert_eq!(count("SELECT count(*) FROM slow_log"), "0");

    // run_sql (admin): the script's transaction is rolled back too.
    let script = format!("INSERT INTO item VALUES (200, 'y'); SELECT pg_sleep({SLOW_SECONDS})");
    let run_sql = json!({"type": "run_sql", "args": {"source": "default", "sql": script}});
    abandon(&server, &monitor, 1, "/v2/query", run_sql);
    assert_eq!(count("SELECT count(*) FROM item WHERE id = 200"), "0");

    // Every connection still works afterwards, the pipelined statement included.
    set_slow(false);
    for _ in 0..10 {
        let (status, resp) = server.post_json("/v1/graphql", pipelined.clone());
        assert_eq!(
            (status, &resp["data"]["slow_item"][0]["id"]),
            (200, &json!(1)),
            "{resp}"
        );
        quick_query_answers(&server);
    }
}

/// The SQL gateway (what edge hosts reach Postgres through): a client that gives up on a slow
/// statement, single or in a batch, gets it cancelled; the connection is not handed on.
#[test]
fn abandoned_gateway_statements_are_cancelled() {
    let (_pg, url) = database();
    let server = Server::start_with(
        &url,
        &["--enable-sql-gateway", "--gateway-secret", "s3cret"],
    );
    let monitor = Monitor::new(&url);
    let slow = format!("SELECT pg_sleep({SLOW_SECONDS})");
    let single = json!({"query": slow, "params": []});
    let batch =
        json!({"queries": [{"query": "SELECT 1", "params": []}, {"query": slow, "params": []}]});
    for body in [single, batch] {
        let open = start_request_with(&server, "/sql", "Authorization: Bearer s3cret\r\n", &body);
        monitor.wait_for("the gateway's statement to sleep", PROMPT, |m| {
            m.sleeping() == 1
        });
        drop(open);
        monitor.wait_for(
            "the abandoned gateway statement to be cancelled",
            PROMPT,
            |m| m.sleeping() == 0,
        );
    }
    // The gateway still answers.
    let (status, resp) = server.post(
        "/sql",
        &[("authorization", "Bearer s3cret")],
        &json!({"query": "SELECT 1 AS one", "params": []}).to_string(),
    );
    assert_eq!(status, 200, "{resp}");
}

/// A `query($ids: [Int!])` body whose variable has `n` elements.
fn big_body(n: usize) -> String {
    let mut ids = String::with_capacity(n * 2);
    for i in 0..n {
        if i > 0 {
            ids.push(',');
        }
        ids.push('1');
    }
    format!(
        r#"{{"query":"query($ids: [Int!]) {{ item(where: {{id: {{_in: $ids}}}}) {{ id }} }}","variables":{{"ids":[{ids}]}}}}"#
    )
}

#[test]
fn a_large_body_does_not_stall_other_clients() {
    let (_pg, url) = database();
    let server = item_server(&url, &["--http-threads", "1"]);

    let body = big_body(5_000_000);
    assert!(body.len() > 9_000_000);
    let done = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let big = {
        let done = done.clone();
        std::thread::spawn(move || {
            let out = timed_post(&base, "/v1/graphql", &body, Duration::from_secs(600));
            done.store(true, Ordering::SeqCst);
            out
        })
    };
    // Small queries keep answering while the big one is in progress.
    let mut during = Vec::new();
    while !done.load(Ordering::SeqCst) {
        // Generous: without a stall these take milliseconds.
        let took = quick_query_within(&server, PROMPT * 40);
        if !done.load(Ordering::SeqCst) {
            during.push(took);
        }
    }
    let (status, resp, big_took) = big.join().unwrap();
    assert_eq!((status, &resp["data"]["item"]), (200, &json!([{"id": 1}])));
    let slowest = during.iter().max().copied().unwrap_or_default();
    eprintln!(
        "big request {big_took:?}; {} small ones meanwhile, slowest {slowest:?}",
        during.len()
    );
    assert!(
        !during.is_empty(),
        "no small query answered during {big_took:?}"
    );
    assert!(
        slowest * 4 < big_took,
        "a small query took {slowest:?} during a {big_took:?} large one"
    );
}

#[test]
fn a_body_over_the_limit_is_refused() {
    let (_pg, url) = database();
    let server = item_server(&url, &["--max-body-bytes", "100000"]);
    let body = big_body(60_000);
    for (path, want) in [
        (
            "/v1/graphql",
            json!({"errors": [{"message": "request body is larger than 100000 bytes",
                "extensions": {"path": "$", "code": "bad-request"}}]}),
        ),
        (
            "/v1/metadata",
            json!({"path": "$", "error": "request body is larger than 100000 bytes",
                "code": "bad-request"}),
        ),
    ] {
        let (status, resp, _) = timed_post(&server.base, path, &body, PROMPT);
        assert_eq!((status, &resp), (413, &want), "{path}");
    }
    // Without a Content-Length: refused once the bytes read exceed the limit.
    let addr = server.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PROMPT)).unwrap();
    write!(
        s,
        "POST /v1/graphql HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for chunk in body.as_bytes().chunks(50_000) {
        write!(s, "{:x}\r\n", chunk.len()).unwrap();
        s.write_all(chunk).unwrap();
        s.write_all(b"\r\n").unwrap();
    }
    s.write_all(b"0\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut s, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    // Just under the limit is served.
    let (status, resp, _) = timed_post(&server.base, "/v1/graphql", &big_body(40_000), PROMPT);
    assert_eq!((status, &resp["data"]["item"]), (200, &json!([{"id": 1}])));
}
