//! Mutations end to end: a throwaway Postgres, the real `graphedge serve`, `/v1/graphql`.
//!
//! What these prove (issue 3, "Proof"):
//! * `failing_second_mutation_rolls_back_first` — several mutation root fields run in one
//!   transaction; a unique violation in the second leaves the first one's rows absent, with
//!   Hasura's `constraint-violation` error at the failing field's argument.
//! * `permission_checks_write_nothing` — an insert whose `check` fails and an update whose
//!   post-update `check` fails leave the table unchanged (`permission-error`).
//! * `concurrent_upserts_same_key` — 8 threads × 25 upserts of one key: no 500, one row whose
//!   value is one of the written values.
//! * `session_variables_visible_to_triggers` — a trigger reading `hasura.user` sees the
//!   request's role and user id.
//! * `bad_input_is_rejected_and_writes_nothing` — data-driven: bad arguments get Hasura's error
//!   JSON (status 200, code, message, path) and leave every table unchanged.
//! * `scalar_literals_are_type_checked` — a string
//!   literal for an `Int` column is a `validation-failed` error, as in Hasura (not a Postgres
//!   `data-exception`, and `_inc: {v: "1"}` must not be applied).
mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{database, Server};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

const SCHEMA_SQL: &str = "
CREATE TABLE item (
  id int PRIMARY KEY,
  name text NOT NULL UNIQUE,
  v int NOT NULL DEFAULT 0,
  s smallint,
  owner text
);
CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL);
CREATE TABLE audit (id serial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL, hasura_user text);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit (tbl, op, hasura_user)
  VALUES (TG_TABLE_NAME, TG_OP, current_setting('hasura.user', true));
  RETURN NEW;
END $$;
CREATE TRIGGER item_audit AFTER INSERT OR UPDATE ON item
  FOR EACH ROW EXECUTE FUNCTION audit_row();
INSERT INTO item (id, name, v, owner) VALUES (1, 'one', 5, 'u1'), (2, 'two', 7, 'u2');
TRUNCATE audit;
";

/// A database with the schema above, tracked, with permissions for role `user`:
/// insert `check: owner = X-Hasura-User-Id`; update `filter: owner = X-Hasura-User-Id`,
/// `check: v < 100`, columns `v`, `name`, `s`; select own rows.
struct Fixture {
    server: Server,
    _pg: TempPostgres,
}

const USER_U1: &[(&str, &str)] = &[("x-hasura-role", "user"), ("x-hasura-user-id", "u1")];
const ADMIN: &[(&str, &str)] = &[];

impl Fixture {
    fn new() -> Fixture {
        let (pg, url) = database();
        let server = Server::start(&url);
        server.run_sql(SCHEMA_SQL);
        for t in ["item", "kv"] {
            server.track(t);
        }
        let table = json!({"schema": "public", "name": "item"});
        let own = json!({"owner": {"_eq": "X-Hasura-User-Id"}});
        server.metadata(json!({"type": "bulk", "args": [
            {"type": "pg_create_select_permission", "args": {"source": "default", "table": table,
                "role": "user", "permission": {"columns": ["id", "name", "v", "s", "owner"],
                "filter": own}}},
            {"type": "pg_create_insert_permission", "args": {"source": "default", "table": table,
                "role": "user", "permission": {"columns": ["id", "name", "v", "s", "owner"],
                "check": own}}},
            {"type": "pg_create_update_permission", "args": {"source": "default", "table": table,
                "role": "user", "permission": {"columns": ["v", "name", "s"],
                "filter": own, "check": {"v": {"_lt": 100}}}}},
        ]}));
        Fixture { server, _pg: pg }
    }

