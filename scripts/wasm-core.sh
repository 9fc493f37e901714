#!/usr/bin/env bash
# Builds graphedge-core for wasm32-unknown-unknown and wasm32-wasip2, which is how CI enforces
# that core stays pure (no_std + alloc, no I/O). rustup cannot add wasm targets everywhere, so this
# uses Debian's `rustc-web` compiler with its std sources (`rust-web-src`) and `-Zbuild-std`:
# core is no_std and we build an rlib, so no libc or linker is needed.
#
#   scripts/wasm-core.sh                 # install the toolchain if missing, then build
#   scripts/wasm-core.sh --install-only  # only install the toolchain
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

RUSTC_WEB=/usr/bin/rustc
CARGO_WEB=/usr/bin/cargo
ge_apt_install rustc-web cargo-web rust-web-src
[ -x "$RUSTC_WEB" ] && [ -x "$CARGO_WEB" ] || ge_die "rustc-web/cargo-web did not provide $RUSTC_WEB and $CARGO_WEB"
SRC="$("$RUSTC_WEB" --print sysroot)/lib/rustlib/src/rust/library/core/Cargo.toml"
[ -f "$SRC" ] || ge_die "missing $SRC (Debian package rust-web-src)"
[ "${1:-}" = "--install-only" ] && exit 0

export RUSTC="$RUSTC_WEB" RUSTC_BOOTSTRAP=1
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER CARGO_TARGET_DIR
for target in wasm32-unknown-unknown wasm32-wasip2; do
  log="$(mktemp)"
  if ! "$CARGO_WEB" build -q -p graphedge-core --lib --target "$target" \
       -Zbuild-std=core,alloc --target-dir target/wasm >"$log" 2>&1; then
    cat "$log" >&2
    ge_die "graphedge-core does not build for $target"
  fi
  rm -f "$log"
  ge_log "graphedge-core builds for $target"
done
