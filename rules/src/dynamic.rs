//! Commands a line builds as it runs, where the line itself says what they are:
//! literal assignments (`x=rm; $x -rf data`, `cmd="rm -rf data"; $cmd` with bash's
//! word splitting, fish's `set x rm -rf data`), `alias X='…'; X`, a script's
//! positional parameters (`./x.sh data` makes `$1` `data`), and literal base64
//! decoded into a shell (`echo cm0g… | base64 -d | sh`, `eval "$(… | base64 -d)"`).
//! What cannot be known (`eval "$(curl …)"`, `curl … | sh`) is marked as code
//! downloaded at run time.

use std::collections::HashMap;

use base64::Engine as _;

use crate::command::{Command, Origin, Stdin, Word};
use crate::dialect::Dialect;
use crate::unwrap::program_name;

/// Programs that fetch what a shell or `eval` then runs.
pub(crate) const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "fetch",
    "aria2c",
    "http",
    "https",
    "xh",
    "lwp-request",
    "get",
    "invoke-webrequest",
    "invoke-restmethod",
    "iwr",
    "irm",
];

/// Whether any of the command substitutions' texts downloads something.
pub(crate) fn downloads(subst: &[String], dialect: Dialect) -> bool {
    subst.iter().any(|s| {
        let d = if dialect.is_posix_family() {
            dialect
        } else {
            Dialect::Bash
        };
        d.parse(s).commands.iter().any(|c| {
            c.words
                .first()
                .is_some_and(|w| DOWNLOADERS.contains(&program_name(&w.text).as_str()))
        })
    })
}

/// Decode base64 as `base64 -d` does: whitespace ignored, padding optional.
pub(crate) fn decode_base64(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines.iter().find_map(|e| {
        e.decode(compact.trim_end_matches('=').as_bytes())
            .ok()
            .or_else(|| e.decode(compact.as_bytes()).ok())
    })?;
    String::from_utf8(bytes).ok()
}

/// Whether `cmd` decodes base64 (`base64 -d`, `base64 --decode`, macOS `-D`,
/// `openssl base64 -d`, `openssl enc -base64 -d`).
pub(crate) fn is_base64_decoder(cmd: &Command) -> bool {
    let prog = program_name(cmd.program().unwrap_or_default());
    let args: Vec<&str> = cmd.args().iter().map(|w| w.text.as_str()).collect();
    let decode = args.iter().any(|a| {
        matches!(*a, "-d" | "--decode" | "-D")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('d') && prog == "base64")
    });
    match prog.as_str() {
        "base64" | "gbase64" => decode,
        "openssl" => {
            args.iter()
                .any(|a| matches!(*a, "base64" | "-base64" | "-a"))
                && decode
        }
        _ => false,
    }
}

/// What a command substitution prints when the line says (`$(echo …)`,
/// `$(echo … | base64 -d)`, `$(printf …)`).
pub(crate) fn literal_output(text: &str, dialect: Dialect) -> Option<String> {
    let d = if dialect.is_posix_family() {
        dialect
    } else {
        Dialect::Bash
    };
    let mut script = d.parse(text);
    if script.incomplete || script.commands.is_empty() {
        return None;
    }
    crate::engine::resolve_piped_stdin(&mut script.commands, d);
    // The last command of the last pipeline prints what the substitution yields.
    let last = script.commands.last()?;
    if script.commands.iter().any(|c| c.origin != Origin::Line) {
        return None;
    }
    if is_base64_decoder(last) {
        return match &last.stdin {
            Stdin::Text(t) => decode_base64(t),
            _ => None,
        };
    }
    crate::engine::printed_text(last)
}

/// Values of variables the line has set so far.
#[derive(Debug, Default)]
struct Vars {
    /// name → its words (one for a scalar; a fish list or `$@` has several).
    values: HashMap<String, Vec<String>>,
    aliases: HashMap<String, String>,
}

/// Follow literal assignments and aliases through `commands` in the order they run,
/// replacing `$NAME` in later commands with what the line set it to; `args` are the
/// positional parameters (`$1`, `$@`) of a script.
pub(crate) fn follow(commands: &mut Vec<Command>, dialect: Dialect, args: &[Word]) {
    let mut vars = Vars::default();
    for (i, a) in args.iter().enumerate() {
        vars.values
            .insert((i + 1).to_string(), vec![a.text.clone()]);
    }
    if !args.is_empty() {
        let all: Vec<String> = args.iter().map(|w| w.text.clone()).collect();
        vars.values.insert("@".into(), all.clone());
        vars.values.insert("*".into(), vec![all.join(" ")]);
    }
    // Nothing to follow: the common case costs one scan.
    let assigns = commands.iter().any(|c| {
        !c.assignments.is_empty() && c.words.is_empty()
            || c.words.first().is_some_and(|w| {
                matches!(
                    w.text.as_str(),
                    "export" | "local" | "declare" | "typeset" | "readonly" | "set" | "alias"
                )
            })
    });
    if !assigns && args.is_empty() {
        return;
    }
    // In place: commands are large, and a script has thousands.
    let mut aliased: Vec<(usize, Vec<Command>)> = Vec::new();
    for (i, c) in commands.iter_mut().enumerate() {
        if !matches!(c.origin, Origin::Line | Origin::NestedShell(_)) {
            continue;
        }
        substitute(c, &vars, dialect);
        record(c, &mut vars, dialect);
        if let Some(expanded) = expand_alias(c, &vars, dialect) {
            aliased.push((i, expanded));
        }
    }
    for (i, expanded) in aliased.into_iter().rev() {
        commands.splice(i..=i, expanded);
    }
}

