//! `conformance`: runs Hasura's tests-py YAML fixtures against `graphedge serve`.
//!
//! ```text
//! cargo run -p graphedge-tests --bin conformance -- [--suite DIR] [--server BIN]
//!     [--filter SUBSTR]... [--jsonl FILE] [--floor FILE] [--verbose]
//! ```
//! See `graphedge_tests::runner` and `../shared/hasura-suite/RUNNER_SPEC.md`.

use graphedge_tests::runner::{run, Options};
use std::path::PathBuf;

const USAGE: &str = "usage: conformance [--suite DIR] [--server BIN] [--filter SUBSTR]... \
[--jsonl FILE] [--floor FILE] [--verbose] [--deadline-secs N]

  --suite DIR      hasura-suite folder (default: ../shared/hasura-suite next to the repository)
  --server BIN     server binary (default: target/release/graphedge, else target/debug/graphedge)
  --filter SUBSTR  only tests whose id or fixture directory contains SUBSTR (repeatable)
  --jsonl FILE     write one JSON line per executed item
  --floor FILE     exit 1 if fewer strict passes than the number in FILE
  --verbose        print the differences of failures
  --deadline-secs N  budget for the whole run (default 2400); later classes are errors
  --no-websocket   report the websocket and subscription transports as skipped (a host
                   without websockets)";

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn default_server(root: &std::path::Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_relative() { root.join(t) } else { t });
    let mut candidates = Vec::new();
    for dir in target.iter().cloned().chain([root.join("target")]) {
        candidates.push(dir.join("release/graphedge"));
        candidates.push(dir.join("debug/graphedge"));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| root.join("target/release/graphedge"))
}

fn parse_args() -> Result<Options, String> {
    let root = workspace_root();
    let mut opts = Options::default();
    let (mut suite, mut server) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--suite" => suite = Some(PathBuf::from(value("--suite")?)),
            "--server" => server = Some(PathBuf::from(value("--server")?)),
            "--filter" => opts.filters.push(value("--filter")?),
            "--jsonl" => opts.jsonl = Some(PathBuf::from(value("--jsonl")?)),
            "--floor" => opts.floor = Some(PathBuf::from(value("--floor")?)),
            "--verbose" | "-v" => opts.verbose = true,
            "--no-websocket" => opts.no_websocket = true,
            "--deadline-secs" => {
                let v = value("--deadline-secs")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--deadline-secs: bad number {v:?}"))?;
                opts.deadline = Some(std::time::Duration::from_secs(secs));
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    opts.suite = suite.unwrap_or_else(|| {
        root.parent()
            .map(|p| p.join("shared/hasura-suite"))
            .unwrap_or_else(|| PathBuf::from("../shared/hasura-suite"))
    });
    opts.server = server.unwrap_or_else(|| default_server(&root));
    Ok(opts)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("conformance: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    std::process::exit(run(&opts));
}
