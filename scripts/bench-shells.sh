#!/usr/bin/env bash
# What backstop's shell integration adds to each command, measured side by side with
# the bare shell in one hyperfine run (so every number shares the same machine load).
#
# Interactive: N benign lines are typed into an interactive shell in a
# pseudo-terminal (util-linux `script` feeds them), once with the integration
# loaded and once without; (with - without) / N is what each line costs: the
# prompt hook, the DEBUG trap or ZLE widget, and one `backstop hook` process. A third
# run with /bin/true in the hook's place splits that into the shell's part (its code
# and starting a process) and the decision's. These lines name no program any policy
# names, so the prefilter rules them out and no process starts; a second pair of runs
# types lines that name one (`env true N`), each of which starts `backstop hook`.
# Non-interactive (bash and zsh): a script of N distinct commands run with the
# opt-in coverage (BASH_ENV or .zshenv, BACKSTOP_NONINTERACTIVE=1) and without;
# there every simple command (zsh: every command list) starts one hook.
# Last, without a shell in between: `backstop hook` on one line against /bin/true.
#
# Usage: scripts/bench-shells.sh [SHELL...]   (default: bash zsh, and fish once its
#                                              integration is written)
# Environment:
#   BACKSTOP_BIN=PATH   time this binary instead of building target/release/backstop
#   BENCH_LINES=N       lines per run (default 200)
#   BENCH_RUNS=N        runs per command (default 10)
#   BENCH_KEEP=1        keep the temporary directory
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${BACKSTOP_BIN:-}" ] && [ "${BACKSTOP_BIN#/}" = "$BACKSTOP_BIN" ]; then
    BACKSTOP_BIN="$PWD/$BACKSTOP_BIN"
fi
cd "$repo_root"

lines="${BENCH_LINES:-200}"
runs="${BENCH_RUNS:-10}"
shells=("$@")
if [ ${#shells[@]} -eq 0 ]; then
    shells=(bash zsh)
    # The fish script is a one-line placeholder until its integration is written.
    if [ "$(wc -l <shell-integrations/fish/backstop.fish)" -gt 1 ]; then
        shells+=(fish)
    fi
fi
for tool in hyperfine script; do
    command -v "$tool" >/dev/null || { echo "bench-shells: $tool is needed (scripts/install-bench-tools.sh installs hyperfine)" >&2; exit 1; }
done
if [ -z "${BACKSTOP_BIN:-}" ]; then
    cargo build --release --quiet
    BACKSTOP_BIN="$repo_root/target/release/backstop"
fi

tmp="$(mktemp -d)"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench-shells: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
export HOME="$tmp/home" BACKSTOP_HOME="$tmp/backstop" TERM=xterm
unset BASH_ENV ENV ZDOTDIR BACKSTOP_NONINTERACTIVE PROMPT_COMMAND
mkdir -p "$HOME" "$BACKSTOP_HOME"

# Benign lines of the kinds people type (builtins, a pipe, a program, a redirection),
# valid in every shell measured.
{
    for ((i = 0; i < lines; i += 4)); do
        echo 'true'
        echo "echo line $i | cat >/dev/null"
        echo 'ls -d . >/dev/null'
        # shellcheck disable=SC2016 # the shells measured expand it, not this script
        echo 'test -n "$HOME"'
    done
    echo exit
} >"$tmp/lines"
# Lines that name a program some policy names (`env` is a wrapper backstop looks
# inside), so that each starts `backstop hook`: what a line the prefilter cannot rule
# out costs.
{
    for ((i = 0; i < lines; i++)); do echo "env true $i"; done
    echo exit
} >"$tmp/checked"
# A script's commands are all different (a loop's repeats would be decided once).
for ((i = 0; i < lines; i++)); do echo "echo step $i >/dev/null"; done >"$tmp/script"

commands=()
names=()
add() { names+=("$1"); commands+=("$2"); }
typed() { printf 'script -qec %q /dev/null <%q >/dev/null' "$1" "${2:-$tmp/lines}"; }

for sh in "${shells[@]}"; do
    command -v "$sh" >/dev/null || { echo "bench-shells: $sh is not installed; skipped" >&2; continue; }
    "$BACKSTOP_BIN" init "$sh" >"$tmp/backstop.$sh"
    # The same script with /bin/true for the hook: what the shell code and starting a
    # process cost, without the decision.
    sed "s|$BACKSTOP_BIN|/bin/true|" "$tmp/backstop.$sh" >"$tmp/stub.$sh"
    case "$sh" in
        bash)
            printf "PS1='\$ '\nHISTFILE=\n" >"$tmp/bare.bashrc"
            { cat "$tmp/bare.bashrc"; echo "source $tmp/backstop.bash"; } >"$tmp/with.bashrc"
            { cat "$tmp/bare.bashrc"; echo "source $tmp/stub.bash"; } >"$tmp/stub.bashrc"
            add "bash: bare" "$(typed "bash --noprofile --rcfile $tmp/bare.bashrc -i")"
            add "bash: backstop" "$(typed "bash --noprofile --rcfile $tmp/with.bashrc -i")"
            add "bash: true as hook" "$(typed "bash --noprofile --rcfile $tmp/stub.bashrc -i")"
            add "bash checked: bare" "$(typed "bash --noprofile --rcfile $tmp/bare.bashrc -i" "$tmp/checked")"
            add "bash checked: backstop" "$(typed "bash --noprofile --rcfile $tmp/with.bashrc -i" "$tmp/checked")"
            add "bash script: bare" "bash $tmp/script"
            add "bash script: backstop" "env BASH_ENV=$tmp/backstop.bash BACKSTOP_NONINTERACTIVE=1 bash $tmp/script"
            ;;
        zsh)
            mkdir -p "$tmp/zbare" "$tmp/zwith" "$tmp/zstub"
            echo "PS1='%% '" >"$tmp/zbare/.zshrc"
            { cat "$tmp/zbare/.zshrc"; echo "source $tmp/backstop.zsh"; } >"$tmp/zwith/.zshrc"
            echo "source $tmp/backstop.zsh" >"$tmp/zwith/.zshenv"
            { cat "$tmp/zbare/.zshrc"; echo "source $tmp/stub.zsh"; } >"$tmp/zstub/.zshrc"
            add "zsh: bare" "$(typed "env ZDOTDIR=$tmp/zbare zsh -d -i")"
            add "zsh: backstop" "$(typed "env ZDOTDIR=$tmp/zwith zsh -d -i")"
            add "zsh: true as hook" "$(typed "env ZDOTDIR=$tmp/zstub zsh -d -i")"
            add "zsh checked: bare" "$(typed "env ZDOTDIR=$tmp/zbare zsh -d -i" "$tmp/checked")"
            add "zsh checked: backstop" "$(typed "env ZDOTDIR=$tmp/zwith zsh -d -i" "$tmp/checked")"
            add "zsh script: bare" "env ZDOTDIR=$tmp/zbare zsh -d $tmp/script"
            add "zsh script: backstop" "env ZDOTDIR=$tmp/zwith BACKSTOP_NONINTERACTIVE=1 zsh -d $tmp/script"
            ;;
        fish)
            add "fish: bare" "$(typed "fish --no-config -i")"
            add "fish: backstop" "$(typed "fish --no-config -C 'source $tmp/backstop.fish' -i")"
            add "fish: true as hook" "$(typed "fish --no-config -C 'source $tmp/stub.fish' -i")"
            add "fish checked: bare" "$(typed "fish --no-config -i" "$tmp/checked")"
            add "fish checked: backstop" "$(typed "fish --no-config -C 'source $tmp/backstop.fish' -i" "$tmp/checked")"
            ;;
        *) echo "bench-shells: no benchmark for $sh" >&2 ;;
    esac
