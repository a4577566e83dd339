//! Peeling wrappers: from `sudo env FOO=1 nice -n5 rm -rf x` to the `rm` that runs.
//!
//! Wrappers are shell semantics, not policy, so they live here rather than in the
//! packs: `sudo`, `doas`, `env`, `command`, `builtin`, `exec`, `nohup`, `time`,
//! `nice`, `ionice`, `timeout`, `stdbuf`, `watch`, `busybox`, `xargs`, `find -exec`,
//! nested shells (`bash -c`), `eval`, `ssh HOST CMD`, and a few more.

use crate::command::{join_words, Command, Origin, Stdin, Word};
use crate::dialect::Dialect;

/// Deepest chain of nested shells (`bash -c "sh -c '…'"`) followed.
pub const MAX_SHELL_DEPTH: usize = 8;

/// Normalise a program word: directories, `.exe` and case do not change what runs.
pub fn program_name(text: &str) -> String {
    let base = text.rsplit(['/', '\\']).next().unwrap_or(text);
    let lower = base.to_ascii_lowercase();
    for ext in [".exe", ".com", ".bat", ".cmd"] {
        if let Some(stem) = lower.strip_suffix(ext) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    lower
}

/// How a wrapper finds the command it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// After its options, the rest of the words are the command.
    Exec,
    /// Like `Exec`, but first skip this many positional words (`timeout 5 cmd`).
    ExecAfter(usize),
    /// `env`: options, then `NAME=value` words, then the command; `-S` splits a string.
    Env,
    /// `command -v x` and `command -V x` only look a name up.
    Command,
    /// `watch`, `eval`: the remaining words joined are a shell command string.
    ShellString,
    /// `ssh HOST CMD…`: after the host, the words joined run in the remote shell.
    Ssh,
    /// `xargs CMD ARGS`: the command gets more arguments from stdin.
    Xargs,
}

