//! The reader for PowerShell, cmd and nushell.
//!
//! One recursive reader with each dialect's lexical rules: quotes and escapes
//! (PowerShell `'…'`/`"…"` with `` ` ``, cmd `"…"` with `^`, nushell `'…'`, `"…"`
//! with `\` and `` `…` ``), separators (`;`, newlines, `|`, `&&`, `||`, cmd's `&`),
//! comments, redirections, and the nested code each runs: PowerShell `$(…)`,
//! `(…)` and script blocks `{ … }`, cmd `( … )` blocks, nushell `(…)` and closures
//! `{|x| … }`. Commands inside nested code are read as commands of the line, since
//! `ForEach-Object { … }`, `if (…) { … }` and `each { … }` run them. What each
//! dialect does to a finished command (aliases, keywords, `^`) is in
//! [`crate::powershell`], [`crate::cmd`] and [`crate::nu`].

use crate::command::{Command, Origin, Redirect, Script, Stdin, Word};
use crate::dialect::Dialect;

/// Deepest nesting of blocks and subexpressions the reader follows.
const MAX_NESTING: usize = 48;

/// What the word of a nested block reads as in the command around it.
pub(crate) const BLOCK: &str = "{…}";
pub(crate) const GROUP: &str = "(…)";

pub(crate) fn parse(line: &str, dialect: Dialect) -> Script {
    let mut r = Reader {
        src: line.chars().collect(),
        pos: 0,
        lines: (0, 1),
        dialect,
        out: Vec::new(),
        incomplete: false,
        nesting: 0,
    };
    r.list(None, &Origin::Line);
    let mut script = Script {
        commands: r.out,
        incomplete: r.incomplete,
    };
    if dialect == Dialect::PowerShell {
        crate::powershell::finish_pipelines(&mut script.commands);
    }
    script
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Statement,
    Pipe,
    Close,
    Eof,
}

