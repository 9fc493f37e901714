//! Pipelined reads: a few shared connections that carry many concurrent single-statement
//! queries at once.
//!
//! With a plain pool every in-flight request holds a connection of its own, so a Postgres
//! backend wakes up, runs one statement, writes, and sleeps again, once per request. On a
//! [`Pipeline`] connection tokio-postgres queues the Bind/Execute/Sync of every caller and
//! writes them together; the backend reads several per wake-up and the engine reads several
//! answers per `recv`. Each statement keeps its own `Sync`, so it is its own implicit
//! transaction and its errors stay its own, exactly as on a pooled connection. Measured on the
//! 2-core bench machine: Postgres CPU per Q2 request 50 µs → 30 µs.
//!
//! The cost of sharing is head-of-line blocking: an answer waits for the ones queued before it
//! on the same connection. So only statements known to be fast are pipelined:
//!
//! * every statement text has a timing: the EWMA of its duration beyond the network round trip
//!   (the shortest duration seen on the pool stands for the round trip, so a remote database
//!   is judged by what its statements cost, not by its distance). A statement runs on the pool
//!   until it has [`MIN_SAMPLES`] timings there averaging at most [`FAST`]; then it is
//!   pipelined. Measured on the pipeline (queueing included), an average above [`SLOW`] sends
//!   it back to the pool (hysteresis: no flapping between the two);
//! * a connection is chosen by the fewest statements in flight, skipping one that has made no
//!   progress for [`STALL`] (a statement that is slow this time, whatever its average) or has
//!   [`MAX_DEPTH`] in flight; when none qualifies the statement goes to the pool.
//!
//! **Abandoned statements.** A request dropped before its pipelined statement answered (its
//! client gave up) *poisons* the connection: no new statement is routed to it (the slot opens a
//! fresh one), and a task sends Postgres cancel requests — one every [`CANCEL_EVERY`] — until a
//! marker statement queued behind everything on it has answered, then lets it close. A cancel
//! request stops whatever that backend runs at that moment, which on a shared connection may be
//! another request's statement; a statement that fails with `query_canceled` on a poisoned
//! connection is therefore run again on the pool ([`Pipeline::query_one`] answers `None`) — a
//! cancelled statement changed nothing, so running it again is safe. So nobody waits behind an
//! abandoned statement, and nobody sees an error for it.
//!
//! Connections are opened on first use and reopened after a failure. Each is a deadpool
//! `ClientWrapper`, so its prepared statements go through the same bounded statement cache as
//! a pooled connection's ([`crate::db::prepare_cached`]) and live and die with it.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::ClientWrapper;
use graphedge_metadata::db::{DbError, Statement};

use crate::db::{Cancel, CANCEL_WAIT};

/// Pipelined once its average on the pool is at most this.
pub const FAST: Duration = Duration::from_millis(2);
/// Back to the pool once its average on the pipeline exceeds this.
pub const SLOW: Duration = Duration::from_millis(10);
/// Pool timings needed before a statement may be pipelined.
pub const MIN_SAMPLES: u32 = 3;
/// A connection with statements in flight and no answer for this long is passed over.
pub const STALL: Duration = Duration::from_millis(5);
/// Most statements in flight on one connection; past this they go to the pool, so a few
/// shared connections never cap the parallelism a large Postgres could give.
pub const MAX_DEPTH: usize = 8;
/// Statement texts whose timings are kept; past this the table starts over.
pub const TIMING_LIMIT: usize = 4096;
/// How often a poisoned connection is sent a cancel request until it has drained.
pub const CANCEL_EVERY: Duration = Duration::from_millis(100);
/// SQLSTATE `query_canceled`.
const QUERY_CANCELED: &str = "57014";

/// Opens one connection (plain or TLS, as the pool's `sslmode` says), its connection task
/// running (and aborted when the wrapper is dropped).
pub type Connect = Arc<
    dyn Fn()
            -> futures_util::future::BoxFuture<'static, Result<ClientWrapper, tokio_postgres::Error>>
        + Send
        + Sync,
