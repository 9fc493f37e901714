//! The `graphedge` binary: `serve`, `dev`, `metadata ...`, `version`, `help` (see
//! `graphedge --help`).
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use graphedge_scheduler::backend::Backend;
use graphedge_scheduler::config::{help_text, Cli, Command, ServeConfig};
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::event_sources::Databases;
use graphedge_scheduler::gateway::{self, Gateway, GatewayConfig};
use graphedge_scheduler::http_client::NativeHttp;
use graphedge_scheduler::server::{self, App};
use graphedge_scheduler::shutdown::Shutdown;
use graphedge_scheduler::sources::{Opener, Sourced};

/// mimalloc: the request path allocates many small, short-lived buffers (headers, JSON,
/// statement parameters); glibc's malloc showed up at ~9% of the server's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use graphedge_scheduler::{background, dev, metadata_cli, metadata_sync, pgtemp};

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
        Command::Serve | Command::Dev | Command::Scheduler | Command::Gateway => {
            let _log_guard = graphedge_scheduler::logging::init();
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
            let result = match cli.command {
                Command::Serve => rt.block_on(run_serve(&cli)),
                Command::Scheduler => rt.block_on(run_scheduler(&cli)),
                Command::Gateway => rt.block_on(run_gateway(&cli)),
                _ => rt.block_on(run_dev(&cli)),
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

/// The primary database of `serve` (the `default` source's, else the metadata database) and
/// the metadata database when it is set apart.
fn databases(config: &ServeConfig) -> Result<(String, Option<String>), String> {
    let meta = config.metadata_database_url.clone();
    match (config.database_url.clone(), meta) {
        (Some(url), meta) => Ok((url, meta)),
        (None, Some(meta)) => Ok((meta.clone(), Some(meta))),
        (None, None) => Err(
            "no database: set HASURA_GRAPHQL_DATABASE_URL / --database-url or \
             HASURA_GRAPHQL_METADATA_DATABASE_URL / --metadata-database-url \
             (or run `graphedge dev` for a throwaway one)"
                .to_string(),
        ),
    }
}

/// The process settings (flags, then the environment) as an owned lookup: sources'
/// `from_env` connections are resolved through it.
fn settings(cli: &Cli) -> graphedge_scheduler::sources::Settings {
    let flags = cli.flags.clone();
    Arc::new(move |k: &str| flags.get(k).cloned().or_else(|| env(k)))
}

async fn run_serve(cli: &Cli) -> Result<(), String> {
    for flag in &cli.ignored {
        tracing::warn!(flag = %format!("--{flag}"), "Hasura flag accepted; graphedge does not act on it");
    }
    let get = cli.lookup(env);
    let config = ServeConfig::from_lookup(&get)?;
    let (url, metadata_url) = databases(&config)?;
    let edge_config = graphedge_edge::Config::from_env(&get)?;
    let gateway = match get("GRAPHEDGE_ENABLE_SQL_GATEWAY").as_deref().map(truthy) {
        Some(Ok(true)) => Some(Arc::new(Gateway::new(
            &url,
            GatewayConfig::from_lookup(&url, &get)?,
        )?)),
        Some(Ok(false)) | None => None,
        Some(Err(e)) => return Err(format!("GRAPHEDGE_ENABLE_SQL_GATEWAY: {e}")),
    };
    let (db, threads) =
        backend(&url, metadata_url.as_deref(), &config, &get, settings(cli)).await?;
    let subscriptions = subscription_manager(&get, &threads)?;
    let engine = with_subscriptions(
        graphedge_edge::Engine::new(edge_config, &db)
            .await?
            .with_clock(Arc::new(server::SystemClock))
            .with_env(Arc::new(|k: &str| std::env::var(k).ok())),
        &subscriptions,
    );
    let listener = server::bind(&config.host, config.port, 0)
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(
        address = %addr,
        pool_size = config.pool_size,
        http_threads = threads.count,
        "graphedge is serving"
    );
    let shutdown = Shutdown::new(config.graceful_shutdown);
    // The loops need a native pool; over the HTTP transport they get one of their own.
    let background = match &db {
        Backend::Pool(pool) => Databases::single(&url, pool.clone()),
        _ => {
            let primary = PgDatabase::connect(&url, BACKGROUND_POOL)?;
            let metadata = match metadata_url.as_deref().filter(|m| *m != url) {
                Some(m) => PgDatabase::connect(m, 2)?,
                None => primary.clone(),
            };
            Databases {
                metadata,
                primary: (url.clone(), primary),
                default_database: config.database_url.is_some(),
                settings: settings(cli),
                open: Arc::new(|u: &str| PgDatabase::connect(u, BACKGROUND_POOL)),
            }
        }
    };
    let actions_db = background.metadata.clone();
    let background = spawn_background(&get, background, &shutdown)?;
    let app = Arc::new(App {
        engine,
        gateway,
        subscriptions,
    });
    spawn_async_actions(&app, actions_db, &get, &shutdown)?;
    let listen_url = metadata_url.as_deref().unwrap_or(&url);
    metadata_sync::start(&app, db, listen_url, &get)?;
    shutdown.listen();
    serve_until_stopped(listener, app, threads, background, &shutdown).await
}

/// The pollers of live queries and streams, on a thread of their own with a database backend
/// the size of one HTTP thread's.
fn subscription_manager(
    get: &dyn Fn(&str) -> Option<String>,
    threads: &server::Threads,
) -> Result<Arc<graphedge_scheduler::subscriptions::Manager>, String> {
    use graphedge_scheduler::subscriptions::{Manager, Settings};
    let settings = Settings::from_lookup(get)?;
    let (open, n) = (threads.db.clone(), threads.count.max(1));
    Ok(Arc::new(Manager::start(settings, move || open(0, n))?))
}

/// The engine's `/v1/metrics` gauges (pools, subscriptions) and `/dev/subscriptions`.
fn with_subscriptions(
    engine: graphedge_edge::Engine,
    subscriptions: &Arc<graphedge_scheduler::subscriptions::Manager>,
) -> graphedge_edge::Engine {
    let (gauge, dump) = (subscriptions.clone(), subscriptions.clone());
    engine
        .with_metrics_gauges(Arc::new(move || {
            let mut gauges = graphedge_scheduler::db::pool_gauges();
            gauges.push(gauge.gauge());
            gauges
        }))
        .with_subscriptions_dump(Arc::new(move |extended| dump.dump_json(extended)))
}

/// Serves HTTP next to the background loops until the first SIGTERM / SIGINT (see
/// [`graphedge_scheduler::shutdown`]): both stop taking new work and drain until the deadline.
async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    threads: server::Threads,
    background: Background,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let result = server::serve(listener, app, threads, shutdown)
        .await
        .map_err(|e| e.to_string());
    // Also when serving failed: the loops stop too.
    shutdown.request();
    background.stop().await;
    result
}

/// The background loops (unless disabled); they stop when the shutdown is requested.
struct Background(Option<tokio::task::JoinHandle<()>>);

impl Background {
    /// Waits until the loops have stopped (they are bounded by the shutdown's deadlines).
    async fn stop(self) {
        if let Some(h) = self.0 {
            let _ = h.await;
        }
    }
}

fn spawn_background(
    get: &dyn Fn(&str) -> Option<String>,
    dbs: Databases,
    shutdown: &Shutdown,
) -> Result<Background, String> {
    if !background::enabled(get)? {
        return Ok(Background(None));
    }
    let settings = background::Settings::from_lookup(get)?;
    let run = background::run(dbs, settings, shutdown.clone());
    Ok(Background(Some(tokio::spawn(run))))
}

/// The asynchronous actions' handler calls (every serving process takes part).
fn spawn_async_actions(
    app: &Arc<App>,
    db: PgDatabase,
    get: &dyn Fn(&str) -> Option<String>,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let settings = graphedge_scheduler::async_actions::Settings::from_lookup(get)?;
    tokio::spawn(graphedge_scheduler::async_actions::run(
        app.clone(),
        db,
        settings,
        shutdown.clone(),
    ));
    Ok(())
}

/// `graphedge scheduler`: only the background loops, until SIGTERM / Ctrl-C.
async fn run_scheduler(cli: &Cli) -> Result<(), String> {
    let get = cli.lookup(env);
    let config = ServeConfig::from_lookup(&get)?;
    let url = config
        .database_url
        .clone()
        .ok_or("no database: set HASURA_GRAPHQL_DATABASE_URL or --database-url")?;
    let db = connect(&url, config.pool_size.min(20)).await?;
    // The catalog (event log tables, trigger functions) exists even before a server ran.
    graphedge_metadata::store::ensure(&db)
        .await
        .map_err(|e| format!("cannot prepare the catalog: {e}"))?;
    let forced = |k: &str| {
        if k == "GRAPHEDGE_ENABLE_BACKGROUND" {
            Some("true".to_string())
        } else {
            get(k)
        }
    };
    let shutdown = Shutdown::new(config.graceful_shutdown);
    shutdown.listen();
    let dbs = Databases {
        settings: settings(cli),
        ..Databases::single(&url, db)
    };
    let background = spawn_background(&forced, dbs, &shutdown)?;
    tracing::info!("graphedge scheduler is running");
    shutdown.requested().await;
    background.stop().await;
    Ok(())
}

fn truthy(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "off" | "0" | "" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// Connections of the pool that loads the metadata at start-up and serves the background loops
/// (event triggers, scheduled events); the HTTP threads have pools of their own.
const BACKGROUND_POOL: usize = 4;

/// The engine's databases: the pools (the primary one of `url`, the metadata database's, the
/// sources' as they are reached: [`Sourced`]), or the Neon HTTP transport when
/// `GRAPHEDGE_SQL_ENDPOINT` is set (one database for everything) (`loopback`: a gateway of this process on an internal 127.0.0.1 port, with a random
/// secret, so the whole engine runs over HTTP). Returns one backend for start-up and the
/// background loops, on this runtime, and how each HTTP thread opens its own (see
/// [`server::Threads`]).
async fn backend(
    url: &str,
    metadata_url: Option<&str>,
    config: &ServeConfig,
    get: &impl Fn(&str) -> Option<String>,
    settings: graphedge_scheduler::sources::Settings,
) -> Result<(Backend, server::Threads), String> {
    let Some(endpoint) = get("GRAPHEDGE_SQL_ENDPOINT").filter(|e| !e.trim().is_empty()) else {
        let db = connect(url, BACKGROUND_POOL).await?;
        let metadata = match metadata_url.filter(|m| *m != url) {
            Some(m) => Some((m.to_string(), connect(m, 2).await?)),
            None => None,
        };
        let open: Opener = Arc::new(|u: &str| PgDatabase::connect(u, BACKGROUND_POOL));
        let main = Sourced::new(
            (url.to_string(), db),
            metadata,
            config.database_url.is_some(),
            settings.clone(),
            open,
        );
        let threads = sourced_threads(url, metadata_url, config, settings);
        return Ok((Backend::Sourced(Box::new(main)), threads));
    };
    if metadata_url.is_some_and(|m| m != url) {
        return Err(
            "GRAPHEDGE_SQL_ENDPOINT serves one database: it cannot be combined with a \
                    separate metadata database"
                .into(),
        );
    }
    let (endpoint, token) = if endpoint.trim() == "loopback" {
        let secret = gateway::random_secret();
        let mut gw_config = GatewayConfig::from_lookup(url, &|k: &str| match k {
            "GRAPHEDGE_GATEWAY_SECRET" => Some(secret.clone()),
            _ => get(k),
        })?;
        gw_config.pool_size = config.pool_size;
        let gw = Arc::new(Gateway::new(url, gw_config)?);
        let listener = server::bind("127.0.0.1", 0, 0)
            .await
            .map_err(|e| format!("cannot listen for the loopback gateway: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(gateway::serve_only(listener, gw, std::future::pending()));
        (format!("http://{addr}/sql"), Some(secret))
    } else {
        (endpoint, get("GRAPHEDGE_SQL_AUTH_TOKEN"))
    };
    tracing::info!(endpoint = %endpoint.trim(), "reaching Postgres over HTTP (Neon protocol)");
    let url = url.to_string();
    // The same settings an edge host reads, with this process's database URL.
    let open = move || -> Result<Backend, String> {
        let db = graphedge_edge::app::neon_from_env(
            |k| match k {
                "HASURA_GRAPHQL_DATABASE_URL" => Some(url.clone()),
                "GRAPHEDGE_SQL_ENDPOINT" => Some(endpoint.clone()),
                "GRAPHEDGE_SQL_AUTH_TOKEN" => token.clone(),
                _ => None,
            },
            NativeHttp::new(Duration::from_secs(120))?,
        )?;
        Ok(Backend::Http(db))
    };
    let db = open()?;
    Ok((
        db,
        server::Threads {
            count: config.http_threads,
            db: Arc::new(move |_, _| open()),
            busy_poll: config.busy_poll,
        },
    ))
}

/// HTTP threads over native pools: each gets its share of the connections (the pool's and the
/// pipeline's). There are no more threads than pooled connections (at least one: the pipeline
/// takes at most half of a pool of at least one), so each has at least one.
fn pool_threads(url: &str, config: &ServeConfig) -> server::Threads {
    let (pooled, pipelined) = (config.pool_size - config.pipeline, config.pipeline);
    let url = url.to_string();
    server::Threads {
        count: config.http_threads.min(pooled),
        db: Arc::new(move |i, n| {
            let db = PgDatabase::connect(&url, server::share(pooled, n, i))?;
            Ok(Backend::Pool(
                db.with_pipeline(server::share(pipelined, n, i)),
            ))
        }),
        busy_poll: config.busy_poll,
    }
}

/// [`pool_threads`] with each thread's pools behind a [`Sourced`]: the primary database's
/// share, two connections to a separate metadata database, and sources' pools of the same
/// shares opened on the thread when first used.
fn sourced_threads(
    url: &str,
    metadata_url: Option<&str>,
    config: &ServeConfig,
    settings: graphedge_scheduler::sources::Settings,
) -> server::Threads {
    let (pooled, pipelined) = (config.pool_size - config.pipeline, config.pipeline);
    let (url, metadata_url) = (url.to_string(), metadata_url.map(str::to_string));
    let default_database = config.database_url.is_some();
    server::Threads {
        count: config.http_threads.min(pooled),
        db: Arc::new(move |i, n| {
            let open = move |u: &str| {
                Ok::<_, String>(
                    PgDatabase::connect(u, server::share(pooled, n, i))?
                        .with_pipeline(server::share(pipelined, n, i)),
                )
            };
            let primary = open(&url)?;
            let metadata = match metadata_url.as_deref().filter(|m| *m != url) {
                Some(m) => Some((m.to_string(), PgDatabase::connect(m, 2)?)),
                None => None,
            };
            let db = Sourced::new(
                (url.clone(), primary),
                metadata,
                default_database,
                settings.clone(),
                Arc::new(open),
            );
            Ok(Backend::Sourced(Box::new(db)))
        }),
        busy_poll: config.busy_poll,
    }
}

/// `graphedge gateway`: only the SQL gateway, on the configured host and port.
async fn run_gateway(cli: &Cli) -> Result<(), String> {
    let get = cli.lookup(env);
    let config = ServeConfig::from_lookup(&get)?;
    let url = config
        .database_url
        .clone()
        .ok_or("no database: set HASURA_GRAPHQL_DATABASE_URL or --database-url")?;
    let mut gw_config = GatewayConfig::from_lookup(&url, &get)?;
    gw_config.pool_size = config.pool_size;
    let gw = Arc::new(Gateway::new(&url, gw_config)?);
    let listener = server::bind(&config.host, config.port, 0)
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %addr, "graphedge SQL gateway is serving POST /sql");
    let shutdown = Shutdown::new(config.graceful_shutdown);
    shutdown.listen();
    gateway::serve_only(listener, gw, shutdown.requested())
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
    // Stopped (and its data removed) however the process ends, also on an early exit.
    let pg = Arc::new(std::sync::Mutex::new(Some(pg)));
    let stop_pg = {
        let pg = pg.clone();
        move || drop(pg.lock().ok().and_then(|mut pg| pg.take()))
    };
    let shutdown = Shutdown::new(config.graceful_shutdown);
    shutdown.before_exit(stop_pg.clone());

    let result = async {
        let db = connect(&url, BACKGROUND_POOL).await?;
        let threads = pool_threads(
            &url,
            &ServeConfig {
                pool_size: config.pool_size.min(20),
                pipeline: config.pipeline.min(4),
                ..config.clone()
            },
        );
        let subscriptions = subscription_manager(&get_dev, &threads)?;
        let engine = with_subscriptions(
            graphedge_edge::Engine::new(edge_config, &db)
                .await?
                .with_clock(Arc::new(server::SystemClock))
                .with_env(Arc::new(|k: &str| std::env::var(k).ok())),
            &subscriptions,
        );
        let secret = get_dev("HASURA_GRAPHQL_ADMIN_SECRET").filter(|s| !s.is_empty());
        dev::load_demo(&engine, &db, secret.as_deref()).await?;
        let listener = server::bind(&config.host, config.port, 50)
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        // Signals are handled from before the banner: a client that reacts to it may signal at
        // once, and the default action would leave the throwaway Postgres behind.
        shutdown.listen();
        println!("{}", dev::banner(port, &url));
        let background =
            spawn_background(&get_dev, Databases::single(&url, db.clone()), &shutdown)?;
        let app = Arc::new(App {
            engine,
            gateway: None,
            subscriptions,
        });
        spawn_async_actions(&app, db.clone(), &get_dev, &shutdown)?;
        metadata_sync::start(&app, Backend::Pool(db.clone()), &url, &get_dev)?;
        serve_until_stopped(listener, app, threads, background, &shutdown).await
    }
    .await;
    // Stop Postgres and remove its data (TempPostgres' Drop), off the async threads.
    let _ = tokio::task::spawn_blocking(stop_pg).await;
    result
}
