//! Programs that run a command given to them as a string or as arguments, beyond the
//! wrappers of [`crate::unwrap`]: `script -c`, `tmux`, `screen`, `at`/`batch`,
//! `systemd-run`, `crontab`, `awk`'s `system()`, `vim -c '!…'`, `gdb -ex 'shell …'`,
//! `expect -c 'spawn …'`, `git` aliases, zsh's `noglob`/`nocorrect`, and
//! `docker`/`podman` `run`/`exec` (with bind mounts mapped back to the host).

use std::sync::OnceLock;

use regex::Regex;

use crate::command::{Command, Container, Stdin, Word, WorkDir};
use crate::dialect::Dialect;
use crate::unwrap::{inner_command, program_name, reparse};

/// What `cmd` runs, if it is one of the programs this module knows; `None` otherwise
/// (or when it runs nothing that can be read).
pub(crate) fn peel(cmd: &Command, program: &str, depth: usize) -> Option<Vec<Command>> {
    let args = cmd.args();
    match program {
        "noglob" | "nocorrect" | "-" if !args.is_empty() => {
            Some(vec![inner_command(cmd, args, program)])
        }
        "script" => script(cmd, args, depth),
        "tmux" => tmux(cmd, args, depth),
        "screen" => screen(cmd, args, depth),
        "at" | "batch" => match &cmd.stdin {
            Stdin::Text(t) if !args.iter().any(|a| a.text.starts_with("-f")) => {
                Some(reparse(cmd, &t.clone(), Dialect::Bash, depth, program))
            }
            _ => None,
        },
        "systemd-run" => systemd_run(cmd, args),
        "crontab" => match &cmd.stdin {
            Stdin::Text(t) if crontab_file_arg(args).is_none() => {
                let t = t.clone();
                Some(
                    crontab_commands(&t)
                        .into_iter()
                        .flat_map(|(_, s)| reparse(cmd, &s, Dialect::Bash, depth, "crontab"))
                        .collect(),
                )
            }
            _ => None,
        },
        "awk" | "gawk" | "mawk" | "nawk" => {
            let code = awk_program(args)?;
            let strings = awk_shell_strings(&code);
            strings_to_commands(cmd, strings, depth, program)
        }
        "vim" | "nvim" | "vi" | "ex" | "view" | "gvim" | "vimdiff" | "nvi" => {
            let strings = vim_shell_strings(args);
            strings_to_commands(cmd, strings, depth, program)
        }
        "gdb" => {
            let strings: Vec<(usize, String)> = option_values(
                args,
                &[
                    "-ex",
                    "--ex",
                    "-eval-command",
                    "--eval-command",
                    "-iex",
                    "--iex",
                ],
            )
            .iter()
            .filter_map(|v| gdb_shell_command(v))
            .map(|s| (0, s))
            .collect();
            strings_to_commands(cmd, strings, depth, "gdb")
        }
        "expect" => {
            let code = option_values(args, &["-c"]);
            if code.is_empty() {
                return None;
            }
            let strings = code.iter().flat_map(|c| expect_shell_strings(c)).collect();
            strings_to_commands(cmd, strings, depth, "expect")
        }
        "git" => git_inline_alias(cmd, args, depth),
        "docker" | "podman" | "nerdctl" => container(cmd, program, args),
        "docker-compose" | "podman-compose" => compose(cmd, program, args),
        _ => None,
    }
}

/// Shell strings found in another language's code, each read as bash.
fn strings_to_commands(
    cmd: &Command,
    strings: Vec<(usize, String)>,
    depth: usize,
    label: &str,
) -> Option<Vec<Command>> {
    if strings.is_empty() {
        return None;
    }
    Some(
        strings
            .into_iter()
            .flat_map(|(_, s)| reparse(cmd, &s, Dialect::Bash, depth, label))
            .collect(),
    )
}

/// Every value of the options `names` (`-c X`, `--c=X`, repeated).
fn option_values(args: &[Word], names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if names.contains(&t) {
            if let Some(v) = args.get(i + 1) {
                out.push(v.text.clone());
            }
            i += 2;
            continue;
        }
        if let Some((n, v)) = t.split_once('=') {
            if names.contains(&n) && n.starts_with("--") {
                out.push(v.to_string());
            }
        }
        i += 1;
    }
    out
}

