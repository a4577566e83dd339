# backstop for fish: each command line is decided by `backstop hook` before fish runs
# it. Loaded with `backstop init fish | source` (what `backstop install fish` adds).
#
# Enter is bound to __backstop_accept, which passes the whole buffer (every line of a
# paste, every job, every command substitution) to the hook and only then lets fish
# execute it: fish_preexec cannot stop a command, so the check has to come first.

set -g __backstop_bin @BACKSTOP_BIN@
set -g __backstop_pending @BACKSTOP_PENDING@

# The program words of every policy (see `backstop init fish --words`).
@BACKSTOP_WORDS@

# Loads the words again after a policy file or the binary changed; if that fails,
# every line goes to the hook.
function __backstop_reload
    set -l code ($__backstop_bin init fish --words 2>/dev/null | string collect)
    if test $pipestatus[1] -eq 0; and test -n "$code"
        printf '%s\n' $code | source
    else
        set -g __backstop_wall 1
        set -g __backstop_watch
        set -g __backstop_wpath "$PATH"
    end
end

# Whether no rule can match $argv[1], found without starting a process: it names none
# of the programs the policies name (nor a wrapper, shell or interpreter), once quotes
# are joined and the shell's separators split it, holds no `\` or `$'` the shell
# would decode into other words, and redirects nowhere a redirect rule looks. The
# reference, held to the engine by its tests, is backstop_rules::prefilter.
function __backstop_benign --argument-names line
    for p in $__backstop_watch
        if test $p -nt $__backstop_wref; or not test -e $__backstop_wref
            __backstop_reload
            break
        end
    end
    # Scripts on another PATH are other words ("$PATH" is joined with colons).
    if set -q __backstop_wpath; and test "$PATH" != "$__backstop_wpath"
        __backstop_reload
    end
    test "$__backstop_wall" = 1; and return 1
    string match -qr -- '[\\\\]|\$\'' $line; and return 1
    # A repository's own policies (.backstop/) may name any program. The places to
    # look are listed again only when the directory changes: a command substitution
    # costs fish a tenth of a millisecond.
    if test "$PWD" != "$__backstop_wpwd"
        set -g __backstop_wpwd $PWD
        set -g __backstop_wdirs
        set -l d $PWD
        while test -n "$d"
            set -a __backstop_wdirs $d/.backstop
            set d (string replace -r -- '/[^/]*$' '' $d)
        end
        set -a __backstop_wdirs /.backstop
    end
    for d in $__backstop_wdirs
        test -d $d; and return 1
    end
    # Quotes join (r''m is rm) and case does not count; only a line with quotes or
    # capitals pays for the substitution.
    if string match -qr -- '[A-Z\'"]' $line
        set line (string replace -ra -- '[\'"]' '' $line | string lower | string collect)
    end
    if test "$__backstop_wredir" != 0; and string match -q -- '*>*' $line
        test "$__backstop_wredir" = 1; and return 1
        string match -qr -- $__backstop_wlits $line; and return 1
    end
    # A file run by its path (./x, ~/bin/x) or sourced with `.`, at the start of a
    # command: backstop_rules::prefilter::runs_a_path as one regular expression.
    if string match -qr -- '[/.]' $line
        string match -qr -- '(?:^|[;&|(){}\x60\n])[ \t]*(?:(?:[^ \t\n;&|(){}\x60]*=[^ \t\n;&|(){}\x60]*|(?![0-9<>]+(?![^ \t\n;&|(){}\x60]))[^ \t\n;&|(){}\x60]*[<>][^ \t\n;&|(){}\x60]*|(?:!|then|do|else|elif|if|while|until|time|and|or|not|begin)|[0-9<>]*[<>][0-9<>]*[ \t]+[^ \t\n;&|(){}\x60]+)[ \t]+)*(?:[^ \t\n;&|(){}\x60]*/|\.(?![^ \t\n;&|(){}\x60]))' $line
        and return 1
    end
    # Each word's program: its last path component less a Windows extension, as the
    # engine reads it (into $__backstop_w, with no substitution).
    string match -qra -- '(?<![^;&|()<>{}$`=!,\s])(?:[^;&|()<>{}$`=!,\s]*/)?(?<__backstop_w>[^;&|()<>{}$`=!,\s/]+?)(?:\.(?:exe|com|bat|cmd))?(?![^;&|()<>{}$`=!,\s])' $line
    or return 0
    if string match -qr -- '[*?]' $line
        # Wildcards in a word would match other words: compared one by one instead.
        set -l words (string split -n ' ' -- $__backstop_words)
        for w in $__backstop_w
            contains -- $w $words; and return 1
        end
    else
        for w in $__backstop_w
            string match -q -- "* $w *" $__backstop_words; and return 1
        end
    end
    return 0
