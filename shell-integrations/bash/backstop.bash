# backstop for bash: each command line is decided by `backstop hook` before it runs.
# `eval "$(backstop init bash)"` in ~/.bashrc loads it; `backstop install bash` adds that.
#
# Interactive shells: a DEBUG trap, with extdebug so that its non-zero return skips the
# command, decides the whole line once, from history, at the line's first simple
# command, then skips every later command of a refused line (`true; rm -rf x`). A line
# that is not in history (HISTCONTROL=ignorespace, ignoredups) is decided command by
# command from $BASH_COMMAND instead.
# Scripts and `bash -c`, only when this file is loaded through BASH_ENV with
# BACKSTOP_NONINTERACTIVE=1: each simple command is decided from $BASH_COMMAND, and a
# refused one ends that shell with the hook's status.
# If backstop itself fails, the line runs after a one-line warning: a broken hook must
# never leave a shell that can run nothing (not even `trap - DEBUG`).
# shellcheck shell=bash

if [[ -z ${__backstop_bin-} ]] && { [[ $- == *i* ]] || [[ ${BACKSTOP_NONINTERACTIVE-} == 1 ]]; }; then
  if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    printf 'backstop: bash %s is too old for the integration (4.4 or later); commands are not checked\n' "$BASH_VERSION" >&2
  else
    __backstop_bin=@BACKSTOP_BIN@
    __backstop_pending=@BACKSTOP_PENDING@
    # Allowed command texts of the current line (per-command checking), keyed by directory too.
    declare -gA __backstop_seen=()

    # The program words of every policy (see `backstop init bash --words`).
    @BACKSTOP_WORDS@

    # Loads the words again after a policy file or the binary changed; if that fails,
    # every line goes to the hook.
    __backstop_reload() {
      local code
      if code=$(BASH_ENV='' "$__backstop_bin" init bash --words 2>/dev/null) && [[ -n $code ]]; then
        eval "$code"
      else
        __backstop_wall=1 __backstop_watch=() __backstop_wpath=$PATH
      fi
    }

    # Whether no rule can match $1, found without starting a process: it names none of
    # the programs the policies name (nor a wrapper, shell or interpreter), once quotes
    # are joined and the shell's separators split it, holds no `\` or `$'` the shell
    # would decode into other words, and redirects nowhere a redirect rule looks. The
    # reference, held to the engine by its tests, is backstop_rules::prefilter.
    __backstop_benign() {
      local line=$1 w p d=$PWD IFS=$' \t\n'
      local -
      for p in "${__backstop_watch[@]}"; do
        if [[ $p -nt $__backstop_wref || ! -e $__backstop_wref ]]; then
          __backstop_reload
          break
        fi
      done
      # Scripts on another PATH are other words.
      [[ $PATH == "${__backstop_wpath-$PATH}" ]] || __backstop_reload
      ((__backstop_wall)) && return 1
      [[ $line == *\\* || $line == *\$\'* ]] && return 1
      # A repository's own policies (.backstop/) may name any program.
      while [[ -n $d ]]; do
        [[ -d $d/.backstop ]] && return 1
        d=${d%/*}
      done
      [[ -d /.backstop ]] && return 1
      line=${line//[\'\"]/}
      line=${line,,}
      if ((__backstop_wredir)) && [[ $line == *'>'* ]]; then
        ((__backstop_wredir == 1)) && return 1
        for p in "${__backstop_wlits[@]}"; do
          [[ $line == *"$p"* ]] && return 1
        done
      fi
      set -f
      # A file run by its path (./x, ~/bin/x) or sourced with `.`, at the start of a
      # command: the tokens of backstop_rules::prefilter::runs_a_path.
      if [[ $line == *[/.]* ]]; then
        local t=${line//[;&|()\{\}\`$'\n']/ ; } s=1 k=0
        for w in $t; do
          if [[ $w == ';' ]]; then
            s=1 k=0
            continue
          fi
          if ((k)); then
            k=0
            continue
          fi
          ((s)) || continue
          case $w in
            */* | .) return 1 ;;
            *[\<\>]*) [[ -n ${w//[0-9<>]/} ]] || k=1 ;;
            *=* | '!' | then | do | else | elif | if | while | until | time | and | or | not | begin) ;;
            *) s=0 ;;
          esac
        done
      fi
      line=${line//[;&|()<>\{\}\$\`=!,]/ }
      for w in $line; do
        w=${w##*/}
        [[ -n $w ]] || continue
        case $w in
          ?*.exe | ?*.com | ?*.bat | ?*.cmd) w=${w%.*} ;;
        esac
        [[ -n ${__backstop_words[$w]-} ]] && return 1
      done
      return 0
    }

    # Runs the hook on $1: returns 0 (run it), 1 or 2 (refused: not approved, denied),
    # or 3 (backstop itself failed; it warned, and the caller runs the line).
    __backstop_decide() {
      __backstop_benign "$1" && return 0
      local st=127
      if [[ -x $__backstop_bin ]]; then
        st=0
        BASH_ENV='' "$__backstop_bin" hook --shell bash --session "$$" --cwd "$PWD" -- "$1" || st=$?
      fi
      case $st in
        0 | 1 | 2) return "$st" ;;
      esac
      printf 'backstop: hook failed (status %s); running the line unchecked\n' "$st" >&2
      return 3
    }

    if [[ $- == *i* ]]; then
      # The prompt escape \# numbers each line read: a new number is a new line, even
      # within one bracketed paste and even when the line is not added to history.
      __backstop_no='\#'
      __backstop_n=${__backstop_no@P} # the line decided last
      __backstop_v=ok                 # its verdict: ok, no (skip the rest), each (check each command)
      __backstop_h=-2                 # HISTCMD then: a line added to history comes one after it
      __backstop_id=$$.$RANDOM$RANDOM # tells this shell's subshell notes from a dead one's
      __backstop_hfile=${XDG_RUNTIME_DIR:-$__backstop_pending}/backstop-$$.line
      __backstop_sub=$__backstop_pending/$$.sub
      [[ -d ${__backstop_hfile%/*} ]] || command mkdir -p -- "${__backstop_hfile%/*}" 2>/dev/null
      # Through a file: in a function or a sourced file, $(trap -p DEBUG) prints nothing.
      __backstop_old_trap=''
      { trap -p DEBUG && printf '\0'; } 2>/dev/null 1<>"$__backstop_hfile" &&
        IFS= read -r -d '' __backstop_old_trap <"$__backstop_hfile"
      __backstop_old_trap=${__backstop_old_trap#"trap -- "}
      __backstop_old_trap=${__backstop_old_trap%" DEBUG"$'\n'}
      eval "__backstop_old_trap=${__backstop_old_trap:-''}"
      [[ $__backstop_old_trap == *__backstop_* ]] && __backstop_old_trap=''
      __backstop_old_exit=''
      { trap -p EXIT && printf '\0'; } 2>/dev/null 1<>"$__backstop_hfile" &&
        IFS= read -r -d '' __backstop_old_exit <"$__backstop_hfile"

      # Sets $? and $_ back for a chained trap that reads them (bash-preexec does).
      __backstop_ret() { return "$1"; }

      __backstop_debug() {
        local st=$? last=$1 n=${__backstop_no@P}
        if [[ $n != "$__backstop_n" ]]; then
          __backstop_new "$n" || return 1
        fi
        if [[ $__backstop_v != ok ]]; then
          # The prompt hook resets the verdict once the line is over.
          [[ $BASH_COMMAND == __backstop_prompt || ${FUNCNAME[1]-} == __backstop_prompt ]] && return 0
          [[ $__backstop_v == no ]] && return 1
          __backstop_each || return 1
        fi
        # In an if, so that a failed status is handed on and set -e stays out of it.
        if [[ -z $__backstop_old_trap ]]; then
          :
        elif __backstop_ret "$st" "$last"; then
          eval "$__backstop_old_trap"
        else
          eval "$__backstop_old_trap"
        fi
        return 0
      }

      # The first command of line number $1: decide the line, from history when it is there.
      __backstop_new() {
        __backstop_n=$1
        __backstop_seen=()
        __backstop_v=ok
        # A line run only in a subshell was decided there; its prompt hook must not redo it.
        [[ $BASH_COMMAND == __backstop_prompt ]] && return 0
        if ((BASH_SUBSHELL == 0)) && [[ -e $__backstop_sub ]]; then
          local id='' n='' v=''
          read -r id n v <"$__backstop_sub" || :
          command rm -f -- "$__backstop_sub"
          if [[ $id == "$__backstop_id" && $n == "$1" ]]; then
            __backstop_v=$v
            [[ $v != no ]]
            return
          fi
        fi
        local h=$HISTCMD entry='' HISTTIMEFORMAT
        # Only a line added to history moves HISTCMD on; otherwise `history 1` is an older line.
        if ((h == __backstop_h + 1)); then
          # Through a file: $(history 1) would fork on every line.
          { builtin history 1 && printf '\0'; } 2>/dev/null 1<>"$__backstop_hfile" &&
            IFS= read -r -d '' entry <"$__backstop_hfile" || entry=''
          entry=${entry#"${entry%%[![:space:]]*}"}
          if [[ ${entry%%[![:digit:]]*} == "$h" ]]; then
            entry=${entry#"$h"}
            entry=${entry#"  "}
            entry=${entry%$'\n'}
            # A history edit within the last line could still make `history 1` another line.
            [[ ${entry//[[:space:]]/} == *"${BASH_COMMAND//[[:space:]]/}"* ]] || entry=
          else
            entry=
          fi
        fi
        __backstop_h=$h
        if [[ -z $entry ]]; then
          __backstop_v=each
          return 0
        fi
        local st=0
        __backstop_decide "$entry" || st=$?
        case $st in
          0) [[ -e $__backstop_pending/$$ ]] && __backstop_note ok ;;
          1 | 2)
            __backstop_v=no
            __backstop_note no
            return 1
            ;;
        esac
        return 0
      }

      # A line not in history: decide each simple command as it comes.
      __backstop_each() {
        local key=$PWD$'\n'$BASH_COMMAND st=0
        [[ -n ${__backstop_seen[$key]-} ]] && return 0
        __backstop_decide "$BASH_COMMAND" || st=$?
        case $st in
          0) [[ -e $__backstop_pending/$$ ]] || __backstop_seen[$key]=1 ;;
          1 | 2)
            __backstop_v=no
            __backstop_note no
            return 1
            ;;
          *) __backstop_v=ok ;;
        esac
        return 0
      }

      # In a subshell, leave the verdict for the parent shell, which runs the rest of the line.
      __backstop_note() {
        ((BASH_SUBSHELL > 0)) || return 0
        printf '%s %s %s\n' "$__backstop_id" "$__backstop_n" "$1" 2>/dev/null >|"$__backstop_sub" || :
      }

      __backstop_prompt() {
        local st=$?
        __backstop_n=${__backstop_no@P}
        __backstop_v=ok
        __backstop_h=$((HISTCMD - 1))
        if [[ -e $__backstop_pending/$$ && -x $__backstop_bin ]]; then
          "$__backstop_bin" hook --after --shell bash --session "$$" --status "$st" || :
        fi
        [[ -e $__backstop_sub ]] && command rm -f -- "$__backstop_sub"
        return "$st"
      }

      __backstop_exit() {
        command rm -f -- "$__backstop_hfile" "$__backstop_sub"
      }

      # First, so that it sees the line's exit status; a newline keeps any existing text
      # intact. Without an index this is element 0 when PROMPT_COMMAND is an array (5.1+).
      if [[ ${PROMPT_COMMAND[*]-} != *__backstop_prompt* ]]; then
        PROMPT_COMMAND=__backstop_prompt${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
      fi
      [[ -z $__backstop_old_exit ]] && trap __backstop_exit EXIT
      shopt -s extdebug
      # A later command of an allowed line is decided inline: a function call on every
      # simple command would cost several times as much in a loop.
      trap '[[ ${__backstop_no@P} == "$__backstop_n" && $__backstop_v == ok && -z $__backstop_old_trap ]] || __backstop_debug "$_"' DEBUG
    else
      __backstop_after=0
      __backstop_broken=0
      __backstop_nl=$'\n'

      __backstop_script() {
        local st=$? key=$PWD$__backstop_nl$BASH_COMMAND
        # Set in a startup file, extdebug would try to start the bash debugger instead.
        [[ $BASHOPTS == *extdebug* ]] || shopt -s extdebug
        if ((__backstop_after)); then
          __backstop_after=0
          "$__backstop_bin" hook --after --shell bash --session "$$" --status "$st" || :
        fi
        ((__backstop_broken)) && return 0
        [[ -n ${__backstop_seen[$key]-} ]] && return 0
        st=0
        __backstop_decide "$BASH_COMMAND" || st=$?
        case $st in
          0)
            if [[ -e $__backstop_pending/$$ ]]; then
              __backstop_after=1
            else
              __backstop_seen[$key]=1
            fi
            ;;
          1 | 2) exit "$st" ;;
          *) __backstop_broken=1 ;;
        esac
        return 0
      }

      # A command decided before (a loop's) is let through inline.
      trap '((__backstop_broken)) || { ((!__backstop_after)) && [[ -n ${__backstop_seen[$PWD$__backstop_nl$BASH_COMMAND]-} ]]; } || __backstop_script' DEBUG
    fi
  fi
fi
