#!/usr/bin/env bash
# A developer's ordinary day, replayed through `backstop check`: how many of its lines
# would backstop refuse? Builds a realistic home (documents, keys, dotfiles, downloads,
# a scratch folder) and two projects pushed to bare remotes on disk (with untracked
# scratch files, an ignored .env, node_modules, dist, target …), then runs every line
# of tests/day/day-in-the-life.txt through `backstop check` in the directory the day
# has reached, and every line of tests/day/must-stop.txt, which must still be stopped.
#
#   scripts/day-in-the-life.sh [--bin PATH] [--keep] [--verbose]
#
# Exit 0 when no line of the day is refused (ask or deny) and every must-stop line is
# stopped; 1 otherwise. The fixture lives in a fresh directory under $HOME (the rules
# except /tmp, so it cannot live there) and is removed afterwards unless --keep.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$here/target/release/backstop"
keep=0
verbose=0
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --verbose) verbose=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--keep] [--verbose]" >&2; exit 2 ;;
  esac
done
[[ -x $bin ]] || { echo "no backstop binary at $bin (cargo build --release, or --bin PATH)" >&2; exit 2; }
command -v git >/dev/null || { echo "git is needed to build the projects" >&2; exit 2; }

root=$(mktemp -d "${HOME:?}/backstop-day.XXXXXX")
if ((keep)); then
  echo "fixture kept in $root" >&2
else
  trap 'rm -rf "$root"' EXIT
fi
home=$root/home/dev
export GIT_AUTHOR_NAME=Dev GIT_AUTHOR_EMAIL=dev@example.invalid
export GIT_COMMITTER_NAME=Dev GIT_COMMITTER_EMAIL=dev@example.invalid
unset GIT_DIR GIT_WORK_TREE

# file PATH [BYTES]: a file with some text, or BYTES of data.
file() {
  mkdir -p "$(dirname "$1")"
  if (($# > 1)); then head -c "$2" /dev/zero | tr '\0' 'x' >"$1"; else echo "content of $(basename "$1")" >"$1"; fi
}

# ---- the home directory
for f in Documents/thesis.odt Documents/taxes-2024.pdf Pictures/cat.jpg Pictures/2024/beach.jpg \
  Desktop/todo.txt .bashrc .profile .gitconfig .ssh/id_ed25519 .ssh/id_ed25519.pub .ssh/config \
  .config/Code/User/settings.json .local/share/fish/fish_history notes.txt; do
  file "$home/$f"
done
file "$home/Downloads/tool-1.2.tar.gz"
file "$home/Downloads/node-v20.tar.xz" $((2 << 20))
file "$home/Downloads/dataset-full.csv" $((40 << 20))
for f in report.pdf invoice.pdf sample.csv get-docker.sh mystery.bin fonts.zip; do file "$home/Downloads/$f"; done
for f in old-notes.txt a.out core.txt a.txt b.txt c.txt d.txt e.txt f.txt experiment-7/main.py; do
  file "$home/scratch/$f"
done
mkdir -p "$home/scratch/empty-dir"
printf '[user]\n\tname = Dev\n\temail = dev@example.invalid\n[pull]\n\trebase = true\n' >"$home/.gitconfig"

# ---- two projects, each pushed to a bare remote on disk
project() { # project NAME: init, commit what is there, push to $root/remotes/NAME.git
  local dir=$home/src/$1
  git init -q --bare "$root/remotes/$1.git"
  git -C "$dir" init -q -b main
  git -C "$dir" add -A
  git -C "$dir" commit -q -m "initial"
  git -C "$dir" remote add origin "$root/remotes/$1.git"
  git -C "$dir" push -q -u origin main
}
w=$home/src/webapp
for f in package.json package-lock.json README.md notes.md .env.example src/server.js src/auth.js \
  src/utils.js src/routes/users.js test/auth.test.js test/fixtures/user.json scripts/seed.js \
  scripts/report.py Dockerfile docker-compose.yml certs/dev.crt; do
  file "$w/$f"
done
printf 'node_modules/\ndist/\ncoverage/\n.cache/\n.env\n*.log\n' >"$w/.gitignore"
project webapp
# What a working copy holds besides its commits.
file "$w/.env"
for f in node_modules/express/index.js node_modules/.bin/eslint dist/app.js coverage/lcov.info .cache/x; do file "$w/$f"; done
for f in debug.log npm-debug.log scratch.txt out.json report.txt; do file "$w/$f"; done

t=$home/src/tool
for f in Cargo.toml Cargo.lock README.md src/main.rs src/convert.rs samples/in.csv; do file "$t/$f"; done
# A large file, precious by its size, that git holds.
file "$t/samples/large.parquet" $((40 << 20))
printf 'target/\n' >"$t/.gitignore"
project tool
for f in target/debug/tool target/release/tool target/debug/incremental/x perf.data flamegraph.svg src/main.rs.orig; do
  file "$t/$f"
done

# ---- the replay
export HOME=$home BACKSTOP_HOME=$root/backstop
# replay FILE EXPECT: EXPECT is "quiet" (no line may be refused) or "stopped".
lines=0 refused=0 asked=0 denied=0 noted=0 missed=0
replay() {
  local cwd=$home line code out target
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    # In the must-stop list, a `cd` only moves the replay.
    [[ $2 == stopped && $line =~ ^cd([[:space:]]|$) ]] || lines=$((lines + 1))
    set +e
    out=$("$bin" check --cwd "$cwd" -- "$line" 2>&1)
    code=$?
    set -e
    case $code in
      0 | 1 | 2) ;;
      *) echo "ERROR ($code) in $cwd: $line"$'\n'"  $out" >&2; exit 2 ;;
    esac
    if [[ $2 == quiet ]]; then
      if ((code != 0)); then
        refused=$((refused + 1))
        ((code == 1)) && asked=$((asked + 1)) || denied=$((denied + 1))
        echo "REFUSED ($( ((code == 1)) && echo ask || echo deny)) in ${cwd/#$home/\~}: $line"
        echo "  ${out//$'\n'/$'\n'  }"
      elif [[ -n $out ]]; then
        noted=$((noted + 1))
        ((verbose)) && echo "allowed, with a note: $line"$'\n'"  $out"
      fi
    elif ((code == 0)) && ! [[ $line =~ ^cd([[:space:]]|$) ]]; then
      missed=$((missed + 1))
      echo "NOT STOPPED in ${cwd/#$home/\~}: $line"
    fi
    if [[ $line =~ ^cd[[:space:]]+([^[:space:]\;\&\|]+)[[:space:]]*$ ]]; then
      target=${BASH_REMATCH[1]}
      target=${target/#\~/$home}
      [[ $target == /* ]] || target=$cwd/$target
      cwd=$(cd "$target" 2>/dev/null && pwd || echo "$target")
    elif [[ $line == cd || $line == "cd ~" ]]; then
      cwd=$home
    fi
  done <"$1"
}

replay "$here/tests/day/day-in-the-life.txt" quiet
day=$lines
lines=0
replay "$here/tests/day/must-stop.txt" stopped
echo "day in the life: $day lines, $refused refused ($asked ask, $denied deny), $noted allowed with a note on where a target comes back from"
echo "must stop: $((lines - missed)) of $lines stopped"
((refused == 0 && missed == 0))
