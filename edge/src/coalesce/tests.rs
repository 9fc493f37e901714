//! Unit tests of `coalesce`: requests driven by hand (polled in order, runs gated), on a
//! clock the test moves.
use super::*;
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;

/// A request in flight (`None` once answered).
type Slot<'a> = Option<Pin<Box<dyn Future<Output = Outcome> + 'a>>>;

/// A clock the test moves by hand; its timers fire when `fired` is set.
#[derive(Default)]
struct Manual(AtomicU64, Arc<std::sync::atomic::AtomicBool>);
impl Clock for Manual {
    fn now_unix(&self) -> i64 {
        0
    }
    fn monotonic_micros(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed))
    }
    fn sleep(&self, _: Duration) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        let fired = self.1.clone();
        Some(Box::pin(std::future::poll_fn(move |_| {
            if fired.load(Ordering::Relaxed) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })))
    }
}

fn stmt(p: &str) -> Statement {
    Statement {
        sql: "SELECT $1::text".into(),
        params: vec![Some(p.into())],
    }
}

/// A run that finishes when the test says so, recording that it started.
#[derive(Default)]
struct Gate {
    open: RefCell<Option<Outcome>>,
    started: RefCell<usize>,
    waker: RefCell<Vec<Waker>>,
}

impl Gate {
    fn release(&self, out: &str) {
        *self.open.borrow_mut() = Some(Ok(Some(out.into())));
        for w in self.waker.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

async fn gated(g: Rc<Gate>) -> Outcome {
    *g.started.borrow_mut() += 1;
    std::future::poll_fn(|cx| match g.open.borrow().clone() {
        Some(out) => Poll::Ready(out),
        None => {
            g.waker.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}

/// A request for `s` whose run is gated by `g`.
fn request<'a>(
    flights: &'a Flights,
    s: &'a Statement,
    clock: Option<&'a dyn Clock>,
    g: &Rc<Gate>,
) -> Slot<'a> {
    let g = g.clone();
    Some(Box::pin(
        flights.run(s, clock, BATCH_BUDGET, move |_| gated(g.clone())),
    ))
}

/// Polls each future once (in order); returns the finished ones' outputs.
fn step(futs: &mut [Slot<'_>]) -> Vec<Option<String>> {
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut done = Vec::new();
    for slot in futs.iter_mut() {
        if let Some(f) = slot {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                done.push(out.unwrap());
                *slot = None;
            }
        }
    }
    done
}

#[test]
fn a_large_answer_lets_the_next_run_go_first() {
    let flights = Flights::default();
    let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
    let s = stmt("a");
    let mut futs: Vec<Slot<'_>> = [&g1, &g2, &g2]
        .into_iter()
        .map(|g| request(&flights, &s, None, g))
        .collect();
    assert!(step(&mut futs).is_empty());
    let big = "x".repeat(LARGE_ANSWER + 1);
    g1.release(&big);
    // The first run's answer waits one turn; the waiting cohort's run starts meanwhile.
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g2.started.borrow(), 1);
    assert_eq!(step(&mut futs), vec![Some(big.clone())]);
    // A cohort member with a large answer also takes one turn; nothing waits behind it.
    g2.release(&big);
    assert_eq!(step(&mut futs), vec![Some(big.clone())]);
    assert_eq!(step(&mut futs), vec![Some(big)]);
    assert!(flights.inner.lock().unwrap().map.is_empty());
}

#[test]
fn a_request_joins_only_a_run_not_yet_sent() {
    let flights = Flights::default();
    let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
    let s = stmt("a");
    let other = Statement {
        sql: "SELECT $1::int4".into(),
        params: vec![Some("1".into())],
    };
    let mut futs: Vec<Slot<'_>> = Vec::new();
    // A runs at once.
    futs.push(request(&flights, &s, None, &g1));
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g1.started.borrow(), 1);
    // B and C arrive while A's run is in flight: they form the next cohort (B leads).
    for _ in 0..2 {
        futs.push(request(&flights, &s, None, &g2));
    }
    // A different statement is not affected.
    futs.push(Some(Box::pin(flights.run(
        &other,
        None,
        BATCH_BUDGET,
        |_| async { Ok(Some("other".into())) },
    ))));
    assert_eq!(step(&mut futs), vec![Some("other".to_string())]);
    assert_eq!(
        *g2.started.borrow(),
        0,
        "the cohort waits for the run in flight"
    );
    g1.release("first");
    assert_eq!(step(&mut futs), vec![Some("first".to_string())]);
    assert_eq!(*g2.started.borrow(), 1, "one run for the cohort of two");
    // D arrives while the cohort's run is in flight: it waits for the next one.
    let g3 = Rc::new(Gate::default());
    futs.push(request(&flights, &s, None, &g3));
    g2.release("second");
    assert_eq!(
        step(&mut futs),
        vec![Some("second".to_string()), Some("second".to_string())]
    );
    assert_eq!(*g3.started.borrow(), 1);
    g3.release("third");
    assert_eq!(step(&mut futs), vec![Some("third".to_string())]);
    assert_eq!(flights.shared(), 1);
    assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
}

#[test]
fn a_cancelled_leader_leaves_nobody_waiting() {
    let flights = Flights::default();
    let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
    let s = stmt("a");
    let mut a: Slot<'_> = request(&flights, &s, None, &g1);
    assert!(step(std::slice::from_mut(&mut a)).is_empty());
    // B leads the next cohort, C follows it.
    let mut b: Slot<'_> = request(&flights, &s, None, &g2);
    let mut c: Slot<'_> = Some(Box::pin(flights.run(&s, None, BATCH_BUDGET, |_| async {
        Ok(Some("alone".into()))
    })));
    assert!(step(std::slice::from_mut(&mut b)).is_empty());
    assert!(step(std::slice::from_mut(&mut c)).is_empty());
    // B is cancelled while waiting: C runs alone once A is done.
    drop(b);
    assert_eq!(
        step(std::slice::from_mut(&mut c)),
        vec![Some("alone".to_string())]
    );
    // A is cancelled mid-run: the statement is free again.
    drop(a);
    assert!(lock(&flights.inner).map.is_empty());
    let mut d: Slot<'_> = Some(Box::pin(flights.run(&s, None, BATCH_BUDGET, |_| async {
        Ok(Some("fresh".into()))
    })));
    assert_eq!(
        step(std::slice::from_mut(&mut d)),
        vec![Some("fresh".to_string())]
    );
    assert_eq!(*g2.started.borrow(), 0);
}

