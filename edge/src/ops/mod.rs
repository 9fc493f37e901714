//! The operational API a Hasura deployment calls besides GraphQL and metadata: which APIs are
//! served (`HASURA_GRAPHQL_ENABLED_APIS`), `/healthz`, `/v1/version`, `/v1alpha1/config`,
//! `/dev/*` and `/v1/graphql/explain` ([`explain`]), with the settings they read.
//!
//! | API (`ENABLED_APIS`) | paths |
//! |---|---|
//! | `graphql` | `/v1/graphql`, `/v1alpha1/graphql`, `/v1beta1/relay` |
//! | `metadata` | `/v1/metadata`, `/v1/query`, `/v2/query`, `/v1/graphql/explain`, `/v1alpha1/graphql/explain`, the console |
//! | `pgdump` | `/v1alpha1/pg_dump` |
//! | `config` | `/v1alpha1/config` |
//! | `developer` | `/dev/ekg`, `/dev/plan_cache`, `/dev/subscriptions`, `/dev/subscriptions/extended` |
//! | `metrics` | accepted (Hasura's `/v1/metrics` is an Enterprise endpoint) |
//!
//! A disabled API answers `404` `{"path":"$","error":"resource does not exist","code":"not-found"}`,
//! as any unknown path. The default is `metadata,graphql,pgdump,config,metrics`, plus
//! `developer` under `HASURA_GRAPHQL_DEV_MODE`.
use serde_json::{json, Value as Json};

use crate::cors::Cors;
use crate::reqlog::LogSettings;

pub mod explain;
pub mod pgdump;

/// The APIs of `HASURA_GRAPHQL_ENABLED_APIS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Metadata,
    Graphql,
    Pgdump,
    Developer,
    Config,
    Metrics,
}

impl Api {
    const ALL: [Api; 6] = [
        Api::Metadata,
        Api::Graphql,
        Api::Pgdump,
        Api::Developer,
        Api::Config,
        Api::Metrics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Api::Metadata => "metadata",
            Api::Graphql => "graphql",
            Api::Pgdump => "pgdump",
            Api::Developer => "developer",
            Api::Config => "config",
            Api::Metrics => "metrics",
        }
    }

    /// The API a path belongs to (`None`: always served, e.g. `/healthz`).
    pub fn of_path(path: &str) -> Option<Api> {
        match path {
            "/v1/graphql" | "/v1alpha1/graphql" | "/v1beta1/relay" => Some(Api::Graphql),
            "/v1/metadata"
            | "/v1/query"
            | "/v2/query"
            | "/v1/graphql/explain"
            | "/v1alpha1/graphql/explain"
            | "/api/swagger/json" => Some(Api::Metadata),
            "/v1alpha1/pg_dump" => Some(Api::Pgdump),
            "/v1alpha1/config" => Some(Api::Config),
            "/v1/metrics" => Some(Api::Metrics),
            p if p.starts_with("/api/rest/") => Some(Api::Graphql),
            p if p.starts_with("/api/1/table/") => Some(Api::Metadata),
            p if p == "/console" || p.starts_with("/console/") => Some(Api::Metadata),
            p if p.starts_with("/dev/") => Some(Api::Developer),
            _ => None,
        }
    }
}

/// The set of enabled APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apis(Vec<Api>);

impl Default for Apis {
    fn default() -> Self {
        Apis(vec![
            Api::Metadata,
            Api::Graphql,
            Api::Pgdump,
            Api::Config,
            Api::Metrics,
        ])
    }
}

impl Apis {
    /// Parses a `HASURA_GRAPHQL_ENABLED_APIS` value (case-insensitive, comma-separated).
    pub fn parse(s: &str) -> Result<Apis, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim) {
            let api = Api::ALL
                .into_iter()
                .find(|a| a.name().eq_ignore_ascii_case(item))
                .ok_or("Only expecting list of comma separated API types metadata,graphql,pgdump,developer,config,metrics")?;
            if !out.contains(&api) {
                out.push(api);
            }
        }
        Ok(Apis(out))
    }

    pub fn has(&self, api: Api) -> bool {
        self.0.contains(&api)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|a| a.name()).collect()
    }
}

