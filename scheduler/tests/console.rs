//! The console in a real browser: `graphedge serve --enable-console` with an admin secret and
//! a small schema (`article` with an object relationship to `author`, role `user` reading its
//! own articles through `X-Hasura-User-Id`, an event trigger with one failed event, a cron
//! trigger, a second source `shop` with a namespace), driven by tests/console-playwright/test.mjs (npm `playwright-core`, `npm ci` on
//! first use) in Debian's headless `chromium` with every non-loopback request aborted.
//! Screenshots are saved under `target/console-screenshots/`. The setup and the driver are
//! tests/src/console.rs, shared with the edge hosts' run (tests/tests/edge_console.rs).
//! Skipped with a message when chromium or npm/node are missing
//! (`scripts/install-chromium.sh` installs chromium).
mod common;
#[path = "../../tests/src/console.rs"]
mod console_run;

use common::{database, Server};
use console_run::SECRET;

#[test]
fn console_works_offline_as_admin_and_as_a_role() {
    let Some((chromium, dir)) = console_run::browser() else {
        return;
    };
    let (_pg, url) = database();
    let server = Server::start_with(&url, &["--enable-console", "--admin-secret", SECRET]);
    let admin = [("x-hasura-admin-secret", SECRET)];
    console_run::setup(|path, body| {
        let (status, answer) = server.post(path, &admin, &body.to_string());
        (status, answer.to_string())
    });
    // A second source on the same database with a namespace, a root field prefix and type prefix, for
    // the data browser's customized-source check (native only: the edge hosts have one).
    let shop = serde_json::json!({"type": "bulk", "args": [
        {"type": "pg_add_source", "args": {"name": "shop",
            "configuration": {"connection_info": {"database_url": url}},
            "customization": {"root_fields": {"namespace": "shop", "prefix": "s_"},
                              "type_names": {"prefix": "Shop_"}}}},
        {"type": "pg_track_table", "args": {"source": "shop", "table": "author"}}
    ]});
    let (status, answer) = server.post("/v1/metadata", &admin, &shop.to_string());
    assert_eq!(status, 200, "{answer}");
    let shots = console_run::screenshots(None);
    let out = console_run::run_browser(&chromium, &dir, &server.base, "native", &shots);
    eprintln!("{out}");
}

/// README command 1's console: `graphedge dev` (its own throwaway Postgres, the demo schema,
/// no admin secret) shows the demo's `user` role, answers as admin and as user 1, and its
/// permission matrix shows the demo's rules.
#[test]
fn console_of_graphedge_dev_shows_the_demo() {
    let Some((chromium, dir)) = console_run::browser() else {
        return;
    };
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut dev = std::process::Command::new(env!("CARGO_BIN_EXE_graphedge"))
        .args(["dev", "--server-port", &port.to_string()])
        .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn graphedge dev");
    // Ready once the demo is tracked (the dev banner follows it).
    let started = std::time::Instant::now();
    let query = r#"{"query": "{ article_aggregate { aggregate { count } } }"}"#;
    let served = || {
        ureq::post(&format!("{base}/v1/graphql"))
            .send_string(query)
            .ok()
            .and_then(|r| r.into_string().ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| !v["data"].is_null())
    };
    while !served() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "graphedge dev did not serve the demo"
        );
        assert!(dev.try_wait().unwrap().is_none(), "graphedge dev exited");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let shots = console_run::screenshots(None);
    let out =
        std::panic::catch_unwind(|| console_run::run_demo_browser(&chromium, &dir, &base, &shots));
    // SIGTERM: `graphedge dev` removes its throwaway Postgres on the way out.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &dev.id().to_string()])
        .status();
    let _ = dev.wait();
    eprintln!("{}", out.expect("the demo console checks"));
}
