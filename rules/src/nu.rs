//! What nushell does to a command once it is read: `^cmd` and `run-external cmd`
//! run the external program, language keywords are not commands, and its own
//! `rm -t`/`--trash` only moves things to the trash (unless `-p`/`--permanent`).
//! `source FILE` and `source-env FILE` run a file, which the engine reads.

use crate::command::Command;

const KEYWORDS: &[&str] = &[
    "let", "mut", "const", "def", "if", "else", "for", "while", "loop", "match", "try", "catch",
    "module", "use", "export", "alias", "extern",
];

pub(crate) fn finish_command(cmd: &mut Command) {
    let Some(first) = cmd.words.first() else {
        return;
    };
    if !first.quoted && KEYWORDS.contains(&first.text.as_str()) {
        // Their blocks and subexpressions were read as commands already.
        cmd.words.clear();
        return;
    }
    let mut external = false;
    if !first.quoted && first.text == "run-external" {
        cmd.words.remove(0);
        external = true;
    }
    let Some(first) = cmd.words.first_mut() else {
        return;
    };
    if first.text.len() > 1 && !first.quoted {
        if let Some(rest) = first.text.strip_prefix('^') {
            first.text = rest.to_string();
            external = true;
        }
    }
    if !external && first.text == "rm" {
        let has = |names: &[&str]| {
            cmd.words.iter().skip(1).any(|w| {
                !w.quoted
                    && (names.contains(&w.text.as_str())
                        || (w.text.starts_with('-')
                            && !w.text.starts_with("--")
                            && names
                                .iter()
                                .any(|n| n.len() == 2 && w.text[1..].contains(&n[1..]))))
            })
        };
        if has(&["-t", "--trash"]) && !has(&["-p", "--permanent"]) {
            cmd.words.clear();
        }
    }
}
