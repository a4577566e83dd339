#!/usr/bin/env bash
# Whole-process speed and memory of `backstop backup`, against standard tools.
#
# One file of random-looking data (2 GiB; SIZE_MIB to change it) and two
# destinations on different filesystems: a directory on disk (beside the file,
# under target/) and one under /dev/shm (tmpfs). Each comparison is timed in ONE
# hyperfine invocation, so both sides share the same machine load:
#   1. backup   backstop backup FILE --to DISK --to SHM
#               vs the shell script doing the same work with standard tools:
#               cp FILE DISK/ && cp FILE SHM/ && openssl dgst -sha256 FILE DISK/f SHM/f
#   2. SHA-256  the backup/examples/sha256sum.rs example, which hashes with
#               backstop_backup::copy (digest_file: whole + 4 MiB block hashes, as
#               `backstop verify` does; --sha256-only: sha256_file, as `backstop
#               backup` re-reads its copies) vs openssl dgst -sha256 FILE
#   3. memory   peak RSS of one `backstop backup` of FILE, and of a 256 MiB file
#               (to show it does not grow with the size)
# and prints means and the goals of the requirement, each PASS/FAIL:
#   backstop backup mean / script mean                       <= 1.0
#   SHA-256 throughput, backstop / openssl (both hash paths) >= 0.9
#   peak RSS of backstop backup                              <  64 MiB
# Goals are ratios of means taken side by side in the same run, because this
# machine is shared and noisy; absolute times vary from run to run.
#
# Page cache: every command reads the same file, and before each run (warmups
# included) it is read once more, so it is cached for every command alike even if
# the kernel paged it out meanwhile. Before each backup run the copies of the
# previous one are removed and `sync` leaves no dirty pages behind, so no run pays
# for another's writeback. backstop fsyncs its disk copy, as its durability
# promise requires; `cp` does not.
#
# Usage: scripts/bench-backup.sh [--strict]
#   --strict             exit 1 if any goal FAILs (default: always exit 0 once measured)
# Environment:
#   BACKSTOP_BIN=PATH    time this binary instead of building target/release/backstop
#   HASH_BIN=PATH        the sha256sum example binary (default: built with cargo)
#   SIZE_MIB=N           size of the file backed up (default 2048)
#   RSS_SMALL_MIB=N      size of the second file whose peak RSS is taken (default 256, 0 skips)
#   BENCH_RUNS=N         timed runs per backup command (default 5)
#   BENCH_HASH_RUNS=N    timed runs per hashing command (default 10)
#   BENCH_DIR=DIR        where the file and the disk copies go (default target/)
#   BENCH_SHM_DIR=DIR    where the tmpfs copies go (default /dev/shm)
#   BENCH_JSON_OUT=PREFIX  also copy hyperfine's JSON to PREFIX-backup.json, PREFIX-sha256.json
#   BENCH_KEEP=1         keep the scratch directories (they hold several GiB)
# Tools: hyperfine, openssl, python3; GNU time (/usr/bin/time) if present.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
# A relative BACKSTOP_BIN / HASH_BIN means relative to the caller's cwd.
for var in BACKSTOP_BIN HASH_BIN; do
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
        *) echo "bench-backup: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

size_mib="${SIZE_MIB:-2048}"
small_mib="${RSS_SMALL_MIB:-256}"
runs="${BENCH_RUNS:-5}"
hash_runs="${BENCH_HASH_RUNS:-10}"

log() { printf 'bench-backup: %s\n' "$*" >&2; }

for tool in hyperfine openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool not found"; exit 1; }
done

# ------------------------------------------------------------------ binaries
target_dir() {
    cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}
if [ -n "${BACKSTOP_BIN:-}" ]; then
    backstop="$BACKSTOP_BIN"
    log "using BACKSTOP_BIN=$backstop (no build)"
else
    log "cargo build --release --bin backstop"
    cargo build --release --bin backstop >&2
    backstop="$(target_dir)/release/backstop"
fi
if [ -n "${HASH_BIN:-}" ]; then
    hasher="$HASH_BIN"
    log "using HASH_BIN=$hasher (no build)"
else
    log "cargo build --release -p backstop-backup --example sha256sum"
    cargo build --release -p backstop-backup --example sha256sum >&2
    hasher="$(target_dir)/release/examples/sha256sum"
fi
for bin in "$backstop" "$hasher"; do
    [ -x "$bin" ] || { log "not an executable: $bin"; exit 1; }
done