struct Wrapper {
    names: &'static [&'static str],
    /// Options taking the following word as their value (short ones also glued: `-uroot`).
    value_opts: &'static [&'static str],
    kind: Kind,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: &["sudo"],
        value_opts: &[
            "-u",
            "-g",
            "-h",
            "-p",
            "-C",
            "-D",
            "-r",
            "-t",
            "-T",
            "-U",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--close-from",
            "--chdir",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
        ],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["doas"],
        value_opts: &["-u", "-C"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["pkexec"],
        value_opts: &["--user"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["run0"],
        value_opts: &["-u", "--user", "-g", "--group", "-D", "--chdir"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["env"],
        value_opts: &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
        kind: Kind::Env,
    },
    Wrapper {
        names: &["command"],
        value_opts: &[],
        kind: Kind::Command,
    },
    Wrapper {
        names: &[
            "builtin",
            "nohup",
            "setsid",
            "unbuffer",
            "caffeinate",
            "catchsegv",
        ],
        value_opts: &[],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["exec"],
        value_opts: &["-a"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["time"],
        value_opts: &["-f", "--format", "-o", "--output"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["nice"],
        value_opts: &["-n", "--adjustment"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["ionice"],
        value_opts: &["-c", "--class", "-n", "--classdata"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["chrt"],
        value_opts: &[],
        kind: Kind::ExecAfter(1),
    },
    Wrapper {
        names: &["taskset"],
        value_opts: &[],
        kind: Kind::ExecAfter(1),
    },
    Wrapper {
        names: &["timeout"],
        value_opts: &["-s", "--signal", "-k", "--kill-after"],
        kind: Kind::ExecAfter(1),
    },
    Wrapper {
        names: &["stdbuf"],
        value_opts: &["-i", "-o", "-e", "--input", "--output", "--error"],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["chroot"],
        value_opts: &["--userspec", "--groups"],
        kind: Kind::ExecAfter(1),
    },
    Wrapper {
        names: &["flock"],
        value_opts: &["-w", "--timeout", "-E", "--conflict-exit-code"],
        kind: Kind::ExecAfter(1),
    },
    Wrapper {
        names: &["runuser", "su"],
        value_opts: &[
            "-u",
            "--user",
            "-g",
            "--group",
            "-G",
            "--supp-group",
            "-s",
            "--shell",
        ],
        kind: Kind::Exec,
    },
    Wrapper {
        names: &["watch"],
        value_opts: &["-n", "--interval", "-d", "-q", "--equexit"],
        kind: Kind::ShellString,
    },
    Wrapper {
        names: &["eval"],
        value_opts: &[],
        kind: Kind::ShellString,
    },
    Wrapper {
        names: &["ssh"],
        value_opts: &[
            "-B", "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O",
            "-o", "-p", "-Q", "-R", "-S", "-W", "-w",
        ],
        kind: Kind::Ssh,
    },
    Wrapper {
        names: &["xargs"],
        value_opts: &[
            "-I",
            "-n",
            "-L",
            "-P",
            "-s",
            "-d",
            "-E",
            "-a",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-lines",
            "--max-chars",
            "--eof",
            "--process-slot-var",
        ],
        kind: Kind::Xargs,
    },
    Wrapper {
        names: &["busybox", "toybox"],
        value_opts: &[],
        kind: Kind::Exec,
    },
];

/// Every program the engine looks inside for the command it runs.
pub(crate) fn wrapper_names() -> impl Iterator<Item = &'static str> {
    WRAPPERS.iter().flat_map(|w| w.names.iter().copied())
}

fn wrapper(name: &str) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| w.names.contains(&name))
}

/// Where the options of a wrapper end: the index of the first word that is not one.
fn skip_options(words: &[Word], value_opts: &[&str], env_style: bool) -> usize {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            return i + 1;
        }
        if env_style && crate::posix::is_assignment(t) {
            i += 1;
            continue;
        }
        if !t.starts_with('-') || t == "-" {
            if env_style && t == "-" {
                i += 1;
                continue;
            }
            return i;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            let takes = value_opts.contains(&format!("--{name}").as_str());
            i += if takes && !long.contains('=') { 2 } else { 1 };
            continue;
        }
        // A short cluster: `-Eu` or `-uroot` or `-u root`.
        let bytes: Vec<char> = t.chars().skip(1).collect();
        let mut step = 1;
        for (k, ch) in bytes.iter().enumerate() {
            if value_opts.contains(&format!("-{ch}").as_str()) {
                if k + 1 == bytes.len() {
                    step = 2;
                }
                break;
            }
        }
        i += step;
    }
    i
}

