#!/usr/bin/env bash
# The lines below are shell syntax written out: `$(` in single quotes is meant.
# shellcheck disable=SC2016
# Time and peak memory of the release binary on the largest inputs a line can bring
# (docs/reliability.md, "Limits"): a 1 MiB line of each kind, nesting 10,000 levels
# deep in each dialect, SQL scripts at and over the size read, script files of
# 100,000 commands and over the size read, a policy directory of 1,000 rules; beside
# `ls -la`, the baseline every figure is read against. Each case runs 3 times: the
# fastest wall time and the largest peak RSS (GNU time's "Maximum resident set size")
# are printed. What the rule engine must decide about each is asserted by
# rules/tests/limits.rs; this measures only.
#
# Usage: scripts/bench-limits.sh   (BACKSTOP_BIN=path to measure another binary)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
  echo "bench-limits.sh: needs GNU time (apt-get install time)" >&2
  exit 1
fi
bin=${BACKSTOP_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p backstop >&2
  bin=$PWD/target/release/backstop
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A home outside /tmp: /tmp paths are exempt from the rules.
export BACKSTOP_HOME=$work/home HOME=/home/bench
mkdir -p "$BACKSTOP_HOME"
mib=$((1 << 20))

# `rep TEXT N`: TEXT N times, no newline between.
# (`yes` ends on SIGPIPE once head has enough.)
rep() { yes -- "$1" | head -n "$2" | tr -d '\n' || true; }
# TEXT repeated to 1 MiB, less the length of TAIL, then TAIL.
fill() { rep "$1" $(((mib - ${#2}) / ${#1})); printf '%s' "$2"; }
# `nest OPEN INNER CLOSE [LEVELS]`: 10,000 levels, or LEVELS.
nest() { rep "$1" "${4:-10000}"; printf '%s' "$2"; rep "$3" "${4:-10000}"; }
# `deep OPEN INNER CLOSE`: as many levels as 1 MiB holds.
deep() { nest "$1" "$2" "$3" $(((mib - ${#2}) / (${#1} + ${#3}))); }
json_escape() {
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }'
}

# `measure NAME CMD...` with the input on stdin from $work/in.
measure() {
  local name=$1 best='' rss=0 t r
  shift
  for _ in 1 2 3; do
    /usr/bin/time -v "$@" <"$work/in" >/dev/null 2>"$work/time" || true
    t=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time" |
      awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    if [ -z "$best" ] || awk "BEGIN { exit !($t < $best) }"; then best=$t; fi
    if [ "$r" -gt "$rss" ]; then rss=$r; fi
  done
  printf '%-44s %8.2f s %8.1f MiB  %s\n' "$name" "$best" "$(awk "BEGIN { print $rss / 1024 }")" "$(verdict)"
}

# What backstop answered, from $work/out: the agent's decision, or scan's count.
verdict() {
  local v
  v=$(grep -oE '"permissionDecision": ?"[a-z]+"|[0-9]+ would be denied|[0-9]+ allowed$' "$work/out" | head -1 || true)
  case "$v" in
  *deny*) echo deny ;;
  *ask*) echo ask ;;
  "1 would be denied") echo deny ;;
  "0 would be denied" | "") [ "$(cat "$work/out")" = "{}" ] && echo "no objection" || echo "${v:-?}" ;;
  *) echo "$v" ;;
  esac
}

# A line through the agent hook (bash, or PowerShell as Copilot sends it on Windows):
# the path that takes a line of any size, newlines included.
line_as_agent() {
  local shell=$1
  if [ "$shell" = powershell ]; then
    printf '{"toolName": "powershell", "toolArgs": {"command": "'
  else
    printf '{"tool_name": "Bash", "cwd": "/home/bench", "tool_input": {"command": "'
  fi
  json_escape <"$work/line"
  printf '"}}'
}
agent() {
  local name=$1 shell=$2
  line_as_agent "$shell" >"$work/in"
  local who=claude
  [ "$shell" = powershell ] && who=copilot
  "$bin" agent-hook "$who" <"$work/in" >"$work/out" 2>/dev/null || true
  measure "$name ($shell)" "$bin" agent-hook "$who"
}
# A one-line file through `scan`, for the dialects no agent speaks.
scan() {
  local name=$1 shell=$2
  { cat "$work/line"; echo; } >"$work/in"
  "$bin" scan --shell "$shell" <"$work/in" >"$work/out" 2>/dev/null || true
  measure "$name ($shell)" "$bin" scan --shell "$shell"
}

echo "backstop: $bin"
echo "measured $(date -u +%F) on $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
printf '%-44s %10s %12s  %s\n' case "wall" "peak RSS" "decision (end of output)"

printf 'ls -la' >"$work/line"
agent "baseline: ls -la" bash
printf 'rm -rf ~/x' >"$work/line"
agent "baseline: rm -rf ~/x" bash

echo "-- a 1 MiB line"
{ printf 'rm -rf /home/bench/'; rep a $((mib - 19)); } >"$work/line"
agent "one word of 1 MiB" bash
fill 'rm -rf ~/x; ' '' >"$work/line"
agent "87,000 commands" bash
fill 'ls -la | grep x && ' 'rm -rf ~/x' >"$work/line"
agent "pipelines and lists" bash
fill 'sudo ' 'rm -rf ~/x' >"$work/line"
agent "209,000 wrappers" bash
fill 'eval ' 'rm -rf ~/x' >"$work/line"
agent "209,000 evals" bash
fill 'echo "$(' $'\nrm -rf ~/x' >"$work/line"
agent "unclosed substitutions" bash
fill "'" $'\nrm -rf ~/x' >"$work/line"
agent "an unclosed quote" bash
fill 'ls -la | grep x && ' 'rm -rf ~/x' >"$work/line"
scan "pipelines and lists" zsh
fill 'echo (' 'rm -rf ~/x' >"$work/line"
scan "unclosed substitutions" fish
fill 'Get-ChildItem | ' 'Remove-Item -Recurse -Force C:/x' >"$work/line"
agent "pipelines" powershell
fill 'echo x & ' 'rd /s /q C:\x' >"$work/line"
scan "commands" cmd
fill 'ls | ' 'rm -r ~/x' >"$work/line"
scan "pipelines" nu

echo "-- nesting 10,000 levels deep"
{ printf 'echo '; nest '$( ' 'rm -rf ~/x' ' )'; } >"$work/line"
scan '$( … )' bash
nest '( ' 'rm -rf ~/x' ' )' >"$work/line"
scan '( … )' bash
nest '{ ' 'rm -rf ~/x' '; }' >"$work/line"
scan '{ …; }' bash
{ printf 'echo '; nest '$( ' 'rm -rf ~/x' ' )'; } >"$work/line"
scan '$( … )' zsh
{ printf 'echo '; nest '(' 'rm -rf ~/x' ')'; } >"$work/line"
scan '( … )' fish
nest '& { ' 'Remove-Item -Recurse -Force C:/x' ' }' >"$work/line"
agent '& { … } script blocks' powershell
nest '(' 'Remove-Item -Recurse -Force C:/x' ')' >"$work/line"
agent '( … )' powershell
nest '(' 'rd /s /q C:\x' ')' >"$work/line"
scan '( … )' cmd
{ printf 'echo '; nest '(' 'rm -r ~/x' ')'; } >"$work/line"
scan '( … )' nu
{ rep 'sudo ' 10000; printf 'rm -rf ~/x'; } >"$work/line"
agent 'sudo × 10,000' bash
# bash -c "bash -c \"…\"": each level doubles the backslashes; 18 levels fit in 1 MiB.
line='rm -rf ~/x'
for _ in $(seq 18); do
  line="bash -c \"$(printf '%s' "$line" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')\""
done
printf '%s' "$line" >"$work/line"
agent "bash -c \"…\" 18 levels ($((${#line} / 1024)) KiB)" bash

echo "-- nesting as deep as 1 MiB holds"
deep '$( ' 'rm -rf ~/x' ' )' >"$work/line"
scan '$( … ) 209,000 levels' bash
deep 'if true; then ' 'rm -rf ~/x' '; fi' >"$work/line"
scan 'if … fi 58,000 levels' bash
deep 'begin; ' 'rm -rf ~/x' '; end' >"$work/line"
scan 'begin … end 87,000 levels' fish
deep '& { ' 'Remove-Item -Recurse -Force C:/x' ' }' >"$work/line"
agent '& { … } 175,000 levels' powershell
deep '(' 'rd /s /q C:\x' ')' >"$work/line"
scan '( … ) 524,000 levels' cmd
deep 'do { ' 'rm -r ~/x' ' }' >"$work/line"
scan 'do { … } 150,000 levels' nu

echo "-- SQL scripts (psql -f FILE)"
sql=$work/sql
mkdir -p "$sql"
tail='DROP TABLE users;'
# INSERTs up to 1 MiB less the DROP, which ends the file: exactly the size read.
stmt="INSERT INTO t VALUES (1, 'x');"
rep "$stmt" $((mib / ${#stmt} + 1)) | head -c $((mib - ${#tail} - 2)) >"$sql/at-cap.sql"
printf ';\n%s' "$tail" >>"$sql/at-cap.sql"
{ cat "$sql/at-cap.sql"; echo; } >"$sql/over-cap.sql"
printf '%s\n' "$tail" >"$sql/small.sql"
for f in small at-cap over-cap; do
  printf 'psql -f %s app' "$sql/$f.sql" >"$work/line"
  agent "$f.sql ($(stat -c %s "$sql/$f.sql") bytes)" bash
done

echo "-- script files (bash FILE)"
scripts=$work/scripts
mkdir -p "$scripts"
# 100,000 commands, the destructive one last: 1,000,011 bytes, under the 1 MiB read.
{ yes 'echo step' | head -n 100000 || true; echo 'rm -rf ~/x'; } >"$scripts/100k.sh"
{ yes 'echo step' | head -n 100000 || true; } >"$scripts/100k-harmless.sh"
# Twice that: over the size read.
cat "$scripts/100k.sh" "$scripts/100k.sh" >"$scripts/over-cap.sh"
for f in 100k 100k-harmless over-cap; do
  printf 'bash %s' "$scripts/$f.sh" >"$work/line"
  agent "$f.sh ($(stat -c %s "$scripts/$f.sh") bytes)" bash
done

echo "-- a policy directory of 1,000 rules"
mkdir -p "$BACKSTOP_HOME/policies"
for n in $(seq 0 999); do
  cat >"$BACKSTOP_HOME/policies/rule-$n.toml" <<EOF
[[rule]]
id = "bench.tool-$n"
description = "tool $n wipes"
severity = "high"
programs = ["tool$n"]
args_regex = '(^|\s)--wipe(\s|$)'
requires = "deny"
EOF
done
printf 'ls -la' >"$work/line"
agent "ls -la, 1,000 rule files" bash
printf 'tool999 --wipe' >"$work/line"
agent "tool999 --wipe, 1,000 rule files" bash
