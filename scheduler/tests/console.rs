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
