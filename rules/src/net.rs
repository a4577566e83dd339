//! The general net: a string argument of any program, known or not, that reads as a
//! command line running a command a rule names is examined as one (`xterm -e 'rm -rf
//! data'`, `sg staff -c "rm -rf data"`, `lxc exec box -- rm -rf /data`). The program
//! may only print or store the string, so a finding made this way requires at most
//! what the rule [`RULE`] says (`approval` by default); policy can change that, or
//! turn the net off by disabling the rule.

use backstop_policies::sections_for;

use crate::command::{display_word, Command, Origin, Word};
use crate::dialect::Dialect;
use crate::unwrap::program_name;

/// The rule whose `requires` caps what a command found in an argument requires.
pub const RULE: &str = "indirect.argument-command";

/// The program its rule names, so it is parsed with the packs like any other.
pub const PROGRAM: &str = "backstop-argument-command";

/// Programs whose string arguments are text, not commands: printing, searching,
/// documenting, storing. A command line in their arguments does not run.
const TEXT_PROGRAMS: &[&str] = &[
    "echo",
    "printf",
    "print",
    "print-output",
    "write-output",
    "write-host",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "rg",
    "ag",
    "ack",
    "sed",
    "man",
    "info",
    "tldr",
    "help",
    "whatis",
    "apropos",
    "which",
    "type",
    "whereis",
    "history",
    "fc",
    "complete",
    "compgen",
    "bind",
    "read",
    "logger",
    "wall",
    "write",
    "notify-send",
    "say",
    "espeak",
    "cowsay",
    "figlet",
    "toilet",
    "lolcat",
    "jq",
    "yq",
    "test",
    "[",
    "[[",
    "expr",
    "let",
    "declare",
    "local",
    "export",
    "readonly",
    "typeset",
    "set",
    "unset",
    "git",
    "gh",
    "glab",
    "hub",
    "mail",
    "mailx",
    "mutt",
    "sendmail",
    "curl",
    "wget",
    "http",
    "xh",
    "alias",
    "abbr",
    "function",
    "functions",
    "cd",
    "pushd",
    "ls",
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "tee",
    "wc",
    "sort",
    "uniq",
    "tr",
    "cut",
    "column",
    "fold",
    "fmt",
    "nl",
    "rev",
    "xxd",
    "od",
    "hexdump",
    "base64",
    "md5sum",
    "sha256sum",
    "openssl",
    "gpg",
    "age",
    "diff",
    "cmp",
    "comm",
    "strings",
    "shellcheck",
    "shfmt",
    "explainshell",
    "batcat",
    "bat",
    "glow",
    "pandoc",
    "fzf",
    "dialog",
    "whiptail",
    "zenity",
    "yad",
    "osascript",
    "pbcopy",
    "xclip",
    "xsel",
    "wl-copy",
    "clip",
    "set-clipboard",
    "out-file",
    "set-content",
    "add-content",
    "select-string",
    "find",
    "locate",
    "mlocate",
    "fd",
    "fdfind",
    "touch",
    "mkdir",
    "date",
    "sleep",
    "true",
    "false",
    "exit",
    "return",
    "trap",
    "kill",
    "pkill",
    "killall",
    "pgrep",
    "ps",
    "nohup",
];

/// Options whose value is a message, a title, a pattern or data: never a command.
const TEXT_OPTIONS: &[&str] = &[
    "-m",
    "--message",
    "-M",
    "--title",
    "--body",
    "--description",
    "--desc",
    "--subject",
    "--comment",
    "--note",
    "--notes",
    "--summary",
    "--reason",
    "--msg",
    "--text",
    "--label",
    "--name",
    "-d",
    "--data",
    "--data-raw",
    "--grep",
    "-S",
    "-G",
    "--pattern",
    "--regexp",
    "--query",
    "-q",
    "--output",
    "-o",
    "--prompt",
    "-p",
    "--help-text",
];

