//! A select permission's `limit` against real Postgres through `graphedge serve`: it bounds the
//! rows a role gets wherever they are returned — root lists, `_aggregate { nodes }`, array
//! relationships and their aggregates, functions returning the table — while `aggregate`
//! fields are computed over every visible row (Hasura's semantics: the permission limit is
//! applied to `nodes` in a sub query when the selection has aggregate fields).
mod common;

use common::{database, Server};
use serde_json::{json, Value};

const SETUP_SQL: &str = "CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE article (id int PRIMARY KEY, author_id int NOT NULL REFERENCES author(id),
  published bool NOT NULL);
INSERT INTO author VALUES (1, 'Ada'), (2, 'Brian');
INSERT INTO article SELECT i, 1 + i % 2, i <= 8 FROM generate_series(1, 10) AS i;
CREATE FUNCTION published_articles() RETURNS SETOF article LANGUAGE sql STABLE
  AS 'SELECT * FROM article WHERE published';";

fn setup(server: &Server) {
    server.run_sql(SETUP_SQL);
    for t in ["author", "article"] {
        server.track(t);
    }
    server.metadata(json!({"type": "pg_track_function",
        "args": {"source": "default", "function": {"schema": "public", "name": "published_articles"}}}));
    for (table, name, kind, column) in [
        (
            "author",
            "articles",
            "array",
            json!({"table": "article", "columns": ["author_id"]}),
        ),
        ("article", "author", "object", json!("author_id")),
    ] {
        let using = json!({ "foreign_key_constraint_on": column });
        server.metadata(json!({"type": format!("pg_create_{kind}_relationship"),
            "args": {"source": "default", "table": table, "name": name, "using": using}}));
    }
    server.metadata(json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": "author", "role": "user", "permission": {"columns": ["id", "name"], "filter": {}}}}));
    server.metadata(
        json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": "article", "role": "user", "permission": {"columns": ["id", "author_id"],
        "filter": {"published": {"_eq": true}}, "limit": 3, "allow_aggregations": true}}}),
    );
}

/// Runs `query` as role `user` and returns `data`.
fn data(server: &Server, query: &str) -> Value {
    let (status, body) = server.graphql(&[("x-hasura-role", "user")], query);
    assert_eq!(status, 200, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(usize::MAX, Vec::len)
}

#[test]
fn permission_limit_holds_everywhere() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    setup(&server);

    // (query, pointer to a row list, rows expected, pointer to a count, count expected)
    let cases: &[(&str, &str, usize, Option<(&str, i64)>)] = &[
        ("{ article { id } }", "/article", 3, None),
        ("{ article(limit: 10) { id } }", "/article", 3, None),
        ("{ article(limit: 2) { id } }", "/article", 2, None),
        ("{ article_aggregate { nodes { id } } }", "/article_aggregate/nodes", 3, None),
        (
            "{ article_aggregate { aggregate { count } nodes { id } } }",
            "/article_aggregate/nodes",
            3,
            Some(("/article_aggregate/aggregate/count", 8)),
        ),
        (
            "{ article_aggregate(limit: 5) { aggregate { count } nodes { id } } }",
            "/article_aggregate/nodes",
            3,
            Some(("/article_aggregate/aggregate/count", 5)),
        ),
        (
            "{ article_aggregate(limit: 2) { aggregate { count } nodes { id } } }",
            "/article_aggregate/nodes",
            2,
            Some(("/article_aggregate/aggregate/count", 2)),
        ),
        (
            "{ author(where: {id: {_eq: 1}}) { articles { id } } }",
            "/author/0/articles",
            3,
            None,
        ),
        (
            "{ author(where: {id: {_eq: 1}}) { articles_aggregate { aggregate { count } nodes { id } } } }",
            "/author/0/articles_aggregate/nodes",
            3,
            Some(("/author/0/articles_aggregate/aggregate/count", 4)),
        ),
        ("{ published_articles { id } }", "/published_articles", 3, None),
        (
            "{ published_articles_aggregate { aggregate { count } nodes { id } } }",
            "/published_articles_aggregate/nodes",
            3,
            Some(("/published_articles_aggregate/aggregate/count", 8)),
        ),
    ];
    for (query, rows, n, count) in cases {
        let d = data(&server, query);
        assert_eq!(
            len(&d.pointer(rows).cloned().unwrap_or_default()),
            *n,
            "{query}: {d}"
        );
        if let Some((p, c)) = count {
            assert_eq!(
                d.pointer(p).and_then(Value::as_i64),
                Some(*c),
                "{query}: {d}"
            );
        }
    }
    // `nodes` under the limit keep the requested order.
    let d = data(
        &server,
        "{ article_aggregate(order_by: {id: desc}) { aggregate { count } nodes { id } } }",
    );
    assert_eq!(
        d["article_aggregate"]["nodes"],
        json!([{"id": 8}, {"id": 7}, {"id": 6}])
    );
}
