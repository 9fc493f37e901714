//! `/v1/query` and `/v2/query` data operations end to end: a throwaway Postgres, the real
//! `graphedge serve`, admin and a role with permissions.
//!
//! * `data_operations` — data-driven: each case is an operation sent as some role with the
//!   exact answer (status + JSON) Hasura gives, run in order on one database (mutations change
//!   what later cases see): select (columns, `*`, nested relationships with alias, where with
//!   `$` operators and bare values, order_by strings/objects, limit/offset), count (distinct,
//!   role filter), insert (returning, upsert by `constraint_on`, insert check failure writing
//!   nothing), update (`$set`/`$inc`/`$mul`/`$default`, preset columns refused, role filter,
//!   presets alone), enum-table columns (strings as enum values),
//!   delete, `bulk` of data and metadata operations, and the RQL errors (unknown table/column,
//!   column and table permissions, negative limit).
//! * `data_operations_on_a_source_apart_from_the_metadata_database` runs the same cases with the
//!   metadata database apart from the `default` source's (as Hasura's harness starts it).
//! * The event trigger on `article` records the session of `/v1/query` mutations:
//!   `session_variables` of the event created by a role's insert carry its role and user id.
mod common;

use std::process::Command;

use common::{database, free_port, Server};
use serde_json::{json, Value};

const SCHEMA_SQL: &str = "
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL UNIQUE, secret text);
CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  author_id int NOT NULL REFERENCES author(id),
  is_published boolean NOT NULL DEFAULT false,
  rating numeric NOT NULL DEFAULT 1
);
CREATE TABLE color (value text PRIMARY KEY);
INSERT INTO color VALUES ('red'), ('blue');
CREATE TABLE paint (id serial PRIMARY KEY, color text REFERENCES color(value));
INSERT INTO author (name, secret) VALUES ('A1', 's1'), ('A2', 's2');
INSERT INTO article (title, author_id, is_published) VALUES
  ('T1', 1, true), ('T2', 1, false), ('T3', 2, true);
";

const ADMIN: &[(&str, &str)] = &[];
const USER1: &[(&str, &str)] = &[("x-hasura-role", "user"), ("x-hasura-user-id", "1")];

/// Sends `{type: op, args}` to `/v1/query` as `headers`; asserts the exact status and answer.
fn check(server: &Server, name: &str, headers: &[(&str, &str)], op: Value, want: (u16, Value)) {
    let (status, body) = server.post("/v1/query", headers, &op.to_string());
    assert_eq!((status, &body), (want.0, &want.1), "case {name}: {op}");
}

