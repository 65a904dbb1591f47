#!/usr/bin/env bash
# The fault matrix of plans/poc3.toml in the sandbox world: one row per step k.
#
#   (a) fail: step k fails after its side effects; `apply --rollback-on-failure` must
#       return the world to POC-2 (`world.sh diff poc2` empty).
#   (b) kill: planrun gets SIGKILL while step k runs (its action done, its verify held);
#       `resume` must end in the same POC-3 world as an uninterrupted apply
#       (`world.sh diff poc3` empty), and the rollback after it in POC-2.
#   (c) kill during rollback: `rollback` gets SIGKILL during step k's undo (a shell
#       rollback: its effect done, held before planrun records it; a built-in or SQL
#       undo: right after it); `rollback` again must end in POC-2.
#   And the fidelity of `plan --live`: before the reference apply and at every kill point
#   of (b), each step's prediction (run / skip) is compared with what apply or resume did.
#
#   tests/sandbox/faults.sh [--columns abc] [--steps ID,ID,...] [--table FILE]
#
# How faults are injected: faults_lib.py writes a copy of the plan per step with one more
# probe or a wrapped undo, which fails or holds only when SANDBOX_FAULT says so; the
# same copy then resumes or rolls back clean. The harness decides nothing an operator
# could not: when resume asks for a decision (`mark`), the cell fails.
# The table goes to stdout (and to --table FILE); progress and details to stderr and
# $SANDBOX_DIR/faults/. Exit status: 0 when every cell that ran passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
ROOT=$(cd "$HERE/../.." && pwd)
readonly ROOT
readonly WORLD=$HERE/world.sh
readonly LIB=$HERE/faults_lib.py
PLANRUN=${PLANRUN:-$ROOT/target/release/planrun}
PLAN=${PLAN:-$ROOT/plans/poc3.toml}
VARS=${VARS:-$ROOT/plans/poc3-sandbox.vars.toml}
COLUMNS_WANTED=abc
STEPS_WANTED=all
TABLE_FILE=
KILL_WAIT=${FAULTS_KILL_WAIT:-600}   # seconds to wait for a fault point to be reached

log() { printf 'faults: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 2
}

ARGS_TEXT=${*:+ $*}
while (($#)); do
    case $1 in
    --columns) COLUMNS_WANTED=$2; shift 2 ;;
    --steps) STEPS_WANTED=$2; shift 2 ;;
    --table) TABLE_FILE=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ -x $PLANRUN ]] || die "no planrun binary at $PLANRUN (cargo build --release, or PLANRUN=...)"

eval "$("$WORLD" up)"
: "${SANDBOX_DIR:?}" "${SANDBOX_REPO:?}"
WORK=$SANDBOX_DIR/faults
rm -rf "$WORK"
mkdir -p "$WORK"
export SANDBOX_FAULT_DIR=$WORK/point
unset SANDBOX_FAULT

planrun() { (cd "$SANDBOX_REPO" && exec "$PLANRUN" "$@"); }

# The world back at POC-2 after a cell: rollback whatever is unfinished, then compare.
# Returns 1 (and keeps the diff) when it is not.
back_to_poc2() {
    local tag=$1
    # The backups each rollback keeps beside the repository (`backup_archive_dir`) are
    # outside the world the diff compares: cleared after every cell, so a matrix does
    # not fill the disk (one full backup per cell).
    rm -rf "$SANDBOX_DIR/mfe-poc-backups"
    if "$WORLD" diff poc2 >"$WORK/$tag.diff" 2>/dev/null; then
        return 0
    fi
    return 1
}

# When a cell left the world elsewhere, try the plan's own rollback, then rebuild.
recover() {
    local tag=$1
    # Evidence first: the dev servers' logs of this cell.
    mkdir -p "$WORK/$tag.evidence"
    cp -r "$SANDBOX_REPO/.run/." "$WORK/$tag.evidence/" 2>/dev/null || true
    local id
    for id in $(docker ps -aq --filter "label=com.docker.compose.project=${COMPOSE_PROJECT_NAME:?}"); do
        docker logs --tail 60 "$id" >"$WORK/$tag.evidence/container-$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' "$id").log" 2>&1 || true
    done
    planrun rollback "$PLAN" --yes >>"$WORK/$tag.recover.log" 2>&1 || true
    if ! "$WORLD" diff poc2 >/dev/null 2>&1; then
        log "$tag: the world is not POC-2 after a rollback either: world.sh reset"
        "$WORLD" reset >/dev/null 2>>"$WORK/$tag.recover.log"
        "$WORLD" snapshot poc2 2>/dev/null
    fi
}

