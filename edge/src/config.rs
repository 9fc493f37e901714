//! Engine configuration, read from Hasura's environment variables so a Hasura user can swap
//! binaries. The host passes a lookup function (`std::env::var` natively, the Worker's `env`
//! at the edge), so this module never touches the process environment itself.
use crate::auth::jwt::JwtSecret;

/// Everything the edge needs to know about how it was configured.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `HASURA_GRAPHQL_ADMIN_SECRET` and/or `HASURA_GRAPHQL_ADMIN_SECRETS` (any matches).
    /// Empty: no auth at all, role headers are trusted.
    pub admin_secrets: Vec<String>,
    /// `HASURA_GRAPHQL_JWT_SECRET` and/or `HASURA_GRAPHQL_JWT_SECRETS`.
    pub jwt_secrets: Vec<JwtSecret>,
    /// `HASURA_GRAPHQL_UNAUTHORIZED_ROLE`.
    pub unauthorized_role: Option<String>,
    /// `HASURA_GRAPHQL_AUTH_HOOK` and its mode (see [`crate::auth::webhook`]).
    pub auth_hook: Option<crate::auth::webhook::AuthHook>,
    /// `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`.
    pub stringify_numeric: bool,
    /// `HASURA_GRAPHQL_ENABLE_CONSOLE` (default false, `graphedge dev` turns it on).
    pub enable_console: bool,
    /// `HASURA_GRAPHQL_ENABLE_ALLOWLIST`.
    pub enable_allowlist: bool,
    /// `HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS` (default true).
    pub infer_function_permissions: bool,
    /// `HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS` (default false): roles use a remote
    /// schema only with a permission on it.
    pub remote_schema_permissions: bool,
    /// `HASURA_GRAPHQL_REMOTE_SCHEMA_PRIORITIZE_DATA` (default false): a remote's answer with
    /// both `data` and `errors` gives its data, without the errors.
    pub remote_prioritize_data: bool,
    /// `HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE` (default false): a null comparison operand in
    /// a `where` is no condition instead of an error.
    pub null_collapse: bool,
    /// `HASURA_GRAPHQL_DEV_MODE`: internal error details for every role, not only admin.
    pub dev_mode: bool,
    /// `HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS` (default true): internal error details for admin.
    pub admin_internal_errors: bool,
    /// `GRAPHEDGE_MAX_BODY_BYTES` (default [`DEFAULT_MAX_BODY`]): the largest request body
    /// accepted; larger ones get 413 (natively before the body is read).
    pub max_body_bytes: usize,
    /// `GRAPHEDGE_COALESCE_QUERIES` (default true): identical concurrent query requests share
    /// one execution that has not been sent yet (see [`crate::coalesce`]).
    pub coalesce_queries: bool,
    /// `GRAPHEDGE_BATCH_BUDGET_US` (default [`crate::coalesce::BATCH_BUDGET`], 2000; `0`: no
    /// batching): what one batch of concurrent requests with other parameters may cost, by
    /// their statement's measured time per row (see [`crate::coalesce`]).
    pub batch_budget: std::time::Duration,
    /// `GRAPHEDGE_RESPONSE_CACHE_BYTES` (default [`crate::response_cache::DEFAULT_BYTES`];
    /// `0`: no memory tier; a host's shared cache still keeps them): memory for the answers of `@cached` queries.
    pub response_cache_bytes: usize,
    /// `HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL` (default 3600): the longest `@cached` ttl, seconds.
    pub cache_max_ttl: u64,
    /// The engine's own bounds (`GRAPHEDGE_MAX_FIELDS`, ..., see [`crate::limits`]).
    pub limits: crate::limits::EngineLimits,
    /// The operational API: enabled APIs, CORS, logging, compression, what `/v1alpha1/config`
    /// reports (see [`crate::ops`]).
    pub ops: crate::ops::Settings,
}

/// Default maximum request body: 16 MiB. Generous: Hasura's own suite never comes close, and
/// a 16 MiB JSON body already costs a few hundred MB once parsed.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

