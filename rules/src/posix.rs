//! The reader for bash, zsh and fish.
//!
//! It is not a full shell grammar: it finds every simple command a line would run
//! (through lists, pipelines, groups, loops, conditionals, substitutions and
//! heredocs) and the words each receives after quote removal. Anything it cannot
//! make sense of marks the script `incomplete`, and the engine then also examines
//! the raw text; it never gives up silently and never panics.

use crate::command::{Command, Origin, Redirect, Script, Stdin, Word};
use crate::dialect::Dialect;

/// Deepest nesting of substitutions and groups the reader follows.
const MAX_NESTING: usize = 48;

pub(crate) fn parse(line: &str, dialect: Dialect) -> Script {
    let mut p = Parser {
        src: line.as_bytes(),
        pos: 0,
        lines: (0, 1),
        dialect,
        out: Script::default(),
        pending_heredocs: Vec::new(),
        nesting: 0,
        case_depth: 0,
        in_case_pattern: false,
    };
    p.parse_list(Terminator::Eof, Origin::Line);
    p.check_closed();
    if p.pending_heredocs.iter().any(|h| h.cmd.is_some()) {
        // A heredoc whose body the line did not include: what it feeds is unknown.
        for h in std::mem::take(&mut p.pending_heredocs) {
            if let Some(i) = h.cmd {
                p.out.commands[i].stdin = Stdin::Unknown;
            }
        }
    }
    p.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Terminator {
    Eof,
    /// `$(…)`, `(…)`, `<(…)`: ends at the matching `)`.
    Paren,
}

struct PendingHeredoc {
    delimiter: Vec<u8>,
    strip_tabs: bool,
    expand: bool,
    /// The command it feeds, once that command is complete.
    cmd: Option<usize>,
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    /// The last position a line number was asked for, and its line: commands start
    /// in order, so counting goes on from there.
    lines: (usize, usize),
    dialect: Dialect,
    out: Script,
    pending_heredocs: Vec<PendingHeredoc>,
    nesting: usize,
    case_depth: usize,
    /// Between `in`/`;;` and `)` of a case statement: words are patterns.
    in_case_pattern: bool,
}

/// A command being assembled from tokens.
#[derive(Default)]
struct Builder {
    cmd: Command,
    heredocs: Vec<usize>,
    /// Words seen at command position that were keywords, so the next word is a command.
    skip_rest: bool,
    /// Where the command's first word, assignment or redirection starts.
    start: Option<usize>,
}

enum Tok {
    Word(Word),
    /// `;` `&` newline and friends: the command ends, the next one is unrelated.
    Sep,
    /// `;;`, `;&`, `;;&`: a case arm ends; a pattern follows.
    CaseSep,
    Newline,
    Pipe,
    Redirect(String),
    OpenParen,
    CloseParen,
    Eof,
}

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

fn is_name(s: &[u8]) -> bool {
    !s.is_empty()
        && !s[0].is_ascii_digit()
        && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Is `text` a `NAME=value` (or `NAME+=value`, `NAME[i]=value`) assignment?
pub(crate) fn is_assignment(text: &str) -> bool {
    match text.find('=') {
        Some(eq) if eq > 0 => {
            let name = text[..eq].trim_end_matches('+');
            let name = name.split('[').next().unwrap_or(name);
            is_name(name.as_bytes())
        }
        _ => false,
    }
}

impl Parser<'_> {
    /// An unclosed `case` leaves words looking like patterns; the shell would refuse
    /// the line, so it is incomplete and its text gets examined.
    fn check_closed(&mut self) {
        if self.case_depth > 0 || self.in_case_pattern {
            self.out.incomplete = true;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// The line (from 1) that byte `pos` is on.
    fn line_at(&mut self, pos: usize) -> usize {
        // Counted on from the last position asked for, backwards too: a command
        // substitution's command finishes before the command around it.
        let pos = pos.min(self.src.len());
        let (last, line) = self.lines;
        let n = if pos >= last {
            line + self.src[last..pos].iter().filter(|b| **b == b'\n').count()
        } else {
            line.saturating_sub(self.src[pos..last].iter().filter(|b| **b == b'\n').count())
        };
        self.lines = (pos, n);
        n
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.get(self.pos + n).copied()
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.src.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }

    fn fish(&self) -> bool {
        self.dialect == Dialect::Fish
    }

    /// Parse commands until the terminator; returns when it is consumed (or at EOF).
    fn parse_list(&mut self, term: Terminator, origin: Origin) {
        if self.nesting >= MAX_NESTING {
            self.out.incomplete = true;
            self.pos = self.src.len();
            return;
        }
        self.nesting += 1;
        let mut b = Builder::default();
        let mut paren_depth = 0usize;
        let mut pipe_from: Option<usize> = None;
        loop {
            if b.start.is_none() {
                self.skip_blanks();
                b.start = Some(self.pos);
            }
            let tok = self.next_token();
            match tok {
                Tok::Eof => {
                    if term == Terminator::Paren {
                        self.out.incomplete = true;
                    }
                    self.finish(&mut b, &origin, pipe_from.take());
                    break;
                }
                Tok::Word(w) if self.in_case_pattern && w.text == "esac" => {
                    self.case_depth = self.case_depth.saturating_sub(1);
                    self.in_case_pattern = false;
                }
                Tok::Word(_) | Tok::Pipe if self.in_case_pattern => {}
                Tok::Word(w) => self.add_word(&mut b, w),
                Tok::CaseSep => {
                    self.finish(&mut b, &origin, pipe_from.take());
                    self.in_case_pattern = self.case_depth > 0;
                }
                Tok::Sep => {
                    self.finish(&mut b, &origin, pipe_from.take());
                }
                Tok::Newline => {
                    self.finish(&mut b, &origin, pipe_from.take());
                    self.read_heredoc_bodies();
                }
                Tok::Pipe => {
                    pipe_from = self.finish(&mut b, &origin, pipe_from.take());
                }
                Tok::Redirect(op) => self.add_redirect(&mut b, op),
                Tok::OpenParen if self.in_case_pattern => {}
                Tok::OpenParen => {
                    if !b.cmd.words.is_empty() && self.peek_nonblank() == Some(b')') {
                        // `name () { …; }`: a function definition; its body follows.
                        self.skip_blanks();
                        self.pos += 1;
                        b = Builder::default();
                        continue;
                    }
                    if self.peek() == Some(b'(') && b.cmd.words.is_empty() && !self.fish() {
                        // `(( arithmetic ))`: no command runs, but substitutions may.
                        self.pos += 1;
                        self.skip_arithmetic();
                        continue;
                    }
                    self.finish(&mut b, &origin, pipe_from.take());
                    paren_depth += 1;
                }
                Tok::CloseParen if self.in_case_pattern => {
                    // `pattern)` of a case arm: commands follow.
                    self.in_case_pattern = false;
                    b = Builder::default();
                }
                Tok::CloseParen => {
                    self.finish(&mut b, &origin, pipe_from.take());
                    if paren_depth == 0 {
                        if term == Terminator::Paren {
                            break;
                        }
                        // A stray `)` at top level: bash would refuse the line.
                        self.out.incomplete = true;
                    } else {
                        paren_depth -= 1;
                    }
                }
            }
        }
        self.nesting -= 1;
    }

    fn peek_nonblank(&self) -> Option<u8> {
        self.src
            .get(self.pos..)?
            .iter()
            .copied()
            .find(|b| *b != b' ' && *b != b'\t')
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn add_word(&mut self, b: &mut Builder, w: Word) {
        if b.skip_rest {
            return;
        }
        if b.cmd.words.is_empty() {
            if is_assignment(&w.text) {
                b.cmd.assignments.push(w.text);
                return;
            }
            if !w.quoted && self.is_keyword_start(&w.text, b) {
                return;
            }
        }
        b.cmd.words.push(w);
    }

    /// Keywords at command position: skipped so the command after them is seen.
    fn is_keyword_start(&mut self, text: &str, b: &mut Builder) -> bool {
        let posix = !self.fish();
        match text {
            "!" | "{" | "}" | "then" | "else" | "do" | "done" | "fi" | "elif" | "if" | "while"
            | "until" | "time" | "coproc" | "[[" | "]]" => {
                posix || text == "if" || text == "while" || text == "else" || text == "time"
            }
            "esac" if posix => {
                self.case_depth = self.case_depth.saturating_sub(1);
                self.in_case_pattern = false;
                true
            }
            "case" if posix => {
                // `case WORD in`: skip to `in`; arms follow.
                self.skip_words_until(b"in");
                self.case_depth += 1;
                self.in_case_pattern = true;
                true
            }
            "for" | "select" => {
                // `for NAME in WORDS`: only substitutions in WORDS run; skip to the separator.
                b.skip_rest = true;
                true
            }
            "function" => {
                b.skip_rest = true;
                true
            }
            "and" | "or" | "not" | "begin" | "end" if !posix => true,
            "switch" | "case" if !posix => {
                b.skip_rest = true;
                true
            }
            _ => false,
        }
    }

    fn skip_words_until(&mut self, word: &[u8]) {
        loop {
            match self.next_token() {
                Tok::Word(w) if w.text.as_bytes() == word => return,
                Tok::Eof => return,
                Tok::Newline => self.read_heredoc_bodies(),
                _ => {}
            }
        }
    }

    fn add_redirect(&mut self, b: &mut Builder, op: String) {
        if op.starts_with("<<") && op != "<<<" {
            // Heredoc: the delimiter word follows; the body comes after the next newline.
            self.skip_blanks();
            let delim = self.read_word().unwrap_or_default();
            self.pending_heredocs.push(PendingHeredoc {
                delimiter: delim.text.clone().into_bytes(),
                strip_tabs: op == "<<-",
                expand: !delim.quoted,
                cmd: None,
            });
            b.heredocs.push(self.pending_heredocs.len() - 1);
            return;
        }
        self.skip_blanks();
        let target = self.read_word().unwrap_or_default();
        if op == "<<<" {
            b.cmd.stdin = Stdin::Text(format!("{}\n", target.text));
        } else if op.starts_with('<') && !op.contains('&') && b.cmd.stdin == Stdin::Terminal {
            b.cmd.stdin = Stdin::Unknown;
        }
        b.cmd.redirects.push(Redirect { op, target });
    }

    /// Complete the command being built; returns its index when it has one.
    fn finish(
        &mut self,
        b: &mut Builder,
        origin: &Origin,
        pipe_from: Option<usize>,
    ) -> Option<usize> {
        let builder = std::mem::take(b);
        let mut cmd = builder.cmd;
        cmd.line = self.line_at(builder.start.unwrap_or_default());
        let writes = cmd.redirects.iter().any(|r| r.op.contains('>'));
        // A bare `x=rm` is kept: a later `$x -rf data` on the line runs its value.
        if cmd.words.is_empty() && !writes && cmd.assignments.is_empty() {
            // Keyword-only or empty; heredocs attached to nothing still get their bodies read.
            for h in builder.heredocs {
                if let Some(ph) = self.pending_heredocs.get_mut(h) {
                    ph.cmd = None;
                }
            }
            return None;
        }
        cmd.origin = origin.clone();
        if let Some(from) = pipe_from {
            cmd.pipe_from = Some(from);
            if cmd.stdin == Stdin::Terminal {
                cmd.stdin = Stdin::Unknown;
            }
        }
        let idx = self.out.commands.len();
        self.out.commands.push(cmd);
        for h in builder.heredocs {
            if let Some(ph) = self.pending_heredocs.get_mut(h) {
                ph.cmd = Some(idx);
            }
        }
        Some(idx)
    }

    /// After a newline: read the bodies of the heredocs the line opened.
    fn read_heredoc_bodies(&mut self) {
        let pending = std::mem::take(&mut self.pending_heredocs);
        for h in pending {
            let mut body = Vec::new();
            let mut found = false;
            while self.pos < self.src.len() {
                let end = self.src[self.pos..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(self.src.len(), |i| self.pos + i);
                let mut line = &self.src[self.pos..end];
                self.pos = (end + 1).min(self.src.len());
                if h.strip_tabs {
                    while line.first() == Some(&b'\t') {
                        line = &line[1..];
                    }
                }
                let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
                if trimmed == h.delimiter.as_slice() {
                    found = true;
                    break;
                }
                body.extend_from_slice(line);
                body.push(b'\n');
            }
            if !found {
                self.out.incomplete = true;
            }
            let text = String::from_utf8_lossy(&body).into_owned();
            if h.expand {
                self.examine_substitutions_in(&text);
            }
            if let Some(i) = h.cmd {
                if let Some(c) = self.out.commands.get_mut(i) {
                    c.stdin = Stdin::Text(text);
                }
            }
        }
    }

    /// Command substitutions inside text the shell expands (an unquoted heredoc body).
    fn examine_substitutions_in(&mut self, text: &str) {
        if !text.contains("$(") && !text.contains('`') {
            return;
        }
        let mut sub = Parser {
            src: text.as_bytes(),
            pos: 0,
            lines: (0, 1),
            dialect: self.dialect,
            out: Script::default(),
            pending_heredocs: Vec::new(),
            nesting: self.nesting + 1,
            case_depth: 0,
            in_case_pattern: false,
        };
        while sub.pos < sub.src.len() {
            if sub.starts_with(b"$(") && sub.peek_at(2) != Some(b'(') {
                sub.pos += 2;
                sub.parse_list(Terminator::Paren, Origin::Substitution);
            } else if sub.peek() == Some(b'`') {
                sub.pos += 1;
                sub.read_backticks();
            } else {
                sub.pos += 1;
            }
        }
        self.absorb(sub.out);
    }

    fn absorb(&mut self, script: Script) {
        let base = self.out.commands.len();
        self.out.incomplete |= script.incomplete;
        for mut c in script.commands {
            c.pipe_from = c.pipe_from.map(|i| i + base);
            self.out.commands.push(c);
        }
    }

    fn skip_arithmetic(&mut self) {
        // Positioned after `((`; find the matching `))`, following nested parens.
        let mut depth = 2usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                b'$' if self.peek() == Some(b'(') && self.peek_at(1) != Some(b'(') => {
                    self.pos += 1;
                    self.parse_list(Terminator::Paren, Origin::Substitution);
                }
                _ => {}
            }
        }
        self.out.incomplete = true;
    }

    fn next_token(&mut self) -> Tok {
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                return Tok::Eof;
            };
            match c {
                b'\\' if self.peek_at(1) == Some(b'\n') => {
                    self.pos += 2;
                    continue;
                }
                b'\\' if self.peek_at(1) == Some(b'\r') && self.peek_at(2) == Some(b'\n') => {
                    self.pos += 3;
                    continue;
                }
                b'#' if self.dialect != Dialect::Zsh => {
                    // Interactive comments: bash and fish have them; zsh does not by default,
                    // so there `#` is an ordinary character and what follows is examined.
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                    continue;
                }
                b'\r' => {
                    self.pos += 1;
                    continue;
                }
                b'\n' => {
                    self.pos += 1;
                    return Tok::Newline;
                }
                b';' => {
                    self.pos += 1;
                    if matches!(self.peek(), Some(b';' | b'&')) && !self.fish() {
                        while matches!(self.peek(), Some(b';' | b'&')) {
                            self.pos += 1;
                        }
                        return Tok::CaseSep;
                    }
                    return Tok::Sep;
                }
                b'&' => {
                    if self.peek_at(1) == Some(b'&') {
                        self.pos += 2;
                        return Tok::Sep;
                    }
                    if self.peek_at(1) == Some(b'>') {
                        self.pos += 2;
                        let op = if self.peek() == Some(b'>') {
                            self.pos += 1;
                            "&>>"
                        } else {
                            "&>"
                        };
                        return Tok::Redirect(op.into());
                    }
                    if self.peek_at(1) == Some(b'|') {
                        self.pos += 2;
                        return Tok::Pipe;
                    }
                    self.pos += 1;
                    return Tok::Sep;
                }
                b'|' => {
                    if self.peek_at(1) == Some(b'|') {
                        self.pos += 2;
                        return Tok::Sep;
                    }
                    self.pos += 1;
                    if self.peek() == Some(b'&') {
                        self.pos += 1;
                    }
                    return Tok::Pipe;
                }
                b'<' | b'>' => {
                    if self.peek_at(1) == Some(b'(') && !self.fish() {
                        // Process substitution: its command runs.
                        return Tok::Word(self.read_word().unwrap_or_default());
                    }
                    return Tok::Redirect(self.read_redirect_op(String::new()));
                }
                b'(' => {
                    if self.fish() {
                        return Tok::Word(self.read_word().unwrap_or_default());
                    }
                    self.pos += 1;
                    return Tok::OpenParen;
                }
                b')' => {
                    self.pos += 1;
                    return Tok::CloseParen;
                }
                _ => {
                    let start = self.pos;
                    let w = self.read_word().unwrap_or_default();
                    // `2>file`, `10<&3`: a file descriptor number glued to a redirection.
                    if !w.quoted
                        && !w.text.is_empty()
                        && w.text.bytes().all(|b| b.is_ascii_digit())
                        && matches!(self.peek(), Some(b'<' | b'>'))
                        && self.pos == start + w.text.len()
                    {
                        return Tok::Redirect(self.read_redirect_op(w.text));
                    }
                    if self.pos == start {
                        // Nothing consumed: never loop forever on an unexpected byte.
                        self.pos += 1;
                        self.out.incomplete = true;
                        continue;
                    }
                    return Tok::Word(w);
                }
            }
        }
    }

    fn read_redirect_op(&mut self, mut op: String) -> String {
        for candidate in [
            "<<<", "<<-", "<<", "<>", "<&", ">>", ">|", ">&", ">?", "<", ">",
        ] {
            if self.starts_with(candidate.as_bytes()) {
                // `<<-` only exists in POSIX shells; fish has `>?` (noclobber).
                self.pos += candidate.len();
                op.push_str(candidate);
                if op.ends_with('&') && self.peek() == Some(b'-') {
                    self.pos += 1;
                }
                return op;
            }
        }
        self.pos += 1;
        op
    }

    /// Read one word, performing quote removal; substitutions inside are parsed and
    /// their commands added to the script.
    fn read_word(&mut self) -> Option<Word> {
        let mut text: Vec<u8> = Vec::new();
        let mut w = Word::default();
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(n) => {
                        text.push(n);
                        w.quoted = true;
                        self.pos += 2;
                    }
                    None => {
                        self.pos += 1;
                    }
                },
                b'\'' => {
                    self.pos += 1;
                    w.quoted = true;
                    self.read_single_quoted(&mut text);
                }
                b'"' => {
                    self.pos += 1;
                    w.quoted = true;
                    self.read_double_quoted(&mut text, &mut w);
                }
                b'$' => self.read_dollar(&mut text, &mut w),
                b'`' if !self.fish() => {
                    self.pos += 1;
                    w.expansion = true;
                    text.extend_from_slice(b"`...`");
                    let inner = self.read_backticks();
                    w.subst.push(inner);
                }
                b'(' if self.fish() => {
                    // fish command substitution, anywhere in a word.
                    self.pos += 1;
                    w.expansion = true;
                    text.extend_from_slice(b"(...)");
                    let start = self.pos;
                    self.parse_list(Terminator::Paren, Origin::Substitution);
                    let end = self.pos.saturating_sub(1).max(start);
                    w.subst
                        .push(String::from_utf8_lossy(&self.src[start..end]).into_owned());
                }
                b'<' | b'>' if self.peek_at(1) == Some(b'(') && text.is_empty() && !self.fish() => {
                    self.pos += 2;
                    w.expansion = true;
                    text.extend_from_slice(if c == b'<' { b"<(...)" } else { b">(...)" });
                    let start = self.pos;
                    self.parse_list(Terminator::Paren, Origin::Substitution);
                    let end = self.pos.saturating_sub(1).max(start);
                    w.subst
                        .push(String::from_utf8_lossy(&self.src[start..end]).into_owned());
                }
                b'=' if self.dialect == Dialect::Zsh
                    && text.is_empty()
                    && self.peek_at(1) == Some(b'(') =>
                {
                    self.pos += 2;
                    w.expansion = true;
                    text.extend_from_slice(b"=(...)");
                    self.parse_list(Terminator::Paren, Origin::Substitution);
                }
                b'(' if !text.is_empty() && self.peek_at(1) != Some(b')') => {
                    // Extglob `!(x)`, zsh qualifiers `*(.)`, array `a=(1 2)`: part of the word.
                    if text.ends_with(b"=") && is_assignment(&String::from_utf8_lossy(&text)) {
                        self.read_balanced_parens(&mut text, &mut w);
                    } else if matches!(text.last(), Some(b'!' | b'@' | b'*' | b'+' | b'?'))
                        || self.dialect == Dialect::Zsh
                    {
                        w.glob = true;
                        self.read_balanced_parens(&mut text, &mut w);
                    } else {
                        break;
                    }
                }
                b'*' | b'?' | b'[' => {
                    w.glob = true;
                    text.push(c);
                    self.pos += 1;
                }
                b'{' if self.fish() => {
                    // fish brace expansion: keep it; the words it makes are not known.
                    w.glob = true;
                    text.push(c);
                    self.pos += 1;
                }
                _ if is_meta(c) => break,
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        if self.pos == start {
            return None;
        }
        w.text = String::from_utf8_lossy(&text).into_owned();
        Some(w)
    }

    fn read_balanced_parens(&mut self, text: &mut Vec<u8>, w: &mut Word) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        text.push(c);
                        self.pos += 1;
                        return;
                    }
                }
                b'$' => {
                    self.read_dollar(text, w);
                    continue;
                }
                b'\'' => {
                    self.pos += 1;
                    self.read_single_quoted(text);
                    continue;
                }
                b'"' => {
                    self.pos += 1;
                    self.read_double_quoted(text, w);
                    continue;
                }
                _ => {}
            }
            text.push(c);
            self.pos += 1;
        }
        self.out.incomplete = true;
    }

    fn read_single_quoted(&mut self, text: &mut Vec<u8>) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\'' => return,
                // fish alone lets `\'` and `\\` escape inside single quotes.
                b'\\' if self.fish() && matches!(self.peek(), Some(b'\'' | b'\\')) => {
                    text.push(self.src[self.pos]);
                    self.pos += 1;
                }
                _ => text.push(c),
            }
        }
        self.out.incomplete = true;
    }

    fn read_double_quoted(&mut self, text: &mut Vec<u8>, w: &mut Word) {
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => {
                    let n = self.peek_at(1);
                    match n {
                        Some(b'\n') => self.pos += 2,
                        Some(b'"' | b'\\' | b'$') => {
                            text.push(n.unwrap_or_default());
                            self.pos += 2;
                        }
                        Some(b'`') if !self.fish() => {
                            text.push(b'`');
                            self.pos += 2;
                        }
                        _ => {
                            text.push(b'\\');
                            self.pos += 1;
                        }
                    }
                }
                b'$' => {
                    // fish expands `$(…)` in double quotes since 3.4, but never `(…)`.
                    self.read_dollar(text, w);
                }
                b'`' if !self.fish() => {
                    self.pos += 1;
                    w.expansion = true;
                    text.extend_from_slice(b"`...`");
                    let inner = self.read_backticks();
                    w.subst.push(inner);
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        self.out.incomplete = true;
    }

    /// At a `$`: a substitution, a parameter, `$'…'`, or a lone dollar.
    fn read_dollar(&mut self, text: &mut Vec<u8>, w: &mut Word) {
        match self.peek_at(1) {
            Some(b'(') if self.peek_at(2) == Some(b'(') && !self.fish() => {
                self.pos += 3;
                w.expansion = true;
                text.extend_from_slice(b"$((...))");
                self.skip_arithmetic();
            }
            Some(b'(') => {
                self.pos += 2;
                w.expansion = true;
                text.extend_from_slice(b"$(...)");
                let start = self.pos;
                self.parse_list(Terminator::Paren, Origin::Substitution);
                let end = self.pos.saturating_sub(1).max(start);
                w.subst
                    .push(String::from_utf8_lossy(&self.src[start..end]).into_owned());
            }
            Some(b'{') if !self.fish() => {
                w.expansion = true;
                let start = self.pos;
                self.pos += 2;
                let mut depth = 1usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                break;
                            }
                        }
                        b'$' if self.peek_at(1) == Some(b'(') => {
                            // `${x:-$(cmd)}`: the inner command runs.
                            let mut scratch = Vec::new();
                            let mut sw = Word::default();
                            self.read_dollar(&mut scratch, &mut sw);
                            continue;
                        }
                        b'\\' => self.pos += 1,
                        _ => {}
                    }
                    self.pos += 1;
                }
                if depth != 0 {
                    self.out.incomplete = true;
                }
                let end = self.pos.min(self.src.len());
                text.extend_from_slice(&self.src[start..end]);
            }
            Some(b'\'') if !self.fish() => {
                self.pos += 2;
                w.quoted = true;
                self.read_ansi_c(text);
            }
            Some(b'"') if !self.fish() => {
                // $"…": a translatable string, otherwise like "…".
                self.pos += 2;
                w.quoted = true;
                self.read_double_quoted(text, w);
            }
            Some(c) if c.is_ascii_alphanumeric() || b"_@*#?$!-".contains(&c) => {
                w.expansion = true;
                text.push(b'$');
                self.pos += 1;
                if c.is_ascii_alphabetic() || c == b'_' {
                    while let Some(n) = self.peek() {
                        if n.is_ascii_alphanumeric() || n == b'_' {
                            text.push(n);
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                } else {
                    text.push(c);
                    self.pos += 1;
                }
            }
            _ => {
                text.push(b'$');
                self.pos += 1;
            }
        }
    }

    /// `$'…'` with ANSI-C escapes decoded, so `$'\x72m'` reads as `rm`.
    fn read_ansi_c(&mut self, text: &mut Vec<u8>) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\'' => return,
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => text.push(b'\n'),
                        b't' => text.push(b'\t'),
                        b'r' => text.push(b'\r'),
                        b'a' => text.push(7),
                        b'b' => text.push(8),
                        b'e' | b'E' => text.push(27),
                        b'f' => text.push(12),
                        b'v' => text.push(11),
                        b'x' => {
                            let v = self.read_radix(16, 2);
                            text.push(v.unwrap_or(b'x' as u32) as u8);
                        }
                        b'u' | b'U' => {
                            let max = if e == b'u' { 4 } else { 8 };
                            if let Some(ch) = self.read_radix(16, max).and_then(char::from_u32) {
                                let mut buf = [0u8; 4];
                                text.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                        }
                        b'0'..=b'7' => {
                            self.pos -= 1;
                            let v = self.read_radix(8, 3).unwrap_or(0);
                            text.push((v & 0xff) as u8);
                        }
                        b'c' => {
                            if let Some(n) = self.peek() {
                                self.pos += 1;
                                text.push(n & 0x1f);
                            }
                        }
                        other => text.push(other),
                    }
                }
                _ => text.push(c),
            }
        }
        self.out.incomplete = true;
    }

    fn read_radix(&mut self, radix: u32, max: usize) -> Option<u32> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            let Some(d) = self.peek().and_then(|c| (c as char).to_digit(radix)) else {
                break;
            };
            v = v.saturating_mul(radix).saturating_add(d);
            self.pos += 1;
            n += 1;
        }
        (n > 0).then_some(v)
    }

    /// Positioned after an opening backtick: read to the closing one and parse inside;
    /// returns the text inside.
    fn read_backticks(&mut self) -> String {
        let mut inner = Vec::new();
        let mut closed = false;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'`' => {
                    closed = true;
                    break;
                }
                b'\\' if matches!(self.peek(), Some(b'`' | b'\\' | b'$')) => {
                    inner.push(self.src[self.pos]);
                    self.pos += 1;
                }
                _ => inner.push(c),
            }
        }
        if !closed {
            self.out.incomplete = true;
        }
        let text = String::from_utf8_lossy(&inner).into_owned();
        let mut sub = parse_nested(&text, self.dialect, self.nesting + 1);
        for c in &mut sub.commands {
            if c.origin == Origin::Line {
                c.origin = Origin::Substitution;
            }
        }
        self.absorb(sub);
        text
    }
}