    /// The whole content of the tables a mutation could touch, as text: compared before and
    /// after a request that must write nothing.
    fn snapshot(&self) -> String {
        let rows = self.server.run_sql(
            "SELECT json_build_object(
               'item', (SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM item t),
               'kv', (SELECT coalesce(json_agg(t ORDER BY k), '[]') FROM kv t),
               'audit', (SELECT count(*) FROM audit))::text",
        );
        rows[0][0].as_str().unwrap().to_string()
    }

    /// Sends `query` with `headers` and asserts status 200 and exactly the body `expect`.
    fn check(&self, headers: &[(&str, &str)], query: &str, expect: Value) {
        let (status, body) = self.server.graphql(headers, query);
        assert_eq!(status, 200, "{query}\n→ {body}");
        assert_eq!(body, expect, "{query}");
    }

    /// Sends `query`, asserts Hasura's error (status 200, `errors[0]` with `code`, `path` when
    /// given, and a message for which `message` holds) and that nothing was written.
    fn check_error(
        &self,
        headers: &[(&str, &str)],
        query: &str,
        code: &str,
        path: Option<&str>,
        message: &dyn Fn(&str) -> bool,
    ) {
        if let Err(e) = self.try_check_error(headers, query, code, path, message) {
            panic!("{e}");
        }
    }

    /// [`Fixture::check_error`] returning what was wrong instead of panicking.
    fn try_check_error(
        &self,
        headers: &[(&str, &str)],
        query: &str,
        code: &str,
        path: Option<&str>,
        message: &dyn Fn(&str) -> bool,
    ) -> Result<(), String> {
        let before = self.snapshot();
        let (status, body) = self.server.graphql(headers, query);
        let err = &body["errors"][0];
        let msg = err["message"].as_str().unwrap_or_default();
        let mut wrong = Vec::new();
        if status != 200 {
            wrong.push(format!("status {status}"));
        }
        if body.get("data").is_some() {
            wrong.push("has data".to_string());
        }
        if err["extensions"]["code"] != code {
            wrong.push(format!("code is not {code}"));
        }
        if path.is_some_and(|p| err["extensions"]["path"] != p) {
            wrong.push(format!("path is not {}", path.unwrap_or_default()));
        }
        if !message(msg) {
            wrong.push("unexpected message".to_string());
        }
        if self.snapshot() != before {
            wrong.push("it wrote something".to_string());
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {query}\n  → {body}", wrong.join(", ")))
        }
    }
}

fn is(expected: &'static str) -> impl Fn(&str) -> bool {
    move |m| m == expected
}

#[test]
fn failing_second_mutation_rolls_back_first() {
    let f = Fixture::new();
    // The second field violates `item_name_key` (name 'one' exists); the first one's row
    // (id 10) must not survive.
    f.check_error(
        ADMIN,
        r#"mutation {
          a: insert_item(objects: [{id: 10, name: "ten"}]) { affected_rows }
          b: insert_item(objects: [{id: 11, name: "one"}]) { affected_rows }
        }"#,
        "constraint-violation",
        Some("$.selectionSet.b.args.objects"),
        &is("Uniqueness violation. duplicate key value violates unique constraint \"item_name_key\""),
    );
    // Same with an update first and `insert_<t>_one` failing on the primary key.
    f.check_error(
        ADMIN,
        r#"mutation {
          update_item(where: {id: {_eq: 1}}, _set: {v: 42}) { affected_rows }
          insert_item_one(object: {id: 2, name: "dup"}) { id }
        }"#,
        "constraint-violation",
        Some("$.selectionSet.insert_item_one.args.object"),
        &is("Uniqueness violation. duplicate key value violates unique constraint \"item_pkey\""),
    );
    // A Postgres error that is not a constraint (smallint overflow) in the second field.
    f.check_error(
        ADMIN,
        r#"mutation {
          delete_item(where: {id: {_eq: 2}}) { affected_rows }
          update_item_by_pk(pk_columns: {id: 1}, _set: {s: 100000}) { id }
        }"#,
        "data-exception",
        None,
        &is("value \"100000\" is out of range for type smallint"),
    );
    // Both fields succeeding: both applied, in order.
    f.check(
        ADMIN,
        r#"mutation {
          a: insert_item(objects: [{id: 10, name: "ten"}]) { affected_rows }
          b: update_item_by_pk(pk_columns: {id: 10}, _inc: {v: 3}) { id v }
        }"#,
        json!({"data": {"a": {"affected_rows": 1}, "b": {"id": 10, "v": 3}}}),
    );
}

