//! The execution algorithm of RUNNER_SPEC §4–§6 and the report of §8.
//!
//! One throwaway Postgres for the whole run; per configuration group (admin secret + env) a
//! fresh database and a `graphedge serve` process; per class a reset (clear_db, fresh `public`
//! schema with the extensions, `clear_metadata`, `reload_metadata`), class setup, the tests
//! (HTTP, and the websocket and subscription transports of `ws.rs` unless `--no-websocket`), and the
//! class teardown, which always runs. A dead or hung server is restarted before the next class.

use crate::compare::{clip, judge_item};
use crate::http::{Client, HttpResponse};
use crate::pgtemp::TempPostgres;
use crate::plan::{self, SetupRequest, Step, TestEntry};
use crate::server::Server;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Command-line options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub suite: PathBuf,
    pub server: PathBuf,
    pub filters: Vec<String>,
    pub jsonl: Option<PathBuf>,
    pub floor: Option<PathBuf>,
    pub verbose: bool,
    /// Budget for the whole run; classes not started by then are reported as errors.
    /// `None`: [`DEFAULT_DEADLINE`].
    pub deadline: Option<std::time::Duration>,
    /// The host serves no websockets: those transports are reported as skipped.
    pub no_websocket: bool,
}

/// Default budget for a whole run (CI allows 90 minutes for everything).
pub const DEFAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(40 * 60);

/// A verdict (§8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Error,
    Skip,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Skip => "skip",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Verdict::Skip => 0,
            Verdict::Pass => 1,
            Verdict::Fail => 2,
            Verdict::Error => 3,
        }
    }

    /// The worse of two verdicts (error > fail > pass > skip).
    pub fn worst(self, other: Verdict) -> Verdict {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Result of one test (or one test instance).
#[derive(Debug, Clone)]
struct Outcome {
    strict: Verdict,
    hasura: Verdict,
    reason: Option<String>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            strict: Verdict::Skip,
            hasura: Verdict::Skip,
            reason: None,
        }
    }
    fn all(v: Verdict, reason: impl Into<String>) -> Outcome {
        Outcome {
            strict: v,
            hasura: v,
            reason: Some(reason.into()),
        }
    }
    /// Folds in one more result; the reason is that of the first failure, or of the first
    /// error when there is one.
    fn add(&mut self, strict: Verdict, hasura: Verdict, reason: Option<String>) {
        if strict.rank() > self.strict.rank() && matches!(strict, Verdict::Fail | Verdict::Error) {
            self.reason = reason;
        }
        self.strict = self.strict.worst(strict);
        self.hasura = self.hasura.worst(hasura);
    }
}

/// One JSONL record (§8).
#[derive(Default)]
struct Record<'a> {
    test: &'a str,
    transport: &'a str,
    file: String,
    item: usize,
    url: String,
    expected_status: Option<u64>,
    actual_status: Option<u16>,
    strict: Option<Verdict>,
    hasura: Option<Verdict>,
    phase: &'a str,
    reason: Option<String>,
    diff: Option<Value>,
}

/// Aggregated counts for one verdict flavour.
#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    pass: usize,
    fail: usize,
    error: usize,
    skip: usize,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Error => self.error += 1,
            Verdict::Skip => self.skip += 1,
        }
    }
    fn total(&self) -> usize {
        self.pass + self.fail + self.error + self.skip
    }
}

/// The server, database and client of one configuration group.
struct Group {
    db: String,
    env: Vec<(String, String)>,
    secret: Option<String>,
    server: Option<Server>,
    client: Client,
    log: PathBuf,
}

struct Runner<'a> {
    opts: &'a Options,
    pg: &'a TempPostgres,
    jsonl: Option<BufWriter<File>>,
    log_dir: PathBuf,
    probes: Counts,
    teardown_failures: usize,
    deadline: std::time::Instant,
}

