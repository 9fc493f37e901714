//! Event triggers of sources whose databases are not the metadata database, as Hasura's harness
//! starts the engine (`--metadata-database-url M serve`, sources added afterwards): the events
//! written in each source's database are delivered from there, for the `default` source and for
//! a second source on another database (`from_env`). Payloads as Hasura's: bigint as a string
//! with `--stringify-numeric-types`; a row stored in a partition names the partitioned table. The update trigger watches a
//! `json` column (a type without an equality operator).
mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, http_stub, Server, StubResponse};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

/// Each source: its name, its database and a table with an insert trigger.
const SOURCES: &[(&str, &str, &str)] = &[("default", "src", "item"), ("two", "other", "thing")];

fn check_delivered(hits: &Mutex<Vec<Value>>, trigger: &str, table: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = hits.lock().unwrap().iter().any(|b| {
            b["trigger"]["name"] == json!(trigger)
                && b["table"]["name"] == json!(table)
                && b["event"]["data"]["new"]["name"] == json!(name)
        });
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "event of {trigger} not delivered; got {:?}",
            hits.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn events_are_delivered_from_each_source_database() {
    let pg = TempPostgres::start().expect("start a throwaway postgres");
    for db in ["meta", "src", "other"] {
        pg.create_database(db).unwrap();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hits: Arc<Mutex<Vec<Value>>> = Arc::default();
    let h = hits.clone();
    let hook = rt.block_on(http_stub(move |req| {
        h.lock().unwrap().push(req.json());
        async { StubResponse::new(200, "{}") }
    }));

    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("SOURCE_TWO_URL", pg.url("other"))
        .args(["--metadata-database-url", &pg.url("meta"), "serve"])
        .args([
            "--server-host",
            "127.0.0.1",
            "--server-port",
            &port.to_string(),
        ])
        .args(["--enable-telemetry=false", "--stringify-numeric-types"]);
    let s = Server::spawn(cmd, port);

    for (source, db, table) in SOURCES {
        let url = if *source == "default" {
            json!(pg.url(db))
        } else {
            json!({"from_env": "SOURCE_TWO_URL"})
        };
        s.metadata(json!({"type": "pg_add_source", "args": {"name": source,
            "configuration": {"connection_info": {"database_url": url}}}}));
        let (status, body) = s.post_json(
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": source,
                "sql": format!("CREATE TABLE {table} (id serial PRIMARY KEY, name text, doc json, big bigint)")}}),
        );
        assert_eq!(status, 200, "{body}");
        s.metadata(json!({"type": "bulk", "args": [
            {"type": "pg_track_table", "args": {"source": source, "table": table}},
            {"type": "pg_create_event_trigger", "args": {"source": source,
                "name": format!("{table}_ev"), "table": {"schema": "public", "name": table},
                "insert": {"columns": "*"}, "update": {"columns": ["doc"]},
                "webhook": format!("{hook}/{table}")}},
        ]}));
    }
    for (source, _, table) in SOURCES {
        let (status, body) = s.post_json(
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": source,
                "sql": format!("INSERT INTO {table} (name, big) VALUES ('{source} row', 9007199254740993);
                    UPDATE {table} SET name = '{source} renamed';
                    UPDATE {table} SET doc = '{{\"a\": 1}}', name = '{source} doc'")}}),
        );
        assert_eq!(status, 200, "{body}");
    }
    for (source, _, table) in SOURCES {
        let trigger = format!("{table}_ev");
        check_delivered(&hits, &trigger, table, &format!("{source} row"));
        check_delivered(&hits, &trigger, table, &format!("{source} doc"));
        let new_row = |name: String| {
            let hits = hits.lock().unwrap();
            hits.iter()
                .find(|b| b["event"]["data"]["new"]["name"] == json!(name))
                .map(|b| b["event"]["data"]["new"].clone())
        };
        // bigint as a string (the engine stringifies numeric types), as in Hasura's payloads.
        let row = new_row(format!("{source} row")).unwrap();
        assert_eq!(row["big"], json!("9007199254740993"), "{row}");
        // An update that leaves the watched column alone is no event.
        assert_eq!(new_row(format!("{source} renamed")), None);
    }
    // A partitioned table: the event of a row stored in a partition names the table itself.
    let (status, body) = s.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "CREATE TABLE part (id int, name text) PARTITION BY RANGE (id);
            CREATE TABLE part_low PARTITION OF part FOR VALUES FROM (0) TO (100)"}}),
    );
    assert_eq!(status, 200, "{body}");
    s.metadata(json!({"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"table": "part"}},
        {"type": "pg_create_event_trigger", "args": {"name": "part_ev", "table": "part",
            "insert": {"columns": "*"}, "webhook": format!("{hook}/part")}},
    ]}));
    let (status, body) = s.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "INSERT INTO part VALUES (1, 'in a partition')"}}),
    );
    assert_eq!(status, 200, "{body}");
    check_delivered(&hits, "part_ev", "part", "in a partition");

    // Hasura's name of the event log reads each source's events, on that source's database.
    let event_log = |source: &str| {
        s.post_json(
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": source, "sql":
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'hdb_catalog' AND table_name = 'event_log'"}}),
        )
    };
    for (source, _, table) in SOURCES {
        let (status, body) = s.post_json(
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": source, "sql": format!(
                "SELECT count(*) FROM hdb_catalog.event_log WHERE table_name = '{table}' AND locked IS NULL")}}),
        );
        assert_eq!(
            (status, &body["result"][1][0]),
            (200, &json!("2")),
            "{body}"
        );
    }
    // clear_metadata keeps only the default source (as Hasura), and a source database without
    // event triggers has no event log under Hasura's name any more.
    s.metadata(json!({"type": "clear_metadata", "args": {}}));
    let (status, body) = event_log("default");
    assert_eq!(
        (status, &body["result"][1][0]),
        (200, &json!("0")),
        "{body}"
    );
    let (status, body) = s.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    assert_eq!(status, 200);
    let names: Vec<&Value> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert_eq!(names, [&json!("default")], "{body}");
    let gone = pg
        .psql(
            "other",
            "\\pset tuples_only on\nSELECT to_regclass('hdb_catalog.event_log') IS NULL;",
        )
        .unwrap();
    assert_eq!(
        gone.trim(),
        "t",
        "the removed source's event log view is dropped"
    );
}
