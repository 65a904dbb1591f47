#!/usr/bin/env bash
# Benchmark of a SQL-heavy plan: 13 dependent `postgres.exec` steps, each
# verified by a `postgres.query`, applied at parallelism 1 against the test
# server, side by side with the same 26 statements sent by one `psql` session
# and by 26 `psql` processes (a connection each), measured in the same run.
# Prints a Markdown table. Not a test: nothing here asserts a time.
#
#   bench/sql.sh                  (needs `scripts/services.sh up pg`)
#   RUNS=10 bench/sql.sh
#   PLANRUN=/path/to/planrun bench/sql.sh   (another build, to compare)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
STEPS=13
if [[ -z ${PLANRUN_TEST_PG_URL:-} ]]; then
    eval "$(scripts/services.sh env)"
fi
: "${PLANRUN_TEST_PG_URL:?PostgreSQL is not running: scripts/services.sh up pg}"
url=${PLANRUN_TEST_PG_URL%/*}/planrun_bench_sql

log() { printf 'bench: %s\n' "$*" >&2; }
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

if [[ -n ${PLANRUN:-} ]]; then
    planrun=$PLANRUN # another build, to compare (PLANRUN=/path/to/planrun bench/sql.sh)
else
    log "building planrun (release)"
    cargo build --release --quiet
    planrun=$PWD/target/release/planrun
fi

sql "$PLANRUN_TEST_PG_URL" -c "DROP DATABASE IF EXISTS planrun_bench_sql" -c "CREATE DATABASE planrun_bench_sql"
work=$(mktemp -d)
trap 'cd /; rm -rf "$work"; sql "$PLANRUN_TEST_PG_URL" -c "DROP DATABASE IF EXISTS planrun_bench_sql" || true' EXIT
cd "$work"

{
    printf 'format = 1\nname = "bench-sql"\n[vars]\ndb = "%s"\n' "$url"
    for ((i = 1; i <= STEPS; i++)); do
        printf '[steps.t%d]\n' "$i"
        ((i == 1)) || printf 'depends_on = ["t%d"]\n' $((i - 1))
        printf 'run = { kind = "postgres.exec", url = "${vars.db}", sql = "CREATE TABLE t%d (id int PRIMARY KEY); INSERT INTO t%d VALUES (%d)" }\n' "$i" "$i" "$i"
        printf 'verify = [{ kind = "postgres.query", url = "${vars.db}", sql = "SELECT id FROM t%d", equals = "%d" }]\n' "$i" "$i"
        printf 'rollback = { kind = "postgres.exec", url = "${vars.db}", sql = "DROP TABLE t%d" }\n' "$i"
    done
} >plan.toml
{
    for ((i = 1; i <= STEPS; i++)); do
        printf 'BEGIN; CREATE TABLE t%d (id int PRIMARY KEY); INSERT INTO t%d VALUES (%d); COMMIT;\nSELECT id FROM t%d;\n' "$i" "$i" "$i" "$i"
    done
} >statements.sql

drop_tables() {
    local i drops=""
    for ((i = 1; i <= STEPS; i++)); do drops+="DROP TABLE IF EXISTS t$i; "; done
    sql "$url" -c "$drops" 2>/dev/null
}
now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
ms() { printf '%.1f' "$(calc "$1 * 1000")"; }
# seconds CMD...: wall time of CMD after a fresh start (no tables, no state)
seconds() {
    drop_tables
    rm -rf .planrun
    local start end
    start=$(now)
    "$@" >/dev/null 2>&1 || { log "failed: $*"; "$@" >&2 || true; exit 1; }
    end=$(now)
    calc "$end - $start"
}
psql_session() { psql -X -q -v ON_ERROR_STOP=1 "$url" -f statements.sql; }
psql_each() {
    local i
    for ((i = 1; i <= STEPS; i++)); do
        psql -X -q -v ON_ERROR_STOP=1 "$url" -c "BEGIN; CREATE TABLE t$i (id int PRIMARY KEY); INSERT INTO t$i VALUES ($i); COMMIT;"
        psql -X -q -At "$url" -c "SELECT id FROM t$i" | grep -qx "$i"
    done
}

# The three take turns; each keeps its best time.
best_p="" best_s="" best_e=""
for ((run = 1; run <= RUNS; run++)); do
    p=$(seconds "$planrun" apply plan.toml --parallelism 1)
    s=$(seconds psql_session)
    e=$(seconds psql_each)
    [[ -n $best_p && $(calc "($p >= $best_p)") == 1 ]] || best_p=$p
    [[ -n $best_s && $(calc "($s >= $best_s)") == 1 ]] || best_s=$s
    [[ -n $best_e && $(calc "($e >= $best_e)") == 1 ]] || best_e=$e
    log "run $run: planrun $(ms "$p") ms, one psql session $(ms "$s") ms, a psql per statement $(ms "$e") ms"
done

echo "| workload (best of $RUNS) | planrun ms | one psql session ms | a psql per statement ms |"
echo "|---|---|---|---|"
echo "| $STEPS dependent \`postgres.exec\` steps, each verified by a \`postgres.query\`, parallelism 1 | $(ms "$best_p") | $(ms "$best_s") | $(ms "$best_e") |"
