#!/usr/bin/env bash
# A backup to a local directory plus a restic REST repository on loopback, against
# restic alone backing up the same data to the same kind of repository.
#
# One file of random-looking data (1 GiB; SIZE_MIB to change it). A REST server
# (`rclone serve restic`) on 127.0.0.1, on a free port, serves a fresh repository
# for every run (re-created before each, so restic never finds the data already
# there). Timed side by side in ONE hyperfine invocation, so both share the load:
#   1. backstop backup FILE --to DISK --to restic:rest:http://127.0.0.1:PORT/repo/
#      (one read, the tar streamed into `restic backup --stdin` while the local copy
#      is written; then both proven: the local copy re-read, the snapshot re-read
#      with `restic dump`, through SHA-256)
#   2. restic -r rest:… backup FILE (what a person would run instead: no local copy,
#      no proof)
# Then backstop's own peak memory (VmHWM of the backstop process, polled; restic's
# is its own and reported beside it), and the goals, each PASS/FAIL:
#   backstop backup mean / restic backup mean   <= 1.3
#   backstop's peak RSS                          <  64 MiB
#
# Usage: scripts/bench-destinations.sh [--strict]
# Environment:
#   BACKSTOP_BIN=PATH   time this binary instead of building target/release/backstop
#   SIZE_MIB=N          size of the data (default 1024)
#   BENCH_RUNS=N        timed runs per command (default 3)
#   BENCH_DIR=DIR       where the data, the local copies and the repositories go (default target/)
# Tools: hyperfine, restic, rclone, openssl, python3.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
if [ -n "${BACKSTOP_BIN:-}" ] && [ "${BACKSTOP_BIN#/}" = "$BACKSTOP_BIN" ]; then
    BACKSTOP_BIN="$PWD/$BACKSTOP_BIN"
fi
cd "$repo_root"

strict=0
for arg in "$@"; do
    case "$arg" in
        --strict) strict=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench-destinations: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
size_mib="${SIZE_MIB:-1024}"
runs="${BENCH_RUNS:-3}"
log() { printf 'bench-destinations: %s\n' "$*" >&2; }
for tool in hyperfine restic rclone openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool not found"; exit 1; }
done

if [ -n "${BACKSTOP_BIN:-}" ]; then
    backstop="$BACKSTOP_BIN"
else
    log "cargo build --release --bin backstop"
    cargo build --release --bin backstop >&2
    backstop="$repo_root/target/release/backstop"
fi

bench_dir="${BENCH_DIR:-$repo_root/target}"
mkdir -p "$bench_dir"
work="$(mktemp -d "$bench_dir/bench-destinations.XXXXXX")"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export RESTIC_PASSWORD=backstop-bench
export XDG_CACHE_HOME="$work/cache"
export RCLONE_CONFIG="$work/rclone.conf"
export BACKSTOP_HOME="$work/backstop-home"
: > "$RCLONE_CONFIG"
mkdir -p "$BACKSTOP_HOME" "$work/served" "$work/disk"
# The disk copy and the remote repository are apart; no room need be kept free here.
printf '[backup]\nmin_free = 0\n' > "$BACKSTOP_HOME/config.toml"

# rclone takes a free port itself and names it in its log.
rclone serve restic --addr 127.0.0.1:0 "$work/served" 2>"$work/serve.log" &
server_pid=$!
port=""
for _ in $(seq 200); do
    port="$(grep -o '127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -n 1 | cut -d: -f2 || true)"
    [ -n "$port" ] && (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
[ -n "$port" ] || { log "rclone serve restic did not start: $(cat "$work/serve.log")"; exit 1; }
# A new repository for every run (rclone's server remembers a deleted one): its
# address is kept in a file the timed commands read.
base="rest:http://127.0.0.1:$port"
echo 0 > "$work/runs"

file="$work/data.bin"
log "writing $size_mib MiB of random-looking data to $file"
head -c "$(( size_mib * 1048576 ))" /dev/zero \
    | openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:backstop-bench > "$file"

q() { printf '%q' "$1"; }
fresh="n=\$(( \$(cat $(q "$work/runs")) + 1 )) && echo \$n > $(q "$work/runs") && rm -rf $(q "$work/served")/* $(q "$work/disk") $(q "$BACKSTOP_HOME/data") && mkdir -p $(q "$work/disk") && echo $base/repo\$n/ > $(q "$work/repo") && restic -q -r \$(cat $(q "$work/repo")) init && cat $(q "$file") > /dev/null && sync"
backstop_cmd="$(q "$backstop") backup $(q "$file") --to $(q "$work/disk") --to restic:\$(cat $(q "$work/repo"))"
restic_cmd="restic -q -r \$(cat $(q "$work/repo")) backup $(q "$file")"

# One checked run: backstop must make and prove both copies.
bash -c "$fresh"
bash -c "$backstop_cmd" >&2 || { log "backstop backup failed"; exit 1; }

log "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --shell=bash --runs "$runs" --style basic --prepare "$fresh" \
    --export-json "$work/times.json" \
    -n "backstop backup (disk + restic REST)" "$backstop_cmd" \
    -n "restic backup (REST)" "$restic_cmd" < /dev/null >&2

# backstop's own peak memory: VmHWM of its process, read until it exits.
bash -c "$fresh"
python3 - "$backstop" "$file" "$work/disk" "restic:$(cat "$work/repo")" > "$work/rss" <<'PY'
import subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "backup", sys.argv[2], "--to", sys.argv[3], "--to", sys.argv[4]],
                     stdout=subprocess.DEVNULL)
peak = 0
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.02)
print(peak)
PY

python3 - "$work/times.json" "$work/rss" "$size_mib" "$strict" <<'PY'
import json, sys
times, rss_path, size, strict = sys.argv[1:5]
r = {x["command"]: x for x in json.load(open(times))["results"]}
b, s = r["backstop backup (disk + restic REST)"], r["restic backup (REST)"]
rss = int(open(rss_path).read().strip() or 0) / 1024
print()
print(f"{size} MiB, mean ± σ over the runs:")
for name, x in r.items():
    print(f"  {name:<38} {x['mean']:>7.2f} s ± {x['stddev'] or 0:.2f}")
print(f"  backstop's peak RSS {rss:.1f} MiB")
ok_t, ok_m = b["mean"] / s["mean"] <= 1.3, rss < 64
print(f"  {'PASS' if ok_t else 'FAIL'}  backstop / restic = {b['mean'] / s['mean']:.2f} (goal <= 1.3)")
print(f"  {'PASS' if ok_m else 'FAIL'}  peak RSS {rss:.1f} MiB (goal < 64)")
sys.exit(1 if strict == "1" and not (ok_t and ok_m) else 0)
PY
