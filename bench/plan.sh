#!/usr/bin/env bash
# Benchmark of the compile path: `planrun validate` and `planrun plan --format json`
# on generated plans of 1,000 / 10,000 / 20,000 steps, with the release binary.
#
# Each step is realistic: a shell `run` and `rollback`, a `check`, vars
# (and a secret) interpolated, a phase, and 1-3 dependencies on earlier
# steps (about 330 bytes a step).
# Prints a Markdown table: best wall time of 3 runs, and the largest max RSS.
# "invalid s" validates the same plan with an error in every step (each
# depends on a step that does not exist): diagnostics must stay linear too.
#
#   bench/plan.sh [STEPS...]      (default: 1000 10000 20000)
#   PLANRUN=/path/to/planrun bench/plan.sh   (measure another build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 20000)

# PLANRUN=path/to/planrun measures another build (to compare before and after).
if [ -z "${PLANRUN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
bin="${PLANRUN:-$root/target/release/planrun}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# generate STEPS FILE [broken]: deterministic (fixed awk seed); with
# `broken`, every step depends on a step that does not exist.
generate() {
  awk -v n="$1" -v broken="${3:-}" 'BEGIN {
    srand(42)
    print "format = 1"
    print "name = \"bench-" n "\""
    print ""
    print "[vars]"
    print "root = \"/srv/app\""
    print "db = \"app\""
    print "port = 5432"
    print ""
    print "[secrets]"
    print "db_password = { env = \"DB_PASSWORD\" }"
    for (i = 0; i < n; i++) {
      id = sprintf("s%05d", i)
      print ""
      print "[steps." id "]"
      print "phase = \"phase-" int(i * 10 / n) "\""
      deps = ""
      if (i > 0) {
        k = 1 + int(rand() * 3)
        for (d = 0; d < k; d++) {
          lo = i - 50; if (lo < 0) lo = 0
          dep = sprintf("s%05d", lo + int(rand() * (i - lo)))
          if (index(deps, dep) == 0) deps = deps (deps == "" ? "" : ", ") "\"" dep "\""
        }
      }
      if (broken != "") deps = deps (deps == "" ? "" : ", ") "\"missing-" id "\""
      if (deps != "") print "depends_on = [" deps "]"
      print "check = { kind = \"file.exists\", path = \"${vars.root}/done/" id "\" }"
      print "run = { kind = \"shell\", command = \"PGPASSWORD=${secrets.db_password} psql -p ${vars.port} -d ${vars.db} -f sql/" id ".sql && touch ${vars.root}/done/" id "\" }"
      print "rollback = { kind = \"shell\", command = \"rm -f ${vars.root}/done/" id "\" }"
    }
  }' > "$2"
}

# best_of_3 CMD...: prints "seconds max_rss_kb" (best time, largest RSS).
best_of_3() {
  local best="" rss=0 t m
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null 2>&1 || true
    read -r t m < <(tail -n 1 "$work/time")  # after "Command exited with non-zero status"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
    if [ "$m" -gt "$rss" ]; then rss=$m; fi
  done
  echo "$best $rss"
}

echo "| steps | validate s | plan s | invalid s | max RSS MB | µs/step |"
echo "|------:|-----------:|-------:|----------:|-----------:|--------:|"
for n in "${sizes[@]}"; do
  plan="$work/plan-$n.toml"
  generate "$n" "$plan"
  generate "$n" "$work/broken-$n.toml" broken
  read -r validate_s validate_kb < <(best_of_3 "$bin" validate "$plan")
  read -r plan_s plan_kb < <(best_of_3 "$bin" plan --format json "$plan")
  read -r invalid_s _ < <(best_of_3 "$bin" validate "$work/broken-$n.toml")
  awk -v n="$n" -v v="$validate_s" -v p="$plan_s" -v i="$invalid_s" -v a="$validate_kb" -v b="$plan_kb" 'BEGIN {
    kb = a > b ? a : b
    printf "| %d | %.2f | %.2f | %.2f | %.0f | %.1f |\n", n, v, p, i, kb / 1024, v * 1e6 / n
  }'
done
