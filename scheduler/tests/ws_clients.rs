//! The real npm GraphQL-over-WebSocket clients against the real binary and a throwaway
//! Postgres: enisdenjo's `graphql-ws` (subprotocol `graphql-transport-ws`) and Apollo's
//! `subscriptions-transport-ws` (subprotocol `graphql-ws`), both driven by
//! `tests/ws-clients/client.mjs` (`npm ci` on first use; skipped with a SKIPPED line only when
//! npm/node are missing). Each case runs once per client (`graphql_ws::…`, `apollo::…`), on a
//! server of its own (admin secret `secret`, dev mode for `/dev/subscriptions`), through one
//! [`check`] of a scenario: commands for the client, the events it must report (each within
//! [`WAIT`]; pushes of different operations in either order), and what the test does
//! meanwhile on the server side. A failing step prints the client's events (every frame sent
//! and received), its stderr and the server's log; `WS_CLIENTS_TRACE=1` prints the events of
//! passing runs too.
//!
//! * `live_query` — a live query's first answer; a mutation over HTTP, then one over the
//!   socket (and a query over the socket): the subscriber gets each new answer.
//! * `stream` — `item_stream(batch_size: 2, cursor: {initial_value: {id: 0}})`: batches of 2,
//!   then the rows a later mutation adds.
//! * `wrong_admin_secret` — graphql-ws: close 4403; Apollo: `connection_error`, close 4400.
//! * `jwt_expiry` — a JWT (HS256) whose `exp` is a few seconds ahead: the subscription works
//!   as the token's role, and the socket is closed once it expired (not before); graphql-ws,
//!   which connects again at once after a normal closure, is refused at once (4403).
//! * `metadata_change_closes_sockets` — a metadata write closes the socket with 1012.
//! * `disconnect_frees_cohort` — `/dev/subscriptions` counts two subscribers of one cohort,
//!   one after a stop, and lists nothing once the client closed its connection.
//! * `killed_client_frees_cohort` — the same when the client process dies (SIGKILL).
//! * `postgres_restart` — Postgres restarts under a live query; a later write still reaches
//!   the subscriber.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{database, Server};
use graphedge_scheduler::pgtemp::TempPostgres;
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const SECRET: &str = "secret";
const JWT_KEY: &str = "a-string-secret-at-least-256-bits-long";
/// How long any one expected event or state may take to come.
const WAIT: Duration = Duration::from_secs(30);

const LIVE: &str = "subscription { item(order_by: {id: asc}) { id name } }";
const STREAM: &str =
    "subscription { item_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { id name } }";

/// One case per client: `graphql_ws::<case>` and `apollo::<case>`.
macro_rules! both_clients {
    ($($case:ident),* $(,)?) => {
        mod graphql_ws {
            $(#[test] fn $case() { super::$case("graphql-ws") })*
        }
        mod apollo {
            $(#[test] fn $case() { super::$case("apollo") })*
        }
    };
}

both_clients!(
    live_query,
    stream,
    wrong_admin_secret,
    jwt_expiry,
    metadata_change_closes_sockets,
    disconnect_frees_cohort,
    killed_client_frees_cohort,
    postgres_restart,
);

fn live_query(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", LIVE),
            Step::Expect("the first answer", items("s1", &["one", "two"])),
            Step::Server(
                "an insert over HTTP",
                Box::new(|fx| {
                    fx.mutate(r#"mutation { insert_item_one(object: {name: "three"}) { id } }"#)
                }),
            ),
            Step::Expect(
                "the answer with the HTTP insert",
                items("s1", &["one", "two", "three"]),
            ),
            start(
                "m1",
                r#"mutation { insert_item_one(object: {name: "four"}) { id name } }"#,
            ),
            Step::Expect(
                "the socket mutation's answer",
                next("m1", |d| d["insert_item_one"]["name"] == "four"),
            ),
            Step::Expect("the socket mutation completes", completes("m1")),
            Step::Expect(
                "the answer with the socket insert",
                items("s1", &["one", "two", "three", "four"]),
            ),
            start("q1", "query { item_by_pk(id: 2) { name } }"),
            Step::Expect(
                "the socket query's answer",
                next("q1", |d| d["item_by_pk"]["name"] == "two"),
            ),
            Step::Expect("the socket query completes", completes("q1")),
        ],
    );
}

fn stream(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    fx.admin(
        "/v2/query",
        sql("INSERT INTO item (name) VALUES ('three');"),
    )
    .unwrap();
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", STREAM),
            Step::Expect("the first batch", batch("s1", &[1, 2])),
            Step::Expect("the second batch", batch("s1", &[3])),
            Step::Server(
                "two inserts over HTTP",
                Box::new(|fx| {
                    fx.mutate(
                        r#"mutation { insert_item(objects: [{name: "four"}, {name: "five"}]) { affected_rows } }"#,
                    )
                }),
            ),
            Step::Expect("the new rows' batch", batch("s1", &[4, 5])),
            start(
                "m1",
                r#"mutation { insert_item_one(object: {name: "six"}) { id } }"#,
            ),
            Step::Expect("the socket mutation completes", completes("m1")),
            Step::Expect("the socket insert's batch", batch("s1", &[6])),
        ],
    );
}

