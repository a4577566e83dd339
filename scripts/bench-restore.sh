#!/usr/bin/env bash
# Whole-process speed and memory of `backstop restore`, against `tar -x` of the same
# archive (backstop's copy of a path is a plain tar).
#
# Two trees, each backed up once to a directory on disk (under target/) and one in
# /dev/shm (tmpfs); then, timed in ONE hyperfine invocation per tree so that both
# sides share the same machine load:
#   backstop restore ID --to DIR   reads the first copy, checks every 4 MiB block and
#                                  the whole SHA-256, hashes each file against the
#                                  index as it writes it, fsyncs it, renames into place
#   tar -xf COPY -C DIR            the same archive, no checks, nothing flushed
#   tar -xf COPY -C DIR && sync    the same, with its data on disk at the end, which
#                                  is what backstop's fsyncs buy
# Trees: "large", one file of random-looking data (LARGE_MIB, default 1024); "small",
# SMALL_FILES files of 8 KiB (default 20000) in 100 directories. Then peak RSS of one
# restore of each tree (it must not grow with the size), and the goals:
#   backstop restore / (tar -x && sync), large tree   <= 1.5
#   peak RSS of backstop restore                       < 64 MiB (backup's limit)
# Goals are ratios of means taken side by side in the same run, because this
# machine is shared and noisy; absolute times vary from run to run.
#
# Page cache: before each run the copy is read once (so it is cached for every
# command alike), the previous run's output is removed and `sync` leaves no dirty
# pages behind, so no run pays for another's writeback.
#
# Usage: scripts/bench-restore.sh [--strict]
#   --strict             exit 1 if any goal FAILs (default: always exit 0 once measured)
# Environment:
#   BACKSTOP_BIN=PATH    time this binary instead of building target/release/backstop
#   LARGE_MIB=N          size of the large tree's file (default 1024)
#   SMALL_FILES=N        files in the small tree (default 20000)
#   BENCH_RUNS=N         timed runs per command (default 5)
#   BENCH_DIR=DIR        where the trees, disk copies and restores go (default target/)
#   BENCH_SHM_DIR=DIR    where the tmpfs copies go (default /dev/shm)
#   BENCH_JSON_OUT=PREFIX  also copy hyperfine's JSON to PREFIX-large.json, PREFIX-small.json
#   BENCH_KEEP=1         keep the scratch directories
# Tools: hyperfine, tar, openssl, python3; GNU time (/usr/bin/time) if present.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
val="${BACKSTOP_BIN:-}"
if [ -n "$val" ] && [ "${val#/}" = "$val" ] && [ "${val#*/}" != "$val" ]; then
    BACKSTOP_BIN="$PWD/$val"
fi
cd "$repo_root"

strict="${BENCH_STRICT:-0}"
for arg in "$@"; do
    case "$arg" in
        --strict) strict=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench-restore: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

large_mib="${LARGE_MIB:-1024}"
small_files="${SMALL_FILES:-20000}"
runs="${BENCH_RUNS:-5}"

log() { printf 'bench-restore: %s\n' "$*" >&2; }

for tool in hyperfine tar openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool not found (scripts/install-bench-tools.sh installs hyperfine)"; exit 1; }
done

if [ -n "${BACKSTOP_BIN:-}" ]; then
    backstop="$BACKSTOP_BIN"
    log "using BACKSTOP_BIN=$backstop (no build)"
else
    log "cargo build --release --bin backstop"
    cargo build --release --bin backstop >&2
    backstop="$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/backstop"
fi
[ -x "$backstop" ] || { log "not an executable: $backstop"; exit 1; }

