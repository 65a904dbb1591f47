#!/usr/bin/env bash
# Benchmark of `planrun apply`, side by side with plain shell baselines
# measured in the same run. Prints a Markdown table. Not a test: nothing
# here asserts a time.
#
#   bench/apply.sh            (builds the release binary first)
#
# Rows:
#   2,000 trivial `true` steps at parallelism 1  vs  a bash loop of `sh -c true`
#   2,000 steps at parallelism 8                 vs  `xargs -P 8 sh -c true`
#   1,000 / 20,000 steps at parallelism 1: per-step cost stays flat, memory bounded
#   resume after a failure at the last step of a 20,000-step plan: time
#     from starting `planrun resume` until the failed step runs again (best of 3)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
planrun=$PWD/target/release/planrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# plan N [LAST_COMMAND]: N independent `true` steps; the last one runs LAST_COMMAND.
plan() {
    local n=$1 last=${2:-true}
    {
        printf 'format = 1\nname = "bench-%s"\n' "$n"
        for ((i = 0; i < n - 1; i++)); do
            printf '[steps.s%d]\nrun = { kind = "shell", command = "true" }\nrollback = { kind = "shell", command = "true" }\n' "$i"
        done
        printf '[steps.last]\nrun = { kind = "shell", command = "%s" }\nrollback = { kind = "shell", command = "true" }\n' "$last"
    } >"plan-$n.toml"
}

now() { date +%s.%N; }
# seconds CMD...: wall time of CMD, in seconds
seconds() {
    local start end
    start=$(now)
    "$@" >/dev/null 2>&1
    end=$(now)
    calc "$end - $start"
}
calc() { awk "BEGIN { print $* }"; }
# best-of-3 seconds, each run in a fresh state
best() {
    local best="" t
    for _ in 1 2 3; do
        rm -rf .planrun
        t=$(seconds "$@")
        if [[ -z $best ]] || [[ $(calc "$t < $best") == 1 ]]; then best=$t; fi
    done
    echo "$best"
}
rss_mb() { # peak RSS of one apply, in MB
    rm -rf .planrun
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%.0f", $1 / 1024 }'
}
bash_loop() { for ((i = 0; i < $1; i++)); do sh -c true; done; }
xargs_loop() { seq "$1" | xargs -P "$2" -I{} sh -c true; }
fmt() { printf '%.2f' "$1"; }
per_step_ms() { printf '%.3f' "$(calc "$1 * 1000 / $2")"; }

plan 1000
plan 2000
plan 20000

echo "| workload | planrun s | baseline | baseline s | ratio | per step ms | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"

p=$(best "$planrun" apply plan-2000.toml --parallelism 1)
b=$(best bash_loop 2000)
echo "| 2,000 steps, parallelism 1 | $(fmt "$p") | bash loop of \`sh -c true\` | $(fmt "$b") | $(fmt "$(calc "$p / $b")")× | $(per_step_ms "$p" 2000) | $(rss_mb "$planrun" apply plan-2000.toml --parallelism 1) |"

p=$(best "$planrun" apply plan-2000.toml --parallelism 8)
b=$(best xargs_loop 2000 8)
echo "| 2,000 steps, parallelism 8 | $(fmt "$p") | \`xargs -P 8 sh -c true\` | $(fmt "$b") | $(fmt "$(calc "$p / $b")")× | $(per_step_ms "$p" 2000) | $(rss_mb "$planrun" apply plan-2000.toml --parallelism 8) |"

p1=$(best "$planrun" apply plan-1000.toml --parallelism 1)
b1=$(best bash_loop 1000)
echo "| 1,000 steps, parallelism 1 | $(fmt "$p1") | bash loop | $(fmt "$b1") | $(fmt "$(calc "$p1 / $b1")")× | $(per_step_ms "$p1" 1000) | $(rss_mb "$planrun" apply plan-1000.toml --parallelism 1) |"

rm -rf .planrun
p20=$(seconds "$planrun" apply plan-20000.toml --parallelism 1)
b20=$(seconds bash_loop 20000)
echo "| 20,000 steps, parallelism 1 | $(fmt "$p20") | bash loop | $(fmt "$b20") | $(fmt "$(calc "$p20 / $b20")")× | $(per_step_ms "$p20" 20000) | $(rss_mb "$planrun" apply plan-20000.toml --parallelism 1) |"

# Resume: the last of 20,000 steps fails until `go` exists; it records when
# it starts again. Best of 3, each from a copy of the same failed state.
plan 20000 'test -f go && date +%s.%N > started'
rm -rf .planrun go started
"$planrun" apply plan-20000.toml --parallelism 8 >/dev/null 2>&1 || true
touch go
mv .planrun failed-state
r=""
for _ in 1 2 3; do
    rm -rf .planrun started
    cp -r failed-state .planrun
    start=$(now)
    "$planrun" resume >/dev/null 2>&1
    t=$(calc "$(cat started) - $start")
    if [[ -z $r ]] || [[ $(calc "$t < $r") == 1 ]]; then r=$t; fi
done
echo "| resume of 20,000 steps, failed last step | $(fmt "$r") | time until the failed step runs again | | | | |"
echo
echo "per-step cost at 20,000 vs 1,000 steps: $(fmt "$(calc "($p20 / 20000) / ($p1 / 1000)")")×"