fn wrong_admin_secret(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    let steps = match client {
        "graphql-ws" => vec![Step::Expect("close 4403", closed(4403))],
        _ => vec![
            Step::Expect("a connection error", is("connection_error")),
            Step::Expect("close 4400", closed(4400)),
        ],
    };
    check(
        &fx,
        client,
        json!({"x-hasura-admin-secret": "wrong"}),
        steps,
    );
}

fn jwt_expiry(client: &'static str) {
    let jwt = json!({"type": "HS256", "key": JWT_KEY}).to_string();
    let Some(fx) = Fixture::start(&[("HASURA_GRAPHQL_JWT_SECRET", &jwt)]) else {
        return;
    };
    fx.admin(
        "/v1/metadata",
        json!({"type": "pg_create_select_permission", "args": {
            "source": "default", "table": "item", "role": "user",
            "permission": {"columns": ["id", "name"], "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}}),
    )
    .unwrap();
    // A few seconds: enough for the first answer on a busy machine, short for the test.
    let exp = unix_now() + 5;
    let token = Hs256
        .token(
            &Header::empty(),
            &Claims::new(json!({
                "sub": "2", "iat": exp - 60, "exp": exp,
                "https://hasura.io/jwt/claims": {
                    "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user",
                    "x-hasura-user-id": "2"
                }
            })),
            &Hs256Key::new(JWT_KEY.as_bytes()),
        )
        .unwrap();
    let mut steps = vec![
        Step::Expect("connection acknowledged", is("connected")),
        start("s1", LIVE),
        // The role's filter: only the row of x-hasura-user-id.
        Step::Expect("the first answer, as user 2", items("s1", &["two"])),
        Step::Expect("the socket closes", is("closed")),
        Step::Matched(
            "closed once the token expired",
            Box::new(move |e| e["t"].as_i64().unwrap_or(0) >= exp * 1000 - 1000),
        ),
    ];
    if client == "graphql-ws" {
        // A normal closure with a subscription running: graphql-ws connects again at once,
        // with the same (now expired) token, which `connection_init` must refuse.
        // The socket closes when the verifier starts refusing the token (its `exp` plus the
        // allowed skew, to the second), so the first reconnection is refused.
        steps.push(Step::Expect(
            "the reconnection with the expired token closed",
            is("closed"),
        ));
        steps.push(Step::Matched(
            "refused at once (4403), not acknowledged",
            closed(4403),
        ));
    }
    check(
        &fx,
        client,
        json!({"Authorization": format!("Bearer {token}")}),
        steps,
    );
}

fn metadata_change_closes_sockets(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", LIVE),
            Step::Expect("the first answer", items("s1", &["one", "two"])),
            Step::Server(
                "a metadata change",
                Box::new(|fx| {
                    fx.admin(
                        "/v1/metadata",
                        json!({"type": "pg_create_select_permission", "args": {
                            "source": "default", "table": "item", "role": "user",
                            "permission": {"columns": ["id"], "filter": {}}}}),
                    )
                    .map(drop)
                }),
            ),
            Step::Expect("close 1012", closed(1012)),
        ],
    );
}

fn disconnect_frees_cohort(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", LIVE),
            start("s2", LIVE),
            Step::Expect("s1's first answer", items("s1", &["one", "two"])),
            Step::Expect("s2's first answer", items("s2", &["one", "two"])),
            Step::Pollers("one cohort, two subscribers", pollers(1, 2)),
            Step::Send(json!({"op": "stop", "id": "s1"})),
            Step::Pollers("one subscriber left after a stop", pollers(1, 1)),
            Step::Send(json!({"op": "close"})),
            Step::Expect("the socket closes", is("closed")),
            Step::Pollers("no pollers after the close", no_pollers()),
        ],
    );
}

