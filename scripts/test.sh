#!/usr/bin/env bash
# The whole test suite, against real services: starts (installing when
# missing) PostgreSQL, RabbitMQ and Docker on loopback, runs the Rust tests,
# then the sandbox smoke (tests/sandbox/smoke.sh: the POC-2 world built,
# plans/poc3.toml applied, killed, resumed and rolled back). Used by README
# and by .ci/run alike.
#
#   scripts/test.sh [cargo test arguments]
#
# The sandbox smoke needs root, Docker and about ten minutes; it is left
# out (saying so) with PLANRUN_SKIP_SANDBOX=1 or when arguments pick tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The services print `export PLANRUN_TEST_*=...` lines for the tests.
eval "$(scripts/services.sh up)"

# Service tests skipped (outside CI, a missing service skips its tests)
# are listed here by tests/integration/services.rs; libtest hides their note.
skipped=target/tmp/skipped-tests.txt
rm -f "$skipped"
cargo test --locked "$@"
if [[ -s $skipped ]]; then
    echo "skipped: $(wc -l <"$skipped") service test(s), their service missing:" >&2
    sed 's/^/  /' "$skipped" >&2
else
    echo "skipped: no service test" >&2
fi

if [[ ${PLANRUN_SKIP_SANDBOX:-} == 1 || $# -gt 0 ]]; then
    echo "skipped: the sandbox smoke (PLANRUN_SKIP_SANDBOX=1, or only some tests asked for); run tests/sandbox/smoke.sh" >&2
    exit 0
fi
# The debug binaries `cargo test` just built: no second, release build.
cargo build --locked --bins
PLANRUN=$PWD/target/debug/planrun tests/sandbox/smoke.sh
