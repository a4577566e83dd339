#!/usr/bin/env bash
# Soak: backstop killed with SIGKILL at random moments, for many rounds and with more
# data. The fault tests of tests/integration/faults.rs measure each operation (backup,
# restore, restore-test, cleanup, install/uninstall of a shell profile and an agent's
# settings, the audit append), then kill it after a delay drawn uniformly over that
# time and check the invariants of docs/faults.md after every round. CI runs 50
# rounds of 256 KiB; this runs as many as you ask, on as much data.
#
# Usage: scripts/soak-faults.sh [ROUNDS] [KIB]   (default 200 rounds, 16384 KiB)
#        BACKSTOP_FAULT_SEED=N scripts/soak-faults.sh ...   replays a failing seed
# Needs what scripts/test.sh installs (PostgreSQL for the scratch-database test).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-200}"
kib="${2:-16384}"
log="$(mktemp "${TMPDIR:-/tmp}/soak-faults.XXXXXX.log")"
echo "soak-faults: $rounds rounds an operation, $kib KiB backed up; full log in $log"
echo "machine: $(nproc) cores, $(uname -sr), $(date -u '+%Y-%m-%d %H:%M UTC')"
start=$(date +%s)
status=0
BACKSTOP_REQUIRE_SERVICES=1 BACKSTOP_FAULT_ROUNDS="$rounds" BACKSTOP_FAULT_KIB="$kib" \
  cargo test -p backstop --test integration faults:: -- --nocapture --test-threads=1 \
  >"$log" 2>&1 || status=$?
grep -E "fault seed|rounds|panicked|test result" "$log" || true
echo "soak-faults: $(($(date +%s) - start)) s, exit status $status"
exit "$status"
