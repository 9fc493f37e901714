//! `PgDatabase` against a real throwaway Postgres: text decoding of every supported type,
//! parameters as text, transaction semantics, `run_sql` result shapes and error mapping;
//! statements abandoned by their caller are cancelled and hold nobody up.
use graphedge_metadata::db::{Database, DbError, SqlResult, Statement};
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::pgtemp::TempPostgres;

fn stmt(sql: &str, params: &[Option<&str>]) -> Statement {
    Statement {
        sql: sql.to_string(),
        params: params.iter().map(|p| p.map(str::to_string)).collect(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn pg_database_end_to_end() {
    let pg = TempPostgres::start().expect("start postgres");
    let url = pg.url("postgres");
    rt().block_on(async {
        let db = PgDatabase::connect(&url, 4).unwrap();
        db.check().await.unwrap();

        // query_one: any single-column type comes back as Postgres' text.
        let one = |sql: &'static str| {
            let db = db.clone();
            async move { db.query_one(&stmt(sql, &[])).await.unwrap() }
        };
        assert_eq!(
            one("SELECT '{\"a\": [1, 2]}'::jsonb").await.as_deref(),
            Some("{\"a\": [1, 2]}")
        );
        assert_eq!(
            one("SELECT json_build_object('x', 1)").await.as_deref(),
            Some("{\"x\" : 1}")
        );
        assert_eq!(
            one("SELECT 'héllo'::varchar").await.as_deref(),
            Some("héllo")
        );
        assert_eq!(
            one("SELECT 'pg_class'::name").await.as_deref(),
            Some("pg_class")
        );
        assert_eq!(one("SELECT 42::int8").await.as_deref(), Some("42"));
        assert_eq!(one("SELECT true").await.as_deref(), Some("t"));
        assert_eq!(one("SELECT NULL::json").await, None);
        assert_eq!(one("SELECT 1 WHERE false").await, None);

        // Parameters are text, cast in SQL; NULL is None.
        let r = db
            .query_one(&stmt(
                "SELECT json_build_array($1::int4 + 1, $2::text, $3::jsonb)",
                &[Some("41"), None, Some("{\"k\":true}")],
            ))
            .await
            .unwrap();
        assert_eq!(r.as_deref(), Some("[42, null, {\"k\": true}]"));
        // The same statement again uses the per-connection prepared statement.
        let again = db
            .query_one(&stmt(
                "SELECT json_build_array($1::int4 + 1, $2::text, $3::jsonb)",
                &[Some("1"), Some("x"), Some("[]")],
            ))
            .await
            .unwrap();
        assert_eq!(again.as_deref(), Some("[2, \"x\", []]"));

        // A bad parameter is Postgres' error with its SQLSTATE.
        let e = db
            .query_one(&stmt("SELECT $1::int4", &[Some("nope")]))
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("22P02"), "{e:?}");
        assert!(!e.connection);

        // run_sql: one result per statement; a SELECT of zero rows is still Tuples.
        let results = db
            .run_sql(
                "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric);
                 INSERT INTO t VALUES (1, 'a', 1.5), (2, NULL, 2);
                 SELECT id, v FROM t WHERE id > 5;
                 SELECT id, v, n FROM t ORDER BY id;",
            )
            .await
            .unwrap();
        assert_eq!(results.len(), 4, "{results:?}");
        assert_eq!(results[0], SqlResult::Command);
        assert_eq!(results[1], SqlResult::Command);
        match &results[2] {
            SqlResult::Tuples(rows) => {
                assert_eq!(rows.columns, vec!["id", "v"]);
                assert!(rows.rows.is_empty());
            }
            other => panic!("expected tuples, got {other:?}"),
        }
        match &results[3] {
            SqlResult::Tuples(rows) => {
                assert_eq!(rows.row_count, 2);
                assert_eq!(
                    rows.rows,
                    vec![
                        vec![Some("1".into()), Some("a".into()), Some("1.5".into())],
                        vec![Some("2".into()), None, Some("2".into())],
                    ]
                );
            }
            other => panic!("expected tuples, got {other:?}"),
        }

        // run_sql is one implicit transaction: a failing statement undoes the earlier ones.
        let e = db
            .run_sql("INSERT INTO t VALUES (3, 'c', 3); SELECT * FROM no_such_table;")
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("42P01"), "{e:?}");
        assert_eq!(
            one("SELECT count(*)::text FROM t").await.as_deref(),
            Some("2")
        );

        // transaction: rows decoded to text, DML counts, all or nothing.
        let rows = db
            .transaction(&[
                stmt(
                    "INSERT INTO t VALUES ($1::int4, $2::text, 0)",
                    &[Some("3"), Some("c")],
                ),
                stmt("UPDATE t SET v = 'z' WHERE id <= $1::int4", &[Some("2")]),
                stmt("SELECT id, v, id > 1 AS big FROM t ORDER BY id", &[]),
            ])
            .await
            .unwrap();
        assert_eq!(rows[0].row_count, 1);
        assert_eq!(rows[1].row_count, 2);
        assert_eq!(rows[2].columns, vec!["id", "v", "big"]);
        assert_eq!(
            rows[2].rows[2],
            vec![Some("3".into()), Some("c".into()), Some("t".into())]
        );

        let e = db
            .transaction(&[
                stmt("INSERT INTO t VALUES (4, 'd', 0)", &[]),
                stmt("INSERT INTO t VALUES (4, 'dup', 0)", &[]),
            ])
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("23505"), "{e:?}");
        assert!(
            e.detail.is_some(),
            "unique violations carry a detail: {e:?}"
        );
        assert_eq!(
            one("SELECT count(*)::text FROM t").await.as_deref(),
            Some("3")
        );

        // A type without a text decoder asks for a cast instead of returning garbage.
        let e = db
            .transaction(&[stmt("SELECT n FROM t", &[])])
            .await
            .unwrap_err();
        assert!(e.message.contains("cast the column to text"), "{e:?}");
    });
}

