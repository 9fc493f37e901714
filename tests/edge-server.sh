#!/usr/bin/env bash
# Runs graphedge at the edge the way users deploy it, as ONE command the conformance runner can
# start and stop like the native binary:
#
#   GRAPHEDGE_EDGE_HOST=worker|spin GRAPHEDGE_BIN=target/release/graphedge \
#     tests/edge-server.sh serve      # with HASURA_GRAPHQL_* (DATABASE_URL, SERVER_PORT, ...)
#
# 1. the native `graphedge serve` with its SQL gateway (Neon's protocol at POST /sql) on a free
#    port, background loops off — the Postgres side a self-hosted deployment runs on a VM;
# 2. the edge host on HASURA_GRAPHQL_SERVER_PORT, reaching Postgres only through that gateway:
#    `worker`: the Worker under `wrangler dev` (real workerd), `spin`: the Spin component under
#    `wasmtime serve` (wasi:http). Same HASURA_GRAPHQL_* settings.
# The hosts must be built first (scripts/build-edge.sh). The runner kills the process group.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/edge-env.sh
[ "${1:-}" = serve ] || { echo "usage: $0 serve" >&2; exit 2; }
host="${GRAPHEDGE_EDGE_HOST:?set GRAPHEDGE_EDGE_HOST=worker|spin}"
bin="${GRAPHEDGE_BIN:-target/release/graphedge}"
port="${HASURA_GRAPHQL_SERVER_PORT:?}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw_port="$(free_port)"
token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"

GRAPHEDGE_ENABLE_SQL_GATEWAY=true GRAPHEDGE_GATEWAY_SECRET="$token" GRAPHEDGE_ENABLE_BACKGROUND=false \
  HASURA_GRAPHQL_SERVER_PORT="$gw_port" "$bin" serve &
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$gw_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# The edge host's settings: every HASURA_GRAPHQL_* variable, the response-cache settings when
# set (GRAPHEDGE_RESPONSE_CACHE_BYTES, GRAPHEDGE_WORKERS_CACHE), the variables named in
# GRAPHEDGE_EDGE_PASS_VARS (a source's from_env, its endpoint settings), plus the transport.
vars=()
while IFS='=' read -r k v; do
  [ "$k" = HASURA_GRAPHQL_SERVER_PORT ] || vars+=("$k=$v")
done < <(env | grep -E '^(HASURA_GRAPHQL_[A-Z_]+|GRAPHEDGE_RESPONSE_CACHE_BYTES|GRAPHEDGE_WORKERS_CACHE)=' || true)
for k in ${GRAPHEDGE_EDGE_PASS_VARS:-}; do
  [[ "$k" =~ ^HASURA_GRAPHQL_ ]] || vars+=("$k=${!k:-}")
done
vars+=("GRAPHEDGE_SQL_ENDPOINT=http://127.0.0.1:$gw_port/sql" "GRAPHEDGE_SQL_AUTH_TOKEN=$token"
       "GRAPHEDGE_METADATA_MAX_STALENESS=${GRAPHEDGE_METADATA_MAX_STALENESS:-0}"
       # Websockets (subscriptions): the Worker passes them to the native process.
       "GRAPHEDGE_WEBSOCKET_URL=http://127.0.0.1:$gw_port")

case "$host" in
  worker)
    edge_wrangler_env
    export GRAPHEDGE_EDGE_PREBUILT=1
    [ -f edge/worker/build/index.js ] || { echo "edge-server: build the Worker first (scripts/build-edge.sh worker)" >&2; exit 1; }
    args=()
    for kv in "${vars[@]}"; do args+=(--var "${kv%%=*}:${kv#*=}"); done
    exec "$EDGE_NPM_BIN/wrangler" dev --config wrangler.toml --ip 127.0.0.1 --port "$port" \
      --show-interactive-dev-session=false --log-level "${GRAPHEDGE_WRANGLER_LOG_LEVEL:-warn}" "${args[@]}"
    ;;
  spin)
    wasm=target/edge-spin/wasm32-wasip2/release/graphedge_spin.wasm
    [ -f "$wasm" ] || { echo "edge-server: build the component first (scripts/build-edge.sh spin)" >&2; exit 1; }
    args=()
    for kv in "${vars[@]}"; do args+=(--env "$kv"); done
    exec "$EDGE_WASMTIME" serve -Scli --addr "127.0.0.1:$port" "${args[@]}" "$wasm"
    ;;
  *) echo "edge-server: unknown GRAPHEDGE_EDGE_HOST=$host" >&2; exit 2 ;;
esac
