//! Sources: where each source's database is and which one the engine serves. Host-independent:
//! this module reads Hasura's `connection_info` into a [`Connection`]; hosts resolve it to a
//! URL with their own settings ([`DatabaseUrl::resolve`], `from_env`) and keep the pools
//! (natively `scheduler/src/sources.rs`). Statements say where they go with
//! [`crate::db::Target`]: the metadata database or a source's connection.
//!
//! The engine serves every Postgres source in one schema ([`crate::resolve`]); the *served*
//! source (`default`, else the first) comes first and is where statements without a source go.
//! With no source at all it serves an empty schema. `customize` reads a source's
//! `customization`.
//!
//! `ops` holds the source operations (`pg_add_source`, `pg_drop_source`, `pg_update_source`,
//! `rename_source`).
pub mod customize;
pub(crate) mod ops;

use crate::raw::{Metadata, Source};
use serde_json::Value as Json;

/// A source's `connection_info.database_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A literal URL.
    Url(String),
    /// `{"from_env": "VAR"}`: the host's setting `VAR`.
    FromEnv(String),
    /// `{"connection_parameters": {username, password?, database, host, port}}`.
    Parameters {
        username: String,
        password: Option<String>,
        database: String,
        host: String,
        port: u16,
    },
}

impl DatabaseUrl {
    /// The URL, reading `from_env` variables through `env`.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        match self {
            DatabaseUrl::Url(u) => Ok(u.clone()),
            DatabaseUrl::FromEnv(var) => env(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("environment variable '{var}' not set")),
            DatabaseUrl::Parameters {
                username,
                password,
                database,
                host,
                port,
            } => {
                let auth = match password {
                    Some(p) => format!("{}:{}", encode(username), encode(p)),
                    None => encode(username),
                };
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                Ok(format!(
                    "postgres://{auth}@{host}:{port}/{}",
                    encode(database)
                ))
            }
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A source's connection (`configuration.connection_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub url: DatabaseUrl,
    /// `pool_settings.max_connections`.
    pub max_connections: Option<u32>,
    /// `isolation_level` (`read-committed`, `repeatable-read`, `serializable`).
    pub isolation_level: Option<String>,
    /// `use_prepared_statements` (accepted; the native pool always caches statements).
    pub use_prepared_statements: Option<bool>,
    /// Identifies the database (and pool) this connection reaches: equal keys, same pool.
    pub key: String,
}

const ISOLATION_LEVELS: &[&str] = &["read-committed", "repeatable-read", "serializable"];

impl Connection {
    /// Reads a source's `configuration`. Errors carry Hasura's message and the path below
    /// `configuration`.
    pub fn parse(configuration: &Json) -> Result<Connection, (String, &'static str)> {
        let info = configuration
            .get("connection_info")
            .ok_or(("key \"connection_info\" not found".to_string(), ""))?;
        let url = match info.get("database_url") {
            Some(Json::String(s)) => DatabaseUrl::Url(s.clone()),
            Some(Json::Object(o)) if o.contains_key("from_env") => match o.get("from_env") {
                Some(Json::String(v)) => DatabaseUrl::FromEnv(v.clone()),
                _ => return Err(bad("from_env: expected a string")),
            },
            Some(Json::Object(o)) if o.contains_key("connection_parameters") => {
                parameters(&o["connection_parameters"])?
            }
            Some(Json::Object(o)) if o.contains_key("dynamic_from_file") => {
                return Err(bad("dynamic_from_file is not supported"))
            }
            Some(_) => return Err(bad("expected a string, from_env or connection_parameters")),
            None => {
                return Err((
                    "key \"database_url\" not found".to_string(),
                    ".connection_info",
                ))
            }
        };
        let isolation_level = match info.get("isolation_level") {
            None | Some(Json::Null) => None,
            Some(Json::String(l)) if ISOLATION_LEVELS.contains(&l.as_str()) => Some(l.clone()),
            Some(_) => {
                return Err((
                    format!("expected one of {}", ISOLATION_LEVELS.join(", ")),
                    ".connection_info.isolation_level",
                ))
            }
        };
        let max_connections = info
            .get("pool_settings")
            .and_then(|p| p.get("max_connections"))
            .and_then(Json::as_u64)
            .map(|n| n.min(u32::MAX as u64) as u32);
        let key = match &url {
            DatabaseUrl::Url(u) => format!("url:{u}"),
            DatabaseUrl::FromEnv(v) => format!("env:{v}"),
            p @ DatabaseUrl::Parameters { .. } => {
                format!("url:{}", p.resolve(&|_| None).unwrap_or_default())
            }
        };
        Ok(Connection {
            url,
            max_connections,
            isolation_level,
            use_prepared_statements: info.get("use_prepared_statements").and_then(Json::as_bool),
            key,
        })
    }
}

fn bad(msg: &str) -> (String, &'static str) {
    (msg.to_string(), ".connection_info.database_url")
}

fn parameters(p: &Json) -> Result<DatabaseUrl, (String, &'static str)> {
    let text = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_string);
    let need = |k: &str| {
        text(k).ok_or((
            format!("key {k:?} not found"),
            ".connection_info.database_url.connection_parameters",
        ))
    };
    let port = match p.get("port") {
        Some(Json::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or(bad("connection_parameters.port: expected a port number"))?;
    Ok(DatabaseUrl::Parameters {
        username: need("username")?,
        password: text("password"),
        database: need("database")?,
        host: need("host")?,
        port,
    })
}

/// The source the engine serves: `default`, else the first one.
pub fn served(md: &Metadata) -> Option<&Source> {
    md.sources
        .iter()
        .find(|s| s.name == "default")
        .or_else(|| md.sources.first())
}

/// The served source's connection (`None`: no source, or its configuration is unreadable —
/// the host's own database then).
pub fn served_connection(md: &Metadata) -> Option<Connection> {
    served(md).and_then(|s| Connection::parse(&s.configuration).ok())
}

#[cfg(test)]
mod tests;