/// Runs the suite; returns the process exit code.
pub fn run(opts: &Options) -> i32 {
    let plan_path = opts.suite.join("PLAN.json");
    if !plan_path.is_file() {
        println!(
            "hasura-suite not found at {}: conformance not run",
            opts.suite.display()
        );
        return 0;
    }
    let plan = match plan::load_plan(&plan_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("conformance: cannot read plan: {e}");
            return 1;
        }
    };
    let floor = match &opts.floor {
        Some(path) => match read_floor(path) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("conformance: {e}");
                return 1;
            }
        },
        None => None,
    };
    let tests: Vec<TestEntry> =
        plan.tests
            .into_iter()
            .filter(|t| {
                opts.filters.is_empty()
                    || opts.filters.iter().any(|f| {
                        t.id.contains(f.as_str()) || t.effective_dir().contains(f.as_str())
                    })
            })
            .collect();
    let jsonl = match &opts.jsonl {
        Some(p) => match File::create(p) {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => {
                eprintln!("conformance: {}: {e}", p.display());
                return 1;
            }
        },
        None => None,
    };
    if !tests.is_empty() && !opts.server.is_file() {
        eprintln!(
            "conformance: server binary {} not found (build it with `cargo build -p graphedge-scheduler`)",
            opts.server.display()
        );
        return 1;
    }
    let mut results: Vec<(usize, Outcome)> = Vec::new();
    let mut harness_failed = false;
    if !tests.is_empty() {
        eprintln!(
            "conformance: server {}, {} tests",
            opts.server.display(),
            tests.len()
        );
        let pg = match TempPostgres::start() {
            Ok(pg) => pg,
            Err(e) => {
                eprintln!("conformance: cannot start Postgres: {e}");
                return 1;
            }
        };
        let log_dir =
            std::env::temp_dir().join(format!("graphedge-conformance-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&log_dir) {
            eprintln!("conformance: {}: {e}", log_dir.display());
            return 1;
        }
        let mut runner = Runner {
            opts,
            pg: &pg,
            jsonl,
            log_dir: log_dir.clone(),
            probes: Counts::default(),
            teardown_failures: 0,
            deadline: std::time::Instant::now() + opts.deadline.unwrap_or(DEFAULT_DEADLINE),
        };
        results = runner.run_all(&tests);
        if let Some(j) = runner.jsonl.as_mut() {
            if let Err(e) = j.flush() {
                eprintln!("conformance: writing jsonl: {e}");
                harness_failed = true;
            }
        }
        println!();
        if runner.probes.total() > 0 {
            println!(
                "forbidden probes (admin-secret groups): {} passed, {} failed, {} errors",
                runner.probes.pass, runner.probes.fail, runner.probes.error
            );
        }
        if runner.teardown_failures > 0 {
            println!(
                "teardown requests that failed: {}",
                runner.teardown_failures
            );
        }
        if opts.verbose {
            println!("server logs kept in {}", log_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&log_dir);
        }
    }
    let strict_pass = summarize(&tests, &results);
    if harness_failed {
        return 1;
    }
    if let Some(floor) = floor {
        if strict_pass < floor {
            println!("conformance: {strict_pass} strict passes is below the floor of {floor}");
            return 1;
        }
    }
    0
}

/// Prints per-directory counts and the summary; returns the strict pass count.
fn summarize(tests: &[TestEntry], results: &[(usize, Outcome)]) -> usize {
    let mut by_dir: BTreeMap<String, Counts> = BTreeMap::new();
    let (mut strict, mut hasura) = (Counts::default(), Counts::default());
    let (mut gq_pass, mut gq_total) = (0usize, 0usize);
    for (i, o) in results {
        let dir = tests[*i].effective_dir();
        by_dir.entry(dir.clone()).or_default().add(o.strict);
        strict.add(o.strict);
        hasura.add(o.hasura);
        if dir.starts_with("queries/graphql_query/") || dir == "queries/graphql_query" {
            gq_total += 1;
            if o.strict == Verdict::Pass {
                gq_pass += 1;
            }
        }
    }
    if !by_dir.is_empty() {
        println!("per directory (strict): pass fail error skip");
        for (dir, c) in &by_dir {
            println!("  {dir}: {} {} {} {}", c.pass, c.fail, c.error, c.skip);
        }
    }
    println!(
        "strict: {} passed, {} failed, {} errors, {} skipped",
        strict.pass, strict.fail, strict.error, strict.skip
    );
    println!(
        "hasura: {} passed, {} failed, {} errors, {} skipped",
        hasura.pass, hasura.fail, hasura.error, hasura.skip
    );
    let pct = if gq_total == 0 {
        0.0
    } else {
        100.0 * gq_pass as f64 / gq_total as f64
    };
    println!("graphql_query: {gq_pass}/{gq_total} passed ({pct:.1}%)");
    let mut last = format!(
        "{} passed, {} failed",
        strict.pass,
        strict.fail + strict.error
    );
    if strict.skip > 0 {
        last.push_str(&format!(", {} skipped", strict.skip));
    }
    println!("{last}");
    strict.pass
}