/// Remember what `c` assigns: `x=v` alone, `export x=v`, fish `set [-gx] x v…`,
/// `alias x='…'`; `unset x` forgets.
fn record(c: &Command, vars: &mut Vars, dialect: Dialect) {
    let literal = |w: &Word| !w.expansion && !w.glob;
    if c.words.is_empty() {
        for a in &c.assignments {
            if let Some((k, v)) = a.split_once('=') {
                if !v.contains(['$', '`']) {
                    vars.values
                        .insert(k.trim_end_matches('+').to_string(), vec![v.to_string()]);
                } else {
                    vars.values.remove(k);
                }
            }
        }
        return;
    }
    let prog = c.words[0].text.as_str();
    let args = c.args();
    match prog {
        "export" | "local" | "declare" | "typeset" | "readonly" if dialect != Dialect::Fish => {
            for w in args.iter().filter(|w| !w.text.starts_with('-')) {
                if let Some((k, v)) = w.text.split_once('=') {
                    if literal(w) && crate::posix::is_assignment(&w.text) {
                        vars.values.insert(k.to_string(), vec![v.to_string()]);
                    } else {
                        vars.values.remove(k);
                    }
                }
            }
        }
        "set" if dialect == Dialect::Fish => {
            let rest: Vec<&Word> = args
                .iter()
                .skip_while(|w| w.text.starts_with('-'))
                .collect();
            if let Some((name, values)) = rest.split_first() {
                if values.iter().all(|w| literal(w)) {
                    vars.values.insert(
                        name.text.clone(),
                        values.iter().map(|w| w.text.clone()).collect(),
                    );
                } else {
                    vars.values.remove(&name.text);
                }
            }
        }
        "unset" => {
            for w in args {
                vars.values.remove(&w.text);
            }
        }
        "alias" => {
            // bash/zsh `alias x='…' y='…'`; fish `alias x '…'` or `alias x='…'`.
            if dialect == Dialect::Fish && args.len() == 2 && !args[0].text.contains('=') {
                vars.aliases
                    .insert(args[0].text.clone(), args[1].text.clone());
                return;
            }
            for w in args {
                if let Some((k, v)) = w.text.split_once('=') {
                    vars.aliases.insert(k.to_string(), v.to_string());
                }
            }
        }
        "unalias" => {
            for w in args {
                vars.aliases.remove(&w.text);
            }
        }
        _ => {}
    }
}

/// `X args` where X is an alias the line defined: the alias text with the arguments.
fn expand_alias(c: &Command, vars: &Vars, dialect: Dialect) -> Option<Vec<Command>> {
    let first = c.words.first()?;
    if first.quoted || first.expansion {
        return None;
    }
    let value = vars.aliases.get(&first.text)?;
    let rest: Vec<String> = c
        .args()
        .iter()
        .map(|w| crate::command::display_word(&w.text))
        .collect();
    let text = format!("{value} {}", rest.join(" "));
    let d = if dialect.is_posix_family() {
        dialect
    } else {
        Dialect::Bash
    };
    let script = d.parse(&text);
    let label = format!("alias {}", first.text);
    Some(
        script
            .commands
            .into_iter()
            .map(|mut n| {
                n.via = c.via.clone();
                n.via.push(label.clone());
                n.origin = Origin::NestedShell(label.clone());
                n.cwd = c.cwd.clone();
                n.stdin = c.stdin.clone();
                n.redirects.extend(c.redirects.iter().cloned());
                n.line = c.line;
                n
            })
            .collect(),
    )
}