/// Pipelined reads: fast statements move to the shared connections and every caller still
/// gets its own answer and its own error; a slow statement stays on the pool; a shared
/// connection that dies is reopened.
#[test]
fn pipelined_reads() {
    use graphedge_scheduler::pipeline::MIN_SAMPLES;
    let pg = TempPostgres::start().expect("start postgres");
    let url = pg.url("postgres");
    rt().block_on(async {
        let db = PgDatabase::connect(&url, 4).unwrap().with_pipeline(2);
        let fast = "SELECT json_build_object('n', $1::int4, 'inv', 100 / $1::int4)";
        for _ in 0..MIN_SAMPLES {
            db.query_one(&stmt(fast, &[Some("1")])).await.unwrap();
        }
        assert_eq!(db.pipelined(), 0, "the first runs are timed on the pool");

        // 40 waves of 10 concurrent callers, one of each wave dividing by zero.
        for _ in 0..40 {
            let tasks: Vec<_> = (0..10)
                .map(|n| {
                    let db = db.clone();
                    tokio::spawn(async move {
                        let p = n.to_string();
                        (n, db.query_one(&stmt(fast, &[Some(&p)])).await)
                    })
                })
                .collect();
            for t in tasks {
                let (n, out) = t.await.unwrap();
                if n == 0 {
                    let e = out.unwrap_err();
                    assert_eq!(e.code.as_deref(), Some("22012"), "{e:?}");
                } else {
                    let want = format!("{{\"n\" : {n}, \"inv\" : {}}}", 100 / n);
                    assert_eq!(out.unwrap().as_deref(), Some(want.as_str()));
                }
            }
        }
        let pipelined = db.pipelined();
        assert!(pipelined >= 300, "{pipelined} of 400 pipelined");

        // A slow statement never leaves the pool.
        for _ in 0..MIN_SAMPLES + 2 {
            let r = db
                .query_one(&stmt("SELECT pg_sleep(0.01)::text", &[]))
                .await;
            assert_eq!(r.unwrap().as_deref(), Some(""));
        }
        assert_eq!(db.pipelined(), pipelined);

        // Kill every other backend: the shared connections are reopened.
        db.query_one(&stmt(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
            &[],
        ))
        .await
        .unwrap();
        let mut ok = 0;
        for _ in 0..10 {
            if db.query_one(&stmt(fast, &[Some("5")])).await.is_ok() {
                ok += 1;
            }
        }
        assert!(ok >= 8, "{ok} of 10 after the connections died");
        assert!(db.pipelined() > pipelined);
    });
}

