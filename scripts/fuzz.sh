#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) with libFuzzer for SECONDS each, one
# after another, and prints per target the executions, coverage (libFuzzer's cov and
# ft), the corpus size, the crashes and the slowest input. See docs/reliability.md.
#
# Usage: scripts/fuzz.sh [--smoke] [SECONDS] [TARGET...]
#   SECONDS   how long each target runs (default 60)
#   TARGET    only these targets (default: all)
#   --smoke   CI's short run: a few hundred seeds a target, no replay for the slowest
#
# Needs the nightly toolchain and cargo-fuzz; both are installed when missing. What a
# run learns stays in fuzz/corpus/TARGET/ for the next run; a crash is written to
# fuzz/artifacts/TARGET/ and makes this script fail. All of it is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=
seconds=60
targets=()
for a in "$@"; do
  case "$a" in
  --smoke) smoke=1 ;;
  [0-9]*) seconds=$a ;;
  *) targets+=("$a") ;;
  esac
done

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ -n "$smoke" ]; then
  scripts/fuzz-seeds.sh --max 300 >/dev/null
else
  scripts/fuzz-seeds.sh >/dev/null
fi

# No sanitizer: backstop forbids `unsafe`, so what libFuzzer looks for is panics,
# slow inputs and memory growth, which need none, and the build and runs are twice
# as fast without one. Debug assertions and overflow checks are on (cargo-fuzz's default).
(cd fuzz && cargo +nightly fuzz build --sanitizer none)
bin=fuzz/target/x86_64-unknown-linux-gnu/release
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

# The longest input each target is given: a command line, a file.
max_len() {
  case "$1" in
  evaluate_* | prefilter | shell_profile) echo 8192 ;;
  policy | recipe) echo 65536 ;;
  *) echo 16384 ;;
  esac
}

failed=()
summary=$(printf '%-20s %12s %7s %7s %7s %7s %8s  %s' target executions cov ft corpus crashes "peak MB" slowest)
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
  log="fuzz/artifacts/$t/last-run.log"
  echo "fuzz.sh: $t for ${seconds}s"
  status=0
  started=$(mktemp)
  # -timeout: an input that takes longer is a failure (a decision must never hang).
  # -report_slow_units: inputs over a second are kept as slow-unit-* to look at.
  "$bin/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -report_slow_units=1 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  crashes=$(find "fuzz/artifacts/$t" -newer "$started" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  rm -f "$started"
  slowest=-
  if [ -z "$smoke" ]; then
    # Each input of the corpus and seeds again, timed by libFuzzer: the slowest one.
    # The first input of each process is run twice and its first time dropped: it
    # pays for what the target sets up once (the built-in packs loaded, regexes built).
    # A shared machine stalls single runs, so the 20 slowest are timed 3 times more,
    # and each counts with its fastest time.
    # shellcheck disable=SC2016 # the script given to bash -c is expanded there
    slowest=$(find "fuzz/corpus/$t" "fuzz/seeds/$t" -type f -print0 |
      xargs -0 -r -n 2000 bash -c '"$0" -runs=1 "$1" "$@" 2>&1 |
        sed -n "s/^Executed \(.*\) in \([0-9]*\) ms\$/\2 ms \1/p" | tail -n +2' "$bin/$t" |
      sort -n | tail -20 | while read -r _ _ f; do
        "$bin/$t" -runs=1 "$f" "$f" "$f" "$f" 2>&1 |
          sed -n 's/^Executed \(.*\) in \([0-9]*\) ms$/\2 ms \1/p' | tail -n +2 | sort -n | head -1
      done | sort -n | tail -1)
  fi
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz.sh: $t FAILED (exit $status); see $log" >&2
    grep -m1 -A8 -E 'panicked|ERROR: libFuzzer' "$log" >&2 || tail -20 "$log" >&2
  fi
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  summary+=$'\n'$(printf '%-20s %12s %7s %7s %7s %7s %8s  %s' "$t" "${runs:-?}" \
    "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')" \
    "$(find "fuzz/corpus/$t" -type f | wc -l)" "$crashes" "${rss:-?}" "$slowest")
done
echo "$summary"
{
  echo "# $(date -u +%FT%TZ) ${seconds}s a target${smoke:+ (smoke)}"
  echo "$summary"
} >>fuzz/artifacts/runs.log
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}; each crash is in fuzz/artifacts/TARGET/, to replay with $bin/TARGET FILE" >&2
  exit 1
fi
