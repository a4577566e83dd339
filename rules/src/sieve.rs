//! Reading a large script without reading every command of it.
//!
//! Deciding a command costs microseconds (its words, its wrappers, the rules of its
//! program), and a 1 MiB script holds tens of thousands of commands, most of which
//! no rule can match (`echo`, `mkdir`, `[ -d x ]` …). The sieve reads the script the
//! way [`crate::posix`] does, byte for byte, but builds nothing: it finds the
//! script's top-level pieces (the text between two newlines at which the reader
//! keeps no state: not inside a quote, a heredoc, a substitution, parentheses or a
//! `case`), and keeps a piece only when something in it could matter:
//!
//! - a word naming a program a rule, wrapper, shell, interpreter or task runner is
//!   for ([`crate::ProgramWords`], compared as the shells' prefilter compares them:
//!   every word, quotes dropped, split at the characters that may join words);
//! - a command run by its path (`./x`, `/opt/x`, `. x`), or found as a script on
//!   `PATH`;
//! - something that changes what later commands mean: `cd`, an assignment, `export`
//!   and its kin, `alias` (whose names then count as program words);
//! - a variable set where a program word was (`x=rm` … `$x -rf d`), a command named
//!   by a variable once any is set, the script's own arguments (`$1`);
//! - output written to a file (`> x`): redirect rules, and backstop's own places;
//! - what the sieve does not decode: `$'…'`, backticks, substitutions in a heredoc.
//!
//! The pieces kept are parsed by the real reader as they are (a piece starts where the
//! reader starts afresh, so it reads them as it would have read the whole file), and
//! a piece repeated with nothing changed in between is read once, at its last place,
//! which is the one whose finding the engine keeps. Anything the sieve cannot follow
//! (an unterminated quote, a stray `)`, deep nesting) turns it off for the file, and
//! the whole text is read.

use std::collections::{HashMap, HashSet};

use crate::command::Script;
use crate::dialect::Dialect;

/// Files shorter than this are read whole: they cost little, and `explain` lists
/// every command of them.
pub const SIEVE_FROM: usize = 16 * 1024;

/// When the engine reads a script file through the sieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileSieve {
    /// Files of [`SIEVE_FROM`] bytes or more (the default).
    #[default]
    Large,
    /// Every file (for tests: it must not change any finding).
    Always,
    /// Never: every command of every file is read (`explain` lists them all).
    Never,
}

/// Deeper than this the sieve stops (the reader gives up at 48).
const MAX_NESTING: usize = 40;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A set of words by their hash (FNV-1a of the ASCII-lower-cased bytes). A collision
/// keeps a piece that could have been left out, never the reverse.
#[derive(Debug, Clone)]
struct WordSet {
    slots: Vec<u64>,
    mask: usize,
    len: usize,
}

impl WordSet {
    fn new() -> WordSet {
        WordSet {
            slots: vec![0; 16],
            mask: 15,
            len: 0,
        }
    }

    fn hash(word: &[u8]) -> u64 {
        word.iter().fold(FNV_OFFSET, |h, b| step(h, *b))
    }

    fn insert_word(&mut self, word: &str) {
        self.insert(WordSet::hash(word.as_bytes()));
    }

    fn insert(&mut self, h: u64) {
        let h = h.max(1);
        if (self.len + 1) * 2 > self.slots.len() {
            let grown = vec![0; self.slots.len() * 4];
            let old = std::mem::replace(&mut self.slots, grown);
            self.mask = self.slots.len() - 1;
            self.len = 0;
            for h in old.into_iter().filter(|h| *h != 0) {
                self.insert(h);
            }
        }
        let mut i = (h as usize) & self.mask;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = h;
                    self.len += 1;
                    return;
                }
                s if s == h => return,
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    fn contains(&self, h: u64) -> bool {
        if self.len == 0 {
            return false;
        }
        let h = h.max(1);
        let mut i = (h as usize) & self.mask;
        loop {
            match self.slots[i] {
                0 => return false,
                s if s == h => return true,
                _ => i = (i + 1) & self.mask,
            }
        }
    }
}

/// FNV-1a for the sieve's own maps, eight bytes at a step where a key is long (a
/// repeated piece): SipHash costs more than the rest of the lookup.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(FNV_OFFSET)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        for b in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// Bytes `read_word` copies as they are, whatever comes before or after them.
const PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let special = b" \t\n\r;&|<>()\\'\"$`=";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = false;
        i += 1;
    }
    t
};

#[inline]
fn step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(FNV_PRIME)
}

/// How [`each_word`] treats a byte: part of a word, a separator, dropped (quotes),
/// the start of a path's next component, a backslash.
const WORD: u8 = 0;
const SPLIT: u8 = 1;
const DROP: u8 = 2;
const COMPONENT: u8 = 3;
const BACKSLASH: u8 = 4;

const CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    // Blanks and the prefilter's separators (`prefilter::SEPARATORS`).
    let split = b" \t\n\r\x0b\x0c;&|()<>{}$`=!,";
    let mut i = 0;
    while i < split.len() {
        t[split[i] as usize] = SPLIT;
        i += 1;
    }
    t[b'\'' as usize] = DROP;
    t[b'"' as usize] = DROP;
    t[b'/' as usize] = COMPONENT;
    t[b'\\' as usize] = BACKSLASH;
    t
};

