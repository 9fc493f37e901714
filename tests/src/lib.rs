//! Conformance runner for Hasura's `server/tests-py` YAML fixtures (see
//! `../shared/hasura-suite/RUNNER_SPEC.md`), driving a `graphedge serve` process over HTTP.
//!
//! Modules:
//! * [`plan`] – reading `PLAN.json` and the YAML fixture files (YAML → ordered JSON);
//! * [`compare`] – the response comparison rules of RUNNER_SPEC §7 (strict and Hasura verdicts);
//! * [`http`] – a small bounded HTTP client (every request times out);
//! * [`server`] – starting/stopping the server under test (killed on drop);
//! * [`runner`] – the execution algorithm (§4–§6) and reporting (§8);
//! * [`loopback`] – a loopback HTTP server for the edge hosts' outbound calls;
//! * [`console`] – the console's browser run (schema setup, the Playwright script), shared with
//!   the native test;
//! * [`pgtemp`] – throwaway Postgres clusters (the same file as `graphedge_scheduler::pgtemp`).

pub mod compare;
pub mod console;
pub mod http;
pub mod loopback;
#[path = "../../scheduler/src/pgtemp.rs"]
pub mod pgtemp;
pub mod plan;
pub mod runner;
pub mod server;
pub mod ws;
