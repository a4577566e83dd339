#!/usr/bin/env bash
# Whole-process speed comparison for `backstop check`.
#
# Times, in ONE hyperfine invocation (so every number shares the same machine
# load), with no intermediate shell (-N):
#   /bin/true                                             baseline: process spawn cost
#   backstop check -- 'ls -la'                            benign line (exit 0)
#   backstop check -- 'rm -rf ~/x'                        destructive line (exit 2)
#   shellfirm pre-command -c 'ls -la' --test              shellfirm 0.4.1, same lines
#   shellfirm pre-command -c 'rm -rf ~/x' --test
#   shellfirm ... --test --no-context                     (informational rows)
# and prints medians and the goals of the speed requirement, each PASS/FAIL:
#   backstop benign / true      <= 2.0
#   backstop rm median          <  2 ms
#   shellfirm / backstop        >= 5   (benign line, and rm line)
# Goals are ratios of medians taken side by side in the same run, because this
# machine is shared and noisy; absolute times vary from run to run.
#
# All commands run with the same environment: a fresh temporary HOME in which
# ~/x is a small real directory (shellfirm skips `rm -rf` of a path that does
# not exist, so without it shellfirm would not do its real work), and a fresh
# temporary BACKSTOP_HOME. The temporary HOME is a hidden directory under the
# real $HOME (not under /tmp or a cache or target dir, which backstop treats as
# scratch and allows deleting); it is removed on exit. The working directory
# is the repository root.
#
# Usage: scripts/bench-check.sh [--strict]
#   --strict             exit 1 if any goal FAILs (default: always exit 0 once measured)
# Environment:
#   BACKSTOP_BIN=PATH    time this binary instead of building target/release/backstop
#                        (BACKSTOP_BIN=/bin/true gives a dry run of the script)
#   SHELLFIRM_BIN=PATH   shellfirm binary (default: `shellfirm` on PATH or ~/.cargo/bin)
#   BENCH_RUNS=N         runs per command (default 300)
#   BENCH_WARMUP=N       warmup runs per command (default 20)
#   BENCH_NO_CONTEXT_ROWS=0  leave out the informational shellfirm --no-context rows
#   BENCH_JSON_OUT=PATH  also copy hyperfine's JSON there
#   BENCH_KEEP=1         keep the temporary directory
# Tools: scripts/install-bench-tools.sh installs hyperfine and shellfirm 0.4.1.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
# A relative BACKSTOP_BIN / SHELLFIRM_BIN means relative to the caller's cwd.
for var in BACKSTOP_BIN SHELLFIRM_BIN; do
    val="${!var:-}"
    if [ -n "$val" ] && [ "${val#/}" = "$val" ] && [ "${val#*/}" != "$val" ]; then
        printf -v "$var" '%s/%s' "$PWD" "$val"
    fi
done
cd "$repo_root"

strict="${BENCH_STRICT:-0}"
for arg in "$@"; do
    case "$arg" in
        --strict) strict=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench-check: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

runs="${BENCH_RUNS:-300}"
warmup="${BENCH_WARMUP:-20}"
noctx_rows="${BENCH_NO_CONTEXT_ROWS:-1}"
if [ "$runs" -lt 300 ] || [ "$warmup" -lt 20 ]; then
    echo "bench-check: warning: BENCH_RUNS=$runs BENCH_WARMUP=$warmup is below the 300 runs / 20 warmups the requirement is judged with" >&2
fi

log() { printf 'bench-check: %s\n' "$*" >&2; }

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
fi

command -v hyperfine >/dev/null 2>&1 || { log "hyperfine not found: run scripts/install-bench-tools.sh"; exit 1; }
command -v python3 >/dev/null 2>&1 || { log "python3 not found"; exit 1; }

# ------------------------------------------------------------------ binaries
if [ -n "${BACKSTOP_BIN:-}" ]; then
    backstop="$BACKSTOP_BIN"
    log "using BACKSTOP_BIN=$backstop (no build)"
else
    log "cargo build --release --bin backstop"
    cargo build --release --bin backstop >&2
    target_dir="$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    backstop="$target_dir/release/backstop"
fi
if [ "${backstop#*/}" = "$backstop" ]; then
    backstop="$(command -v "$backstop" || true)"
fi
[ -n "$backstop" ] && [ -x "$backstop" ] || { log "backstop binary not found or not executable: ${BACKSTOP_BIN:-target/release/backstop}"; exit 1; }
backstop="$(cd "$(dirname "$backstop")" && pwd)/$(basename "$backstop")"