/// One step of peeling: what the wrapper `cmd` runs, with anything else it reveals.
/// `None`: `cmd` is not a wrapper (or runs nothing).
fn peel_once(cmd: &Command, dialect: Dialect, depth: usize) -> Option<Peeled> {
    let program = program_name(&cmd.words.first()?.text);
    let args = cmd.args();

    if let Some(shell) = Dialect::of_program(&program) {
        return nested_shell(cmd, &program, shell, args, depth).map(Peeled::Many);
    }
    if program == "find" {
        return find_exec(cmd).map(Peeled::Many);
    }
    match program.as_str() {
        "wsl" => return wsl(cmd, args, depth).map(Peeled::Many),
        "invoke-expression" => {
            // Only a literal string can be followed; `iex $code` stays as it is.
            let words: Vec<&Word> = args
                .iter()
                .filter(|a| a.quoted || !a.text.eq_ignore_ascii_case("-Command"))
                .collect();
            if let (true, Stdin::Download(how)) = (words.is_empty(), &cmd.stdin) {
                let how = format!("{how} | Invoke-Expression");
                return Some(Peeled::Many(vec![crate::scripts::downloaded(cmd, &how)]));
            }
            if words.is_empty() || words.iter().any(|w| w.expansion) {
                return None;
            }
            let text = words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return Some(Peeled::Many(reparse(
                cmd,
                &text,
                Dialect::PowerShell,
                depth,
                "Invoke-Expression",
            )));
        }
        "start-process" => return start_process(cmd, args).map(|c| Peeled::One(Box::new(c))),
        // `backstop wrap CLIENT ARGS…` runs the client with those arguments.
        "backstop" => {
            return match args.split_first() {
                Some((sub, client)) if sub.text == "wrap" && !sub.expansion => Some(Peeled::One(
                    Box::new(inner_command(cmd, client, "backstop wrap")),
                )),
                _ => None,
            }
        }
        _ => {}
    }
    if let Some(found) = crate::indirect::peel(cmd, &program, depth) {
        return Some(Peeled::Many(found));
    }
    let w = wrapper(&program)?;
    let env_style = w.kind == Kind::Env;
    if env_style {
        // `env -S 'rm -rf x'`: the string is split into words.
        if let Some(pos) = args
            .iter()
            .position(|a| a.text == "-S" || a.text == "--split-string")
        {
            let s = args.get(pos + 1)?.text.clone();
            return Some(Peeled::Many(reparse(
                cmd,
                &s,
                Dialect::Bash,
                depth,
                "env -S",
            )));
        }
    }
    let start = skip_options(args, w.value_opts, env_style);
    let mut rest = args.get(start..).unwrap_or(&[]);
    let label = program.clone();
    match w.kind {
        Kind::Command => {
            if args
                .iter()
                .take(start)
                .any(|a| a.text.starts_with('-') && (a.text.contains('v') || a.text.contains('V')))
            {
                return Some(Peeled::Many(Vec::new()));
            }
        }
        Kind::ExecAfter(n) => rest = rest.get(n..).unwrap_or(&[]),
        Kind::ShellString => {
            let joined = join_words(rest);
            if joined.is_empty() {
                return Some(Peeled::Many(Vec::new()));
            }
            let d = if dialect.is_posix_family() {
                dialect
            } else {
                Dialect::Bash
            };
            if let [only] = rest {
                if let Some(found) = substituted(cmd, only, d, depth, &label) {
                    return Some(Peeled::Many(found));
                }
            }
            return Some(Peeled::Many(reparse(cmd, &joined, d, depth, &label)));
        }
        Kind::Ssh => {
            let remote = join_words(rest.get(1..).unwrap_or(&[]));
            if remote.is_empty() {
                return Some(Peeled::Many(Vec::new()));
            }
            return Some(Peeled::Many(reparse(
                cmd,
                &remote,
                Dialect::Bash,
                depth,
                "ssh",
            )));
        }
        Kind::Xargs => {
            let mut inner = inner_command(cmd, rest, &label);
            if inner.words.is_empty() {
                inner.words.push(Word::literal("echo"));
            }
            inner.args_from_stdin = true;
            return Some(Peeled::One(Box::new(inner)));
        }
        Kind::Exec | Kind::Env => {}
    }
    if rest.is_empty() {
        return Some(Peeled::Many(Vec::new()));
    }
    Some(Peeled::One(Box::new(inner_command(cmd, rest, &label))))
}

enum Peeled {
    One(Box<Command>),
    Many(Vec<Command>),
}

pub(crate) fn inner_command(outer: &Command, words: &[Word], label: &str) -> Command {
    let mut inner = outer.clone();
    inner.words = words.to_vec();
    inner.via.push(label.to_string());
    // `sudo FOO=1 cmd` and `env FOO=1 cmd` set variables the same way the shell does.
    while inner
        .words
        .first()
        .is_some_and(|w| !w.quoted && crate::posix::is_assignment(&w.text))
    {
        let a = inner.words.remove(0);
        inner.assignments.push(a.text);
    }
    inner
}

