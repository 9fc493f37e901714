//! The console's browser run, shared by the native test (`scheduler/tests/console.rs`, which
//! includes this file by path) and the edge hosts' (`tests/tests/edge_console.rs`): the schema
//! set up through the server's own `/v2/query` and `/v1/metadata` ([`setup`]), then
//! `tests/console-playwright/test.mjs` (npm `playwright-core`, `npm ci` on first use) in
//! Debian's headless chromium with every non-loopback request aborted ([`run_browser`]).
//! std and `serde_json` only, so both crates can build it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

#[path = "npm.rs"]
mod npm;

/// The admin secret the servers under test are started with.
pub const SECRET: &str = "console-secret";

/// Chromium: `$GRAPHEDGE_CHROMIUM`, else the first of Debian's names found on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GRAPHEDGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// What the browser run needs: chromium and `tests/console-playwright` with its node modules
/// (`npm ci` on first use). `None`, after a SKIPPED line, when chromium or npm/node is missing.
pub fn browser() -> Option<(PathBuf, PathBuf)> {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: the console browser test needs chromium (not found on PATH; \
             scripts/install-chromium.sh installs Debian's, GRAPHEDGE_CHROMIUM names another)"
        );
        return None;
    };
    let dir = npm::project(
        &repo().join("tests/console-playwright"),
        "playwright-core",
        "the console browser test",
    )?;
    Some((chromium, dir))
}

/// The repository's root.
fn repo() -> PathBuf {
    // Both including crates (scheduler/, tests/) are one level below it.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where a run's screenshots go: `target/console-screenshots/` (native) or its `<host>/`
/// subdirectory (the edge hosts); CI keeps them as artifacts.
pub fn screenshots(host: Option<&str>) -> PathBuf {
    let dir = repo().join("target/console-screenshots");
    match host {
        Some(h) => dir.join(h),
        None => dir,
    }
}

/// The schema, as the console test's requests in order (path, body), all with the admin
/// secret: `article` with an object relationship to `author`, role `user` reading its own
/// articles' `id` and `title` through `X-Hasura-User-Id`; for the Events screen an event
/// trigger (its webhook on a closed loopback port, so its one manual event fails where it is
/// delivered) and a cron trigger, and one manual event.
pub fn setup_requests() -> Vec<(&'static str, Value)> {
    let sql =
        "CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL, author_id int NOT NULL);
               INSERT INTO article VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 1);
               CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO author VALUES (1, 'ann'), (2, 'bob');";
    vec![
        (
            "/v2/query",
            json!({"type": "run_sql", "args": {"sql": sql}}),
        ),
        (
            "/v1/metadata",
            json!({"type": "bulk", "args": [
                {"type": "pg_track_table", "args": {"table": "article"}},
                {"type": "pg_track_table", "args": {"table": "author"}},
                {"type": "pg_create_object_relationship", "args": {"table": "article",
                    "name": "author",
                    "using": {"manual_configuration": {"remote_table": "author",
                                                       "column_mapping": {"author_id": "id"}}}}},
                {"type": "pg_create_select_permission", "args": {"table": "article",
                    "role": "user",
                    "permission": {"columns": ["id", "title"],
                                   "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}
            ]}),
        ),
        (
            "/v1/metadata",
            json!({"type": "bulk", "args": [
                {"type": "pg_create_event_trigger", "args": {"name": "article_changed",
                    "table": "article", "update": {"columns": "*"}, "enable_manual": true,
                    "webhook": "http://127.0.0.1:9/article", "retry_conf": {"num_retries": 0}}},
                {"type": "create_cron_trigger", "args": {"name": "nightly_report",
                    "webhook": "http://127.0.0.1:9/cron", "schedule": "0 3 * * *",
                    "include_in_metadata": true, "comment": "the console test's"}}
            ]}),
        ),
        (
            "/v1/metadata",
            json!({"type": "pg_invoke_event_trigger",
                "args": {"name": "article_changed", "payload": {"id": 1}}}),
        ),
    ]
}

/// Sends [`setup_requests`] with `post` (path, body → status, answer text), which adds the
/// admin secret; panics unless each answers 200.
pub fn setup(mut post: impl FnMut(&str, &Value) -> (u16, String)) {
    for (path, body) in setup_requests() {
        let (status, answer) = post(path, &body);
        assert_eq!(status, 200, "{path} {}: {answer}", body["type"]);
    }
}

/// Runs `test.mjs` against the console at `base` (`http://127.0.0.1:PORT`) with
/// [`SECRET`], screenshots into `shots`. `host` is `native`, `worker` or `spin`: at the edge
/// nothing delivers events (the native process's background work), so there the Events
/// screen's manual event is checked to be pending rather than waited on. Panics unless every
/// check passes; returns the script's output (one `ok N - …` line per check).
pub fn run_browser(chromium: &Path, dir: &Path, base: &str, host: &str, shots: &Path) -> String {
    run_checks(chromium, dir, base, host, shots, "full")
}

/// `test.mjs`'s demo checks against `graphedge dev` at `base` (no admin secret): the demo's
/// `user` role, a query as admin and as user 1, the demo's rules in the permission matrix.
pub fn run_demo_browser(chromium: &Path, dir: &Path, base: &str, shots: &Path) -> String {
    run_checks(chromium, dir, base, "native", shots, "demo")
}

fn run_checks(
    chromium: &Path,
    dir: &Path,
    base: &str,
    host: &str,
    shots: &Path,
    checks: &str,
) -> String {
    let out = Command::new("node")
        .arg("test.mjs")
        .current_dir(dir)
        .env("GRAPHEDGE_URL", base)
        .env("GRAPHEDGE_HOST", host)
        .env("GRAPHEDGE_CHECKS", checks)
        .env("ADMIN_SECRET", SECRET)
        .env("CHROMIUM", chromium)
        .env("SCREENSHOTS", shots)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("console checks passed"),
        "node test.mjs ({host}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
