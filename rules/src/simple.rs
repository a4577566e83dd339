//! A plain word splitter for PowerShell, nushell and cmd.
//!
//! Their full readers arrive with the Windows dialects; until then these lines are
//! split on the separators the three share (`;`, `|`, `&&`, `||`, newlines), with
//! `'…'` and `"…"` quotes, and the script is marked incomplete so that the engine
//! also examines the raw text. Nothing is waved through for want of a parser.

use crate::command::{Command, Origin, Script, Word};
use crate::dialect::Dialect;

pub(crate) fn parse(line: &str, dialect: Dialect) -> Script {
    let mut script = Script {
        commands: Vec::new(),
        incomplete: true,
    };
    let mut cmd = Command::default();
    let mut word: Option<Word> = None;
    let mut chars = line.chars().peekable();
    let escape = match dialect {
        Dialect::PowerShell => '`',
        Dialect::Cmd => '^',
        _ => '\\',
    };
    let flush_word = |word: &mut Option<Word>, cmd: &mut Command| {
        if let Some(w) = word.take() {
            cmd.words.push(w);
        }
    };
    let mut pipe_from = None;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let w = word.get_or_insert_with(Word::default);
                w.quoted = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.text.push(q);
                }
            }
            c if c == escape => {
                let w = word.get_or_insert_with(Word::default);
                if let Some(n) = chars.next() {
                    w.text.push(n);
                }
            }
            ' ' | '\t' | '\r' => flush_word(&mut word, &mut cmd),
            ';' | '\n' | '|' | '&' => {
                flush_word(&mut word, &mut cmd);
                let piped = c == '|' && chars.peek() != Some(&'|');
                if matches!(chars.peek(), Some('|' | '&')) {
                    chars.next();
                }
                if !cmd.words.is_empty() {
                    cmd.origin = Origin::Line;
                    cmd.pipe_from = pipe_from.take();
                    script.commands.push(std::mem::take(&mut cmd));
                    if piped {
                        pipe_from = Some(script.commands.len() - 1);
                    }
                }
            }
            '{' | '}' | '(' | ')' if dialect != Dialect::Cmd => flush_word(&mut word, &mut cmd),
            _ => word.get_or_insert_with(Word::default).text.push(c),
        }
    }
    flush_word(&mut word, &mut cmd);
    if !cmd.words.is_empty() {
        cmd.pipe_from = pipe_from;
        script.commands.push(cmd);
    }
    if dialect == Dialect::Nu {
        // `^rm` is nushell's way to run the external `rm`: the program is `rm`.
        for c in &mut script.commands {
            if let Some(w) = c.words.first_mut().filter(|w| w.text.len() > 1) {
                if let Some(rest) = w.text.strip_prefix('^') {
                    w.text = rest.to_string();
                }
            }
        }
    }
    script
}
