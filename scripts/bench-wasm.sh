#!/usr/bin/env bash
# Per-request CPU time of the engine (graphedge_edge::handle, canned database) for the five bench
# queries, native and as wasm32-wasip2 under wasmtime: edge/wasm-bench. Prints both tables.
#   scripts/bench-wasm.sh [cold_iters] [warm_iters]
# Not part of CI. Installs the edge toolchain first when missing (scripts/edge-tools.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
source scripts/edge-env.sh
ROOT="$(pwd)"
TARGET_DIR="$ROOT/target/edge-wasm-bench"

ge_log "native build"
(cd edge/wasm-bench && cargo build --release --quiet --target-dir "$TARGET_DIR")
scripts/edge-tools.sh
ge_log "wasm32-wasip2 build"
(edge_wasm_env
 cd edge/wasm-bench && "$DEB_CARGO" build --release --quiet --target wasm32-wasip2 \
   -Zbuild-std=std,panic_abort --target-dir "$TARGET_DIR")

"$TARGET_DIR/release/graphedge-wasm-bench" "$@"
echo
"$EDGE_WASMTIME" run "$TARGET_DIR/wasm32-wasip2/release/graphedge-wasm-bench.wasm" "$@"