#[test]
fn errors_are_shared_like_answers() {
    let flights = Flights::default();
    let g1 = Rc::new(Gate::default());
    let s = stmt("a");
    let g = g1.clone();
    let mut futs: Vec<Slot<'_>> = Vec::new();
    futs.push(Some(Box::pin(flights.run(
        &s,
        None,
        BATCH_BUDGET,
        move |_| gated(g.clone()),
    ))));
    for _ in 0..3 {
        futs.push(Some(Box::pin(flights.run(
            &s,
            None,
            BATCH_BUDGET,
            |_| async {
                Err(DbError {
                    code: Some("22012".into()),
                    message: "division by zero".into(),
                    ..Default::default()
                })
            },
        ))));
    }
    assert!(step(&mut futs).is_empty());
    g1.release("first");
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut errors = 0;
    let mut answers = 0;
    for slot in futs.iter_mut().flatten() {
        match slot.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(_)) => answers += 1,
            Poll::Ready(Err(e)) => {
                assert_eq!(e.code.as_deref(), Some("22012"));
                errors += 1
            }
            Poll::Pending => panic!("nobody is left waiting"),
        }
    }
    assert_eq!((answers, errors), (1, 3));
    assert_eq!(flights.shared(), 2);
}

#[test]
fn slow_statements_run_on_their_own() {
    let flights = Flights::default();
    let clock = Manual::default();
    let s = stmt("a");
    let slow = |_| async {
        clock
            .0
            .fetch_add(SLOW_RUN.as_micros() as u64 + 1, Ordering::Relaxed);
        Ok(Some("slow".into()))
    };
    let mut a: Slot<'_> = Some(Box::pin(flights.run(&s, Some(&clock), BATCH_BUDGET, slow)));
    assert_eq!(
        step(std::slice::from_mut(&mut a)),
        vec![Some("slow".to_string())]
    );
    // Now two requests at once both run: nobody waits behind a slow run.
    let g = Rc::new(Gate::default());
    let mut futs: Vec<Slot<'_>> = Vec::new();
    for _ in 0..2 {
        futs.push(request(&flights, &s, Some(&clock), &g));
    }
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g.started.borrow(), 2);
    // A quick run makes it eligible again.
    g.release("quick");
    assert_eq!(step(&mut futs).len(), 2);
    assert!(!lock(&flights.inner).slow.contains(&flights.text_hash(&s)));
}