fn killed_client_frees_cohort(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", LIVE),
            Step::Expect("the first answer", items("s1", &["one", "two"])),
            Step::Pollers("one subscriber", pollers(1, 1)),
            Step::Kill,
            Step::Pollers("no pollers once the client died", no_pollers()),
        ],
    );
}

fn postgres_restart(client: &'static str) {
    let Some(fx) = Fixture::start(&[]) else {
        return;
    };
    check(
        &fx,
        client,
        admin_headers(),
        vec![
            Step::Expect("connection acknowledged", is("connected")),
            start("s1", LIVE),
            Step::Expect("the first answer", items("s1", &["one", "two"])),
            Step::Server(
                "Postgres restarts",
                Box::new(|fx| fx.pg.restart().map_err(|e| format!("restart: {e}"))),
            ),
            Step::Server(
                "an insert over HTTP (retried while the server reconnects)",
                Box::new(|fx| {
                    let deadline = Instant::now() + WAIT;
                    loop {
                        match fx.mutate(
                            r#"mutation { insert_item_one(object: {name: "three"}) { id } }"#,
                        ) {
                            Ok(()) => return Ok(()),
                            Err(e) if Instant::now() > deadline => return Err(e),
                            Err(_) => std::thread::sleep(Duration::from_millis(250)),
                        }
                    }
                }),
            ),
            Step::Expect(
                "the answer with the insert after the restart",
                items("s1", &["one", "two", "three"]),
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The fixture: Postgres, the server, the npm project.

/// A throwaway Postgres with `item(id, name)` holding `one` and `two`, tracked, and
/// `graphedge serve` on it with an admin secret, in dev mode.
struct Fixture {
    // Dropped first: the server before its database.
    server: Server,
    log: Arc<Mutex<Vec<String>>>,
    pg: TempPostgres,
    dir: PathBuf,
}

impl Fixture {
    /// `None` (after a SKIPPED line) when node/npm are missing.
    fn start(env: &[(&str, &str)]) -> Option<Fixture> {
        let dir = npm_dir()?;
        let (pg, url) = database();
        let mut vars = vec![("HASURA_GRAPHQL_DEV_MODE", "true")];
        vars.extend_from_slice(env);
        let (server, log) = Server::start_logged(&url, &["--admin-secret", SECRET], &vars);
        let fx = Fixture {
            server,
            log,
            pg,
            dir,
        };
        fx.admin(
            "/v2/query",
            sql(
                "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);
                 INSERT INTO item (name) VALUES ('one'), ('two');",
            ),
        )
        .unwrap();
        fx.admin(
            "/v1/metadata",
            json!({"type": "pg_track_table", "args": {"source": "default", "table": "item"}}),
        )
        .unwrap();
        Some(fx)
    }

    /// POSTs `body` to `path` as admin; the answer, or an error unless it is 200.
    fn admin(&self, path: &str, body: Value) -> Result<Value, String> {
        let (status, answer) = self.server.post(
            path,
            &[("x-hasura-admin-secret", SECRET)],
            &body.to_string(),
        );
        match status {
            200 => Ok(answer),
            _ => Err(format!("{path} {body} answered {status}: {answer}")),
        }
    }

    /// A GraphQL mutation over HTTP as admin; an error unless it answered data.
    fn mutate(&self, query: &str) -> Result<(), String> {
        let answer = self.admin("/v1/graphql", json!({ "query": query }))?;
        match answer.get("errors") {
            None => Ok(()),
            Some(_) => Err(format!("{query} answered {answer}")),
        }
    }

    /// `GET /dev/subscriptions` as admin.
    fn pollers(&self) -> Result<Value, String> {
        let resp = ureq::get(&format!("{}/dev/subscriptions", self.server.base))
            .set("x-hasura-admin-secret", SECRET)
            .call()
            .map_err(|e| format!("GET /dev/subscriptions: {e}"))?;
        let text = resp
            .into_string()
            .map_err(|e| format!("/dev/subscriptions: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("/dev/subscriptions {text:?}: {e}"))
    }
}

/// `tests/ws-clients`, installed once per test binary (the cases run in parallel).
fn npm_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        common::npm_project("ws-clients", "graphql-ws", "the websocket client tests")
    })
    .clone()
}

fn sql(sql: &str) -> Value {
    json!({"type": "run_sql", "args": {"source": "default", "sql": sql}})
}

fn admin_headers() -> Value {
    json!({ "x-hasura-admin-secret": SECRET })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------
// Scenarios.

type Pred = Box<dyn Fn(&Value) -> bool>;
/// A server-side action of a scenario.
type Act = Box<dyn Fn(&Fixture) -> Result<(), String>>;

enum Step {
    /// A command line for the client (`{"op": …}`, see client.mjs).
    Send(Value),
    /// An event the predicate accepts, within [`WAIT`], that no earlier `Expect` took (see
    /// [`Run::expect`]).
    Expect(&'static str, Pred),
    /// A condition on the event the last `Expect` matched.
    Matched(&'static str, Pred),
    /// Something done on the server side meanwhile.
    Server(&'static str, Act),
    /// `/dev/subscriptions` satisfies the predicate within [`WAIT`] (polled).
    Pollers(&'static str, Pred),
    /// SIGKILL the client process.
    Kill,
}

fn start(id: &str, query: &str) -> Step {
    Step::Send(json!({"op": "start", "id": id, "query": query}))
}

fn is(event: &'static str) -> Pred {
    Box::new(move |e| e["event"] == event)
}

fn closed(code: u16) -> Pred {
    Box::new(move |e| e["event"] == "closed" && e["code"] == code)
}

fn completes(id: &'static str) -> Pred {
    Box::new(move |e| e["event"] == "complete" && e["id"] == id)
}

/// A result of operation `id` whose `data` the predicate accepts.
fn next(id: &'static str, data: fn(&Value) -> bool) -> Pred {
    Box::new(move |e| e["event"] == "next" && e["id"] == id && data(&e["payload"]["data"]))
}

/// A live query's answer: the names of `item`, in order.
fn items(id: &'static str, names: &'static [&'static str]) -> Pred {
    Box::new(move |e| {
        e["event"] == "next"
            && e["id"] == id
            && e["payload"]["data"]["item"]
                .as_array()
                .is_some_and(|rows| rows.iter().map(|r| &r["name"]).eq(names.iter().copied()))
    })
}

/// A stream's batch: the ids of `item_stream`, in order.
fn batch(id: &'static str, ids: &'static [i64]) -> Pred {
    Box::new(move |e| {
        e["event"] == "next"
            && e["id"] == id
            && e["payload"]["data"]["item_stream"]
                .as_array()
                .is_some_and(|rows| {
                    rows.iter()
                        .map(|r| r["id"].as_i64())
                        .eq(ids.iter().map(|i| Some(*i)))
                })
    })
}

/// `/dev/subscriptions` lists one poller with `cohorts` cohorts and `subscribers` subscribers.
fn pollers(cohorts: u64, subscribers: u64) -> Pred {
    Box::new(move |v| {
        v.as_array().is_some_and(|list| {
            list.len() == 1
                && list[0]["cohorts"] == cohorts
                && list[0]["subscribers"] == subscribers
        })
    })
}

fn no_pollers() -> Pred {
    Box::new(|v| *v == json!([]))
}

/// Runs `steps` with a fresh `client` (`graphql-ws` or `apollo`) connecting to the fixture's
/// `/v1/graphql` with `headers` in `connection_init`; panics with the client's events, its
/// stderr and the server's log at the first step that fails.
fn check(fx: &Fixture, client: &'static str, headers: Value, steps: Vec<Step>) {
    let mut run = Run::spawn(fx, client, headers);
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Send(cmd) => {
                let stdin = run.stdin.as_mut().expect("the client's stdin");
                if let Err(e) = writeln!(stdin, "{cmd}") {
                    run.fail(i, "send", &format!("writing {cmd}: {e}"));
                }
            }
            Step::Expect(what, pred) => run.expect(i, what, &pred),
            Step::Matched(what, pred) => {
                if !pred(&run.matched) {
                    let got = run.matched.to_string();
                    run.fail(i, what, &format!("the event was {got}"));
                }
            }
            Step::Server(what, act) => {
                if let Err(e) = act(fx) {
                    run.fail(i, what, &e);
                }
            }
            Step::Pollers(what, pred) => {
                let started = Instant::now();
                let mut last = Err(String::from("not asked yet"));
                while started.elapsed() < WAIT {
                    last = fx.pollers();
                    if last.as_ref().is_ok_and(&pred) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                match last {
                    Ok(v) if pred(&v) => {
                        eprintln!("{client}: {what} after {:?}", started.elapsed());
                    }
                    other => run.fail(i, what, &format!("/dev/subscriptions: {other:?}")),
                }
            }
            Step::Kill => {
                let _ = run.child.kill();
                let _ = run.child.wait();
            }
        }
    }
    if std::env::var_os("WS_CLIENTS_TRACE").is_some() {
        eprintln!("--- {client}:\n{}", run.transcript());
    }
}

/// A running client.mjs and what it reported.
struct Run<'a> {
    fx: &'a Fixture,
    client: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    /// Every event so far (a line that is not JSON becomes a string).
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    /// Which events an earlier `Expect` took.
    taken: Vec<bool>,
    /// The event the last `Expect` matched.
    matched: Value,
}

impl<'a> Run<'a> {
    fn spawn(fx: &'a Fixture, client: &'static str, headers: Value) -> Run<'a> {
        let url = format!(
            "{}/v1/graphql",
            fx.server.base.replacen("http://", "ws://", 1)
        );
        let config = json!({"client": client, "url": url, "headers": headers,
                            "lifetimeMs": 180_000});
        let mut child = Command::new("node")
            .arg("client.mjs")
            .arg(config.to_string())
            .current_dir(&fx.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(event);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Run {
            fx,
            client,
            stdin: child.stdin.take(),
            child,
            events,
            stderr,
            taken: Vec::new(),
            matched: Value::Null,
        }
    }

    /// Waits for an event `pred` accepts among those no earlier `Expect` took (in the order they
    /// came: pushes of different operations may interleave either way); a `closed`, `error` or
    /// `timeout` event that nothing took and `pred` refuses fails at once.
    fn expect(&mut self, step: usize, what: &str, pred: &Pred) {
        let deadline = Instant::now() + WAIT;
        loop {
            let events = self.events.lock().unwrap().clone();
            self.taken.resize(events.len(), false);
            for (i, event) in events.iter().enumerate() {
                if self.taken[i] {
                    continue;
                }
                if pred(event) {
                    self.taken[i] = true;
                    self.matched = event.clone();
                    return;
                }
                let kind = event["event"].as_str().unwrap_or_default();
                if matches!(kind, "closed" | "error" | "timeout") {
                    self.fail(step, what, &format!("got {event} instead"));
                }
            }
            if Instant::now() > deadline {
                self.fail(step, what, &format!("nothing within {WAIT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The client's events, one a line, without keep-alives.
    fn transcript(&self) -> String {
        let events = self.events.lock().unwrap();
        let lines: Vec<String> = events
            .iter()
            .filter(|e| {
                !matches!(
                    e["data"]["type"].as_str(),
                    Some("ka" | "ping" | "pong") if e["event"] == "frame" || e["event"] == "sent"
                )
            })
            .map(Value::to_string)
            .collect();
        lines.join("\n")
    }

    fn fail(&mut self, step: usize, what: &str, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.fx.log.lock().unwrap().clone();
        let tail = &log[log.len().saturating_sub(40)..];
        panic!(
            "{}: step {step} ({what}) failed: {why}\n--- the client's events:\n{}\n--- its stderr:\n{}\n--- the server's log (last lines):\n{}",
            self.client,
            self.transcript(),
            self.stderr.lock().unwrap(),
            tail.join("\n"),
        );
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