struct Reader {
    src: Vec<char>,
    pos: usize,
    /// The last position a line number was asked for, and its line.
    lines: (usize, usize),
    dialect: Dialect,
    out: Vec<Command>,
    incomplete: bool,
    nesting: usize,
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src.get(self.pos + n).copied()
    }

    /// Statements until `close` (consumed) or the end of the text.
    fn list(&mut self, close: Option<char>, origin: &Origin) {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            // Too deep to follow: the engine examines the raw text instead.
            self.incomplete = true;
            self.pos = self.src.len();
            self.nesting -= 1;
            return;
        }
        let mut pipe_from = None;
        loop {
            self.skip_blanks();
            let line = self.line_at(self.pos);
            let (mut cmd, end) = self.command(close);
            cmd.line = line;
            let mut pushed = None;
            if !cmd.words.is_empty() || !cmd.redirects.is_empty() {
                cmd.origin = origin.clone();
                cmd.pipe_from = pipe_from.take();
                if cmd.pipe_from.is_some() {
                    cmd.stdin = Stdin::Unknown;
                }
                match self.dialect {
                    Dialect::PowerShell => crate::powershell::finish_command(&mut cmd),
                    Dialect::Cmd => crate::cmd::finish_command(&mut cmd),
                    Dialect::Nu => crate::nu::finish_command(&mut cmd),
                    _ => {}
                }
                // `{ … } finally { … }`, `(…).Delete()`: the block's commands are read already.
                if cmd.words.first().is_some_and(|w| {
                    w.expansion && (w.text.starts_with(BLOCK) || w.text.starts_with(GROUP))
                }) {
                    cmd.words.clear();
                }
                self.out.push(cmd);
                pushed = Some(self.out.len() - 1);
            }
            match end {
                End::Pipe => pipe_from = pushed,
                End::Statement => pipe_from = None,
                End::Close => break,
                End::Eof => {
                    if close.is_some() {
                        self.incomplete = true;
                    }
                    break;
                }
            }
        }
        self.nesting -= 1;
    }

    /// The line (from 1) that character `pos` is on.
    fn line_at(&mut self, pos: usize) -> usize {
        // Counted on from the last position asked for, backwards too: a command
        // substitution's command finishes before the command around it.
        let pos = pos.min(self.src.len());
        let (last, line) = self.lines;
        let n = if pos >= last {
            line + self.src[last..pos].iter().filter(|b| **b == '\n').count()
        } else {
            line.saturating_sub(self.src[pos..last].iter().filter(|b| **b == '\n').count())
        };
        self.lines = (pos, n);
        n
    }

    /// Spaces, tabs and line continuations (`` ` `` or `^` before a newline).
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            let continuation = match self.dialect {
                Dialect::PowerShell => c == '`',
                Dialect::Cmd => c == '^',
                _ => false,
            } && matches!(
                (self.peek_at(1), self.peek_at(2)),
                (Some('\n'), _) | (Some('\r'), Some('\n'))
            );
            if continuation {
                self.pos += if self.peek_at(1) == Some('\r') { 3 } else { 2 };
            } else if matches!(c, ' ' | '\t' | '\r' | '\u{a0}') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn skip_to_eol(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.pos += 1;
        }
    }

    /// One command: its words and redirections, and what ended it.
    fn command(&mut self, close: Option<char>) -> (Command, End) {
        let mut cmd = Command::default();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                return (cmd, End::Eof);
            };
            if Some(c) == close {
                self.pos += 1;
                return (cmd, End::Close);
            }
            match c {
                '\n' | ';' => {
                    self.pos += 1;
                    return (cmd, End::Statement);
                }
                '|' => {
                    self.pos += 1;
                    if self.peek() == Some('|') {
                        self.pos += 1;
                        return (cmd, End::Statement);
                    }
                    return (cmd, End::Pipe);
                }
                '&' if self.dialect != Dialect::Nu => {
                    self.pos += 1;
                    if self.peek() == Some('&') {
                        self.pos += 1;
                        return (cmd, End::Statement);
                    }
                    // PowerShell's call operator `& 'C:\…\wsl.exe' …` names the program next.
                    if self.dialect == Dialect::PowerShell && cmd.words.is_empty() {
                        continue;
                    }
                    return (cmd, End::Statement);
                }
                ')' | '}' if self.dialect != Dialect::Cmd => {
                    // A closer with nothing open.
                    self.incomplete = true;
                    self.pos += 1;
                    continue;
                }
                '#' if self.dialect != Dialect::Cmd => {
                    self.skip_to_eol();
                    continue;
                }
                '<' if self.dialect == Dialect::PowerShell && self.peek_at(1) == Some('#') => {
                    self.block_comment();
                    continue;
                }
                _ => {}
            }
            if let Some(op) = self.redirect_op() {
                self.skip_blanks();
                let target = if op.contains('&') {
                    None
                } else {
                    self.word(close)
                };
                cmd.redirects.push(Redirect {
                    op,
                    target: target.unwrap_or_default(),
                });
                continue;
            }
            match self.word(close) {
                Some(w) if self.dialect == Dialect::Nu && !w.quoted && is_nu_redirect(&w.text) => {
                    self.skip_blanks();
                    let target = self.word(close).unwrap_or_default();
                    cmd.redirects.push(Redirect {
                        op: if w.text.ends_with(">>") { ">>" } else { ">" }.into(),
                        target,
                    });
                }
                Some(w) if self.dialect == Dialect::PowerShell && !w.quoted && w.text == "--%" => {
                    // Stop-parsing: the rest of the line goes to the program as it is.
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c != '\n' && c != '|') {
                        self.pos += 1;
                    }
                    let rest: String = self.src[start..self.pos].iter().collect();
                    cmd.words.extend(rest.split_whitespace().map(Word::literal));
                }
                Some(w) => cmd.words.push(w),
                None => {
                    // Nothing readable here (a stray character): skip it rather than loop.
                    self.pos += 1;
                }
            }
        }
    }

    fn block_comment(&mut self) {
        self.pos += 2;
        while let Some(c) = self.peek() {
            if c == '#' && self.peek_at(1) == Some('>') {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
        self.incomplete = true;
    }

    /// `>`, `>>`, `2>`, `*>`, `2>&1` (PowerShell), `>`, `2>`, `<`, `>&2` (cmd).
    fn redirect_op(&mut self) -> Option<String> {
        if self.dialect == Dialect::Nu {
            return None;
        }
        let mut n = 0;
        if self.peek().is_some_and(|c| {
            c.is_ascii_digit() || (c == '*' && self.dialect == Dialect::PowerShell)
        }) {
            n = 1;
        }
        let c = self.peek_at(n)?;
        if c != '>' && !(c == '<' && self.dialect == Dialect::Cmd) {
            return None;
        }
        let start = self.pos;
        self.pos += n + 1;
        if self.peek() == Some('>') {
            self.pos += 1;
        }
        if self.peek() == Some('&') && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
            self.pos += 2;
        }
        Some(self.src[start..self.pos].iter().collect())
    }

    /// A nested list ending at `close`, read as commands of the line; returns once closed.
    fn nested(&mut self, close: char, origin: &Origin) {
        self.list(Some(close), origin);
    }

    /// One word, after quote removal; `None` when there is none here.
    fn word(&mut self, close: Option<char>) -> Option<Word> {
        let mut w = Word::default();
        let start = self.pos;
        // A PowerShell here-string: `@'` or `@"` then a newline, to a line starting `'@`.
        if self.dialect == Dialect::PowerShell && self.peek() == Some('@') {
            if let Some(q) = self.peek_at(1).filter(|q| *q == '\'' || *q == '"') {
                let mut k = 2;
                while matches!(self.peek_at(k), Some(' ' | '\t' | '\r')) {
                    k += 1;
                }
                if self.peek_at(k) == Some('\n') {
                    self.pos += k + 1;
                    self.here_string(q, &mut w);
                    return Some(w);
                }
            }
        }
        while let Some(c) = self.peek() {
            if Some(c) == close || matches!(c, ' ' | '\t' | '\r' | '\n' | ';' | '|' | '\u{a0}') {
                break;
            }
            match self.dialect {
                Dialect::PowerShell => {
                    if !self.ps_char(c, &mut w, close) {
                        break;
                    }
                }
                Dialect::Cmd => {
                    if !self.cmd_char(c, &mut w) {
                        break;
                    }
                }
                _ => {
                    if !self.nu_char(c, &mut w) {
                        break;
                    }
                }
            }
        }
        (self.pos > start).then_some(w)
    }

    fn here_string(&mut self, q: char, w: &mut Word) {
        w.quoted = true;
        let mut at_line_start = true;
        while let Some(c) = self.peek() {
            if at_line_start && c == q && self.peek_at(1) == Some('@') {
                self.pos += 2;
                if w.text.ends_with('\n') {
                    w.text.pop();
                }
                return;
            }
            if q == '"' && c == '$' {
                w.expansion = true;
            }
            at_line_start = c == '\n';
            w.text.push(c);
            self.pos += 1;
        }
        self.incomplete = true;
    }

    /// PowerShell: read `c` into the word; `false` when it ends the word instead.
    fn ps_char(&mut self, c: char, w: &mut Word, close: Option<char>) -> bool {
        match c {
            '&' | ',' | '>' | ')' | '}' => return false,
            _ if is_single_quote(c) => {
                self.pos += 1;
                w.quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            self.incomplete = true;
                            break;
                        }
                        Some(q) if is_single_quote(q) => {
                            self.pos += 1;
                            if self.peek().is_some_and(is_single_quote) {
                                w.text.push('\'');
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                        Some(q) => {
                            w.text.push(q);
                            self.pos += 1;
                        }
                    }
                }
            }
            _ if is_double_quote(c) => {
                self.pos += 1;
                w.quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            self.incomplete = true;
                            break;
                        }
                        Some('`') => {
                            self.pos += 1;
                            if let Some(n) = self.peek() {
                                w.text.push(match n {
                                    'n' => '\n',
                                    't' => '\t',
                                    'r' => '\r',
                                    '0' => '\0',
                                    other => other,
                                });
                                self.pos += 1;
                            }
                        }
                        Some(q) if is_double_quote(q) => {
                            self.pos += 1;
                            if self.peek().is_some_and(is_double_quote) {
                                w.text.push('"');
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                        Some('$') if self.peek_at(1) == Some('(') => {
                            self.pos += 2;
                            self.nested(')', &Origin::Substitution);
                            w.text.push_str("$(…)");
                            w.expansion = true;
                        }
                        Some(q) => {
                            if q == '$' {
                                w.expansion = true;
                            }
                            w.text.push(q);
                            self.pos += 1;
                        }
                    }
                }
            }
            '`' => {
                self.pos += 1;
                w.quoted = true;
                match self.peek() {
                    Some('\n') | Some('\r') | None => return false,
                    Some(n) => {
                        w.text.push(n);
                        self.pos += 1;
                    }
                }
            }
            '$' | '@' if self.peek_at(1) == Some('(') => {
                self.pos += 2;
                self.nested(')', &Origin::Substitution);
                w.text.push_str("$(…)");
                w.expansion = true;
            }
            '(' => {
                self.pos += 1;
                self.nested(')', &Origin::Substitution);
                w.text.push_str(GROUP);
                w.expansion = true;
            }
            '{' => {
                self.pos += 1;
                self.nested('}', &Origin::Line);
                w.text.push_str(BLOCK);
                w.expansion = true;
            }
            _ => {
                if c == '$' {
                    w.expansion = true;
                    // `${env:Path}`: braces that belong to the variable name.
                    if self.peek_at(1) == Some('{') {
                        while let Some(n) = self.peek() {
                            w.text.push(n);
                            self.pos += 1;
                            if n == '}' {
                                break;
                            }
                        }
                        return true;
                    }
                }
                if matches!(c, '*' | '?') {
                    w.glob = true;
                }
                let _ = close;
                w.text.push(c);
                self.pos += 1;
            }
        }
        true
    }

    /// cmd: read `c` into the word; `false` when it ends the word instead.
    fn cmd_char(&mut self, c: char, w: &mut Word) -> bool {
        match c {
            '&' | '<' | '>' | ',' => return false,
            '"' => {
                self.pos += 1;
                w.quoted = true;
                loop {
                    match self.peek() {
                        // cmd ends an unterminated quote at the end of the line.
                        None | Some('\n') => break,
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(q) => {
                            if q == '%' {
                                w.expansion = true;
                            }
                            w.text.push(q);
                            self.pos += 1;
                        }
                    }
                }
            }
            '^' => {
                self.pos += 1;
                w.quoted = true;
                match self.peek() {
                    Some('\n') => self.pos += 1,
                    Some(n) => {
                        w.text.push(n);
                        self.pos += 1;
                    }
                    None => {}
                }
            }
            '(' if w.text.is_empty() && !w.quoted => {
                self.pos += 1;
                self.nested(')', &Origin::Line);
                w.text.push_str(GROUP);
                w.expansion = true;
                return false;
            }
            _ => {
                if c == '%' || c == '!' {
                    w.expansion = true;
                }
                if matches!(c, '*' | '?') {
                    w.glob = true;
                }
                w.text.push(c);
                self.pos += 1;
            }
        }
        true
    }

    /// nushell: read `c` into the word; `false` when it ends the word instead.
    fn nu_char(&mut self, c: char, w: &mut Word) -> bool {
        match c {
            '}' | ')' => return false,
            '\'' | '`' => {
                self.pos += 1;
                w.quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            self.incomplete = true;
                            break;
                        }
                        Some(q) if q == c => {
                            self.pos += 1;
                            break;
                        }
                        Some(q) => {
                            w.text.push(q);
                            self.pos += 1;
                        }
                    }
                }
            }
            '"' => {
                // `$"…(expr)…"` interpolates subexpressions.
                let interpolated = w.text.ends_with('$');
                if interpolated {
                    w.text.pop();
                    w.expansion = true;
                }
                self.pos += 1;
                w.quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            self.incomplete = true;
                            break;
                        }
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            self.pos += 1;
                            if let Some(n) = self.peek() {
                                w.text.push(match n {
                                    'n' => '\n',
                                    't' => '\t',
                                    other => other,
                                });
                                self.pos += 1;
                            }
                        }
                        Some('(') if interpolated => {
                            self.pos += 1;
                            self.nested(')', &Origin::Substitution);
                            w.text.push_str(GROUP);
                        }
                        Some(q) => {
                            w.text.push(q);
                            self.pos += 1;
                        }
                    }
                }
            }
            '(' => {
                self.pos += 1;
                self.nested(')', &Origin::Substitution);
                w.text.push_str(GROUP);
                w.expansion = true;
            }
            '{' => {
                self.pos += 1;
                // A closure's parameters: `{|f| … }`.
                self.skip_blanks();
                if self.peek() == Some('|') {
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c != '|' && c != '}') {
                        self.pos += 1;
                    }
                    if self.peek() == Some('|') {
                        self.pos += 1;
                    }
                }
                self.nested('}', &Origin::Line);
                w.text.push_str(BLOCK);
                w.expansion = true;
            }
            _ => {
                if c == '$' {
                    w.expansion = true;
                }
                if matches!(c, '*' | '?') {
                    w.glob = true;
                }
                w.text.push(c);
                self.pos += 1;
            }
        }
        true
    }
}