end

function __backstop_accept --description 'backstop: decide the command line, then run it'
    set -l line (commandline | string collect)
    # Unfinished (an open quote or block): Enter adds a line; the whole is checked later.
    commandline --is-valid
    if test $status -eq 2; or not string match -qr '\S' -- $line
        commandline -f execute
        return
    end
    # `execute` expands an abbreviation at the cursor (`nuke` into `rm -rf ~`) after
    # this check, so the first Enter expands it for the person to see and the next
    # one checks and runs what is there. A line Enter left unchanged goes on.
    if test "$line" != "$__backstop_abbr_line"; and __backstop_abbr_at_cursor
        set -g __backstop_abbr_line $line
        commandline -f expand-abbr
        return
    end
    set -g __backstop_abbr_line
    if __backstop_benign $line
        __backstop_execute
        return
    end
    if not test -x $__backstop_bin
        printf '\n%s\n' "backstop: $__backstop_bin is missing; running the line unchecked" >&2
        commandline -f repaint
        __backstop_execute
        return
    end
    $__backstop_bin hook --shell fish --session $fish_pid --cwd $PWD -- $line
    set -l st $status
    # The hook wrote below the line (a refusal, a question): draw the prompt afresh.
    if test $st -ne 0; or test -e $__backstop_pending/$fish_pid
        commandline -f repaint
    end
    switch $st
        case 0
            __backstop_execute
        case 1 2
            # Run it as a comment, as fish's own Alt-# does: it goes to history (to
            # fix and retry) and the line is cleared, and nothing runs.
            commandline --replace -- (string split \n -- $line | string replace -r '^' '# ' | string collect)
            __backstop_execute
        case '*'
            # backstop itself failed: a shell that runs nothing cannot even remove it.
            printf '\n%s\n' "backstop: the check failed (exit status $st); running the line unchecked" >&2
            __backstop_execute
    end
end

# Whether the token at the cursor may be an abbreviation that `execute` expands: by
# name in command position (after nothing but keywords), by --position anywhere, or
# by --regex.
function __backstop_abbr_at_cursor
    set -l token (commandline -t)
    test -n "$token"; or return 1
    set -l before (commandline -cpo)
    if not string match -qrv -- '^(and|or|not|!|if|while|begin|else|time|command|builtin|exec)$' $before
        abbr --query -- $token; and return 0
    end
    if not set -q __backstop_abbr_known
        set -l shown (abbr --show)
        set -g __backstop_abbr_anywhere (string match -rg -- ' --position anywhere .*-- (\S+)' $shown | string unescape)
        set -g __backstop_abbr_regex (string match -rg -- ' --regex (\S+)' $shown | string unescape)
        set -q __backstop_abbr_wrapped; and set -g __backstop_abbr_known
    end
    contains -- $token $__backstop_abbr_anywhere; and return 0
    for pattern in $__backstop_abbr_regex
        string match -qr -- $pattern $token; and return 0
    end
    return 1
end

# Reading `abbr --show` on every Enter would cost a benign line up to a millisecond,
# so it is read again only after `abbr` ran (unless abbr is some other function).
if not functions -q abbr
    set -g __backstop_abbr_wrapped
    function abbr --wraps abbr --description 'abbr; backstop reads the abbreviations again'
        set -e __backstop_abbr_known
        builtin abbr $argv
    end
end

# vi mode leaves command mode for insert mode on Enter, as fish's own binding does.
function __backstop_execute
    if contains -- $fish_bind_mode default replace; and test "$fish_key_bindings" != fish_default_key_bindings
        set fish_bind_mode insert
        commandline -f execute repaint-mode
    else
        commandline -f execute
    end
end

# After a line the hook approved: its exit status goes to backstop, which reminds the
# person to prove and free the backup. A file test is all a benign command pays.
function __backstop_after --on-event fish_postexec
    set -l st $status
    if test -e $__backstop_pending/$fish_pid; and test -x $__backstop_bin
        $__backstop_bin hook --after --shell fish --session $fish_pid --status $st
    end
end

# Every key fish binds to `execute` in the modes that type text (Enter, Ctrl-J, and
# Ctrl/Shift+Enter as xterm and CSI u send them), as user bindings, which
# fish_default_key_bindings and fish_vi_key_bindings leave in place.
for __backstop_mode in default insert replace
    for __backstop_key in \r \n \e\[27\;5\;13~ \e\[13\;5u \e\[27\;2\;13~ \e\[13\;2u
        bind -M $__backstop_mode $__backstop_key __backstop_accept
    end
end