/// Parse a command string found inside another command and mark where it came from.
pub(crate) fn reparse(
    outer: &Command,
    text: &str,
    dialect: Dialect,
    depth: usize,
    label: &str,
) -> Vec<Command> {
    if depth >= MAX_SHELL_DEPTH {
        // Too deep to follow: examine the string as text rather than pass it, its
        // quotes and backslashes dropped, as the text of a line that cannot be parsed.
        let mut out = crate::text::fallback_commands(text);
        for c in &mut out {
            c.via = outer.via.clone();
        }
        return out;
    }
    let mut script = dialect.parse(text);
    // `bash -c 'cd ~ && rm -rf data'`: follow the inner `cd` from where the outer runs.
    crate::command::track_cd(&mut script.commands, &outer.cwd, None);
    let mut out = Vec::new();
    for mut c in script.commands {
        let mut via = outer.via.clone();
        via.push(label.to_string());
        via.extend(c.via);
        c.via = via;
        if c.origin == Origin::Line {
            c.origin = Origin::NestedShell(label.to_string());
        }
        if c.stdin == Stdin::Terminal {
            c.stdin = outer.stdin.clone();
        }
        c.file = outer.file.clone();
        c.line = outer.line;
        c.container = outer.container.clone();
        out.push(c);
    }
    if script.incomplete {
        out.extend(crate::text::fallback_commands(text));
    }
    out
}

/// A command string that is one command substitution (`"$(…)"`): what it prints, when
/// the line says (a decoded base64 literal), or code downloaded at run time.
fn substituted(
    cmd: &Command,
    word: &Word,
    dialect: Dialect,
    depth: usize,
    label: &str,
) -> Option<Vec<Command>> {
    if word.subst.len() != 1 || !matches!(word.text.as_str(), "$(...)" | "`...`" | "(...)") {
        return None;
    }
    let d = if dialect.is_posix_family() {
        dialect
    } else {
        Dialect::Bash
    };
    if crate::dynamic::downloads(&word.subst, d) {
        return Some(vec![crate::scripts::downloaded(cmd, label)]);
    }
    let text = crate::dynamic::literal_output(&word.subst[0], d)?;
    Some(reparse(cmd, &text, d, depth, label))
}

