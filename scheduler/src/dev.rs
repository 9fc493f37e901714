//! `graphedge dev`: the embedded default. A throwaway Postgres (from the system's server
//! binaries), a demo schema loaded through the engine's own API, the console on.
//!
//! The demo goes through `graphedge_edge::handle` exactly like HTTP requests would
//! (`/v2/query` `run_sql`, then one `/v1/metadata` `bulk`), so it also exercises the real path.
use serde_json::{json, Value};

/// The apt command that provides the Postgres server binaries.
pub const INSTALL_HINT: &str =
    "sudo apt-get install -y postgresql    # or scripts/install-deps.sh, which also adds PostGIS";

/// The demo schema and rows.
pub const DEMO_SQL: &str = r#"
CREATE TABLE author (
  id serial PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  content text,
  author_id int NOT NULL REFERENCES author (id),
  is_published boolean NOT NULL DEFAULT false,
  rating int
);
INSERT INTO author (name) VALUES ('Ada'), ('Brian'), ('Claude');
INSERT INTO article (title, content, author_id, is_published, rating) VALUES
  ('Hello graphedge', 'One request, one SQL statement.', 1, true, 5),
  ('Draft notes', 'Not published yet.', 1, false, NULL),
  ('Postgres tips', 'Use EXPLAIN.', 2, true, 4),
  ('Edge computing', 'Compile once, run anywhere.', 3, true, 3);
"#;

/// The metadata calls that track the demo: tables, both relationships, `user` permissions.
pub fn demo_metadata() -> Value {
    json!({
        "type": "bulk",
        "args": [
            {"type": "pg_track_table", "args": {"source": "default", "table": {"schema": "public", "name": "author"}}},
            {"type": "pg_track_table", "args": {"source": "default", "table": {"schema": "public", "name": "article"}}},
            {"type": "pg_create_object_relationship", "args": {
                "source": "default", "table": "article", "name": "author",
                "using": {"foreign_key_constraint_on": "author_id"}}},
            {"type": "pg_create_array_relationship", "args": {
                "source": "default", "table": "author", "name": "articles",
                "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}},
            {"type": "pg_create_select_permission", "args": {
                "source": "default", "table": "article", "role": "user",
                "permission": {
                    "columns": ["id", "title", "content", "author_id", "is_published", "rating"],
                    "filter": {"is_published": {"_eq": true}},
                    "allow_aggregations": true}}},
            {"type": "pg_create_select_permission", "args": {
                "source": "default", "table": "author", "role": "user",
                "permission": {
                    "columns": ["id", "name"],
                    "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}}
        ]
    })
}

/// The requests that load the demo: `(path, body)`.
pub fn demo_requests() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": "default", "sql": DEMO_SQL}}),
        ),
        ("/v1/metadata", demo_metadata()),
    ]
}

/// Sends the demo requests through the edge handler; `admin_secret` is added when configured.
pub async fn load_demo(
    engine: &graphedge_edge::Engine,
    db: &crate::db::PgDatabase,
    admin_secret: Option<&str>,
) -> Result<(), String> {
    for (path, body) in demo_requests() {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(s) = admin_secret {
            headers.push(("x-hasura-admin-secret".to_string(), s.to_string()));
        }
        let req = graphedge_edge::Request {
            method: "POST".into(),
            path: path.into(),
            headers,
            body: body.to_string().into_bytes(),
        };
        let res = graphedge_edge::handle(engine, db, req).await;
        if res.status != 200 {
            return Err(format!(
                "loading the demo failed at {path}: HTTP {}: {}",
                res.status,
                String::from_utf8_lossy(&res.body)
            ));
        }
    }
    Ok(())
}

/// What `graphedge dev` prints once it is ready.
pub fn banner(port: u16, db_url: &str) -> String {
    let base = format!("http://127.0.0.1:{port}");
    format!(
        "\ngraphedge is running: console {base}/console\n\n\
         Demo database: {db_url} (throwaway, removed on exit)\n\
         Tables author and article are tracked, with relationships article.author and\n\
         author.articles, and a `user` role that sees published articles and its own author row.\n\n\
         Try it (as admin):\n  \
         curl -s {base}/v1/graphql -d '{{\"query\":\"{{ author {{ name articles {{ title }} }} }}\"}}'\n\
         As role user with id 1:\n  \
         curl -s {base}/v1/graphql -H 'x-hasura-role: user' -H 'x-hasura-user-id: 1' \\\n       \
         -d '{{\"query\":\"{{ article {{ title author {{ name }} }} }}\"}}'\n\n\
         Press Ctrl-C to stop.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_well_formed() {
        let reqs = demo_requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].1["args"].as_array().unwrap().len(), 6);
        assert!(banner(8080, "postgres://x").contains("console http://127.0.0.1:8080/console"));
    }
}