shellfirm="$(command -v "${SHELLFIRM_BIN:-shellfirm}" || true)"
shellfirm_version=""
if [ -n "$shellfirm" ] && [ -x "$shellfirm" ]; then
    shellfirm_version="$("$shellfirm" --version 2>/dev/null | awk '{print $2}' || true)"
    if [ "$shellfirm_version" != "0.4.1" ]; then
        log "warning: shellfirm is version '${shellfirm_version:-unknown}', the requirement names 0.4.1"
    fi
else
    log "shellfirm not found${SHELLFIRM_BIN:+ at SHELLFIRM_BIN=$SHELLFIRM_BIN}: the shellfirm comparison will be skipped"
    shellfirm=""
fi

# ------------------------------------------------------------ scratch space
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-check.XXXXXX")"
bench_home=""
cleanup() {
    if [ "${BENCH_KEEP:-0}" = "1" ]; then
        log "kept $work ${bench_home}"
    else
        rm -rf "$work"
        if [ -n "$bench_home" ]; then rm -rf "$bench_home"; fi
    fi
}
trap cleanup EXIT

bench_home="$(mktemp -d "$HOME/.backstop-bench.XXXXXX")"
mkdir -p "$bench_home/x/sub" "$work/backstop-home"
for i in 1 2 3 4 5; do printf 'data %s\n' "$i" > "$bench_home/x/file$i"; done
printf 'nested\n' > "$bench_home/x/sub/file"
# HOME is given to the timed commands only (python3 may be a pyenv shim that
# needs the real HOME).
export BACKSTOP_HOME="$work/backstop-home"
export NO_COLOR=1
json="$work/hyperfine.json"

# --------------------------------------------------------------- commands
# Each entry: name<TAB>command string (hyperfine -N splits it like a shell would).
q() { printf '%q' "$1"; }
names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "true"                  "/bin/true"
add "backstop benign"       "$(q "$backstop") check -- 'ls -la'"
add "backstop rm"           "$(q "$backstop") check -- 'rm -rf ~/x'"
if [ -n "$shellfirm" ]; then
    add "shellfirm benign"  "$(q "$shellfirm") pre-command -c 'ls -la' --test"
    add "shellfirm rm"      "$(q "$shellfirm") pre-command -c 'rm -rf ~/x' --test"
    if [ "$noctx_rows" = "1" ]; then
        add "shellfirm benign no-context" "$(q "$shellfirm") pre-command -c 'ls -la' --test --no-context"
        add "shellfirm rm no-context"     "$(q "$shellfirm") pre-command -c 'rm -rf ~/x' --test --no-context"
    fi
fi

# ------------------------------------------------- one sanity run of each
# Exit codes are recorded (hyperfine runs with -i, so a non-zero exit is not an
# error there) and shown, so a crashing or erroring binary is not timed unnoticed.
# `timeout` guards against a command that waits on a terminal.
codes_file="$work/exit-codes.tsv"
: > "$codes_file"
split_and_run() {
    # Run a hyperfine-style command string without a shell's expansion: let
    # python's shlex split it exactly as hyperfine -N does (POSIX word rules).
    python3 - "$1" "$bench_home" <<'PY'
import os, shlex, subprocess, sys
argv = shlex.split(sys.argv[1])
env = dict(os.environ, HOME=sys.argv[2])
try:
    p = subprocess.run(["timeout", "10"] + argv, stdin=subprocess.DEVNULL, env=env,
                       capture_output=True, text=True, errors="replace")
    out = (p.stdout.strip().splitlines() or p.stderr.strip().splitlines() or [""])[0]
    print(f"{p.returncode}\t{out[:70]}")
except FileNotFoundError as e:
    print(f"127\t{e}")
PY
}
for i in "${!names[@]}"; do
    printf '%s\t%s\n' "${names[$i]}" "$(split_and_run "${cmds[$i]}")" >> "$codes_file"
done

# ------------------------------------------------------------ machine state
busy="$(pgrep -x -d, 'rustc|cc1|cc1plus|ld|cargo' 2>/dev/null || true)"
if [ -n "$busy" ]; then
    log "warning: compiler processes are running (pids $busy); numbers will be noisier"
fi
log "cores: $(nproc 2>/dev/null || echo '?'), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

# ------------------------------------------------------------ the timing run
hf_args=(-N -i --warmup "$warmup" --runs "$runs" --style basic --export-json "$json")
for i in "${!names[@]}"; do
    hf_args+=(-n "${names[$i]}" "${cmds[$i]}")
