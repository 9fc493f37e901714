//! Throwaway local PostgreSQL clusters, for tests, the conformance runner and `graphedge dev`.
//!
//! [`TempPostgres::start`] runs `initdb` into a fresh directory under the system temp dir, starts
//! the server on a free loopback port (trust auth, UTC, fsync off, sockets inside the data dir)
//! and waits until it accepts connections. Dropping the value stops the server and removes the
//! directory.
//!
//! `initdb` refuses to run as root, so when the current process is root the cluster is created and
//! run as the system user `postgres` (created with `useradd --system` if missing) through
//! `runuser -u postgres --` (or `su postgres -c` when `runuser` is absent). Otherwise the commands
//! run directly as the invoking user.
//!
//! Everything here is synchronous and uses only `std`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The system user that owns the cluster when we run as root.
const PG_USER: &str = "postgres";

/// A running throwaway PostgreSQL cluster. Stopped and deleted on drop.
#[derive(Debug)]
pub struct TempPostgres {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The cluster's data directory (also holds the unix socket).
    pub data_dir: PathBuf,
    /// Directory holding `data_dir` and the server log; removed on stop.
    base_dir: PathBuf,
    /// Directory of the server binaries (`initdb`, `pg_ctl`, `psql`, ...).
    bin: PathBuf,
    /// Run server commands as `postgres` (we are root).
    as_pg_user: bool,
    stopped: bool,
}

impl TempPostgres {
    /// Creates and starts a fresh cluster. See the module docs.
    pub fn start() -> io::Result<TempPostgres> {
        let bin = find_pg_bin().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install `postgresql` \
                 (e.g. `apt-get install postgresql`) or set PG_BIN to their directory",
            )
        })?;
        let as_pg_user = is_root();
        if as_pg_user {
            ensure_pg_user()?;
        }
        let base_dir = make_base_dir()?;
        let mut pg = TempPostgres {
            port: 0,
            data_dir: base_dir.join("data"),
            base_dir,
            bin,
            as_pg_user,
            // Nothing to stop until the server runs, but the directory must still be removed.
            stopped: true,
        };
        if pg.as_pg_user {
            let out = Command::new("chown")
                .arg(format!("{PG_USER}:"))
                .arg(&pg.base_dir)
                .output()?;
            check(&out, "chown")?;
        }
        pg.initdb()?;
        // The free-port probe is racy (another process may grab the port); retry a few times.
        let mut last_err = None;
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.pg_ctl_start() {
                Ok(()) => {
                    pg.stopped = false;
                    pg.wait_ready(Duration::from_secs(60))?;
                    return Ok(pg);
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("could not start postgres")))
    }

    /// Connection URL for `database`: `postgres://postgres@127.0.0.1:PORT/database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", self.port, database)
    }

    /// `CREATE DATABASE "name"` (name quoted as an identifier).
    pub fn create_database(&self, name: &str) -> io::Result<()> {
        let sql = format!("CREATE DATABASE {}", quote_ident(name));
        self.psql("postgres", &sql).map(|_| ())
    }

    /// Runs `sql` (one or more statements, stops at the first error) with `psql` against
    /// `database` and returns its standard output. Errors carry psql's stderr.
    pub fn psql(&self, database: &str, sql: &str) -> io::Result<String> {
        let port = self.port.to_string();
        let mut child = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
            .arg(&port)
            .args(["-U", PG_USER, "-d", database, "-f", "-"])
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            // A write error (psql died early) shows up in its exit status below.
            let _ = stdin.write_all(sql.as_bytes());
        }
        let out = child.wait_with_output()?;
        check(&out, "psql")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Restarts the server in place (same port and data; clients are disconnected): `pg_ctl
    /// stop -m fast` then start. For tests of reconnection.
    pub fn restart(&self) -> io::Result<()> {
        let out = self
            .pg_command(
                "pg_ctl",
                &[
                    os("-D"),
                    self.data_dir.clone().into(),
                    os("-m"),
                    os("fast"),
                    os("-w"),
                ],
            )
            .arg("stop")
            .stdin(Stdio::null())
            .output()?;
        check(&out, "pg_ctl stop")?;
        self.pg_ctl_start()?;
        self.wait_ready(Duration::from_secs(60))
    }

    /// Stops the server (`pg_ctl stop -m fast`) and removes the directory. Idempotent.
    pub fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let data = self.data_dir.clone();
            let _ = self
                .pg_command(
                    "pg_ctl",
                    &[os("-D"), data.into(), os("-m"), os("fast"), os("-w")],
                )
                .arg("stop")
                .stdin(Stdio::null())
                .output();
        }
        if self.base_dir.exists() {
            let _ = std::fs::remove_dir_all(&self.base_dir);
        }
    }

    fn initdb(&self) -> io::Result<()> {
        let data: OsString = self.data_dir.clone().into();
        let common = [
            os("-D"),
            data,
            os("-A"),
            os("trust"),
            os("-U"),
            os(PG_USER),
            os("-E"),
            os("UTF8"),
        ];
        let out = self
            .pg_command("initdb", &common)
            .arg("--locale=C.UTF-8")
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            return Ok(());
        }
        // C.UTF-8 may be missing on this system: clean up and retry without a locale.
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let out = self
            .pg_command("initdb", &common)
            .arg("--no-locale")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()?;
        check(&out, "initdb")
    }

    fn pg_ctl_start(&self) -> io::Result<()> {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c timezone=UTC -c unix_socket_directories={} \
             -c max_connections=200",
            self.port,
            self.data_dir.display()
        );
        let log = self.base_dir.join("postgres.log");
        let out = self
            .pg_command(
                "pg_ctl",
                &[
                    os("-D"),
                    self.data_dir.clone().into(),
                    os("-l"),
                    log.clone().into(),
                    os("-w"),
                    os("-t"),
                    os("60"),
                    os("-o"),
                    os(&opts),
                ],
            )
            .arg("start")
            .stdin(Stdio::null())
            .output()?;
        match check(&out, "pg_ctl start") {
            Ok(()) => Ok(()),
            Err(e) => {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = tail.lines().rev().take(10).collect::<Vec<_>>().join("\n");
                // Make sure a half-started server does not linger.
                let _ = self
                    .pg_command(
                        "pg_ctl",
                        &[
                            os("-D"),
                            self.data_dir.clone().into(),
                            os("-m"),
                            os("immediate"),
                        ],
                    )
                    .arg("stop")
                    .stdin(Stdio::null())
                    .output();
                Err(io::Error::other(format!(
                    "{e}\nserver log (last lines, newest first):\n{tail}"
                )))
            }
        }
    }

    fn wait_ready(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    PG_USER,
                    "-t",
                    "2",
                ])
                .stdin(Stdio::null())
                .output();
            if matches!(&out, Ok(o) if o.status.success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("postgres on port {} not ready after {timeout:?}", self.port),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A command for the server binary `prog` with `args`, run as `postgres` when we are root.
    /// The working directory is the base dir (readable by the cluster's owner).
    fn pg_command(&self, prog: &str, args: &[OsString]) -> Command {
        let exe = self.bin.join(prog);
        let mut cmd = if self.as_pg_user {
            if Path::new("/usr/sbin/runuser").exists() || which("runuser").is_some() {
                let mut c = Command::new("runuser");
                c.args(["-u", PG_USER, "--"]).arg(&exe).args(args);
                c
            } else {
                // `su -c` takes one shell string: quote each word.
                let mut line = shell_quote(&exe.to_string_lossy());
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(&a.to_string_lossy()));
                }
                let mut c = Command::new("su");
                c.args([PG_USER, "-s", "/bin/sh", "-c"]).arg(line);
                c
            }
        } else {
            let mut c = Command::new(&exe);
            c.args(args);
            c
        };
        cmd.current_dir(&self.base_dir);
        cmd
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Finds the directory of the PostgreSQL server binaries: `$PG_BIN`, then
/// `/usr/lib/postgresql/<version>/bin` (newest version first), then the directory of `initdb`
/// on `PATH`.
pub fn find_pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Some(dir);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let key: Vec<u64> = name.split('.').map(|p| p.parse().unwrap_or(0)).collect();
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((key, bin))
            })
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Some(bin);
        }
    }
    which("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
}