/// `script [-q] -c CMD [FILE]` (util-linux) and `script [-q] FILE CMD…` (BSD, macOS).
fn script(cmd: &Command, args: &[Word], depth: usize) -> Option<Vec<Command>> {
    const VALUES: &[char] = &['E', 'I', 'O', 'B', 'T', 'm', 'o', 't', 'F'];
    let mut positionals = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if let Some(v) = t.strip_prefix("--command=") {
            return Some(reparse(cmd, v, Dialect::Bash, depth, "script -c"));
        }
        if t == "--command" {
            let v = args.get(i + 1)?;
            return Some(reparse(cmd, &v.text, Dialect::Bash, depth, "script -c"));
        }
        if t.starts_with("--") {
            i += if t.contains('=') || !t.starts_with("--log") && t != "--output-limit" {
                1
            } else {
                2
            };
            continue;
        }
        if let Some(flags) = t.strip_prefix('-').filter(|f| !f.is_empty()) {
            // `-qc CMD`, `-c CMD`, `-cCMD`
            if let Some(pos) = flags.find('c') {
                let glued = &flags[pos + 1..];
                let text = if glued.is_empty() {
                    args.get(i + 1)?.text.clone()
                } else {
                    glued.to_string()
                };
                return Some(reparse(cmd, &text, Dialect::Bash, depth, "script -c"));
            }
            i += if flags.ends_with(VALUES) { 2 } else { 1 };
            continue;
        }
        // BSD: `script [-q] FILE CMD ARGS…` runs CMD directly, options and all.
        if !positionals.is_empty() {
            return Some(vec![inner_command(cmd, &args[i..], "script")]);
        }
        positionals.push(a.clone());
        i += 1;
    }
    None
}

/// The tmux commands that run a shell command, with their options that take a value.
const TMUX_COMMANDS: &[(&[&str], &str)] = &[
    (&["new-session", "new"], "cefnstxyX"),
    (&["new-window", "neww"], "cefnt"),
    (&["split-window", "splitw"], "ceflpt"),
    (&["respawn-pane", "respawnp"], "cet"),
    (&["respawn-window", "respawnw"], "cet"),
    (&["run-shell", "run"], "dtc"),
    (&["display-popup", "popup"], "bcdehsStTwxy"),
    (&["pipe-pane", "pipep"], "t"),
    (&["if-shell", "if"], "t"),
];

/// `tmux [opts] new-session|new-window|split-window … CMD`, `send-keys 'LINE' Enter`,
/// `run-shell CMD`, and commands chained with `\;`.
fn tmux(cmd: &Command, args: &[Word], depth: usize) -> Option<Vec<Command>> {
    let mut i = 0;
    let mut out = Vec::new();
    // Global options; `-c CMD` runs CMD through the shell, as a login shell would.
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if t == "-c" {
            let v = args.get(i + 1)?;
            return Some(reparse(cmd, &v.text, Dialect::Bash, depth, "tmux -c"));
        }
        i += if matches!(t, "-L" | "-S" | "-f" | "-T") {
            2
        } else {
            1
        };
    }
    let rest = args.get(i..).unwrap_or(&[]);
    for part in rest.split(|w| w.text == ";") {
        let Some(name) = part.first() else { continue };
        let sub = &part[1..];
        if matches!(name.text.as_str(), "send-keys" | "send") {
            for line in typed_lines(sub) {
                out.extend(reparse(cmd, &line, Dialect::Bash, depth, "tmux send-keys"));
            }
            continue;
        }
        let Some((_, values)) = TMUX_COMMANDS
            .iter()
            .find(|(names, _)| names.contains(&name.text.as_str()))
        else {
            continue;
        };
        let mut j = 0;
        while let Some(a) = sub.get(j) {
            let t = a.text.as_str();
            if t == "--" {
                j += 1;
                break;
            }
            let Some(flags) = t.strip_prefix('-').filter(|f| !f.is_empty()) else {
                break;
            };
            j += if flags.len() == 1 && values.contains(flags) {
                2
            } else {
                1
            };
        }
        let words = sub.get(j..).unwrap_or(&[]);
        let words = if matches!(name.text.as_str(), "if-shell" | "if") {
            &words[..words.len().min(1)]
        } else {
            words
        };
        if words.is_empty() {
            continue;
        }
        let label = format!("tmux {}", name.text);
        out.extend(reparse(
            cmd,
            &crate::command::join_words(words),
            Dialect::Bash,
            depth,
            &label,
        ));
    }
    (!out.is_empty()).then_some(out)
}

/// The lines tmux `send-keys` types and ends with Enter: key names (`Enter`, `C-m`,
/// `Space`) are keys, other words are typed as they are.
fn typed_lines(args: &[Word]) -> Vec<String> {
    let mut i = 0;
    let mut literal = false;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "-t" | "-N" => i += 2,
            "-l" => {
                literal = true;
                i += 1;
            }
            _ if t.starts_with('-') && t.len() > 1 && !t.contains(' ') => i += 1,
            _ => break,
        }
    }
    let mut lines = Vec::new();
    let mut cur = String::new();
    for a in args.get(i..).unwrap_or(&[]) {
        let key = a.text.as_str();
        match key {
            "Enter" | "C-m" | "KPEnter" | "C-j" | "^M" | "^J" if !literal => {
                lines.push(std::mem::take(&mut cur));
            }
            "Space" if !literal => cur.push(' '),
            "Tab" if !literal => cur.push('\t'),
            "C-c" | "C-u" if !literal => cur.clear(),
            _ => {
                for ch in key.chars() {
                    if ch == '\n' || ch == '\r' {
                        lines.push(std::mem::take(&mut cur));
                    } else {
                        cur.push(ch);
                    }
                }
            }
        }
    }
    lines
}

