//! `graphedge metadata ...`: the Hasura CLI's metadata commands against a running server
//! (graphedge or Hasura), on the YAML directory that `hasura metadata export` writes.
//!
//! | Command | Request to `<endpoint>/v1/metadata` |
//! |---|---|
//! | `metadata export` | `export_metadata` (version 2), written with [`raw::to_yaml_dir`] |
//! | `metadata apply` | [`raw::from_yaml_dir`], then `replace_metadata` (version 2) |
//! | `metadata clear` | `clear_metadata` |
//! | `metadata reload` | `reload_metadata` |
//! | `metadata inconsistency list` | `get_inconsistent_metadata` |
//! | `metadata inconsistency drop` | `drop_inconsistent_metadata` |
//!
//! Flags: `--dir` (default `metadata`, the folder inside a Hasura project), `--endpoint`
//! (else `HASURA_GRAPHQL_ENDPOINT`, else `http://127.0.0.1:8080`), `--admin-secret` (else
//! `HASURA_GRAPHQL_ADMIN_SECRET`), `--allow-inconsistent` for `apply`.
//!
//! The HTTP client is `ureq` without TLS: plain `http://` endpoints only. Every failure is a
//! [`CliError`]; a server error keeps the server's JSON body, which `run` prints to stderr.
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use graphedge_metadata::raw::{self, Metadata};
use serde_json::{json, Value as Json};

/// Endpoint when neither `--endpoint` nor `HASURA_GRAPHQL_ENDPOINT` is given.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";
/// Directory when `--dir` is not given (the `metadata/` folder of a Hasura project).
pub const DEFAULT_DIR: &str = "metadata";

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Export,
    Apply,
    Clear,
    Reload,
    InconsistencyList,
    InconsistencyDrop,
    Help,
}

/// Where and how to talk to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Base URL without the trailing `/` (`http://host:port`).
    pub endpoint: String,
    pub admin_secret: Option<String>,
    pub dir: PathBuf,
    /// `apply`: keep going when the new metadata is inconsistent (the server reports it).
    pub allow_inconsistent: bool,
}

/// A parsed `graphedge metadata ...` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub action: Action,
    pub options: Options,
}

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// Bad command line (exit code 2).
    Usage(String),
    /// The server answered with a non-2xx status; `body` is its JSON (or its text as a string).
    Server { status: u16, body: Json },
    /// Network, file or format problem.
    Other(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Other(m) => f.write_str(m),
            CliError::Server { status, body } => write!(f, "server answered {status}: {body}"),
        }
    }
}

impl std::error::Error for CliError {}

/// The text of `graphedge metadata --help`.
pub fn help_text() -> String {
    format!(
        "graphedge metadata — manage metadata of a running graphedge or Hasura server\n\n\
         USAGE:\n    graphedge metadata <COMMAND> [FLAGS]\n\n\
         COMMANDS:\n    \
         export                 write the server's metadata into the YAML directory\n    \
         apply                  replace the server's metadata with the YAML directory\n    \
         clear                  clear the server's metadata\n    \
         reload                 reload the metadata (re-read the database schema)\n    \
         inconsistency list     print the inconsistent objects (alias: ic list)\n    \
         inconsistency drop     drop the inconsistent objects (alias: ic drop)\n\n\
         FLAGS:\n    \
         --dir <path>           metadata directory (default `{DEFAULT_DIR}`)\n    \
         --endpoint <url>       server URL (default {DEFAULT_ENDPOINT}) [HASURA_GRAPHQL_ENDPOINT]\n    \
         --admin-secret <s>     sent as x-hasura-admin-secret [HASURA_GRAPHQL_ADMIN_SECRET]\n    \
         --allow-inconsistent   apply: accept inconsistent metadata\n"
    )
}