#[test]
fn a_hung_run_holds_the_next_cohort_only_so_long() {
    let flights = Flights::default();
    let clock = Manual::default();
    let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
    let s = stmt("a");
    // A's run hangs; B opens the next cohort, C joins it.
    let mut futs: Vec<Slot<'_>> = [&g1, &g2, &g2]
        .into_iter()
        .map(|g| request(&flights, &s, Some(&clock), g))
        .collect();
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g2.started.borrow(), 0);
    // Past PATIENCE the cohort runs anyway, and no later request joins it (it is sent).
    clock.1.store(true, Ordering::Relaxed);
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g2.started.borrow(), 1);
    let g3 = Rc::new(Gate::default());
    futs.push(request(&flights, &s, Some(&clock), &g3));
    assert!(step(&mut futs).is_empty());
    assert_eq!(
        *g3.started.borrow(),
        1,
        "D did not join the cohort already sent"
    );
    g2.release("second");
    assert_eq!(step(&mut futs), vec![Some("second".to_string()); 2]);
    g3.release("third");
    g1.release("first");
    assert_eq!(step(&mut futs).len(), 2);
    assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
}

/// A request for `s` whose run is gated by `g`, noting the batch it is asked to run.
fn batching<'a>(
    flights: &'a Flights,
    s: &'a Statement,
    g: &Rc<Gate>,
    seen: &Rc<RefCell<Vec<Statement>>>,
) -> Slot<'a> {
    let (g, seen) = (g.clone(), seen.clone());
    Some(Box::pin(flights.run(s, None, BATCH_BUDGET, move |batch| {
        seen.borrow_mut().extend(batch);
        gated(g.clone())
    })))
}

#[test]
fn requests_with_other_parameters_share_one_batch() {
    let flights = Flights::default();
    let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (a, b, c) = (stmt("a"), stmt("b"), stmt("c\"x"));
    let mut futs = vec![batching(&flights, &a, &g1, &seen)];
    assert!(step(&mut futs).is_empty());
    // While A's run is in flight, B, C and another B arrive: one cohort of two rows.
    for s in [&b, &c, &b] {
        futs.push(batching(&flights, s, &g2, &seen));
    }
    assert!(step(&mut futs).is_empty());
    assert_eq!(
        *g2.started.borrow(),
        0,
        "the cohort waits for the run in flight"
    );
    g1.release("A");
    assert_eq!(step(&mut futs), vec![Some("A".to_string())]);
    assert_eq!(*g2.started.borrow(), 1, "one run for the cohort");
    let batch = seen.borrow()[0].clone();
    assert_eq!(
        batch.sql,
        graphedge_core::batch::batched_sql(&b.sql, 1).unwrap()
    );
    assert_eq!(batch.params, vec![Some("{\"b\",\"c\\\"x\"}".to_string())]);
    g2.release("B\u{1e}C");
    assert_eq!(
        step(&mut futs),
        vec![Some("B".into()), Some("C".into()), Some("B".into())]
    );
    assert_eq!((flights.batched(), flights.shared()), (2, 2));
    assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
}

