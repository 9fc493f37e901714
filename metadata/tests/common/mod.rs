//! Test support shared by the metadata integration tests: a throwaway Postgres cluster and a
//! tokio-postgres implementation of the `Database` trait.
//!
//! The cluster is created with the server binaries found in `PG_BIN`, or the newest
//! `/usr/lib/postgresql/*/bin`, or `PATH`; when the tests run as root, the server runs as the
//! `postgres` user (via `runuser`). Tests that need Postgres skip (with a message) when no server
//! binaries exist.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Finds the Postgres server binaries.
pub fn find_pg_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, p)| p)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A running throwaway cluster, stopped and removed on drop.
pub struct TempPg {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    root: bool,
}

impl TempPg {
    pub fn start() -> Option<TempPg> {
        let bin = find_pg_bin()?;
        let root = is_root();
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("graphedge-mdtest-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let pg = TempPg {
            port,
            dir,
            bin,
            root,
        };
        if root {
            Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&pg.dir)
                .status()
                .ok()?;
        }
        let data = pg.dir.join("data");
        let ok = pg
            .run(
                "initdb",
                &[
                    "-D",
                    data.to_str()?,
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
            .ok()?;
        assert!(ok, "initdb failed");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c timezone=UTC",
            pg.dir.display()
        );
        let log = pg.dir.join("log");
        let ok = pg
            .run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str()?,
                    "-l",
                    log.to_str()?,
                    "-o",
                    &opts,
                    "-w",
                    "start",
                ],
            )
            .ok()?;
        assert!(ok, "pg_ctl start failed");
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::io::Result<bool> {
        let exe = self.bin.join(tool);
        let status = if self.root {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .arg(&exe)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()?
        } else {
            Command::new(&exe)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()?
        };
        Ok(status.success())
    }

    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    pub async fn connect(&self) -> PgDb {
        let (client, conn) = tokio_postgres::connect(&self.url(), NoTls)
            .await
            .expect("connect");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        PgDb { client }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or(""),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `Database` over one tokio-postgres client.
pub struct PgDb {
    pub client: Client,
}

fn db_err(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(d) => DbError {
            code: Some(d.code().code().to_string()),
            message: d.message().to_string(),
            detail: d.detail().map(|s| s.to_string()),
            hint: d.hint().map(|s| s.to_string()),
            connection: false,
            statement: None,
        },
        None => DbError::connection(e.to_string()),
    }
}

impl PgDb {
    async fn rows(&self, stmt: &Statement) -> Result<Rows, DbError> {
        let types = vec![Type::TEXT; stmt.params.len()];
        let prepared = self
            .client
            .prepare_typed(&stmt.sql, &types)
            .await
            .map_err(db_err)?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = stmt
            .params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(&prepared, &params)
            .await
            .map_err(db_err)?;
        let columns: Vec<String> = prepared
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let mut out = Rows {
            columns,
            rows: Vec::new(),
            row_count: rows.len() as u64,
        };
        for r in &rows {
            let mut vals = Vec::new();
            for i in 0..r.len() {
                vals.push(text_of(r, i));
            }
            out.rows.push(vals);
        }
        Ok(out)
    }

    pub async fn exec(&self, sql: &str) {
        self.client.batch_execute(sql).await.expect("batch_execute");
    }
}

fn text_of(r: &tokio_postgres::Row, i: usize) -> Option<String> {
    if let Ok(v) = r.try_get::<_, Option<String>>(i) {
        return v;
    }
    if let Ok(v) = r.try_get::<_, Option<serde_json::Value>>(i) {
        return v.map(|v| v.to_string());
    }
    None
}

impl Database for PgDb {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let rows = self.rows(stmt).await?;
        Ok(rows
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        self.client.batch_execute("BEGIN").await.map_err(db_err)?;
        let mut out = Vec::new();
        for s in stmts {
            match self.rows(s).await {
                Ok(r) => out.push(r),
                Err(e) => {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                    return Err(e);
                }
            }
        }
        self.client.batch_execute("COMMIT").await.map_err(db_err)?;
        Ok(out)
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        // As the hosts do: one simple query (several statements run in one implicit
        // transaction; one statement alone, as `no_transaction` sends them, in none).
        let msgs = self.client.simple_query(sql).await.map_err(db_err)?;
        let mut out = Vec::new();
        let mut current: Option<Rows> = None;
        for m in msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    current = Some(Rows {
                        columns: cols.iter().map(|c| c.name().to_string()).collect(),
                        ..Default::default()
                    });
                }
                SimpleQueryMessage::Row(row) => {
                    let r = current.get_or_insert_with(Rows::default);
                    r.rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(|s| s.to_string()))
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => match current.take() {
                    Some(mut r) => {
                        r.row_count = n;
                        out.push(SqlResult::Tuples(r));
                    }
                    None => out.push(SqlResult::Command),
                },
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Path of this crate's test fixtures.
pub fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}
