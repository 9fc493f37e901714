//! The console in a real browser: `graphedge serve --enable-console` with an admin secret and
//! a small schema (`article` with an object relationship to `author`, role `user` reading its
//! own articles through `X-Hasura-User-Id`, an event trigger with one failed event, a cron
//! trigger),
//! driven by tests/console-playwright/test.mjs (npm `playwright-core`, `npm ci` on first use)
//! in Debian's headless `chromium` with every non-loopback request aborted. Screenshots are
//! saved under `target/console-screenshots/`. Skipped with a message when chromium or
//! npm/node are missing (`scripts/install-chromium.sh` installs chromium).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{database, Server};
use serde_json::json;

const SECRET: &str = "console-secret";

/// Chromium: `$GRAPHEDGE_CHROMIUM`, else the first of Debian's names found on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GRAPHEDGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

#[test]
fn console_works_offline_as_admin_and_as_a_role() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: the console browser test needs chromium (not found on PATH; \
             scripts/install-chromium.sh installs Debian's, GRAPHEDGE_CHROMIUM names another)"
        );
        return;
    };
    let Some(dir) = common::npm_project(
        "console-playwright",
        "playwright-core",
        "the console browser test",
    ) else {
        return;
    };
    let (_pg, url) = database();
    let server = Server::start_with(&url, &["--enable-console", "--admin-secret", SECRET]);
    let admin = [("x-hasura-admin-secret", SECRET)];
    let sql =
        "CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL, author_id int NOT NULL);
               INSERT INTO article VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 1);
               CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO author VALUES (1, 'ann'), (2, 'bob');";
    let (status, body) = server.post(
        "/v2/query",
        &admin,
        &json!({"type": "run_sql", "args": {"sql": sql}}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let permissions = json!({"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"table": "article"}},
        {"type": "pg_track_table", "args": {"table": "author"}},
        {"type": "pg_create_object_relationship", "args": {"table": "article", "name": "author",
            "using": {"manual_configuration": {"remote_table": "author",
                                               "column_mapping": {"author_id": "id"}}}}},
        {"type": "pg_create_select_permission", "args": {"table": "article", "role": "user",
            "permission": {"columns": ["id", "title"],
                           "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}
    ]});
    let (status, body) = server.post("/v1/metadata", &admin, &permissions.to_string());
    assert_eq!(status, 200, "{body}");
    // For the Events screen: an event trigger (its webhook on a closed loopback port, so its
    // one manual event fails) and a cron trigger.
    let events = json!({"type": "bulk", "args": [
        {"type": "pg_create_event_trigger", "args": {"name": "article_changed", "table": "article",
            "update": {"columns": "*"}, "enable_manual": true,
            "webhook": "http://127.0.0.1:9/article", "retry_conf": {"num_retries": 0}}},
        {"type": "create_cron_trigger", "args": {"name": "nightly_report",
            "webhook": "http://127.0.0.1:9/cron", "schedule": "0 3 * * *",
            "include_in_metadata": true, "comment": "the console test's"}}
    ]});
    let (status, body) = server.post("/v1/metadata", &admin, &events.to_string());
    assert_eq!(status, 200, "{body}");
    let invoke = json!({"type": "pg_invoke_event_trigger",
        "args": {"name": "article_changed", "payload": {"id": 1}}});
    let (status, body) = server.post("/v1/metadata", &admin, &invoke.to_string());
    assert_eq!(status, 200, "{body}");

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    let out = Command::new("node")
        .arg("test.mjs")
        .current_dir(&dir)
        .env("GRAPHEDGE_URL", &server.base)
        .env("ADMIN_SECRET", SECRET)
        .env("CHROMIUM", &browser)
        .env("SCREENSHOTS", &shots)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("console checks passed"),
        "node test.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
}
