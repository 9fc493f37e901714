//! End-to-end tests of the `graphedge` binary: a throwaway Postgres, `graphedge serve` on a free
//! port, real HTTP.
//!
//! * `admin_api_and_lifecycle` — /healthz, /v2/query run_sql, /v1/query track_table, bad JSON,
//!   metadata surviving a restart, clean exit on SIGTERM.
//! * `graphql_query_on_tracked_table` — a /v1/graphql query end to end (needs the core compiler).
use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db_url: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_graphedge"))
            .args([
                "serve",
                "--database-url",
                db_url,
                "--server-host",
                "127.0.0.1",
            ])
            .args([
                "--server-port",
                &port.to_string(),
                "--stringify-numeric-types",
            ])
            .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
            .env_remove("HASURA_GRAPHQL_JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn graphedge");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = ureq::get(&format!("{}/healthz", server.base)).call() {
                if r.status() == 200 {
                    return server;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                let _ = server.child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("graphedge exited early ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "graphedge did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// POSTs `body` to `path`; returns the status and the parsed JSON (or the raw text as a
    /// JSON string when it is not JSON).
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req =
            ureq::post(&format!("{}{path}", self.base)).set("content-type", "application/json");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let resp = match req.send_string(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.post(path, &[], &body.to_string())
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "graphedge ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn database() -> (TempPostgres, String) {
    let pg = TempPostgres::start().expect("start a throwaway postgres");
    pg.create_database("graphedge").unwrap();
    let url = pg.url("graphedge");
    (pg, url)
}

const SETUP_SQL: &str = "CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO author (name) VALUES ('Ada'), ('Brian');";

fn setup(server: &Server) {
    let (status, body) = server.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"source": "default", "sql": SETUP_SQL}}),
    );
    assert_eq!(status, 200, "run_sql: {body}");
    let (status, body) = server.post_json(
        "/v1/query",
        json!({"type": "track_table", "args": {"schema": "public", "name": "author"}}),
    );
    assert_eq!(status, 200, "track_table: {body}");
    assert_eq!(body, json!({"message": "success"}));
}

#[test]
fn admin_api_and_lifecycle() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    setup(&server);

    // run_sql returning rows: Hasura's TuplesOk shape, header row first.
    let (status, body) = server.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "SELECT name FROM author ORDER BY id"}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"result_type": "TuplesOk", "result": [["name"], ["Ada"], ["Brian"]]})
    );

    // A SQL error keeps Postgres' message and comes back as Hasura's postgres-error.
    let (status, body) = server.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "SELECT * FROM no_such_table"}}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "postgres-error", "{body}");

    // Malformed JSON is a client error with Hasura's `invalid-json` code, never a 500. (The
    // status and the error shape of /v1/graphql are the edge's decision; both are accepted here.)
    let (status, body) = server.post("/v1/graphql", &[], "{not json");
    assert!(status == 200 || status == 400, "{status} {body}");
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .or(body["code"].as_str());
    assert_eq!(code, Some("invalid-json"), "{body}");
    let (status, body) = server.post("/v1/metadata", &[], "{not json");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid-json", "{body}");

    // Tracking the same table twice is rejected (metadata really changed the first time).
    let (status, body) = server.post_json(
        "/v1/query",
        json!({"type": "track_table", "args": {"schema": "public", "name": "author"}}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "already-tracked", "{body}");

    // Metadata is persisted in Postgres: a restarted server still has the table tracked.
    let status = server.terminate();
    assert!(
        status.success(),
        "graphedge exit status on SIGTERM: {status}"
    );
    let server = Server::start(&url);
    let (status, body) = server.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    assert_eq!(status, 200, "{body}");
    let tables = &body["sources"][0]["tables"];
    assert_eq!(
        tables[0]["table"],
        json!({"schema": "public", "name": "author"}),
        "{body}"
    );
    assert!(server.terminate().success());
}

/// Needs the core compiler (`graphedge_core::compile`): until it lands this fails with a
/// not-supported error, which is the signal, not a reason to weaken the assertion.
#[test]
fn graphql_query_on_tracked_table() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    setup(&server);
    let (status, body) = server.post_json(
        "/v1/graphql",
        json!({"query": "query { author(order_by: {id: asc}) { id name } }"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"author": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Brian"}]}})
    );

    // The same query again goes through the plan cache and the prepared-statement cache.
    let (_, again) = server.post_json(
        "/v1/graphql",
        json!({"query": "query { author(order_by: {id: asc}) { id name } }"}),
    );
    assert_eq!(again, body);

    // A role without permissions sees no such field.
    let (status, body) = server.post(
        "/v1/graphql",
        &[("x-hasura-role", "user")],
        &json!({"query": "{ author { id } }"}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "validation-failed",
        "{body}"
    );
}