done
log "hyperfine: ${#names[@]} commands, $warmup warmups + $runs runs each"
HOME="$bench_home" hyperfine "${hf_args[@]}" < /dev/null >&2

if [ -n "${BENCH_JSON_OUT:-}" ]; then
    cp "$json" "$BENCH_JSON_OUT"
    log "hyperfine JSON copied to $BENCH_JSON_OUT"
fi

# ------------------------------------------------------------ report
python3 - "$json" "$codes_file" "$strict" "$backstop" "$shellfirm" "$shellfirm_version" <<'PY'
import json, statistics, sys

json_path, codes_path, strict, backstop, shellfirm, sf_version = sys.argv[1:7]
results = {r["command"]: r for r in json.load(open(json_path))["results"]}
codes = {}
for line in open(codes_path):
    name, code, out = (line.rstrip("\n").split("\t") + ["", ""])[:3]
    codes[name] = (code, out)

def ms(x):
    return x * 1000.0

def med(name):
    r = results.get(name)
    return None if r is None else r["median"]

print()
print(f"backstop:  {backstop}")
print(f"shellfirm: {shellfirm + ' (' + sf_version + ')' if shellfirm else 'NOT INSTALLED'}")
print()
true_med = med("true")
hdr = f"{'command':<28} {'median ms':>10} {'mean ms':>9} {'sd ms':>7} {'min ms':>7} {'x true':>7}  {'exit':>4}  first output line"
print(hdr)
print("-" * len(hdr))
for name, r in results.items():
    t = r["times"]
    code, out = codes.get(name, ("?", ""))
    sd = statistics.stdev(t) if len(t) > 1 else 0.0
    print(f"{name:<28} {ms(r['median']):>10.3f} {ms(r['mean']):>9.3f} {ms(sd):>7.3f} "
          f"{ms(min(t)):>7.3f} {r['median'] / true_med:>7.2f}  {code:>4}  {out}")
print()

verdicts = []
def goal(label, value, ok, target, fmt="{:.2f}"):
    if value is None:
        status = "SKIP"
        shown = "n/a"
    else:
        status = "PASS" if ok(value) else "FAIL"
        shown = fmt.format(value)
    verdicts.append(status)
    print(f"  {status:<4}  {label:<44} {shown:>9}   (goal {target})")

b_ben, b_rm = med("backstop benign"), med("backstop rm")
s_ben, s_rm = med("shellfirm benign"), med("shellfirm rm")
print("Goals (ratios of medians from this one run):")
goal("backstop benign / true", b_ben / true_med, lambda v: v <= 2.0, "<= 2.0")
goal("backstop rm -rf ~/x median, ms", ms(b_rm), lambda v: v < 2.0, "< 2 ms", "{:.3f}")
goal("shellfirm / backstop, benign line",
     None if s_ben is None else s_ben / b_ben, lambda v: v >= 5.0, ">= 5.0")
goal("shellfirm / backstop, rm -rf ~/x",
     None if s_rm is None else s_rm / b_rm, lambda v: v >= 5.0, ">= 5.0")

n_ben, n_rm = med("shellfirm benign no-context"), med("shellfirm rm no-context")
if n_ben is not None or n_rm is not None:
    print()
    print("Informational (shellfirm --no-context: runs no git/find/du):")
    if n_ben is not None:
        print(f"  info  shellfirm --no-context / backstop, benign    {n_ben / b_ben:>9.2f}")
    if n_rm is not None:
        print(f"  info  shellfirm --no-context / backstop, rm        {n_rm / b_rm:>9.2f}")

if not shellfirm:
    print()
    print("shellfirm is not installed, so the comparison goals were SKIPPED;")
    print("scripts/install-bench-tools.sh installs shellfirm 0.4.1.")

# Sanity notes on exit codes (backstop: 0 allow, 1 ask, 2 deny, 3 error).
notes = []
bc = codes.get("backstop benign", ("?",))[0]
rc = codes.get("backstop rm", ("?",))[0]
if bc != "0":
    notes.append(f"backstop exited {bc} on the benign line (expected 0)")
if rc not in ("1", "2"):
    notes.append(f"backstop exited {rc} on rm -rf ~/x (expected 2, deny)")
if notes:
    print()
    for n in notes:
        print(f"NOTE: {n}; the timings may not reflect real work.")

print()
failed = verdicts.count("FAIL")
print(f"Summary: {verdicts.count('PASS')} PASS, {failed} FAIL, {verdicts.count('SKIP')} SKIP")
sys.exit(1 if (strict == "1" and failed) else 0)
PY