/// Parses the arguments after `metadata`; `env` supplies `HASURA_GRAPHQL_ENDPOINT` and
/// `HASURA_GRAPHQL_ADMIN_SECRET` when the flags are absent.
pub fn parse<S: AsRef<str>>(
    args: &[S],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Invocation, CliError> {
    let usage = |m: String| CliError::Usage(format!("{m} (try `graphedge metadata --help`)"));
    let mut words: Vec<&str> = Vec::new();
    let mut endpoint = None;
    let mut admin_secret = None;
    let mut dir = None;
    let mut allow_inconsistent = false;
    let mut help = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_ref();
        i += 1;
        if arg == "-h" || arg == "--help" {
            help = true;
            continue;
        }
        let Some(body) = arg.strip_prefix("--") else {
            words.push(arg);
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if name == "allow-inconsistent" {
            allow_inconsistent = match inline.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(v) => return Err(usage(format!("`--{name}` takes true or false, not `{v}`"))),
            };
            continue;
        }
        let slot = match name {
            "endpoint" => &mut endpoint,
            "admin-secret" => &mut admin_secret,
            "dir" => &mut dir,
            _ => return Err(usage(format!("unknown flag `--{name}`"))),
        };
        let value = match inline {
            Some(v) => v,
            None => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.as_ref().to_string()
                }
                None => return Err(usage(format!("flag `--{name}` needs a value"))),
            },
        };
        *slot = Some(value);
    }
    let action = match words.as_slice() {
        _ if help => Action::Help,
        [] | ["help"] => Action::Help,
        ["export"] => Action::Export,
        ["apply"] => Action::Apply,
        ["clear"] => Action::Clear,
        ["reload"] => Action::Reload,
        ["inconsistency" | "ic", "list" | "ls"] => Action::InconsistencyList,
        ["inconsistency" | "ic", "drop"] => Action::InconsistencyDrop,
        ["inconsistency" | "ic"] => {
            return Err(usage(
                "`metadata inconsistency` needs `list` or `drop`".into(),
            ))
        }
        other => {
            return Err(usage(format!(
                "unknown command `metadata {}`",
                other.join(" ")
            )))
        }
    };
    let endpoint = endpoint
        .or_else(|| env("HASURA_GRAPHQL_ENDPOINT"))
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let admin_secret = admin_secret
        .or_else(|| env("HASURA_GRAPHQL_ADMIN_SECRET"))
        .filter(|s| !s.is_empty());
    Ok(Invocation {
        action,
        options: Options {
            endpoint: normalize_endpoint(&endpoint).map_err(CliError::Usage)?,
            admin_secret,
            dir: PathBuf::from(dir.unwrap_or_else(|| DEFAULT_DIR.to_string())),
            allow_inconsistent,
        },
    })
}

/// `host:port` → `http://host:port`; trailing `/` removed; `https://` refused (no TLS here).
fn normalize_endpoint(e: &str) -> Result<String, String> {
    let e = e.trim().trim_end_matches('/');
    if e.starts_with("https://") {
        return Err(format!(
            "{e}: https endpoints are not supported by `graphedge metadata` (use http://, e.g. \
             through a local port forward)"
        ));
    }
    if e.starts_with("http://") {
        Ok(e.to_string())
    } else if e.contains("://") {
        Err(format!("{e}: not an http:// URL"))
    } else {
        Ok(format!("http://{e}"))
    }
}

/// A blocking client for one server's `/v1/metadata`.
pub struct Client {
    endpoint: String,
    admin_secret: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(options: &Options) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(300))
            .timeout_write(Duration::from_secs(60))
            .redirects(0)
            .build();
        Client {
            endpoint: options.endpoint.clone(),
            admin_secret: options.admin_secret.clone(),
            agent,
        }
    }

    /// POSTs `body` to `/v1/metadata`; the parsed JSON answer on 2xx.
    pub fn metadata(&self, body: &Json) -> Result<Json, CliError> {
        let url = format!("{}/v1/metadata", self.endpoint);
        let mut req = self
            .agent
            .post(&url)
            .set("content-type", "application/json");
        if let Some(s) = &self.admin_secret {
            req = req.set("x-hasura-admin-secret", s);
        }
        let (status, resp) = match req.send_string(&body.to_string()) {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(code, r)) => (code, r),
            Err(ureq::Error::Transport(t)) => {
                return Err(CliError::Other(format!("cannot reach the server: {t}")))
            }
        };
        let mut text = String::new();
        resp.into_reader()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Other(format!("{url}: reading the answer: {e}")))?;
        let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(CliError::Server { status, body: json })
        }
    }

    /// `{"type": ty, "version": 2?, "args": args}`.
    fn call(&self, ty: &str, version: Option<u64>, args: Json) -> Result<Json, CliError> {
        let mut body = json!({ "type": ty });
        if let Some(v) = version {
            body["version"] = json!(v);
        }
        body["args"] = args;
        self.metadata(&body)
    }
}

/// Fetches the server's metadata (`export_metadata` version 2; a version-1 answer, the bare
/// document, is accepted too).
pub fn fetch(client: &Client) -> Result<Metadata, CliError> {
    let answer = client.call("export_metadata", Some(2), json!({}))?;
    let doc = match answer.get("metadata") {
        Some(m) if m.is_object() && answer.get("resource_version").is_some() => m,
        _ => &answer,
    };
    Metadata::from_json(doc, &json!({}))
        .map_err(|e| CliError::Other(format!("the server's metadata is not understood: {e}")))
}

