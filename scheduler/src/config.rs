//! Command line of the `graphedge` binary: subcommands, flags that mirror Hasura's
//! `graphql-engine` flags, and Hasura's `HASURA_GRAPHQL_*` environment variables.
//!
//! Every flag is the twin of one environment variable; a flag given on the command line wins over
//! the variable. [`Cli::lookup`] is the merged view, handed to `graphedge_edge::Config::from_env`
//! so the edge reads exactly the same settings.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::busy_poll::{DEFAULT_WINDOW, MAX_WINDOW};

/// One `graphedge` flag and the environment variable it overrides.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub env: &'static str,
    /// A switch may be given alone (`--enable-console`, meaning `true`) or as `--flag=value`.
    pub switch: bool,
    pub help: &'static str,
}

/// All flags, in `--help` order.
pub const FLAGS: &[Flag] = &[
    Flag {
        name: "metadata-database-url",
        env: "HASURA_GRAPHQL_METADATA_DATABASE_URL",
        switch: false,
        help: "Postgres URL of the database that stores the metadata (default: the database URL)",
    },
    Flag {
        name: "database-url",
        env: "HASURA_GRAPHQL_DATABASE_URL",
        switch: false,
        help: "Postgres URL of the `default` source (postgres://user:password@host:port/database)",
    },
    Flag {
        name: "server-host",
        env: "HASURA_GRAPHQL_SERVER_HOST",
        switch: false,
        help: "address to listen on (default 0.0.0.0, `*` means all; 127.0.0.1 for `dev`)",
    },
    Flag {
        name: "server-port",
        env: "HASURA_GRAPHQL_SERVER_PORT",
        switch: false,
        help: "port to listen on (default 8080)",
    },
    Flag {
        name: "admin-secret",
        env: "HASURA_GRAPHQL_ADMIN_SECRET",
        switch: false,
        help: "admin secret; when set, requests need it or a JWT",
    },
    Flag {
        name: "unauthorized-role",
        env: "HASURA_GRAPHQL_UNAUTHORIZED_ROLE",
        switch: false,
        help: "role of requests without credentials when an admin secret is set",
    },
    Flag {
        name: "jwt-secret",
        env: "HASURA_GRAPHQL_JWT_SECRET",
        switch: false,
        help: "JWT secret as Hasura's JSON ({\"type\":\"HS256\",\"key\":\"...\"})",
    },
    Flag {
        name: "stringify-numeric-types",
        env: "HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES",
        switch: true,
        help: "return bigint and numeric values as JSON strings",
    },
    Flag {
        name: "enable-console",
        env: "HASURA_GRAPHQL_ENABLE_CONSOLE",
        switch: true,
        help: "serve the GraphiQL console at /console",
    },
    Flag {
        name: "enable-allowlist",
        env: "HASURA_GRAPHQL_ENABLE_ALLOWLIST",
        switch: true,
        help: "only allow queries in the allow list (admin excepted)",
    },
    Flag {
        name: "infer-function-permissions",
        env: "HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS",
        switch: true,
        help: "infer function permissions from table permissions (default true)",
    },
    Flag {
        name: "v1-boolean-null-collapse",
        env: "HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE",
        switch: true,
        help: "a null comparison operand in `where` is no condition (Hasura v1) instead of an error",
    },
    Flag {
        name: "dev-mode",
        env: "HASURA_GRAPHQL_DEV_MODE",
        switch: true,
        help: "include internal error details in responses",
    },
    // The operational API (edge/src/ops): enabled APIs, CORS, log lines.
    Flag {
        name: "enabled-apis",
        env: "HASURA_GRAPHQL_ENABLED_APIS",
        switch: false,
        help: "APIs served: metadata,graphql,pgdump,config,metrics (default; + developer in dev mode)",
    },
    Flag {
        name: "cors-domain",
        env: "HASURA_GRAPHQL_CORS_DOMAIN",
        switch: false,
        help: "origins answered with CORS headers: `*` (default) or a list (http://*.foo.com, ...)",
    },
    Flag {
        name: "disable-cors",
        env: "HASURA_GRAPHQL_DISABLE_CORS",
        switch: true,
        help: "send no CORS headers at all",
    },
    Flag {
        name: "enabled-log-types",
        env: "HASURA_GRAPHQL_ENABLED_LOG_TYPES",
        switch: false,
        help: "log types written (default startup,http-log,webhook-log,websocket-log,jwk-refresh-log)",
    },
    Flag {
        name: "log-level",
        env: "HASURA_GRAPHQL_LOG_LEVEL",
        switch: false,
        help: "debug, info (default), warn or error",
    },
    Flag {
        name: "enable-metadata-query-logging",
        env: "HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING",
        switch: true,
        help: "log metadata requests in http-log's `query` (query-log enabled)",
    },
    Flag {
        name: "admin-internal-errors",
        env: "HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS",
        switch: true,
        help: "include internal error details in the admin's responses (default true)",
    },
    Flag {
        name: "pg-connections",
        env: "HASURA_GRAPHQL_PG_CONNECTIONS",
        switch: false,
        help: "maximum number of Postgres connections (default 50)",
    },
    Flag {
        name: "pg-pipeline-connections",
        env: "GRAPHEDGE_PG_PIPELINE_CONNECTIONS",
        switch: false,
        help: "of those, connections shared by pipelined fast reads (default: CPU cores, at most 8; 0 = off)",
    },
    Flag {
        name: "coalesce-queries",
        env: "GRAPHEDGE_COALESCE_QUERIES",
        switch: true,
        help: "identical concurrent queries share one database run not yet sent (default true)",
    },
    Flag {
        name: "batch-budget-us",
        env: "GRAPHEDGE_BATCH_BUDGET_US",
        switch: false,
        help: "concurrent queries with other variables run as one batched statement costing at most this, by time per row (default 2000; 0 = off)",
    },
    Flag {
        name: "max-body-bytes",
        env: "GRAPHEDGE_MAX_BODY_BYTES",
        switch: false,
        help: "largest request body accepted; larger ones get 413 (default 16777216)",
    },
    Flag {
        name: "http-threads",
        env: "GRAPHEDGE_HTTP_THREADS",
        switch: false,
        help: "threads serving HTTP, each with its own connections (default: one per CPU core, half as many when Postgres is on this machine)",
    },
    Flag {
        name: "busy-poll-us",
        env: "GRAPHEDGE_BUSY_POLL_US",
        switch: false,
        help: "poll instead of sleeping until no request started or ended for this many microseconds (default 100 with 2+ CPUs; 0 = off)",
    },
    Flag {
        name: "max-fields",
        env: "GRAPHEDGE_MAX_FIELDS",
        switch: false,
        help: "field selections per GraphQL operation, fragments expanded, admin exempt (default 10000; 0 = no limit)",
    },
    Flag {
        name: "max-aliases",
        env: "GRAPHEDGE_MAX_ALIASES",
        switch: false,
        help: "aliased fields per GraphQL operation, admin exempt (default 1000; 0 = no limit)",
    },
    Flag {
        name: "max-variable-values",
        env: "GRAPHEDGE_MAX_VARIABLE_VALUES",
        switch: false,
        help: "JSON values in an operation's variables, nested ones included, admin exempt (default 100000; 0 = no limit)",
    },
    Flag {
        name: "max-batch-size",
        env: "GRAPHEDGE_MAX_BATCH_SIZE",
        switch: false,
        help: "operations in one batched GraphQL request, admin exempt (default 100; 0 = no limit)",
    },
    Flag {
        name: "time-limit",
        env: "GRAPHEDGE_TIME_LIMIT",
        switch: false,
        help: "seconds a GraphQL request may spend in the database, admin exempt (default 60; 0 = no limit)",
    },
    Flag {
        name: "enable-background",
        env: "GRAPHEDGE_ENABLE_BACKGROUND",
        switch: true,
        help: "`serve`: also deliver event triggers (default true)",
    },
    Flag {
        name: "graceful-shutdown-timeout",
        env: "HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT",
        switch: false,
        help: "seconds work in flight gets after SIGTERM/SIGINT before the process exits (default 60)",
    },
    Flag {
        name: "events-http-pool-size",
        env: "HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE",
        switch: false,
        help: "maximum concurrent webhook requests (default 100)",
    },
    Flag {
        name: "events-fetch-interval",
        env: "HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL",
        switch: false,
        help: "milliseconds between polls for new events when idle (default 1000)",
    },
    Flag {
        name: "events-fetch-batch-size",
        env: "HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE",
        switch: false,
        help: "events claimed per poll (default 100)",
    },
    Flag {
        name: "enable-sql-gateway",
        env: "GRAPHEDGE_ENABLE_SQL_GATEWAY",
        switch: true,
        help: "serve Neon's SQL-over-HTTP protocol at POST /sql (for edge hosts)",
    },
    Flag {
        name: "gateway-secret",
        env: "GRAPHEDGE_GATEWAY_SECRET",
        switch: false,
        help: "bearer token accepted by the SQL gateway (besides the database password)",
    },
    Flag {
        name: "gateway-statement-timeout",
        env: "GRAPHEDGE_GATEWAY_STATEMENT_TIMEOUT",
        switch: false,
        help: "statement timeout of SQL gateway queries, seconds (default 30)",
    },
    Flag {
        name: "gateway-max-request-bytes",
        env: "GRAPHEDGE_GATEWAY_MAX_REQUEST_BYTES",
        switch: false,
        help: "largest SQL gateway request body (default 10485760)",
    },
    Flag {
        name: "gateway-max-response-bytes",
        env: "GRAPHEDGE_GATEWAY_MAX_RESPONSE_BYTES",
        switch: false,
        help: "largest SQL gateway response body (default 10485760)",
    },
    Flag {
        name: "sql-endpoint",
        env: "GRAPHEDGE_SQL_ENDPOINT",
        switch: false,
        help: "reach Postgres over Neon's HTTP protocol at this URL (`loopback`: own gateway)",
    },
    Flag {
        name: "sql-auth-token",
        env: "GRAPHEDGE_SQL_AUTH_TOKEN",
        switch: false,
        help: "bearer token sent to the SQL endpoint",
    },
];

