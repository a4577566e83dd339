#!/usr/bin/env bash
# How long git coverage takes for a repository of 10,000 files, side by side in one
# hyperfine run with what it is made of and what it is compared with:
#   - `git status --porcelain` alone (the baseline: what anyone would run first);
#   - the `git status` backstop runs (porcelain v2, ignored files listed);
#   - one `git rev-parse HEAD` (the cost of starting a git process at all);
#   - `backstop check 'rm -rf src'` in the repository (src holds the 10,000 files,
#     committed and pushed: the whole coverage check, then `ask`);
#   - the same line outside any repository (no git at all: the engine and manifests);
#   - `backstop check 'ls -la'` (a benign line).
#
#   scripts/bench-git.sh [--bin PATH] [--files N] [--runs N]
#
# Needs hyperfine (scripts/install-bench-tools.sh) and git. The repository is built in
# a fresh directory under $HOME (the rules except /tmp) and removed afterwards.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$here/target/release/backstop"
files=10000
runs=50
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--bin PATH] [--files N] [--runs N]" >&2; exit 2 ;;
  esac
done
[[ -x $bin ]] || { echo "build first: cargo build --release (or --bin PATH)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is missing: scripts/install-bench-tools.sh" >&2; exit 2; }

root=$(mktemp -d "${HOME:?}/backstop-bench-git.XXXXXX")
trap 'rm -rf "$root"' EXIT
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.invalid
repo=$root/app
mkdir -p "$repo/src" "$root/plain/data"
# N files of about 1 KiB in 100 directories, like a mid-sized source tree.
python3 - "$repo/src" "$files" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"mod{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i:05d}.rs"), "w") as f:
        f.write(f"// file {i}\n" + "pub fn f() -> u32 { %d }\n" % i * 40)
EOF
printf 'node_modules/\n' >"$repo/.gitignore"
git init -q --bare "$root/app.git"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m "10k files"
git -C "$repo" remote add origin "$root/app.git"
git -C "$repo" push -q -u origin main
mkdir -p "$repo/src/node_modules/pkg" && echo x >"$repo/src/node_modules/pkg/index.js"
echo x >"$root/plain/data/f"
git -C "$repo" status --porcelain >/dev/null # a warm index, as in daily use

echo "$(git -C "$repo" ls-files | wc -l) tracked files; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
{ "$bin" check --cwd "$repo" --json -- 'rm -rf src' || true; } | python3 -c 'import json,sys; v=json.load(sys.stdin); print("decision:", v["decision"], "| backup:", v["targets"][0]["backup"]["status"], v["targets"][0]["backup"].get("git", {}).get("branch"))'

export BACKSTOP_HOME=$root/backstop-home
hyperfine -N --warmup 5 --runs "$runs" -i \
  -n 'git status --porcelain' "git -C $repo status --porcelain" \
  -n "git status as backstop runs it" "git -C $repo --literal-pathspecs -c core.fsmonitor=false status --porcelain=v2 -z --untracked-files=normal --ignored=matching -- src" \
  -n 'git rev-parse HEAD (one git process)' "git -C $repo rev-parse HEAD" \
  -n 'backstop check rm -rf src (in the repo)' "$bin check --cwd $repo -- 'rm -rf src'" \
  -n 'backstop check rm -rf data (no repo)' "$bin check --cwd $root/plain -- 'rm -rf data'" \
  -n 'backstop check ls -la' "$bin check --cwd $repo -- 'ls -la'" \
  --export-json "$root/result.json" >/dev/null
# Medians (the machine is shared: means carry its noise), and each row against git
# status alone, which ran beside it.
python3 - "$root/result.json" <<'PY'
import json, statistics, sys
rows = json.load(open(sys.argv[1]))["results"]
base = statistics.median(rows[0]["times"])
print(f"{'command':45} {'median':>9} {'min':>9}  vs git status")
for r in rows:
    m = statistics.median(r["times"])
    print(f"{r['command']:45} {m*1000:7.1f} ms {min(r['times'])*1000:6.1f} ms  {m/base:5.2f}x")
PY
