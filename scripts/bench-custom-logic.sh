#!/usr/bin/env bash
# Custom-logic figures: the added latency of a synchronous action and of a remote join (1 and
# 100 parent rows) over the handler's / remote's own time, median of N sequential requests.
# Usage: scripts/bench-custom-logic.sh [requests]   (default 200; PROFILE=debug for a quicker build)
set -euo pipefail
cd "$(dirname "$0")/.."
profile_flag="--release"
[ "${PROFILE:-release}" = "debug" ] && profile_flag=""
BENCH_REQUESTS="${1:-200}" cargo test -p graphedge-scheduler $profile_flag --test custom_logic_bench \
  -- --ignored bench_custom_logic_latency --nocapture 2>&1 | grep -E '^BENCH|test result|panicked'
