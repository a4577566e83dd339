#!/usr/bin/env bash
# Whole-process latency of `backstop agent-hook claude` against `backstop check` on
# the same benign line, side by side in ONE hyperfine invocation (so every number
# shares the same machine load):
#   /bin/true                                   baseline: process spawn cost
#   backstop check -- 'git status --short'       the shells' decision
#   backstop agent-hook claude < sample.json     the agent's decision, same line
#   (and the same pair for `rm -rf ~/x`, informational)
#   backstop agent-hook claude < edit.json       an ordinary Edit of the agent's file
#                                                tool (informational, sh mode only)
# The goal, judged on medians from this one run:
#   agent-hook / check   <= 1.5
#
# The agent reads its hook JSON on stdin. hyperfine 1.16 and later feed it with
# --input and run every command without a shell (-N); `check` ignores stdin, so both
# rows do the same process work apart from reading and answering JSON. An older
# hyperfine has no --input: then every row, /bin/true included, runs under the same
# `sh -c`, and the ratio is also reported with the shell's own time (`sh -c :`)
# taken out of both sides.
#
# The input is tests/integration/agent_samples/claude.json (Claude Code's documented
# PreToolUse input) with the command replaced. All rows run with a fresh temporary
# BACKSTOP_HOME and a temporary HOME under the real $HOME holding a small ~/x.
#
# Usage: scripts/bench-agent.sh [--strict]
#   --strict             exit 1 if the goal FAILs (default: exit 0 once measured)
# Environment:
#   BACKSTOP_BIN=PATH    time this binary instead of building target/release/backstop
#   BENCH_RUNS=N         runs per command (default 300)
#   BENCH_WARMUP=N       warmup runs per command (default 20)
#   BENCH_JSON_OUT=PATH  also copy hyperfine's JSON there
#   BENCH_KEEP=1         keep the temporary directories
# Tools: scripts/install-bench-tools.sh installs hyperfine.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
if [ -n "${BACKSTOP_BIN:-}" ] && [ "${BACKSTOP_BIN#/}" = "$BACKSTOP_BIN" ]; then
    BACKSTOP_BIN="$PWD/$BACKSTOP_BIN"
fi
cd "$repo_root"

strict="${BENCH_STRICT:-0}"
for arg in "$@"; do
    case "$arg" in
        --strict) strict=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench-agent: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
runs="${BENCH_RUNS:-300}"
warmup="${BENCH_WARMUP:-20}"
log() { printf 'bench-agent: %s\n' "$*" >&2; }

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
fi
command -v hyperfine >/dev/null 2>&1 || { log "hyperfine not found: run scripts/install-bench-tools.sh"; exit 1; }
command -v python3 >/dev/null 2>&1 || { log "python3 not found"; exit 1; }

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
[ -x "$backstop" ] || { log "backstop binary not found or not executable: $backstop"; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-agent.XXXXXX")"
bench_home="$(mktemp -d "$HOME/.backstop-bench.XXXXXX")"
cleanup() {
    if [ "${BENCH_KEEP:-0}" = "1" ]; then
        log "kept $work $bench_home"
    else
        rm -rf "$work" "$bench_home"
    fi
}
trap cleanup EXIT
mkdir -p "$bench_home/x" "$work/backstop-home"
printf 'data\n' > "$bench_home/x/file"
export BACKSTOP_HOME="$work/backstop-home" NO_COLOR=1

benign='git status --short'
destructive='rm -rf ~/x'
for which in benign destructive; do
    python3 - "tests/integration/agent_samples/claude.json" "${!which}" "$bench_home" > "$work/$which.json" <<'PY'
import json, sys
sample = json.load(open(sys.argv[1]))
sample["tool_input"]["command"] = sys.argv[2]
sample["cwd"] = sys.argv[3]
print(json.dumps(sample))
PY
done

# Each answer once, so that a broken binary is not timed unnoticed.
check_answer() {
    local want="$1" got
    shift
    got="$("$@" 2>/dev/null || true)"
    case "$got" in
        *"$want"*) ;;
        *) log "unexpected answer from $*: $got (wanted $want)"; exit 1 ;;
    esac
}
python3 - "tests/integration/agent_samples/claude_edit.json" "$bench_home" > "$work/edit.json" <<'PY'
import json, sys
sample = json.load(open(sys.argv[1]))
sample["tool_input"]["file_path"] = sys.argv[2] + "/x/file"
sample["cwd"] = sys.argv[2]
print(json.dumps(sample))
PY
HOME="$bench_home" check_answer '{}' "$backstop" agent-hook claude < "$work/benign.json"
HOME="$bench_home" check_answer '{}' "$backstop" agent-hook claude < "$work/edit.json"
HOME="$bench_home" check_answer '"deny"' "$backstop" agent-hook claude < "$work/destructive.json"