/// `screen -dm[S name] CMD…` runs CMD; `screen -X stuff 'LINE\n'` types LINE into the
/// session's shell; `screen -X screen CMD…` opens a window running CMD.
fn screen(cmd: &Command, args: &[Word], depth: usize) -> Option<Vec<Command>> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "-X" {
            let sub = args.get(i + 1..)?;
            let name = sub.first()?.text.as_str();
            return match name {
                "stuff" => {
                    let text = sub.get(1)?.text.replace("^M", "\n").replace("^J", "\n");
                    let text = text
                        .replace("\\n", "\n")
                        .replace("\\r", "\n")
                        .replace('\r', "\n");
                    let complete: Vec<&str> = text.split('\n').collect();
                    // The last piece has no Enter after it: typed, not run.
                    let run = complete[..complete.len() - 1].join("\n");
                    (!run.trim().is_empty())
                        .then(|| reparse(cmd, &run, Dialect::Bash, depth, "screen -X stuff"))
                }
                "screen" | "exec" => {
                    let words = sub.get(1..)?;
                    let words: Vec<Word> = words
                        .iter()
                        .skip_while(|w| w.text.starts_with('-'))
                        .cloned()
                        .collect();
                    (!words.is_empty()).then(|| vec![inner_command(cmd, &words, "screen -X")])
                }
                _ => None,
            };
        }
        if !t.starts_with('-') {
            let words = &args[i..];
            return Some(vec![inner_command(cmd, words, "screen")]);
        }
        // Options taking a value, alone or at the end of a cluster (`-dmS name`).
        let takes = matches!(t, "-c" | "-e" | "-h" | "-p" | "-t" | "-T" | "-Logfile")
            || (t.len() > 2 && t.ends_with('S') && !t.starts_with("--"))
            || t == "-S";
        i += if takes { 2 } else { 1 };
    }
    None
}

/// `systemd-run [options] CMD…`: CMD runs as a transient service.
fn systemd_run(cmd: &Command, args: &[Word]) -> Option<Vec<Command>> {
    const VALUES: &[&str] = &[
        "-u",
        "--unit",
        "-p",
        "--property",
        "--description",
        "--slice",
        "-E",
        "--setenv",
        "--uid",
        "--gid",
        "--nice",
        "-H",
        "--host",
        "-M",
        "--machine",
        "--working-directory",
        "--on-active",
        "--on-boot",
        "--on-startup",
        "--on-unit-active",
        "--on-unit-inactive",
        "--on-calendar",
        "--timer-property",
        "--path-property",
        "--socket-property",
        "--service-type",
        "--slice-inherit",
        "--expand-environment",
    ];
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') {
            break;
        }
        i += if VALUES.contains(&t) { 2 } else { 1 };
    }
    let rest = args.get(i..).filter(|r| !r.is_empty())?;
    Some(vec![inner_command(cmd, rest, "systemd-run")])
}

/// The file `crontab FILE` installs (not `-l`, `-r`, `-e`, `-`).
pub(crate) fn crontab_file_arg(args: &[Word]) -> Option<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "-u" => i += 2,
            "-l" | "-r" | "-e" | "-i" | "-T" | "-" => return None,
            _ if t.starts_with('-') => i += 1,
            _ => return Some(t.to_string()),
        }
    }
    None
}

/// The commands of a crontab (five time fields or `@daily`, then the command; `%`
/// ends the command and starts its stdin), with their line numbers.
pub(crate) fn crontab_commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let first = l.split_whitespace().next().unwrap_or_default();
        if crate::posix::is_assignment(first) && !first.starts_with('@') {
            continue;
        }
        let fields = if first.starts_with('@') { 1 } else { 5 };
        let mut rest = l;
        for _ in 0..fields {
            rest = rest.trim_start();
            rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
        }
        let mut command = String::new();
        let mut chars = rest.trim().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'%') => {
                    command.push('%');
                    chars.next();
                }
                '%' => break,
                c => command.push(c),
            }
        }
        if !command.is_empty() {
            out.push((n + 1, command));
        }
    }
    out
}

/// An awk program given on the line: the first operand that is not an option, when
/// there is no `-f`.
fn awk_program(args: &[Word]) -> Option<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "--" => return args.get(i + 1).map(|w| w.text.clone()),
            "-f" | "--file" => return None,
            "-F" | "-v" | "--assign" | "--field-separator" | "-i" | "-l" | "-E" | "--include"
            | "--load" => i += 2,
            _ if t.starts_with("-f") || t.starts_with("--file=") => return None,
            _ if t.starts_with('-') && t.len() > 1 => i += 1,
            _ => return Some(t.to_string()),
        }
    }
    None
}

fn awk_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

