//! The `graphedge` binary: `serve`, `dev`, `metadata ...`, `version`, `help` (see
//! `graphedge --help`).
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use graphedge_scheduler::config::{help_text, Cli, Command, ServeConfig};
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::server::{self, App};
use graphedge_scheduler::{dev, metadata_cli, pgtemp};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `graphedge metadata ...` is a client of a running server, with flags of its own.
    if args.first().map(String::as_str) == Some("metadata") {
        return metadata_cli::run(&args[1..], env);
    }
    let cli = match Cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Help => {
            print!("{}", help_text());
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("graphedge {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Serve | Command::Dev => {
            let _log_guard = init_logging();
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = if cli.command == Command::Serve {
                rt.block_on(run_serve(&cli))
            } else {
                rt.block_on(run_dev(&cli))
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// JSON log lines on stdout, written by a background thread so request handling never waits
/// on the terminal or pipe; `RUST_LOG` overrides the `info` default. Keep the guard alive:
/// dropping it flushes the remaining lines.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Buffered: the writer thread drains the channel in batches and flushes once per batch,
    // so a busy server writes many lines per syscall instead of one each.
    let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking(out);
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
    guard
}

/// Connects, retrying for up to 30 s while the database is unreachable (containers start in
/// any order).
async fn connect(url: &str, pool_size: usize) -> Result<PgDatabase, String> {
    let db = PgDatabase::connect(url, pool_size)?;
    let mut attempt = 0;
    loop {
        match db.check().await {
            Ok(()) => return Ok(db),
            Err(e) if e.connection && attempt < 30 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(format!("cannot connect to the database: {e}")),
        }
    }
}

async fn run_serve(cli: &Cli) -> Result<(), String> {
    let get = cli.lookup(env);
    let config = ServeConfig::from_lookup(&get)?;
    let url = config.database_url.clone().ok_or(
        "no database: set HASURA_GRAPHQL_DATABASE_URL or --database-url \
         (or run `graphedge dev` for a throwaway one)",
    )?;
    let edge_config = graphedge_edge::Config::from_env(&get)?;
    let db = connect(&url, config.pool_size).await?;
    let engine = graphedge_edge::Engine::new(edge_config, &db)
        .await?
        .with_clock(Arc::new(server::SystemClock));
    let listener = server::bind(&config.host, config.port, 0)
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %addr, pool_size = config.pool_size, "graphedge is serving");
    let app = Arc::new(App { engine, db });
    server::serve(listener, app, server::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn run_dev(cli: &Cli) -> Result<(), String> {
    if pgtemp::find_pg_bin().is_none() {
        return Err(format!(
            "no PostgreSQL server binaries found (initdb, pg_ctl, postgres).\nInstall them with:\n  {}",
            dev::INSTALL_HINT
        ));
    }
    let get = cli.lookup(env);
    // Dev defaults: the console on, and (no admin secret, trust-auth Postgres) loopback only
    // unless a host is given explicitly.
    let get_dev = |name: &str| match get(name) {
        None if name == "HASURA_GRAPHQL_ENABLE_CONSOLE" => Some("true".to_string()),
        None if name == "HASURA_GRAPHQL_SERVER_HOST" => Some("127.0.0.1".to_string()),
        other => other,
    };
    let config = ServeConfig::from_lookup(&get_dev)?;
    let edge_config = graphedge_edge::Config::from_env(get_dev)?;

    eprintln!("starting a throwaway PostgreSQL ...");
    let pg = tokio::task::spawn_blocking(|| -> std::io::Result<pgtemp::TempPostgres> {
        let pg = pgtemp::TempPostgres::start()?;
        pg.create_database("graphedge")?;
        Ok(pg)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot start PostgreSQL: {e}"))?;
    let url = pg.url("graphedge");

    let result = async {
        let db = connect(&url, config.pool_size.min(20)).await?;
        let engine = graphedge_edge::Engine::new(edge_config, &db)
            .await?
            .with_clock(Arc::new(server::SystemClock));
        let secret = get_dev("HASURA_GRAPHQL_ADMIN_SECRET").filter(|s| !s.is_empty());
        dev::load_demo(&engine, &db, secret.as_deref()).await?;
        let listener = server::bind(&config.host, config.port, 50)
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        println!("{}", dev::banner(port, &url));
        let app = Arc::new(App { engine, db });
        server::serve(listener, app, server::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    // Stop Postgres and remove its data (TempPostgres' Drop), off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(pg)).await;
    result
}