/// Replace `$NAME` and `${NAME}` in `c`'s words with the values the line set.
fn substitute(c: &mut Command, vars: &Vars, dialect: Dialect) {
    if vars.values.is_empty() || !c.words.iter().any(|w| w.expansion) {
        return;
    }
    let mut out = Vec::with_capacity(c.words.len());
    for w in std::mem::take(&mut c.words) {
        if !w.expansion || !w.text.contains('$') || !w.subst.is_empty() {
            out.push(w);
            continue;
        }
        // A word that is one variable, unquoted: bash splits its value at blanks; zsh
        // only with `${=x}`; fish gives each list element as a word.
        let whole = whole_variable(&w.text);
        if let Some((name, split_marked)) = whole {
            if let Some(values) = vars.values.get(name) {
                let split = !w.quoted
                    && match dialect {
                        Dialect::Zsh => split_marked,
                        _ => true,
                    };
                if dialect == Dialect::Fish || values.len() > 1 {
                    out.extend(values.iter().map(|v| Word::literal(v.clone())));
                } else if split {
                    out.extend(
                        values
                            .iter()
                            .flat_map(|v| v.split_whitespace())
                            .map(Word::literal),
                    );
                } else {
                    out.push(Word {
                        text: values.join(" "),
                        quoted: w.quoted,
                        ..Word::default()
                    });
                }
                continue;
            }
        }
        let (text, all_known) = replace_vars(&w.text, vars);
        out.push(Word {
            expansion: !all_known,
            text,
            ..w
        });
    }
    c.words = out;
}

/// `$x`, `${x}`, `${=x}` (zsh's split): the name, and whether splitting was asked for.
fn whole_variable(text: &str) -> Option<(&str, bool)> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && (n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || n == "@" || n == "*")
    };
    if let Some(n) = text.strip_prefix("${=").and_then(|r| r.strip_suffix('}')) {
        return name_ok(n).then_some((n, true));
    }
    if let Some(n) = text.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return name_ok(n).then_some((n, false));
    }
    let n = text.strip_prefix('$')?;
    name_ok(n).then_some((n, false))
}

/// Replace the known variables inside a longer word; whether every `$` was resolved.
fn replace_vars(text: &str, vars: &Vars) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut all = true;
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(e) => (&b[..e], e + 2),
                None => ("", 0),
            }
        } else {
            let e = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let e = if after.starts_with(|c: char| c.is_ascii_digit()) {
                1
            } else {
                e
            };
            (&after[..e], e)
        };
        match vars.values.get(name).filter(|_| len > 0) {
            Some(v) => {
                out.push_str(&v.join(" "));
                rest = &after[len..];
            }
            None => {
                all = false;
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str, d: Dialect) -> Vec<String> {
        let mut s = d.parse(line).commands;
        follow(&mut s, d, &[]);
        s.iter()
            .filter(|c| !c.words.is_empty())
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn literal_assignments_are_followed() {
        assert_eq!(run("x=rm; $x -rf data", Dialect::Bash), vec!["rm -rf data"]);
        assert_eq!(
            run("cmd=\"rm -rf data\"; $cmd", Dialect::Bash),
            vec!["rm -rf data"]
        );
        // zsh does not split an unquoted variable, unless asked with ${=x}.
        assert_eq!(
            run("cmd=\"rm -rf data\"; $cmd", Dialect::Zsh),
            vec!["'rm -rf data'"]
        );
        assert_eq!(
            run("cmd=\"rm -rf data\"; ${=cmd}", Dialect::Zsh),
            vec!["rm -rf data"]
        );
        assert_eq!(
            run("set x rm -rf data; $x", Dialect::Fish),
            vec!["set x rm -rf data", "rm -rf data"]
        );
        assert_eq!(
            run("export D=data; rm -rf \"$D/x\"", Dialect::Bash),
            vec!["export D=data", "rm -rf data/x"]
        );
        assert_eq!(
            run("x=$(pwd); rm -rf $x", Dialect::Bash),
            vec!["pwd", "rm -rf $x"]
        );
    }

    #[test]
    fn aliases_are_followed() {
        assert_eq!(
            run("alias nuke='rm -rf'; nuke data", Dialect::Bash),
            vec!["alias 'nuke=rm -rf'", "rm -rf data"]
        );
        assert_eq!(
            run("alias nuke 'rm -rf'; nuke data", Dialect::Fish),
            vec!["alias nuke 'rm -rf'", "rm -rf data"]
        );
    }

    #[test]
    fn base64_and_literal_output() {
        assert_eq!(
            decode_base64("cm0gLXJmIGRhdGE=").as_deref(),
            Some("rm -rf data")
        );
        assert_eq!(
            literal_output("echo cm0gLXJmIGRhdGE= | base64 -d", Dialect::Bash).as_deref(),
            Some("rm -rf data")
        );
        assert_eq!(
            literal_output("base64 --decode <<< cm0gLXJmIGRhdGE=", Dialect::Bash).as_deref(),
            Some("rm -rf data")
        );
        assert_eq!(literal_output("ssh-agent -s", Dialect::Bash), None);
        assert!(downloads(&["curl -fsSL https://x".into()], Dialect::Bash));
        assert!(!downloads(&["starship init bash".into()], Dialect::Bash));
    }
}