/// `bash -c STRING`, `sh -ec STRING`, `fish --command=STRING`, `zsh -c STRING`; a shell
/// reading a script from stdin (`bash <<EOF`, `curl … | sh`) runs its heredoc too.
fn nested_shell(
    cmd: &Command,
    program: &str,
    shell: Dialect,
    args: &[Word],
    depth: usize,
) -> Option<Vec<Command>> {
    let label = format!("{program} -c");
    // Words recovered from text a reader gave up on have lost their quoting: the
    // string may be several of them, so everything after the option is read as it.
    let string_at = |i: usize| -> Option<String> {
        if cmd.origin == Origin::TextFallback {
            Some(join_words(args.get(i..).filter(|rest| !rest.is_empty())?))
        } else {
            args.get(i).map(|w| w.text.clone())
        }
    };
    match shell {
        Dialect::PowerShell => return powershell_host(cmd, args, depth, &label),
        Dialect::Cmd => {
            // `cmd [/d /q /s /v:on …] /c|/k|/r STRING`: the rest of the line is the string.
            let pos = args.iter().position(|a| {
                let t = a.text.to_ascii_lowercase();
                matches!(t.as_str(), "/c" | "/k" | "/r")
            })?;
            let text = join_words(args.get(pos + 1..)?);
            return Some(reparse(cmd, &text, shell, depth, &label));
        }
        Dialect::Nu => {
            let pos = args.iter().position(|a| {
                matches!(a.text.as_str(), "-c" | "--commands" | "-e" | "--execute")
            })?;
            let text = string_at(pos + 1)?;
            return Some(reparse(cmd, &text, shell, depth, &label));
        }
        _ => {}
    }
    let mut has_c = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if let Some(v) = t.strip_prefix("--command=") {
            return Some(reparse(cmd, v, shell, depth, &label));
        }
        if t == "--command"
            || (shell == Dialect::Fish && (t == "-c" || t == "-C" || t == "--init-command"))
        {
            let v = string_at(i + 1)?;
            return Some(reparse(cmd, &v, shell, depth, &label));
        }
        if t == "--" {
            i += 1;
            break;
        }
        if t.starts_with('-') || t.starts_with('+') {
            if t.starts_with('-') && !t.starts_with("--") && t.contains('c') {
                has_c = true;
            }
            // `-o option`, `+O shopt`, `--rcfile FILE` take a value.
            if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    if has_c {
        if let Some(found) = substituted(cmd, args.get(i)?, shell, depth, &label) {
            return Some(found);
        }
        let s = string_at(i)?;
        return Some(reparse(cmd, &s, shell, depth, &label));
    }
    let script = args.get(i);
    // `bash <(curl …)`: a script downloaded as it runs.
    if script.is_some_and(|w| crate::dynamic::downloads(&w.subst, shell)) {
        return Some(vec![crate::scripts::downloaded(cmd, program)]);
    }
    if script.is_none() || args.iter().any(|a| a.text == "-s") {
        // `sh` with no script: it reads commands from stdin.
        match &cmd.stdin {
            Stdin::Text(t) => {
                let t = t.clone();
                return Some(reparse(cmd, &t, shell, depth, program));
            }
            Stdin::Download(how) => {
                let how = format!("{how} | {program}");
                return Some(vec![crate::scripts::downloaded(cmd, &how)]);
            }
            _ => {}
        }
    }
    None
}

/// `powershell`/`pwsh` with `-Command STRING` (or a bare string, Windows PowerShell's
/// default), `-CommandWithArgs`, or `-EncodedCommand BASE64` (UTF-16LE): read as PowerShell.
fn powershell_host(
    cmd: &Command,
    args: &[Word],
    depth: usize,
    label: &str,
) -> Option<Vec<Command>> {
    use crate::powershell::{decode_encoded_command, host_parameter, HostParam};
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let param = if a.quoted {
            None
        } else {
            host_parameter(&a.text)
        };
        match param {
            Some(HostParam::Command) => {
                let text = join_words(args.get(i + 1..)?);
                return Some(reparse(cmd, &text, Dialect::PowerShell, depth, label));
            }
            Some(HostParam::Encoded) => {
                let value = args.get(i + 1)?;
                let Some(text) = decode_encoded_command(&value.text) else {
                    // Not base64 of UTF-16: what runs is unknown, so it is kept as it is.
                    return None;
                };
                return Some(reparse(
                    cmd,
                    &text,
                    Dialect::PowerShell,
                    depth,
                    "powershell -EncodedCommand",
                ));
            }
            // A script file: what it does is not on the line.
            Some(HostParam::File) => return None,
            Some(HostParam::Value) => i += 2,
            Some(HostParam::Switch) => i += 1,
            None => {
                let text = join_words(&args[i..]);
                return Some(reparse(cmd, &text, Dialect::PowerShell, depth, label));
            }
        }
    }
    None
}

/// `wsl [-d DISTRO] [-u USER] [--cd DIR] (-e|--exec) CMD…` runs CMD directly;
/// `wsl [… --] CMD` runs it through the distribution's shell, read as bash. The
/// management commands (`--unregister`, `--export`, `--list` …) run nothing.
fn wsl(cmd: &Command, args: &[Word], depth: usize) -> Option<Vec<Command>> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.to_ascii_lowercase();
        match t.as_str() {
            "-d" | "--distribution" | "-u" | "--user" | "--cd" | "--shell-type"
            | "--distribution-id" => i += 2,
            "--system" | "~" => i += 1,
            "-e" | "--exec" => {
                let rest = args.get(i + 1..).filter(|r| !r.is_empty())?;
                return Some(vec![inner_command(cmd, rest, "wsl --exec")]);
            }
            "--" => {
                let text = join_words(args.get(i + 1..)?);
                return Some(reparse(cmd, &text, Dialect::Bash, depth, "wsl"));
            }
            _ if t.starts_with('-') => return None,
            _ => {
                let text = join_words(&args[i..]);
                return Some(reparse(cmd, &text, Dialect::Bash, depth, "wsl"));
            }
        }
    }
    None
}

