#!/usr/bin/env bash
# Mutation throughput: graphedge's /v1/graphql vs the same SQL through pgbench, on one
# throwaway Postgres 15 cluster that this script creates and removes.
#
#   (a) bulk insert: one `insert_bench_item(objects: $objects)` with 1,000 rows per request
#       vs `INSERT … VALUES (1,000 rows)` via `pgbench -M prepared`
#   (b) single-row update: `update_bench_item_by_pk(pk_columns: {id: 1}, _inc: {v: 1})`
#       vs `UPDATE … SET v = v + 1 WHERE id = 1 RETURNING …` via `pgbench -M prepared`
# pgbench runs each twice: as one plain statement, and in the shape of graphedge's mutation
# plan (one transaction: set_config, the data-modifying CTE step, the `data` statement).
#
# Usage: scripts/bench-mutations.sh        (after `cargo build --release -p graphedge-scheduler`)
# Knobs: DURATION=10 CONCURRENCY=8 ROWS=1000 GRAPHEDGE_BIN=path PG_BIN=dir OHA=path
#        SYNC_COMMIT=off (Postgres synchronous_commit; the same for both sides)
# Load generator: oha ($OHA, ../shared/bench/tools/bin/oha, PATH),
# else wrk from PATH; with neither it says how to get one and exits 0.
# Everything it starts (Postgres, graphedge) is stopped on exit, by pid / data directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-8}
ROWS=${ROWS:-1000}
SYNC_COMMIT=${SYNC_COMMIT:-off}
GRAPHEDGE_BIN=${GRAPHEDGE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/graphedge}

# ---- tools -------------------------------------------------------------------------------
find_oha() {
  local c
  for c in "${OHA:-}" "$ROOT/../shared/bench/tools/bin/oha" "$(command -v oha || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return; fi
  done
}
OHA_BIN=$(find_oha)
WRK_BIN=$(command -v wrk || true)
if [ -z "$OHA_BIN" ] && [ -z "$WRK_BIN" ]; then
  echo "no load generator found: install oha (\`cargo install oha\`, or the shared bench's"
  echo "scripts/install.sh which puts it in tools/bin; or set OHA=path) or wrk (\`apt-get install wrk\`)."
  exit 0
fi
if [ ! -x "$GRAPHEDGE_BIN" ]; then
  echo "graphedge binary not found at $GRAPHEDGE_BIN:" >&2
  echo "  cargo build --release -p graphedge-scheduler   (or set GRAPHEDGE_BIN)" >&2
  exit 1
fi
if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v initdb)")
fi
PGBENCH=$(command -v pgbench || echo "$PG_BIN/pgbench")
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

# ---- throwaway Postgres + graphedge (stopped by the trap) --------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-mutations.XXXXXX")
chmod 755 "$WORK"
PGDATA_DIR=$WORK/pgdata
SERVER_PID=
as_pg() { # initdb refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PGPORT=$(free_port)
mkdir -p "$PGDATA_DIR" "$WORK/sock"
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR" "$WORK/sock"
as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log"
cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/sock'
max_connections = 100
shared_buffers = 256MB
synchronous_commit = $SYNC_COMMIT
jit = off
CONF
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -o "-p $PGPORT" -l "$PGDATA_DIR/server.log" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT PGUSER=postgres
"$PG_BIN/createdb" bench
DB_URL="postgres://postgres@127.0.0.1:$PGPORT/bench"
psql -X -q -d bench -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE bench_item (id bigserial PRIMARY KEY, name text NOT NULL, v int NOT NULL DEFAULT 0);
INSERT INTO bench_item (name) SELECT 'seed ' || g FROM generate_series(1, 100) g;
SQL

HTTP_PORT=$(free_port)
"$GRAPHEDGE_BIN" serve --database-url "$DB_URL" --server-host 127.0.0.1 \
  --server-port "$HTTP_PORT" >"$WORK/graphedge.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$HTTP_PORT
for _ in $(seq 300); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/graphedge.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE/v1/metadata" -H 'content-type: application/json' -d \
  '{"type":"pg_track_table","args":{"source":"default","table":{"schema":"public","name":"bench_item"}}}' >/dev/null

# ---- request bodies and SQL files --------------------------------------------------------
python3 - "$WORK" "$ROWS" <<'PY'
import json, sys
work, rows = sys.argv[1], int(sys.argv[2])
objects = [{"name": f"bulk {i}", "v": i} for i in range(rows)]
insert = {"query": "mutation ($objects: [bench_item_insert_input!]!) "
                   "{ insert_bench_item(objects: $objects) { affected_rows } }",
          "variables": {"objects": objects}}
update = {"query": "mutation { update_bench_item_by_pk(pk_columns: {id: 1}, _inc: {v: 1}) { id v } }"}
json.dump(insert, open(f"{work}/insert.json", "w"))
json.dump(update, open(f"{work}/update.json", "w"))
values = ", ".join(f"('bulk {i}', {i})" for i in range(rows))
open(f"{work}/insert.sql", "w").write(
    "WITH ins AS (INSERT INTO bench_item (name, v) VALUES " + values + " RETURNING 1)\n"
    "SELECT json_build_object('affected_rows', count(*)) FROM ins;\n")
open(f"{work}/update.sql", "w").write(
    "UPDATE bench_item SET v = v + 1 WHERE id = 1 RETURNING json_build_object('id', id, 'v', v);\n")

# The same work in the shape of graphedge's mutation plan (see core/src/compile/mutation.rs):
# one transaction of set_config('hasura.user'), the modification step (data-modifying CTE,
# result kept in a transaction-local setting) and the statement building `data`.
def plan_tx(modify, data):
    step = ('WITH "_1" AS (' + modify + ' RETURNING *) SELECT true AS "check", '
            "set_config('graphedge.m1', json_build_object('affected_rows', (SELECT count(*) FROM \"_1\"), "
            "'rows', (SELECT coalesce(json_agg(u.j ORDER BY u.o), '[]'::json) FROM "
            '(SELECT 0 AS o, row_to_json("_1".*) AS j FROM "_1") AS u))::text, true) AS "result";')
    return ("BEGIN;\nSELECT set_config('hasura.user', '{\"x-hasura-role\":\"admin\"}', true);\n"
            + step + "\n" + data + "\nCOMMIT;\n")
open(f"{work}/insert_tx.sql", "w").write(plan_tx(
    'INSERT INTO bench_item AS bench_item (name, v) VALUES ' + values,
    "SELECT json_build_object('insert_bench_item', json_build_object('affected_rows', "
    "current_setting('graphedge.m1')::json->'affected_rows')) AS data;"))
open(f"{work}/update_tx.sql", "w").write(plan_tx(
    'UPDATE bench_item AS "t" SET v = "t".v + 1 WHERE "t".id = 1',
    "SELECT json_build_object('update_bench_item_by_pk', (SELECT json_build_object('id', r.id, 'v', r.v) "
    "FROM json_populate_recordset(NULL::bench_item, current_setting('graphedge.m1')::json->'rows') AS r "
    "LIMIT 1)) AS data;"))
PY

# Each body must succeed once before it is measured (a GraphQL error is also HTTP 200).
for b in insert update; do
  out=$(curl -sS "$BASE/v1/graphql" -H 'content-type: application/json' --data-binary "@$WORK/$b.json")
  case "$out" in
    '{"data"'*) ;;
    *) echo "graphedge rejected the $b request: $out" >&2; exit 1 ;;
  esac