# ------------------------------------------------------------ scratch space
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
work="$(mktemp -d "$bench_dir/bench-backup.XXXXXX")"
shm="$(mktemp -d "$shm_dir/bench-backup.XXXXXX")"
if [ "$(stat -c %d "$work")" = "$(stat -c %d "$shm")" ]; then
    log "$work and $shm are on one filesystem; backstop backup needs two"
    exit 1
fi
need_kib=$(( (2 * size_mib + small_mib + 64) * 1024 ))
have_kib="$(df -Pk "$work" | awk 'NR == 2 { print $4 }')"
[ "$have_kib" -ge "$need_kib" ] || { log "need $((need_kib / 1024)) MiB free in $work, have $((have_kib / 1024))"; exit 1; }
have_kib="$(df -Pk "$shm" | awk 'NR == 2 { print $4 }')"
[ "$have_kib" -ge $(( (size_mib + 64) * 1024 )) ] || { log "need $((size_mib + 64)) MiB free in $shm"; exit 1; }

file="$work/data.bin"
disk_out="$work/disk"
shm_out="$shm/copies"
export BACKSTOP_HOME="$work/backstop-home"
export NO_COLOR=1
mkdir -p "$disk_out" "$shm_out" "$BACKSTOP_HOME"

# AES-CTR of zeros: incompressible like real data, and much faster than /dev/urandom.
log "writing $size_mib MiB of random-looking data to $file"
head -c "$(( size_mib * 1048576 ))" /dev/zero \
    | openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:backstop-bench > "$file"
[ "$(stat -c %s "$file")" -eq $(( size_mib * 1048576 )) ] || { log "short data file"; exit 1; }
bytes="$(stat -c %s "$file")"

q() { printf '%q' "$1"; }
clean="rm -rf $(q "$disk_out") $(q "$shm_out") $(q "$BACKSTOP_HOME") && mkdir -p $(q "$disk_out") $(q "$shm_out") $(q "$BACKSTOP_HOME") && sync"
# The kernel may page out a file not touched for a while: read it back in each time.
cached="cat $(q "$file")"
backup_cmd="$(q "$backstop") backup $(q "$file") --to $(q "$disk_out") --to $(q "$shm_out")"
script_cmd="cp $(q "$file") $(q "$disk_out")/ && cp $(q "$file") $(q "$shm_out")/ && openssl dgst -sha256 $(q "$file") $(q "$disk_out/data.bin") $(q "$shm_out/data.bin")"