/// `Start-Process [-FilePath] PROGRAM [[-ArgumentList] ARGS]`: the program runs with
/// the arguments joined into one command line, split again the Windows way.
fn start_process(cmd: &Command, args: &[Word]) -> Option<Command> {
    const SWITCHES: &[&str] = &[
        "-loaduserprofile",
        "-nonewwindow",
        "-passthru",
        "-wait",
        "-usenewenvironment",
    ];
    const VALUES: &[&str] = &[
        "-credential",
        "-workingdirectory",
        "-verb",
        "-windowstyle",
        "-environment",
        "-redirectstandarderror",
        "-redirectstandardinput",
        "-redirectstandardoutput",
    ];
    // The reader spelled Start-Process's parameters in full, so they are known exactly.
    let param = |w: &Word| {
        let t = w.text.to_ascii_lowercase();
        let known = t == "-filepath"
            || t == "-argumentlist"
            || SWITCHES.contains(&t.as_str())
            || VALUES.contains(&t.as_str());
        (!w.quoted && known).then_some(t)
    };
    let mut file: Option<&Word> = None;
    let mut arguments: Vec<&Word> = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match param(a).as_deref() {
            Some("-filepath") => {
                file = args.get(i + 1);
                i += 2;
            }
            Some("-argumentlist") => {
                i += 1;
                while let Some(v) = args.get(i).filter(|v| param(v).is_none()) {
                    arguments.push(v);
                    i += 1;
                }
            }
            Some(t) if SWITCHES.contains(&t) => i += 1,
            Some(_) => i += 2,
            None => {
                if file.is_none() {
                    file = Some(a);
                } else {
                    arguments.push(a);
                }
                i += 1;
            }
        }
    }
    let file = file?;
    if file.expansion {
        return None;
    }
    let mut words = vec![Word {
        text: file.text.clone(),
        quoted: file.quoted,
        ..Word::default()
    }];
    for a in arguments {
        words.extend(
            split_windows_command_line(&a.text)
                .into_iter()
                .map(|t| Word {
                    text: t,
                    expansion: a.expansion,
                    ..Word::default()
                }),
        );
    }
    Some(inner_command(cmd, &words, "Start-Process"))
}

/// Split a command line the way Windows programs do: whitespace, `"…"` groups.
fn split_windows_command_line(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                any = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `find ROOTS … -exec CMD {} ;` runs CMD on what it finds; `{}` stands for files under ROOTS.
fn find_exec(cmd: &Command) -> Option<Vec<Command>> {
    let args = cmd.args();
    if !args
        .iter()
        .any(|a| matches!(a.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))
    {
        return None;
    }
    let roots = find_scope(cmd);
    let mut out = vec![];
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if matches!(t, "-exec" | "-execdir" | "-ok" | "-okdir") {
            let mut words = Vec::new();
            i += 1;
            while let Some(w) = args.get(i) {
                if w.text == ";" || w.text == "+" {
                    break;
                }
                if w.text.contains("{}") {
                    for r in &roots {
                        let mut nw = w.clone();
                        nw.text = w.text.replace("{}", r);
                        nw.glob = true;
                        words.push(nw);
                    }
                } else {
                    words.push(w.clone());
                }
                i += 1;
            }
            if !words.is_empty() {
                let mut inner = cmd.clone();
                inner.words = words;
                inner.via.push(format!("find {t}"));
                inner.origin = Origin::RunBy(format!("find {t}"));
                out.push(inner);
            }
        }
        i += 1;
    }
    // The find itself stays: `-delete` and friends are matched on it.
    out.push(cmd.clone());
    Some(out)
}