done

# ---- measurement -------------------------------------------------------------------------
# Prints req/s of $DURATION s of POSTs of body file $1 at $CONCURRENCY; fails on non-2xx.
http_rps() {
  local body=$1
  if [ -n "$OHA_BIN" ]; then
    "$OHA_BIN" --no-tui --output-format json -z "${DURATION}s" -c "$CONCURRENCY" -m POST \
      -H 'content-type: application/json' -D "$body" "$BASE/v1/graphql" >"$WORK/oha.json"
    python3 - "$WORK/oha.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = {str(k): v for k, v in (r.get("statusCodeDistribution") or {}).items()}
# requests cut off by the -z deadline are not failures
errs = {k: v for k, v in (r.get("errorDistribution") or {}).items() if "deadline" not in k}
bad = {k: v for k, v in codes.items() if k != "200"}
if bad or errs:
    sys.exit(f"non-200 responses or errors: {bad} {errs}")
print(f'{codes.get("200", 0) / r["summary"]["total"]:.1f}')
PY
  else
    python3 - "$body" "$WORK/post.lua" <<'PY'
import json, sys
body = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    f"wrk.body = {json.dumps(body)}\n")
PY
    "$WRK_BIN" -t 2 -c "$CONCURRENCY" -d "${DURATION}s" -s "$WORK/post.lua" "$BASE/v1/graphql" >"$WORK/wrk.txt"
    if grep -q 'Non-2xx\|Socket errors' "$WORK/wrk.txt"; then cat "$WORK/wrk.txt" >&2; return 1; fi
    awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt"
  fi
}
pgbench_tps() {
  "$PGBENCH" -n -M prepared -c "$CONCURRENCY" -j 2 -T "$DURATION" -f "$1" bench >"$WORK/pgbench.txt" 2>&1 ||
    { cat "$WORK/pgbench.txt" >&2; return 1; }
  awk '/^tps = / {print $3; exit}' "$WORK/pgbench.txt"
}

tool=${OHA_BIN:+oha}
tool=${tool:-wrk}
echo "graphedge mutations vs pgbench -M prepared: ${DURATION}s each, concurrency $CONCURRENCY," \
  "HTTP load by $tool, synchronous_commit=$SYNC_COMMIT, $(nproc) CPUs, Postgres $("$PG_BIN/postgres" --version | awk '{print $3}')"
printf '%-34s %10s %10s %10s %8s %8s\n' case graphedge sql_1stmt sql_plantx ratio1 ratio2
count_rows() { psql -X -tA -d bench -c 'SELECT count(*) FROM bench_item'; }
for case in insert update; do
  rows_before=$(count_rows)
  gql=$(http_rps "$WORK/$case.json")
  rows_after=$(count_rows)
  sql=$(pgbench_tps "$WORK/$case.sql")
  tx=$(pgbench_tps "$WORK/${case}_tx.sql")
  label=$([ "$case" = insert ] && echo "bulk insert ($ROWS rows/request)" || echo "update_by_pk (one row)")
  r1=$(python3 -c "print(f'{$gql / $sql:.2f}')")
  r2=$(python3 -c "print(f'{$gql / $tx:.2f}')")
  printf '%-34s %10.1f %10.1f %10.1f %8s %8s\n' "$label" "$gql" "$sql" "$tx" "$r1" "$r2"
  if [ "$case" = insert ]; then
    # Every answered request committed its rows (a GraphQL error would also be HTTP 200).
    echo "  graphedge committed $(( (rows_after - rows_before) / ROWS )) inserts of $ROWS rows in ${DURATION}s"
  fi
done
cat <<'EOF'
graphedge  = req/s through /v1/graphql
sql_1stmt  = pgbench tps of one plain statement doing the same work (autocommit)
sql_plantx = pgbench tps of the plan's shape: BEGIN; set_config; CTE step; data; COMMIT
ratio1 = graphedge / sql_1stmt, ratio2 = graphedge / sql_plantx
EOF
