#!/usr/bin/env bash
# CI's subset of the sandbox (issue 8, part 5), as root on a fresh machine:
#   1. build the world afresh (tests/sandbox/world.sh reset: images kept, the monorepo, the
#      containers and the state of an earlier run removed; POC-2 running);
#   2. apply plans/poc3.toml, roll it back, `world.sh diff` empty (the reference run of faults.sh);
#   3. SIGKILL planrun at five steps and resume: the backup, a copy in the middle of the table,
#      the compose switch, the service start, a gate (faults.sh column b).
# Exits non-zero on any failure and says what failed. Uses target/release/planrun (built
# when missing), or PLANRUN=path.
#
#   tests/sandbox/smoke.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
ROOT=$(cd "$HERE/../.." && pwd)
readonly ROOT
readonly STEPS=backup-poc2-db,migrate-admin-audit-logs,compose-up-poc3,start-backend,go-no-go

log() { printf 'smoke: %s\n' "$*" >&2; }

start=$SECONDS
export PLANRUN=${PLANRUN:-$ROOT/target/release/planrun}
if [[ ! -x $PLANRUN ]]; then
    log "building planrun (cargo build --release)"
    (cd "$ROOT" && cargo build --release --locked -q)
fi

# Reset, not up: an earlier run killed half-way (a fault matrix, a developer's try) may have
# left the world between POC-2 and POC-3, and the smoke must start from the world it checks.
log "world.sh reset"
t=$SECONDS
if ! "$HERE/world.sh" reset >/dev/null; then
    log "FAILED: world.sh reset"
    exit 1
fi
log "world.sh reset took $((SECONDS - t))s"

log "faults.sh --columns b --steps $STEPS (reference apply, rollback, diff; then five kills)"
t=$SECONDS
rc=0
"$HERE/faults.sh" --columns b --steps "$STEPS" || rc=$?
log "faults.sh took $((SECONDS - t))s; smoke took $((SECONDS - start))s in all"
case $rc in
0) log "passed" ;;
1) log "FAILED: a cell of the table above failed (details under \$SANDBOX_DIR/faults/)"; exit 1 ;;
*) log "FAILED: the reference apply, rollback or diff failed (see above)"; exit 1 ;;
esac
