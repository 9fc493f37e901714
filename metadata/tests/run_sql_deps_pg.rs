//! `run_sql` without `cascade` refuses (400 `dependency-error`, nothing changed) to drop a
//! column that an event trigger or a permission names; with `cascade` the dependents go.
mod common;

use graphedge_metadata::{execute, load, Config, Endpoint, MetadataState};
use serde_json::{json, Value as Json};

async fn call(st: &mut MetadataState, db: &common::PgDb, body: Json) -> Result<Json, Json> {
    match execute(st, Endpoint::V1Query, &body, db, &Config::default()).await {
        Ok((v, new)) => {
            if let Some(n) = new {
                *st = n;
            }
            Ok(v)
        }
        Err(e) => Err(e.to_json()),
    }
}

/// Runs each `(sql, cascade, dependency error or None)`; a refused script leaves every column
/// of `t` in place.
async fn check(st: &mut MetadataState, db: &common::PgDb, cases: &[(&str, bool, Option<&str>)]) {
    for (sql, cascade, want) in cases {
        let body = json!({"type": "run_sql", "args": {"sql": sql, "cascade": cascade}});
        let got = call(st, db, body).await;
        match want {
            None => assert!(got.is_ok(), "{sql}: {got:?}"),
            Some(error) => {
                let e = got.expect_err(sql);
                assert_eq!(
                    e,
                    json!({"path": "$.args", "code": "dependency-error",
                        "error": format!("cannot drop due to the following dependent objects: {error}")}),
                    "{sql}"
                );
                let cols = "select c1, c2, c3 from t";
                let r = call(st, db, json!({"type": "run_sql", "args": {"sql": cols}})).await;
                assert!(r.is_ok(), "{sql}: rolled back: {r:?}");
            }
        }
    }
}

/// A fresh Postgres with the metadata loaded; `None` (and a skip line) without server binaries.
async fn started() -> Option<(common::TempPg, common::PgDb, MetadataState)> {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return None;
    };
    let db = pg.connect().await;
    let st = load(&db, &Config::default()).await.expect("load");
    Some((pg, db, st))
}

#[tokio::test]
async fn run_sql_refuses_to_drop_what_metadata_uses() {
    let Some((_pg, db, mut st)) = started().await else {
        return;
    };
    let setup = json!({"type": "bulk", "args": [
        {"type": "run_sql", "args": {"sql": "create table t (id int primary key, c1 int, c2 text, c3 text)"}},
        {"type": "track_table", "args": {"table": "t"}},
        {"type": "create_select_permission", "args": {"table": "t", "role": "user",
            "permission": {"columns": ["id", "c2"], "filter": {}}}},
        {"type": "create_event_trigger", "args": {"name": "et", "table": "t",
            "webhook": "http://127.0.0.1:9/", "update": {"columns": ["c1"], "payload": ["c3"]}}}
    ]});
    call(&mut st, &db, setup).await.expect("setup");
    let perm = "permission t.user.select in source \"default\"";
    let trigger = "event-trigger t.et in source \"default\"";
    check(
        &mut st,
        &db,
        &[
            ("alter table t drop column c2", false, Some(perm)),
            // Postgres itself refuses: the trigger's update condition names c1.
            ("alter table t drop column c1", false, Some(trigger)),
            ("alter table t drop column c3", false, Some(trigger)),
            (
                "alter table t add column c4 int; alter table t drop column c4",
                false,
                None,
            ),
            ("select 1 -- a comment at the end", false, None),
            ("alter table t drop column c2", true, None),
        ],
    )
    .await;
    let t = &st.metadata.sources[0].tables[0];
    assert!(
        t.select_permissions.is_empty(),
        "cascade drops the permission"
    );
    assert_eq!(t.event_triggers.len(), 1);
}

/// A permission comparing a column with a static value (or presetting it) keeps its type:
/// changing it is Hasura's `dependency-error` naming the permissions; a column only compared
/// with session variables may change type.
#[tokio::test]
async fn run_sql_refuses_to_change_the_type_of_a_column_permissions_compare() {
    let Some((_pg, db, mut st)) = started().await else {
        return;
    };
    let setup = json!({"type": "bulk", "args": [
        {"type": "run_sql", "args": {"sql": "create table test (id int primary key, owner text, b boolean not null default false)"}},
        {"type": "track_table", "args": {"table": "test"}},
        {"type": "create_select_permission", "args": {"table": "test", "role": "user",
            "permission": {"columns": ["id"], "filter": {"_and": [{"owner": "X-Hasura-User-Id"}, {"b": {"_eq": true}}]}}}},
        {"type": "create_insert_permission", "args": {"table": "test", "role": "user",
            "permission": {"columns": ["id"], "check": {"owner": {"_eq": "X-Hasura-User-Id"}}, "set": {"b": true}}}}
    ]});
    call(&mut st, &db, setup).await.expect("setup");
    let sql = "alter table test alter column b set data type text";
    let got = call(
        &mut st,
        &db,
        json!({"type": "run_sql", "args": {"sql": sql}}),
    )
    .await;
    assert_eq!(
        got.expect_err(sql),
        json!({"path": "$.args", "code": "dependency-error",
            "error": "cannot change type of column \"b\" in table \"test\" because of the following dependencies: permission test.user.insert in source \"default\", permission test.user.select in source \"default\""})
    );
    for sql in [
        "alter table test alter column owner set data type varchar(20)",
        "select 1",
    ] {
        let got = call(
            &mut st,
            &db,
            json!({"type": "run_sql", "args": {"sql": sql}}),
        )
        .await;
        assert!(got.is_ok(), "{sql}: {got:?}");
    }
    let got = call(
        &mut st,
        &db,
        json!({"type": "run_sql", "args": {"sql": "select 1 as one"}}),
    )
    .await;
    assert_eq!(got.unwrap()["result"], json!([["one"], ["1"]]));
}

/// `no_transaction`: each statement runs on its own, so statements Postgres refuses inside a
/// transaction block run (and a failing statement leaves the ones before it done).
#[tokio::test]
async fn run_sql_without_a_transaction() {
    let Some((_pg, db, mut st)) = started().await else {
        return;
    };
    let script = "CREATE TABLE u (id int, at timestamp);\n-- a comment; with a semicolon\nCREATE INDEX CONCURRENTLY u_at ON u (at);";
    let run = |no_transaction: bool| json!({"type": "run_sql", "args": {"sql": script, "no_transaction": no_transaction}});
    let e = call(&mut st, &db, run(false)).await.unwrap_err();
    // "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
    assert_eq!(e["code"], json!("postgres-error"), "{e}");
    assert_eq!(
        call(&mut st, &db, run(true)).await,
        Ok(json!({"result_type": "CommandOk", "result": null}))
    );
    let indexes = json!({"type": "run_sql", "args": {"sql": "SELECT indexname FROM pg_indexes WHERE tablename = 'u'"}});
    assert_eq!(
        call(&mut st, &db, indexes).await.unwrap()["result"][1],
        json!(["u_at"])
    );
    // The first error stops the script; the statements before it stay done.
    let body = json!({"type": "run_sql", "args": {"no_transaction": true,
        "sql": "CREATE TABLE v (id int); SELECT 1/0; CREATE TABLE w (id int)"}});
    assert!(call(&mut st, &db, body).await.is_err());
    let tables = json!({"type": "run_sql", "args": {"sql": "SELECT to_regclass('v') IS NOT NULL, to_regclass('w') IS NULL"}});
    assert_eq!(
        call(&mut st, &db, tables).await.unwrap()["result"][1],
        json!(["t", "t"])
    );
}