/// What a `find` command selects, as globs: `ROOT/**/NAME` when it filters on one
/// `-name` (so `find . -name __pycache__ -exec rm -rf {} +` targets `./**/__pycache__`),
/// else everything under each root, `ROOT/**`.
pub fn find_scope(cmd: &Command) -> Vec<String> {
    let args = cmd.args();
    let mut roots: Vec<String> = args
        .iter()
        .take_while(|a| !a.text.starts_with('-') && a.text != "(" && a.text != "!")
        .map(|a| a.text.trim_end_matches('/').to_string())
        .collect();
    if roots.is_empty() {
        roots.push(".".to_string());
    }
    let names: Vec<&str> = args
        .windows(2)
        .filter(|w| matches!(w[0].text.as_str(), "-name" | "-iname"))
        .map(|w| w[1].text.as_str())
        .collect();
    // With `-o` or `!` the selection is not one name: fall back to everything.
    let alternation = args
        .iter()
        .any(|a| matches!(a.text.as_str(), "-o" | "-or" | "!" | "-not"));
    let tail = match names.as_slice() {
        [one] if !alternation && !one.contains('/') => format!("**/{one}"),
        _ => "**".to_string(),
    };
    roots
        .into_iter()
        .map(|r| {
            if r.is_empty() {
                format!("/{tail}")
            } else {
                format!("{r}/{tail}")
            }
        })
        .collect()
}

/// How many wrappers [`peel`] takes off one command, at most.
const PEEL_STEPS: usize = 4096;
/// How many words [`peel`] handles for one command, at most: each step copies (or
/// parses again) what a wrapper wraps, so a chain of wrappers costs the square of its
/// length, and a 1 MiB line holds 200,000 of them.
const PEEL_WORDS: usize = 1 << 20;

