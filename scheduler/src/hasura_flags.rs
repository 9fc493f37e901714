//! Hasura v2 `graphql-engine` flags that graphedge accepts so that a Hasura command line starts
//! it unchanged (`graphql-engine --metadata-database-url URL serve --enable-telemetry=false ...`).
//! Each is the twin of its `HASURA_GRAPHQL_*` variable like every flag of [`crate::config`];
//! the ones graphedge does not act on (yet) are logged with a warning at start-up, never refused.

/// One accepted Hasura flag: `(name, environment variable, switch)`; a switch may be given
/// alone (`--enable-telemetry`, meaning `true`) or as `--flag=value`.
pub type HasuraFlag = (&'static str, &'static str, bool);

/// Hasura's `graphql-engine` and `serve` flags that graphedge accepts without acting on them.
pub const IGNORED: &[HasuraFlag] = &[
    // Global flags of the v1 single-database command line (a `--database-url` replaces them).
    ("host", "HASURA_GRAPHQL_PG_HOST", false),
    ("port", "HASURA_GRAPHQL_PG_PORT", false),
    ("user", "HASURA_GRAPHQL_PG_USER", false),
    ("password", "HASURA_GRAPHQL_PG_PASSWORD", false),
    ("dbname", "HASURA_GRAPHQL_PG_DBNAME", false),
    (
        "pg-connection-options",
        "HASURA_GRAPHQL_PG_CONNECTION_OPTIONS",
        false,
    ),
    ("retries", "HASURA_GRAPHQL_NO_OF_RETRIES", false),
    // `serve`.
    ("enable-telemetry", "HASURA_GRAPHQL_ENABLE_TELEMETRY", true),
    ("pg-stripes", "HASURA_GRAPHQL_PG_STRIPES", false),
    ("pg-timeout", "HASURA_GRAPHQL_PG_TIMEOUT", false),
    ("pg-conn-lifetime", "HASURA_GRAPHQL_PG_CONN_LIFETIME", false),
    ("pg-pool-timeout", "HASURA_GRAPHQL_PG_POOL_TIMEOUT", false),
    (
        "use-prepared-statements",
        "HASURA_GRAPHQL_USE_PREPARED_STATEMENTS",
        true,
    ),
    ("tx-iso", "HASURA_GRAPHQL_TX_ISOLATION", false),
    ("auth-hook", "HASURA_GRAPHQL_AUTH_HOOK", true),
    ("auth-hook-mode", "HASURA_GRAPHQL_AUTH_HOOK_MODE", true),
    (
        "auth-hook-send-request-body",
        "HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY",
        true,
    ),
    (
        "console-assets-dir",
        "HASURA_GRAPHQL_CONSOLE_ASSETS_DIR",
        false,
    ),
    (
        "console-sentry-dsn",
        "HASURA_GRAPHQL_CONSOLE_SENTRY_DSN",
        false,
    ),
    ("ws-read-cookie", "HASURA_GRAPHQL_WS_READ_COOKIE", true),
    (
        "live-queries-multiplexed-refetch-interval",
        "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL",
        false,
    ),
    (
        "live-queries-multiplexed-batch-size",
        "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE",
        false,
    ),
    (
        "streaming-queries-multiplexed-refetch-interval",
        "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL",
        false,
    ),
    (
        "streaming-queries-multiplexed-batch-size",
        "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE",
        false,
    ),
    (
        "async-actions-fetch-interval",
        "HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_INTERVAL",
        false,
    ),
    (
        "async-actions-fetch-batch-size",
        "HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_BATCH_SIZE",
        false,
    ),
    (
        "enable-remote-schema-permissions",
        "HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS",
        true,
    ),
    (
        "schema-sync-poll-interval",
        "HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL",
        false,
    ),
    (
        "experimental-features",
        "HASURA_GRAPHQL_EXPERIMENTAL_FEATURES",
        false,
    ),
    (
        "events-fetch-interval-seconds",
        "HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL_SECONDS",
        false,
    ),
    (
        "websocket-keepalive",
        "HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE",
        false,
    ),
    (
        "websocket-connection-init-timeout",
        "HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT",
        false,
    ),
    (
        "enable-maintenance-mode",
        "HASURA_GRAPHQL_ENABLE_MAINTENANCE_MODE",
        true,
    ),
    (
        "default-naming-convention",
        "HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION",
        false,
    ),
    (
        "metadata-defaults",
        "HASURA_GRAPHQL_METADATA_DEFAULTS",
        false,
    ),
    (
        "enable-apollo-federation",
        "HASURA_GRAPHQL_ENABLE_APOLLO_FEDERATION",
        true,
    ),
    (
        "remote-schema-prioritize-data",
        "HASURA_GRAPHQL_REMOTE_SCHEMA_PRIORITIZE_DATA",
        true,
    ),
    (
        "remote-schema-skip-nulls",
        "HASURA_GRAPHQL_REMOTE_SCHEMA_SKIP_NULLS",
        true,
    ),
    (
        "configured-header-precedence",
        "HASURA_GRAPHQL_CONFIGURED_HEADER_PRECEDENCE",
        true,
    ),
    (
        "close-websockets-on-metadata-change",
        "HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE",
        true,
    ),
    (
        "max-total-header-length",
        "HASURA_GRAPHQL_MAX_TOTAL_HEADER_LENGTH",
        false,
    ),
    (
        "disable-introspection",
        "HASURA_GRAPHQL_DISABLE_INTROSPECTION",
        true,
    ),
    (
        "metadata-database-extensions-schema",
        "HASURA_GRAPHQL_METADATA_DATABASE_EXTENSIONS_SCHEMA",
        false,
    ),
    ("server-timeout", "HASURA_GRAPHQL_SERVER_TIMEOUT", false),
    (
        "trigger-events-extra-headers",
        "HASURA_GRAPHQL_TRIGGER_EVENTS_EXTRA_HEADERS",
        false,
    ),
    (
        "persisted-queries",
        "HASURA_GRAPHQL_PERSISTED_QUERIES",
        false,
    ),
    (
        "persisted-queries-ttl",
        "HASURA_GRAPHQL_PERSISTED_QUERIES_TTL",
        false,
    ),
    (
        "enable-error-log-level-for-trigger-errors",
        "HASURA_GRAPHQL_ENABLE_ERROR_LOG_LEVEL_FOR_TRIGGER_ERRORS",
        true,
    ),
    (
        "async-actions-fetch-interval-seconds",
        "HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_INTERVAL_SECONDS",
        false,
    ),
];

/// The accepted-but-ignored flag named `name`.
pub fn find(name: &str) -> Option<&'static HasuraFlag> {
    IGNORED.iter().find(|f| f.0 == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_not_graphedge_flags() {
        let mut names: Vec<_> = super::IGNORED.iter().map(|f| f.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::IGNORED.len());
        for n in names {
            assert!(
                crate::config::FLAGS.iter().all(|f| f.name != n),
                "{n} is a graphedge flag"
            );
        }
    }
}
