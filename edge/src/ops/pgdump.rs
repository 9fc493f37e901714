//! `POST /v1alpha1/pg_dump`: Hasura's request `{"opts": [...], "clean_output": bool,
//! "source": name}` (admin only; `source` defaults to `default`), answered with the SQL text
//! (`application/sql`) of `pg_dump <source's database> --encoding=utf8 <opts>`.
//!
//! Running `pg_dump` is the host's ([`Database::pg_dump`]: the native binary runs the
//! `pg_dump` it finds; edge hosts have none and answer Hasura's 500). With `clean_output` the
//! text loses what Hasura removes: empty lines, `--` comments, the preamble `SET`s, `CREATE
//! SCHEMA public;` and its comment, and the Postgres triggers behind event triggers (ours are
//! named `graphedge_<trigger>_<OP>` and call `graphedge.record_event`).
use serde_json::Value as Json;

use crate::error::EdgeError;
use crate::md::{Database, SourceConnection};
use crate::Engine;

/// Lines Hasura's `clean_output` drops as they are.
const PREAMBLE: &[&str] = &[
    "SET statement_timeout = 0;",
    "SET lock_timeout = 0;",
    "SET idle_in_transaction_session_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "SET standard_conforming_strings = on;",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    "SET xmloption = content;",
    "SET client_min_messages = warning;",
    "SET row_security = off;",
    "SET default_tablespace = '';",
    "SET default_with_oids = false;",
    "SET default_table_access_method = heap;",
    "CREATE SCHEMA public;",
    "COMMENT ON SCHEMA public IS 'standard public schema';",
];

/// `pg_dump` options that would write elsewhere than the answer.
const REFUSED: &[&str] = &["-f", "--file"];

struct Args {
    opts: Vec<String>,
    clean: bool,
    source: String,
}

fn decode(body: &Json) -> Result<Args, EdgeError> {
    let obj = body
        .as_object()
        .ok_or_else(|| EdgeError::parse_failed("expected an object").at("$"))?;
    let opts = match obj.get("opts") {
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    EdgeError::parse_failed("expected a string").at(format!("$.opts[{i}]"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(EdgeError::parse_failed("expected an array").at("$.opts")),
        None => return Err(EdgeError::parse_failed("key \"opts\" not found").at("$")),
    };
    for (i, o) in opts.iter().enumerate() {
        let name = o.split('=').next().unwrap_or_default();
        if REFUSED.contains(&name) || (o.starts_with("-f") && !o.starts_with("--")) {
            return Err(EdgeError::new(
                400,
                "not-supported",
                "pg_dump writes its output to the answer: --file is not allowed",
            )
            .at(format!("$.opts[{i}]")));
        }
    }
    let clean = match obj.get("clean_output") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(EdgeError::parse_failed("expected a boolean").at("$.clean_output")),
    };
    let source = match obj.get("source") {
        None | Some(Json::Null) => "default".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(_) => return Err(EdgeError::parse_failed("expected a string").at("$.source")),
    };
    Ok(Args {
        opts,
        clean,
        source,
    })
}

/// Runs the dump; the SQL text.
pub async fn pg_dump(
    engine: &Engine,
    db: &impl Database,
    body: &Json,
) -> Result<String, EdgeError> {
    let args = decode(body)?;
    let loaded = engine.loaded();
    let source = loaded
        .md
        .metadata
        .sources
        .iter()
        .find(|s| s.name == args.source)
        .ok_or_else(|| {
            EdgeError::new(
                400,
                "not-exists",
                format!("source with name \"{}\" does not exist", args.source),
            )
            .at("$.source")
        })?;
    let connection = SourceConnection::parse(&source.configuration)
        .map_err(|(m, _)| EdgeError::new(400, "invalid-configuration", m))?;
    let target = crate::md::Target::Source(&connection);
    let text = db.pg_dump(Some(target), &args.opts).await.map_err(|e| {
        EdgeError::unexpected(format!("error while executing pg_dump: {}", e.message))
    })?;
    Ok(if args.clean { clean(&text) } else { text })
}

/// Hasura's `clean_output`.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let drop = line.trim().is_empty()
            || line.starts_with("--")
            || PREAMBLE.contains(&line)
            || is_event_trigger(line);
        if !drop {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `CREATE TRIGGER graphedge_… AFTER … EXECUTE FUNCTION graphedge.record_event(…);`
fn is_event_trigger(line: &str) -> bool {
    line.starts_with("CREATE TRIGGER ")
        && (line.contains(" graphedge_") || line.contains(" \"graphedge_"))
        && line.contains("EXECUTE FUNCTION graphedge.record_event(")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clean_output() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\
            SET check_function_bodies = false;\nCREATE SCHEMA public;\n\
            CREATE TABLE public.a (\n    id integer NOT NULL\n);\n\n\
            CREATE TRIGGER \"graphedge_ev_INSERT\" AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION graphedge.record_event('ev', '*', '');\n\
            CREATE TRIGGER mine AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION public.f();\n";
        assert_eq!(
            clean(dump),
            "SET check_function_bodies = false;\nCREATE TABLE public.a (\n    id integer NOT NULL\n);\n\
             CREATE TRIGGER mine AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION public.f();\n"
        );
    }

    #[test]
    fn decoding() {
        let check = |body: Json, want: Result<(&[&str], bool, &str), &str>| {
            let got = decode(&body)
                .map(|a| (a.opts, a.clean, a.source))
                .map_err(|e| {
                    e.to_api_json(false)["path"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                });
            let want = want
                .map(|(o, c, s)| (o.iter().map(|x| x.to_string()).collect(), c, s.to_string()))
                .map_err(str::to_string);
            assert_eq!(got, want, "{body}");
        };
        check(
            json!({"opts": ["-O", "--schema-only"], "clean_output": true}),
            Ok((&["-O", "--schema-only"], true, "default")),
        );
        check(
            json!({"opts": [], "source": "two"}),
            Ok((&[], false, "two")),
        );
        check(json!({"opts": ["-f", "/tmp/x"]}), Err("$.opts[0]"));
        check(json!({"opts": ["--file=/tmp/x"]}), Err("$.opts[0]"));
        check(json!({"opts": ["-f/tmp/x"]}), Err("$.opts[0]"));
        check(json!({"opts": [1]}), Err("$.opts[0]"));
        check(json!({"clean_output": true}), Err("$"));
    }
}