/// The shell commands an awk program runs: `system("…")`, `"…" | getline`, a string
/// printed into `| "sh"`, and the command a `print … | "CMD"` pipes to.
pub(crate) fn awk_shell_strings(code: &str) -> Vec<(usize, String)> {
    static RES: OnceLock<[Regex; 4]> = OnceLock::new();
    let res = RES.get_or_init(|| {
        let s = r#""((?:[^"\\]|\\.)*)""#;
        [
            Regex::new(&format!(r"\bsystem\s*\(\s*{s}")).expect("literal pattern"),
            Regex::new(&format!(r"{s}\s*\|\s*getline")).expect("literal pattern"),
            Regex::new(&format!(
                r#"\bprintf?\s*\(?\s*{s}[^|;\n]*\|\s*"\s*(?:/bin/|/usr/bin/)?(?:ba|z|da|k)?sh(?:\s+-s)?\s*""#
            ))
            .expect("literal pattern"),
            Regex::new(&format!(r"\|\s*{s}")).expect("literal pattern"),
        ]
    });
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for (k, re) in res.iter().enumerate() {
        for c in re.captures_iter(code) {
            let Some(m) = c.get(1) else { continue };
            let text = awk_unescape(m.as_str());
            // `| "sh"` itself is not a command worth reading: the printed text is.
            if k == 3
                && Dialect::of_program(text.split_whitespace().next().unwrap_or_default()).is_some()
            {
                continue;
            }
            out.push((line_of(m.start()), text));
        }
    }
    out
}

/// The shell commands of vim's `-c`, `+`, `--cmd` ex commands: `!CMD`, `silent !CMD`,
/// `r !CMD`, `w !CMD`, `call system("CMD")`, `execute "!CMD"`.
fn vim_shell_strings(args: &[Word]) -> Vec<(usize, String)> {
    let mut cmds = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if matches!(t, "-c" | "--cmd") {
            if let Some(v) = args.get(i + 1) {
                cmds.push(v.text.clone());
            }
            i += 2;
            continue;
        }
        if let Some(ex) = t.strip_prefix('+').filter(|e| !e.is_empty()) {
            cmds.push(ex.to_string());
        }
        i += 1;
    }
    let mut out = Vec::new();
    for ex in cmds {
        out.extend(ex_shell_strings(&ex).into_iter().map(|s| (0, s)));
    }
    out
}

fn ex_shell_strings(ex: &str) -> Vec<String> {
    static SYSTEM: OnceLock<Regex> = OnceLock::new();
    let system = SYSTEM.get_or_init(|| {
        Regex::new(r#"\b(?:system|systemlist|jobstart|termopen)\s*\(\s*(?:\[\s*)?(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')"#)
            .expect("literal pattern")
    });
    let mut out: Vec<String> = system
        .captures_iter(ex)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().replace("''", "'")))
        .collect();
    // Ex commands are separated by `|`, except after `!`, which takes the rest.
    let mut rest = ex.trim();
    loop {
        let t = rest.trim_start_matches([':', ' ', '\t']);
        let t = t
            .strip_prefix("silent!")
            .or_else(|| t.strip_prefix("silent"))
            .map_or(t, str::trim_start);
        let t = ["execute", "exe"]
            .iter()
            .find_map(|k| t.strip_prefix(k))
            .map_or(t, |e| e.trim().trim_matches(['"', '\'']));
        let bang = if let Some(b) = t.strip_prefix('!') {
            Some(b)
        } else {
            ["read", "r", "write", "w"]
                .iter()
                .find_map(|k| t.strip_prefix(k))
                .and_then(|r| r.trim_start().strip_prefix('!'))
        };
        if let Some(b) = bang {
            out.push(b.trim().to_string());
            break;
        }
        match t.find('|') {
            Some(i) => rest = &t[i + 1..],
            None => break,
        }
    }
    out
}

/// The shell command of a gdb command: `shell CMD` or `!CMD`.
pub(crate) fn gdb_shell_command(line: &str) -> Option<String> {
    let t = line.trim();
    let rest = t
        .strip_prefix("shell ")
        .or_else(|| t.strip_prefix('!'))?
        .trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Tcl words of one command: `{…}` and `"…"` group, the rest splits at blanks.
fn tcl_words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = cmd.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut w = String::new();
        if c == '{' {
            chars.next();
            let mut depth = 1;
            for ch in chars.by_ref() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                w.push(ch);
            }
        } else if c == '"' {
            chars.next();
            while let Some(ch) = chars.next() {
                match ch {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('r' | 'n') => w.push('\n'),
                        Some('t') => w.push('\t'),
                        Some(o) => w.push(o),
                        None => {}
                    },
                    ch => w.push(ch),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                w.push(ch);
                chars.next();
            }
        }
        out.push(w);
    }
    out
}

/// Split Tcl at newlines and `;` outside braces and quotes.
fn tcl_commands(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quoted, mut line, mut start) = (0usize, false, 1usize, 1usize);
    let mut prev = ' ';
    for c in code.chars() {
        match c {
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth = depth.saturating_sub(1),
            '"' if prev != '\\' && depth == 0 => quoted = !quoted,
            _ => {}
        }
        if c == '\n' {
            line += 1;
        }
        if (c == '\n' || c == ';') && depth == 0 && !quoted {
            if !cur.trim().is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
            cur.clear();
            start = line;
        } else {
            cur.push(c);
        }
        prev = c;
    }
    if !cur.trim().is_empty() {
        out.push((start, cur));
    }
    out
}

