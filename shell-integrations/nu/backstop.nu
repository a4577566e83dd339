# backstop for nushell: each command line is decided by `backstop hook` before nu runs
# it. `backstop install nu` renders this file and sources it from config.nu.
#
# Enter runs __backstop_accept through `executehostcommand`, which sees the whole
# buffer (every line of a paste) and only then accepts it: a pre_execution hook
# cannot stop a line, since nu has already taken it by the time the hook runs.

const __backstop_bin = @BACKSTOP_BIN@
const __backstop_pending = @BACKSTOP_PENDING@

def --env __backstop_accept [] {
    let line = (commandline)
    if ($line | str trim | is-empty) {
        commandline edit --accept $line
        return
    }
    # Unfinished (an open bracket or quote, a trailing pipe): Enter adds a line, as
    # nu's own validator has it do; the whole is checked when it is complete. Parsing
    # costs most of a millisecond, so only lines that could be unfinished are parsed.
    if $line =~ "[\"'`(\\[{|]" {
        let error = (ast --json $line | get error)
        if $error != "null" and (($error | from json | columns | first) in [Unclosed UnexpectedEof]) {
            commandline edit --insert "\n"
            return
        }
    }
    if not ($__backstop_bin | path exists) {
        print --stderr $"\nbackstop: ($__backstop_bin) is missing; running the line unchecked"
        commandline edit --accept $line
        return
    }
    let status = try {
        ^$__backstop_bin hook --shell nu --session $"($nu.pid)" --cwd $env.PWD -- $line
        0
    } catch {|e|
        # Killed by a signal, or not startable: there is no exit code.
        $e.exit_code? | default 255
    }
    if $status == 0 {
        commandline edit --accept $line
    } else if $status in [1 2] {
        commandline edit --replace ""
    } else {
        # backstop itself failed: a shell that runs nothing cannot even remove it.
        print --stderr $"\nbackstop: the check failed \(exit status ($status)\); running the line unchecked"
        commandline edit --accept $line
    }
}

# After a line the hook approved: its exit status goes to backstop, which reminds the
# person to prove and free the backup. The hook leaves a file when it approves; the
# line's own pre_execution sees it (nu also runs pre_prompt between the Enter key's
# command and the line), and the next prompt reports. A benign line pays a file test.
$env.config.hooks.pre_execution = (
    $env.config.hooks.pre_execution? | default [] | append {||
        if ($__backstop_pending | path join $"($nu.pid)" | path exists) {
            $env.__BACKSTOP_RAN = true
        }
    }
)
$env.config.hooks.pre_prompt = (
    $env.config.hooks.pre_prompt? | default [] | append {||
        if ($env.__BACKSTOP_RAN? | default false) {
            let status = $env.LAST_EXIT_CODE
            $env.__BACKSTOP_RAN = false
            if ($__backstop_bin | path exists) {
                try { ^$__backstop_bin hook --after --shell nu --session $"($nu.pid)" --status $status }
            }
        }
    }
)

# Enter in every edit mode, and Ctrl-J where nu binds it to Enter; appended, so the
# user's own keybindings stay and these take precedence over nu's defaults.
$env.config.keybindings = (
    $env.config.keybindings? | default [] | append [
        {
            name: backstop_enter
            modifier: none
            keycode: enter
            mode: [emacs vi_normal vi_insert]
            event: { send: executehostcommand, cmd: "__backstop_accept" }
        }
        {
            name: backstop_ctrl_j
            modifier: control
            keycode: char_j
            mode: [emacs vi_insert]
            event: { send: executehostcommand, cmd: "__backstop_accept" }
        }
    ]
)