>;

/// Where a statement should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Pool,
    Pipeline(usize),
}

pub struct Pipeline {
    connect: Connect,
    cancel: Cancel,
    slots: Vec<Slot>,
    timings: Mutex<HashMap<String, Timing>>,
    epoch: Instant,
    /// Statements run on the shared connections so far.
    served: AtomicU64,
    /// The shortest duration seen on the pool, microseconds: the round trip.
    floor_us: AtomicU64,
}

#[derive(Default)]
struct Slot {
    conn: tokio::sync::Mutex<Option<Arc<Shared>>>,
    in_flight: AtomicUsize,
    /// Microseconds since `epoch` of the last answer (or of the start of a busy period).
    progress: AtomicU64,
}

/// One shared connection.
struct Shared {
    client: ClientWrapper,
    /// A statement on it was abandoned: it takes no new statements and is being drained.
    poisoned: AtomicBool,
}

/// Watches one pipelined statement: dropped armed (its request abandoned before the answer),
/// it poisons the connection.
struct Watch<'a> {
    pipeline: &'a Pipeline,
    conn: &'a Arc<Shared>,
    armed: bool,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if self.armed && !self.conn.poisoned.swap(true, Ordering::SeqCst) {
            self.pipeline.drain(self.conn.clone());
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    /// Exponentially weighted average duration, microseconds.
    avg_us: f64,
    samples: u32,
    pipelined: bool,
}

impl Timing {
    fn record(&mut self, us: f64) {
        self.avg_us = if self.samples == 0 {
            us
        } else {
            0.8 * self.avg_us + 0.2 * us
        };
        self.samples = self.samples.saturating_add(1);
    }