/// `metadata export`: fetches the metadata and writes it as the YAML directory `dir`,
/// replacing the metadata files already there (files that are not metadata are kept).
pub fn export(client: &Client, dir: &Path) -> Result<Metadata, CliError> {
    check_export_dir(dir)?;
    let md = fetch(client)?;
    write_dir(&md, dir)?;
    Ok(md)
}

/// `metadata apply`: reads `dir` and sends `replace_metadata`; the server's answer.
pub fn apply(client: &Client, dir: &Path, allow_inconsistent: bool) -> Result<Json, CliError> {
    if !dir.join("version.yaml").is_file() && !dir.join("databases").is_dir() {
        return Err(CliError::Other(format!(
            "{}: not a metadata directory (no version.yaml or databases/)",
            dir.display()
        )));
    }
    let md = raw::from_yaml_dir(dir).map_err(|e| CliError::Other(e.to_string()))?;
    let metadata = serde_json::to_value(&md).map_err(|e| CliError::Other(e.to_string()))?;
    client.call(
        "replace_metadata",
        Some(2),
        json!({ "allow_inconsistent_metadata": allow_inconsistent, "metadata": metadata }),
    )
}

/// Is `name` (a top-level entry of a metadata directory) something `export` rewrites?
fn is_metadata_entry(name: &str) -> bool {
    name == "databases" || name == "actions.graphql" || name.ends_with(".yaml")
}