/// What an expect script runs: `spawn CMD…`, `exec CMD…`, `system CMD`, and the lines
/// `send` types into a spawned shell.
pub(crate) fn expect_shell_strings(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut shell = false;
    for (line, c) in tcl_commands(code) {
        let words = tcl_words(&c);
        let Some(name) = words.first() else { continue };
        match name.as_str() {
            "spawn" | "exec" => {
                let rest: Vec<&String> = words[1..]
                    .iter()
                    .skip_while(|w| w.starts_with('-'))
                    .collect();
                if let Some(p) = rest.first() {
                    let p = program_name(p);
                    shell |= Dialect::of_program(&p).is_some() || p == "ssh";
                }
                let line_text = rest
                    .iter()
                    .map(|w| crate::command::display_word(w))
                    .collect::<Vec<_>>()
                    .join(" ");
                if !line_text.is_empty() {
                    out.push((line, line_text));
                }
            }
            "system" => out.push((line, words[1..].join(" "))),
            "send" if shell => {
                if let Some(text) = words.iter().skip(1).find(|w| !w.starts_with('-')) {
                    let complete: Vec<&str> = text.split('\n').collect();
                    let run = complete[..complete.len() - 1].join("\n");
                    if !run.trim().is_empty() {
                        out.push((line, run));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// git's options before the subcommand, the `-c NAME=VALUE` settings among them, and
/// where the subcommand is.
fn git_globals(args: &[Word]) -> (Vec<(String, String)>, Option<usize>, Option<String>) {
    let mut settings = Vec::new();
    let mut dir = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "-c" => {
                if let Some((k, v)) = args.get(i + 1).and_then(|w| w.text.split_once('=')) {
                    settings.push((k.to_ascii_lowercase(), v.to_string()));
                }
                i += 2;
            }
            "-C" => {
                dir = args.get(i + 1).map(|w| w.text.clone());
                i += 2;
            }
            "--git-dir" | "--work-tree" | "--namespace" | "--config-env" | "--exec-path"
            | "--super-prefix" | "--list-cmds" | "--attr-source" => i += 2,
            _ if t.starts_with('-') => i += 1,
            _ => return (settings, Some(i), dir),
        }
    }
    (settings, None, dir)
}

/// What `git ALIAS ARGS` runs when ALIAS is one of `aliases`: a `!` alias runs its
/// text in the shell with the arguments after it; another is a git command line.
fn expand_git_alias(
    cmd: &Command,
    args: &[Word],
    sub: usize,
    aliases: &[(String, String)],
    depth: usize,
    label_from: &str,
) -> Option<Vec<Command>> {
    let name = args.get(sub)?.text.to_ascii_lowercase();
    if GIT_BUILTINS.contains(&name.as_str()) {
        return None;
    }
    let value = aliases
        .iter()
        .rev()
        .find(|(k, _)| k.strip_prefix("alias.") == Some(name.as_str()))?
        .1
        .clone();
    let rest: Vec<String> = args[sub + 1..]
        .iter()
        .map(|w| crate::command::display_word(&w.text))
        .collect();
    let label = format!("git alias {name} ({label_from})");
    if let Some(shell) = value.strip_prefix('!') {
        let text = if rest.is_empty() {
            shell.to_string()
        } else {
            format!("{shell} {}", rest.join(" "))
        };
        return Some(reparse(cmd, &text, Dialect::Bash, depth, &label));
    }
    let before: Vec<String> = args[..sub]
        .iter()
        .map(|w| crate::command::display_word(&w.text))
        .collect();
    let text = format!("git {} {value} {}", before.join(" "), rest.join(" "));
    Some(reparse(cmd, &text, Dialect::Bash, depth, &label))
}

/// `git -c alias.X='!…' X`: an alias given on the line.
fn git_inline_alias(cmd: &Command, args: &[Word], depth: usize) -> Option<Vec<Command>> {
    let (settings, sub, _) = git_globals(args);
    let sub = sub?;
    if !settings.iter().any(|(k, _)| k.starts_with("alias.")) {
        return None;
    }
    // The alias itself is not passed on, or the expansion would recurse forever.
    let kept: Vec<Word> = strip_alias_settings(&args[..sub]);
    let mut all = kept.clone();
    all.extend_from_slice(&args[sub..]);
    expand_git_alias(cmd, &all, kept.len(), &settings, depth, "git -c")
}

fn strip_alias_settings(globals: &[Word]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = globals.get(i) {
        if a.text == "-c"
            && globals
                .get(i + 1)
                .is_some_and(|v| v.text.to_ascii_lowercase().starts_with("alias."))
        {
            i += 2;
            continue;
        }
        out.push(a.clone());
        i += 1;
    }
    out
}

/// `git X` where X is an alias in the repository's `.git/config` or the global
/// configuration (`~/.gitconfig`, `~/.config/git/config`).
pub(crate) fn git_config_alias(
    cmd: &Command,
    ctx: &crate::engine::Context,
    seen: &mut crate::scripts::Seen,
) -> Vec<Command> {
    let args = cmd.args();
    let (_, Some(sub), dir) = git_globals(args) else {
        return Vec::new();
    };
    let name = args[sub].text.to_ascii_lowercase();
    if GIT_BUILTINS.contains(&name.as_str()) || name.contains(['/', '$']) {
        return Vec::new();
    }
    let base = crate::scripts::dir_of(cmd, ctx);
    let start = match dir {
        Some(d) => crate::scripts::resolve(&d, base.as_deref(), ctx),
        None => base,
    };
    let mut files = Vec::new();
    if let Some(home) = ctx.home {
        let home = home.trim_end_matches('/');
        files.push(format!("{home}/.gitconfig"));
        files.push(format!("{home}/.config/git/config"));
    }
    if let Some(config) = start.as_deref().and_then(|d| repo_config(d, ctx)) {
        files.push(config);
    }
    let mut aliases = Vec::new();
    for f in &files {
        if let crate::engine::FileText::Text(t) =
            ctx.files.read_text(f, crate::scripts::MAX_SCRIPT_FILE)
        {
            aliases.extend(git_config_aliases(&t));
        }
    }
    let _ = seen;
    if aliases.is_empty() {
        return Vec::new();
    }
    expand_git_alias(cmd, args, sub, &aliases, 0, "git config")
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            c.origin = crate::command::Origin::File(format!("git {name}"));
            c
        })
        .collect()
}

/// The config file of the repository at or above `dir`: `.git/config`, or through a
/// worktree's `.git` file (`gitdir: …`, and that directory's `commondir`).
fn repo_config(dir: &str, ctx: &crate::engine::Context) -> Option<String> {
    use crate::engine::FileText;
    let mut d = crate::engine::fold_dots(dir);
    for _ in 0..64 {
        let dotgit = format!("{}/.git", d.trim_end_matches('/'));
        match ctx
            .files
            .read_text(&format!("{dotgit}/config"), crate::scripts::MAX_SCRIPT_FILE)
        {
            FileText::Missing => {}
            _ => return Some(format!("{dotgit}/config")),
        }
        if let FileText::Text(t) = ctx.files.read_text(&dotgit, 4096) {
            let gitdir = t.trim().strip_prefix("gitdir:")?.trim().to_string();
            let gitdir = if gitdir.starts_with('/') {
                gitdir
            } else {
                crate::engine::fold_dots(&format!("{d}/{gitdir}"))
            };
            let common = match ctx.files.read_text(&format!("{gitdir}/commondir"), 4096) {
                FileText::Text(c) if c.trim().starts_with('/') => c.trim().to_string(),
                FileText::Text(c) => crate::engine::fold_dots(&format!("{gitdir}/{}", c.trim())),
                _ => gitdir,
            };
            return Some(format!("{common}/config"));
        }
        if d == "/" || d.is_empty() {
            return None;
        }
        d = match d.trim_end_matches('/').rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => d[..i].to_string(),
            None => return None,
        };
    }
    None
}

/// The `[alias]` entries of a git config file, as `("alias.NAME", VALUE)`: section
/// headers, `;`/`#` comments, quoted values with `\"` `\\` `\n` `\t` escapes, and
/// `\` line continuations. `[include]` and `[includeIf]` are not followed.
pub(crate) fn git_config_aliases(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_alias = false;
    let mut lines = text.lines();
    while let Some(raw) = lines.next() {
        let mut line = raw.to_string();
        while line.ends_with('\\') && !line.ends_with("\\\\") {
            line.pop();
            match lines.next() {
                Some(n) => line.push_str(n),
                None => break,
            }
        }
        let t = line.trim();
        if t.starts_with('[') {
            let header = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default();
            in_alias = header.trim().eq_ignore_ascii_case("alias");
            continue;
        }
        if !in_alias || t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let mut value = String::new();
        let mut quoted = false;
        let mut chars = v.trim().chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(o) => value.push(o),
                    None => {}
                },
                '#' | ';' if !quoted => break,
                c => value.push(c),
            }
        }
        out.push((
            format!("alias.{}", k.trim().to_ascii_lowercase()),
            value.trim_end().to_string(),
        ));
    }
    out
}