# wait_for_point PID: 0 when the fault point is reached, 1 when planrun exited first.
wait_for_point() {
    local pid=$1 deadline=$((SECONDS + KILL_WAIT))
    while [[ ! -e $SANDBOX_FAULT_DIR/held ]]; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < deadline)) || { log "fault point not reached within ${KILL_WAIT}s"; return 1; }
        sleep 0.2
    done
}

fresh_point() {
    rm -rf "$SANDBOX_FAULT_DIR"
    mkdir -p "$SANDBOX_FAULT_DIR"
}

# ------------------------------------------------------------------ reference run

log "reference: snapshot of POC-2, live preview, uninterrupted apply, snapshot of POC-3, rollback"
"$WORLD" snapshot poc2 2>/dev/null
planrun plan "$PLAN" --format json >"$WORK/plan.json" 2>/dev/null
planrun plan --live "$PLAN" --var-file "$VARS" --format json >"$WORK/live-reference.json" 2>"$WORK/live-reference.err" ||
    die "plan --live failed before the reference apply (see $WORK/live-reference.err)"
start=$SECONDS
planrun apply "$PLAN" --var-file "$VARS" --yes >"$WORK/reference-apply.log" 2>&1 ||
    die "the uninterrupted apply failed: $WORK/reference-apply.log"
APPLY_SECONDS=$((SECONDS - start))
planrun status --format json >"$WORK/reference-status.json"
"$WORLD" snapshot poc3 2>/dev/null
start=$SECONDS
planrun rollback "$PLAN" --yes >"$WORK/reference-rollback.log" 2>&1 || die "the rollback failed: $WORK/reference-rollback.log"
ROLLBACK_SECONDS=$((SECONDS - start))
back_to_poc2 reference || die "rollback did not return to POC-2: $WORK/reference.diff"
python3 "$LIB" fidelity "$WORK/live-reference.json" "$WORK/reference-status.json" before-apply >"$WORK/fidelity.tsv"
log "reference: apply ${APPLY_SECONDS}s, rollback ${ROLLBACK_SECONDS}s, diff empty"

# ------------------------------------------------------------------ cells

# cell_a STEP: prints the cell's text; returns 1 when it failed.
cell_a() {
    local step=$1 copy=$WORK/$1.fail.toml rc=0
    python3 "$LIB" inject "$PLAN" "$copy" "$step" fail
    SANDBOX_FAULT=fail planrun apply "$copy" --var-file "$VARS" --yes --rollback-on-failure >"$WORK/$step.a.log" 2>&1 || rc=$?
    if ((rc == 0)); then
        planrun rollback "$copy" --yes >>"$WORK/$step.a.log" 2>&1 || true
        if grep -q "^skip    $step:" "$WORK/$step.a.log"; then
            back_to_poc2 "$step.a" && { echo "n/a (satisfied)"; return 0; }
        fi
        back_to_poc2 "$step.a" || recover "$step.a"
        echo "FAIL (fault did not fire)"
        return 1
    fi
    if ! grep -q "FAILED  $step " "$WORK/$step.a.log"; then
        recover "$step.a"
        echo "FAIL (another step failed: see $step.a.log)"
        return 1
    fi
    if back_to_poc2 "$step.a"; then
        echo ok
    else
        recover "$step.a"
        echo "FAIL (not POC-2: $step.a.diff)"
        return 1
    fi
}