/// Parse a string found inside another (backticks, `bash -c`), bounded by nesting.
pub(crate) fn parse_nested(text: &str, dialect: Dialect, nesting: usize) -> Script {
    if nesting >= MAX_NESTING {
        return Script {
            commands: Vec::new(),
            incomplete: true,
        };
    }
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
        lines: (0, 1),
        dialect,
        out: Script::default(),
        pending_heredocs: Vec::new(),
        nesting,
        case_depth: 0,
        in_case_pattern: false,
    };
    p.parse_list(Terminator::Eof, Origin::Line);
    p.check_closed();
    p.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(line: &str, d: Dialect) -> Vec<String> {
        parse(line, d)
            .commands
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    fn bash(line: &str) -> Vec<String> {
        cmds(line, Dialect::Bash)
    }

    macro_rules! reads {
        ($name:ident, $d:expr, $line:expr, [$($want:expr),* $(,)?]) => {
            #[test]
            fn $name() {
                let want: Vec<String> = vec![$($want.to_string()),*];
                assert_eq!(cmds($line, $d), want, "line: {:?}", $line);
            }
        };
    }

    reads!(plain, Dialect::Bash, "rm -rf /x", ["rm -rf /x"]);
    reads!(single_quotes, Dialect::Bash, "'rm' -rf x", ["rm -rf x"]);
    reads!(
        empty_quotes_inside,
        Dialect::Bash,
        "r''m -rf x",
        ["rm -rf x"]
    );
    reads!(backslash_program, Dialect::Bash, "\\rm -rf x", ["rm -rf x"]);
    reads!(ansi_c, Dialect::Bash, "$'rm' -rf x", ["rm -rf x"]);
    reads!(
        ansi_c_hex,
        Dialect::Bash,
        "$'\\x72\\x6d' -rf x",
        ["rm -rf x"]
    );
    reads!(ansi_c_octal, Dialect::Bash, "$'\\162m' x", ["rm x"]);
    reads!(
        double_quotes,
        Dialect::Bash,
        "\"rm\" \"-rf\" \"a b\"",
        ["rm -rf 'a b'"]
    );
    reads!(comment, Dialect::Bash, "ls # rm -rf /", ["ls"]);
    reads!(
        zsh_hash_is_literal,
        Dialect::Zsh,
        "echo a # ; rm -rf /",
        ["echo a '#'", "rm -rf /"]
    );
    reads!(
        list_ops,
        Dialect::Bash,
        "a; b && c || d & e | f",
        ["a", "b", "c", "d", "e", "f"]
    );
    reads!(
        subshell,
        Dialect::Bash,
        "(cd /x && rm -rf y)",
        ["cd /x", "rm -rf y"]
    );
    reads!(group, Dialect::Bash, "{ rm -rf a; }", ["rm -rf a"]);
    reads!(
        if_then,
        Dialect::Bash,
        "if true; then rm -rf a; else echo; fi",
        ["true", "rm -rf a", "echo"]
    );
    reads!(
        for_loop,
        Dialect::Bash,
        "for f in a b; do rm \"$f\"; done",
        ["rm $f"]
    );
    reads!(
        while_loop,
        Dialect::Bash,
        "while read l; do rm -- \"$l\"; done < list",
        ["read l", "rm -- $l"]
    );
    reads!(
        case_arms,
        Dialect::Bash,
        "case $x in a) rm -rf a;; b|c) ls;; esac",
        ["rm -rf a", "ls"]
    );
    reads!(
        multi_line,
        Dialect::Bash,
        "cd /\nrm -rf x\n",
        ["cd /", "rm -rf x"]
    );
    reads!(continuation, Dialect::Bash, "rm \\\n -rf x", ["rm -rf x"]);
    reads!(
        cmd_subst,
        Dialect::Bash,
        "echo $(rm -rf x)",
        ["rm -rf x", "echo '$(...)'"]
    );
    reads!(
        nested_subst,
        Dialect::Bash,
        "a $(b $(rm -rf x))",
        ["rm -rf x", "b '$(...)'", "a '$(...)'"]
    );
    reads!(
        backticks,
        Dialect::Bash,
        "echo `rm -rf x`",
        ["rm -rf x", "echo '`...`'"]
    );
    reads!(
        subst_in_dquotes,
        Dialect::Bash,
        "echo \"$(rm -rf x)\"",
        ["rm -rf x", "echo '$(...)'"]
    );
    reads!(
        process_subst,
        Dialect::Bash,
        "diff <(rm -rf x) y",
        ["rm -rf x", "diff '<(...)' y"]
    );
    reads!(
        param_default_subst,
        Dialect::Bash,
        "echo ${X:-$(rm -rf y)}",
        ["rm -rf y", "echo '${X:-$(rm -rf y)}'"]
    );
    reads!(
        arith,
        Dialect::Bash,
        "echo $((1+2)); ((x++)); rm a",
        ["echo '$((...))'", "rm a"]
    );
    reads!(
        assignment_prefix,
        Dialect::Bash,
        "FOO=1 BAR=\"x y\" rm -rf z",
        ["rm -rf z"]
    );
    reads!(
        fd_redirect,
        Dialect::Bash,
        "rm -rf x 2>/dev/null >&2",
        ["rm -rf x"]
    );
    reads!(
        function_def,
        Dialect::Bash,
        "f() { rm -rf x; }; f",
        ["rm -rf x", "f"]
    );
    reads!(
        fish_subst,
        Dialect::Fish,
        "echo (rm -rf x)",
        ["rm -rf x", "echo '(...)'"]
    );
    reads!(
        fish_and_or,
        Dialect::Fish,
        "true; and rm -rf x; or echo no",
        ["true", "rm -rf x", "echo no"]
    );
    reads!(
        fish_begin_end,
        Dialect::Fish,
        "begin; rm -rf x; end",
        ["rm -rf x"]
    );
    reads!(
        fish_if,
        Dialect::Fish,
        "if test -d x; rm -rf x; end",
        ["test -d x", "rm -rf x"]
    );
    reads!(
        fish_single_quote_escape,
        Dialect::Fish,
        "echo 'it\\'s'",
        ["echo 'it'\\''s'"]
    );
    reads!(
        fish_dollar_paren_in_quotes,
        Dialect::Fish,
        "echo \"$(rm -rf x)\"",
        ["rm -rf x", "echo '$(...)'"]
    );
    reads!(
        zsh_glob_qualifier,
        Dialect::Zsh,
        "rm -rf *(.)",
        ["rm -rf '*(.)'"]
    );
    reads!(
        extglob,
        Dialect::Bash,
        "rm -rf !(keep)",
        ["rm -rf '!(keep)'"]
    );

    #[test]
    fn heredoc_feeds_stdin() {
        let s = parse("psql mydb <<EOF\nDROP TABLE users;\nEOF\n", Dialect::Bash);
        assert_eq!(s.commands.len(), 1);
        assert_eq!(
            s.commands[0].stdin,
            Stdin::Text("DROP TABLE users;\n".into())
        );
        assert!(!s.incomplete);
    }

    #[test]
    fn heredoc_with_tabs_and_quotes() {
        let s = parse(
            "cat <<-'END' | psql\n\tDROP DATABASE x;\n\tEND\necho done",
            Dialect::Bash,
        );
        assert_eq!(
            s.commands[0].stdin,
            Stdin::Text("DROP DATABASE x;\n".into())
        );
        assert_eq!(s.commands[1].pipe_from, Some(0));
        assert_eq!(s.commands[2].to_string(), "echo done");
    }

    #[test]
    fn heredoc_body_substitutions_run() {
        let s = parse("cat <<EOF\n$(rm -rf x)\nEOF\n", Dialect::Bash);
        assert!(s.commands.iter().any(|c| c.to_string() == "rm -rf x"));
        let quoted = parse("cat <<'EOF'\n$(rm -rf x)\nEOF\n", Dialect::Bash);
        assert!(!quoted.commands.iter().any(|c| c.to_string() == "rm -rf x"));
    }

    #[test]
    fn here_string() {
        let s = parse("psql <<< 'TRUNCATE t'", Dialect::Bash);
        assert_eq!(s.commands[0].stdin, Stdin::Text("TRUNCATE t\n".into()));
    }

    #[test]
    fn pipe_links_commands() {
        let s = parse("echo 'DROP TABLE t' | psql -d x", Dialect::Bash);
        assert_eq!(s.commands[1].pipe_from, Some(0));
        assert_eq!(s.commands[1].stdin, Stdin::Unknown);
    }

    #[test]
    fn unterminated_input_is_incomplete_but_examined() {
        for line in [
            "rm -rf 'x",
            "echo \"$(rm -rf y",
            "echo `rm -rf z",
            "cat <<EOF\nabc",
            "echo )",
        ] {
            let s = parse(line, Dialect::Bash);
            assert!(s.incomplete, "{line:?} should be incomplete");
        }
        assert_eq!(bash("echo \"$(rm -rf y")[0], "rm -rf y");
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let odd = [
            "",
            " ",
            "\\",
            "$",
            "$'",
            "$'\\x",
            "$'\\u",
            "${",
            "$(",
            "$((",
            "`",
            "((",
            "))",
            "<<",
            "<<<",
            "2>",
            "&>",
            "|&",
            ";;;",
            "case",
            "for",
            "\u{0}\u{ff}",
            "a=(",
            "!(",
            "\r\n",
            "echo $'\\c'",
            "$\"x",
            "=(",
            "<(",
            "'\\'",
            "\"\\",
        ];
        for d in [Dialect::Bash, Dialect::Zsh, Dialect::Fish] {
            for line in odd {
                let _ = parse(line, d);
            }
            // Pathological nesting is bounded, not a stack overflow.
            let deep = "$(".repeat(10_000);
            assert!(parse(&deep, d).incomplete);
            let deep_parens = "(".repeat(10_000);
            let _ = parse(&deep_parens, d);
        }
    }
}
