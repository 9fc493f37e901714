#!/usr/bin/env bash
# Live-query figures: N websockets × M subscriptions (one cohort each) on one native
# `graphedge serve`, with change watching (the default) and without it
# (GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES=false, Hasura's polling): time to the first results,
# SQL statements/s (pg_stat_statements), server CPU and RSS, idle and under writes, and the
# change → client latency. See scheduler/examples/bench_subscriptions.rs.
#
# Usage: scripts/bench-subscriptions.sh [options]     (options go to the example; --help)
#   scripts/bench-subscriptions.sh                                   # 1,000 × 10, 30 s phases
#   scripts/bench-subscriptions.sh --sockets 100 --seconds 10        # a quick run
# Knobs: PROFILE=release (the example and the server are built with it), PG_BIN=dir,
#        HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_{REFETCH_INTERVAL,BATCH_SIZE} (passed on).
# Everything it starts (a throwaway Postgres, graphedge) is stopped on exit; the server's log is
# left in <target>/bench-subscriptions/.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
profile_flag=--release
[ "$profile" = debug ] && profile_flag=""

# Client sockets and the server's (it inherits the limit) plus Postgres connections and files.
want=8192
soft=$(ulimit -Sn)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
    ulimit -n "$want"
  else
    ulimit -n "$hard"
  fi
fi

cargo build $profile_flag -q -p graphedge-scheduler --bin graphedge --example bench_subscriptions
target=${CARGO_TARGET_DIR:-target}
exec "$target/$profile/examples/bench_subscriptions" --graphedge "$target/$profile/graphedge" "$@"