/// Peel every wrapper from `cmd`, recursively, returning the commands that really run.
/// Past its bounds, what is left to peel comes back as it is, marked
/// [`Origin::Unpeeled`], for the engine to examine word by word: never dropped.
pub fn peel(cmd: Command, dialect: Dialect, depth: usize) -> Vec<Command> {
    let mut out = Vec::new();
    let mut work = vec![(cmd, depth)];
    let mut steps = 0usize;
    let mut words = 0usize;
    while let Some((c, d)) = work.pop() {
        steps += 1;
        words += c.words.len();
        if steps > PEEL_STEPS || words > PEEL_WORDS {
            let unpeeled = |mut c: Command| {
                c.origin = Origin::Unpeeled;
                c
            };
            out.push(unpeeled(c));
            out.extend(work.drain(..).map(|(c, _)| unpeeled(c)));
            break;
        }
        let is_find = c
            .words
            .first()
            .is_some_and(|w| program_name(&w.text) == "find");
        match peel_once(&c, dialect, d) {
            Some(Peeled::One(inner)) => work.push((*inner, d)),
            Some(Peeled::Many(list)) => {
                for inner in list {
                    let same_find = is_find
                        && inner
                            .words
                            .first()
                            .is_some_and(|w| program_name(&w.text) == "find")
                        && inner.words == c.words;
                    if same_find {
                        out.push(inner);
                    } else {
                        work.push((inner, d + 1));
                    }
                }
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Vec<String> {
        let script = Dialect::Bash.parse(line);
        let mut out: Vec<String> = script
            .commands
            .into_iter()
            .flat_map(|c| peel(c, Dialect::Bash, 0))
            .map(|c| c.to_string())
            .collect();
        out.sort();
        out
    }

    macro_rules! peels {
        ($name:ident, $line:expr, [$($want:expr),* $(,)?]) => {
            #[test]
            fn $name() {
                let mut want: Vec<String> = vec![$($want.to_string()),*];
                want.sort();
                assert_eq!(run($line), want, "line: {:?}", $line);
            }
        };
    }

    peels!(sudo_plain, "sudo rm -rf /x", ["rm -rf /x"]);
    peels!(
        sudo_options,
        "sudo -u root -E --preserve-env=A -- rm -rf /x",
        ["rm -rf /x"]
    );
    peels!(sudo_glued_user, "sudo -uroot rm x", ["rm x"]);
    peels!(doas, "doas -u root rm -rf /x", ["rm -rf /x"]);
    peels!(pkexec, "pkexec --user root rm -rf /x", ["rm -rf /x"]);
    peels!(
        env_assignments,
        "env -i FOO=1 -u BAR rm -rf x",
        ["rm -rf x"]
    );
    peels!(env_split_string, "env -S 'rm -rf x'", ["rm -rf x"]);
    peels!(command_builtin, "command rm -rf x", ["rm -rf x"]);
    peels!(command_v_runs_nothing, "command -v rm", []);
    peels!(
        stacked,
        "sudo nice -n 10 ionice -c3 nohup time -p timeout -s KILL 5m stdbuf -oL rm -rf x",
        ["rm -rf x"]
    );
    peels!(nice_numeric, "nice -10 rm -rf x", ["rm -rf x"]);
    peels!(watch_string, "watch -n 5 'rm -rf x'", ["rm -rf x"]);
    peels!(busybox_applet, "busybox rm -rf x", ["rm -rf x"]);
    peels!(exec_builtin, "exec rm -rf x", ["rm -rf x"]);
    peels!(
        absolute_path,
        "/usr/bin/sudo /bin/rm -rf x",
        ["/bin/rm -rf x"]
    );
    peels!(xargs_default, "ls | xargs", ["echo", "ls"]);
    peels!(bash_c, "bash -c 'rm -rf x'", ["rm -rf x"]);
    peels!(sh_ec, "sh -ec 'cd / && rm -rf x'", ["cd /", "rm -rf x"]);
    peels!(
        nested_shells,
        "bash -c \"sh -c 'zsh -c \\\"rm -rf x\\\"'\"",
        ["rm -rf x"]
    );
    peels!(fish_command_eq, "fish --command='rm -rf x'", ["rm -rf x"]);
    peels!(eval_joined, "eval rm -rf x", ["rm -rf x"]);
    peels!(
        ssh_remote,
        "ssh -p 22 host 'rm -rf /data'",
        ["rm -rf /data"]
    );
    peels!(sh_from_heredoc, "sh <<EOF\nrm -rf x\nEOF\n", ["rm -rf x"]);
    peels!(
        find_exec_rm,
        "find /srv -name '*.log' -exec rm -f {} \\;",
        [
            "find /srv -name *.log -exec rm -f {} ';'",
            "rm -f /srv/**/*.log"
        ]
    );
    peels!(
        bash_script_file_is_not_nested,
        "bash script.sh",
        ["bash script.sh"]
    );

    #[test]
    fn xargs_marks_stdin_args() {
        let script = Dialect::Bash.parse("find . -name x | xargs -0 -n1 rm -f");
        let peeled: Vec<Command> = script
            .commands
            .into_iter()
            .flat_map(|c| peel(c, Dialect::Bash, 0))
            .collect();
        let rm = peeled
            .iter()
            .find(|c| c.program() == Some("rm"))
            .expect("rm found");
        assert!(rm.args_from_stdin);
        assert_eq!(rm.via, vec!["xargs"]);
    }

    #[test]
    fn depth_is_bounded() {
        let mut line = "rm -rf x".to_string();
        for _ in 0..12 {
            // Backslash quoting grows linearly per level, unlike nested single quotes.
            line = format!("bash -c {}", line.replace('\\', "\\\\").replace(' ', "\\ "));
        }
        let script = Dialect::Bash.parse(&line);
        let peeled: Vec<Command> = script
            .commands
            .into_iter()
            .flat_map(|c| peel(c, Dialect::Bash, 0))
            .collect();
        // Past the bound the string is still examined, as text.
        assert!(peeled.iter().any(|c| c.origin == Origin::TextFallback));
    }

    #[test]
    fn program_names_normalise() {
        assert_eq!(program_name("/usr/bin/RM"), "rm");
        assert_eq!(program_name("C:\\Windows\\System32\\WSL.EXE"), "wsl");
        assert_eq!(program_name("rm.exe"), "rm");
        assert_eq!(program_name(".exe"), ".exe");
    }
}