#[test]
fn permission_checks_write_nothing() {
    let f = Fixture::new();
    // Insert whose check (owner = user id) fails; the first object passes, the second does
    // not, so the whole insert must be rolled back.
    f.check_error(
        USER_U1,
        r#"mutation {
          insert_item(objects: [{id: 20, name: "mine", owner: "u1"},
                                {id: 21, name: "theirs", owner: "u2"}]) { affected_rows }
        }"#,
        "permission-error",
        Some("$.selectionSet.insert_item.args.objects"),
        &is("check constraint of an insert/update permission has failed"),
    );
    f.check_error(
        USER_U1,
        r#"mutation { insert_item_one(object: {id: 21, name: "theirs", owner: "u2"}) { id } }"#,
        "permission-error",
        Some("$.selectionSet.insert_item_one.args.object"),
        &is("check constraint of an insert/update permission has failed"),
    );
    // Update whose post-update check (v < 100) fails: row 1 keeps v = 5. Hasura reports the
    // path `$` here (graphql_mutation/update/permissions/user_cannot_publish.yaml).
    for q in [
        r#"mutation { update_item(where: {id: {_eq: 1}}, _set: {v: 500}) { affected_rows } }"#,
        r#"mutation { update_item_by_pk(pk_columns: {id: 1}, _inc: {v: 95}) { id } }"#,
        r#"mutation { update_item_many(updates: [{where: {id: {_eq: 1}}, _set: {name: "x"}},
             {where: {id: {_eq: 1}}, _set: {v: 100}}]) { affected_rows } }"#,
    ] {
        f.check_error(
            USER_U1,
            q,
            "permission-error",
            None,
            &is("check constraint of an insert/update permission has failed"),
        );
    }
    // A database error shown to a non-admin role carries no `internal` (Postgres' details).
    let dup = r#"mutation { insert_item(objects: [{id: 50, name: "one", owner: "u1"}]) { affected_rows } }"#;
    f.check_error(
        USER_U1,
        dup,
        "constraint-violation",
        Some("$.selectionSet.insert_item.args.objects"),
        &is("Uniqueness violation. duplicate key value violates unique constraint \"item_name_key\""),
    );
    let (_, body) = f.server.graphql(USER_U1, dup);
    assert!(
        body["errors"][0]["extensions"].get("internal").is_none(),
        "internal leaked to role user: {body}"
    );
    // The same updates within the check pass; rows of other owners are filtered out.
    f.check(
        USER_U1,
        r#"mutation { update_item(where: {}, _inc: {v: 1}) { affected_rows returning { id v } } }"#,
        json!({"data": {"update_item": {"affected_rows": 1, "returning": [{"id": 1, "v": 6}]}}}),
    );
    f.check(
        USER_U1,
        r#"mutation { insert_item_one(object: {id: 20, name: "mine", owner: "u1"}) { id owner } }"#,
        json!({"data": {"insert_item_one": {"id": 20, "owner": "u1"}}}),
    );
}