/// The settings of the operational API (part of [`crate::Config`]).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `HASURA_GRAPHQL_ENABLED_APIS`.
    pub apis: Apis,
    /// `HASURA_GRAPHQL_CORS_DOMAIN` / `HASURA_GRAPHQL_DISABLE_CORS`.
    pub cors: Cors,
    /// `HASURA_GRAPHQL_ENABLED_LOG_TYPES`, `_LOG_LEVEL`, `_ENABLE_METADATA_QUERY_LOGGING`.
    pub log: LogSettings,
    /// `GRAPHEDGE_COMPRESS_RESPONSES` (default true): gzip answers the client accepts gzipped.
    pub compress: bool,
    /// `HASURA_GRAPHQL_AUTH_HOOK` is set (reported by `/v1alpha1/config`).
    pub auth_hook: bool,
    /// `HASURA_GRAPHQL_CONSOLE_ASSETS_DIR`.
    pub console_assets_dir: Option<String>,
    /// `HASURA_GRAPHQL_EXPERIMENTAL_FEATURES`.
    pub experimental_features: Vec<String>,
    /// `HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION` (default `hasura-default`).
    pub naming_convention: String,
    /// `HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS`.
    pub remote_schema_permissions: bool,
    /// `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE` / `_REFETCH_INTERVAL` (ms).
    pub live_queries: (u64, u64),
    /// `HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE` / `_REFETCH_INTERVAL` (ms).
    pub streaming_queries: (u64, u64),
    /// `/v1alpha1/config`'s `jwt`: `{claims_namespace, claims_format, claims_map}` per secret.
    pub jwt_info: Vec<Json>,
    /// `HASURA_GRAPHQL_METRICS_SECRET`: `/v1/metrics` wants `Authorization: Bearer <it>`.
    pub metrics_secret: Option<String>,
}

impl Settings {
    /// Reads the settings; `dev_mode` adds `developer` to the default APIs.
    pub fn from_env(
        get: &impl Fn(&str) -> Option<String>,
        dev_mode: bool,
    ) -> Result<Settings, String> {
        let nonempty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match nonempty(name) {
                None => Ok(default),
                Some(v) => crate::config::parse_bool(&v)
                    .ok_or_else(|| format!("{name}: expected true or false, got {v:?}")),
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match nonempty(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name}: expected a number, got {v:?}")),
            }
        };
        let apis = match nonempty("HASURA_GRAPHQL_ENABLED_APIS") {
            Some(v) => Apis::parse(&v).map_err(|e| format!("HASURA_GRAPHQL_ENABLED_APIS: {e}"))?,
            None if dev_mode => {
                let mut a = Apis::default();
                a.0.push(Api::Developer);
                a
            }
            None => Apis::default(),
        };
        Ok(Settings {
            apis,
            cors: Cors::from_env(get)?,
            log: LogSettings::from_env(get)?,
            compress: flag("GRAPHEDGE_COMPRESS_RESPONSES", true)?,
            auth_hook: nonempty("HASURA_GRAPHQL_AUTH_HOOK").is_some(),
            console_assets_dir: nonempty("HASURA_GRAPHQL_CONSOLE_ASSETS_DIR"),
            experimental_features: nonempty("HASURA_GRAPHQL_EXPERIMENTAL_FEATURES")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            naming_convention: nonempty("HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION")
                .unwrap_or_else(|| "hasura-default".into()),
            remote_schema_permissions: flag(
                "HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS",
                false,
            )?,
            live_queries: (
                number("HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE", 100)?,
                number(
                    "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL",
                    1000,
                )?,
            ),
            streaming_queries: (
                number(
                    "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE",
                    100,
                )?,
                number(
                    "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL",
                    1000,
                )?,
            ),
            jwt_info: Vec::new(),
            metrics_secret: nonempty("HASURA_GRAPHQL_METRICS_SECRET"),
        })
    }
}

