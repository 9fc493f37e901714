//! Runs the `pg_dump` program for `/v1alpha1/pg_dump` (the edge's `ops::pgdump` decides what
//! is asked and cleans the output): `pg_dump <url> --encoding=utf8 <opts>`, its standard
//! output as the answer. The program is `GRAPHEDGE_PG_DUMP`, else `pg_dump` on `PATH`, else
//! the newest `/usr/lib/postgresql/*/bin/pg_dump` (a `pg_dump` refuses servers newer than
//! itself). The dump is bounded in time (10 minutes) and is killed when the request goes away.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use graphedge_metadata::db::DbError;

/// The `pg_dump` program to run.
fn program() -> PathBuf {
    if let Some(p) = std::env::var_os("GRAPHEDGE_PG_DUMP").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("pg_dump"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return p;
    }
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let p = e.path().join("bin/pg_dump");
            p.is_file().then_some((major, p))
        })
        .collect();
    installed.sort();
    installed
        .pop()
        .map_or_else(|| PathBuf::from("pg_dump"), |(_, p)| p)
}

fn failed(message: impl Into<String>) -> DbError {
    DbError {
        message: message.into(),
        ..Default::default()
    }
}

/// The `\\restrict` key of the script (pg_dump 17.6 / 16.10 / 15.14 and later fence it with
/// psql's `\\restrict <key>`, a random key unless given): Hasura's, so dumps are reproducible.
const RESTRICT_KEY: &str = "--restrict-key=hasura";

/// `pg_dump url --encoding=utf8 [--restrict-key=hasura] opts…`; its output, or its error
/// output when it fails. A `pg_dump` too old for `--restrict-key` runs without it.
pub async fn run(url: &str, opts: &[String]) -> Result<String, DbError> {
    let keyed = !opts.iter().any(|o| o.starts_with("--restrict-key"));
    match run_with(url, opts, keyed).await {
        Err(e) if keyed && e.message.contains("restrict-key") => run_with(url, opts, false).await,
        other => other,
    }
}

async fn run_with(url: &str, opts: &[String], keyed: bool) -> Result<String, DbError> {
    let mut cmd = tokio::process::Command::new(program());
    cmd.arg(url).arg("--encoding=utf8");
    if keyed {
        cmd.arg(RESTRICT_KEY);
    }
    cmd.args(opts)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| failed(format!("cannot run pg_dump: {e}")))?;
    let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
        .await
        .map_err(|_| failed("pg_dump did not finish within 10 minutes"))?
        .map_err(|e| failed(format!("pg_dump: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        ))
    }
}