/// Calls `f` with the hash of each word of `text` as [`crate::ProgramWords::may_match`]
/// reads a line (quotes dropped, split at blanks and separators, the last `/`
/// component), once with `\` as a separator and, when there is one, once with `\`
/// dropped (`r\m` is `rm`).
fn each_word(text: &[u8], mut f: impl FnMut(u64)) {
    if hash_words(text, false, &mut f) {
        hash_words(text, true, &mut f);
    }
}

/// One pass of [`each_word`]; whether `text` holds a backslash.
fn hash_words(text: &[u8], drop_backslash: bool, f: &mut impl FnMut(u64)) -> bool {
    let mut h = FNV_OFFSET;
    let mut len = 0usize;
    let mut backslash = false;
    let mut i = 0;
    while i < text.len() {
        // Most bytes are part of a word: a run of them, without the `match` below.
        let run = i;
        while let Some(&b) = text.get(i).filter(|b| CLASS[usize::from(**b)] == WORD) {
            h = step(h, b);
            i += 1;
        }
        len += i - run;
        let Some(&b) = text.get(i) else { break };
        i += 1;
        match CLASS[usize::from(b)] {
            SPLIT if len > 0 => f(h),
            DROP => continue,
            BACKSLASH if drop_backslash => continue,
            BACKSLASH => backslash = true,
            _ => {}
        }
        h = FNV_OFFSET;
        len = 0;
    }
    if len > 0 {
        f(h);
    }
    backslash
}

/// What the sieve looks for, made once per engine from its program words.
#[derive(Debug, Clone)]
pub(crate) struct Sieve {
    /// Program words, each also with the extensions `program_name` drops (`rm.exe`).
    programs: WordSet,
    /// Builtins after which later commands mean something else.
    state: WordSet,
    alias: WordSet,
    /// Lower-cased literals one of which a redirect rule's target holds; `None`: any.
    redirect_literals: Option<Vec<Vec<u8>>>,
}

/// Words that change what later commands of the script mean: where they run
/// (`track_cd`), what their variables and aliases hold (`dynamic::follow`).
const STATE_WORDS: &[&str] = &[
    "cd", "pushd", "popd", "export", "local", "declare", "typeset", "readonly", "unset", "set",
    "alias", "unalias",
];

/// Programs the engine reads files for that the prefilter's words lack.
const MORE_PROGRAMS: &[&str] = &["source-env", "."];

/// Where output may go without a redirect rule or backstop's own places caring.
const HARMLESS_OUTPUT: &[&[u8]] = &[b"/dev/null", b"/dev/stdout", b"/dev/stderr", b"/dev/tty"];

impl Sieve {
    /// `None` when a rule looks at every command: then nothing can be left out.
    pub(crate) fn new(words: &crate::ProgramWords) -> Option<Sieve> {
        if words.every_command {
            return None;
        }
        let mut programs = WordSet::new();
        for w in words
            .words
            .iter()
            .map(String::as_str)
            .chain(MORE_PROGRAMS.iter().copied())
        {
            programs.insert_word(w);
            for ext in [".exe", ".com", ".bat", ".cmd"] {
                programs.insert_word(&format!("{w}{ext}"));
            }
        }
        let mut state = WordSet::new();
        for w in STATE_WORDS {
            state.insert_word(w);
        }
        let mut alias = WordSet::new();
        alias.insert_word("alias");
        alias.insert_word("unalias");
        let redirect_literals = if words.redirects {
            words.redirect_literals.as_ref().map(|l| {
                l.iter()
                    .map(|s| s.to_ascii_lowercase().into_bytes())
                    .collect()
            })
        } else {
            Some(Vec::new())
        };
        Some(Sieve {
            programs,
            state,
            alias,
            redirect_literals,
        })
    }

    /// The commands of `text` that could matter, parsed as [`Dialect::parse`] would
    /// parse the whole text; `None` when the sieve cannot read it (the caller reads
    /// it whole). `args`: the script has positional parameters; `on_path` says
    /// whether a bare name is a script on `PATH` the engine would read.
    pub(crate) fn commands(
        &self,
        text: &str,
        dialect: Dialect,
        args: bool,
        on_path: &mut dyn FnMut(&str) -> bool,
    ) -> Option<Script> {
        if !matches!(dialect, Dialect::Bash | Dialect::Zsh) {
            return None;
        }
        let kept = self.kept(text, dialect, args, on_path)?;
        read(text, dialect, &kept)
    }