/// `export` writes into a missing or empty directory, or over an earlier export (one with a
/// `version.yaml`); never over a directory of unrelated YAML files.
fn check_export_dir(dir: &Path) -> Result<(), CliError> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(CliError::Other(format!(
            "{}: exists and is not a directory",
            dir.display()
        )));
    }
    if dir.join("version.yaml").is_file() {
        return Ok(());
    }
    let entries =
        fs::read_dir(dir).map_err(|e| CliError::Other(format!("{}: {e}", dir.display())))?;
    for e in entries.flatten() {
        if is_metadata_entry(&e.file_name().to_string_lossy()) {
            return Err(CliError::Other(format!(
                "{}: holds YAML files but no version.yaml; export into an empty directory or an \
                 earlier export",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Writes into a staging folder inside `dir` first, then swaps the metadata entries, so a
/// failed write leaves the previous export in place.
fn write_dir(md: &Metadata, dir: &Path) -> Result<(), CliError> {
    let io = |p: &Path, e: std::io::Error| CliError::Other(format!("{}: {e}", p.display()));
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let staging = dir.join(format!(".graphedge-export-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
    }
    let result = (|| {
        raw::to_yaml_dir(md, &staging).map_err(|e| CliError::Other(e.to_string()))?;
        // Remove the previous export's entries, then move the new ones in.
        for e in fs::read_dir(dir).map_err(|e| io(dir, e))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_metadata_entry(&name) {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                fs::remove_dir_all(&p).map_err(|e| io(&p, e))?;
            } else {
                fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
        for e in fs::read_dir(&staging)
            .map_err(|e| io(&staging, e))?
            .flatten()
        {
            let to = dir.join(e.file_name());
            fs::rename(e.path(), &to).map_err(|e| io(&to, e))?;
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Runs one invocation, printing results on stdout; the error is printed by [`run`].
pub fn execute(inv: &Invocation) -> Result<(), CliError> {
    let o = &inv.options;
    let client = Client::new(o);
    let answer = match inv.action {
        Action::Help => {
            print!("{}", help_text());
            return Ok(());
        }
        Action::Export => {
            let md = export(&client, &o.dir)?;
            let tables: usize = md.sources.iter().map(|s| s.tables.len()).sum();
            println!(
                "metadata exported to {} ({} source(s), {tables} table(s))",
                o.dir.display(),
                md.sources.len()
            );
            return Ok(());
        }
        Action::Apply => apply(&client, &o.dir, o.allow_inconsistent)?,
        Action::Clear => client.call("clear_metadata", None, json!({}))?,
        Action::Reload => client.call("reload_metadata", None, json!({}))?,
        Action::InconsistencyList => client.call("get_inconsistent_metadata", None, json!({}))?,
        Action::InconsistencyDrop => client.call("drop_inconsistent_metadata", None, json!({}))?,
    };
    println!("{}", pretty(&answer));
    Ok(())
}

/// Entry point of `graphedge metadata <args>`: exit code 0 on success, 1 on failure (a server
/// error's JSON on stderr), 2 on a bad command line.
pub fn run<S: AsRef<str>>(args: &[S], env: impl Fn(&str) -> Option<String>) -> ExitCode {
    let result = parse(args, env).and_then(|inv| execute(&inv));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Server { status, body }) => {
            eprintln!("{}", pretty(&body));
            eprintln!("error: the server answered {status}");
            ExitCode::FAILURE
        }
        Err(CliError::Other(m)) => {
            eprintln!("error: {m}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_commands_and_defaults() {
        let inv = parse(&["export"], no_env).unwrap();
        assert_eq!(inv.action, Action::Export);
        assert_eq!(inv.options.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(inv.options.dir, PathBuf::from(DEFAULT_DIR));
        assert_eq!(inv.options.admin_secret, None);
        assert!(!inv.options.allow_inconsistent);

        let inv = parse(
            &[
                "apply",
                "--dir",
                "x/metadata",
                "--endpoint=localhost:9000/",
                "--admin-secret",
                "s",
                "--allow-inconsistent",
            ],
            no_env,
        )
        .unwrap();
        assert_eq!(inv.action, Action::Apply);
        assert_eq!(inv.options.dir, PathBuf::from("x/metadata"));
        assert_eq!(inv.options.endpoint, "http://localhost:9000");
        assert_eq!(inv.options.admin_secret.as_deref(), Some("s"));
        assert!(inv.options.allow_inconsistent);

        for (args, action) in [
            (&["inconsistency", "list"][..], Action::InconsistencyList),
            (&["ic", "list"][..], Action::InconsistencyList),
            (&["ic", "drop"][..], Action::InconsistencyDrop),
            (&["clear"][..], Action::Clear),
            (&["reload"][..], Action::Reload),
            (&[][..], Action::Help),
            (&["export", "--help"][..], Action::Help),
        ] {
            assert_eq!(parse(args, no_env).unwrap().action, action, "{args:?}");
        }
    }

    #[test]
    fn env_fallbacks_and_flag_precedence() {
        let env = |k: &str| match k {
            "HASURA_GRAPHQL_ENDPOINT" => Some("http://h:1".to_string()),
            "HASURA_GRAPHQL_ADMIN_SECRET" => Some("from-env".to_string()),
            _ => None,
        };
        let inv = parse(&["export"], env).unwrap();
        assert_eq!(inv.options.endpoint, "http://h:1");
        assert_eq!(inv.options.admin_secret.as_deref(), Some("from-env"));
        let inv = parse(
            &[
                "export",
                "--admin-secret",
                "flag",
                "--endpoint",
                "http://a:2",
            ],
            env,
        )
        .unwrap();
        assert_eq!(inv.options.endpoint, "http://a:2");
        assert_eq!(inv.options.admin_secret.as_deref(), Some("flag"));
    }

    #[test]
    fn rejects_bad_input() {
        let usage = |args: &[&str]| matches!(parse(args, no_env), Err(CliError::Usage(_)));
        assert!(usage(&["frobnicate"]));
        assert!(usage(&["export", "extra"]));
        assert!(usage(&["inconsistency"]));
        assert!(usage(&["export", "--dir"]));
        assert!(usage(&["export", "--nope", "x"]));
        assert!(usage(&["export", "--endpoint", "https://x"]));
        assert!(usage(&["export", "--endpoint", "ftp://x"]));
        assert!(usage(&["apply", "--allow-inconsistent=maybe"]));
    }

    #[test]
    fn export_dir_safety() {
        let base = std::env::temp_dir().join(format!("ge-mdcli-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        // Missing: fine. Unrelated YAML without version.yaml: refused.
        assert!(check_export_dir(&base).is_ok());
        fs::create_dir_all(&base).unwrap();
        fs::write(base.join("README.md"), "x").unwrap();
        assert!(check_export_dir(&base).is_ok());
        fs::write(base.join("docker-compose.yaml"), "x: 1").unwrap();
        assert!(check_export_dir(&base).is_err());

        // Writing over an earlier export replaces its YAML and keeps other files.
        let dir = base.join("metadata");
        let md = Metadata::default();
        write_dir(&md, &dir).unwrap();
        fs::write(dir.join("stale.yaml"), "[1]").unwrap();
        fs::write(dir.join("notes.txt"), "keep").unwrap();
        assert!(check_export_dir(&dir).is_ok());
        write_dir(&md, &dir).unwrap();
        assert!(!dir.join("stale.yaml").exists());
        assert!(dir.join("notes.txt").exists());
        assert!(dir.join("version.yaml").exists());
        assert!(dir.join("databases/databases.yaml").exists());
        assert_eq!(raw::from_yaml_dir(&dir).unwrap(), md);
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&base).unwrap();
    }
}