# A table copy is killed in the middle of the table: once a batch is checkpointed and the
# step still runs. Any other step, with its action done and its verify held.
cell_b() {
    local step=$1 kind=$2 copy=$WORK/$1.hold.toml rc=0 pid fault=hold reached=0
    python3 "$LIB" inject "$PLAN" "$copy" "$step" hold
    fresh_point
    [[ $kind == postgres.copy_table ]] && fault=none
    # One subshell that execs planrun: $! is planrun's pid, and SIGKILL reaches planrun.
    (cd "$SANDBOX_REPO" && SANDBOX_FAULT=$fault exec "$PLANRUN" apply "$copy" --var-file "$VARS" --yes) >"$WORK/$step.b.log" 2>&1 &
    pid=$!
    if [[ $fault == none ]]; then
        python3 "$LIB" mid-copy "${PLANRUN_STATE#sqlite://}" "$step" "$pid" "$KILL_WAIT" >>"$WORK/$step.b.point" && reached=1
    else
        wait_for_point "$pid" && reached=1
    fi
    if ((reached == 0)); then
        wait "$pid" || true
        planrun rollback "$copy" --yes >>"$WORK/$step.b.log" 2>&1 || true
        back_to_poc2 "$step.b" || recover "$step.b"
        if grep -q "^skip    $step:" "$WORK/$step.b.log"; then echo "n/a (satisfied)"; return 0; fi
        echo "FAIL (never reached: $step.b.log)"
        return 1
    fi
    [[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$PLANRUN")" ]] || die "pid $pid is not planrun"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    touch "$SANDBOX_FAULT_DIR/release"
    planrun plan --live "$copy" --var-file "$VARS" --format json >"$WORK/$step.b.live.json" 2>>"$WORK/$step.b.log" || true
    rc=0
    planrun resume "$copy" --yes >>"$WORK/$step.b.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        recover "$step.b"
        if ((rc == 3)); then echo "FAIL (resume needs an operator's decision)"; else echo "FAIL (resume exit $rc)"; fi
        return 1
    fi
    planrun status --format json >"$WORK/$step.b.status.json"
    [[ -s $WORK/$step.b.live.json ]] &&
        python3 "$LIB" fidelity "$WORK/$step.b.live.json" "$WORK/$step.b.status.json" "kill-at-$step" >>"$WORK/fidelity.tsv"
    local same=ok
    "$WORLD" diff poc3 >"$WORK/$step.b.poc3.diff" 2>/dev/null || same="FAIL (not the POC-3 world: $step.b.poc3.diff)"
    planrun rollback "$copy" --yes >>"$WORK/$step.b.log" 2>&1 || true
    if ! back_to_poc2 "$step.b"; then
        recover "$step.b"
        [[ $same == ok ]] && same="FAIL (rollback after resume: $step.b.diff)"
    fi
    echo "$same"
    [[ $same == ok ]]
}

cell_c() {
    local step=$1 undo=$2 copy=$WORK/$1.undo.toml rc=0 pid
    python3 "$LIB" inject "$PLAN" "$copy" "$step" undo-hold
    fresh_point
    if ! planrun apply "$copy" --var-file "$VARS" --yes >"$WORK/$step.c.log" 2>&1; then
        recover "$step.c"
        echo "FAIL (apply: $step.c.log)"
        return 1
    fi
    if grep -q "^skip    $step:" "$WORK/$step.c.log" && [[ $undo != builtin && $undo != rollback:postgres.exec ]]; then
        planrun rollback "$copy" --yes >>"$WORK/$step.c.log" 2>&1 || true
        back_to_poc2 "$step.c" || recover "$step.c"
        echo "n/a (satisfied: nothing to undo)"
        return 0
    fi
    (cd "$SANDBOX_REPO" && SANDBOX_FAULT=hold exec "$PLANRUN" rollback "$copy" --yes) >>"$WORK/$step.c.log" 2>&1 &
    pid=$!
    if ! wait_for_point "$pid"; then
        wait "$pid" || true
        back_to_poc2 "$step.c" || recover "$step.c"
        echo "FAIL (undo point never reached: $step.c.log)"
        return 1
    fi
    [[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$PLANRUN")" ]] || die "pid $pid is not planrun"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    touch "$SANDBOX_FAULT_DIR/release"
    rc=0
    planrun rollback "$copy" --yes >>"$WORK/$step.c.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        recover "$step.c"
        echo "FAIL (rollback again: exit $rc)"
        return 1
    fi
    if back_to_poc2 "$step.c"; then
        echo ok
    else
        recover "$step.c"
        echo "FAIL (not POC-2: $step.c.diff)"
        return 1
    fi
}

