#!/usr/bin/env bash
# The whole test suite, against real services: starts (installing when
# missing) PostgreSQL, RabbitMQ and Docker on loopback, then runs the
# tests. Used by README and by .ci/run alike.
#
#   scripts/test.sh [cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The services print `export PLANRUN_TEST_*=...` lines for the tests.
eval "$(scripts/services.sh up)"

cargo test --locked "$@"
