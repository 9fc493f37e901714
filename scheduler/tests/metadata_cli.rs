//! End-to-end test of `graphedge metadata export|apply|inconsistency list`: a throwaway
//! Postgres, `graphedge serve` (with an admin secret) on a free port, and the same binary as the
//! CLI client.
//!
//! Two tables with relationships and a permission are exported to a YAML directory in Hasura's
//! layout, the metadata is cleared, the directory is applied back, and `export_metadata` must
//! equal the first export. Failures (wrong secret, inconsistent metadata, unreachable server)
//! must exit non-zero with the server's error JSON.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

const SECRET: &str = "mdcli-test-secret";

mod common;

/// `graphedge serve` with an admin secret; every request here carries it.
struct Server(common::Server);

impl Server {
    fn start(db_url: &str) -> Server {
        Server(common::Server::start_with(
            db_url,
            &["--admin-secret", SECRET],
        ))
    }

    fn base(&self) -> &str {
        &self.0.base
    }

    /// POSTs `body` with the admin secret; status and JSON.
    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.0.post(
            path,
            &[("x-hasura-admin-secret", SECRET)],
            &body.to_string(),
        )
    }

    fn ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body.clone());
        assert_eq!(status, 200, "{body} -> {answer}");
        answer
    }

    /// The `metadata` part of `export_metadata` version 2.
    fn export(&self) -> Value {
        let answer = self.ok(
            "/v1/metadata",
            json!({"type": "export_metadata", "version": 2, "args": {}}),
        );
        assert!(answer["resource_version"].is_number(), "{answer}");
        answer["metadata"].clone()
    }
}

/// Runs `graphedge metadata <args>` with a clean environment plus `env`.
fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
    cmd.arg("metadata")
        .args(args)
        .env_remove("HASURA_GRAPHQL_ENDPOINT")
        .env_remove("HASURA_GRAPHQL_ADMIN_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run graphedge metadata")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("graphedge-mdcli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SETUP_SQL: &str = "
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  author_id int NOT NULL REFERENCES author(id)
);";

fn setup(server: &Server) {
    server.ok(
        "/v2/query",
        json!({"type": "run_sql", "args": {"source": "default", "sql": SETUP_SQL}}),
    );
    for step in [
        json!({"type": "pg_track_table", "args": {"source": "default", "table": {"schema": "public", "name": "author"}}}),
        json!({"type": "pg_track_table", "args": {"source": "default", "table": {"schema": "public", "name": "article"}}}),
        json!({"type": "pg_create_object_relationship", "args": {
            "source": "default", "table": "article", "name": "author",
            "using": {"foreign_key_constraint_on": "author_id"}}}),
        json!({"type": "pg_create_array_relationship", "args": {
            "source": "default", "table": "author", "name": "articles",
            "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}}),
        json!({"type": "pg_create_select_permission", "args": {
            "source": "default", "table": "article", "role": "user",
            "permission": {"columns": ["id", "title"],
                           "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}),
    ] {
        server.ok("/v1/metadata", step);
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn export_clear_apply_round_trip() {
    let pg = TempPostgres::start().expect("start a throwaway postgres");
    pg.create_database("graphedge").unwrap();
    let server = Server::start(&pg.url("graphedge"));
    setup(&server);
    let first = server.export();
    assert_eq!(first["sources"][0]["tables"].as_array().unwrap().len(), 2);

    // Export; the admin secret comes from HASURA_GRAPHQL_ADMIN_SECRET.
    let scratch = Scratch::new("roundtrip");
    let dir = scratch.0.join("metadata");
    let dir_s = dir.to_str().unwrap();
    let out = cli(
        &["export", "--dir", dir_s, "--endpoint", server.base()],
        &[("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)],
    );
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 table(s)"),
        "{}",
        text(&out.stdout)
    );

    // Hasura's layout.
    assert!(read(&dir.join("version.yaml")).contains("version: 3"));
    let databases = read(&dir.join("databases/databases.yaml"));
    assert!(databases.contains("name: default"), "{databases}");
    assert!(
        databases.contains("!include default/tables/tables.yaml"),
        "{databases}"
    );
    let tables = read(&dir.join("databases/default/tables/tables.yaml"));
    assert!(tables.contains("!include public_author.yaml"), "{tables}");
    assert!(tables.contains("!include public_article.yaml"), "{tables}");
    let article = read(&dir.join("databases/default/tables/public_article.yaml"));
    for needle in [
        "object_relationships",
        "foreign_key_constraint_on: author_id",
        "select_permissions",
        "X-Hasura-User-Id",
    ] {
        assert!(article.contains(needle), "{needle} in {article}");
    }
    let author = read(&dir.join("databases/default/tables/public_author.yaml"));
    assert!(author.contains("array_relationships"), "{author}");
    for f in [
        "allow_list.yaml",
        "query_collections.yaml",
        "remote_schemas.yaml",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }

    // Clear, then apply the directory back (secret from the flag).
    server.ok(
        "/v1/metadata",
        json!({"type": "clear_metadata", "args": {}}),
    );
    let cleared = server.export();
    assert_eq!(cleared["sources"][0]["tables"], json!([]), "{cleared}");
    let out = cli(
        &[
            "apply",
            "--dir",
            dir_s,
            "--endpoint",
            server.base(),
            "--admin-secret",
            SECRET,
        ],
        &[],
    );
    assert!(out.status.success(), "apply: {}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("apply prints JSON");
    assert!(answer.is_object(), "{answer}");
    assert_eq!(server.export(), first);

    // Inconsistency list: consistent.
    let out = cli(
        &["inconsistency", "list", "--endpoint", server.base()],
        &[("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)],
    );
    assert!(out.status.success(), "ic list: {}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer,
        json!({"is_consistent": true, "inconsistent_objects": []})
    );

    // Exporting again over the previous export is a fixed point.
    let before = read(&dir.join("databases/default/tables/public_article.yaml"));
    let out = cli(
        &["export", "--dir", dir_s, "--endpoint", server.base()],
        &[("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        read(&dir.join("databases/default/tables/public_article.yaml")),
        before
    );

    // Wrong secret: the server's error JSON on stderr, exit 1, nothing changed.
    let out = cli(
        &[
            "apply",
            "--dir",
            dir_s,
            "--endpoint",
            server.base(),
            "--admin-secret",
            "wrong",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("\"code\""), "{stderr}");
    assert!(stderr.contains("access-denied"), "{stderr}");

    // Inconsistent metadata (a table that does not exist): refused, exit 1, nothing changed.
    let tables_yaml = dir.join("databases/default/tables/tables.yaml");
    std::fs::write(
        dir.join("databases/default/tables/public_ghost.yaml"),
        "table:\n  name: ghost\n  schema: public\n",
    )
    .unwrap();
    std::fs::write(
        &tables_yaml,
        format!("{}- \"!include public_ghost.yaml\"\n", read(&tables_yaml)),
    )
    .unwrap();
    let out = cli(
        &["apply", "--dir", dir_s, "--endpoint", server.base()],
        &[("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("inconsistent"), "{stderr}");
    assert_eq!(server.export(), first);

    // Not a metadata directory; unreachable server; bad usage.
    let out = cli(
        &[
            "apply",
            "--dir",
            scratch.0.to_str().unwrap(),
            "--endpoint",
            server.base(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a metadata directory"));
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let out = cli(&["inconsistency", "list", "--endpoint", &dead], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
