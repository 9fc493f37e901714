//! Several `graphedge serve` processes on one database, as replicas behind a load balancer
//! run: a change through one is served by the others (LISTEN/NOTIFY, polling fallback), a
//! metadata write never overwrites newer metadata (compare-and-set on `resource_version`,
//! Hasura's 409 `conflict`), `reload_metadata` re-reads the stored metadata and the database.
//!
//! Convergence times are printed (`--nocapture`); the goal is 1 s, the assertion a generous
//! [`DEADLINE`] so the tests hold on a busy machine.
mod common;

use std::time::{Duration, Instant};

use common::{database, Server};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

/// How long a change may take to reach every process before a test fails.
const DEADLINE: Duration = Duration::from_secs(5);

/// Runs `sql` directly (not through graphedge); the rows unaligned, `|`-separated.
fn sql(pg: &TempPostgres, sql: &str) -> String {
    pg.psql(
        "graphedge",
        &format!("\\pset tuples_only on\n\\pset format unaligned\n{sql}"),
    )
    .unwrap()
    .trim()
    .to_string()
}

fn stored_version(pg: &TempPostgres) -> i64 {
    sql(pg, "SELECT resource_version FROM graphedge.metadata")
        .parse()
        .unwrap()
}

fn stored_metadata(pg: &TempPostgres) -> Value {
    serde_json::from_str(&sql(pg, "SELECT metadata::text FROM graphedge.metadata")).unwrap()
}