bench_dir="${BENCH_DIR:-$repo_root/target}"
shm_dir="${BENCH_SHM_DIR:-/dev/shm}"
mkdir -p "$bench_dir"
work=""
shm=""
cleanup() {
    if [ "${BENCH_KEEP:-0}" = "1" ]; then
        log "kept $work $shm"
    else
        if [ -n "$work" ]; then rm -rf "$work"; fi
        if [ -n "$shm" ]; then rm -rf "$shm"; fi
    fi
}
trap cleanup EXIT
work="$(mktemp -d "$bench_dir/bench-restore.XXXXXX")"
shm="$(mktemp -d "$shm_dir/bench-restore.XXXXXX")"
if [ "$(stat -c %d "$work")" = "$(stat -c %d "$shm")" ]; then
    log "$work and $shm are on one filesystem; backstop backup needs two"
    exit 1
fi
small_mib=$(( small_files * 8 / 1024 + 64 ))
need_kib=$(( (4 * large_mib + 4 * small_mib + 256) * 1024 ))
have_kib="$(df -Pk "$work" | awk 'NR == 2 { print $4 }')"
[ "$have_kib" -ge "$need_kib" ] || { log "need $((need_kib / 1024)) MiB free in $work, have $((have_kib / 1024))"; exit 1; }
have_kib="$(df -Pk "$shm" | awk 'NR == 2 { print $4 }')"
[ "$have_kib" -ge $(( (large_mib + small_mib + 64) * 1024 )) ] || { log "need $((large_mib + small_mib + 64)) MiB free in $shm"; exit 1; }

export BACKSTOP_HOME="$work/backstop-home"
export NO_COLOR=1
mkdir -p "$work/trees" "$work/disk" "$shm/copies" "$work/out" "$BACKSTOP_HOME"

log "writing the large tree: one file of $large_mib MiB"
mkdir -p "$work/trees/large"
# AES-CTR of zeros: incompressible like real data, and much faster than /dev/urandom.
head -c "$(( large_mib * 1048576 ))" /dev/zero \
    | openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:backstop-bench > "$work/trees/large/data.bin"
log "writing the small tree: $small_files files of 8 KiB in 100 directories"
python3 - "$work/trees/small" "$small_files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.txt"), "wb") as f:
        f.write((f"{i:08d}" * 1024).encode())
PY

q() { printf '%q' "$1"; }
declare -A id copy bytes
for tree in large small; do
    "$backstop" backup "$work/trees/$tree" --to "$work/disk" --to "$shm/copies" > "$work/$tree.backup" \
        || { log "backstop backup of the $tree tree failed"; cat "$work/$tree.backup" >&2; exit 1; }
    id[$tree]="$(sed -n 's/^backed up .* as \(bk-[^ ]*\) .*/\1/p' "$work/$tree.backup")"
    copy[$tree]="$(ls "$work/disk/$tree-${id[$tree]}.tar")"
    bytes[$tree]="$(stat -c %s "${copy[$tree]}")"
    log "$tree tree backed up as ${id[$tree]} (${bytes[$tree]} bytes)"
done

