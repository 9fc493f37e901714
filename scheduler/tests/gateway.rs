//! The SQL gateway (`graphedge serve --enable-sql-gateway`, Neon's SQL-over-HTTP protocol) over a
//! throwaway Postgres, driven by
//! * the real `@neondatabase/serverless` npm driver (tests/neon-driver, `npm ci` on first use;
//!   skipped with a message only when npm/node are missing);
//! * graphedge's own client, `NeonDatabase` over `NativeHttp`;
//! * and the whole engine over the HTTP transport (`--sql-endpoint loopback`).
mod common;

use std::process::Command;
use std::time::Duration;

use common::{database, Server};
use graphedge_edge::transport::{NeonConfig, NeonDatabase};
use graphedge_metadata::db::{Database, DbError, SqlResult, Statement};
use graphedge_scheduler::http_client::NativeHttp;
use serde_json::json;

const SECRET: &str = "gateway-test-secret";
const PASSWORD: &str = "pw-for-the-gateway";

/// A database whose URL carries [`PASSWORD`] (trust auth ignores it; the gateway checks it),
/// and a server with the gateway on (small limits so the tests can reach them).
fn gateway_server() -> (graphedge_scheduler::pgtemp::TempPostgres, String, Server) {
    let (pg, url) = database();
    let url = url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1);
    let server = Server::start_with(
        &url,
        &[
            "--enable-sql-gateway",
            "--gateway-secret",
            SECRET,
            "--gateway-statement-timeout",
            "1",
            "--gateway-max-request-bytes",
            "100000",
            "--gateway-max-response-bytes",
            "200000",
        ],
    );
    (pg, url, server)
}

#[test]
fn neon_npm_driver_against_the_gateway() {
    let Some(dir) = common::npm_project(
        "neon-driver",
        "@neondatabase/serverless",
        "the @neondatabase/serverless driver test",
    ) else {
        return;
    };
    let (_pg, url, server) = gateway_server();
    let out = Command::new("node")
        .arg("test.mjs")
        .current_dir(&dir)
        .env("GATEWAY_URL", format!("{}/sql", server.base))
        .env("DATABASE_URL", &url)
        .env("GATEWAY_SECRET", SECRET)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node test.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    eprintln!("{stdout}");
}

fn stmt(sql: &str, params: &[Option<&str>]) -> Statement {
    Statement {
        sql: sql.to_string(),
        params: params.iter().map(|p| p.map(str::to_string)).collect(),
    }
}

fn client(server: &Server, conn: &str, token: Option<&str>) -> NeonDatabase<NativeHttp> {
    let config = NeonConfig::new(conn)
        .unwrap()
        .with_endpoint(&format!("{}/sql", server.base))
        .with_auth_token(token);
    NeonDatabase::new(NativeHttp::new(Duration::from_secs(30)).unwrap(), config)
}

/// Expects an error whose message contains `needle` and with the given SQLSTATE and statement.
fn check_err(e: DbError, code: Option<&str>, statement: Option<usize>, needle: &str) {
    assert_eq!(e.code.as_deref(), code, "{e:?}");
    assert_eq!(e.statement, statement, "{e:?}");
    assert_eq!(e.connection, code.is_none(), "{e:?}");
    assert!(e.message.contains(needle), "{needle:?} not in {e:?}");
}

