#!/usr/bin/env bash
# Installs Debian's `chromium` for the console's browser test (scheduler/tests/console.rs,
# driven by npm playwright-core, which brings no browser of its own). Idempotent: does
# nothing when a chromium is already on PATH. The test skips, saying so, without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

for b in chromium chromium-browser; do
  command -v "$b" >/dev/null 2>&1 && exit 0
done
ge_apt_install chromium
command -v chromium >/dev/null 2>&1 || ge_die "chromium still missing after installing it"
