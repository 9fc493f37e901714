#!/usr/bin/env bash
# The Chinook benchmark (../shared/bench, when present): `graphedge serve` (release build) vs
# PostGraphile v5 vs the SQL ceiling (pgbench running the equivalent single statement), in one
# run on one Postgres. Prints the harness's table (req/s, p50/p99, `vs SQL`, CPU per request).
#
# Usage: scripts/bench-chinook.sh                 (builds the release binary when missing)
# Knobs: BENCH_SRC=path to the bench (default ../shared/bench), BENCH_DIR=writable copy
#        (default $TMPDIR/graphedge-bench; kept between runs: its one-time install of node,
#        PostGraphile and oha takes ~10 minutes), PORT=18111, and the harness's own
#        (SYSTEMS="postgraphile engine sql" QUERIES="q1 .. q5" DURATION=10 ROUNDS=1 …).
# The harness starts Postgres (SCALE=1 data, ~8 s to generate) and PostGraphile when they are
# not running and stops what it started; graphedge runs as its ENGINE_CMD (background loops off).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_SRC=${BENCH_SRC:-$ROOT/../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/graphedge-bench}
PORT=${PORT:-18111}
BIN=${GRAPHEDGE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/graphedge}

if [ ! -x "$BENCH_DIR/run.sh" ]; then
  if [ ! -d "$BENCH_SRC" ]; then
    echo "bench-chinook: no benchmark at $BENCH_SRC (it lives in the shared workspace, not in"
    echo "this repository); set BENCH_SRC to a copy of it."
    exit 0
  fi
  mkdir -p "$(dirname "$BENCH_DIR")"
  cp -r "$BENCH_SRC" "$BENCH_DIR"
fi
if [ ! -x "$BENCH_DIR/tools/bin/oha" ]; then
  echo "bench-chinook: installing the bench's tools (node, PostGraphile, oha; once) ..." >&2
  "$BENCH_DIR/scripts/install.sh"
fi
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p graphedge-scheduler)

cd "$BENCH_DIR"
export ENGINE_URL="http://127.0.0.1:$PORT/v1/graphql"
# run.sh exports DATABASE_URL (its Postgres) to the engine's command.
export ENGINE_CMD="exec env HASURA_GRAPHQL_DATABASE_URL=\"\$DATABASE_URL\" \
HASURA_GRAPHQL_SERVER_PORT=$PORT GRAPHEDGE_ENABLE_BACKGROUND=false '$BIN' serve"
exec ./run.sh
