#!/usr/bin/env bash
# The console's front-end (console/: React + GraphiQL + the Explorer plugin, npm packages
# pinned by console/package-lock.json) bundled with esbuild into what the engine embeds:
# console/dist/{console.js.gz,console.css.gz,favicon.ico} and edge/src/console/assets.rs.
# Both are committed, so building graphedge needs no npm; run this after changing console/.
#
#   scripts/build-console.sh           # rebuild the committed assets
#   scripts/build-console.sh --check   # run console/test, rebuild into a temporary folder and
#                                      # fail unless the committed assets are what it gives
# Prints "size console RAW GZIP" (script + stylesheet + icon) last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

check=""
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) ge_die "usage: scripts/build-console.sh [--check]" ;;
esac
command -v npm >/dev/null 2>&1 || ge_die "npm not found (apt-get install nodejs npm)"

# npm ci only when the lockfile changed since the last install.
stamp=console/node_modules/.graphedge-lock
if ! cmp -s console/package-lock.json "$stamp" 2>/dev/null; then
  (cd console && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp console/package-lock.json "$stamp"
fi

sizes() { # DIR -> "RAW GZIP" of the assets under DIR/console/dist
  local raw=0 gz=0 f
  for f in "$1"/console/dist/*; do
    case "$f" in
      *.gz) raw=$((raw + $(gzip -dc "$f" | wc -c))); gz=$((gz + $(stat -c %s "$f"))) ;;
      *) raw=$((raw + $(stat -c %s "$f"))); gz=$((gz + $(gzip -9 -c "$f" | wc -c))) ;;
    esac
  done
  echo "$raw $gz"
}

if [ -z "$check" ]; then
  (cd console && node build.mjs) >&2
  echo "size console $(sizes .)"
  exit 0
fi

(cd console && node --test test/) >&2 || ge_die "the console's unit tests (console/test) failed"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd console && node build.mjs --out "$tmp") >&2
diff -u edge/src/console/assets.rs "$tmp/edge/src/console/assets.rs" \
  || ge_die "edge/src/console/assets.rs is not what console/ builds: run scripts/build-console.sh"
for f in "$tmp"/console/dist/*; do
  name="$(basename "$f")"
  [ -f "console/dist/$name" ] || ge_die "console/dist/$name is missing: run scripts/build-console.sh"
  case "$name" in
    # gzip bytes may differ between zlib versions: compare the contents.
    *.gz) cmp -s <(gzip -dc "$f") <(gzip -dc "console/dist/$name") ;;
    *) cmp -s "$f" "console/dist/$name" ;;
  esac || ge_die "console/dist/$name is not what console/ builds: run scripts/build-console.sh"
done
[ "$(ls console/dist | wc -l)" = "$(ls "$tmp"/console/dist | wc -l)" ] \
  || ge_die "console/dist holds files the build does not make"
echo "console assets match console/"
echo "size console $(sizes .)"