# ------------------------------------------------------------------ the matrix

declare -a ROWS
failures=0
n=0
want_step() { [[ $STEPS_WANTED == all || ,$STEPS_WANTED, == *,$1,* ]]; }

while read -r step kind undo check; do
    n=$((n + 1))
    want_step "$step" || continue
    a=- b=- c=-
    if [[ $COLUMNS_WANTED == *a* ]]; then
        log "[$n] $step: (a) fail after its side effects"
        a=$(cell_a "$step") || failures=$((failures + 1))
    fi
    if [[ $COLUMNS_WANTED == *b* ]]; then
        log "[$n] $step: (b) SIGKILL while it runs, then resume"
        b=$(cell_b "$step" "$kind") || failures=$((failures + 1))
    fi
    if [[ $COLUMNS_WANTED == *c* ]]; then
        if [[ $undo == none ]]; then
            c="n/a (nothing to undo)"
        else
            log "[$n] $step: (c) SIGKILL during its undo, then rollback again"
            c=$(cell_c "$step" "$undo") || failures=$((failures + 1))
        fi
    fi
    log "[$n] $step: a=$a b=$b c=$c"
    ROWS+=("| $n | \`$step\` | $kind | $check | $a | $b | $c |")
done < <(python3 "$LIB" steps "$WORK/plan.json")

# ------------------------------------------------------------------ report

report() {
    echo "# Fault matrix of \`plans/poc3.toml\`"
    echo
    echo "The latest output of \`tests/sandbox/faults.sh$ARGS_TEXT\` ($(date -u +%Y-%m-%d), planrun"
    echo "$("$PLANRUN" --version 2>/dev/null | awk '{print $2}'), commit $(git -C "$ROOT" rev-parse --short HEAD)), in the sandbox world of"
    echo "[\`tests/sandbox/\`](../tests/sandbox/README.md), which describes how each fault is injected."
    echo "(a): step k fails after its side effects, \`apply --rollback-on-failure\` must return to POC-2."
    echo "(b): planrun is SIGKILLed while step k runs (a table copy: in the middle of the table),"
    echo "\`resume\` must end in the POC-3 world of an uninterrupted apply. (c): \`rollback\` is"
    echo "SIGKILLed during step k's undo, \`rollback\` again must end in POC-2. \`-\`: column not run."
    echo
    echo "Reference: uninterrupted apply ${APPLY_SECONDS}s, rollback ${ROLLBACK_SECONDS}s, \`world.sh diff poc2\` empty."
    echo
    echo "| # | step | run | check | (a) fail → rollback-on-failure | (b) kill → resume | (c) kill in rollback → rollback |"
    echo "|---:|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    local matched=0 compared=0 violations=0 points=0 unknown=0 m c v u
    while IFS=$'\t' read -r _ _ m c v u; do
        points=$((points + 1)) matched=$((matched + m)) compared=$((compared + c)) violations=$((violations + v)) unknown=$((unknown + u))
    done < <(grep '^FIDELITY' "$WORK/fidelity.tsv")
    local decided=$((compared - unknown))
    echo "\`plan --live\` fidelity, over $points measurement points and $compared predictions: $unknown said"
    echo "\"cannot know\" (with the step that would run first); of the $decided others, $matched matched what apply"
    echo "or resume then did ($((decided ? 100 * matched / decided : 0))%); $violations mismatches on steps whose check could be decided."
    if grep -q '^MISMATCH' "$WORK/fidelity.tsv"; then
        echo
        echo "| point | step | predicted | did | why |"
        echo "|---|---|---|---|---|"
        grep '^MISMATCH' "$WORK/fidelity.tsv" | cut -f2- | sed 's/\t/ | /g; s/^/| /; s/$/ |/'
    fi
    echo
    echo "$failures cell(s) failed."
}

if [[ -n $TABLE_FILE ]]; then
    report | tee "$TABLE_FILE"
else
    report
fi
((failures == 0))