/// A cohort of B and C whose batch gets `batch_outcome`: what each member answers, and
/// how many runs of their own the members made.
fn failed_batch(flights: &Flights, batch_outcome: Outcome) -> (Vec<Option<String>>, usize) {
    let g1 = Rc::new(Gate::default());
    let (a, b, c) = (stmt("a"), stmt("b"), stmt("c"));
    let alone = Rc::new(RefCell::new(0));
    let mut futs = vec![request(flights, &a, None, &g1)];
    for s in [&b, &c] {
        let (alone, batch_outcome) = (alone.clone(), batch_outcome.clone());
        let own = s.params[0].clone();
        futs.push(Some(Box::pin(flights.run(
            s,
            None,
            BATCH_BUDGET,
            move |batch| {
                let out = match batch {
                    Some(_) => batch_outcome.clone(),
                    None => {
                        *alone.borrow_mut() += 1;
                        Ok(own.clone())
                    }
                };
                async move { out }
            },
        ))));
    }
    assert!(step(&mut futs).is_empty());
    g1.release("A");
    let mut answers = step(&mut futs);
    answers.extend(step(&mut futs));
    assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
    let runs = *alone.borrow();
    (answers, runs)
}

#[test]
fn a_batch_without_answers_lets_each_member_run_alone() {
    let every = vec![Some("A".to_string()), Some("b".into()), Some("c".into())];
    // One row's parameters fail the statement: this batch only.
    let flights = Flights::default();
    let bad_value = DbError {
        code: Some("22P02".into()),
        message: "invalid input syntax for type integer".into(),
        ..Default::default()
    };
    assert_eq!(failed_batch(&flights, Err(bad_value)), (every.clone(), 2));
    assert!(lock(&flights.inner).unbatchable.is_empty());
    // An answer that does not split into one per row.
    assert_eq!(
        failed_batch(&flights, Ok(Some("x".into()))),
        (every.clone(), 2)
    );
    assert_eq!(flights.batched(), 0);
    // Postgres refuses the rewrite: the text is not batched again, so requests with other
    // parameters no longer wait for each other.
    let refused = DbError {
        code: Some("42P10".into()),
        message: "argument of LIMIT must not contain variables".into(),
        ..Default::default()
    };
    assert_eq!(failed_batch(&flights, Err(refused)), (every, 2));
    assert!(lock(&flights.inner)
        .unbatchable
        .contains(&flights.text_hash(&stmt("a"))));
    let g = Rc::new(Gate::default());
    let (a, b) = (stmt("a"), stmt("b"));
    let mut futs = vec![
        request(&flights, &a, None, &g),
        request(&flights, &b, None, &g),
    ];
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g.started.borrow(), 2, "both run at once");
}

#[test]
fn a_full_cohort_lets_later_requests_run_alone() {
    let flights = Flights::default();
    let g = Rc::new(Gate::default());
    let first = stmt("first");
    let others: Vec<Statement> = (0..=MAX_BATCH).map(|i| stmt(&i.to_string())).collect();
    let mut futs = vec![request(&flights, &first, None, &g)];
    for s in &others {
        futs.push(request(&flights, s, None, &g));
    }
    assert!(step(&mut futs).is_empty());
    // The first runs, MAX_BATCH wait in the cohort, the one over runs at once.
    assert_eq!(*g.started.borrow(), 2);
    assert_eq!(lock(&flights.inner).map.len(), 1);
}

#[test]
fn statements_without_parameters_only_coalesce() {
    let flights = Flights::default();
    let g = Rc::new(Gate::default());
    let s = Statement {
        sql: "SELECT 1".into(),
        params: vec![],
    };
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut futs: Vec<Slot<'_>> = (0..3).map(|_| batching(&flights, &s, &g, &seen)).collect();
    assert!(step(&mut futs).is_empty());
    g.release("1");
    assert_eq!(step(&mut futs), vec![Some("1".to_string()); 3]);
    assert!(seen.borrow().is_empty(), "no batch");
    assert_eq!(*g.started.borrow(), 2, "the second and third share a run");
}

