# backstop for zsh: each command line is decided by `backstop hook` before it runs.
# `eval "$(backstop init zsh)"` in ~/.zshrc loads it; `backstop install zsh` adds that.
#
# Interactive shells: every widget that accepts a line (accept-line, accept-and-hold,
# accept-line-and-down-history, accept-and-infer-next-history) is wrapped, so the whole
# of $PREBUFFER$BUFFER is decided before zsh parses it; a refused line goes to history
# and is cancelled with send-break. (preexec cannot stop a line.)
# Scripts and `zsh -c`, only when this file is sourced from ~/.zshenv with
# BACKSTOP_NONINTERACTIVE=1: a DEBUG trap decides each command list ($ZSH_DEBUG_CMD)
# before it runs, and a refused one ends that shell with the hook's status.
# If backstop itself fails, the line runs after a one-line warning: a broken hook must
# never leave a shell that can run nothing.

if [[ -z ${__backstop_bin-} ]] && [[ -o interactive || ${BACKSTOP_NONINTERACTIVE-} == 1 ]]; then
  typeset -g __backstop_bin=@BACKSTOP_BIN@
  typeset -g __backstop_pending=@BACKSTOP_PENDING@

  # The program words of every policy (see `backstop init zsh --words`).
  @BACKSTOP_WORDS@

  # Loads the words again after a policy file or the binary changed; if that fails,
  # every line goes to the hook.
  __backstop_reload() {
    local code
    if code=$("$__backstop_bin" init zsh --words 2>/dev/null) && [[ -n $code ]]; then
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
    emulate -L zsh
    local line=$1 w p d=$PWD IFS=$' \t\n'
    for p in $__backstop_watch; do
      if [[ $p -nt $__backstop_wref || ! -e $__backstop_wref ]]; then
        __backstop_reload
        break
      fi
    done
    # Scripts on another PATH are other words.
    [[ $PATH == "${__backstop_wpath-$PATH}" ]] || __backstop_reload
    (( __backstop_wall )) && return 1
    [[ $line == *\\* || $line == *\$\'* ]] && return 1
    # A repository's own policies (.backstop/) may name any program.
    while [[ -n $d ]]; do
      [[ -d $d/.backstop ]] && return 1
      d=${d%/*}
    done
    [[ -d /.backstop ]] && return 1
    line=${line//[\'\"]/}
    line=${(L)line}
    if (( __backstop_wredir )) && [[ $line == *'>'* ]]; then
      (( __backstop_wredir == 1 )) && return 1
      for p in $__backstop_wlits; do
        [[ $line == *"$p"* ]] && return 1
      done
    fi
    # A file run by its path (./x, ~/bin/x) or sourced with `.`, at the start of a
    # command: the tokens of backstop_rules::prefilter::runs_a_path.
    if [[ $line == *[/.]* ]]; then
      local t=${line//[;&|()\{\}\`$'\n']/ ; } s=1 k=0
      for w in ${=t}; do
        if [[ $w == ';' ]]; then
          s=1 k=0
          continue
        fi
        if (( k )); then
          k=0
          continue
        fi
        (( s )) || continue
        case $w in
          (*/*|.) return 1 ;;
          (*[\<\>]*) [[ -n ${w//[0-9<>]/} ]] || k=1 ;;
          (*=*|'!'|then|do|else|elif|if|while|until|time|and|or|not|begin) ;;
          (*) s=0 ;;
        esac
      done
    fi
    line=${line//[;&|()<>\{\}\$\`=!,]/ }
    for w in ${=line}; do
      w=${w##*/}
      [[ -n $w ]] || continue
      case $w in
        (?*.exe|?*.com|?*.bat|?*.cmd) w=${w%.*} ;;
      esac
      (( ${+__backstop_words[$w]} )) && return 1
    done
    return 0
  }

  # Runs the hook on $1: returns 0 (run it), 1 or 2 (refused: not approved, denied),
  # or 3 (backstop itself failed; it warned, and the caller runs the line).
  __backstop_decide() {
    local st=127
    if [[ -x $__backstop_bin ]]; then
      "$__backstop_bin" hook --shell zsh --session "$$" --cwd "$PWD" -- "$1"
      st=$?
    fi
    case $st in
      (0|1|2) return $st ;;
    esac
    print -ru2 -- "backstop: hook failed (status $st); running the line unchecked"
    return 3
  }

  if [[ -o interactive ]]; then
    # $1 is the accepting widget this call stands in for.
    __backstop_accept() {
      local widget=__backstop-orig-$1 text=$PREBUFFER$BUFFER st
      shift
      if [[ -z ${text//[[:space:]]/} ]]; then
        zle $widget -- "$@"
        return
      fi
      # A one-line buffer that does not parse yet is either incomplete (zsh asks for
      # the rest, and the whole is decided then) or an error (zsh runs none of it).
      # It is parsed with the user's options, as zsh will parse it.
      if [[ $BUFFER != *$'\n'* ]]; then
        unset 'functions[__backstop_parse]'
        { functions[__backstop_parse]=$text } 2>/dev/null
        if (( ! ${+functions[__backstop_parse]} )); then
          zle $widget -- "$@"
          return
        fi
        unset 'functions[__backstop_parse]'
      fi
      if __backstop_benign "$text"; then
        zle $widget -- "$@"
        return
      fi
      emulate -L zsh
      # Output must start below the line being edited, yet an allowed line prints
      # nothing: keep a spare row (IND, RI), save the cursor, and step onto that row;
      # when the hook stays silent the cursor goes back and zle never knows.
      if (( CURSOR != $#BUFFER )); then
        CURSOR=$#BUFFER
        zle -R
      fi
      print -nu2 -- $'\eD\eM\e7\eD\r'
      __backstop_decide "$text"
      st=$?
      if (( st == 0 )) && [[ ! -e $__backstop_pending/$$ ]]; then
        print -nu2 -- $'\e8'
        zle $widget -- "$@"
        return
      fi
      if (( st == 1 || st == 2 )); then
        print -rs -- $text
        zle send-break
        return 1
      fi
      zle $widget -- "$@"
    }

    __backstop_precmd() {
      local st=$?
      emulate -L zsh
      if [[ -e $__backstop_pending/$$ && -x $__backstop_bin ]]; then
        "$__backstop_bin" hook --after --shell zsh --session "$$" --status "$st"
      fi
      return $st
    }

    () {
      emulate -L zsh
      local w
      for w in accept-line accept-and-hold accept-line-and-down-history accept-and-infer-next-history; do
        # Keep what the widget was (builtin or another plugin's wrapper) and call it after.
        zle -A $w __backstop-orig-$w
        functions[__backstop-$w]="__backstop_accept $w \"\$@\""
        zle -N $w __backstop-$w
      done
      # First, so that it sees the line's exit status.
      typeset -ga precmd_functions
      precmd_functions=(__backstop_precmd ${precmd_functions:#__backstop_precmd})
    }
  else
    typeset -gA __backstop_seen
    typeset -gi __backstop_after=0 __backstop_broken=0

    __backstop_script() {
      local st=$? cmd=$ZSH_DEBUG_CMD key
      emulate -L zsh
      key=$PWD$'\n'$cmd
      if (( __backstop_after )); then
        __backstop_after=0
        "$__backstop_bin" hook --after --shell zsh --session "$$" --status "$st"
      fi
      (( __backstop_broken )) && return 0
      [[ -n ${__backstop_seen[$key]-} ]] && return 0
      __backstop_benign "$cmd" && return 0
      __backstop_decide "$cmd"
      st=$?
      case $st in
        (0)
          if [[ -e $__backstop_pending/$$ ]]; then
            __backstop_after=1
          else
            __backstop_seen[$key]=1
          fi
          ;;
        (1|2) exit $st ;;
        (*) __backstop_broken=1 ;;
      esac
      return 0
    }

    trap __backstop_script DEBUG
  fi
fi