/// The subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Serve,
    /// Only the background loops (event triggers, ...), no HTTP server.
    Scheduler,
    /// `graphedge gateway`: only the SQL gateway (`POST /sql`).
    Gateway,
    Dev,
    Version,
    Help,
}

/// A parsed command line (flags not yet merged with the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub command: Command,
    /// Flag values keyed by their environment variable name.
    pub flags: BTreeMap<&'static str, String>,
    /// Hasura flags given that graphedge accepts but does not act on (see
    /// [`crate::hasura_flags`]); `serve` logs a warning naming them.
    pub ignored: Vec<&'static str>,
}

fn find_flag(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.name == name)
}

fn is_bool_literal(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n" | "on" | "off" | "1" | "0"
    )
}

impl Cli {
    /// Parses the arguments after the program name. Flags may come before or after the
    /// subcommand (`graphedge --database-url X serve` like Hasura, or `graphedge serve --database-url X`).
    pub fn parse<I, S>(args: I) -> Result<Cli, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let mut command = None;
        let mut flags = BTreeMap::new();
        let mut ignored = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "-h" || arg == "--help" {
                command = Some(Command::Help);
                continue;
            }
            if arg == "-V" || arg == "--version" {
                command = Some(Command::Version);
                continue;
            }
            let Some(body) = arg.strip_prefix("--") else {
                let c =
                    match arg.as_str() {
                        "serve" => Command::Serve,
                        "scheduler" => Command::Scheduler,
                        "gateway" => Command::Gateway,
                        "dev" => Command::Dev,
                        "version" => Command::Version,
                        "help" => Command::Help,
                        "metadata" => return Err(
                            "`metadata` must come first: `graphedge metadata <command> [flags]`"
                                .to_string(),
                        ),
                        other => {
                            return Err(format!(
                                "unknown command `{other}` (try `graphedge --help`)"
                            ))
                        }
                    };
                if command.is_some_and(|c| c != Command::Help && c != Command::Version) {
                    return Err(format!("unexpected argument `{arg}`"));
                }
                command.get_or_insert(c);
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let (env, switch) = match (find_flag(name), crate::hasura_flags::find(name)) {
                (Some(f), _) => (f.env, f.switch),
                (None, Some(&(name, env, switch))) => {
                    ignored.push(name);
                    (env, switch)
                }
                (None, None) => {
                    return Err(format!("unknown flag `--{name}` (try `graphedge --help`)"))
                }
            };
            let value = match inline {
                Some(v) => v,
                None if switch => match args.get(i) {
                    Some(next) if is_bool_literal(next) => {
                        i += 1;
                        next.clone()
                    }
                    _ => "true".to_string(),
                },
                None => match args.get(i) {
                    Some(next) => {
                        i += 1;
                        next.clone()
                    }
                    None => return Err(format!("flag `--{name}` needs a value")),
                },
            };
            flags.insert(env, value);
        }
        Ok(Cli {
            command: command.unwrap_or(Command::Help),
            flags,
            ignored,
        })
    }

    /// The merged settings: the flag if given, else the environment (`env`).
    pub fn lookup<'a>(
        &'a self,
        env: impl Fn(&str) -> Option<String> + 'a,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| self.flags.get(name).cloned().or_else(|| env(name))
    }
}

