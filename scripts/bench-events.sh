#!/usr/bin/env bash
# Event-trigger figures: sustained deliveries/s from `graphedge scheduler` to a local hyper
# receiver, and the added latency of a single-row INSERT on a table with an event trigger.
# Usage: scripts/bench-events.sh [events]   (default 20000; PROFILE=debug for a quicker build)
set -euo pipefail
cd "$(dirname "$0")/.."
profile_flag="--release"
[ "${PROFILE:-release}" = "debug" ] && profile_flag=""
BENCH_EVENTS="${1:-20000}" cargo test -p graphedge-scheduler $profile_flag --test events \
  -- --ignored bench_deliveries --nocapture 2>&1 | grep -E '^BENCH|test result'