/// `/v1alpha1/config`'s `jwt` entry of one JWT secret config (Hasura's `JWTInfo`: a
/// `claims_map` secret reports the default namespace and format).
pub fn jwt_info(secret: &Json) -> Json {
    let ns = secret
        .get("claims_namespace")
        .or_else(|| secret.get("claims_namespace_path"))
        .and_then(Json::as_str)
        .unwrap_or("https://hasura.io/jwt/claims");
    match secret.get("claims_map").filter(|m| !m.is_null()) {
        Some(map) => json!({
            "claims_namespace": "https://hasura.io/jwt/claims",
            "claims_format": "json",
            "claims_map": map,
        }),
        None => json!({
            "claims_namespace": ns,
            "claims_format": secret.get("claims_format").and_then(Json::as_str).unwrap_or("json"),
            "claims_map": null,
        }),
    }
}

/// The body of `GET /v1alpha1/config` (Hasura's `ServerConfig`).
pub fn config_json(config: &crate::Config) -> Json {
    let s = &config.ops;
    let seconds = |ms: u64| {
        if ms % 1000 == 0 {
            json!(ms / 1000)
        } else {
            json!(ms as f64 / 1000.0)
        }
    };
    json!({
        "version": crate::ops::version(),
        "is_function_permissions_inferred": config.infer_function_permissions,
        "is_remote_schema_permissions_enabled": s.remote_schema_permissions,
        "is_admin_secret_set": config.auth_enabled(),
        "is_auth_hook_set": s.auth_hook && config.auth_enabled() && config.jwt_secrets.is_empty(),
        "is_jwt_set": config.auth_enabled() && !config.jwt_secrets.is_empty(),
        "jwt": s.jwt_info,
        "is_allow_list_enabled": config.enable_allowlist,
        "live_queries": {"batch_size": s.live_queries.0, "refetch_delay": seconds(s.live_queries.1)},
        "streaming_queries": {"batch_size": s.streaming_queries.0, "refetch_delay": seconds(s.streaming_queries.1)},
        "console_assets_dir": s.console_assets_dir,
        "experimental_features": s.experimental_features,
        "is_prometheus_metrics_enabled": s.apis.has(Api::Metrics),
        "default_naming_convention": s.naming_convention,
        "feature_flags": [],
        "is_apollo_federation_enabled": false,
    })
}

/// The server version reported by `/v1/version` and `/v1alpha1/config`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `/healthz`' answer: `OK`; `WARN: inconsistent objects in schema` (200) or, with
/// `?strict=true`, `ERROR: inconsistent objects in schema` (500) when the metadata has
/// inconsistencies; `ERROR` (500) when the database does not answer.
pub async fn healthz(
    engine: &crate::Engine,
    db: &impl crate::md::Database,
    query: &str,
) -> crate::Response {
    let strict = query
        .split('&')
        .any(|kv| kv.eq_ignore_ascii_case("strict=true"));
    let probe = crate::md::Statement {
        sql: "SELECT 'ok'::text".into(),
        params: Vec::new(),
    };
    let text = |status, body: &str| crate::Response::new(status, "text/plain; charset=utf-8", body);
    if db.query_one(&probe).await.is_err() {
        return text(500, "ERROR");
    }
    let inconsistent = !engine.loaded().md.inconsistencies.is_empty();
    match (inconsistent, strict) {
        (false, _) => text(200, "OK"),
        (true, false) => text(200, "WARN: inconsistent objects in schema"),
        (true, true) => text(500, "ERROR: inconsistent objects in schema"),
    }
}