# ------------------------------------------------- one checked run of each
# Not timed: each side must do its whole job, or its timing means nothing.
bash -c "$clean"
expected="$(openssl dgst -sha256 -r "$file" | cut -d' ' -f1)"
out="$(bash -c "$backup_cmd")" || { log "backstop backup failed"; exit 1; }
copies=("$disk_out"/*.tar "$shm_out"/*.tar)
if [ "${#copies[@]}" -ne 2 ] || [ ! -f "${copies[0]}" ] || [ ! -f "${copies[1]}" ]; then
    log "backstop backup did not leave two copies: $out"
    exit 1
fi
[ "$(stat -c %s "${copies[0]}")" -gt "$bytes" ] || { log "the copy is smaller than the file"; exit 1; }
log "backstop: $(printf '%s\n' "$out" | head -n 1)"
bash -c "$clean"
bash -c "$script_cmd" > "$work/script.out"
[ "$(grep -c "$expected" "$work/script.out")" -eq 3 ] || { log "the baseline script's copies differ"; exit 1; }
for flag in "" "--sha256-only"; do
    # shellcheck disable=SC2086 # an empty flag is no argument
    got="$("$hasher" $flag "$file" | cut -d' ' -f1)"
    [ "$got" = "$expected" ] || { log "sha256sum example $flag gave $got, openssl $expected"; exit 1; }
done
bash -c "$clean"

# ------------------------------------------------------------ machine state
busy="$(pgrep -x -d, 'rustc|cc1|cc1plus|ld|cargo' 2>/dev/null || true)"
if [ -n "$busy" ]; then
    log "warning: compiler processes are running (pids $busy); numbers will be noisier"
fi
log "cores: $(nproc 2>/dev/null || echo '?'), load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

# ------------------------------------------------------------ the timing runs
log "hyperfine: backup, $runs runs each after 1 warmup ($size_mib MiB each time)"
hyperfine --shell=bash --warmup 1 --runs "$runs" --style basic --prepare "$clean && $cached > /dev/null" \
    --export-json "$work/backup.json" \
    -n "backstop backup" "$backup_cmd" \
    -n "cp, cp, openssl dgst" "$script_cmd" < /dev/null >&2
bash -c "$clean"

log "hyperfine: SHA-256, $hash_runs runs each after 2 warmups"
hyperfine -N --warmup 2 --runs "$hash_runs" --style basic --prepare "$cached" \
    --export-json "$work/sha256.json" \
    -n "openssl dgst -sha256" "openssl dgst -sha256 $(q "$file")" \
    -n "backstop digest_file" "$(q "$hasher") $(q "$file")" \
    -n "backstop sha256_file" "$(q "$hasher") --sha256-only $(q "$file")" < /dev/null >&2

if [ -n "${BENCH_JSON_OUT:-}" ]; then
    cp "$work/backup.json" "$BENCH_JSON_OUT-backup.json"
    cp "$work/sha256.json" "$BENCH_JSON_OUT-sha256.json"
    log "hyperfine JSON copied to $BENCH_JSON_OUT-{backup,sha256}.json"
fi

# ------------------------------------------------------------ peak memory
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
rss_rows="$work/rss.tsv"
: > "$rss_rows"
bash -c "$clean"
printf '%s\t%s\n' "$size_mib" "$(peak_kib "$backstop" backup "$file" --to "$disk_out" --to "$shm_out")" >> "$rss_rows"
if [ "$small_mib" -gt 0 ] && [ "$small_mib" -lt "$size_mib" ]; then
    bash -c "$clean"
    small="$work/small.bin"
    head -c "$(( small_mib * 1048576 ))" "$file" > "$small"
    printf '%s\t%s\n' "$small_mib" "$(peak_kib "$backstop" backup "$small" --to "$disk_out" --to "$shm_out")" >> "$rss_rows"
    rm -f "$small"
fi
bash -c "$clean"

# ------------------------------------------------------------ report
python3 - "$work/backup.json" "$work/sha256.json" "$rss_rows" "$bytes" "$strict" "$backstop" <<'PY'
import json, sys

backup_json, sha_json, rss_path, nbytes, strict, backstop = sys.argv[1:7]
nbytes = int(nbytes)

def load(path):
    return {r["command"]: r for r in json.load(open(path))["results"]}

backup, sha = load(backup_json), load(sha_json)

def row(name, r, extra=""):
    print(f"  {name:<24} {r['mean']:>8.3f} s ± {r['stddev'] or 0:.3f}   median {r['median']:.3f}"
          f"   min {r['min']:.3f}   max {r['max']:.3f}{extra}")

print()
print(f"backstop: {backstop}")
print(f"file:     {nbytes} bytes ({nbytes / 1048576:.0f} MiB)")
print()
print("Backup to disk + /dev/shm, verification included (mean ± σ):")
for name, r in backup.items():
    row(name, r)
print()
print("SHA-256 of the file, from the page cache (mean ± σ):")
for name, r in sha.items():
    row(name, r, f"   {nbytes / r['mean'] / 1e6:>7.0f} MB/s")
print()
rss = [line.split("\t") for line in open(rss_path).read().split("\n") if line]
print("Peak RSS of backstop backup:")
for mib, kib in rss:
    print(f"  {mib:>6} MiB file      {int(kib) / 1024:>6.1f} MiB")
print()

verdicts = []
def goal(label, value, ok, target, fmt="{:.2f}"):
    status = "PASS" if ok(value) else "FAIL"
    verdicts.append(status)
    print(f"  {status:<4}  {label:<52} {fmt.format(value):>9}   (goal {target})")

b, s = backup["backstop backup"], backup["cp, cp, openssl dgst"]
o = sha["openssl dgst -sha256"]
print("Goals (ratios of means from one run):")
goal("backstop backup / cp+cp+openssl script", b["mean"] / s["mean"], lambda v: v <= 1.0, "<= 1.0")
goal("SHA-256 throughput, digest_file / openssl",
     o["mean"] / sha["backstop digest_file"]["mean"], lambda v: v >= 0.9, ">= 0.9")
goal("SHA-256 throughput, sha256_file / openssl",
     o["mean"] / sha["backstop sha256_file"]["mean"], lambda v: v >= 0.9, ">= 0.9")
for mib, kib in rss:
    goal(f"peak RSS, {mib} MiB file, MiB", int(kib) / 1024, lambda v: v < 64, "< 64", "{:.1f}")
print()
failed = verdicts.count("FAIL")
print(f"Summary: {verdicts.count('PASS')} PASS, {failed} FAIL")
sys.exit(1 if (strict == "1" and failed) else 0)
PY
