#!/usr/bin/env bash
# Edge figures for the closing note (not part of CI):
#   scripts/bench-edge.sh coldstart   # per host: first-request latency after the runtime starts,
#                                     # then the median of 20 warm requests (demo schema)
# Starts `graphedge dev` (a throwaway Postgres with the demo schema) for the database, then each
# host through tests/edge-server.sh (its SQL gateway + `wrangler dev` | `wasmtime serve`).
# Build first: cargo build --release -p graphedge-scheduler; scripts/build-edge.sh worker|spin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
BIN="${GRAPHEDGE_BIN:-target/release/graphedge}"
[ -x "$BIN" ] || ge_die "build $BIN first"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

dev_port="$(free_port)"
setsid "$BIN" dev --server-port "$dev_port" --enable-background=false >"$work/dev.log" 2>&1 & pids+=($!)
for _ in $(seq 1 300); do grep -q '^Demo database:' "$work/dev.log" 2>/dev/null && break; sleep 0.1; done
db="$(grep -oE 'postgres://[^ ]+' "$work/dev.log" | head -n 1)"
[ -n "$db" ] || ge_die "graphedge dev did not start: $(tail -n 5 "$work/dev.log")"

query='{"query":"{ author { name articles { title } } }"}'
req() { curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$1/v1/graphql" -d "$query"; }
for host in ${HOSTS:-worker spin}; do
  port="$(free_port)"
  start=$(date +%s.%N)
  HASURA_GRAPHQL_DATABASE_URL="$db" HASURA_GRAPHQL_SERVER_PORT="$port" GRAPHEDGE_EDGE_HOST="$host" \
    GRAPHEDGE_BIN="$BIN" GRAPHEDGE_METADATA_MAX_STALENESS=5 setsid tests/edge-server.sh serve >"$work/$host.log" 2>&1 & pids+=($!)
  until curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do sleep 0.02; done
  ready=$(date +%s.%N)
  first="$(req "$port")"
  warm="$(for _ in $(seq 1 20); do req "$port"; done | sort -n | sed -n 10p)"
  printf '%s: runtime ready in %.1f s; first request %.1f ms; warm median %.1f ms\n' "$host" \
    "$(echo "$ready - $start" | bc)" "$(echo "$first * 1000" | bc)" "$(echo "$warm * 1000" | bc)"
  kill -- "-${pids[-1]}" 2>/dev/null || true
done