/// git's own commands: an alias of the same name is ignored by git.
const GIT_BUILTINS: &[&str] = &[
    "add",
    "am",
    "annotate",
    "apply",
    "archive",
    "bisect",
    "blame",
    "branch",
    "bundle",
    "cat-file",
    "check-attr",
    "check-ignore",
    "check-mailmap",
    "check-ref-format",
    "checkout",
    "checkout-index",
    "cherry",
    "cherry-pick",
    "citool",
    "clean",
    "clone",
    "column",
    "commit",
    "commit-graph",
    "commit-tree",
    "config",
    "count-objects",
    "credential",
    "daemon",
    "describe",
    "diff",
    "diff-files",
    "diff-index",
    "diff-tree",
    "difftool",
    "fast-export",
    "fast-import",
    "fetch",
    "fetch-pack",
    "filter-branch",
    "fmt-merge-msg",
    "for-each-ref",
    "for-each-repo",
    "format-patch",
    "fsck",
    "gc",
    "get-tar-commit-id",
    "grep",
    "gui",
    "hash-object",
    "help",
    "hook",
    "http-backend",
    "index-pack",
    "init",
    "instaweb",
    "interpret-trailers",
    "log",
    "ls-files",
    "ls-remote",
    "ls-tree",
    "mailinfo",
    "mailsplit",
    "maintenance",
    "merge",
    "merge-base",
    "merge-file",
    "merge-index",
    "merge-tree",
    "mergetool",
    "mktag",
    "mktree",
    "multi-pack-index",
    "mv",
    "name-rev",
    "notes",
    "pack-objects",
    "pack-redundant",
    "pack-refs",
    "patch-id",
    "prune",
    "prune-packed",
    "pull",
    "push",
    "range-diff",
    "read-tree",
    "rebase",
    "reflog",
    "remote",
    "repack",
    "replace",
    "request-pull",
    "rerere",
    "reset",
    "restore",
    "rev-list",
    "rev-parse",
    "revert",
    "rm",
    "send-email",
    "send-pack",
    "shortlog",
    "show",
    "show-branch",
    "show-index",
    "show-ref",
    "sparse-checkout",
    "stage",
    "stash",
    "status",
    "stripspace",
    "submodule",
    "switch",
    "symbolic-ref",
    "tag",
    "unpack-file",
    "unpack-objects",
    "update-index",
    "update-ref",
    "update-server-info",
    "var",
    "verify-commit",
    "verify-pack",
    "verify-tag",
    "version",
    "whatchanged",
    "worktree",
    "write-tree",
    "lfs",
];