impl Config {
    /// A configuration with Hasura's defaults (no auth, console off, function permissions
    /// inferred).
    pub fn new() -> Config {
        Config {
            infer_function_permissions: true,
            admin_internal_errors: true,
            max_body_bytes: DEFAULT_MAX_BODY,
            coalesce_queries: true,
            batch_budget: crate::coalesce::BATCH_BUDGET,
            response_cache_bytes: crate::response_cache::DEFAULT_BYTES,
            cache_max_ttl: crate::response_cache::DEFAULT_MAX_TTL,
            ops: crate::ops::Settings {
                compress: true,
                naming_convention: "hasura-default".into(),
                live_queries: (100, 1000),
                streaming_queries: (100, 1000),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Reads Hasura's environment variables through `get`. Errors name the variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut c = Config::new();
        let nonempty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut jwt_info = Vec::new();
        if let Some(s) = nonempty("HASURA_GRAPHQL_ADMIN_SECRET") {
            c.admin_secrets.push(s);
        }
        if let Some(s) = nonempty("HASURA_GRAPHQL_ADMIN_SECRETS") {
            let list: Vec<String> = serde_json::from_str(&s).map_err(|e| {
                format!("HASURA_GRAPHQL_ADMIN_SECRETS: expected a JSON list of strings: {e}")
            })?;
            c.admin_secrets
                .extend(list.into_iter().filter(|s| !s.is_empty()));
        }
        if let Some(s) = nonempty("HASURA_GRAPHQL_JWT_SECRET") {
            let v: serde_json::Value = serde_json::from_str(&s)
                .map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRET: invalid JSON: {e}"))?;
            c.jwt_secrets.push(
                JwtSecret::from_json(&v).map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRET: {e}"))?,
            );
            jwt_info.push(crate::ops::jwt_info(&v));
        }
        if let Some(s) = nonempty("HASURA_GRAPHQL_JWT_SECRETS") {
            let v: serde_json::Value = serde_json::from_str(&s)
                .map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRETS: invalid JSON: {e}"))?;
            let list = v
                .as_array()
                .ok_or("HASURA_GRAPHQL_JWT_SECRETS: expected a JSON list")?;
            for item in list {
                c.jwt_secrets.push(
                    JwtSecret::from_json(item)
                        .map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRETS: {e}"))?,
                );
                jwt_info.push(crate::ops::jwt_info(item));
            }
        }
        c.unauthorized_role = nonempty("HASURA_GRAPHQL_UNAUTHORIZED_ROLE");
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match nonempty(name) {
                None => Ok(default),
                Some(v) => parse_bool(&v)
                    .ok_or_else(|| format!("{name}: expected true or false, got {v:?}")),
            }
        };
        c.stringify_numeric = flag("HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES", false)?;
        c.enable_console = flag("HASURA_GRAPHQL_ENABLE_CONSOLE", false)?;
        c.enable_allowlist = flag("HASURA_GRAPHQL_ENABLE_ALLOWLIST", false)?;
        c.infer_function_permissions = flag("HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS", true)?;
        c.null_collapse = flag("HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE", false)?;
        c.remote_schema_permissions =
            flag("HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS", false)?;
        c.remote_prioritize_data = flag("HASURA_GRAPHQL_REMOTE_SCHEMA_PRIORITIZE_DATA", false)?;
        c.dev_mode = flag("HASURA_GRAPHQL_DEV_MODE", false)?;
        c.admin_internal_errors = flag("HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS", true)?;
        c.coalesce_queries = flag("GRAPHEDGE_COALESCE_QUERIES", true)?;
        if let Some(v) = nonempty("GRAPHEDGE_BATCH_BUDGET_US") {
            let us = v.trim().parse::<u64>().map_err(|_| {
                format!("GRAPHEDGE_BATCH_BUDGET_US: expected microseconds, got {v:?}")
            })?;
            c.batch_budget = std::time::Duration::from_micros(us);
        }
        if let Some(v) = nonempty("GRAPHEDGE_MAX_BODY_BYTES") {
            c.max_body_bytes = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("GRAPHEDGE_MAX_BODY_BYTES: expected a positive number of bytes: {v}")
                })?;
        }
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match nonempty(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name}: expected a non-negative number: {v}")),
            }
        };
        c.response_cache_bytes = number(
            "GRAPHEDGE_RESPONSE_CACHE_BYTES",
            crate::response_cache::DEFAULT_BYTES as u64,
        )? as usize;
        c.cache_max_ttl = number(
            "HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL",
            crate::response_cache::DEFAULT_MAX_TTL,
        )?;
        c.limits = crate::limits::EngineLimits::from_env(&get)?;
        c.ops = crate::ops::Settings::from_env(&get, c.dev_mode)?;
        c.ops.jwt_info = jwt_info;
        if c.admin_secrets.is_empty() && !c.jwt_secrets.is_empty() {
            return Err(
                "HASURA_GRAPHQL_JWT_SECRET requires HASURA_GRAPHQL_ADMIN_SECRET to be set".into(),
            );
        }
        c.auth_hook = crate::auth::webhook::AuthHook::from_env(&get)?;
        if c.auth_hook.is_some() {
            // Hasura's `setupAuthMode` refusals.
            if c.admin_secrets.is_empty() {
                return Err("--auth-hook (HASURA_GRAPHQL_AUTH_HOOK) requires --admin-secret \
                    (HASURA_GRAPHQL_ADMIN_SECRET) or --access-key (HASURA_GRAPHQL_ACCESS_KEY) to be set"
                    .into());
            }
            if !c.jwt_secrets.is_empty() {
                return Err("Both webhook and JWT mode cannot be enabled at the same time".into());
            }
            if c.unauthorized_role.is_some() {
                return Err(
                    "--unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) is not allowed \
                    when --auth-hook (HASURA_GRAPHQL_AUTH_HOOK) is set"
                        .into(),
                );
            }
        }
        Ok(c)
    }

    /// What the metadata crate needs of this configuration.
    pub fn metadata_config(&self) -> crate::md::MetadataConfig {
        crate::md::MetadataConfig {
            infer_function_permissions: self.infer_function_permissions,
            naming_conventions: self
                .ops
                .experimental_features
                .iter()
                .any(|f| f == "naming_convention"),
            default_naming_convention: self.ops.naming_convention.clone(),
            stringify_numeric: self.stringify_numeric,
            remote_schema_permissions: self.ops.remote_schema_permissions,
            apollo_federation: self
                .ops
                .experimental_features
                .iter()
                .any(|f| f == "apollo_federation"),
        }
    }

    /// True when requests must authenticate (an admin secret is configured).
    pub fn auth_enabled(&self) -> bool {
        !self.admin_secrets.is_empty()
    }
}