    /// Takes a run of `us` beyond the round trip on `route`: pipelined once proven fast on the
    /// pool, back to the pool (timings reset) once slow pipelined.
    fn update(&mut self, route: Route, us: f64) {
        match route {
            Route::Pool if self.pipelined => {}
            Route::Pool => {
                self.record(us);
                if self.samples >= MIN_SAMPLES && self.avg_us <= FAST.as_micros() as f64 {
                    self.pipelined = true;
                }
            }
            Route::Pipeline(_) => {
                self.record(us);
                if self.avg_us > SLOW.as_micros() as f64 {
                    // Start over on the pool: its timings there decide again.
                    *self = Timing::default();
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts a statement in flight on a slot for as long as it lives (a cancelled request
/// included).
struct InFlight<'a> {
    pipeline: &'a Pipeline,
    slot: &'a Slot,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.slot
            .progress
            .store(self.pipeline.now_us(), Ordering::Relaxed);
        self.slot.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pipeline {
    /// `connections` shared connections (at least one), opened with `connect` on first use.
    pub fn new(connections: usize, connect: Connect, cancel: Cancel) -> Pipeline {
        Pipeline {
            connect,
            cancel,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            timings: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            served: AtomicU64::new(0),
            floor_us: AtomicU64::new(u64::MAX),
        }
    }

    /// The number of shared connections.
    pub fn connections(&self) -> usize {
        self.slots.len()
    }

    /// Statements run on the shared connections so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Where `sql` should run now.
    pub fn route(&self, sql: &str) -> Route {
        let pipelined = lock(&self.timings).get(sql).is_some_and(|t| t.pipelined);
        if !pipelined {
            return Route::Pool;
        }
        let now = self.now_us();
        let stall = STALL.as_micros() as u64;
        let mut best: Option<(usize, usize)> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let depth = slot.in_flight.load(Ordering::Relaxed);
            if depth >= MAX_DEPTH {
                continue;
            }
            if depth > 0 && now.saturating_sub(slot.progress.load(Ordering::Relaxed)) > stall {
                continue;
            }
            if best.is_none_or(|(_, d)| depth < d) {
                best = Some((i, depth));
            }
        }
        best.map_or(Route::Pool, |(i, _)| Route::Pipeline(i))
    }

    /// Records how long `sql` took where it ran, moving it between pool and pipeline.
    pub fn record(&self, sql: &str, route: Route, took: Duration) {
        let took_us = took.as_micros() as u64;
        if route == Route::Pool {
            self.floor_us.fetch_min(took_us, Ordering::Relaxed);
        }
        let us = took_us.saturating_sub(self.floor_us.load(Ordering::Relaxed)) as f64;
        let mut timings = lock(&self.timings);
        // One lookup for a known statement (every run but the first); the key is allocated
        // only for a new one.
        if let Some(t) = timings.get_mut(sql) {
            return t.update(route, us);
        }
        if timings.len() >= TIMING_LIMIT {
            timings.clear();
        }
        timings
            .entry(sql.to_string())
            .or_default()
            .update(route, us);
    }

    /// Runs `stmt` on shared connection `slot`; `None` when it was cancelled because another
    /// request abandoned its statement on that connection: the caller runs it again elsewhere.
    pub async fn query_one(
        &self,
        slot: usize,
        stmt: &Statement,
    ) -> Option<Result<Option<String>, DbError>> {
        let slot = &self.slots[slot];
        if slot.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
            slot.progress.store(self.now_us(), Ordering::Relaxed);
        }
        let _in_flight = InFlight {
            pipeline: self,
            slot,
        };
        let conn = match self.conn(slot).await {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        self.served.fetch_add(1, Ordering::Relaxed);
        crate::db::bound_cache(&conn.client);
        let mut watch = Watch {
            pipeline: self,
            conn: &conn,
            armed: true,
        };
        let out = crate::db::query_one_on(&conn.client, stmt).await;
        watch.armed = false;
        match out {
            Err(e)
                if e.code.as_deref() == Some(QUERY_CANCELED)
                    && conn.poisoned.load(Ordering::SeqCst) =>
            {
                None
            }
            out => Some(out),
        }
    }

    /// Drains a poisoned connection: a marker statement queued behind everything on it, and a
    /// cancel request every [`CANCEL_EVERY`] until the marker answered (at most
    /// [`CANCEL_WAIT`]). The connection closes when its last user lets go of it.
    fn drain(&self, conn: Arc<Shared>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        tracing::info!("request abandoned: cancelling its pipelined statement");
        let cancel = self.cancel.clone();
        runtime.spawn(async move {
            let until = tokio::time::Instant::now() + CANCEL_WAIT;
            let marker = conn.client.simple_query("");
            tokio::pin!(marker);
            // The first poll queues the marker.
            if futures_util::FutureExt::now_or_never(&mut marker).is_some() {
                return;
            }
            loop {
                let _ = tokio::time::timeout_at(until, cancel(conn.client.cancel_token())).await;
                let next = (tokio::time::Instant::now() + CANCEL_EVERY).min(until);
                if tokio::time::timeout_at(next, &mut marker).await.is_ok() || next >= until {
                    return;
                }
            }
        });
    }

    /// The slot's connection, opened (or reopened after a failure or a poisoning) when needed.
    async fn conn(&self, slot: &Slot) -> Result<Arc<Shared>, DbError> {
        let mut current = slot.conn.lock().await;
        if let Some(c) = &*current {
            if !c.client.is_closed() && !c.poisoned.load(Ordering::SeqCst) {
                return Ok(c.clone());
            }
        }
        *current = None;
        let client = (self.connect)().await.map_err(|e| {
            DbError::connection(format!(
                "cannot open a database connection: {}",
                graphedge_pg::error_chain(&e)
            ))
        })?;
        let c = Arc::new(Shared {
            client,
            poisoned: AtomicBool::new(false),
        });
        *current = Some(c.clone());
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(n: usize) -> Pipeline {
        let connect: Connect = Arc::new(|| {
            Box::pin(async {
                let config: tokio_postgres::Config = "host=127.0.0.1 port=1".parse().unwrap();
                let (c, _) = config.connect(tokio_postgres::NoTls).await?;
                Ok(ClientWrapper::new(c, tokio::spawn(async {})))
            })
        });
        let cancel: Cancel = Arc::new(|token: tokio_postgres::CancelToken| {
            Box::pin(async move { token.cancel_query(tokio_postgres::NoTls).await })
        });
        Pipeline::new(n, connect, cancel)
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn fast_statements_move_to_the_pipeline_and_slow_ones_back() {
        let p = pipeline(2);
        assert_eq!(p.route("q"), Route::Pool);
        for _ in 0..MIN_SAMPLES - 1 {
            p.record("q", Route::Pool, MS / 2);
        }
        assert_eq!(p.route("q"), Route::Pool, "not enough samples yet");
        p.record("q", Route::Pool, MS / 2);
        assert_eq!(p.route("q"), Route::Pipeline(0));
        // Queueing on the pipeline up to SLOW is tolerated...
        p.record("q", Route::Pipeline(0), SLOW / 2);
        assert!(matches!(p.route("q"), Route::Pipeline(_)));
        // ...a statement that turns slow goes back and must prove itself again.
        for _ in 0..20 {
            p.record("q", Route::Pipeline(0), SLOW * 3);
        }
        assert_eq!(p.route("q"), Route::Pool);
        // A statement that is slow on the pool never moves.
        for _ in 0..20 {
            p.record("slow", Route::Pool, FAST * 5);
        }
        assert_eq!(p.route("slow"), Route::Pool);
    }

    #[test]
    fn the_round_trip_is_not_held_against_a_statement() {
        let p = pipeline(1);
        // A distant database: 30 ms round trip, statements of 0.5 ms.
        p.record("tiny", Route::Pool, MS * 30);
        for _ in 0..MIN_SAMPLES {
            p.record("q", Route::Pool, MS * 30 + MS / 2);
        }
        assert_eq!(p.route("q"), Route::Pipeline(0));
        for _ in 0..MIN_SAMPLES {
            p.record("heavy", Route::Pool, MS * 30 + FAST * 3);
        }
        assert_eq!(p.route("heavy"), Route::Pool);
    }

    #[test]
    fn the_least_busy_live_connection_is_chosen() {
        let p = pipeline(3);
        for _ in 0..MIN_SAMPLES {
            p.record("q", Route::Pool, MS / 4);
        }
        let now = p.now_us();
        p.slots[0].in_flight.store(2, Ordering::Relaxed);
        p.slots[0].progress.store(now, Ordering::Relaxed);
        p.slots[1].in_flight.store(1, Ordering::Relaxed);
        p.slots[1].progress.store(now, Ordering::Relaxed);
        p.slots[2].in_flight.store(3, Ordering::Relaxed);
        p.slots[2].progress.store(now, Ordering::Relaxed);
        assert_eq!(p.route("q"), Route::Pipeline(1));
        // Slot 1 stalls: no answer for longer than STALL.
        std::thread::sleep(STALL + MS * 2);
        p.slots[0].progress.store(p.now_us(), Ordering::Relaxed);
        p.slots[2].progress.store(p.now_us(), Ordering::Relaxed);
        assert_eq!(p.route("q"), Route::Pipeline(0));
        // Every connection full or stalled: the pool.
        p.slots[0].in_flight.store(MAX_DEPTH, Ordering::Relaxed);
        p.slots[2].in_flight.store(MAX_DEPTH, Ordering::Relaxed);
        assert_eq!(p.route("q"), Route::Pool);
    }

    #[test]
    fn a_failed_connect_is_a_connection_error_and_leaves_no_count() {
        let p = pipeline(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(p.query_one(
                0,
                &Statement {
                    sql: "SELECT 1".into(),
                    params: vec![],
                },
            ))
            .expect("not a cancellation")
            .unwrap_err();
        assert!(err.connection, "{err:?}");
        assert_eq!(p.slots[0].in_flight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_timing_table_is_bounded() {
        let p = pipeline(1);
        for i in 0..TIMING_LIMIT + 10 {
            p.record(&format!("q{i}"), Route::Pool, MS);
        }
        assert!(lock(&p.timings).len() <= TIMING_LIMIT);
    }
}