    /// The byte ranges of the pieces to read, adjacent ones joined.
    fn kept(
        &self,
        text: &str,
        dialect: Dialect,
        args: bool,
        on_path: &mut dyn FnMut(&str) -> bool,
    ) -> Option<Vec<(usize, usize)>> {
        let pieces = self.pieces(text, dialect, args, on_path)?;
        let src = text.as_bytes();
        // A piece repeated with nothing changed in between: only its last place counts.
        let mut last: HashMap<(u32, &[u8]), usize, FnvBuild> = HashMap::default();
        for (i, p) in pieces.iter().enumerate() {
            if p.keep && !p.stateful {
                last.insert((p.generation, &src[p.start..p.end]), i);
            }
        }
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            let read = p.keep
                && (p.stateful || last.get(&(p.generation, &src[p.start..p.end])) == Some(&i));
            if !read {
                continue;
            }
            match out.last_mut() {
                Some(prev) if prev.1 == p.start => prev.1 = p.end,
                _ => out.push((p.start, p.end)),
            }
        }
        Some(out)
    }

    /// Every top-level piece of `text`, with what the sieve found in it; `None` when it
    /// cannot follow the text.
    fn pieces(
        &self,
        text: &str,
        dialect: Dialect,
        args: bool,
        on_path: &mut dyn FnMut(&str) -> bool,
    ) -> Option<Vec<PieceSpan>> {
        let mut lx = Lexer {
            src: text.as_bytes(),
            pos: 0,
            zsh: dialect == Dialect::Zsh,
            nesting: 0,
            case_depth: 0,
            in_case_pattern: false,
            pending: Vec::new(),
            buf: Vec::new(),
            bail: false,
            sieve: self,
            on_path,
            piece: Piece::default(),
            piece_start: 0,
            pieces: Vec::new(),
            hot: HashSet::default(),
            args,
            assigned_any: false,
            generation: 0,
            extra: WordSet::new(),
            looked_up: HashMap::default(),
        };
        lx.list(Term::Eof);
        if lx.bail || lx.case_depth > 0 || lx.in_case_pattern {
            return None;
        }
        let end = lx.src.len();
        lx.end_piece(end);
        Some(lx.pieces)
    }
}

/// The commands of the byte ranges `pieces` of `text`, each parsed on its own as the
/// reader parses it within the whole text; `None` when one is incomplete.
fn read(text: &str, dialect: Dialect, pieces: &[(usize, usize)]) -> Option<Script> {
    let mut script = Script::default();
    let mut line = 1;
    let mut counted = 0;
    for &(start, end) in pieces {
        line += memchr::memchr_iter(b'\n', text.as_bytes().get(counted..start)?).count();
        counted = start;
        let piece = crate::posix::parse_at(text.get(start..end)?, dialect, line);
        if piece.incomplete {
            return None;
        }
        let base = script.commands.len();
        for mut c in piece.commands {
            c.pipe_from = c.pipe_from.map(|i| i + base);
            c.dialect = dialect;
            script.commands.push(c);
        }
    }
    Some(script)
}