#[test]
fn unreachable_database_is_a_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    rt().block_on(async {
        let db =
            PgDatabase::connect(&format!("postgres://postgres@127.0.0.1:{port}/x"), 2).unwrap();
        let e: DbError = db.query_one(&stmt("SELECT 1", &[])).await.unwrap_err();
        assert!(e.connection, "{e:?}");
        assert!(e.code.is_none());
    });
}

/// TLS with libpq's `sslmode` semantics, against a server given a self-signed certificate:
/// `require` encrypts without checking the chain, `verify-full` refuses the self-signed one,
/// `disable` stays plain. Skipped (with a message) when the `openssl` CLI is missing.
#[test]
fn tls_sslmodes() {
    let Ok(out) = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-keyout",
            "/dev/stdout",
            "-out",
            "/dev/stdout",
        ])
        .output()
    else {
        eprintln!("skipping tls_sslmodes: no openssl CLI");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).unwrap();
    let key_end =
        pem.find("-----END PRIVATE KEY-----").unwrap() + "-----END PRIVATE KEY-----".len();
    let (key, cert) = (pem[..key_end].trim(), pem[key_end..].trim());

    let pg = TempPostgres::start().expect("start postgres");
    // The server writes the files itself (as its own user) into its data directory.
    let shown = pg.psql("postgres", "SHOW data_directory").unwrap();
    let data = shown
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/'))
        .unwrap_or_else(|| panic!("no data directory in {shown:?}"))
        .to_string();
    let write_abs = |name: &str, text: &str| {
        let dir = &data;
        let sql = format!(
            "COPY (SELECT unnest(string_to_array($pem${text}$pem$, E'\\n'))) TO '{dir}/{name}'"
        );
        pg.psql("postgres", &sql).expect("write a TLS file");
    };
    write_abs("server.key", key);
    write_abs("server.crt", cert);
    // COPY creates files readable by all; the server wants its key private (we own the file,
    // or are root).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        std::path::Path::new(&data).join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod server.key");
    pg.psql(
        "postgres",
        "ALTER SYSTEM SET ssl = on; ALTER SYSTEM SET ssl_cert_file = 'server.crt'; \
         ALTER SYSTEM SET ssl_key_file = 'server.key'; SELECT pg_reload_conf();",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));

    let url = pg.url("postgres");
    let sep = if url.contains('?') { '&' } else { '?' };
    let ssl_in_use = "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    rt().block_on(async {
        let db = PgDatabase::connect(&format!("{url}{sep}sslmode=require"), 1).unwrap();
        let r = db.query_one(&stmt(ssl_in_use, &[])).await.unwrap();
        assert_eq!(r.as_deref(), Some("true"), "sslmode=require encrypts");
        // Cancel requests go with the same TLS settings.
        let monitor = PgDatabase::connect(&url, 1).unwrap();
        abandon(&monitor, db.query_one(&stmt(SLEEP, &[Some("30")]))).await;
        answers_promptly(&db, &monitor).await;

        let db = PgDatabase::connect(&format!("{url}{sep}sslmode=prefer"), 1).unwrap();
        let r = db.query_one(&stmt(ssl_in_use, &[])).await.unwrap();
        assert_eq!(
            r.as_deref(),
            Some("true"),
            "sslmode=prefer encrypts when it can"
        );

        let db = PgDatabase::connect(&format!("{url}{sep}sslmode=disable"), 1).unwrap();
        let r = db.query_one(&stmt(ssl_in_use, &[])).await.unwrap();
        assert_eq!(r.as_deref(), Some("false"), "sslmode=disable stays plain");

        let db = PgDatabase::connect(&format!("{url}{sep}sslmode=verify-full"), 1).unwrap();
        let e = db.query_one(&stmt(ssl_in_use, &[])).await.unwrap_err();
        assert!(
            e.connection,
            "a self-signed certificate fails verify-full: {e:?}"
        );
    });
}