#[test]
fn heavy_statements_are_not_batched() {
    let flights = Flights::default();
    let clock = Manual::default();
    let heavy = |_| async {
        clock
            .0
            .fetch_add(BATCH_BUDGET.as_micros() as u64 + 1, Ordering::Relaxed);
        Ok(Some("heavy".into()))
    };
    let a = stmt("a");
    let mut first: Slot<'_> = Some(Box::pin(flights.run(&a, Some(&clock), BATCH_BUDGET, heavy)));
    assert_eq!(step(std::slice::from_mut(&mut first)).len(), 1);
    // Over the budget per row: requests with other parameters run at once, side by side;
    // identical ones still share a run.
    let g = Rc::new(Gate::default());
    let (b, c) = (stmt("b"), stmt("c"));
    let mut futs: Vec<Slot<'_>> = [&a, &b, &c, &c]
        .into_iter()
        .map(|s| request(&flights, s, Some(&clock), &g))
        .collect();
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g.started.borrow(), 3);
    g.release("x");
    assert_eq!(step(&mut futs).len(), 4);
    // A zero budget batches nothing, whatever the timings.
    let fresh = Flights::default();
    let g = Rc::new(Gate::default());
    let mut futs: Vec<Slot<'_>> = [&a, &b, &c]
        .into_iter()
        .map(|s| {
            Some(Box::pin(fresh.run(s, None, Duration::ZERO, {
                let g = g.clone();
                move |_| gated(g.clone())
            })) as Pin<Box<dyn Future<Output = Outcome>>>)
        })
        .collect();
    assert!(step(&mut futs).is_empty());
    assert_eq!(*g.started.borrow(), 3);
}

#[test]
fn requests_with_large_parameters_are_not_batched() {
    let flights = Flights::default();
    let g = Rc::new(Gate::default());
    let (a, b) = (stmt("a"), stmt(&"b".repeat(MAX_BATCH_PARAMS + 1)));
    let c = stmt(&"c".repeat(MAX_BATCH_PARAMS + 1));
    let mut futs: Vec<Slot<'_>> = [&a, &b, &c]
        .into_iter()
        .map(|s| request(&flights, s, None, &g))
        .collect();
    assert!(step(&mut futs).is_empty());
    assert_eq!(
        *g.started.borrow(),
        3,
        "the large ones run at once, on their own"
    );
}

#[test]
fn a_statement_is_judged_by_its_shortest_recent_run() {
    let mut w = Window::new(300);
    // Runs that waited behind others do not make it look heavier...
    for _ in 0..WINDOW * 3 / 2 {
        w.record(300);
        w.record(5_000);
    }
    assert_eq!(w.shortest(), 300);
    // ...but a statement that became heavy is seen as such within two windows.
    for _ in 0..WINDOW * 2 {
        w.record(3_000);
    }
    assert_eq!(w.shortest(), 3_000);
}

#[test]
fn a_heavy_batched_statement_has_two_runs_in_flight() {
    // Runs in flight for requests with four other parameter lists, after one run of `per_row`.
    let runs_at_once = |per_row: Duration| {
        let flights = Flights::default();
        let clock = Manual::default();
        let timed = |_| async {
            clock
                .0
                .fetch_add(per_row.as_micros() as u64, Ordering::Relaxed);
            Ok(Some("first".into()))
        };
        let first_stmt = stmt("first");
        let mut first: Slot<'_> = Some(Box::pin(flights.run(
            &first_stmt,
            Some(&clock),
            BATCH_BUDGET,
            timed,
        )));
        assert_eq!(step(std::slice::from_mut(&mut first)).len(), 1);
        let g = Rc::new(Gate::default());
        let stmts: Vec<Statement> = ["a", "b", "c", "d"].into_iter().map(stmt).collect();
        let mut futs: Vec<Slot<'_>> = stmts
            .iter()
            .map(|s| request(&flights, s, Some(&clock), &g))
            .collect();
        assert!(step(&mut futs).is_empty());
        let started = *g.started.borrow();
        g.release("x");
        while futs.iter().any(Option::is_some) {
            step(&mut futs);
        }
        assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
        started
    };
    // A quick statement: one run, the others wait for it as one cohort (a bigger batch).
    assert_eq!(runs_at_once(HEAVY_ROW / 4), 1);
    // A heavy one: a second run goes at once beside the first; the rest wait as one cohort.
    assert_eq!(runs_at_once(HEAVY_ROW), HEAVY_LANES);
}
