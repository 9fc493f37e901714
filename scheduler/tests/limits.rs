//! API limits end to end: a throwaway Postgres, the real `graphedge serve`, `set_api_limits`
//! through `/v1/metadata`, and Hasura's errors on `/v1/graphql` for depth, node, batch, rate and
//! time limits; the admin role is exempt; export / replace / remove round-trip the metadata;
//! an engine bound (`--max-fields`) applies without any metadata.
mod common;

use common::{database, Server};
use serde_json::{json, Value};

const SCHEMA_SQL: &str = "
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author(id));
INSERT INTO author (name) VALUES ('ann');
INSERT INTO article (title, author_id) VALUES ('a', 1);
CREATE VIEW slow AS SELECT 1 AS n FROM pg_sleep(10);
";

const LIMITS: &str = r#"{
  "depth_limit": {"global": 2, "per_role": {"deep": 10}},
  "node_limit": {"global": 3, "per_role": {}},
  "batch_limit": {"global": 2, "per_role": {}},
  "rate_limit": {"global": {"max_reqs_per_min": 1000, "unique_params": null},
                 "per_role": {"limited": {"max_reqs_per_min": 2, "unique_params": "IP"}}},
  "time_limit": {"global": 1, "per_role": {}},
  "disabled": false
}"#;

/// Depth 3, 3 nodes (author, articles, author).
const DEEP: &str = "{ author { articles { author { name } } } }";
/// Depth 1, 4 nodes.
const WIDE: &str = "{ a: author { id } b: author { id } c: author { id } d: author { id } }";

fn setup() -> (graphedge_scheduler::pgtemp::TempPostgres, Server) {
    let (pg, url) = database();
    let server = Server::start_with(&url, &["--max-fields", "50"]);
    server.run_sql(SCHEMA_SQL);
    for t in ["author", "article", "slow"] {
        server.track(t);
    }
    server.metadata(
        json!({"type": "pg_create_array_relationship", "args": {"source": "default",
        "table": "author", "name": "articles",
        "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}}),
    );
    server.metadata(json!({"type": "pg_create_object_relationship", "args": {"source": "default",
        "table": "article", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}}));
    for role in ["user", "deep", "limited"] {
        for t in ["author", "article", "slow"] {
            server.metadata(json!({"type": "pg_create_select_permission", "args": {
                "source": "default", "table": t, "role": role,
                "permission": {"columns": "*", "filter": {}}}}));
        }
    }
    (pg, server)
}

/// `(code, message)` of the first error of a GraphQL answer, or `("ok", "")`.
fn outcome(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    match e["extensions"]["code"].as_str() {
        Some(code) => (code.into(), e["message"].as_str().unwrap_or("").into()),
        None => {
            assert!(body["data"].is_object(), "{body}");
            ("ok".into(), String::new())
        }
    }
}

fn run(server: &Server, role: &str, body: &str) -> (String, String) {
    let (status, out) = server.post("/v1/graphql", &[("x-hasura-role", role)], body);
    assert_eq!(status, 200, "{out}");
    outcome(&out)
}

fn gql(query: &str) -> String {
    json!({ "query": query }).to_string()
}

fn batch(n: usize) -> String {
    Value::Array(
        (0..n)
            .map(|_| json!({"query": "{ author { id } }"}))
            .collect(),
    )
    .to_string()
}

#[test]
fn api_limits_end_to_end() {
    let (_pg, server) = setup();
    // An engine bound, with no metadata limits at all.
    let many = format!("{{ author {{ {} }} }}", "id ".repeat(60));
    let (code, msg) = run(&server, "user", &gql(&many));
    assert_eq!(code, "validation-failed", "{msg}");
    assert_eq!(run(&server, "admin", &gql(&many)).0, "ok");
    assert_eq!(run(&server, "user", &gql(DEEP)).0, "ok");

    let limits: Value = serde_json::from_str(LIMITS).unwrap();
    server.metadata(json!({"type": "set_api_limits", "args": limits}));
    let limited = |what: &str, n: &str| {
        (
            format!("{what}-limit-exceeded"),
            format!("{what} limit of {n} exceeded"),
        )
    };
    let cases: Vec<(&str, String, (String, String))> = vec![
        ("user", gql(DEEP), limited("depth", "2")),
        ("deep", gql(DEEP), ("ok".into(), String::new())),
        ("admin", gql(DEEP), ("ok".into(), String::new())),
        ("user", gql(WIDE), limited("node", "3")),
        ("user", batch(3), limited("batch", "2")),
        ("admin", batch(3), ("ok".into(), String::new())),
        ("user", gql("{ slow { n } }"), limited("time", "1s")),
        // Introspection is exempt from depth limits (depth 3, 3 nodes).
        (
            "user",
            gql("{ __type(name: \"author\") { fields { type { name } } } }"),
            ("ok".into(), String::new()),
        ),
    ];
    for (role, body, want) in cases {
        let got = match run_any(&server, role, &body) {
            Ok(v) => v,
            Err(v) => v,
        };
        assert_eq!(got, want, "{role} {body}");
    }
    // Rate: two per minute per IP for `limited`, then Hasura's error.
    assert_eq!(run(&server, "limited", &gql("{ author { id } }")).0, "ok");
    assert_eq!(run(&server, "limited", &gql("{ author { id } }")).0, "ok");
    assert_eq!(
        run(&server, "limited", &gql("{ author { id } }")),
        limited("rate", "2")
    );

    // export → replace → export keeps the limits exactly (Hasura's shape).
    let (_, exported) = server.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    assert_eq!(exported["api_limits"], limits, "{exported}");
    server.metadata(json!({"type": "replace_metadata", "args": exported.clone()}));
    let (_, again) = server.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    assert_eq!(again["api_limits"], limits);

    // remove_api_limits: nothing exported, nothing enforced.
    server.metadata(json!({"type": "remove_api_limits", "args": {}}));
    let (_, removed) = server.post_json(
        "/v1/metadata",
        json!({"type": "export_metadata", "args": {}}),
    );
    assert!(removed.get("api_limits").is_none(), "{removed}");
    assert_eq!(run(&server, "user", &gql(DEEP)).0, "ok");

    // Hasura's validation of the arguments.
    let (status, err) = server.post_json("/v1/metadata", json!({"type": "set_api_limits",
        "args": {"rate_limit": {"global": {"max_reqs_per_min": 1, "unique_params": ["x-hasura-role"]}}}}));
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("'IP' or a list of Hasura session variables"),
        "{err}"
    );
}

/// A batch answer is an array unless the whole request was refused (one error object).
fn run_any(server: &Server, role: &str, body: &str) -> Result<(String, String), (String, String)> {
    let (status, out) = server.post("/v1/graphql", &[("x-hasura-role", role)], body);
    assert_eq!(status, 200, "{out}");
    match &out {
        Value::Array(items) => {
            for i in items {
                let o = outcome(i);
                if o.0 != "ok" {
                    return Err(o);
                }
            }
            Ok(("ok".into(), String::new()))
        }
        v => Ok(outcome(v)),
    }
}