#[test]
fn neon_database_against_the_gateway() {
    let (_pg, url, server) = gateway_server();
    let db = client(&server, &url, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // query_one: text parameters reach Postgres as that text; values come back as text.
        let v = db
            .query_one(&stmt(
                "SELECT json_build_object('a', $1::int, 'b', $2::text, 'n', $3::numeric)",
                &[Some("41"), None, Some("1.50")],
            ))
            .await
            .unwrap();
        assert_eq!(v.as_deref(), Some(r#"{"a" : 41, "b" : null, "n" : 1.50}"#));
        let v = db
            .query_one(&stmt("SELECT now()::date - '2000-01-01'::date > 0", &[]))
            .await
            .unwrap();
        assert_eq!(v.as_deref(), Some("t"));
        assert_eq!(
            db.query_one(&stmt("SELECT 1 WHERE false", &[]))
                .await
                .unwrap(),
            None
        );

        // run_sql: a multi-statement script (dollar quotes, comments) as one batch.
        let out = db
            .run_sql(
                "CREATE TABLE t (id int PRIMARY KEY, v text); -- a comment; with a semicolon\n\
                 CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n\
                 INSERT INTO t VALUES (1, 'a;b');\n\
                 SELECT id, v, f() AS f, 1.5::float8 AS x, '{1,2}'::int[] AS arr FROM t;",
            )
            .await
            .unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], SqlResult::Command);
        match &out[3] {
            SqlResult::Tuples(rows) => {
                assert_eq!(rows.columns, ["id", "v", "f", "x", "arr"]);
                let expected: Vec<Option<String>> = ["1", "a;b", "1", "1.5", "{1,2}"]
                    .iter()
                    .map(|s| Some(s.to_string()))
                    .collect();
                assert_eq!(rows.rows, vec![expected]);
            }
            other => panic!("{other:?}"),
        }

        // A transaction: a failing statement rolls everything back and is identified.
        let e = db
            .transaction(&[
                stmt("INSERT INTO t VALUES ($1::int, 'x')", &[Some("2")]),
                stmt("UPDATE t SET v = 'changed'", &[]),
                stmt("INSERT INTO t VALUES ($1::int, 'dup')", &[Some("1")]),
            ])
            .await
            .unwrap_err();
        check_err(e, Some("23505"), Some(2), "duplicate key");
        assert!(
            db.query_one(&stmt("SELECT string_agg(id || v, ',') FROM t", &[]))
                .await
                .unwrap()
                == Some("1a;b".to_string())
        );
        let rows = db
            .transaction(&[
                stmt(
                    "INSERT INTO t VALUES ($1::int, $2::text)",
                    &[Some("2"), None],
                ),
                stmt("SELECT id, v FROM t ORDER BY id", &[]),
            ])
            .await
            .unwrap();
        assert_eq!(rows[0].row_count, 1);
        assert!(rows[0].columns.is_empty());
        assert_eq!(rows[1].rows[1], vec![Some("2".to_string()), None]);

        // Statement timeout (1 s) is a database error.
        let e = db
            .query_one(&stmt("SELECT pg_sleep(5)", &[]))
            .await
            .unwrap_err();
        check_err(e, Some("57014"), None, "statement timeout");

        // Size limits: the request, then the response.
        let big = "x".repeat(150_000);
        let e = db
            .query_one(&stmt("SELECT length($1::text)", &[Some(&big)]))
            .await
            .unwrap_err();
        check_err(e, None, None, "request is too large");
        let e = db
            .query_one(&stmt("SELECT repeat('y', 300000)", &[]))
            .await
            .unwrap_err();
        check_err(e, None, None, "response is too large");

        // Authentication: a wrong password, a wrong token, then the right token.
        let wrong = url.replacen(PASSWORD, "wrong", 1);
        let one = stmt("SELECT 1", &[]);
        let e = client(&server, &wrong, None)
            .query_one(&one)
            .await
            .unwrap_err();
        check_err(e, None, None, "authentication failed");
        let e = client(&server, &wrong, Some("not-the-secret"))
            .query_one(&one)
            .await
            .unwrap_err();
        check_err(e, None, None, "401");
        let ok = client(&server, &wrong, Some(SECRET))
            .query_one(&one)
            .await
            .unwrap();
        assert_eq!(ok.as_deref(), Some("1"));

        // Another database's connection string is refused, never run on this one.
        let (base, _) = url.rsplit_once('/').unwrap();
        let e = client(&server, &format!("{base}/another"), Some(SECRET))
            .query_one(&one)
            .await
            .unwrap_err();
        check_err(e, Some("3D000"), None, "serves database");
    });

    // The rest of the server is unaffected by the gateway route.
    let (status, _) = server.post_json("/v1/graphql", json!({"query": "{ __typename }"}));
    assert_eq!(status, 200);
}

/// The whole engine over the HTTP transport: `--sql-endpoint loopback` sends every statement
/// through this process's own gateway.
#[test]
fn serve_over_the_http_transport() {
    let (_pg, url) = database();
    let server = Server::start_with(
        &url,
        &["--stringify-numeric-types", "--sql-endpoint", "loopback"],
    );
    server.run_sql(
        "CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL UNIQUE); \
         INSERT INTO author (name) VALUES ('ada'), ('grace');",
    );
    server.track("author");
    let (status, body) = server.graphql(&[], "{ author(order_by: {id: asc}) { id name } }");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"author": [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]}})
    );
    // A mutation is one batch: a failing second insert writes nothing.
    let (status, body) = server.graphql(
        &[],
        r#"mutation { a: insert_author_one(object: {name: "linus"}) { id }
                      b: insert_author_one(object: {name: "ada"}) { id } }"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "constraint-violation"
    );
    let rows = server.run_sql("SELECT count(*) FROM author");
    assert_eq!(rows, vec![vec![json!("2")]]);
}
