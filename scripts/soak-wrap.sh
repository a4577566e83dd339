#!/usr/bin/env bash
# Soak: `backstop wrap` under load, for many rounds. The stress tests of
# tests/integration/wrap.rs (`under_load_*`) type, paste and type ahead refused
# statements into real psql, mysql (MariaDB) and sqlite3, with busy loops at the
# lowest priority fighting backstop and the client (run at that priority too) for the
# CPU, and check after every round that the table is still there. CI runs 3 rounds;
# this runs as many as you ask and prints what each client saw.
#
# Usage: scripts/soak-wrap.sh [ROUNDS]   (default 100; each round is 4 statements a client)
# Needs what scripts/test.sh installs (PostgreSQL, MariaDB, sqlite3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-100}"
log="$(mktemp "${TMPDIR:-/tmp}/soak-wrap.XXXXXX.log")"
echo "soak-wrap: $rounds rounds a client; full log in $log"
start=$(date +%s)
status=0
BACKSTOP_REQUIRE_SERVICES=1 BACKSTOP_WRAP_STRESS_ROUNDS="$rounds" \
  cargo test -p backstop --test integration under_load -- --nocapture --test-threads=1 \
  >"$log" 2>&1 || status=$?
grep -E "wrap under load|panicked|test result" "$log" || true
echo "soak-wrap: $(($(date +%s) - start)) s, exit status $status"
exit "$status"