fn setup(server: &Server) {
    server.run_sql(SCHEMA_SQL);
    server.track("author");
    server.track("article");
    server.track("color");
    server.track("paint");
    let article = json!({"schema": "public", "name": "article"});
    let author = json!({"schema": "public", "name": "author"});
    let own = json!({"author_id": {"_eq": "X-Hasura-User-Id"}});
    server.metadata(json!({"type": "bulk", "args": [
        {"type": "pg_set_table_is_enum", "args": {"source": "default",
            "table": {"schema": "public", "name": "color"}, "is_enum": true}},
        {"type": "pg_create_object_relationship", "args": {"source": "default", "table": article,
            "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}},
        {"type": "pg_create_array_relationship", "args": {"source": "default", "table": author,
            "name": "articles", "using": {"foreign_key_constraint_on":
                {"table": "article", "column": "author_id"}}}},
        {"type": "pg_create_select_permission", "args": {"source": "default", "table": author,
            "role": "user", "permission": {"columns": ["id", "name"], "filter": {}}}},
        {"type": "pg_create_select_permission", "args": {"source": "default", "table": article,
            "role": "user", "permission": {"columns": ["id", "title", "author_id", "is_published"],
            "filter": {"_or": [own, {"is_published": {"_eq": true}}]}, "limit": 10}}},
        {"type": "pg_create_insert_permission", "args": {"source": "default", "table": article,
            "role": "user", "permission": {"columns": ["title", "author_id"], "check": own,
            "set": {"is_published": false}}}},
        {"type": "pg_create_update_permission", "args": {"source": "default", "table": article,
            "role": "user", "permission": {"columns": ["title"], "filter": own,
            "set": {"is_published": false}}}},
        {"type": "pg_create_event_trigger", "args": {"source": "default", "name": "article_ev",
            "table": article, "insert": {"columns": "*"},
            "webhook": "http://127.0.0.1:9/unreachable"}},
    ]}));
}

#[test]
fn data_operations() {
    let (_pg, url) = database();
    cases_hold(&Server::start(&url));
}

/// As Hasura's harness runs them: the metadata in its own database, the `default` source
/// added afterwards with another database's URL — data operations go to the source.
#[test]
fn data_operations_on_a_source_apart_from_the_metadata_database() {
    let (_meta_pg, meta_url) = database();
    let (_src_pg, src_url) = database();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
    cmd.args([
        "--metadata-database-url",
        &meta_url,
        "serve",
        "--stringify-numeric-types",
    ])
    .args([
        "--server-host",
        "127.0.0.1",
        "--server-port",
        &port.to_string(),
    ])
    .env_remove("HASURA_GRAPHQL_DATABASE_URL")
    .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
    .env("RUST_LOG", "warn");
    let server = Server::spawn(cmd, port);
    server.metadata(json!({"type": "pg_add_source", "args": {"name": "default",
        "configuration": {"connection_info": {"database_url": src_url}}}}));
    cases_hold(&server);
}

/// Sets the schema up through `server` and checks every case in order.
fn cases_hold(server: &Server) {
    setup(server);
    let cases: Vec<(&str, &[(&str, &str)], Value, (u16, Value))> = vec![
        (
            "select nested, alias, where, order",
            ADMIN,
            json!({"type": "select", "args": {"table": "author",
                "columns": ["name", {"name": "articles", "alias": "posts", "columns": ["title"],
                    "order_by": "-id", "where": {"is_published": {"$eq": true}}}],
                "where": {"id": {"$in": [1, 2]}}, "order_by": ["-name"]}}),
            (
                200,
                json!([{"name": "A2", "posts": [{"title": "T3"}]},
                       {"name": "A1", "posts": [{"title": "T1"}]}]),
            ),
        ),
        (
            "select object relationship, limit, offset, order by relationship",
            ADMIN,
            json!({"type": "select", "args": {"table": {"schema": "public", "name": "article"},
                "columns": ["id", {"name": "author", "columns": ["name"]}],
                "order_by": [{"column": "author.name", "type": "desc"}, "+id"],
                "limit": 2, "offset": 1}}),
            (
                200,
                json!([{"id": 1, "author": {"name": "A1"}}, {"id": 2, "author": {"name": "A1"}}]),
            ),
        ),
        (
            "select as role: filter and star",
            USER1,
            json!({"type": "select", "args": {"table": "article", "columns": ["*"],
                "where": {"author_id": 2}}}),
            (
                200,
                json!([{"id": 3, "title": "T3", "author_id": 2, "is_published": true}]),
            ),
        ),
        (
            "select column not allowed",
            USER1,
            json!({"type": "select", "args": {"table": "author", "columns": ["id", "secret"]}}),
            (
                400,
                json!({"path": "$.args.columns[1]", "code": "permission-denied",
                    "error": "role \"user\" does not have permission to select column \"secret\""}),
            ),
        ),
        (
            "an operation version other than 1 or 2",
            ADMIN,
            json!({"type": "track_function", "version": 3, "args": {"function": "f"}}),
            (
                400,
                json!({"path": "$.version", "code": "parse-failed",
                    "error": "expected 1 or 2, encountered 3"}),
            ),
        ),
        (
            "select unknown table",
            ADMIN,
            json!({"type": "select", "args": {"table": "nope", "columns": ["id"]}}),
            (
                400,
                json!({"path": "$.args.table", "code": "not-exists",
                    "error": "table \"nope\" does not exist"}),
            ),
        ),
        (
            "select negative limit",
            ADMIN,
            json!({"type": "select", "args": {"table": "author", "columns": ["id"], "limit": -1}}),
            (
                400,
                json!({"path": "$.args.limit", "code": "not-supported",
                    "error": "unexpected negative value"}),
            ),
        ),
        (
            "count as role",
            USER1,
            json!({"type": "count", "args": {"table": "article"}}),
            (200, json!({"count": 3})),
        ),
        (
            "count distinct",
            ADMIN,
            json!({"type": "count", "args": {"table": "article", "distinct": ["author_id"],
                "where": {"is_published": true}}}),
            (200, json!({"count": 2})),
        ),
        (
            "count without select permission",
            &[("x-hasura-role", "other")],
            json!({"type": "count", "args": {"table": "article"}}),
            (
                400,
                json!({"path": "$.args", "code": "permission-denied",
                    "error": "select on \"article\" for role \"other\" is not allowed. ; \"count\" is only allowed if the role has \"select\" permissions on the table"}),
            ),
        ),
        (
            "insert as role with preset and returning",
            USER1,
            json!({"type": "insert", "args": {"table": "article",
                "objects": [{"title": "T4", "author_id": 1}],
                "returning": ["title", "is_published"]}}),
            (
                200,
                json!({"affected_rows": 1,
                    "returning": [{"title": "T4", "is_published": false}]}),
            ),
        ),
        (
            "insert failing the check writes nothing",
            USER1,
            json!({"type": "insert", "args": {"table": "article",
                "objects": [{"title": "T5", "author_id": 2}]}}),
            (
                400,
                json!({"path": "$.args", "code": "permission-error",
                    "error": "check constraint of an insert/update permission has failed"}),
            ),
        ),
        (
            "insert a column not allowed",
            USER1,
            json!({"type": "insert", "args": {"table": "article",
                "objects": [{"title": "T5", "author_id": 1, "rating": 3}]}}),
            (
                400,
                json!({"path": "$.args.objects[0]", "code": "permission-denied",
                    "error": "role \"user\" does not have permission to insert column \"rating\""}),
            ),
        ),
        (
            "upsert by constraint_on",
            ADMIN,
            json!({"type": "insert", "args": {"table": "author",
                "objects": [{"id": 2, "name": "A2b"}],
                "on_conflict": {"constraint_on": ["id"], "action": "update"},
                "returning": ["id", "name"]}}),
            (
                200,
                json!({"affected_rows": 1, "returning": [{"id": 2, "name": "A2b"}]}),
            ),
        ),
        (
            "update $set/$inc/$mul/$default",
            ADMIN,
            json!({"type": "update", "args": {"table": "article", "where": {"id": 3},
                "$set": {"title": "T3b"}, "$mul": {"rating": 3}, "$inc": {"author_id": -1},
                "$default": ["is_published"], "returning": ["title", "rating", "author_id",
                "is_published"]}}),
            (
                200,
                json!({"affected_rows": 1, "returning": [{"title": "T3b", "rating": "3",
                    "author_id": 1, "is_published": false}]}),
            ),
        ),
        (
            "update as role: only its rows",
            &[("x-hasura-role", "user"), ("x-hasura-user-id", "2")],
            json!({"type": "update", "args": {"table": "article", "where": {},
                "$set": {"title": "mine"}}}),
            (200, json!({"affected_rows": 0})),
        ),
        (
            "update a preset column",
            USER1,
            json!({"type": "update", "args": {"table": "article", "where": {},
                "$set": {"is_published": true}}}),
            (
                400,
                json!({"path": "$.args[\"$set\"]", "code": "not-supported",
                    "error": "column \"is_published\" is not updatable for role \"user\"; its value is predefined in permission"}),
            ),
        ),
        (
            "update without where",
            ADMIN,
            json!({"type": "update", "args": {"table": "article", "$set": {"title": "x"}}}),
            (
                400,
                json!({"path": "$", "code": "parse-failed", "error": "key \"where\" not found"}),
            ),
        ),
        (
            "update without operators applies the role's presets",
            USER1,
            json!({"type": "update", "args": {"table": "article", "where": {"id": 1},
                "returning": ["is_published"]}}),
            (
                200,
                json!({"affected_rows": 1, "returning": [{"is_published": false}]}),
            ),
        ),
        (
            "insert and filter an enum-table column",
            ADMIN,
            json!({"type": "bulk", "args": [
                {"type": "insert", "args": {"table": "paint",
                    "objects": [{"color": "blue"}, {"color": "red"}], "returning": ["color"]}},
                {"type": "select", "args": {"table": "paint", "columns": ["id"],
                    "where": {"color": "red"}}},
                {"type": "count", "args": {"table": "paint",
                    "where": {"color": {"$in": ["red", "blue"]}}}},
            ]}),
            (
                200,
                json!([{"affected_rows": 2, "returning": [{"color": "blue"}, {"color": "red"}]},
                    [{"id": 2}], {"count": 2}]),
            ),
        ),
        (
            "delete without permission",
            USER1,
            json!({"type": "delete", "args": {"table": "article", "where": {}}}),
            (
                400,
                json!({"path": "$.args", "code": "permission-denied",
                    "error": "delete on \"article\" for role \"user\" is not allowed. "}),
            ),
        ),
        (
            "delete with returning",
            ADMIN,
            json!({"type": "delete", "args": {"table": "article",
                "where": {"title": {"$like": "T4%"}}, "returning": ["title"]}}),
            (
                200,
                json!({"affected_rows": 1, "returning": [{"title": "T4"}]}),
            ),
        ),
        (
            "bulk of data and metadata operations",
            ADMIN,
            json!({"type": "bulk", "args": [
                {"type": "insert", "args": {"table": "author", "objects": [{"name": "A3"}]}},
                {"type": "count", "args": {"table": "author"}},
                {"type": "run_sql", "args": {"sql": "SELECT name FROM author WHERE id = 3"}},
            ]}),
            (
                200,
                json!([{"affected_rows": 1}, {"count": 3},
                    {"result_type": "TuplesOk", "result": [["name"], ["A3"]]}]),
            ),
        ),
    ];
    for (name, headers, op, want) in cases {
        check(server, name, headers, op, want);
    }
    // /v2/query serves them too.
    let (status, body) = server.post(
        "/v2/query",
        USER1,
        &json!({"type": "select", "args": {"table": "author", "columns": ["name"],
            "where": {"id": 1}}})
        .to_string(),
    );
    assert_eq!((status, body), (200, json!([{"name": "A1"}])));
    // The role's insert created an event with its session.
    let rows = server.run_sql(
        "SELECT session_variables->>'x-hasura-role', session_variables->>'x-hasura-user-id'
           FROM graphedge.event_log WHERE trigger_name = 'article_ev' ORDER BY seq",
    );
    assert_eq!(rows, vec![vec![json!("user"), json!("1")]]);
}