/// Hasura's boolean environment values.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "on" => Some(true),
        "false" | "f" | "no" | "n" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A setting holding a positive integer (`unit` names it in the error: "seconds", …): the
/// default when unset or empty.
pub fn positive_setting(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    unit: &str,
) -> Result<u64, String> {
    match get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name}: expected a positive {unit}, got {v:?}")),
    }
}

/// A boolean setting ([`parse_bool`]): the default when unset or empty.
pub fn bool_setting(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, String> {
    match get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => {
            parse_bool(&v).ok_or_else(|| format!("{name}: expected true or false, got {v:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::from_env(env(&[])).unwrap();
        assert!(!c.auth_enabled());
        assert!(c.infer_function_permissions);
        assert!(!c.enable_console && !c.enable_allowlist && !c.stringify_numeric);
        assert!(c.coalesce_queries);
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY);
    }

    #[test]
    fn reads_everything() {
        let c = Config::from_env(env(&[
            ("HASURA_GRAPHQL_ADMIN_SECRET", "s1"),
            ("HASURA_GRAPHQL_ADMIN_SECRETS", r#"["s2","s3"]"#),
            (
                "HASURA_GRAPHQL_JWT_SECRET",
                r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef"}"#,
            ),
            ("HASURA_GRAPHQL_UNAUTHORIZED_ROLE", "anonymous"),
            ("HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES", "true"),
            ("HASURA_GRAPHQL_ENABLE_ALLOWLIST", "true"),
            ("HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS", "false"),
            ("GRAPHEDGE_COALESCE_QUERIES", "false"),
            ("GRAPHEDGE_MAX_BODY_BYTES", "1000"),
        ]))
        .unwrap();
        assert_eq!(c.admin_secrets, vec!["s1", "s2", "s3"]);
        assert_eq!(c.jwt_secrets.len(), 1);
        assert_eq!(c.unauthorized_role.as_deref(), Some("anonymous"));
        assert!(c.stringify_numeric && c.enable_allowlist && !c.infer_function_permissions);
        assert!(!c.coalesce_queries);
        assert_eq!(c.max_body_bytes, 1000);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Config::from_env(env(&[("HASURA_GRAPHQL_ENABLE_CONSOLE", "maybe")])).is_err());
        assert!(Config::from_env(env(&[("HASURA_GRAPHQL_ADMIN_SECRETS", "nope")])).is_err());
        for bad in ["0", "-1", "16M"] {
            assert!(Config::from_env(env(&[("GRAPHEDGE_MAX_BODY_BYTES", bad)])).is_err());
        }
        assert!(Config::from_env(env(&[
            ("HASURA_GRAPHQL_ADMIN_SECRET", "s"),
            ("HASURA_GRAPHQL_JWT_SECRET", r#"{"type":"XX1","key":"k"}"#)
        ]))
        .is_err());
    }
}