fn read_floor(path: &Path) -> Result<usize, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("floor {}: {e}", path.display()))?;
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .ok_or_else(|| format!("floor {}: no number", path.display()))?
        .parse()
        .map_err(|e| format!("floor {}: {e}", path.display()))
}

/// A hard-to-guess string (admin secrets, wrong-secret probes).
fn random_token() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let a = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a);
    format!("{:016x}{:016x}", a, h2.finish())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

const BASE_EXTENSIONS: &str = "CREATE EXTENSION IF NOT EXISTS citext; \
     CREATE EXTENSION IF NOT EXISTS ltree; CREATE EXTENSION IF NOT EXISTS pgcrypto; \
     CREATE SCHEMA IF NOT EXISTS hge_tests;";
const POSTGIS_EXTENSIONS: &str = "CREATE EXTENSION IF NOT EXISTS postgis; \
     CREATE EXTENSION IF NOT EXISTS postgis_topology; CREATE EXTENSION IF NOT EXISTS postgis_raster;";

impl Runner<'_> {
    fn run_all(&mut self, tests: &[TestEntry]) -> Vec<(usize, Outcome)> {
        // Configuration groups in order of first appearance.
        let mut groups: Vec<(&plan::ServerConfig, Vec<usize>)> = Vec::new();
        for (i, t) in tests.iter().enumerate() {
            match groups.iter_mut().find(|(c, _)| **c == t.server_config) {
                Some((_, ix)) => ix.push(i),
                None => groups.push((&t.server_config, vec![i])),
            }
        }
        let mut results = Vec::new();
        for (gi, (config, ix)) in groups.into_iter().enumerate() {
            results.extend(self.run_group(gi, config, tests, &ix));
        }
        results.sort_by_key(|(i, _)| *i);
        results
    }

    fn report(&mut self, test: &TestEntry, o: &Outcome) {
        let label = match o.strict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
            Verdict::Skip => "SKIP",
        };
        match &o.reason {
            Some(r) if o.strict != Verdict::Pass => {
                println!("{label} {} [{}]", test.id, clip(&r.replace('\n', " "), 300))
            }
            _ => println!("{label} {}", test.id),
        }
        let _ = std::io::stdout().flush();
    }

    fn record(&mut self, test: &TestEntry, r: Record<'_>) {
        let Some(out) = self.jsonl.as_mut() else {
            return;
        };
        let line = json!({
            "test": r.test,
            "split": test.split.clone().unwrap_or_else(|| "public".into()),
            "feature": test.feature,
            "transport": r.transport,
            "file": r.file,
            "item": r.item,
            "url": r.url,
            "expected_status": r.expected_status,
            "actual_status": r.actual_status,
            "verdict_strict": r.strict.map(Verdict::as_str),
            "verdict_hasura": r.hasura.map(Verdict::as_str),
            "phase": r.phase,
            "reason": r.reason,
            "diff": r.diff,
        });
        let _ = writeln!(out, "{line}");
    }

    /// Records a test that is not run at all.
    fn skip_test(&mut self, test: &TestEntry, v: Verdict, reason: &str) -> Outcome {
        let o = Outcome::all(v, reason);
        self.record(
            test,
            Record {
                test: &test.id,
                transport: "http",
                phase: "case",
                strict: Some(v),
                hasura: Some(v),
                reason: Some(reason.to_string()),
                ..Default::default()
            },
        );
        self.report(test, &o);
        o
    }

    fn run_group(
        &mut self,
        gi: usize,
        config: &plan::ServerConfig,
        tests: &[TestEntry],
        ix: &[usize],
    ) -> Vec<(usize, Outcome)> {
        let mut results = Vec::new();
        // Decide up front which tests can run at all.
        let mut runnable = Vec::new();
        for &i in ix {
            let t = &tests[i];
            if t.needs_jwt() {
                results.push((i, self.skip_test(t, Verdict::Skip, "needs jwt")));
            } else if !t.transports().iter().any(|x| self.implemented(x)) {
                results.push((
                    i,
                    self.skip_test(t, Verdict::Skip, "transport not implemented"),
                ));
            } else {
                runnable.push(i);
            }
        }
        if runnable.is_empty() {
            return results;
        }
        eprintln!(
            "conformance: group {gi}: admin secret {}, env {:?}, {} tests",
            config.admin_secret,
            config.env,
            runnable.len()
        );
        let db = format!("conformance_{gi}");
        let setup_db = self
            .pg
            .create_database(&db)
            .and_then(|_| self.pg.psql(&db, BASE_EXTENSIONS));
        if let Err(e) = setup_db {
            let reason = format!("database setup failed: {e}");
            for i in runnable {
                results.push((i, self.skip_test(&tests[i], Verdict::Error, &reason)));
            }
            return results;
        }
        let postgis_ok = if runnable.iter().any(|&i| tests[i].needs_postgis()) {
            match self.pg.psql(&db, POSTGIS_EXTENSIONS) {
                Ok(_) => true,
                Err(e) => {
                    eprintln!(
                        "conformance: PostGIS unavailable, skipping tests that need it: {}",
                        clip(&e.to_string(), 300)
                    );
                    false
                }
            }
        } else {
            true
        };
        let secret = config.admin_secret.then(random_token);
        let mut env = vec![
            ("HASURA_GRAPHQL_DATABASE_URL".to_string(), self.pg.url(&db)),
            (
                "HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES".to_string(),
                "true".to_string(),
            ),
            // The fixtures' expected errors carry no `internal` details (Hasura's harness
            // compares error bodies leniently); admin internals are a server option.
            (
                "HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS".to_string(),
                "false".to_string(),
            ),
        ];
        if let Some(s) = &secret {
            env.push(("HASURA_GRAPHQL_ADMIN_SECRET".to_string(), s.clone()));
        }
        env.extend(config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut group = Group {
            db,
            env,
            secret,
            server: None,
            client: Client::new(String::new()),
            log: self.log_dir.join(format!("server-{gi}.log")),
        };

        // Classes in order of first appearance within the group.
        let mut classes: Vec<(&str, Vec<usize>)> = Vec::new();
        for &i in &runnable {
            let c = tests[i].class();
            match classes.iter_mut().find(|(n, _)| *n == c) {
                Some((_, v)) => v.push(i),
                None => classes.push((c, vec![i])),
            }
        }
        for (_, members) in classes {
            let mut class_tests = Vec::new();
            for i in members {
                if tests[i].needs_postgis() && !postgis_ok {
                    results.push((
                        i,
                        self.skip_test(&tests[i], Verdict::Skip, "postgis missing"),
                    ));
                } else {
                    class_tests.push(i);
                }
            }
            if class_tests.is_empty() {
                continue;
            }
            if std::time::Instant::now() >= self.deadline {
                for i in class_tests {
                    results.push((
                        i,
                        self.skip_test(&tests[i], Verdict::Error, "run deadline exceeded"),
                    ));
                }
                continue;
            }
            if let Err(e) = self.ensure_server(&mut group) {
                let reason = format!("server: {e}");
                for i in class_tests {
                    results.push((i, self.skip_test(&tests[i], Verdict::Error, &reason)));
                }
                continue;
            }
            results.extend(self.run_class(&mut group, tests, &class_tests));
        }
        results
    }

    /// Whether the group's server runs and has not timed out.
    fn server_ok(&self, g: &mut Group) -> bool {
        match g.server.as_mut() {
            Some(s) => s.is_alive() && !g.client.is_poisoned(),
            None => false,
        }
    }

    /// Starts the group's server if it is not running (first class, died, or hung).
    fn ensure_server(&mut self, g: &mut Group) -> Result<(), String> {
        if self.server_ok(g) {
            return Ok(());
        }
        if let Some(mut old) = g.server.take() {
            let why = if old.is_alive() { "hung" } else { "died" };
            eprintln!(
                "conformance: server {why}; restarting. log tail:\n{}",
                old.log_tail(15)
            );
        }
        let port = free_port();
        let server = Server::start(&self.opts.server, &g.env, port, &g.log)?;
        g.client = Client::new(server.base_url());
        g.server = Some(server);
        Ok(())
    }

    /// Headers for harness requests (setup, teardown, reset): the admin secret if any.
    fn admin_headers(g: &Group) -> Vec<(String, String)> {
        g.secret
            .iter()
            .map(|s| ("X-Hasura-Admin-Secret".to_string(), s.clone()))
            .collect()
    }

    /// Resets database and metadata before a class (§3.1, brief).
    fn reset(&mut self, g: &Group, postgis: bool) -> Result<(), String> {
        let headers = Self::admin_headers(g);
        let clear_db = plan::load_yaml(&self.opts.suite.join("queries/clear_db.yaml"))?;
        expect_ok(
            g.client.post_json("/v2/query", &headers, &clear_db),
            "clear_db",
        )?;
        let mut sql = format!(
            "SET lock_timeout = '30s'; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public; {BASE_EXTENSIONS}"
        );
        if postgis {
            sql.push(' ');
            sql.push_str(POSTGIS_EXTENSIONS);
        }
        self.pg
            .psql(&g.db, &sql)
            .map_err(|e| format!("reset schema public: {e}"))?;
        for ty in ["clear_metadata", "reload_metadata"] {
            let body = json!({"type": ty, "args": {}});
            expect_ok(g.client.post_json("/v1/metadata", &headers, &body), ty)?;
        }
        Ok(())
    }

    /// Sends setup or teardown requests in order. With `stop_on_error`, stops at the first
    /// failure and returns it; otherwise sends all and returns the first failure.
    fn run_requests(
        &mut self,
        g: &Group,
        test: &TestEntry,
        reqs: &[SetupRequest],
        phase: &str,
        stop_on_error: bool,
        ignore_status: bool,
    ) -> Result<(), String> {
        let headers = Self::admin_headers(g);
        let mut first_err = None;
        for (n, r) in reqs.iter().enumerate() {
            let result = r.body(&self.opts.suite).and_then(|body| {
                let resp = g.client.post_json(r.endpoint(), &headers, &body)?;
                if ignore_status || resp.status == 200 {
                    Ok(resp.status)
                } else {
                    Err(format!(
                        "{} {} -> {}: {}",
                        r.endpoint(),
                        r.label(),
                        resp.status,
                        clip(&body_text(&resp), 400)
                    ))
                }
            });
            let (v, status, reason) = match &result {
                Ok(s) => (Verdict::Pass, Some(*s), None),
                Err(e) => (Verdict::Error, None, Some(e.clone())),
            };
            self.record(
                test,
                Record {
                    test: &test.id,
                    transport: "http",
                    file: r.label(),
                    item: n,
                    url: r.endpoint().to_string(),
                    expected_status: (!ignore_status).then_some(200),
                    actual_status: status,
                    strict: Some(v),
                    hasura: Some(v),
                    phase,
                    reason,
                    diff: None,
                },
            );
            if let Err(e) = result {
                if self.opts.verbose {
                    println!("  {phase} failed: {e}");
                }
                if first_err.is_none() {
                    first_err = Some(e);
                }
                if stop_on_error {
                    break;
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn run_class(
        &mut self,
        g: &mut Group,
        tests: &[TestEntry],
        ix: &[usize],
    ) -> Vec<(usize, Outcome)> {
        let first = &tests[ix[0]];
        let postgis = ix.iter().any(|&i| tests[i].needs_postgis());
        let mut reset = self.reset(g, postgis);
        if reset.is_err() && !self.server_ok(g) {
            // The server died or hung right at the class boundary: restart it and retry once.
            reset = self.ensure_server(g).and_then(|_| self.reset(g, postgis));
        }
        if let Err(e) = reset {
            let reason = format!("reset: {e}");
            return ix
                .iter()
                .map(|&i| (i, self.skip_test(&tests[i], Verdict::Error, &reason)))
                .collect();
        }
        let setup = first.setup.class_setup.clone();
        let teardown = first.setup.class_teardown.clone();
        if let Err(e) = self.run_requests(g, first, &setup, "setup", true, false) {
            let reason = format!("class setup: {e}");
            let out = ix
                .iter()
                .map(|&i| (i, self.skip_test(&tests[i], Verdict::Error, &reason)))
                .collect();
            if self
                .run_requests(g, first, &teardown, "teardown", false, false)
                .is_err()
            {
                self.teardown_failures += 1;
            }
            return out;
        }
        let mut out = Vec::new();
        for &i in ix {
            let o = self.run_test(g, &tests[i]);
            self.report(&tests[i], &o);
            out.push((i, o));
        }
        let last = &tests[*ix.last().unwrap_or(&ix[0])];
        if self
            .run_requests(g, last, &teardown, "teardown", false, false)
            .is_err()
        {
            self.teardown_failures += 1;
        }
        out
    }

    /// Whether transport `t` is run (http always; the websocket ones unless the host has none).
    fn implemented(&self, t: &str) -> bool {
        match t {
            "http" => true,
            "websocket" | "subscription" => !self.opts.no_websocket,
            _ => false,
        }
    }

    /// Runs every transport instance of a test.
    fn run_test(&mut self, g: &Group, test: &TestEntry) -> Outcome {
        let mut total = Outcome::new();
        for t in test.transports() {
            if !self.implemented(&t) {
                self.record(
                    test,
                    Record {
                        test: &test.id,
                        transport: &t,
                        phase: "case",
                        strict: Some(Verdict::Skip),
                        hasura: Some(Verdict::Skip),
                        reason: Some("transport not implemented".into()),
                        ..Default::default()
                    },
                );
                continue;
            }
            let o = self.run_instance(g, test, &t);
            total.add(o.strict, o.hasura, o.reason);
        }
        total
    }

    fn run_instance(&mut self, g: &Group, test: &TestEntry, transport: &str) -> Outcome {
        let s = &test.setup;
        let mut setup: Vec<SetupRequest> = s.method_setup.clone();
        setup.extend(s.method_setup_inline.iter().cloned());
        let mut teardown: Vec<SetupRequest> = s.method_teardown.clone();
        teardown.extend(s.method_teardown_inline.iter().cloned());
        let after = s.method_after_ignore_status_inline.clone();

        let mut o = Outcome {
            strict: Verdict::Pass,
            hasura: Verdict::Pass,
            reason: None,
        };
        match self.run_requests(g, test, &setup, "setup", true, false) {
            Err(e) => o = Outcome::all(Verdict::Error, format!("setup: {e}")),
            Ok(()) => {
                for step in &test.steps {
                    match step {
                        Step::Request {
                            endpoint,
                            file,
                            expected_status,
                            expect_error_field,
                        } => {
                            let (v, reason) = self.request_step(
                                g,
                                test,
                                endpoint,
                                file,
                                *expected_status,
                                expect_error_field,
                            );
                            o.add(v, v, reason);
                        }
                        Step::Case {
                            file,
                            transports,
                            add_auth,
                            inject_admin_secret,
                            ..
                        } => {
                            if transports.iter().any(|t| t == transport) {
                                let (st, ha, reason) = self.case_step(
                                    g,
                                    test,
                                    file,
                                    (*add_auth, *inject_admin_secret),
                                    transport,
                                );
                                o.add(st, ha, reason);
                            }
                        }
                        Step::Unknown => o.add(
                            Verdict::Error,
                            Verdict::Error,
                            Some("unknown step kind".into()),
                        ),
                    }
                }
            }
        }
        if self
            .run_requests(g, test, &teardown, "teardown", false, false)
            .is_err()
        {
            self.teardown_failures += 1;
        }
        let _ = self.run_requests(g, test, &after, "teardown", false, true);
        o
    }

    fn request_step(
        &mut self,
        g: &Group,
        test: &TestEntry,
        endpoint: &str,
        file: &str,
        expected_status: u16,
        expect_error_field: &Option<String>,
    ) -> (Verdict, Option<String>) {
        let headers = Self::admin_headers(g);
        let result = plan::load_yaml(&self.opts.suite.join(file))
            .and_then(|body| g.client.post_json(endpoint, &headers, &body));
        let (v, status, reason) = match result {
            Err(e) => (Verdict::Error, None, Some(e)),
            Ok(resp) => {
                let mut reason = None;
                if resp.status != expected_status {
                    reason = Some(format!(
                        "status: expected {expected_status}, got {}: {}",
                        resp.status,
                        clip(&body_text(&resp), 300)
                    ));
                } else if let Some(want) = expect_error_field {
                    let got = resp
                        .body
                        .as_ref()
                        .ok()
                        .and_then(|b| b.get("error"))
                        .and_then(Value::as_str);
                    if got != Some(want.as_str()) {
                        reason = Some(format!("error field: expected {want:?}, got {got:?}"));
                    }
                }
                let v = if reason.is_some() {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                };
                (v, Some(resp.status), reason)
            }
        };
        self.record(
            test,
            Record {
                test: &test.id,
                transport: "http",
                file: file.to_string(),
                item: 0,
                url: endpoint.to_string(),
                expected_status: Some(u64::from(expected_status)),
                actual_status: status,
                strict: Some(v),
                hasura: Some(v),
                phase: "request-step",
                reason: reason.clone(),
                diff: None,
            },
        );
        if v != Verdict::Pass && self.opts.verbose {
            println!("  {file}: {}", reason.clone().unwrap_or_default());
        }
        (v, reason.map(|r| format!("{file}: {r}")))
    }

    /// Executes every item of a case file over `transport` (§6); all items run even after a
    /// failure.
    fn case_step(
        &mut self,
        g: &Group,
        test: &TestEntry,
        file: &str,
        (add_auth, inject_admin_secret): (bool, bool),
        transport: &str,
    ) -> (Verdict, Verdict, Option<String>) {
        let items = match plan::load_yaml(&self.opts.suite.join(file)) {
            Ok(doc) => plan::case_items(doc),
            Err(e) => return (Verdict::Error, Verdict::Error, Some(e)),
        };
        let mut acc = Outcome {
            strict: Verdict::Pass,
            hasura: Verdict::Pass,
            reason: None,
        };
        for (n, item) in items.iter().enumerate() {
            let url = item
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("/v1/graphql")
                .to_string();
            let expected_status = item.get("status").and_then(Value::as_u64);
            let query = item.get("query").cloned().unwrap_or(Value::Null);
            let mut headers: Vec<(String, String)> = match item.get("headers") {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| (k.clone(), plan::value_to_header(v)))
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(secret) = &g.secret {
                if inject_admin_secret {
                    headers.push(("x-hasura-admin-secret".into(), secret.clone()));
                } else if add_auth {
                    if transport == "http" {
                        self.probe(g, test, file, n, &url, expected_status, &headers, &query);
                    }
                    headers.push(("X-Hasura-Admin-Secret".into(), secret.clone()));
                }
            }
            if transport != "http" {
                let (strict, reason, diff) = ws_item(g, item, &url, &headers, transport);
                if strict != Verdict::Pass && self.opts.verbose {
                    println!(
                        "  {file}#{n} ({url}, {transport}): {}",
                        reason.clone().unwrap_or_default()
                    );
                }
                self.record(
                    test,
                    Record {
                        test: &test.id,
                        transport,
                        file: file.to_string(),
                        item: n,
                        url: url.clone(),
                        expected_status,
                        actual_status: None,
                        strict: Some(strict),
                        hasura: Some(strict),
                        phase: "case",
                        reason: reason.clone(),
                        diff,
                    },
                );
                acc.add(strict, strict, reason.map(|r| format!("{file}#{n}: {r}")));
                continue;
            }
            let (strict, hasura, status, reason, diff) = match g
                .client
                .post_json(&url, &headers, &query)
            {
                Err(e) => (Verdict::Error, Verdict::Error, None, Some(e), None),
                Ok(resp) => {
                    let o = judge_item(item, resp.status, &resp.headers, &resp.body);
                    let v = |b: bool| if b { Verdict::Pass } else { Verdict::Fail };
                    let diff = (!o.strict).then(|| {
                        json!({
                            "expected": item.get("response").or_else(|| item.get("allowed_responses")),
                            "actual": match &resp.body { Ok(b) => b.clone(), Err(t) => Value::String(clip(t, 2000)) },
                        })
                    });
                    (v(o.strict), v(o.hasura), Some(resp.status), o.reason, diff)
                }
            };
            if strict != Verdict::Pass && self.opts.verbose {
                println!(
                    "  {file}#{n} ({url}): {}",
                    reason.clone().unwrap_or_default()
                );
                if let Some(d) = &diff {
                    println!("    expected: {}", clip(&d["expected"].to_string(), 2000));
                    println!("    actual:   {}", clip(&d["actual"].to_string(), 2000));
                }
            }
            self.record(
                test,
                Record {
                    test: &test.id,
                    transport: "http",
                    file: file.to_string(),
                    item: n,
                    url: url.clone(),
                    expected_status,
                    actual_status: status,
                    strict: Some(strict),
                    hasura: Some(hasura),
                    phase: "case",
                    reason: reason.clone(),
                    diff,
                },
            );
            acc.add(strict, hasura, reason.map(|r| format!("{file}#{n}: {r}")));
        }
        (acc.strict, acc.hasura, acc.reason)
    }

    /// The forbidden probes of §6.2: no secret, then a wrong secret. Reported separately.
    #[allow(clippy::too_many_arguments)]
    fn probe(
        &mut self,
        g: &Group,
        test: &TestEntry,
        file: &str,
        n: usize,
        url: &str,
        item_status: Option<u64>,
        headers: &[(String, String)],
        query: &Value,
    ) {
        let graphql = url == "/v1/graphql" || url == "/v1beta1/relay";
        let allowed: &[u16] = if graphql {
            if item_status == Some(404) {
                &[404]
            } else {
                &[200]
            }
        } else {
            &[401, 404]
        };
        let wrong = format!("wrong-{}", random_token());
        let variants: [Option<&str>; 2] = [None, Some(&wrong)];
        for secret in variants {
            let mut h = headers.to_vec();
            if let Some(s) = secret {
                h.push(("X-Hasura-Admin-Secret".into(), s.to_string()));
            }
            let (v, status, reason) = match g.client.post_json(url, &h, query) {
                Err(e) => (Verdict::Error, None, Some(e)),
                Ok(r) if allowed.contains(&r.status) => (Verdict::Pass, Some(r.status), None),
                Ok(r) => (
                    Verdict::Fail,
                    Some(r.status),
                    Some(format!(
                        "forbidden probe: expected status {allowed:?}, got {}",
                        r.status
                    )),
                ),
            };
            self.probes.add(v);
            self.record(
                test,
                Record {
                    test: &test.id,
                    transport: "http",
                    file: file.to_string(),
                    item: n,
                    url: url.to_string(),
                    expected_status: allowed.first().map(|s| u64::from(*s)),
                    actual_status: status,
                    strict: Some(v),
                    hasura: Some(v),
                    phase: "probe",
                    reason,
                    diff: None,
                },
            );
        }
    }
}

fn body_text(r: &HttpResponse) -> String {
    match &r.body {
        Ok(v) => v.to_string(),
        Err(t) => t.clone(),
    }
}

fn expect_ok(r: Result<HttpResponse, String>, what: &str) -> Result<(), String> {
    let resp = r.map_err(|e| format!("{what}: {e}"))?;
    if resp.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{what} -> {}: {}",
            resp.status,
            clip(&body_text(&resp), 300)
        ))
    }
}

/// One case item over a websocket transport (§6.4–6.5): the first message's payload is
/// judged like an HTTP body (no status or header check).
fn ws_item(
    g: &Group,
    item: &Value,
    url: &str,
    headers: &[(String, String)],
    transport: &str,
) -> (Verdict, Option<String>, Option<Value>) {
    let query = item.get("query").cloned().unwrap_or(Value::Null);
    let answer = crate::ws::run(
        g.client.base(),
        url,
        headers,
        g.secret.as_deref(),
        &query,
        transport == "subscription",
    );
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return (Verdict::Error, Some(e), None),
    };
    let expected = item.get("response");
    let wants_error =
        expected.is_some_and(|r| r.get("errors").is_some() || r.get("error").is_some());
    let allowed = if !wants_error {
        answer.kind == "data"
    } else {
        answer.kind == "data" || answer.kind == "error"
    };
    if !allowed {
        return (
            Verdict::Fail,
            Some(format!(
                "expected a data message, got {}: {}",
                answer.kind,
                clip(&answer.payload.to_string(), 300)
            )),
            None,
        );
    }
    // Compared like a body: without the HTTP status and headers.
    let mut judged = item.clone();
    if let Some(o) = judged.as_object_mut() {
        o.remove("status");
        o.remove("resp_headers");
        if let Some(Value::Array(list)) = o.get_mut("allowed_responses") {
            for e in list.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("resp_headers");
            }
        }
    }
    let o = judge_item(&judged, 200, &[], &Ok(answer.payload.clone()));
    if o.strict {
        (Verdict::Pass, None, None)
    } else {
        let diff = json!({"expected": expected, "actual": answer.payload});
        (Verdict::Fail, o.reason, Some(diff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_order() {
        assert_eq!(Verdict::Pass.worst(Verdict::Fail), Verdict::Fail);
        assert_eq!(Verdict::Error.worst(Verdict::Fail), Verdict::Error);
        assert_eq!(Verdict::Skip.worst(Verdict::Pass), Verdict::Pass);
    }

    #[test]
    fn floor_file() {
        let p = std::env::temp_dir().join(format!("graphedge-floor-{}", std::process::id()));
        std::fs::write(&p, "# comment\n 42 \n").unwrap();
        assert_eq!(read_floor(&p).unwrap(), 42);
        std::fs::write(&p, "x\n").unwrap();
        assert!(read_floor(&p).is_err());
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(random_token(), random_token());
    }
}