/// The select permissions of `public.<table>` in the stored metadata, by role.
fn stored_permissions(pg: &TempPostgres, table: &str) -> Vec<(String, Value)> {
    let md = stored_metadata(pg);
    let tables = md["sources"][0]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(t) = tables.iter().find(|t| t["table"]["name"] == table) else {
        return Vec::new();
    };
    let perms = t["select_permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    perms
        .iter()
        .map(|p| {
            (
                p["role"].as_str().unwrap().to_string(),
                p["permission"].clone(),
            )
        })
        .collect()
}

fn stored_tables(pg: &TempPostgres) -> Vec<String> {
    let md = stored_metadata(pg);
    let mut names: Vec<String> = md["sources"][0]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t["table"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `query` as `role` through `s`: its `data`, or `None` on errors.
fn data(s: &Server, role: &str, query: &str) -> Option<Value> {
    let (status, body) = s.graphql(&[("x-hasura-role", role)], query);
    (status == 200 && body.get("errors").is_none()).then(|| body["data"].clone())
}

/// Waits until `ok` holds on every server in `servers`; prints and returns how long it took.
fn check(what: &str, servers: &[&Server], ok: impl Fn(&Server) -> bool) -> Duration {
    let start = Instant::now();
    for (i, s) in servers.iter().enumerate() {
        while !ok(s) {
            assert!(
                start.elapsed() < DEADLINE,
                "{what}: server {i} did not converge within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let took = start.elapsed();
    println!("converged: {what} in {} ms", took.as_millis());
    took
}

fn select_permission(table: &str, role: &str, permission: Value) -> Value {
    json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": {"schema": "public", "name": table}, "role": role, "permission": permission}})
}

fn drop_select_permission(table: &str, role: &str) -> Value {
    json!({"type": "pg_drop_select_permission", "args": {"source": "default",
        "table": {"schema": "public", "name": table}, "role": role}})
}

fn track(table: &str) -> Value {
    json!({"type": "pg_track_table", "args": {"source": "default",
        "table": {"schema": "public", "name": table}}})
}

/// `body` with a top-level `resource_version`.
fn at_version(mut body: Value, version: i64) -> Value {
    body["resource_version"] = json!(version);
    body
}

/// The `resource_version` `export_metadata` answers through `s`.
fn exported_version(s: &Server) -> i64 {
    let (status, body) = s.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "version": 2, "args": {}}),
    );
    assert_eq!(status, 200, "{body}");
    body["resource_version"].as_i64().unwrap()
}

/// Creates `public.<name>` (`id int` key) for each name, through `s`.
fn create_tables(s: &Server, names: &[String]) {
    s.run_sql(
        &names
            .iter()
            .map(|t| format!("CREATE TABLE {t} (id int PRIMARY KEY);"))
            .collect::<String>(),
    );
}

/// Two servers on one fresh database with `public.t1` (3 rows) tracked through the first. The
/// second reaches Postgres over the HTTP transport (its own gateway), so every check covers
/// both of `serve`'s databases: the compare-and-set through Neon's protocol, and the watcher
/// polling over HTTP with its LISTEN connection beside it.
fn two_servers() -> (TempPostgres, Server, Server) {
    let (pg, url) = database();
    let a = Server::start(&url);
    let b = Server::start_with(
        &url,
        &["--stringify-numeric-types", "--sql-endpoint", "loopback"],
    );
    a.run_sql(
        "CREATE TABLE t1 (id int PRIMARY KEY, v text); \
         INSERT INTO t1 VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    a.track("t1");
    check("track through A", &[&b], |s| {
        data(s, "admin", "{ t1 { id } }").is_some()
    });
    (pg, a, b)
}

#[test]
fn a_change_through_one_process_is_served_by_the_other() {
    let (_pg, a, b) = two_servers();
    let rows = |s: &Server| {
        data(s, "user", "{ t1 { id } }").map(|d| d["t1"].as_array().map_or(0, |r| r.len()))
    };
    a.metadata(select_permission(
        "t1",
        "user",
        json!({"columns": ["id"], "filter": {}, "limit": 1}),
    ));
    check("permission through A", &[&b], |s| rows(s) == Some(1));
    b.metadata(drop_select_permission("t1", "user"));
    check("permission dropped through B", &[&a], |s| rows(s).is_none());
}

#[test]
fn a_stale_resource_version_is_refused_with_409() {
    let (pg, a, b) = two_servers();
    let seen = exported_version(&b);
    a.metadata(select_permission(
        "t1",
        "user",
        json!({"columns": ["id"], "filter": {}}),
    ));
    let stored = stored_version(&pg);
    assert_eq!(stored, seen + 1);
    let (_, export) = b.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    let conflict = json!({"path": "$", "code": "conflict", "error":
        format!("metadata resource version referenced ({seen}) did not match current version")});
    for body in [
        json!({"type": "replace_metadata", "args": export}),
        drop_select_permission("t1", "user"),
    ] {
        let (status, answer) = b.post_json("/v1/metadata", at_version(body.clone(), seen));
        assert_eq!((status, &answer), (409, &conflict), "{body}");
        assert_eq!(stored_version(&pg), stored, "{body}");
        assert_eq!(stored_permissions(&pg, "t1").len(), 1, "{body}");
    }
    // The current version is accepted, through either process.
    let body = at_version(drop_select_permission("t1", "user"), stored);
    let (status, answer) = b.post_json("/v1/metadata", body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(stored_version(&pg), stored + 1);
    assert!(stored_permissions(&pg, "t1").is_empty());
}

#[test]
fn a_write_through_a_stale_process_never_reverts_newer_metadata() {
    let (pg, a, b) = two_servers();
    let tables: Vec<String> = (0..4).map(|i| format!("u{i}")).collect();
    create_tables(&a, &tables);
    // A changes the metadata and B writes right after, before it could follow.
    for (i, t) in tables.iter().enumerate() {
        let role = format!("r{i}");
        a.metadata(select_permission(
            "t1",
            &role,
            json!({"columns": ["id"], "filter": {}, "limit": i + 1}),
        ));
        b.metadata(track(t));
    }
    a.metadata(drop_select_permission("t1", "r0"));
    b.metadata(drop_select_permission("t1", "r1"));
    let perms = stored_permissions(&pg, "t1");
    let roles: Vec<&str> = perms.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["r2", "r3"]);
    assert_eq!(perms[0].1["limit"], 3);
    assert_eq!(perms[1].1["limit"], 4);
    assert_eq!(stored_tables(&pg), ["t1", "u0", "u1", "u2", "u3"]);

    // Concurrent writers through both processes: every change is kept, none is refused.
    let names: Vec<String> = (0..12).map(|i| format!("w{i}")).collect();
    create_tables(&a, &names);
    let before = stored_version(&pg);
    std::thread::scope(|scope| {
        for (i, chunk) in names.chunks(3).enumerate() {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            scope.spawn(move || {
                for t in chunk {
                    let (status, answer) =
                        common::post(base, "/v1/metadata", &[], &track(t).to_string());
                    assert_eq!(status, 200, "{t}: {answer}");
                }
            });
        }
    });
    assert_eq!(stored_version(&pg), before + names.len() as i64);
    let tracked = stored_tables(&pg);
    assert!(names.iter().all(|n| tracked.contains(n)), "{tracked:?}");
}

#[test]
fn reload_metadata_rereads_the_stored_metadata_and_the_database() {
    let (pg, a, b) = two_servers();
    // Changed behind graphedge's back: B serves the old columns until a reload.
    sql(&pg, "ALTER TABLE t1 ADD COLUMN extra text DEFAULT 'x'");
    let extra = |s: &Server| data(s, "admin", "{ t1(limit: 1) { extra } }").is_some();
    assert!(!extra(&b));
    b.metadata(json!({"type": "reload_metadata", "args": {}}));
    assert!(extra(&b));
    check("reload through B", &[&a], extra);
    assert_eq!(exported_version(&b), stored_version(&pg));
    assert_eq!(exported_version(&a), stored_version(&pg));
    // A table created after both started is trackable through either.
    sql(&pg, "CREATE TABLE t2 (id int PRIMARY KEY)");
    b.track("t2");
    check("track of a new table through B", &[&a, &b], |s| {
        data(s, "admin", "{ t2 { id } }").is_some()
    });
}

#[test]
fn a_process_whose_listen_connection_died_still_follows() {
    let (pg, a, b) = two_servers();
    let listen = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'graphedge-metadata-{}'",
        b.pid()
    );
    assert_eq!(sql(&pg, &listen), "1");
    let killed = sql(
        &pg,
        &listen.replace("count(*)", "count(pg_terminate_backend(pid))"),
    );
    assert_eq!(killed, "1");
    a.metadata(select_permission(
        "t1",
        "user",
        json!({"columns": ["id"], "filter": {}}),
    ));
    check("change while B's LISTEN connection is lost", &[&b], |s| {
        data(s, "user", "{ t1 { id } }").is_some()
    });
    check("B's LISTEN connection reopened", &[&b], |_| {
        sql(&pg, &listen) == "1"
    });
    a.metadata(drop_select_permission("t1", "user"));
    check("change after B reconnected", &[&b], |s| {
        data(s, "user", "{ t1 { id } }").is_none()
    });
}

#[test]
fn three_processes_converge_after_every_change() {
    let (pg, url) = database();
    let servers: Vec<Server> = (0..3).map(|_| Server::start(&url)).collect();
    let all: Vec<&Server> = servers.iter().collect();
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    create_tables(&servers[0], &names);
    let mut times = Vec::new();
    for (i, t) in names.iter().enumerate() {
        servers[i % 3].track(t);
        let query = format!("{{ {t} {{ id }} }}");
        times.push(check(
            &format!("track {t} through server {}", i % 3),
            &all,
            |s| data(s, "admin", &query).is_some(),
        ));
    }
    for (i, t) in names.iter().enumerate().rev() {
        servers[(i + 1) % 3].metadata(json!({"type": "pg_untrack_table",
            "args": {"source": "default", "table": {"schema": "public", "name": t}}}));
        let query = format!("{{ {t} {{ id }} }}");
        times.push(check(
            &format!("untrack {t} through server {}", (i + 1) % 3),
            &all,
            |s| data(s, "admin", &query).is_none(),
        ));
    }
    times.sort();
    println!(
        "convergence over 3 processes: median {} ms, max {} ms",
        times[times.len() / 2].as_millis(),
        times[times.len() - 1].as_millis()
    );
    assert_eq!(stored_tables(&pg), Vec::<String>::new());
}

/// In process, without the watcher: a request on a stale state works on the stored metadata,
/// and the store's compare-and-set refuses a stale expected version.
#[test]
fn a_stale_copy_is_never_written_back() {
    use graphedge_metadata::{execute, load, store, Config, Endpoint};
    use graphedge_scheduler::db::PgDatabase;
    let (pg, url) = database();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let db = PgDatabase::connect(&url, 2).unwrap();
            let config = Config::default();
            let stale = load(&db, &config).await.unwrap();
            let collection = |name: &str| {
                json!({"type": "create_query_collection",
                    "args": {"name": name, "definition": {"queries": []}}})
            };
            let run = |body: Value| {
                let (stale, db, config) = (&stale, &db, &config);
                async move { execute(stale, Endpoint::V1Metadata, &body, db, config).await }
            };
            for name in ["c1", "c2"] {
                let (_, new) = run(collection(name)).await.unwrap();
                assert_eq!(new.unwrap().resource_version, stored_version(&pg));
            }
            assert_eq!(
                stored_metadata(&pg)["query_collections"],
                json!([{"name": "c1", "definition": {"queries": []}},
                    {"name": "c2", "definition": {"queries": []}}])
            );
            let e = run(at_version(collection("c3"), 0)).await.unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (409, "conflict"));
            let md = stored_metadata(&pg);
            let e = store::write(&db, 0, &json!({}), None).await.unwrap_err();
            assert!(store::is_conflict(&e), "{e:?}");
            assert_eq!((stored_version(&pg), stored_metadata(&pg)), (2, md.clone()));
            store::write(&db, 2, &md, None).await.unwrap();
            assert_eq!(stored_version(&pg), 3);
        });
}