/// `docker|podman run [opts] IMAGE CMD…` and `exec [opts] CONTAINER CMD…`: the
/// command inside, with the bind mounts (`-v SRC:DST`, `--mount type=bind,…`) and the
/// working directory (`-w`) that map its paths back to the host's.
fn container(cmd: &Command, program: &str, args: &[Word]) -> Option<Vec<Command>> {
    // Global options before the subcommand (`docker --context x run`, `-H host`).
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if !t.starts_with('-') {
            break;
        }
        i += if matches!(
            t,
            "-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level"
        ) {
            2
        } else {
            1
        };
    }
    let mut sub = args.get(i)?.text.as_str();
    if sub == "container" {
        i += 1;
        sub = args.get(i)?.text.as_str();
    }
    if sub == "compose" {
        return compose(cmd, &format!("{program} compose"), &args[i + 1..]);
    }
    let run = match sub {
        "run" | "create" => true,
        "exec" => false,
        _ => return None,
    };
    let label = format!("{program} {sub}");
    run_in_container(cmd, &label, &args[i + 1..], run, program)
}

/// `docker compose run|exec SERVICE CMD…`: the service's mounts are in the compose
/// file, not on the line, so paths are as the container sees them (plus any `-v`).
fn compose(cmd: &Command, program: &str, args: &[Word]) -> Option<Vec<Command>> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if !t.starts_with('-') {
            break;
        }
        i += if matches!(
            t,
            "-f" | "--file"
                | "-p"
                | "--project-name"
                | "--profile"
                | "--env-file"
                | "--project-directory"
        ) {
            2
        } else {
            1
        };
    }
    let sub = args.get(i)?.text.as_str();
    if !matches!(sub, "run" | "exec") {
        return None;
    }
    run_in_container(
        cmd,
        &format!("{program} {sub}"),
        &args[i + 1..],
        sub == "run",
        "docker",
    )
}

fn run_in_container(
    cmd: &Command,
    label: &str,
    args: &[Word],
    run: bool,
    engine: &str,
) -> Option<Vec<Command>> {
    const FLAGS: &[&str] = &[
        "-d",
        "--detach",
        "-i",
        "--interactive",
        "-t",
        "--tty",
        "--rm",
        "--privileged",
        "--init",
        "-P",
        "--publish-all",
        "--read-only",
        "--no-healthcheck",
        "--oom-kill-disable",
        "-q",
        "--quiet",
        "--sig-proxy",
        "--help",
        "--no-deps",
        "--service-ports",
        "-T",
        "--use-aliases",
        "--remove-orphans",
        "--build",
        "--replace",
        "--tls-verify",
    ];
    let mut mounts: Vec<(String, String)> = Vec::new();
    let mut workdir: Option<String> = None;
    let mut entrypoint: Option<Word> = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let (name, glued) = match t.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ if t.len() > 2
                && !t.starts_with("--")
                && matches!(&t[..2], "-v" | "-w" | "-e" | "-u") =>
            {
                (&t[..2], Some(t[2..].to_string()))
            }
            _ => (t, None),
        };
        let is_flag = FLAGS.contains(&name)
            || (!name.starts_with("--") && name.len() > 2 && glued.is_none())
            || (name.starts_with("--") && glued.is_some() && FLAGS.contains(&name));
        let value = if is_flag {
            i += 1;
            None
        } else if let Some(v) = glued {
            i += 1;
            Some(v)
        } else {
            i += 2;
            args.get(i - 1).map(|w| w.text.clone())
        };
        let Some(value) = value else { continue };
        match name {
            "-v" | "--volume" => {
                let parts: Vec<&str> = value.splitn(3, ':').collect();
                if parts.len() >= 2 {
                    mounts.push((parts[1].to_string(), host_source(parts[0], engine)));
                }
            }
            "--mount" => {
                let mut src = None;
                let mut dst = None;
                for kv in value.split(',') {
                    match kv.split_once('=') {
                        Some(("source" | "src", v)) => src = Some(v.to_string()),
                        Some(("target" | "dst" | "destination", v)) => dst = Some(v.to_string()),
                        _ => {}
                    }
                }
                if let (Some(s), Some(d)) = (src, dst) {
                    mounts.push((d, host_source(&s, engine)));
                }
            }
            "-w" | "--workdir" => workdir = Some(value),
            "--entrypoint" => entrypoint = Some(Word::literal(value)),
            _ => {}
        }
    }
    // The image (run) or the container (exec), then the command.
    let rest = args.get(i + 1..).unwrap_or(&[]);
    let mut words: Vec<Word> = entrypoint.into_iter().collect();
    words.extend_from_slice(rest);
    if words.is_empty() {
        return None;
    }
    let _ = run;
    mounts.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
    let mut inner = inner_command(cmd, &words, label);
    inner.redirects.clear();
    inner.cwd = match workdir {
        Some(w) if w.starts_with('/') => WorkDir::Known(w),
        _ => WorkDir::Unknown,
    };
    inner.container = Some(Box::new(Container {
        label: label.to_string(),
        mounts,
        host_cwd: cmd.cwd.clone(),
    }));
    Some(vec![inner])
}