#[test]
fn concurrent_upserts_same_key() {
    const THREADS: usize = 8;
    const REQUESTS: usize = 25;
    let f = Fixture::new();
    let base = Arc::new(f.server.base.clone());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let base = base.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..REQUESTS {
                    let v = t * 1000 + i;
                    let query = format!(
                        "mutation {{ insert_kv(objects: [{{k: 1, v: {v}}}], \
                         on_conflict: {{constraint: kv_pkey, update_columns: [v]}}) \
                         {{ affected_rows returning {{ k v }} }} }}"
                    );
                    let body = json!({ "query": query }).to_string();
                    let (status, resp) = common::post(&base, "/v1/graphql", &[], &body);
                    let expect = json!({"data": {"insert_kv": {"affected_rows": 1,
                        "returning": [{"k": 1, "v": v}]}}});
                    if status != 200 || resp != expect {
                        failures.push(format!("{status} {resp}"));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("upsert thread panicked"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} upserts failed, e.g. {:?}",
        failures.len(),
        THREADS * REQUESTS,
        &failures[..failures.len().min(3)]
    );
    let written: BTreeSet<i64> = (0..THREADS)
        .flat_map(|t| (0..REQUESTS).map(move |i| (t * 1000 + i) as i64))
        .collect();
    let rows = f.server.run_sql("SELECT k, v FROM kv");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let v: i64 = rows[0][1].as_str().unwrap().parse().unwrap();
    assert!(written.contains(&v), "final value {v} was never written");
}

#[test]
fn session_variables_visible_to_triggers() {
    let f = Fixture::new();
    f.check(
        USER_U1,
        r#"mutation { insert_item_one(object: {id: 30, name: "audited", owner: "u1"}) { id } }"#,
        json!({"data": {"insert_item_one": {"id": 30}}}),
    );
    f.check(
        &[("x-hasura-role", "user"), ("x-hasura-user-id", "u1")],
        r#"mutation { update_item_by_pk(pk_columns: {id: 30}, _set: {v: 9}) { v } }"#,
        json!({"data": {"update_item_by_pk": {"v": 9}}}),
    );
    f.check(
        ADMIN,
        r#"mutation { update_item_by_pk(pk_columns: {id: 2}, _set: {v: 8}) { v } }"#,
        json!({"data": {"update_item_by_pk": {"v": 8}}}),
    );
    let rows = f
        .server
        .run_sql("SELECT op, hasura_user FROM audit ORDER BY id");
    let seen: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            let op = r[0].as_str().unwrap().to_string();
            let user = r[1].as_str().map(|s| serde_json::from_str(s).unwrap());
            (op, user.unwrap_or(Value::Null))
        })
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for (op, user) in &seen[..2] {
        assert_eq!(user["x-hasura-role"], "user", "{op}: {user}");
        assert_eq!(user["x-hasura-user-id"], "u1", "{op}: {user}");
    }
    assert_eq!(seen[0].0, "INSERT");
    assert_eq!(seen[1].0, "UPDATE");
    assert_eq!(seen[2].1["x-hasura-role"], "admin", "{:?}", seen[2]);
    // The setting is local to the mutation's transaction: a later plain query cannot see it.
    let rows = f
        .server
        .run_sql("SELECT coalesce(current_setting('hasura.user', true), '')");
    assert_eq!(rows[0][0], "", "hasura.user leaked out of the transaction");
}

