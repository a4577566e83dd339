#!/usr/bin/env bash
# Takes docs/images/refusal-and-approval.png from a real terminal: an X server with no
# screen (Xvfb) runs xterm, xterm runs bash with backstop installed in a throwaway HOME,
# and xdotool types into it as a person would: a destructive line, refused for want of
# a backup; BACKUP, the answer that makes the backup the refusal offers (destinations
# are set up); the approval phrase, once the line is decided again on that backup; and
# `ls` to show it ran. ImageMagick's `import` captures the window.
#
#   scripts/screenshot.sh [OUT.png]       (default docs/images/refusal-and-approval.png)
#
# It installs what it needs from Debian when run as root (xvfb, xterm, xdotool,
# imagemagick, fonts-dejavu-core). BACKSTOP_BIN picks the binary (default: a release
# build of this tree).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/images/refusal-and-approval.png}"

checks=(
  "command -v Xvfb" xvfb
  "command -v xterm" xterm
  "command -v xdotool" xdotool
  "test -x /usr/bin/import" imagemagick
  "test -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf" fonts-dejavu-core
)
missing=()
for ((i = 0; i < ${#checks[@]}; i += 2)); do
  bash -c "${checks[i]}" >/dev/null 2>&1 || missing+=("${checks[i + 1]}")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "screenshot.sh: ${missing[*]} missing; apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "screenshot.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bin="${BACKSTOP_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release -p backstop --locked
  bin="$PWD/target/release/backstop"
fi

# The HOME must not be under /tmp or /var/tmp, which the rules treat as temporary; a
# short name under /home reads well in the picture.
# /home/ada when there is no such user (the name the docs use), else a fresh name.
if [ ! -e /home/ada ] && mkdir /home/ada 2>/dev/null; then
  home=/home/ada
else
  parent=/home
  [ -w "$parent" ] || parent="$PWD/target"
  home="$(mktemp -d "$parent/ada.XXXX")"
fi
if [ ! -e /dev/shm/backstop ] && mkdir /dev/shm/backstop 2>/dev/null; then
  shm=/dev/shm/backstop
else
  shm="$(mktemp -d /dev/shm/backstop.XXXX)"
fi
xvfb_pid=
xterm_pid=
cleanup() {
  if [ -n "$xterm_pid" ]; then
    kill "$xterm_pid" 2>/dev/null || true
    wait "$xterm_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then
    kill "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$home" "$shm"
}
trap cleanup EXIT

# backstop's own directories are where a person's would be: ~/.config/backstop and
# ~/.local/share/backstop of this HOME.
bin_dir="$(dirname "$bin")"
export HOME="$home" PATH="$bin_dir:$PATH"
unset BACKSTOP_HOME BACKSTOP_NONINTERACTIVE BASH_ENV CLAUDECODE XDG_CONFIG_HOME XDG_DATA_HOME
mkdir -p "$home/photos/2024" "$home/backups"
for n in 1 2 3; do head -c 200000 /dev/urandom >"$home/photos/2024/IMG_000$n.jpg"; done
sync_file="$home/.prompts"
# A line per prompt tells this script when bash is ready for the next line; it goes
# before backstop's block, which keeps what PROMPT_COMMAND held.
cat >"$home/.bashrc" <<EOF
PS1='\w \$ '
PROMPT_COMMAND='echo >>"$sync_file"'
EOF
"$bin" install bash >/dev/null
# The second copy goes to /dev/shm, the one other filesystem every machine has; a tmpfs
# counts as a failure domain only when config.toml says so (a real set-up uses a
# second disk, a NAS or a remote: docs/destinations.md).
mkdir -p "$home/.config/backstop"
printf '[backup]\nvolatile_counts = true\n' >"$home/.config/backstop/config.toml"
"$bin" setup --to "$home/backups" --to "$shm" >/dev/null

display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
export DISPLAY="$display"
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

cd "$home"
xterm -geometry 116x28+0+0 -fa 'DejaVu Sans Mono' -fs 11 -bg '#1e1e1e' -fg '#d8d8d8' \
  -xrm 'XTerm*cursorColor: #d8d8d8' -xrm 'XTerm*colorBD: #ffffff' \
  -title backstop -e bash -i &
xterm_pid=$!
cd - >/dev/null

prompts() { [ -f "$sync_file" ] && wc -l <"$sync_file" || echo 0; }
wid=
fail() {
  echo "screenshot.sh: $1${wid:+ (the screen is in $out.failed.png)}" >&2
  [ -n "$wid" ] && import -window "$wid" "png:$out.failed.png"
  exit 1
}
wait_prompts() { # N: until bash has shown its Nth prompt
  for _ in $(seq 300); do [ "$(prompts)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "bash did not come back to its prompt"
}
# backstop asks on the terminal: `backstop hook` is running and waiting for an answer.
wait_question() {
  for _ in $(seq 300); do
    if pgrep -f -- "^$bin hook --shell bash" >/dev/null; then
      sleep 1.5
      return 0
    fi
    sleep 0.1
  done
  fail "backstop did not ask"
}
# The backup offered at the refusal is made when its manifest is written.
wait_backup() {
  for _ in $(seq 600); do
    compgen -G "$home/.local/share/backstop/manifests/*.json" >/dev/null && { sleep 1.5; return 0; }
    sleep 0.1
  done
  fail "the backup was not made"
}

wait_prompts 1
wid="$(xdotool search --sync --pid "$xterm_pid" | head -n1)"
xdotool windowfocus --sync "$wid"
type_line() { xdotool type --delay 20 -- "$1"; xdotool key Return; }

# Refused: no backup of ~/photos. The refusal offers to make it (destinations are set).
type_line 'rm -rf ~/photos'
wait_question
type_line 'BACKUP'
# Made and verified; the line is decided again on it and asks for the approval phrase.
wait_backup
type_line 'PROCEED'
wait_prompts 2
type_line 'ls ~/photos'
wait_prompts 3
sleep 0.5

mkdir -p "$(dirname "$out")"
# 32 colours are plenty for a terminal, and keep the file small.
import -window "$wid" -colors 32 "png:$out"
echo "screenshot.sh: wrote $out ($(wc -c <"$out") bytes)"
