#!/usr/bin/env bash
# Benchmark `postgres.copy_table` against `pg_dump --data-only -t TABLE | psql`.
#
#   bench/copy.sh                 1,000,000 rows, best of 3 for each method
#   ROWS=200000 RUNS=1 bench/copy.sh
#
# Both methods copy the same table between two databases on the test server
# (PLANRUN_TEST_PG_URL, else from `scripts/services.sh env`) into an empty,
# identical table with its primary key in place; the target is truncated and
# a CHECKPOINT taken before every run. planrun's time is the whole
# `planrun apply` (start, state, batches, checkpoints and the final count
# check). The methods take turns; each keeps its best time. Prints a
# Markdown table on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
if [[ -z ${PLANRUN_TEST_PG_URL:-} ]]; then
    eval "$(scripts/services.sh env)"
fi
: "${PLANRUN_TEST_PG_URL:?PostgreSQL is not running: scripts/services.sh up pg}"
server=${PLANRUN_TEST_PG_URL%/*}
source_url=$server/planrun_bench_src
target_url=$server/planrun_bench_dst

log() { printf 'bench: %s\n' "$*" >&2; }
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

log "building planrun (release)"
cargo build --release --quiet
planrun=$PWD/target/release/planrun

log "creating a table of $ROWS rows"
sql "$PLANRUN_TEST_PG_URL" \
    -c "DROP DATABASE IF EXISTS planrun_bench_src" -c "DROP DATABASE IF EXISTS planrun_bench_dst" \
    -c "CREATE DATABASE planrun_bench_src" -c "CREATE DATABASE planrun_bench_dst"
schema="CREATE TABLE events (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created_at timestamptz NOT NULL)"
sql "$source_url" -c "$schema" \
    -c "INSERT INTO events SELECT g, 'event ' || g || ' ' || md5(g::text), (g % 100000) / 100.0,
               timestamptz '2026-01-01' - g * interval '1 second' FROM generate_series(1, $ROWS) g" \
    -c "VACUUM ANALYZE events"
sql "$target_url" -c "$schema"

work=$(mktemp -d)
trap 'rm -rf "$work"; sql "$PLANRUN_TEST_PG_URL" -c "DROP DATABASE IF EXISTS planrun_bench_src" -c "DROP DATABASE IF EXISTS planrun_bench_dst" || true' EXIT
cat > "$work/plan.toml" <<PLAN
format = 1
name = "bench-copy"
[steps.copy]
run = { kind = "postgres.copy_table", source = "$source_url", target = "$target_url", table = "events" }
rollback = { kind = "postgres.exec", url = "$target_url", sql = "TRUNCATE events" }
PLAN

reset_target() { sql "$target_url" -c "TRUNCATE events" -c "CHECKPOINT"; }

check_target() {
    local count
    count=$(psql -X -At "$target_url" -c "SELECT count(*) FROM events")
    [[ $count == "$ROWS" ]] || { log "$1 left $count rows instead of $ROWS"; exit 1; }
}

now() { date +%s.%N; }

# timed NAME COMMAND...: one run on an empty target, in seconds.
timed() {
    local name=$1 start elapsed
    shift
    reset_target
    start=$(now)
    "$@"
    elapsed=$(echo "$(now) - $start" | bc -l)
    check_target "$name"
    log "$name: ${elapsed}s"
    echo "$elapsed"
}

min() { if [[ -z $1 ]] || (($(echo "$2 < $1" | bc -l))); then echo "$2"; else echo "$1"; fi; }

run_planrun() { (cd "$work" && rm -rf .planrun && "$planrun" apply plan.toml >/dev/null 2>&1); }
run_pg_dump() { pg_dump --data-only -t events "$source_url" | sql "$target_url" >/dev/null; }

# The methods take turns, so a change in the machine's load hits both alike.
planrun_s= pg_dump_s=
for ((i = 1; i <= RUNS; i++)); do
    seconds=$(timed "planrun copy_table, run $i" run_planrun)
    planrun_s=$(min "$planrun_s" "$seconds")
    seconds=$(timed "pg_dump | psql, run $i" run_pg_dump)
    pg_dump_s=$(min "$pg_dump_s" "$seconds")
done

row() { printf '| %s | %.2f | %.0f | %.2f× |\n' "$1" "$2" "$(echo "$ROWS / $2" | bc -l)" "$(echo "$pg_dump_s / $2" | bc -l)"; }
echo "Copy of $ROWS rows (id bigint, text, numeric, timestamptz), best of $RUNS"
echo
echo "| method | seconds | rows/s | throughput vs pg_dump |"
echo "|---|---:|---:|---:|"
row "planrun postgres.copy_table" "$planrun_s"
row "pg_dump --data-only -t \| psql" "$pg_dump_s"