/// The settings the native process itself reads (the edge reads the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The `default` source's database; `None` when not configured (`graphedge dev` makes its
    /// own).
    pub database_url: Option<String>,
    /// Hasura's metadata database (`--metadata-database-url`); `None`: the metadata is kept in
    /// `database_url`'s database. `serve` needs at least one of the two.
    pub metadata_database_url: Option<String>,
    pub host: String,
    pub port: u16,
    pub pool_size: usize,
    /// Connections for pipelined reads, taken out of `pool_size` (see [`crate::pipeline`]).
    pub pipeline: usize,
    /// Polling window after request activity (see [`crate::busy_poll`]); `None`: off.
    pub busy_poll: Option<Duration>,
    /// HTTP threads (see [`crate::server`]).
    pub http_threads: usize,
    /// How long work in flight may take after a shutdown signal (see [`crate::shutdown`]).
    pub graceful_shutdown: Duration,
}

impl ServeConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<ServeConfig, String> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let port = match nonempty("HASURA_GRAPHQL_SERVER_PORT") {
            None => 8080,
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("HASURA_GRAPHQL_SERVER_PORT: not a port number: {p}"))?,
        };
        let count = |key: &str, ok: &dyn Fn(usize) -> bool, expected: &str| {
            nonempty(key)
                .map(|v| match v.trim().parse::<usize>() {
                    Ok(n) if ok(n) => Ok(n),
                    _ => Err(format!("{key}: expected {expected}: {v}")),
                })
                .transpose()
        };
        let pool_size = count(
            "HASURA_GRAPHQL_PG_CONNECTIONS",
            &|n| n > 0,
            "a positive integer",
        )?
        .map_or(crate::db::DEFAULT_POOL_SIZE, |n| {
            n.min(crate::db::MAX_POOL_SIZE)
        });
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let database_url = nonempty("HASURA_GRAPHQL_DATABASE_URL");
        let pipeline = count("GRAPHEDGE_PG_PIPELINE_CONNECTIONS", &|_| true, "a number")?
            .unwrap_or(cpus.clamp(2, 8));
        let http_threads = count(
            "GRAPHEDGE_HTTP_THREADS",
            &|n| (1..=MAX_HTTP_THREADS).contains(&n),
            &format!("1 to {MAX_HTTP_THREADS}"),
        )?
        .unwrap_or_else(|| default_http_threads(cpus, database_url.as_deref()));
        // The pool keeps at least half of the connections.
        let pipeline = pipeline.min(pool_size / 2);
        let host = match nonempty("HASURA_GRAPHQL_SERVER_HOST").as_deref() {
            None | Some("*") => "0.0.0.0".to_string(),
            Some(h) => h.trim().to_string(),
        };
        Ok(ServeConfig {
            database_url,
            metadata_database_url: nonempty("HASURA_GRAPHQL_METADATA_DATABASE_URL"),
            host,
            port,
            pool_size,
            pipeline,
            busy_poll: window_from(get("GRAPHEDGE_BUSY_POLL_US").as_deref(), cpus)?,
            http_threads,
            graceful_shutdown: graceful_from(
                get("HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT").as_deref(),
            )?,
        })
    }
}