/// One bad request: the query, the expected code, path and message (exact unless it ends in
/// `…`, then a prefix).
struct Bad {
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    code: &'static str,
    path: &'static str,
    message: &'static str,
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let f = Fixture::new();
    let cases = [
        Bad {
            query: r#"mutation { update_item(where: {id: {_eq: 1}}, _set: {nope: 1}) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.update_item.args._set.nope",
            message: "field 'nope' not found in type: 'item_set_input'",
        },
        Bad {
            // A column the role may not update is not in its `_set` type.
            query: r#"mutation { update_item(where: {id: {_eq: 1}}, _set: {owner: "u2"}) { affected_rows } }"#,
            headers: USER_U1,
            code: "validation-failed",
            path: "$.selectionSet.update_item.args._set.owner",
            message: "field 'owner' not found in type: 'item_set_input'",
        },
        Bad {
            query: r#"mutation { update_item(where: {id: {_eq: 1}}, _inc: {name: 1}) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.update_item.args._inc.name",
            message: "field 'name' not found in type: 'item_inc_input'",
        },
        Bad {
            query: r#"mutation { insert_item(objects: [{id: 40, name: "n"}],
                       on_conflict: {constraint: nope, update_columns: [v]}) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.insert_item.args.on_conflict.constraint",
            message: "expected one of the values …",
        },
        Bad {
            query: r#"mutation { insert_item(objects: [{id: 40, name: "n"}],
                       on_conflict: {constraint: "item_pkey", update_columns: [v]}) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.insert_item.args.on_conflict.constraint",
            message: "expected an enum value for type 'item_constraint', but found a string",
        },
        Bad {
            query: r#"mutation { insert_item { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.insert_item.args",
            message: "missing required field 'objects'",
        },
        Bad {
            query: r#"mutation { delete_item { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.delete_item.args",
            message: "missing required field 'where'",
        },
        Bad {
            query: r#"mutation { insert_item(objects: [{id: 41, name: "n", nope: 1}]) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.insert_item.args.objects[0].nope",
            message: "field 'nope' not found in type: 'item_insert_input'",
        },
        Bad {
            query: r#"mutation { nope_item(objects: []) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.nope_item",
            message: "field 'nope_item' not found in type: 'mutation_root'",
        },
        Bad {
            // NOT NULL violated in the database (no `name`), after a valid first object.
            query: r#"mutation { insert_item(objects: [{id: 42, name: "ok"}, {id: 43}]) { affected_rows } }"#,
            headers: ADMIN,
            code: "constraint-violation",
            path: "$.selectionSet.insert_item.args.objects",
            message: "Not-NULL violation. null value in column \"name\" of relation \"item\" violates not-null constraint",
        },
    ];
    // `objects: []` is not an error: nothing inserted, affected_rows 0.
    let before = f.snapshot();
    f.check(
        ADMIN,
        "mutation { insert_item(objects: []) { affected_rows returning { id } } }",
        json!({"data": {"insert_item": {"affected_rows": 0, "returning": []}}}),
    );
    assert_eq!(f.snapshot(), before);
    check_all(&f, &cases);

    // The constraint from JSON variables is a string, and that is valid (only a string
    // *literal* in the document is not an enum value).
    for (query, variables) in [
        (
            "mutation ($c: item_constraint!) { insert_item(objects: [{id: 1, name: \"one\", v: 6}], \
             on_conflict: {constraint: $c, update_columns: [v]}) { affected_rows } }",
            json!({"c": "item_pkey"}),
        ),
        (
            "mutation ($oc: item_on_conflict) { insert_item(objects: [{id: 1, name: \"one\", v: 6}], \
             on_conflict: $oc) { affected_rows } }",
            json!({"oc": {"constraint": "item_pkey", "update_columns": ["v"]}}),
        ),
    ] {
        let body = json!({"query": query, "variables": variables}).to_string();
        let (status, resp) = f.server.post("/v1/graphql", ADMIN, &body);
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp, json!({"data": {"insert_item": {"affected_rows": 1}}}), "{query}");
    }
}

/// Runs every case, then fails listing all that differ from Hasura.
fn check_all(f: &Fixture, cases: &[Bad]) {
    let mut failures = Vec::new();
    for case in cases {
        let message = |m: &str| match case.message.strip_suffix('…') {
            Some(prefix) => m.starts_with(prefix),
            None => m == case.message,
        };
        if let Err(e) = f.try_check_error(
            case.headers,
            case.query,
            case.code,
            Some(case.path),
            &message,
        ) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases differ from Hasura:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Hasura type-checks scalar literals against the column's GraphQL type before anything
/// reaches Postgres (a string holding an integer is accepted for `Int`, as Hasura's
/// `insert_various_postgres_types` fixture shows; any other string is not).
#[test]
fn scalar_literals_are_type_checked() {
    let f = Fixture::new();
    let cases = [
        Bad {
            query: r#"mutation { update_item(where: {id: {_eq: 1}}, _set: {v: "abc"}) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.update_item.args._set.v",
            message: "expected a 32-bit integer for type 'Int', but found a string",
        },
        Bad {
            query: r#"mutation { insert_item(objects: [{id: "x", name: "n"}]) { affected_rows } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.insert_item.args.objects[0].id",
            message: "expected a 32-bit integer for type 'Int', but found a string",
        },
        Bad {
            query: r#"mutation { update_item_by_pk(pk_columns: {id: 1}, _inc: {v: "one"}) { id } }"#,
            headers: ADMIN,
            code: "validation-failed",
            path: "$.selectionSet.update_item_by_pk.args._inc.v",
            message: "expected a 32-bit integer for type 'Int', but found a string",
        },
    ];
    check_all(&f, &cases);
}
