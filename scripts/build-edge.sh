#!/usr/bin/env bash
# Builds an edge host (installing the toolchain first when missing):
#   scripts/build-edge.sh worker   # edge/worker/build/{index.js,index_bg.wasm} (worker-build)
#   scripts/build-edge.sh spin     # target/edge-spin/wasm32-wasip2/release/graphedge_spin.wasm
# Prints "size <host> <raw bytes> <gzip bytes>" last. `wrangler dev`/`deploy` and `spin build`
# call it through wrangler.toml / spin.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
source scripts/edge-env.sh
ROOT="$(pwd)"

host="${1:-}"
# Tests build once, then start hosts whose config would rebuild on every start (wrangler's
# [build] command): GRAPHEDGE_EDGE_PREBUILT=1 skips the build when the output exists.
if [ -n "${GRAPHEDGE_EDGE_PREBUILT:-}" ]; then
  case "$host" in
    worker) [ -f edge/worker/build/index.js ] && exit 0 ;;
    spin) [ -f target/edge-spin/wasm32-wasip2/release/graphedge_spin.wasm ] && exit 0 ;;
  esac
fi
scripts/edge-tools.sh
edge_wasm_env
case "$host" in
  worker)
    export WASM_BINDGEN_BIN="$EDGE_WASM_BINDGEN" WASM_OPT_BIN="$EDGE_NPM_BIN/wasm-opt" ESBUILD_BIN="$EDGE_ESBUILD"
    lock="$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/version = |"/,""); print; exit}' edge/worker/Cargo.lock)"
    [ "$lock" = "$WASM_BINDGEN_VERSION" ] || ge_die "edge/worker/Cargo.lock has wasm-bindgen $lock, the CLI is $WASM_BINDGEN_VERSION"
    (cd edge/worker && CARGO_TARGET_DIR="$ROOT/target/edge-worker" "$EDGE_WORKER_BUILD" --release) >&2
    out=edge/worker/build/index_bg.wasm
    ;;
  spin)
    (cd edge/spin && "$DEB_CARGO" build --release --target wasm32-wasip2 -Zbuild-std=std,panic_abort \
       --target-dir "$ROOT/target/edge-spin") >&2
    out=target/edge-spin/wasm32-wasip2/release/graphedge_spin.wasm
    [ "$(od -An -tx1 -j4 -N4 "$out" | tr -d ' ')" = "0d000100" ] || ge_die "$out is not a wasm component"
    ;;
  *) ge_die "usage: scripts/build-edge.sh worker|spin" ;;
esac
[ -f "$out" ] || ge_die "build produced no $out"
echo "size $host $(edge_size "$out")"
