#!/usr/bin/env bash
# What forwarding audit records to syslog adds to a refused line: `backstop hook` on
# a line it refuses (which writes one audit record), side by side in ONE hyperfine
# run, each row with a BACKSTOP_HOME of its own:
#   no forwarding                    baseline
#   udp:  to a running rsyslogd      collector up
#   tcp:  to a running rsyslogd      collector up
#   tcp:  to a port nobody listens on    collector down (connection refused)
#   unix: to a stopped rsyslogd whose queue is full   collector hung (the bound)
# Every row runs under `env BACKSTOP_HOME=…`, the baseline too. The rsyslogds are
# started here, on loopback ports and a private socket, and stopped at the end.
#
# Usage: scripts/bench-syslog.sh
# Environment:
#   BACKSTOP_BIN=PATH    time this binary instead of building target/release/backstop
#   BENCH_RUNS=N         runs per command (default 100)
#   BENCH_WARMUP=N       warmup runs per command (default 5)
#   BENCH_KEEP=1         keep the temporary directory
# Tools: hyperfine (scripts/install-bench-tools.sh), rsyslogd (Debian's rsyslog), python3.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
if [ -n "${BACKSTOP_BIN:-}" ] && [ "${BACKSTOP_BIN#/}" = "$BACKSTOP_BIN" ]; then
    BACKSTOP_BIN="$PWD/$BACKSTOP_BIN"
fi
cd "$repo_root"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
runs="${BENCH_RUNS:-100}"
warmup="${BENCH_WARMUP:-5}"
log() { printf 'bench-syslog: %s\n' "$*" >&2; }

command -v hyperfine >/dev/null 2>&1 || { log "hyperfine not found: run scripts/install-bench-tools.sh"; exit 1; }
rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$rsyslogd" ] || { log "rsyslogd not found: apt-get install rsyslog"; exit 1; }

if [ -n "${BACKSTOP_BIN:-}" ]; then
    backstop="$BACKSTOP_BIN"
else
    log "cargo build --release --bin backstop"
    cargo build --release --bin backstop >&2
    backstop="$repo_root/target/release/backstop"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-syslog.XXXXXX")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = "1" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
# An rsyslogd of our own in $1, writing what it receives to $1/received.log.
start_rsyslogd() {
    local dir="$1" udp="$2" tcp="$3"
    mkdir -p "$dir"
    cat > "$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$dir/log.sock" UseSpecialParser="off")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$udp")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$tcp")
*.* action(type="omfile" file="$dir/received.log")
EOF
    "$rsyslogd" -n -f "$dir/rsyslog.conf" -i "$dir/pid" >/dev/null 2>&1 &
    pids+=("$!")
    for _ in $(seq 200); do
        [ -S "$dir/log.sock" ] && return 0
        sleep 0.05
    done
    log "rsyslogd in $dir did not start"; exit 1
}

up_udp=$(free_port udp); up_tcp=$(free_port tcp)
start_rsyslogd "$work/up" "$up_udp" "$up_tcp"
start_rsyslogd "$work/hung" "$(free_port udp)" "$(free_port tcp)"
hung_pid="${pids[-1]}"
closed=$(free_port tcp)
sleep 0.5
kill -STOP "$hung_pid"
# Fill the stopped collector's socket queue: a send there would now wait.
python3 - "$work/hung/log.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
try:
    while n < 100000:
        s.sendto(b"<14>1 - - filler - - - x", sys.argv[1])
        n += 1
except BlockingIOError:
    pass
print(f"bench-syslog: {n} datagrams fill the stopped collector's queue", file=sys.stderr)
PY

home_for() {
    local target="$2" dir="$work/home-$1"
    mkdir -p "$dir"
    if [ -n "$target" ]; then printf '[audit]\nsyslog = "%s"\n' "$target" > "$dir/config.toml"; fi
    printf '%s' "$dir"
}
line="rm -rf /home/bench-syslog-nobody/data"
names=(); cmds=()
add() {
    local home; home="$(home_for "$1" "$2")"
    names+=("$1")
    cmds+=("env BACKSTOP_HOME=$home NO_COLOR=1 $backstop hook -- $line")
}
add "none" ""
add "udp-up" "udp:127.0.0.1:$up_udp"
add "tcp-up" "tcp:127.0.0.1:$up_tcp"
add "tcp-down" "tcp:127.0.0.1:$closed"
add "unix-hung" "unix:$work/hung/log.sock"

# Each once first: the refusal must be there, and the up rows must arrive.
for i in "${!cmds[@]}"; do
    code=0; ${cmds[$i]} 2>/dev/null || code=$?
    [ "$code" = 2 ] || { log "${names[$i]}: exit $code, wanted 2 (refused)"; exit 1; }
done
sleep 0.5
[ "$(grep -c 'deny .rm -rf' "$work/up/received.log" || true)" -ge 2 ] || { log "the running rsyslogd received nothing"; exit 1; }

log "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
json="$work/hyperfine.json"
hf=(-N -i --warmup "$warmup" --runs "$runs" --style basic --export-json "$json")
for i in "${!names[@]}"; do hf+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine "${hf[@]}" >&2

python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["none"]["median"]
print(f"{'forwarding':<12} {'median ms':>10} {'mean ms':>9} {'max ms':>8} {'added ms':>9}")
for name in ["none", "udp-up", "tcp-up", "tcp-down", "unix-hung"]:
    x = r[name]
    print(f"{name:<12} {x['median']*1e3:>10.2f} {x['mean']*1e3:>9.2f} {x['max']*1e3:>8.2f} {(x['median']-base)*1e3:>9.2f}")
PY