/// The admin-only `/dev/*` answers (`None`: no such developer endpoint).
pub fn dev(engine: &crate::Engine, path: &str) -> Option<Json> {
    match path {
        // EKG's sample format: `{group: {metric: {type, val}}}` (c = counter).
        "/dev/ekg" => {
            let (hits, misses) = engine.cache_stats();
            Some(json!({"graphedge": {
                "compiles": {"type": "c", "val": engine.compile_count()},
                "plan_cache_hits": {"type": "c", "val": hits},
                "plan_cache_misses": {"type": "c", "val": misses},
            }}))
        }
        // Deprecated in Hasura too: always null.
        "/dev/plan_cache" => Some(Json::Null),
        // The host's pollers (none on a host that serves no subscriptions).
        "/dev/subscriptions" | "/dev/subscriptions/extended" => {
            let extended = path.ends_with("/extended");
            Some(
                engine
                    .subscriptions_dump
                    .as_ref()
                    .map_or_else(|| json!([]), |d| d(extended)),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)], dev_mode: bool) -> Result<Settings, String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_env(&|k: &str| m.get(k).cloned(), dev_mode)
    }

    /// `(ENABLED_APIS or None, dev mode, path, served)`.
    fn check(cases: &[(Option<&str>, bool, &str, bool)]) {
        for (apis, dev_mode, path, served) in cases {
            let env: Vec<(&str, &str)> = apis
                .map(|a| vec![("HASURA_GRAPHQL_ENABLED_APIS", a)])
                .unwrap_or_default();
            let s = settings(&env, *dev_mode).unwrap();
            let ok = Api::of_path(path).is_none_or(|a| s.apis.has(a));
            assert_eq!(ok, *served, "{apis:?} dev={dev_mode} {path}");
        }
    }

    #[test]
    fn enabled_apis_gate_paths() {
        check(&[
            (None, false, "/v1/graphql", true),
            (None, false, "/v1/query", true),
            (None, false, "/v1alpha1/config", true),
            (None, false, "/dev/ekg", false),
            (None, true, "/dev/ekg", true),
            (Some("graphql"), true, "/dev/ekg", false),
            (Some("graphql"), false, "/v1/query", false),
            (Some("graphql"), false, "/v1/graphql/explain", false),
            (Some("graphql"), false, "/api/1/table/foo/select", false),
            (Some("graphql"), false, "/healthz", true),
            (Some("METADATA, developer"), false, "/v1/graphql", false),
            (Some("METADATA, developer"), false, "/v1beta1/relay", false),
            (
                Some("METADATA, developer"),
                false,
                "/dev/subscriptions",
                true,
            ),
            (Some("metadata"), false, "/v1alpha1/config", false),
        ]);
        assert!(settings(&[("HASURA_GRAPHQL_ENABLED_APIS", "graphql,nope")], false).is_err());
        assert!(settings(
            &[("HASURA_GRAPHQL_ENABLED_LOG_TYPES", "http-log,nope")],
            false
        )
        .is_err());
        assert!(settings(&[("HASURA_GRAPHQL_LOG_LEVEL", "loud")], false).is_err());
    }

    #[test]
    fn jwt_info_like_hasura() {
        let cases = [
            (
                json!({"type": "HS256", "key": "k"}),
                json!({"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json", "claims_map": null}),
            ),
            (
                json!({"type": "HS256", "key": "k", "claims_namespace": "https://example.org/jwt/claims", "claims_format": "stringified_json"}),
                json!({"claims_namespace": "https://example.org/jwt/claims", "claims_format": "stringified_json", "claims_map": null}),
            ),
            (
                json!({"type": "HS256", "key": "k", "claims_map": {"x-hasura-user-id": {"path": "$.sub"}}}),
                json!({"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json", "claims_map": {"x-hasura-user-id": {"path": "$.sub"}}}),
            ),
        ];
        for (secret, info) in cases {
            assert_eq!(jwt_info(&secret), info);
        }
    }
}
