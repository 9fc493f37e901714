#!/usr/bin/env bash
# Installs what graphedge needs to build, test and run `graphedge dev` on Debian/Ubuntu:
# the PostgreSQL server, PostGIS for its major version, the en_US.UTF-8 locale (the conformance
# suite sets lc_monetary to it) and a C linker. Idempotent and quiet when everything is present.
#
#   scripts/install-deps.sh          # system packages
#   scripts/install-deps.sh --wasm   # also the wasm toolchain used by scripts/wasm-core.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

WITH_WASM=""
for a in "$@"; do
  case "$a" in
    --wasm) WITH_WASM=1 ;;
    *) ge_die "unknown argument: $a" ;;
  esac
done

command -v cargo >/dev/null 2>&1 || ge_die "cargo not found: install Rust (https://rustup.rs), then rerun"
command -v cc >/dev/null 2>&1 || ge_apt_install gcc libc6-dev

# PostgreSQL server binaries, then PostGIS for the newest installed major.
pg_major() { ls -1 /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }
if [ -z "$(pg_major)" ] || [ ! -x "/usr/lib/postgresql/$(pg_major)/bin/initdb" ]; then
  ge_apt_install postgresql
fi
major="$(pg_major)"
[ -n "$major" ] || ge_die "PostgreSQL server binaries still missing after installing postgresql"
ge_apt_install "postgresql-$major-postgis-3" locales

# en_US.UTF-8 locale.
if ! locale -a 2>/dev/null | grep -qiE '^en_US\.utf-?8$'; then
  ge_log "generating the en_US.UTF-8 locale"
  if [ -f /etc/locale.gen ] && grep -qE '^# *en_US.UTF-8 UTF-8' /etc/locale.gen; then
    ge_as_root sed -i -E 's/^# *(en_US.UTF-8 UTF-8)/\1/' /etc/locale.gen
  elif ! grep -qE '^en_US.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    echo "en_US.UTF-8 UTF-8" | ge_as_root tee -a /etc/locale.gen >/dev/null
  fi
  if command -v locale-gen >/dev/null 2>&1; then
    ge_as_root locale-gen >/dev/null 2>&1 || ge_die "locale-gen failed"
  else
    ge_as_root localedef -i en_US -f UTF-8 en_US.UTF-8 || ge_die "localedef failed"
  fi
fi

if [ -n "$WITH_WASM" ]; then
  scripts/wasm-core.sh --install-only
fi
