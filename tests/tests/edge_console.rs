//! The console in a real browser through the edge hosts: the Worker under `wrangler dev` (real
//! workerd) or the Spin component under `wasmtime serve` (`tests/edge-server.sh`, Postgres
//! reached through the SQL gateway), with `HASURA_GRAPHQL_ENABLE_CONSOLE` and an admin secret.
//! The schema is set up through the host's own `/v2/query` and `/v1/metadata`, then the native
//! test's Playwright script (tests/tests/../console-playwright/test.mjs, through
//! `graphedge_tests::console`) drives `/console` in Debian's headless chromium with every
//! non-loopback request aborted: the page renders offline, queries as admin, as role `user`
//! with `x-hasura-user-id` and through the Headers tab, the Explorer, the SQL panel, the Data
//! and Permissions screens (desktop and 390 px wide). The Events screen lists both triggers and
//! the cron trigger's next fire time, but its manual event stays pending: at the edge nothing
//! delivers events (the native process's background work; the gateway runs without it), so
//! its failure is not waited for. Nothing here needs websockets (Spin has none).
//! Screenshots go to `target/console-screenshots/<host>/`.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker` or `spin`, that host built
//! (`scripts/build-edge.sh worker|spin`) and `GRAPHEDGE_BIN` (default
//! `target/release/graphedge`) for the gateway; `scripts/test` runs it after each host's
//! conformance run. Otherwise it is skipped, and also (with a message) without chromium or
//! npm/node.
use graphedge_tests::console::{self, SECRET};
use graphedge_tests::http::Client;
use graphedge_tests::server::start_edge;

#[test]
fn the_console_works_offline_through_the_edge_host() {
    let env = [
        ("HASURA_GRAPHQL_ADMIN_SECRET", SECRET),
        ("HASURA_GRAPHQL_ENABLE_CONSOLE", "true"),
    ];
    let Some((_pg, edge)) = start_edge(&["worker", "spin"], &env, "edge-console") else {
        return;
    };
    let Some((chromium, dir)) = console::browser() else {
        return;
    };
    let client = Client::new(edge.base_url());
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    console::setup(|path, body| {
        let r = client
            .post_json(path, &admin, body)
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", edge.log_tail(40)));
        let answer = match r.body {
            Ok(v) => v.to_string(),
            Err(text) => text,
        };
        (r.status, format!("{answer}\n{}", edge.log_tail(20)))
    });
    let host = std::env::var("GRAPHEDGE_EDGE_HOST").unwrap();
    let shots = console::screenshots(Some(&host));
    let out = console::run_browser(&chromium, &dir, &edge.base_url(), &host, &shots);
    eprintln!("{out}");
}