/// Every piece the sieve splits `text` into, kept or not, each read on its own; `None`
/// when the sieve would read the text whole. For the tests: this must be what reading
/// the whole text gives.
#[doc(hidden)]
pub fn read_every_piece(text: &str, dialect: Dialect) -> Option<Script> {
    if !matches!(dialect, Dialect::Bash | Dialect::Zsh) {
        return None;
    }
    let sieve = Sieve::new(&crate::Engine::builtin().program_words())?;
    let spans = sieve.pieces(text, dialect, true, &mut |_| true)?;
    let ranges: Vec<(usize, usize)> = spans.iter().map(|p| (p.start, p.end)).collect();
    // The pieces cover the text, in order, without a gap.
    let covers = ranges.first().is_none_or(|r| r.0 == 0)
        && ranges.windows(2).all(|w| w[0].1 == w[1].0)
        && ranges.last().map_or(text.is_empty(), |r| r.1 == text.len());
    if !covers {
        return Some(Script {
            commands: Vec::new(),
            incomplete: true,
        });
    }
    read(text, dialect, &ranges)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Term {
    Eof,
    Paren,
}

enum Tok {
    Word(WordInfo),
    Sep,
    CaseSep,
    Newline,
    Pipe,
    Redirect {
        output: bool,
        heredoc: bool,
        dup: bool,
        strip_tabs: bool,
    },
    OpenParen,
    CloseParen,
    Eof,
}

/// A word read: its text after quote removal is `buf[start..]`, or `src[from..to]`
/// when it had nothing to remove (`plain`; then nothing was copied).
#[derive(Clone, Copy)]
struct WordInfo {
    start: usize,
    plain: Option<(usize, usize)>,
    /// [`QUOTED`] and [`EXPANSION`], a whole word wide: a word is copied often, and
    /// byte-wide fields stall those copies.
    flags: usize,
}

/// The word had quotes or escapes.
const QUOTED: usize = 1;
/// The word holds an expansion or a substitution.
const EXPANSION: usize = 2;

impl WordInfo {
    fn at(start: usize) -> WordInfo {
        WordInfo {
            start,
            plain: None,
            flags: 0,
        }
    }

    fn quoted(&self) -> bool {
        self.flags & QUOTED != 0
    }

    fn expansion(&self) -> bool {
        self.flags & EXPANSION != 0
    }
}

/// The text of a word: split from the lexer so the rest of it stays usable.
fn word_text<'x>(src: &'x [u8], buf: &'x [u8], w: &WordInfo) -> &'x [u8] {
    match w.plain {
        Some((from, to)) => &src[from..to],
        None => &buf[w.start..],
    }
}

struct Heredoc {
    delimiter: Vec<u8>,
    strip_tabs: bool,
    expand: bool,
}

/// What the sieve found in the piece being read.
#[derive(Default)]
struct Piece {
    /// A program word (or an alias defined earlier).
    hit: bool,
    /// Changes what later commands mean.
    stateful: bool,
    alias: bool,
    /// Must be read for another reason.
    keep: bool,
    /// Refers to a variable that may hold a program word.
    hot_ref: bool,
    /// Names assigned in it.
    assigned: Vec<Vec<u8>>,
}

struct PieceSpan {
    start: usize,
    end: usize,
    keep: bool,
    stateful: bool,
    generation: u32,
}

/// The command being read, as far as the reader's `Builder` matters.
#[derive(Default, Clone, Copy)]
struct Builder {
    words: usize,
    skip_rest: bool,
}

struct Lexer<'a, 'f> {
    src: &'a [u8],
    pos: usize,
    zsh: bool,
    nesting: usize,
    case_depth: usize,
    in_case_pattern: bool,
    pending: Vec<Heredoc>,
    /// Words' texts after quote removal, a stack: a word inside a substitution is
    /// read above the word around it and dropped when done.
    buf: Vec<u8>,
    bail: bool,
    sieve: &'a Sieve,
    on_path: &'f mut dyn FnMut(&str) -> bool,
    piece: Piece,
    piece_start: usize,
    pieces: Vec<PieceSpan>,
    /// Variables that may hold a program word.
    hot: HashSet<Vec<u8>, FnvBuild>,
    args: bool,
    assigned_any: bool,
    generation: u32,
    /// Words of `alias` pieces: program words from then on.
    extra: WordSet,
    /// Names at command position already asked about: whether the piece is kept.
    looked_up: HashMap<Vec<u8>, bool, FnvBuild>,
}

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

impl Lexer<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.get(self.pos + n).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn peek_nonblank(&self) -> Option<u8> {
        self.src
            .get(self.pos..)?
            .iter()
            .copied()
            .find(|b| *b != b' ' && *b != b'\t')
    }

    /// The end of a piece, at a newline where the reader keeps no state.
    fn end_piece(&mut self, end: usize) {
        if end <= self.piece_start {
            return;
        }
        let p = std::mem::take(&mut self.piece);
        // A variable given a value in a piece that is read for any reason may name a
        // program (`x=rm`, `x=$'\x72m'`, `x=$1`).
        if p.hit || p.hot_ref || p.keep {
            self.hot.extend(p.assigned.iter().cloned());
        }
        if p.alias {
            let text = &self.src[self.piece_start..end];
            let extra = &mut self.extra;
            each_word(text, |h| extra.insert(h));
        }
        self.pieces.push(PieceSpan {
            start: self.piece_start,
            end,
            keep: p.hit || p.stateful || p.keep || p.hot_ref,
            stateful: p.stateful,
            generation: self.generation,
        });
        if p.stateful {
            self.generation += 1;
            self.assigned_any = true;
        }
        self.piece_start = end;
    }

    /// Parse commands until the terminator, as `Parser::parse_list`.
    fn list(&mut self, term: Term) {
        if self.nesting >= MAX_NESTING {
            self.bail = true;
            self.pos = self.src.len();
            return;
        }
        self.nesting += 1;
        let mut b = Builder::default();
        let mut paren_depth = 0usize;
        while !self.bail {
            match self.next_token() {
                Tok::Eof => {
                    if term == Term::Paren {
                        self.bail = true;
                    }
                    break;
                }
                Tok::Word(w) => {
                    if self.in_case_pattern {
                        if word_text(self.src, &self.buf, &w) == b"esac" {
                            self.case_depth = self.case_depth.saturating_sub(1);
                            self.in_case_pattern = false;
                        }
                    } else {
                        self.add_word(&mut b, w);
                    }
                    self.buf.truncate(w.start);
                }
                Tok::Pipe if self.in_case_pattern => {}
                Tok::CaseSep => {
                    b = Builder::default();
                    self.in_case_pattern = self.case_depth > 0;
                }
                Tok::Sep | Tok::Pipe => b = Builder::default(),
                Tok::Newline => {
                    b = Builder::default();
                    self.read_heredoc_bodies();
                    if term == Term::Eof
                        && self.nesting == 1
                        && paren_depth == 0
                        && self.case_depth == 0
                        && !self.in_case_pattern
                        && !self.bail
                    {
                        self.end_piece(self.pos);
                    }
                }
                Tok::Redirect {
                    output,
                    heredoc,
                    dup,
                    strip_tabs,
                } => self.add_redirect(output, heredoc, dup, strip_tabs),
                Tok::OpenParen if self.in_case_pattern => {}
                Tok::OpenParen => {
                    if b.words > 0 && self.peek_nonblank() == Some(b')') {
                        // `name () { …; }`: a function definition; its body follows.
                        self.skip_blanks();
                        self.pos += 1;
                        b = Builder::default();
                        continue;
                    }
                    if self.peek() == Some(b'(') && b.words == 0 {
                        self.pos += 1;
                        self.skip_arithmetic();
                        continue;
                    }
                    b = Builder::default();
                    paren_depth += 1;
                }
                Tok::CloseParen if self.in_case_pattern => {
                    self.in_case_pattern = false;
                    b = Builder::default();
                }
                Tok::CloseParen => {
                    b = Builder::default();
                    if paren_depth == 0 {
                        if term == Term::Paren {
                            break;
                        }
                        // A stray `)`: the reader marks the text incomplete.
                        self.bail = true;
                    } else {
                        paren_depth -= 1;
                    }
                }
            }
        }
        self.nesting -= 1;
    }

    fn add_word(&mut self, b: &mut Builder, w: WordInfo) {
        if b.skip_rest {
            return;
        }
        if b.words == 0 {
            if self.assignment(&w) {
                self.piece.stateful = true;
                return;
            }
            if !w.quoted() && self.keyword_start(&w, b) {
                return;
            }
            self.command_word(w);
        } else {
            // `export x=…`, `local x=…`: the name's value may come from this piece.
            self.assignment(&w);
        }
        b.words += 1;
    }

    /// `NAME=value` as the reader's `is_assignment` sees it; notes the name.
    fn assignment(&mut self, w: &WordInfo) -> bool {
        let text = word_text(self.src, &self.buf, w);
        let Some(eq) = text.iter().position(|b| *b == b'=') else {
            return false;
        };
        if eq == 0 {
            return false;
        }
        let name = &text[..eq];
        let name = name.strip_suffix(b"+").unwrap_or(name);
        let name = name.split(|b| *b == b'[').next().unwrap_or(name);
        let is_name = !name.is_empty()
            && !name[0].is_ascii_digit()
            && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if is_name {
            self.piece.assigned.push(name.to_vec());
        }
        is_name
    }

    /// Keywords at command position, as `Parser::is_keyword_start` (POSIX shells).
    fn keyword_start(&mut self, w: &WordInfo, b: &mut Builder) -> bool {
        let text = word_text(self.src, &self.buf, w);
        if text.len() > 8
            || !matches!(
                text.first(),
                Some(b'!' | b'{' | b'}' | b'[' | b']' | b'a'..=b'z')
            )
        {
            return false;
        }
        match text {
            b"!" | b"{" | b"}" | b"then" | b"else" | b"do" | b"done" | b"fi" | b"elif" | b"if"
            | b"while" | b"until" | b"time" | b"coproc" | b"[[" | b"]]" => true,
            b"esac" => {
                self.case_depth = self.case_depth.saturating_sub(1);
                self.in_case_pattern = false;
                true
            }
            b"case" => {
                self.skip_words_until(b"in");
                self.case_depth += 1;
                self.in_case_pattern = true;
                true
            }
            b"for" | b"select" | b"function" => {
                b.skip_rest = true;
                true
            }
            _ => false,
        }
    }

    fn skip_words_until(&mut self, word: &[u8]) {
        while !self.bail {
            match self.next_token() {
                Tok::Word(w) => {
                    let found = word_text(self.src, &self.buf, &w) == word;
                    self.buf.truncate(w.start);
                    if found {
                        return;
                    }
                }
                Tok::Eof => return,
                Tok::Newline => self.read_heredoc_bodies(),
                _ => {}
            }
        }
    }

    /// The program word of a command, before wrappers are peeled.
    fn command_word(&mut self, w: WordInfo) {
        if w.expansion() {
            // `$x args`: what a variable set earlier names runs, and it may be a `cd`.
            if self.assigned_any || self.args {
                self.piece.keep = true;
                self.piece.stateful = true;
            }
            return;
        }
        let p = &self.piece;
        if p.keep || p.hit || p.stateful || p.hot_ref {
            return;
        }
        let text = word_text(self.src, &self.buf, &w);
        if text.is_empty() {
            return;
        }
        if text.contains(&b'/') || text.contains(&b'\\') || text == b"." {
            self.piece.keep = true;
            return;
        }
        // A program word made the piece one to read already (`note_word`).
        let found = match self.looked_up.get(text) {
            Some(found) => *found,
            None => {
                let name = String::from_utf8_lossy(text);
                let found =
                    !crate::scripts::BUILTINS.contains(&name.as_ref()) && (self.on_path)(&name);
                self.looked_up.insert(text.to_vec(), found);
                found
            }
        };
        self.piece.keep |= found;
    }

    /// What every word read tells: program words, state words, aliases.
    fn note_word(&mut self, w: &WordInfo) {
        let text = word_text(self.src, &self.buf, w);
        let (sieve, extra, piece) = (self.sieve, &self.extra, &mut self.piece);
        each_word(text, |h| {
            if sieve.programs.contains(h) {
                piece.hit = true;
            }
            // A command an alias names may hold a `cd` or an assignment.
            if extra.contains(h) {
                piece.hit = true;
                piece.stateful = true;
            }
            if sieve.state.contains(h) {
                piece.stateful = true;
                if sieve.alias.contains(h) {
                    piece.alias = true;
                }
            }
        });
    }

    fn add_redirect(&mut self, output: bool, heredoc: bool, dup: bool, strip_tabs: bool) {
        self.skip_blanks();
        let w = self.read_word();
        if heredoc {
            let (delimiter, quoted) = match w {
                Some(w) => (word_text(self.src, &self.buf, &w).to_vec(), w.quoted()),
                None => (Vec::new(), false),
            };
            if let Some(w) = w {
                self.buf.truncate(w.start);
            }
            self.pending.push(Heredoc {
                delimiter,
                strip_tabs,
                expand: !quoted,
            });
            return;
        }
        let Some(w) = w else { return };
        if output && !self.piece.keep {
            let target = word_text(self.src, &self.buf, &w).to_ascii_lowercase();
            let literal = match &self.sieve.redirect_literals {
                None => true,
                Some(l) => l.iter().any(|l| memchr::memmem::find(&target, l).is_some()),
            };
            let fd = dup && target.iter().all(|b| b.is_ascii_digit() || *b == b'-');
            if literal || !(fd || target.is_empty() || HARMLESS_OUTPUT.contains(&&target[..])) {
                self.piece.keep = true;
            }
        }
        self.buf.truncate(w.start);
    }

    /// After a newline: skip the bodies of the heredocs the line opened.
    fn read_heredoc_bodies(&mut self) {
        for h in std::mem::take(&mut self.pending) {
            let mut found = false;
            while self.pos < self.src.len() {
                let end = memchr::memchr(b'\n', &self.src[self.pos..])
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
                // An unquoted body's substitutions run: the reader reads them.
                if h.expand
                    && (memchr::memchr(b'`', line).is_some()
                        || memchr::memmem::find(line, b"$(").is_some())
                {
                    self.piece.keep = true;
                }
            }
            if !found {
                self.bail = true;
            }
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
                    self.list(Term::Paren);
                }
                _ => {}
            }
        }
        self.bail = true;
    }

    // Inlined into `list`: returning a token by value costs a stalled copy.
    #[inline(always)]
    fn next_token(&mut self) -> Tok {
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                return Tok::Eof;
            };
            match c {
                b'\\' if self.peek_at(1) == Some(b'\n') => {
                    self.pos += 2;
                }
                b'\\' if self.peek_at(1) == Some(b'\r') && self.peek_at(2) == Some(b'\n') => {
                    self.pos += 3;
                }
                b'#' if !self.zsh => {
                    self.pos = memchr::memchr(b'\n', &self.src[self.pos..])
                        .map_or(self.src.len(), |i| self.pos + i);
                }
                b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    return Tok::Newline;
                }
                b';' => {
                    self.pos += 1;
                    if matches!(self.peek(), Some(b';' | b'&')) {
                        while matches!(self.peek(), Some(b';' | b'&')) {
                            self.pos += 1;
                        }
                        return Tok::CaseSep;
                    }
                    return Tok::Sep;
                }
                b'&' => {
                    match self.peek_at(1) {
                        Some(b'&') => {
                            self.pos += 2;
                            return Tok::Sep;
                        }
                        Some(b'>') => {
                            self.pos += 2;
                            if self.peek() == Some(b'>') {
                                self.pos += 1;
                            }
                            return Tok::Redirect {
                                output: true,
                                heredoc: false,
                                dup: false,
                                strip_tabs: false,
                            };
                        }
                        Some(b'|') => {
                            self.pos += 2;
                            return Tok::Pipe;
                        }
                        _ => {}
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
                    if self.peek_at(1) == Some(b'(') {
                        // Process substitution: its command runs.
                        return Tok::Word(
                            self.read_word()
                                .unwrap_or_else(|| WordInfo::at(self.buf.len())),
                        );
                    }
                    return self.redirect_op();
                }
                b'(' => {
                    self.pos += 1;
                    return Tok::OpenParen;
                }
                b')' => {
                    self.pos += 1;
                    return Tok::CloseParen;
                }
                _ => {
                    let start = self.pos;
                    let Some(w) = self.read_word() else {
                        // Nothing consumed: the reader marks the text incomplete.
                        self.bail = true;
                        self.pos = self.src.len();
                        return Tok::Eof;
                    };
                    let text = word_text(self.src, &self.buf, &w);
                    if matches!(self.peek(), Some(b'<' | b'>'))
                        && !w.quoted()
                        && !text.is_empty()
                        && text.iter().all(u8::is_ascii_digit)
                        && self.pos == start + text.len()
                    {
                        self.buf.truncate(w.start);
                        return self.redirect_op();
                    }
                    return Tok::Word(w);
                }
            }
        }
    }

    /// As `Parser::read_redirect_op`.
    fn redirect_op(&mut self) -> Tok {
        for candidate in [
            &b"<<<"[..],
            b"<<-",
            b"<<",
            b"<>",
            b"<&",
            b">>",
            b">|",
            b">&",
            b">?",
            b"<",
            b">",
        ] {
            if self.src[self.pos..].starts_with(candidate) {
                self.pos += candidate.len();
                let dup = candidate.ends_with(b"&");
                if dup && self.peek() == Some(b'-') {
                    self.pos += 1;
                }
                return Tok::Redirect {
                    output: candidate.contains(&b'>'),
                    heredoc: candidate.starts_with(b"<<") && candidate != b"<<<",
                    dup,
                    strip_tabs: candidate == b"<<-",
                };
            }
        }
        self.pos += 1;
        Tok::Redirect {
            output: false,
            heredoc: false,
            dup: false,
            strip_tabs: false,
        }
    }

    /// Read one word as `Parser::read_word` does, its text after quote removal onto
    /// `buf` (unless it is plain source text); substitutions inside are read as lists.
    fn read_word(&mut self) -> Option<WordInfo> {
        let begin = self.pos;
        let mut w = WordInfo::at(self.buf.len());
        // Plain so far: `src[begin..pos]` is the text, nothing is on `buf`.
        let mut plain = true;
        while let Some(c) = self.peek() {
            let empty = if plain {
                self.pos == begin
            } else {
                self.buf.len() == w.start
            };
            let zsh_subst = c == b'=' && self.zsh && empty && self.peek_at(1) == Some(b'(');
            if PLAIN[usize::from(c)] || (c == b'=' && !zsh_subst) {
                // A run of ordinary bytes at once.
                let run = self.src[self.pos + 1..]
                    .iter()
                    .position(|b| !PLAIN[usize::from(*b)])
                    .map_or(self.src.len(), |i| self.pos + 1 + i);
                if !plain {
                    self.buf.extend_from_slice(&self.src[self.pos..run]);
                }
                self.pos = run;
                continue;
            }
            let process = (c == b'<' || c == b'>') && self.peek_at(1) == Some(b'(') && empty;
            let glob_paren = c == b'(' && !empty && self.peek_at(1) != Some(b')');
            if is_meta(c) && !process && !glob_paren {
                break;
            }
            if plain {
                self.buf.extend_from_slice(&self.src[begin..self.pos]);
                plain = false;
            }
            match c {
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(n) => {
                        self.buf.push(n);
                        w.flags |= QUOTED;
                        self.pos += 2;
                    }
                    None => self.pos += 1,
                },
                b'\'' => {
                    self.pos += 1;
                    w.flags |= QUOTED;
                    self.read_single_quoted();
                }
                b'"' => {
                    self.pos += 1;
                    w.flags |= QUOTED;
                    self.read_double_quoted(&mut w);
                }
                b'$' => self.read_dollar(&mut w),
                b'`' => {
                    self.pos += 1;
                    w.flags |= EXPANSION;
                    self.buf.extend_from_slice(b"`...`");
                    self.read_backticks();
                }
                b'<' | b'>' => {
                    self.pos += 2;
                    w.flags |= EXPANSION;
                    self.buf
                        .extend_from_slice(if c == b'<' { b"<(...)" } else { b">(...)" });
                    self.list(Term::Paren);
                }
                b'=' => {
                    self.pos += 2;
                    w.flags |= EXPANSION;
                    self.buf.extend_from_slice(b"=(...)");
                    self.list(Term::Paren);
                }
                _ => {
                    // `(` inside a word: an array, an extglob, a zsh qualifier.
                    let text = &self.buf[w.start..];
                    let assigns = text.ends_with(b"=")
                        && crate::posix::is_assignment(&String::from_utf8_lossy(text));
                    if assigns
                        || matches!(text.last(), Some(b'!' | b'@' | b'*' | b'+' | b'?'))
                        || self.zsh
                    {
                        self.read_balanced_parens(&mut w);
                    } else {
                        break;
                    }
                }
            }
            if self.bail {
                break;
            }
        }
        if self.pos == begin {
            return None;
        }
        if plain {
            w.plain = Some((begin, self.pos));
        }
        self.note_word(&w);
        Some(w)
    }

    fn read_balanced_parens(&mut self, w: &mut WordInfo) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.buf.push(c);
                        self.pos += 1;
                        return;
                    }
                }
                b'$' => {
                    self.read_dollar(w);
                    continue;
                }
                b'\'' => {
                    self.pos += 1;
                    self.read_single_quoted();
                    continue;
                }
                b'"' => {
                    self.pos += 1;
                    self.read_double_quoted(w);
                    continue;
                }
                _ => {}
            }
            self.buf.push(c);
            self.pos += 1;
        }
        self.bail = true;
    }

    fn read_single_quoted(&mut self) {
        match memchr::memchr(b'\'', &self.src[self.pos..]) {
            Some(i) => {
                self.buf
                    .extend_from_slice(&self.src[self.pos..self.pos + i]);
                self.pos += i + 1;
            }
            None => {
                self.pos = self.src.len();
                self.bail = true;
            }
        }
    }

    fn read_double_quoted(&mut self, w: &mut WordInfo) {
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(n @ (b'"' | b'\\' | b'$' | b'`')) => {
                        self.buf.push(n);
                        self.pos += 2;
                    }
                    _ => {
                        self.buf.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.read_dollar(w),
                b'`' => {
                    self.pos += 1;
                    w.flags |= EXPANSION;
                    self.buf.extend_from_slice(b"`...`");
                    self.read_backticks();
                }
                _ => {
                    self.buf.push(c);
                    self.pos += 1;
                }
            }
            if self.bail {
                return;
            }
        }
        self.bail = true;
    }

    /// A variable the script refers to: read when it may hold a program word.
    fn note_reference(&mut self, name: &[u8]) {
        let positional = name
            .first()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'@' || *b == b'*');
        if (positional && self.args) || (!self.hot.is_empty() && self.hot.contains(name)) {
            self.piece.hot_ref = true;
        }
    }

    /// At a `$`, as `Parser::read_dollar`.
    fn read_dollar(&mut self, w: &mut WordInfo) {
        match self.peek_at(1) {
            Some(b'(') if self.peek_at(2) == Some(b'(') => {
                self.pos += 3;
                w.flags |= EXPANSION;
                self.buf.extend_from_slice(b"$((...))");
                self.skip_arithmetic();
            }
            Some(b'(') => {
                self.pos += 2;
                w.flags |= EXPANSION;
                self.buf.extend_from_slice(b"$(...)");
                self.list(Term::Paren);
            }
            Some(b'{') => {
                w.flags |= EXPANSION;
                let start = self.pos;
                self.pos += 2;
                let name_start = self.pos;
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
                            let keep = self.buf.len();
                            let mut scratch = WordInfo::at(keep);
                            self.read_dollar(&mut scratch);
                            self.buf.truncate(keep);
                            continue;
                        }
                        b'\\' => self.pos += 1,
                        _ => {}
                    }
                    self.pos += 1;
                }
                if depth != 0 {
                    self.bail = true;
                }
                let end = self.pos.min(self.src.len());
                let src = self.src;
                let inner = &src[name_start.min(end)..end];
                let inner = inner
                    .iter()
                    .position(|b| !matches!(b, b'=' | b'#' | b'!'))
                    .map_or(&inner[..0], |i| &inner[i..]);
                let len = inner
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .unwrap_or(inner.len());
                let name = if len == 0 {
                    &inner[..inner.len().min(1)]
                } else {
                    &inner[..len]
                };
                self.note_reference(name);
                self.buf.extend_from_slice(&self.src[start..end]);
            }
            Some(b'\'') => {
                self.pos += 2;
                w.flags |= QUOTED;
                // `$'\x72m'`: decoded by the reader, not here.
                self.piece.keep = true;
                self.read_ansi_c();
            }
            Some(b'"') => {
                self.pos += 2;
                w.flags |= QUOTED;
                self.read_double_quoted(w);
            }
            Some(c) if c.is_ascii_alphanumeric() || b"_@*#?$!-".contains(&c) => {
                w.flags |= EXPANSION;
                self.buf.push(b'$');
                self.pos += 1;
                let name_start = self.pos;
                if c.is_ascii_alphabetic() || c == b'_' {
                    while let Some(n) = self.peek() {
                        if n.is_ascii_alphanumeric() || n == b'_' {
                            self.buf.push(n);
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                } else {
                    self.buf.push(c);
                    self.pos += 1;
                }
                let src = self.src;
                self.note_reference(&src[name_start..self.pos]);
            }
            _ => {
                self.buf.push(b'$');
                self.pos += 1;
            }
        }
    }

    /// `$'…'`, as `Parser::read_ansi_c`: only where it ends matters here, and what it
    /// leaves in the word for the reader's assignment and glob tests.
    fn read_ansi_c(&mut self) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\'' => return,
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'x' => {
                            let v = self.read_radix(16, 2);
                            self.buf.push(v.unwrap_or(u32::from(b'x')) as u8);
                        }
                        b'u' | b'U' => {
                            let max = if e == b'u' { 4 } else { 8 };
                            if let Some(ch) = self.read_radix(16, max).and_then(char::from_u32) {
                                let mut b = [0u8; 4];
                                self.buf
                                    .extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                            }
                        }
                        b'0'..=b'7' => {
                            self.pos -= 1;
                            let v = self.read_radix(8, 3).unwrap_or(0);
                            self.buf.push((v & 0xff) as u8);
                        }
                        b'c' => {
                            if let Some(n) = self.peek() {
                                self.pos += 1;
                                self.buf.push(n & 0x1f);
                            }
                        }
                        b'n' => self.buf.push(b'\n'),
                        b't' => self.buf.push(b'\t'),
                        b'r' => self.buf.push(b'\r'),
                        b'a' => self.buf.push(7),
                        b'b' => self.buf.push(8),
                        b'e' | b'E' => self.buf.push(27),
                        b'f' => self.buf.push(12),
                        b'v' => self.buf.push(11),
                        other => self.buf.push(other),
                    }
                }
                _ => self.buf.push(c),
            }
        }
        self.bail = true;
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

    /// Positioned after an opening backtick: to the closing one. What runs inside is
    /// left to the reader: the piece is kept.
    fn read_backticks(&mut self) {
        self.piece.keep = true;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'`' => return,
                b'\\' if matches!(self.peek(), Some(b'`' | b'\\' | b'$')) => self.pos += 1,
                _ => {}
            }
        }
        self.bail = true;
    }
}
