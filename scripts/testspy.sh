#!/usr/bin/env bash
# The tests-py step of scripts/test: Hasura's own test harness (server/tests-py, kept beside this
# repository in ../shared/tests-py when it exists) starts the release binary exactly as it starts
# Hasura (TESTSPY_SHIM=0) for a fixed subset of its files, and the step fails when a file passes
# fewer tests than its floor in tests/testspy-floor.txt ("file floor" per line) twice: a file
# below its floor names its failed tests and runs once more alone. Tests of
# tests/testspy-racy.txt (the harness racing with itself) run but do not count.
#
#   scripts/testspy.sh [ENGINE_BIN]      # default target/release/graphedge
#
# The harness's venv and node modules are cached under target/testspy (the harness wants its
# working directory under /tmp: a symlink there points at the cache). Without ../shared/tests-py
# (a user's clone) the step says so and passes.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="${1:-$TARGET_DIR/release/graphedge}"
RUNNER="${TESTSPY_RUNNER:-../shared/tests-py/run.sh}"
FLOOR=tests/testspy-floor.txt

if [ ! -x "$RUNNER" ]; then
  echo "tests-py: $RUNNER is absent (Hasura's harness is not beside this clone): step skipped"
  exit 0
fi
if [ -z "${TESTSPY_PYTHON:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then
    export TESTSPY_PYTHON=python3.11
  elif python3 -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    export TESTSPY_PYTHON=python3
  else
    ge_die "tests-py: the harness's pinned requirements need Python 3.11 (python3.11 on PATH, or TESTSPY_PYTHON)"
  fi
fi
[ -x "$BIN" ] || ge_die "no engine binary at $BIN (cargo build --release -p graphedge-scheduler)"

cache="$(cd "$TARGET_DIR" && pwd)/testspy"
mkdir -p "$cache"
# One link per checkout (the path keys it), so two clones never share a working directory.
link="/tmp/graphedge-testspy-$(printf '%s' "$cache" | cksum | cut -d' ' -f1)"
ln -sfn "$cache" "$link"

# The files of tests/testspy-ws-floor.txt run with their websocket instances (TESTSPY_SKIP_WS=0:
# subscriptions), the others without (the harness deselects them by default).
WS_FLOOR=tests/testspy-ws-floor.txt
# The failed and errored tests of one file's JUnit XML, one per line with the start of the message,
# so that a CI log names the test that fell below a floor.
failed_tests() {
  [ -f "$1" ] || return 0
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).iter("testcase"):
    for outcome in case:
        if outcome.tag in ("failure", "error"):
            message = " ".join((outcome.get("message") or "").split())[:400]
            print(f"  {outcome.tag}: {case.get('classname')}::{case.get('name')}: {message}")
PY
}
# The passed tests of one file's JUnit XML that are not in tests/testspy-racy.txt, and how many
# of the racy ones passed ("COUNT RACY_PASSED RACY_TOTAL"); nothing without the XML.
RACY=tests/testspy-racy.txt
counted_passes() {
  [ -f "$1" ] || return 0
  python3 - "$1" "$RACY" <<'PY'
import sys, xml.etree.ElementTree as ET
racy = {l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")}
counted = racy_passed = racy_total = 0
for case in ET.parse(sys.argv[1]).iter("testcase"):
    test_id = f"{case.get('classname')}::{case.get('name')}"
    # A parametrized test counts as its base name's entry too.
    is_racy = test_id in racy or test_id.split("[")[0] in racy
    passed = not any(o.tag in ("failure", "error", "skipped") for o in case)
    if is_racy:
        racy_total += 1
        racy_passed += passed
    elif passed:
        counted += 1
print(counted, racy_passed, racy_total)
PY
}
# below PASSED FLOOR: true when the passed count is missing or under the floor.
below() { [ -z "$1" ] || [ "$1" -lt "$2" ]; }
fail=0
for floor_file in "$FLOOR" "$WS_FLOOR"; do
  mapfile -t files < <(awk '!/^#/ && NF {print $1}' "$floor_file")
  skip_ws=1
  [ "$floor_file" = "$WS_FLOOR" ] && skip_ws=0
  summary="$cache/summary-$(basename "$floor_file" .txt).txt"
  TESTSPY_SKIP_WS="$skip_ws" TESTSPY_SHIM=0 TESTSPY_DIR="$link" "$RUNNER" "$BIN" "${files[@]}" | tee "$summary"
  # Each file's passed count against its floor.
  while read -r file floor; do
    case "$file" in '#'* | '') continue ;; esac
    read -r passed racy_passed racy_total < <(counted_passes "$link/results/${file%.py}.xml")
    if [ "${racy_total:-0}" -gt 0 ]; then
      echo "tests-py: $file: $racy_passed of its $racy_total racy tests passed (tests/testspy-racy.txt; not counted)"
    fi
    below "$passed" "$floor" || continue
    echo "tests-py: $file passed ${passed:-nothing}, below its floor of $floor; its failures:"
    failed_tests "$link/results/${file%.py}.xml"
    # Once more, alone: some of the harness's own tests race with themselves on a busy machine
    # (TestSubscriptionBasicGraphQLWS opens a socket and at once a second one, and the first
    # one's on_open may wake the sender of the second before that one is connected). The floor
    # must hold on this run; the failures above stay in the log.
    retry="$cache/retry-${file%.py}.txt"
    TESTSPY_SKIP_WS="$skip_ws" TESTSPY_SHIM=0 TESTSPY_DIR="$link" "$RUNNER" "$BIN" "$file" >"$retry" 2>&1
    read -r passed _ _ < <(counted_passes "$link/results/${file%.py}.xml")
    if below "$passed" "$floor"; then
      echo "tests-py: $file passed ${passed:-nothing} on its second run too, below its floor of $floor; its failures:"
      failed_tests "$link/results/${file%.py}.xml"
      fail=1
    else
      echo "tests-py: $file passed $passed on its second run, at or above its floor of $floor"
    fi
  done <"$floor_file"
done
exit "$fail"