/// nushell's redirections: `o> file`, `e>> file`, `o+e> file`.
fn is_nu_redirect(t: &str) -> bool {
    let base = t.trim_end_matches('>');
    t.len() > base.len()
        && t.len() - base.len() <= 2
        && matches!(
            base,
            "o" | "out" | "e" | "err" | "o+e" | "e+o" | "out+err" | "err+out"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str, d: Dialect) -> (Vec<String>, bool) {
        let s = parse(line, d);
        (
            s.commands
                .iter()
                .filter(|c| !c.words.is_empty())
                .map(|c| c.to_string())
                .collect(),
            s.incomplete,
        )
    }

    macro_rules! reads {
        ($name:ident, $d:expr, $line:expr, [$($want:expr),* $(,)?]) => {
            #[test]
            fn $name() {
                let (got, incomplete) = read($line, $d);
                let want: Vec<String> = vec![$($want.to_string()),*];
                assert_eq!(got, want, "line: {:?}", $line);
                assert!(!incomplete, "complete: {:?}", $line);
            }
        };
    }

    use Dialect::{Cmd, Nu, PowerShell as Ps};

    reads!(
        ps_quotes,
        Ps,
        r#"Remove-Item 'it''s' "a`"b" `$x"#,
        ["Remove-Item 'it'\\''s' 'a\"b' $x"]
    );
    reads!(
        ps_call_operator,
        Ps,
        r"& 'C:\Windows\System32\wsl.exe' --unregister Ubuntu",
        [r"'C:\Windows\System32\wsl.exe' --unregister Ubuntu"]
    );
    reads!(
        ps_dot_source,
        Ps,
        r". C:\Windows\System32\wsl.exe --unregister Ubuntu",
        [r"'C:\Windows\System32\wsl.exe' --unregister Ubuntu"]
    );
    reads!(
        ps_separators,
        Ps,
        "gci; Remove-Item x && ri y || rm z",
        [
            "Get-ChildItem",
            "Remove-Item x",
            "Remove-Item y",
            "Remove-Item z"
        ]
    );
    reads!(
        ps_script_block,
        Ps,
        "gci | ForEach-Object { Remove-Item $_ -Recurse }",
        [
            "Get-ChildItem",
            "Remove-Item $_ -Recurse",
            "ForEach-Object {…}"
        ]
    );
    reads!(
        ps_if_block,
        Ps,
        "if (Test-Path x) { rd x -r } else { echo no }",
        ["Test-Path x", "Remove-Item x -Recurse", "Write-Output no"]
    );
    reads!(
        ps_subexpression,
        Ps,
        r#"echo "$(Remove-Item x)""#,
        ["Remove-Item x", "Write-Output '$(…)'"]
    );
    reads!(ps_comments, Ps, "<# rm x #> ls # rm y", ["Get-ChildItem"]);
    reads!(ps_assignment, Ps, "$r = Remove-Item x", ["Remove-Item x"]);
    reads!(ps_redirect, Ps, "gci > out.txt 2>&1", ["Get-ChildItem"]);
    reads!(
        ps_array_arguments,
        Ps,
        "Remove-Item a.txt, b.txt",
        ["Remove-Item a.txt b.txt"]
    );
    reads!(
        ps_env_variable,
        Ps,
        r"Remove-Item $env:TEMP\x",
        [r"Remove-Item '$env:TEMP\x'"]
    );
    reads!(
        ps_here_string,
        Ps,
        "@'\nselect disk 1\nclean\n'@ | diskpart",
        ["'select disk 1\nclean'", "diskpart"]
    );
    reads!(
        ps_continuation,
        Ps,
        "Remove-Item `\n  -Recurse x",
        ["Remove-Item -Recurse x"]
    );

    reads!(
        cmd_separators,
        Cmd,
        "dir & rd /s /q a && del b || erase c | more",
        ["dir", "rd /s /q a", "del b", "erase c", "more"]
    );
    reads!(cmd_caret, Cmd, "r^d /s /q C:\\x", [r"rd /s /q 'C:\x'"]);
    reads!(
        cmd_quotes_only_double,
        Cmd,
        r#"del "my file.txt" 'x'"#,
        ["del 'my file.txt' ''\\''x'\\'''"]
    );
    reads!(
        cmd_block,
        Cmd,
        "if exist x (rd /s /q x) else (echo no)",
        ["rd /s /q x", "echo no"]
    );
    reads!(cmd_glued_switches, Cmd, "rd/s/q x", ["rd /s /q x"]);
    reads!(
        cmd_at_and_rem,
        Cmd,
        "@echo off\nrem rd /s /q x\n:: del y",
        ["echo off"]
    );
    reads!(
        cmd_for_do,
        Cmd,
        "for %f in (*.log) do del %f",
        ["*.log", "del %f"]
    );
    reads!(
        cmd_if_not_exist,
        Cmd,
        "if /i not exist x rd /s /q y",
        ["rd /s /q y"]
    );

    reads!(
        nu_closure,
        Nu,
        "ls | each { |f| rm -r $f.name }",
        ["ls", "rm -r $f.name", "each {…}"]
    );
    reads!(
        nu_external,
        Nu,
        "^rm -rf x; run-external rm -rf y",
        ["rm -rf x", "rm -rf y"]
    );
    reads!(
        nu_strings,
        Nu,
        r#"rm 'a b' "c\"d" `e f`"#,
        ["rm 'a b' 'c\"d' 'e f'"]
    );
    reads!(
        nu_trash_is_not_deletion,
        Nu,
        "rm -t x; rm --trash -p y",
        ["rm --trash -p y"]
    );

    #[test]
    fn unterminated_is_incomplete() {
        for (line, d) in [
            ("Remove-Item 'x", Ps),
            ("gci | % { rm x", Ps),
            ("ls | each { rm x", Nu),
            ("(rd /s x", Cmd),
        ] {
            assert!(parse(line, d).incomplete, "{line}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let line = "{".repeat(10_000);
        assert!(parse(&line, Ps).incomplete);
        let line = "(".repeat(10_000);
        assert!(parse(&line, Cmd).incomplete);
        assert!(parse(&line, Nu).incomplete);
    }
}