/// `HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT`: seconds (default
/// [`crate::shutdown::DEFAULT_TIMEOUT`]; 0 = stop at once).
fn graceful_from(setting: Option<&str>) -> Result<Duration, String> {
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(crate::shutdown::DEFAULT_TIMEOUT),
        Some(v) => v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
            format!("HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT: expected whole seconds: {v}")
        }),
    }
}

/// Most HTTP threads accepted.
pub const MAX_HTTP_THREADS: usize = 256;

/// HTTP threads by default: one per CPU core, or half as many (at least one) when the
/// database runs on this machine (`database_url` names a loopback address or a Unix socket).
/// Postgres then needs those cores for the statements; and since requests share batches only
/// on their own thread (`coalesce`), fewer threads make bigger batches. (2-core bench VM, clients
/// and Postgres on the same cores, one thread against two: engine CPU per q2r request ~45 → ~31
/// µs, Postgres transactions per request 0.25 → 0.13, q2r 22.0k → 24.4k req/s; q5r and q6r
/// within the ±10 % of rounds.)
fn default_http_threads(cpus: usize, database_url: Option<&str>) -> usize {
    match database_url {
        Some(url) if is_local_database(url) => (cpus / 2).max(1),
        _ => cpus,
    }
}

/// Whether every host of the Postgres connection string `url` is on this machine (loopback,
/// a Unix socket, or none given: libpq's default, the local socket).
fn is_local_database(url: &str) -> bool {
    use tokio_postgres::config::Host;
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return false;
    };
    let loopback = |name: &str| {
        name.eq_ignore_ascii_case("localhost")
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    if hosts.is_empty() {
        return addrs.iter().all(|ip| ip.is_loopback());
    }
    hosts.iter().enumerate().all(|(i, h)| match addrs.get(i) {
        Some(ip) => ip.is_loopback(),
        None => match h {
            Host::Tcp(name) => loopback(name),
            #[cfg(unix)]
            Host::Unix(_) => true,
        },
    })
}

