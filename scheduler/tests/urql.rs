//! The npm `@urql/core` client with its default options (GET for queries, POST for
//! mutations) against the real binary and a throwaway Postgres (tests/urql-client, `npm ci`
//! on first use; skipped with a message only when npm/node are missing).
mod common;

use std::process::Command;

use common::{database, Server};
use serde_json::json;

#[test]
fn urql_default_client_works() {
    let Some(dir) = common::npm_project("urql-client", "@urql/core", "the urql client test") else {
        return;
    };
    let (_pg, url) = database();
    let server = Server::start(&url);
    server.run_sql(
        "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);
         INSERT INTO item (name) VALUES ('one');",
    );
    server.metadata(json!({"type": "pg_track_table", "args": {"table": "item"}}));
    let out = Command::new("node")
        .arg("test.mjs")
        .current_dir(&dir)
        .env("GRAPHQL_URL", format!("{}/v1/graphql", server.base))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("checks passed"),
        "node test.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
}