/// A mount's host side as a path the engine resolves: `$PWD`, `$(pwd)` and `.` mean
/// where the container was started; a name without a slash is a named volume.
fn host_source(src: &str, engine: &str) -> String {
    for pwd in ["$PWD", "${PWD}", "$(...)", "`...`", "."] {
        if src == pwd {
            return ".".into();
        }
        if let Some(rest) = src.strip_prefix(pwd).and_then(|r| r.strip_prefix('/')) {
            return format!("./{rest}");
        }
    }
    if !src.contains('/') && !src.starts_with(['~', '$', '.']) {
        // Where the engine keeps a named volume's data on a Linux host.
        return if engine == "podman" {
            format!("/var/lib/containers/storage/volumes/{src}/_data")
        } else {
            format!("/var/lib/docker/volumes/{src}/_data")
        };
    }
    src.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crontab_lines() {
        let t = "# m h dom mon dow command\nMAILTO=a@b\n*/5 * * * * rm -rf /srv/data\n@daily cd /x && rm -f y % input\n";
        assert_eq!(
            crontab_commands(t),
            vec![
                (3, "rm -rf /srv/data".to_string()),
                (4, "cd /x && rm -f y ".to_string())
            ]
        );
    }

    #[test]
    fn awk_strings() {
        let s: Vec<String> = awk_shell_strings(
            r#"BEGIN { system("rm -rf data"); print "rm -rf x" | "sh"; "ls" | getline }"#,
        )
        .into_iter()
        .map(|(_, s)| s)
        .collect();
        assert!(s.contains(&"rm -rf data".to_string()), "{s:?}");
        assert!(s.contains(&"rm -rf x".to_string()), "{s:?}");
        assert!(s.contains(&"ls".to_string()), "{s:?}");
        assert!(!s.contains(&"sh".to_string()), "{s:?}");
    }

    #[test]
    fn vim_ex_commands() {
        assert_eq!(ex_shell_strings("!rm -rf data"), vec!["rm -rf data"]);
        assert_eq!(
            ex_shell_strings(":silent !rm -rf data | q"),
            vec!["rm -rf data | q"]
        );
        assert_eq!(ex_shell_strings("set nu | r !ls"), vec!["ls"]);
        assert_eq!(
            ex_shell_strings("call system('rm -rf x')"),
            vec!["rm -rf x"]
        );
        assert!(ex_shell_strings("wq").is_empty());
    }

    #[test]
    fn expect_spawn_and_send() {
        let s = expect_shell_strings("spawn bash; send \"rm -rf data\\r\"; expect eof");
        let texts: Vec<&str> = s.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, vec!["bash", "rm -rf data"]);
        let s = expect_shell_strings("spawn -noecho rm -rf {my data}");
        assert_eq!(s[0].1, "rm -rf 'my data'");
    }

    #[test]
    fn git_config_files() {
        let t = "[core]\n\tbare = false\n[alias]\n\tnuke = \"!rm -rf data\" # gone\n\tco = checkout\n[Alias]\n\tx = !f() { rm -rf \"$1\"; }; f\n";
        assert_eq!(
            git_config_aliases(t),
            vec![
                ("alias.nuke".into(), "!rm -rf data".into()),
                ("alias.co".into(), "checkout".into()),
                ("alias.x".into(), "!f() { rm -rf $1".into()),
            ]
        );
    }

    #[test]
    fn mount_sources() {
        assert_eq!(host_source("$PWD", "docker"), ".");
        assert_eq!(host_source("$PWD/data", "docker"), "./data");
        assert_eq!(host_source("/srv", "docker"), "/srv");
        assert_eq!(
            host_source("pgdata", "docker"),
            "/var/lib/docker/volumes/pgdata/_data"
        );
    }
}