/// The busy-poll window from `GRAPHEDGE_BUSY_POLL_US` (microseconds, `0` = off); unset:
/// [`DEFAULT_WINDOW`] with more than one CPU, off with one.
fn window_from(setting: Option<&str>, cpus: usize) -> Result<Option<Duration>, String> {
    let us = match setting.map(str::trim).filter(|s| !s.is_empty()) {
        None => return Ok((cpus > 1).then_some(DEFAULT_WINDOW)),
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| format!("GRAPHEDGE_BUSY_POLL_US: expected microseconds (0 = off): {v}"))?,
    };
    let window = Duration::from_micros(us);
    if window > MAX_WINDOW {
        return Err(format!(
            "GRAPHEDGE_BUSY_POLL_US: at most {} microseconds: {us}",
            MAX_WINDOW.as_micros()
        ));
    }
    Ok((us > 0).then_some(window))
}

/// The text of `graphedge --help`.
pub fn help_text() -> String {
    let mut s = String::from(
        "graphedge — a Hasura-compatible GraphQL engine for Postgres\n\n\
         USAGE:\n    graphedge <COMMAND> [FLAGS]\n\n\
         COMMANDS:\n    \
         serve      run the engine against HASURA_GRAPHQL_DATABASE_URL / --database-url\n    \
         scheduler  run only the background loops (event trigger delivery) against the database\n    \
         gateway    serve only the SQL gateway (Neon's SQL-over-HTTP, POST /sql) for the database\n    \
         dev        start a throwaway local Postgres with a demo schema and run the engine on it\n    \
         metadata   export|apply|clear|reload|inconsistency list: the YAML metadata directory\n               \
         against a running server (`graphedge metadata --help`)\n    \
         version    print the version\n    \
         help       print this help\n\n\
         FLAGS (each overrides the environment variable shown; switches also take =true/=false):\n",
    );
    for f in FLAGS {
        let name = if f.switch {
            format!("--{}", f.name)
        } else {
            format!("--{} <value>", f.name)
        };
        s.push_str(&format!(
            "    {name:<38} {}\n    {:<38} [{}]\n",
            f.help, "", f.env
        ));
    }
    s.push_str(
        "\nAlso accepted, for Hasura's command line, but not acted on (a warning is logged):\n",
    );
    let mut line = String::from("   ");
    for (name, _, _) in crate::hasura_flags::IGNORED {
        if line.len() + name.len() > 92 {
            s.push_str(&line);
            s.push('\n');
            line = String::from("   ");
        }
        line.push_str(&format!(" --{name}"));
    }
    s.push_str(&line);
    s.push('\n');
    s.push_str(
        "\nOther variables: HASURA_GRAPHQL_ADMIN_SECRETS, HASURA_GRAPHQL_JWT_SECRETS; \
                RUST_LOG sets the log filter (default info).\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_commands_and_flags() {
        let cli = Cli::parse([
            "serve",
            "--database-url",
            "postgres://x@h/db",
            "--server-port=9000",
            "--enable-console",
            "--stringify-numeric-types",
            "false",
        ])
        .unwrap();
        assert_eq!(cli.command, Command::Serve);
        assert_eq!(
            cli.flags["HASURA_GRAPHQL_DATABASE_URL"],
            "postgres://x@h/db"
        );
        assert_eq!(cli.flags["HASURA_GRAPHQL_SERVER_PORT"], "9000");
        assert_eq!(cli.flags["HASURA_GRAPHQL_ENABLE_CONSOLE"], "true");
        assert_eq!(cli.flags["HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES"], "false");

        // Hasura puts global flags before the command.
        let cli = Cli::parse(["--database-url", "u", "serve"]).unwrap();
        assert_eq!(cli.command, Command::Serve);
        assert_eq!(
            Cli::parse(Vec::<String>::new()).unwrap().command,
            Command::Help
        );
        assert_eq!(Cli::parse(["--help"]).unwrap().command, Command::Help);
        assert_eq!(Cli::parse(["version"]).unwrap().command, Command::Version);
    }

    #[test]
    fn hasura_command_line() {
        // Exactly as Hasura's test harness starts the engine.
        let cli = Cli::parse([
            "--metadata-database-url",
            "postgres://m/db",
            "serve",
            "--enable-telemetry=false",
            "--server-port",
            "9000",
            "--stringify-numeric-types",
            "--admin-secret",
            "k",
        ])
        .unwrap();
        assert_eq!(cli.command, Command::Serve);
        assert_eq!(
            cli.flags["HASURA_GRAPHQL_METADATA_DATABASE_URL"],
            "postgres://m/db"
        );
        assert_eq!(cli.flags["HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES"], "true");
        assert_eq!(cli.flags["HASURA_GRAPHQL_ADMIN_SECRET"], "k");
        assert_eq!(cli.ignored, vec!["enable-telemetry"]);
        let c = ServeConfig::from_lookup(&cli.lookup(no_env)).unwrap();
        assert_eq!(
            (c.database_url, c.metadata_database_url.as_deref()),
            (None, Some("postgres://m/db"))
        );
        // Ignored switches take a following boolean, ignored flags a value; the global flag
        // may follow the subcommand too.
        let cli = Cli::parse([
            "serve",
            "--enable-telemetry",
            "false",
            "--console-assets-dir",
            "/x",
            "--enable-maintenance-mode",
            "--metadata-database-url",
            "u",
        ])
        .unwrap();
        assert_eq!(
            cli.ignored,
            vec![
                "enable-telemetry",
                "console-assets-dir",
                "enable-maintenance-mode"
            ]
        );
        assert_eq!(cli.flags["HASURA_GRAPHQL_METADATA_DATABASE_URL"], "u");
        assert!(help_text().contains("--enable-telemetry"));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Cli::parse(["frobnicate"]).is_err());
        assert!(Cli::parse(["serve", "--no-such-flag"]).is_err());
        assert!(Cli::parse(["serve", "--database-url"]).is_err());
        assert!(Cli::parse(["serve", "dev"]).is_err());
    }

    #[test]
    fn flags_win_over_env() {
        let cli = Cli::parse(["serve", "--server-port", "9001"]).unwrap();
        let env = |k: &str| match k {
            "HASURA_GRAPHQL_SERVER_PORT" => Some("7000".to_string()),
            "HASURA_GRAPHQL_DATABASE_URL" => Some("postgres://env/db".to_string()),
            _ => None,
        };
        let get = cli.lookup(env);
        let c = ServeConfig::from_lookup(&get).unwrap();
        assert_eq!(c.port, 9001);
        assert_eq!(c.database_url.as_deref(), Some("postgres://env/db"));
        assert_eq!(c.pool_size, 50);
        assert!((2..=8).contains(&c.pipeline));
        assert_eq!(c.host, "0.0.0.0");
    }

    #[test]
    fn serve_config_validates() {
        let bad_port = |k: &str| (k == "HASURA_GRAPHQL_SERVER_PORT").then(|| "99999".to_string());
        assert!(ServeConfig::from_lookup(&bad_port).is_err());
        let bad_pool = |k: &str| (k == "HASURA_GRAPHQL_PG_CONNECTIONS").then(|| "0".to_string());
        assert!(ServeConfig::from_lookup(&bad_pool).is_err());
        let big_pool =
            |k: &str| (k == "HASURA_GRAPHQL_PG_CONNECTIONS").then(|| "100000".to_string());
        assert_eq!(
            ServeConfig::from_lookup(&big_pool).unwrap().pool_size,
            crate::db::MAX_POOL_SIZE
        );
        assert_eq!(
            ServeConfig::from_lookup(&no_env).unwrap().database_url,
            None
        );
        assert!(help_text().contains("HASURA_GRAPHQL_PG_CONNECTIONS"));
        let poll = |k: &str| (k == "GRAPHEDGE_BUSY_POLL_US").then(|| "soon".to_string());
        assert!(ServeConfig::from_lookup(&poll).is_err());
        let poll = |k: &str| (k == "GRAPHEDGE_BUSY_POLL_US").then(|| "0".to_string());
        assert_eq!(ServeConfig::from_lookup(&poll).unwrap().busy_poll, None);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            ServeConfig::from_lookup(&no_env).unwrap().http_threads,
            cpus
        );
        // Half as many by default when Postgres is on this machine.
        let url = |u: &'static str| {
            move |k: &str| (k == "HASURA_GRAPHQL_DATABASE_URL").then(|| u.to_string())
        };
        for (u, local) in [
            ("postgres://u:p@127.0.0.1:5432/db", true),
            ("postgres://localhost/db", true),
            ("postgresql://[::1]:5432/db", true),
            ("host=/var/run/postgresql dbname=db", true),
            ("postgres://db.example.com/db", false),
            ("postgres://10.0.0.5/db", false),
            ("postgres://localhost,db.example.com/db", false),
            ("host=db.example.com hostaddr=127.0.0.1", true),
        ] {
            assert_eq!(is_local_database(u), local, "{u}");
            let want = if local { (cpus / 2).max(1) } else { cpus };
            assert_eq!(
                ServeConfig::from_lookup(&url(u)).unwrap().http_threads,
                want,
                "{u}"
            );
        }
        let threads =
            |n: &'static str| move |k: &str| (k == "GRAPHEDGE_HTTP_THREADS").then(|| n.to_string());
        assert_eq!(
            ServeConfig::from_lookup(&threads(" 3 "))
                .unwrap()
                .http_threads,
            3
        );
        for bad in ["0", "x", "257"] {
            assert!(ServeConfig::from_lookup(&threads(bad))
                .unwrap_err()
                .contains("GRAPHEDGE_HTTP_THREADS"));
        }
        let pipe = |pool: &'static str, pipe: &'static str| {
            move |k: &str| match k {
                "HASURA_GRAPHQL_PG_CONNECTIONS" => Some(pool.to_string()),
                "GRAPHEDGE_PG_PIPELINE_CONNECTIONS" => Some(pipe.to_string()),
                _ => None,
            }
        };
        assert_eq!(
            ServeConfig::from_lookup(&pipe("10", "3")).unwrap().pipeline,
            3
        );
        assert_eq!(
            ServeConfig::from_lookup(&pipe("10", "0")).unwrap().pipeline,
            0
        );
        assert_eq!(
            ServeConfig::from_lookup(&pipe("4", "8")).unwrap().pipeline,
            2
        );
        assert_eq!(
            ServeConfig::from_lookup(&pipe("1", "8")).unwrap().pipeline,
            0
        );
        assert!(ServeConfig::from_lookup(&pipe("10", "x")).is_err());
    }

    #[test]
    fn the_setting() {
        assert_eq!(window_from(None, 2), Ok(Some(DEFAULT_WINDOW)));
        assert_eq!(window_from(None, 1), Ok(None));
        assert_eq!(window_from(Some(""), 4), Ok(Some(DEFAULT_WINDOW)));
        assert_eq!(window_from(Some("0"), 4), Ok(None));
        assert_eq!(
            window_from(Some(" 250 "), 1),
            Ok(Some(Duration::from_micros(250)))
        );
        assert!(window_from(Some("fast"), 2)
            .unwrap_err()
            .contains("microseconds"));
        assert!(window_from(Some("20000"), 2)
            .unwrap_err()
            .contains("at most"));
    }

    #[test]
    fn graceful_shutdown_timeout() {
        assert_eq!(graceful_from(None), Ok(Duration::from_secs(60)));
        assert_eq!(graceful_from(Some(" ")), Ok(Duration::from_secs(60)));
        assert_eq!(graceful_from(Some(" 3 ")), Ok(Duration::from_secs(3)));
        assert_eq!(graceful_from(Some("0")), Ok(Duration::ZERO));
        for bad in ["-1", "1.5", "soon"] {
            assert!(graceful_from(Some(bad))
                .unwrap_err()
                .contains("HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT"));
        }
        // The flag is the twin of the variable and wins over it.
        let cli = Cli::parse(["scheduler", "--graceful-shutdown-timeout", "5"]).unwrap();
        let env = |k: &str| (k == "HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT").then(|| "9".into());
        let c = ServeConfig::from_lookup(&cli.lookup(env)).unwrap();
        assert_eq!(c.graceful_shutdown, Duration::from_secs(5));
        let c = ServeConfig::from_lookup(&env).unwrap();
        assert_eq!(c.graceful_shutdown, Duration::from_secs(9));
        assert!(help_text().contains("--graceful-shutdown-timeout"));
    }
}