/// A statement that sleeps `$1` seconds, then answers `ok`.
const SLEEP: &str = "SELECT 'ok' FROM pg_sleep($1::float8)";
/// How long anything may take that must not wait on an abandoned 30 s statement.
const PROMPT: std::time::Duration = std::time::Duration::from_secs(15);

/// Backends sleeping in `pg_sleep`, as `monitor` (another pool) sees them.
async fn sleeping(monitor: &PgDatabase) -> usize {
    let sql = "SELECT count(*)::text FROM pg_stat_activity WHERE wait_event = 'PgSleep'";
    let n = monitor.query_one(&stmt(sql, &[])).await.unwrap();
    n.unwrap_or_default().parse().unwrap()
}

async fn wait_sleeping(monitor: &PgDatabase, want: usize) {
    let end = std::time::Instant::now() + PROMPT;
    while sleeping(monitor).await != want {
        assert!(
            std::time::Instant::now() < end,
            "{want} sleeping statements"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Runs `slow` until its statement sleeps on the server, then drops it (the caller gave up).
async fn abandon<T>(monitor: &PgDatabase, slow: impl std::future::Future<Output = T>) {
    tokio::select! {
        _ = slow => panic!("the slow statement answered"),
        _ = wait_sleeping(monitor, 1) => {}
    }
}

/// `db` answers the next statement promptly, and the abandoned one was cancelled.
async fn answers_promptly(db: &PgDatabase, monitor: &PgDatabase) {
    let r = tokio::time::timeout(PROMPT, db.query_one(&stmt(SLEEP, &[Some("0")])))
        .await
        .expect("the next statement waited on the abandoned one");
    assert_eq!(r.unwrap().as_deref(), Some("ok"));
    wait_sleeping(monitor, 0).await;
}

#[test]
fn abandoned_statements_are_cancelled() {
    let pg = TempPostgres::start().expect("start postgres");
    let url = pg.url("postgres");
    rt().block_on(async {
        let monitor = PgDatabase::connect(&url, 1).unwrap();
        monitor
            .run_sql("CREATE TABLE t (id int PRIMARY KEY)")
            .await
            .unwrap();
        let count = || async {
            let sql = stmt("SELECT count(*)::text FROM t", &[]);
            monitor.query_one(&sql).await.unwrap().unwrap()
        };
        // One pooled connection: whatever is abandoned on it must free it.
        let db = PgDatabase::connect(&url, 1).unwrap();
        let slow = stmt(SLEEP, &[Some("30")]);
        abandon(&monitor, db.query_one(&slow)).await;
        answers_promptly(&db, &monitor).await;
        // A transaction: its first statement's insert is rolled back.
        let insert = stmt("INSERT INTO t VALUES (1)", &[]);
        abandon(&monitor, db.transaction(&[insert, slow.clone()])).await;
        answers_promptly(&db, &monitor).await;
        assert_eq!(count().await, "0");
        abandon(
            &monitor,
            db.run_sql("INSERT INTO t VALUES (2); SELECT pg_sleep(30)"),
        )
        .await;
        answers_promptly(&db, &monitor).await;
        assert_eq!(count().await, "0");

        // One pipelined connection: a statement pipelined while fast turns slow, and another
        // request queued behind it on that connection is not held up by its abandonment.
        let db = PgDatabase::connect(&url, 1).unwrap().with_pipeline(1);
        for _ in 0..10 {
            db.query_one(&stmt(SLEEP, &[Some("0")])).await.unwrap();
        }
        assert!(db.pipelined() > 0);
        let pipelined = db.pipelined();
        let behind = async {
            let quick = stmt(SLEEP, &[Some("0")]);
            let r = tokio::time::timeout(PROMPT, db.query_one(&quick)).await;
            let r = r.expect("held up behind the abandoned statement");
            (r, db.pipelined())
        };
        let ((), (r, after)) = tokio::join!(abandon(&monitor, db.query_one(&slow)), behind);
        assert_eq!(
            r.unwrap().as_deref(),
            Some("ok"),
            "not failed for the other"
        );
        assert_eq!(after, pipelined + 2, "both were pipelined");
        wait_sleeping(&monitor, 0).await;
        // The pipeline goes on with a fresh connection.
        for _ in 0..5 {
            answers_promptly(&db, &monitor).await;
        }
    });
}