fn os(s: &str) -> OsString {
    OsString::from(s)
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Whether the effective user is root (read from `/proc/self/status`, else `id -u`).
fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            // Uid: real effective saved fs
            if let Some(euid) = line.split_whitespace().nth(2) {
                return euid == "0";
            }
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Creates the system user `postgres` if it does not exist (root only).
fn ensure_pg_user() -> io::Result<()> {
    let exists = Command::new("id")
        .arg(PG_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if exists {
        return Ok(());
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/bin/sh",
            PG_USER,
        ])
        .output()?;
    check(&out, "useradd postgres")
}

/// A fresh, empty directory `<tmp>/graphedge-pg-<pid>-<time>-<n>`.
fn make_base_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "graphedge-pg-{}-{:x}-{}",
        std::process::id(),
        nanos,
        n
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// A loopback port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn check(out: &Output, what: &str) -> io::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    )))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_select_stop() {
        if find_pg_bin().is_none() {
            eprintln!("skipping: no PostgreSQL server binaries");
            return;
        }
        let mut pg = TempPostgres::start().expect("start temp postgres");
        assert!(pg.port > 0);
        let out = pg.psql("postgres", "select 1 as one;").expect("select 1");
        assert!(out.contains('1'), "unexpected psql output: {out}");
        pg.create_database("conf db").expect("create database");
        let out = pg
            .psql("conf db", "select current_setting('TimeZone');")
            .expect("timezone");
        assert!(out.contains("UTC"), "unexpected psql output: {out}");
        assert!(pg.psql("postgres", "select * from no_such_table;").is_err());
        assert!(pg.url("x").starts_with("postgres://postgres@127.0.0.1:"));
        let dir = pg.data_dir.clone();
        pg.stop();
        assert!(!dir.exists());
        pg.stop(); // idempotent
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