/// Commands read out of `cmd`'s arguments: a quoted argument holding a command line,
/// and the words after `--`, when what they run is a program some rule names. (Not
/// the bare words after a program: `brew rm x`, `dnf rm x`, `ollama rm x` name
/// subcommands, and reading them as `rm` flagged dozens of the corpora's lines.)
pub(crate) fn argument_commands(cmd: &Command, program: &str) -> Vec<Command> {
    if program.is_empty() || TEXT_PROGRAMS.contains(&program) || program.starts_with("backstop-") {
        return Vec::new();
    }
    let args = cmd.args();
    // Cheap first: only arguments holding a blank, or a `--` with words after it.
    let has_string = args.iter().any(|a| a.text.contains(char::is_whitespace));
    let dashdash = args.iter().position(|a| a.text == "--" && !a.quoted);
    if !has_string && dashdash.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if Some(i) == dashdash {
            let rest: &[Word] = &args[i + 1..];
            let text = rest
                .iter()
                .map(|w| display_word(&w.text))
                .collect::<Vec<_>>()
                .join(" ");
            out.extend(read_as_command(cmd, program, &text));
            break;
        }
        let t = a.text.as_str();
        if !a.quoted && t.starts_with('-') {
            let name = t.split('=').next().unwrap_or(t);
            if TEXT_OPTIONS.contains(&name) {
                i += if t.contains('=') { 1 } else { 2 };
                continue;
            }
        }
        if t.contains(char::is_whitespace) && !a.expansion {
            out.extend(read_as_command(cmd, program, t));
        }
        i += 1;
    }
    out
}

/// Whether a built-in pack has rules or specs for `program` — not counting SQL
/// keywords (`DELETE`, `DROP`): a statement pasted at a prompt is a command, but in
/// another program's argument it is text (and a SQL client's is read as SQL).
fn names_a_rule(program: &str) -> bool {
    sections_for(program).iter().any(|(pack, _)| {
        backstop_policies::PACKS
            .get(usize::from(*pack))
            .is_some_and(|p| p.name != "pasted-sql")
    })
}

/// `text` as bash, kept only when it parses whole and what it runs (past wrappers)
/// is a program a rule names.
fn read_as_command(outer: &Command, program: &str, text: &str) -> Vec<Command> {
    let script = Dialect::Bash.parse(text);
    if script.incomplete || script.commands.is_empty() {
        return Vec::new();
    }
    let names_a_rule = script.commands.iter().any(|c| {
        crate::unwrap::peel(c.clone(), Dialect::Bash, 0)
            .iter()
            .any(|p| {
                let prog = program_name(p.program().unwrap_or_default());
                !prog.is_empty() && !TEXT_PROGRAMS.contains(&prog.as_str()) && names_a_rule(&prog)
            })
    });
    if !names_a_rule {
        return Vec::new();
    }
    script
        .commands
        .into_iter()
        .map(|mut c| {
            c.origin = Origin::Argument(program.to_string());
            c.via = outer.via.clone();
            c.via.push(format!("{program} (argument)"));
            c.cwd = outer.cwd.clone();
            c.file = outer.file.clone();
            c.container = outer.container.clone();
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(line: &str) -> Vec<String> {
        let c = Dialect::Bash.parse(line).commands.remove(0);
        let p = program_name(c.program().unwrap_or_default());
        argument_commands(&c, &p)
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn command_lines_in_arguments() {
        assert_eq!(found("xterm -e 'rm -rf data'"), vec!["rm -rf data"]);
        assert_eq!(found("lxc exec box -- rm -rf /data"), vec!["rm -rf /data"]);
        assert_eq!(
            found("sg staff -c 'sudo rm -rf /srv'"),
            vec!["sudo rm -rf /srv"]
        );
        assert!(found("echo 'rm -rf data'").is_empty());
        assert!(found("git commit -m 'rm -rf the old build'").is_empty());
        assert!(found("mytool --title 'rm -rf data' go").is_empty());
        assert!(found("notes add 'buy milk and bread'").is_empty());
        assert_eq!(found("entr -s 'rm -rf data'"), vec!["rm -rf data"]);
        assert!(found("brew rm formula").is_empty());
        assert!(found("sudo dnf rm package").is_empty());
        assert!(found("oneliner -e 'delete node_modules recursively'").is_empty());
    }
}