done
[ ${#commands[@]} -gt 0 ] || { echo "bench-shells: no shell to measure" >&2; exit 1; }

args=()
for i in "${!commands[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]}"); done
echo "bench-shells: $lines lines per run, $runs runs each; load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
hyperfine --style basic --warmup 1 --runs "$runs" --export-csv "$tmp/result.csv" "${args[@]}" >"$tmp/hyperfine.txt"
# Right after, without a shell in between: one hook process against the cheapest process.
hyperfine -N --style basic --warmup 20 --runs 300 --export-csv "$tmp/process.csv" \
    -n "process: /bin/true" /bin/true \
    -n "process: backstop hook" "$BACKSTOP_BIN hook --shell bash --session 1 -- 'echo line | cat >/dev/null'" \
    >>"$tmp/hyperfine.txt"
tail -n +2 "$tmp/process.csv" >>"$tmp/result.csv"

# Medians, and what the integration adds per line: (with - without) / lines.
awk -F, -v lines="$lines" '
    NR > 1 { median[$1] = $4; order[++n] = $1 }
    END {
        printf "%-24s %10s %16s\n", "run", "median", "added per line"
        for (i = 1; i <= n; i++) {
            c = order[i]; added = ""
            bare = c; sub(/: .*/, ": bare", bare)
            if (c != bare && (bare in median))
                added = sprintf("%.2f ms", (median[c] - median[bare]) / lines * 1000)
            if (c ~ /^process:/) printf "%-24s %7.2f ms\n", c, median[c] * 1000
            else printf "%-24s %7.0f ms %16s\n", c, median[c] * 1000, added
        }
    }' "$tmp/result.csv"