# ------------------------------------------------- one checked run of each
for tree in large small; do
    rm -rf "$work/out"/*
    "$backstop" restore "${id[$tree]}" --to "$work/out/b/$tree" > /dev/null
    mkdir -p "$work/out/t"
    tar -xf "${copy[$tree]}" -C "$work/out/t"
    diff -r "$work/trees/$tree" "$work/out/b/$tree" || { log "backstop's restore of $tree differs"; exit 1; }
    diff -r "$work/trees/$tree" "$work/out/t/$tree" || { log "tar's extraction of $tree differs"; exit 1; }
done
rm -rf "$work/out"/*

busy="$(pgrep -x -d, 'rustc|cc1|cc1plus|ld|cargo' 2>/dev/null || true)"
if [ -n "$busy" ]; then
    log "warning: compiler processes are running (pids $busy); numbers will be noisier"
fi
log "cores: $(nproc 2>/dev/null || echo '?'), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

for tree in large small; do
    out="$work/out"
    clean="rm -rf $(q "$out") && mkdir -p $(q "$out/t") && sync && cat $(q "${copy[$tree]}") > /dev/null"
    log "hyperfine: the $tree tree, $runs runs each after 1 warmup"
    hyperfine --shell=bash --warmup 1 --runs "$runs" --style basic --prepare "$clean" \
        --export-json "$work/$tree.json" \
        -n "backstop restore" "$(q "$backstop") restore ${id[$tree]} --to $(q "$out/b/$tree") > /dev/null" \
        -n "tar -x" "tar -xf $(q "${copy[$tree]}") -C $(q "$out/t")" \
        -n "tar -x && sync" "tar -xf $(q "${copy[$tree]}") -C $(q "$out/t") && sync" < /dev/null >&2
    if [ -n "${BENCH_JSON_OUT:-}" ]; then
        cp "$work/$tree.json" "$BENCH_JSON_OUT-$tree.json"
    fi
done

peak_kib() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o "$work/rss" "$@" > /dev/null
        tail -n 1 "$work/rss"
    else
        python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
    fi
}
: > "$work/rss.tsv"
for tree in large small; do
    rm -rf "$work/out"
    printf '%s\t%s\t%s\n' "$tree" "${bytes[$tree]}" \
        "$(peak_kib "$backstop" restore "${id[$tree]}" --to "$work/out/$tree")" >> "$work/rss.tsv"
done
rm -rf "$work/out"

python3 - "$work/large.json" "$work/small.json" "$work/rss.tsv" "${bytes[large]}" "${bytes[small]}" "$small_files" "$strict" "$backstop" <<'PY'
import json, sys

large_json, small_json, rss_path, large_bytes, small_bytes, small_files, strict, backstop = sys.argv[1:9]
sizes = {"large": int(large_bytes), "small": int(small_bytes)}

def load(path):
    return {r["command"]: r for r in json.load(open(path))["results"]}

results = {"large": load(large_json), "small": load(small_json)}
print()
print(f"backstop: {backstop}")
for tree, label in (("large", "one file"), ("small", f"{small_files} files of 8 KiB")):
    n = sizes[tree]
    print(f"\n{tree} tree ({label}), archive {n} bytes ({n / 1048576:.0f} MiB), mean ± σ:")
    for name, r in results[tree].items():
        print(f"  {name:<18} {r['mean']:>8.3f} s ± {r['stddev'] or 0:.3f}   median {r['median']:.3f}"
              f"   {n / r['mean'] / 1e6:>7.0f} MB/s")
rss = [line.split("\t") for line in open(rss_path).read().split("\n") if line]
print("\nPeak RSS of backstop restore:")
for tree, n, kib in rss:
    print(f"  {tree:<6} tree ({int(n) / 1048576:>6.0f} MiB archive)   {int(kib) / 1024:>6.1f} MiB")
print()

verdicts = []
def goal(label, value, ok, target, fmt="{:.2f}"):
    status = "PASS" if ok(value) else "FAIL"
    verdicts.append(status)
    print(f"  {status:<4}  {label:<52} {fmt.format(value):>9}   (goal {target})")

print("Goals (ratios of means from one run):")
for tree in ("large", "small"):
    r = results[tree]
    ratio = r["backstop restore"]["mean"] / r["tar -x && sync"]["mean"]
    if tree == "large":
        goal("backstop restore / (tar -x && sync), large tree", ratio, lambda v: v <= 1.5, "<= 1.5")
    else:
        print(f"  info  backstop restore / (tar -x && sync), small tree     {ratio:>9.2f}")
    print(f"  info  backstop restore / tar -x, {tree} tree{' ' * (21 - len(tree))}"
          f"{r['backstop restore']['mean'] / r['tar -x']['mean']:>9.2f}")
for tree, n, kib in rss:
    goal(f"peak RSS, {tree} tree, MiB", int(kib) / 1024, lambda v: v < 64, "< 64", "{:.1f}")
print()
failed = verdicts.count("FAIL")
print(f"Summary: {verdicts.count('PASS')} PASS, {failed} FAIL")
sys.exit(1 if (strict == "1" and failed) else 0)
PY