q() { printf '%q' "$1"; }
b="$(q "$backstop")"
names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }
if hyperfine --help 2>/dev/null | grep -q -- '--input'; then
    mode="direct"
    # One stdin file for the whole run: the benign input (check ignores it). The
    # destructive pair needs its own run for its own input.
    add "true"              "/bin/true"
    add "check benign"      "$b check -- $(q "$benign")"
    add "agent-hook benign" "$b agent-hook claude"
    hf_extra=(--input "$work/benign.json")
else
    mode="sh"
    log "hyperfine $(hyperfine --version | awk '{print $2}') has no --input: every row runs under sh -c"
    add "true"                  "sh -c :"
    add "check benign"          "sh -c $(q "$b check -- $(q "$benign") </dev/null")"
    add "agent-hook benign"     "sh -c $(q "$b agent-hook claude <$(q "$work/benign.json")")"
    add "check rm"              "sh -c $(q "$b check -- $(q "$destructive") </dev/null")"
    add "agent-hook rm"         "sh -c $(q "$b agent-hook claude <$(q "$work/destructive.json")")"
    add "agent-hook edit"       "sh -c $(q "$b agent-hook claude <$(q "$work/edit.json")")"
    hf_extra=()
fi

log "cores: $(nproc 2>/dev/null || echo '?'), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
busy="$(pgrep -x -d, 'rustc|cc1|cc1plus|ld|cargo' 2>/dev/null || true)"
[ -z "$busy" ] || log "warning: compiler processes are running (pids $busy); numbers will be noisier"

json="$work/hyperfine.json"
hf_args=(-N -i --warmup "$warmup" --runs "$runs" --style basic --export-json "$json" "${hf_extra[@]}")
for i in "${!names[@]}"; do
    hf_args+=(-n "${names[$i]}" "${cmds[$i]}")
done
HOME="$bench_home" hyperfine "${hf_args[@]}" < /dev/null >&2
[ -z "${BENCH_JSON_OUT:-}" ] || cp "$json" "$BENCH_JSON_OUT"

python3 - "$json" "$strict" "$mode" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" <<'PY'
import json, statistics, sys
path, strict, mode, load = sys.argv[1:5]
res = {r["command"]: r for r in json.load(open(path))["results"]}
ms = lambda s: s * 1000.0
print()
print(f"mode: {mode} ({'no shell, stdin from --input' if mode == 'direct' else 'every row under sh -c'}); load average after: {load}")
hdr = f"{'command':<20} {'median ms':>10} {'mean ms':>9} {'± sd ms':>8} {'min ms':>7}"
print(hdr)
print("-" * len(hdr))
for name, r in res.items():
    t = r["times"]
    sd = statistics.stdev(t) if len(t) > 1 else 0.0
    print(f"{name:<20} {ms(r['median']):>10.3f} {ms(r['mean']):>9.3f} {ms(sd):>8.3f} {ms(min(t)):>7.3f}")
print()
base = res["true"]["median"]
check, agent = res["check benign"]["median"], res["agent-hook benign"]["median"]
ratio = agent / check
ok = ratio <= 1.5
print(f"  {'PASS' if ok else 'FAIL'}  agent-hook / check, benign (medians)       {ratio:>6.2f}   (goal <= 1.5)")
if mode == "sh":
    print(f"  info  the same with `sh -c :` taken out of both     {(agent - base) / (check - base):>6.2f}")
    if "check rm" in res:
        print(f"  info  agent-hook / check, rm -rf ~/x                {res['agent-hook rm']['median'] / res['check rm']['median']:>6.2f}")
    if "agent-hook edit" in res:
        print(f"  info  agent-hook edit / agent-hook benign (medians)  {res['agent-hook edit']['median'] / agent:>6.2f}")
sys.exit(1 if (strict == "1" and not ok) else 0)
PY
