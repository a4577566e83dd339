//! What a database client will do with each line a person submits, in that client's
//! own terms: the statement buffer it keeps across lines, its terminators
//! (`;`, mysql's `DELIMITER`, `\g`), its own commands (`\c`, `USE`, `.open`, `\i`,
//! `source`, `.read`, `\!`, `system`, `.shell`) and the database it is connected to.
//!
//! Each submitted line becomes a list of [`Check`]s: one-shot command lines equal in
//! effect to what the client is about to run (`psql -d app -c 'DROP TABLE t;'`),
//! which the engine then decides exactly as `backstop check` would. Nothing here
//! does I/O except reading the script files a line names (`\i FILE`), so that what
//! they contain is decided too.

use std::path::{Path, PathBuf};

/// The clients `backstop wrap` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Psql,
    Mysql,
    Sqlite,
    Redis,
    Mongo,
}

impl Kind {
    /// The client a program name is (`/usr/bin/psql`, `mariadb`, `valkey-cli`).
    pub fn of_program(program: &str) -> Option<Kind> {
        let name = Path::new(program)
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".exe").unwrap_or(&name);
        match name {
            "psql" => Some(Kind::Psql),
            "mysql" | "mariadb" => Some(Kind::Mysql),
            "sqlite3" | "sqlite" => Some(Kind::Sqlite),
            "redis-cli" | "valkey-cli" | "keydb-cli" => Some(Kind::Redis),
            "mongosh" | "mongo" => Some(Kind::Mongo),
            _ => None,
        }
    }

    /// The program name the engine's rules know this client by.
    pub fn program(self) -> &'static str {
        match self {
            Kind::Psql => "psql",
            Kind::Mysql => "mysql",
            Kind::Sqlite => "sqlite3",
            Kind::Redis => "redis-cli",
            Kind::Mongo => "mongosh",
        }
    }
}

/// Something to decide before the client may run a submitted line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A command line (bash syntax) whose effect equals what the client will do.
    Line(String),
    /// The client would do something backstop cannot see, so it is refused: why.
    Refuse(String),
    /// psql's `\gexec`: the statements its query generates are known only once the
    /// query has run; the caller runs it read-only and decides each one.
    Gexec { conn: Vec<String>, query: String },
}

/// The deepest `\i` inside `\i` that is followed (psql itself stops at 16 levels).
const MAX_DEPTH: usize = 8;
/// Script files larger than this are refused rather than decided unread.
const MAX_SCRIPT: u64 = 4 * 1024 * 1024;

/// The state of one client session, as far as deciding its lines needs it.
#[derive(Debug, Clone)]
pub struct Session {
    pub kind: Kind,
    /// The database: a name, a SQLite file (absolute), or a Redis db number.
    pub db: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    /// The client's working directory (psql `\cd`, sqlite3 `.cd`).
    pub cwd: PathBuf,
    /// The statement typed so far that has not been sent yet.
    buf: String,
    lex: Lex,
    /// mysql's statement delimiter.
    delimiter: String,
    /// psql's last query, which `\g` alone sends again.
    last: String,
}

/// Where a scanner is inside SQL or JavaScript text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lex {
    /// Inside a quoted string or identifier: its closing character, and whether a
    /// backslash escapes the next character.
    quote: Option<(char, bool)>,
    /// psql's `$tag$ … $tag$`.
    dollar: Option<String>,
    /// Nesting depth of `/* */` (nested in PostgreSQL).
    comment: usize,
    /// Parentheses (psql does not end a statement inside them) or brackets (JavaScript).
    depth: i64,
}

impl Session {
    /// A session as the client's own arguments open it.
    pub fn new(kind: Kind, args: &[String], cwd: PathBuf) -> Session {
        let mut s = Session {
            kind,
            db: None,
            user: None,
            host: None,
            port: None,
            cwd,
            buf: String::new(),
            lex: Lex::default(),
            delimiter: ";".into(),
            last: String::new(),
        };
        s.read_args(args);
        s
    }

    /// The statement text the client holds but has not run (for messages).
    pub fn pending(&self) -> &str {
        self.buf.trim()
    }

    /// The client dropped its statement buffer (psql's and mongosh's Ctrl-C).
    pub fn reset_buffer(&mut self) {
        self.buf.clear();
        self.lex = Lex::default();
    }

    /// Decide nothing, only follow: what `line` will make the client run.
    pub fn submit(&mut self, line: &str) -> Vec<Check> {
        let mut out = Vec::new();
        self.feed(line, &mut out, 0);
        out
    }

    /// Input that does not come from a person typing (a pipe, a script file): the
    /// client runs what is left in its buffer when the input ends.
    pub fn submit_all(&mut self, text: &str) -> Vec<Check> {
        let mut out = Vec::new();
        for line in text.lines() {
            self.feed(line, &mut out, 0);
        }
        self.flush(&mut out);
        out
    }

    fn flush(&mut self, out: &mut Vec<Check>) {
        let rest = std::mem::take(&mut self.buf);
        self.lex = Lex::default();
        if !rest.trim().is_empty() {
            match self.kind {
                Kind::Mongo => out.push(self.mongo_line(&rest)),
                _ => self.statement(rest, out),
            }
        }
    }

    fn feed(&mut self, line: &str, out: &mut Vec<Check>, depth: usize) {
        match self.kind {
            Kind::Psql => self.psql_line(line, out, depth),
            Kind::Mysql => self.mysql_line(line, out, depth),
            Kind::Sqlite => self.sqlite_line(line, out, depth),
            Kind::Redis => self.redis_line(line, out),
            Kind::Mongo => self.mongo_line_in(line, out, depth),
        }
    }

    // ------------------------------------------------------------------ arguments

    fn read_args(&mut self, args: &[String]) {
        let (values, positional_db): (&[&str], bool) = match self.kind {
            Kind::Psql => (
                &[
                    "-d",
                    "--dbname",
                    "-U",
                    "--username",
                    "-h",
                    "--host",
                    "-p",
                    "--port",
                    "-c",
                    "--command",
                    "-f",
                    "--file",
                    "-v",
                    "--set",
                    "--variable",
                    "-o",
                    "--output",
                    "-P",
                    "--pset",
                    "-F",
                    "--field-separator",
                    "-R",
                    "--record-separator",
                    "-T",
                    "--table-attr",
                    "-L",
                    "--log-file",
                ],
                true,
            ),
            Kind::Mysql => (
                &[
                    "-D",
                    "--database",
                    "-u",
                    "--user",
                    "-h",
                    "--host",
                    "-P",
                    "--port",
                    "-S",
                    "--socket",
                    "-e",
                    "--execute",
                    "--default-character-set",
                    "--defaults-file",
                    "--defaults-extra-file",
                    "--login-path",
                    "--protocol",
                    "--init-command",
                ],
                true,
            ),
            Kind::Sqlite => (
                &[
                    "-cmd",
                    "-separator",
                    "-newline",
                    "-nullvalue",
                    "-vfs",
                    "-mmap",
                    "-pagecache",
                    "-lookaside",
                    "-maxsize",
                    "-init",
                ],
                true,
            ),
            Kind::Redis => (
                &[
                    "-h", "-p", "-n", "-a", "-u", "-s", "--user", "--pass", "-r", "-i", "-d",
                ],
                false,
            ),
            Kind::Mongo => (
                &[
                    "--host",
                    "--port",
                    "-u",
                    "--username",
                    "-p",
                    "--password",
                    "--authenticationDatabase",
                    "--file",
                    "-f",
                    "--eval",
                ],
                true,
            ),
        };
        let mut positionals = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            i += 1;
            if a == "--" {
                positionals.extend(args[i..].iter().cloned());
                break;
            }
            let (name, attached) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a, None),
            };
            if values.contains(&name) {
                let value = attached.or_else(|| {
                    let v = args.get(i).cloned();
                    i += 1;
                    v
                });
                if let Some(v) = value {
                    self.option(name, &v);
                }
                continue;
            }
            // `-dshop`, `-Uadmin`: a short option with its value attached.
            if self.kind != Kind::Sqlite
                && a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
            {
                let (short, v) = a.split_at(2);
                if values.contains(&short) {
                    self.option(short, v);
                    continue;
                }
            }
            if a.starts_with('-') && a.len() > 1 {
                continue;
            }
            positionals.push(a.to_string());
        }
        if positional_db {
            if let Some(first) = positionals.first() {
                match self.kind {
                    Kind::Psql => {
                        if self.db.is_none() {
                            self.psql_conninfo(first);
                        }
                        if let Some(user) = positionals.get(1) {
                            self.user.get_or_insert_with(|| user.clone());
                        }
                    }
                    Kind::Sqlite => self.db = Some(self.absolute(first)),
                    Kind::Mongo => self.db = Some(mongo_db(first)),
                    _ => {
                        self.db.get_or_insert_with(|| first.clone());
                    }
                }
            }
        }
        if self.kind == Kind::Psql {
            // libpq's defaults: PGDATABASE, else the user name, else the login name.
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            if self.user.is_none() {
                self.user = env("PGUSER");
            }
            if self.db.is_none() {
                self.db = env("PGDATABASE")
                    .or_else(|| self.user.clone())
                    .or_else(|| env("USER"))
                    .or_else(|| env("LOGNAME"));
            }
        }
        if self.kind == Kind::Mongo && self.db.is_none() {
            self.db = Some("test".into());
        }
        if self.kind == Kind::Redis && self.db.is_none() {
            self.db = Some("0".into());
        }
    }

    fn option(&mut self, name: &str, v: &str) {
        match (self.kind, name) {
            (Kind::Psql, "-d" | "--dbname") => self.psql_conninfo(v),
            (Kind::Psql, "-U" | "--username") | (Kind::Mysql, "-u" | "--user") => {
                self.user = Some(v.into());
            }
            (Kind::Psql | Kind::Mysql | Kind::Redis, "-h" | "--host") | (Kind::Mongo, "--host") => {
                self.host = Some(v.into())
            }
            (Kind::Psql | Kind::Redis, "-p" | "--port")
            | (Kind::Mysql, "-P" | "--port")
            | (Kind::Mongo, "--port") => self.port = Some(v.into()),
            (Kind::Mysql, "-D" | "--database") | (Kind::Redis, "-n") => self.db = Some(v.into()),
            (Kind::Redis, "-u") => self.redis_uri(v),
            _ => {}
        }
    }

    /// psql's database argument: a name, `key=value …` or a `postgres://` URI.
    fn psql_conninfo(&mut self, text: &str) {
        if let Some(rest) = text
            .strip_prefix("postgresql://")
            .or_else(|| text.strip_prefix("postgres://"))
        {
            let (auth_host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = auth_host.rsplit_once('@').map_or(auth_host, |(u, h)| {
                self.user = Some(u.split(':').next().unwrap_or(u).to_string());
                h
            });
            let (h, p) = host.split_once(':').unwrap_or((host, ""));
            if !h.is_empty() {
                self.host = Some(h.into());
            }
            if !p.is_empty() {
                self.port = Some(p.into());
            }
            let db = path.split('?').next().unwrap_or("");
            if !db.is_empty() {
                self.db = Some(db.into());
            }
        } else if text.contains('=') {
            for pair in text.split_whitespace() {
                match pair.split_once('=') {
                    Some(("dbname", v)) => self.db = Some(v.trim_matches('\'').into()),
                    Some(("user", v)) => self.user = Some(v.trim_matches('\'').into()),
                    Some(("host", v)) => self.host = Some(v.trim_matches('\'').into()),
                    Some(("port", v)) => self.port = Some(v.trim_matches('\'').into()),
                    _ => {}
                }
            }
        } else {
            self.db = Some(text.into());
        }
    }

    fn redis_uri(&mut self, uri: &str) {
        let rest = uri
            .strip_prefix("rediss://")
            .or_else(|| uri.strip_prefix("redis://"))
            .unwrap_or(uri);
        let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let (h, p) = host.split_once(':').unwrap_or((host, ""));
        if !h.is_empty() {
            self.host = Some(h.into());
        }
        if !p.is_empty() {
            self.port = Some(p.into());
        }
        if !db.is_empty() {
            self.db = Some(db.into());
        }
    }

    fn absolute(&self, p: &str) -> String {
        let expanded = match p.strip_prefix("~/") {
            Some(rest) => {
                crate::config::home_dir().map_or_else(|| p.to_string(), |h| format!("{h}/{rest}"))
            }
            None => p.to_string(),
        };
        let path = Path::new(&expanded);
        if path.is_absolute() {
            expanded
        } else {
            self.cwd.join(path).display().to_string()
        }
    }

    // ------------------------------------------------------------------ the one-shot lines

    /// The command line that runs `sql` against this session's database.
    fn statement(&mut self, sql: String, out: &mut Vec<Check>) {
        let sql = sql.trim().to_string();
        if sql.is_empty() || sql == ";" {
            return;
        }
        let q = sq(&sql);
        let line = match self.kind {
            Kind::Psql => {
                self.last.clone_from(&sql);
                format!(
                    "psql -d {} -c {q}",
                    sq(self.db.as_deref().unwrap_or("postgres"))
                )
            }
            Kind::Mysql => match &self.db {
                Some(db) => format!("mysql -D {} -e {q}", sq(db)),
                None => format!("mysql -e {q}"),
            },
            // No file: a private in-memory database that nothing outlives.
            Kind::Sqlite => match &self.db {
                Some(db) => format!("sqlite3 {} {q}", sq(db)),
                None => return,
            },
            Kind::Redis | Kind::Mongo => return,
        };
        out.push(Check::Line(line));
    }

    fn shell(&self, command: &str, out: &mut Vec<Check>) {
        let command = command.trim();
        // `\!` alone starts an interactive shell: its own integration decides what is typed there.
        if !command.is_empty() {
            out.push(Check::Line(command.to_string()));
        }
    }

    /// Run a script file's lines through this session, as the client does for `\i`.
    fn script(&mut self, file: &str, out: &mut Vec<Check>, depth: usize) {
        let file = file.trim().trim_matches(|c| c == '\'' || c == '"');
        if file.is_empty() {
            return;
        }
        let path = self.absolute(file);
        if depth >= MAX_DEPTH {
            out.push(Check::Refuse(format!(
                "{path} is included more than {MAX_DEPTH} levels deep; backstop does not follow it further"
            )));
            return;
        }
        let text = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_SCRIPT => {
                out.push(Check::Refuse(format!(
                    "{path} is larger than {} MiB; backstop does not decide what it cannot read",
                    MAX_SCRIPT / (1024 * 1024)
                )));
                return;
            }
            // The client cannot read it either: nothing runs.
            Err(_) => return,
            Ok(_) => match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => return,
            },
        };
        // The script has a buffer of its own; what it leaves unterminated still runs.
        let saved = (std::mem::take(&mut self.buf), std::mem::take(&mut self.lex));
        for line in text.lines() {
            self.feed(line, out, depth + 1);
        }
        self.flush(out);
        (self.buf, self.lex) = saved;
    }

    // ------------------------------------------------------------------ psql

    fn psql_line(&mut self, line: &str, out: &mut Vec<Check>, depth: usize) {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut start = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if let Some(tag) = &self.lex.dollar {
                let t: Vec<char> = tag.chars().collect();
                if chars[i..].starts_with(&t) {
                    i += t.len();
                    self.lex.dollar = None;
                } else {
                    i += 1;
                }
                continue;
            }
            if let Some((q, backslash)) = self.lex.quote {
                if backslash && c == '\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    self.lex.quote = None;
                }
                i += 1;
                continue;
            }
            if self.lex.comment > 0 {
                if c == '*' && next == Some('/') {
                    self.lex.comment -= 1;
                    i += 2;
                } else if c == '/' && next == Some('*') {
                    self.lex.comment += 1;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            match c {
                '-' if next == Some('-') => break,
                '/' if next == Some('*') => {
                    self.lex.comment = 1;
                    i += 2;
                }
                '\'' => {
                    let e = i > 0 && matches!(chars[i - 1], 'e' | 'E');
                    self.lex.quote = Some(('\'', e));
                    i += 1;
                }
                '"' => {
                    self.lex.quote = Some(('"', false));
                    i += 1;
                }
                '$' => {
                    // `$tag$` or `$$`, not `$1`.
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&ch| !(ch.is_alphanumeric() || ch == '_'))
                        .map(|p| p + i + 1);
                    match end {
                        Some(e)
                            if chars[e] == '$'
                                && !chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
                        {
                            self.lex.dollar = Some(chars[i..=e].iter().collect());
                            i = e + 1;
                        }
                        _ => i += 1,
                    }
                }
                '(' => {
                    self.lex.depth += 1;
                    i += 1;
                }
                ')' => {
                    self.lex.depth = (self.lex.depth - 1).max(0);
                    i += 1;
                }
                ';' if self.lex.depth == 0 => {
                    let piece: String = chars[start..=i].iter().collect();
                    self.buf.push_str(&piece);
                    let stmt = std::mem::take(&mut self.buf);
                    self.statement(stmt, out);
                    i += 1;
                    start = i;
                }
                '\\' => {
                    let piece: String = chars[start..i].iter().collect();
                    self.buf.push_str(&piece);
                    // A meta-command runs to the end of the line, or to `\\`.
                    let rest: String = chars[i + 1..].iter().collect();
                    let (cmd, after) = match rest.find("\\\\") {
                        Some(p) => (rest[..p].to_string(), Some(p)),
                        None => (rest.clone(), None),
                    };
                    self.psql_meta(&cmd, out, depth);
                    match after {
                        Some(p) => {
                            i += 1 + rest[..p + 2].chars().count();
                            start = i;
                        }
                        None => return,
                    }
                }
                _ => i += 1,
            }
        }
        let piece: String = chars[start..].iter().collect();
        if !piece.trim().is_empty() || !self.buf.is_empty() {
            self.buf.push_str(&piece);
            self.buf.push('\n');
        }
    }

    fn psql_meta(&mut self, cmd: &str, out: &mut Vec<Check>, depth: usize) {
        let (name, args) = if let Some(rest) = cmd.strip_prefix('!') {
            ("!", rest)
        } else {
            let end = cmd
                .find(|c: char| c.is_whitespace() || c == '|')
                .unwrap_or(cmd.len());
            (&cmd[..end], cmd[end..].trim())
        };
        let words = split_words(args);
        let first = words.first().map(String::as_str).unwrap_or("");
        match name {
            "g" | "gx" | "gset" | "gdesc" | "crosstabview" | "watch" | "gexec" => {
                let buffer = std::mem::take(&mut self.buf);
                self.lex = Lex::default();
                let query = if buffer.trim().is_empty() {
                    self.last.clone()
                } else {
                    buffer
                };
                if name == "gexec" {
                    out.push(Check::Gexec {
                        conn: self.psql_conn(),
                        query: query.trim().to_string(),
                    });
                }
                self.statement(query, out);
                if let Some(pipe) = args.strip_prefix('|') {
                    self.shell(pipe, out);
                }
            }
            "r" | "reset" => {
                self.buf.clear();
                self.lex = Lex::default();
            }
            "c" | "connect" => {
                if first.contains('=') || first.starts_with("postgres") {
                    self.psql_conninfo(first);
                } else {
                    let keep = |w: Option<&String>| w.filter(|w| w.as_str() != "-").cloned();
                    if let Some(db) = keep(words.first()) {
                        self.db = Some(db);
                    }
                    if let Some(u) = keep(words.get(1)) {
                        self.user = Some(u);
                    }
                    if let Some(h) = keep(words.get(2)) {
                        self.host = Some(h);
                    }
                    if let Some(p) = keep(words.get(3)) {
                        self.port = Some(p);
                    }
                }
            }
            "i" | "include" | "ir" | "include_relative" => self.script(first, out, depth),
            "!" => self.shell(args, out),
            "o" | "out" | "w" | "write" => {
                if let Some(pipe) = args.strip_prefix('|') {
                    self.shell(pipe, out);
                }
            }
            "copy" => {
                if let Some(program) = copy_program(args) {
                    self.shell(&program, out);
                }
            }
            "e" | "edit" | "ef" | "ev" => out.push(Check::Refuse(format!(
                "\\{name} hands the query buffer to an editor, whose text never crosses the terminal, so backstop cannot decide it; write the statement to a file and run it with \\i FILE"
            ))),
            "cd" => {
                self.cwd = if first.is_empty() {
                    crate::config::home_dir().map_or_else(|| self.cwd.clone(), PathBuf::from)
                } else {
                    PathBuf::from(self.absolute(first))
                };
            }
            _ => {}
        }
    }

    /// psql options that connect where this session is connected.
    fn psql_conn(&self) -> Vec<String> {
        let mut conn = Vec::new();
        for (flag, v) in [
            ("-h", &self.host),
            ("-p", &self.port),
            ("-U", &self.user),
            ("-d", &self.db),
        ] {
            if let Some(v) = v {
                conn.push(flag.to_string());
                conn.push(v.clone());
            }
        }
        conn
    }

    // ------------------------------------------------------------------ mysql

    fn mysql_line(&mut self, line: &str, out: &mut Vec<Check>, depth: usize) {
        // Long-form commands count only at the start of a statement.
        if self.buf.trim().is_empty() && self.lex == Lex::default() {
            let t = line.trim_start();
            let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
            let rest = rest.trim();
            let arg = rest
                .trim_end_matches(&*self.delimiter)
                .trim_end_matches(';')
                .trim();
            match word.to_ascii_lowercase().trim_end_matches(';') {
                "use" => {
                    self.db = Some(unquote_ident(arg));
                    return;
                }
                "connect" => {
                    if let Some(db) = split_words(arg).first() {
                        self.db = Some(db.clone());
                    }
                    return;
                }
                "source" => return self.script(arg, out, depth),
                "system" => return self.shell(rest, out),
                "delimiter" => {
                    if let Some(d) = rest.split_whitespace().next() {
                        self.delimiter = d.to_string();
                    }
                    return;
                }
                "clear" => {
                    self.buf.clear();
                    return;
                }
                "edit" => {
                    return out.push(Check::Refuse(
                        "edit hands the statement to an editor, whose text never crosses the terminal, so backstop cannot decide it; write it to a file and run it with source FILE".into(),
                    ));
                }
                "pager" => return self.shell(rest, out),
                _ => {}
            }
        }
        let chars: Vec<char> = line.chars().collect();
        let delim: Vec<char> = self.delimiter.chars().collect();
        let mut i = 0;
        let mut start = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if let Some((q, _)) = self.lex.quote {
                if c == '\\' && q != '`' {
                    i += 2;
                    continue;
                }
                if c == q {
                    self.lex.quote = None;
                }
                i += 1;
                continue;
            }
            if self.lex.comment > 0 {
                if c == '*' && next == Some('/') {
                    self.lex.comment = 0;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if chars[i..].starts_with(&delim) {
                let piece: String = chars[start..i].iter().collect();
                self.buf.push_str(&piece);
                let stmt = std::mem::take(&mut self.buf);
                self.statement(stmt, out);
                i += delim.len();
                start = i;
                continue;
            }
            match c {
                '\'' | '"' | '`' => {
                    self.lex.quote = Some((c, c != '`'));
                    i += 1;
                }
                '#' => break,
                '-' if next == Some('-')
                    && chars
                        .get(i + 2)
                        .is_none_or(|c| c.is_whitespace() || c.is_control()) =>
                {
                    break
                }
                '/' if next == Some('*') => {
                    self.lex.comment = 1;
                    i += 2;
                }
                '\\' => {
                    let piece: String = chars[start..i].iter().collect();
                    self.buf.push_str(&piece);
                    let cmd = next.unwrap_or(' ');
                    let rest: String = chars
                        .get(i + 2..)
                        .map_or_else(String::new, |r| r.iter().collect());
                    let arg = rest.trim().trim_end_matches(&*self.delimiter).trim();
                    match cmd {
                        'g' | 'G' => {
                            let stmt = std::mem::take(&mut self.buf);
                            self.statement(stmt, out);
                            i += 2;
                            start = i;
                            continue;
                        }
                        'c' => {
                            self.buf.clear();
                            i += 2;
                            start = i;
                            continue;
                        }
                        'u' => self.db = Some(unquote_ident(arg)),
                        'r' => {
                            if let Some(db) = split_words(arg).first() {
                                self.db = Some(db.clone());
                            }
                        }
                        '.' => self.script(arg, out, depth),
                        '!' => self.shell(&rest, out),
                        'P' => self.shell(&rest, out),
                        'd' => {
                            if let Some(d) = rest.split_whitespace().next() {
                                self.delimiter = d.to_string();
                            }
                        }
                        'e' => out.push(Check::Refuse(
                            "\\e hands the statement to an editor, whose text never crosses the terminal, so backstop cannot decide it; write it to a file and run it with source FILE".into(),
                        )),
                        _ => {
                            i += 2;
                            start = i;
                            continue;
                        }
                    }
                    // The commands above take the rest of the line as their argument.
                    return;
                }
                _ => i += 1,
            }
        }
        let piece: String = chars[start..].iter().collect();
        if !piece.trim().is_empty() || !self.buf.is_empty() {
            self.buf.push_str(&piece);
            self.buf.push('\n');
        }
    }

    // ------------------------------------------------------------------ sqlite3

    fn sqlite_line(&mut self, line: &str, out: &mut Vec<Check>, depth: usize) {
        if self.buf.trim().is_empty() && self.lex == Lex::default() {
            let t = line.trim_start();
            if t.starts_with('#') {
                return;
            }
            if let Some(dot) = t.strip_prefix('.') {
                return self.sqlite_dot(dot, out, depth);
            }
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut start = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if let Some((q, _)) = self.lex.quote {
                if c == q {
                    self.lex.quote = None;
                }
                i += 1;
                continue;
            }
            if self.lex.comment > 0 {
                if c == '*' && next == Some('/') {
                    self.lex.comment = 0;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            match c {
                '\'' | '"' | '`' => self.lex.quote = Some((c, false)),
                '[' => self.lex.quote = Some((']', false)),
                '-' if next == Some('-') => break,
                '/' if next == Some('*') => {
                    self.lex.comment = 1;
                    i += 1;
                }
                ';' => {
                    let piece: String = chars[start..=i].iter().collect();
                    let candidate = format!("{}{piece}", self.buf);
                    // A trigger's body holds `;`s; only `END;` ends it (sqlite3_complete).
                    if !is_trigger(&candidate) || ends_with_end(&candidate) {
                        self.buf.clear();
                        self.statement(candidate, out);
                        start = i + 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        let piece: String = chars[start.min(chars.len())..].iter().collect();
        if !piece.trim().is_empty() || !self.buf.is_empty() {
            self.buf.push_str(&piece);
            self.buf.push('\n');
        }
    }

    fn sqlite_dot(&mut self, dot: &str, out: &mut Vec<Check>, depth: usize) {
        let words = split_words(dot);
        let Some(cmd) = words.first() else {
            return;
        };
        let arg = |n: usize| words.get(n).map(String::as_str).unwrap_or("");
        let rest = dot[cmd.len()..].trim();
        match cmd.as_str() {
            "open" => {
                // `.open --new FILE` empties FILE: decided as truncating it.
                let new = words.iter().any(|w| w == "--new");
                if let Some(file) = words[1..].iter().rfind(|w| !w.starts_with('-')) {
                    let file = self.absolute(file);
                    if new {
                        out.push(Check::Line(format!("truncate -s 0 {}", sq(&file))));
                    }
                    self.db = Some(file);
                } else {
                    self.db = None;
                }
            }
            "read" => match rest.strip_prefix('|') {
                Some(cmd) => self.shell(cmd, out),
                None => self.script(arg(1), out, depth),
            },
            "shell" | "system" => self.shell(rest, out),
            "output" | "once" => {
                if let Some(cmd) = rest.strip_prefix('|') {
                    self.shell(cmd, out);
                }
            }
            "cd" => self.cwd = PathBuf::from(self.absolute(arg(1))),
            _ => {}
        }
    }

    // ------------------------------------------------------------------ redis-cli

    fn redis_line(&mut self, line: &str, out: &mut Vec<Check>) {
        let mut words = split_words(line);
        // `3 INCR k` runs the command three times.
        if words.len() > 1 && words[0].chars().all(|c| c.is_ascii_digit()) {
            words.remove(0);
        }
        let Some(cmd) = words.first().map(|w| w.to_ascii_lowercase()) else {
            return;
        };
        match cmd.as_str() {
            "select" => {
                if let Some(n) = words.get(1) {
                    self.db = Some(n.clone());
                }
            }
            "connect" => {
                self.host = words.get(1).cloned();
                self.port = words.get(2).cloned();
                self.db = Some("0".into());
            }
            _ => {
                let mut line = String::from("redis-cli");
                for (flag, v) in [("-h", &self.host), ("-p", &self.port), ("-n", &self.db)] {
                    if let Some(v) = v {
                        line.push_str(&format!(" {flag} {}", sq(v)));
                    }
                }
                for w in &words {
                    line.push(' ');
                    line.push_str(&sq(w));
                }
                out.push(Check::Line(line));
            }
        }
    }

    // ------------------------------------------------------------------ mongosh

    fn mongo_line_in(&mut self, line: &str, out: &mut Vec<Check>, depth: usize) {
        if self.buf.trim().is_empty() && self.lex == Lex::default() {
            let t = line.trim().trim_end_matches(';').trim();
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() == 2 && words[0] == "use" {
                self.db = Some(words[1].to_string());
                return;
            }
            if let Some(file) = mongo_load(t) {
                let before = out.len();
                self.script(&file, out, depth);
                if out.len() == before {
                    return;
                }
                return;
            }
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if let Some((q, _)) = self.lex.quote {
                if c == '\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    self.lex.quote = None;
                }
                i += 1;
                continue;
            }
            if self.lex.comment > 0 {
                if c == '*' && next == Some('/') {
                    self.lex.comment = 0;
                    i += 1;
                }
                i += 1;
                continue;
            }
            match c {
                '\'' | '"' | '`' => self.lex.quote = Some((c, true)),
                '/' if next == Some('/') => break,
                '/' if next == Some('*') => {
                    self.lex.comment = 1;
                    i += 1;
                }
                '(' | '[' | '{' => self.lex.depth += 1,
                ')' | ']' | '}' => self.lex.depth -= 1,
                _ => {}
            }
            i += 1;
        }
        self.buf.push_str(line);
        self.buf.push('\n');
        // The shell runs the input once it is a complete statement.
        if self.lex.quote.is_none() && self.lex.comment == 0 && self.lex.depth <= 0 {
            let code = std::mem::take(&mut self.buf);
            self.lex = Lex::default();
            if !code.trim().is_empty() {
                out.push(self.mongo_line(&code));
            }
        }
    }

    fn mongo_line(&self, code: &str) -> Check {
        Check::Line(format!(
            "mongosh {} --eval {}",
            sq(self.db.as_deref().unwrap_or("test")),
            sq(code.trim())
        ))
    }
}

/// `text` as one word of a bash line.
pub fn sq(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Words as the clients split their commands' arguments: blanks separate, and
/// `'…'` or `"…"` (with backslash escapes) group.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    if d == c {
                        break;
                    }
                    if d == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            word.push(e);
                        }
                        continue;
                    }
                    word.push(d);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn unquote_ident(s: &str) -> String {
    s.trim().trim_matches('`').trim_matches('"').to_string()
}

/// `\copy … from program 'cmd'`: the command, with `''` as a quote.
fn copy_program(args: &str) -> Option<String> {
    let lower = args.to_ascii_lowercase();
    let at = lower.find("program")?;
    let rest = args[at + "program".len()..].trim_start();
    let body = rest.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Some(out);
        }
        out.push(c);
    }
    Some(out)
}

fn is_trigger(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_lowercase)
        .collect();
    words.first().is_some_and(|w| w == "create")
        && (words.get(1).is_some_and(|w| w == "trigger")
            || (words
                .get(1)
                .is_some_and(|w| w == "temp" || w == "temporary")
                && words.get(2).is_some_and(|w| w == "trigger")))
}

fn ends_with_end(sql: &str) -> bool {
    let body = sql.trim_end().trim_end_matches(';').trim_end();
    body.len() >= 3
        && body[body.len() - 3..].eq_ignore_ascii_case("end")
        && !body[..body.len() - 3]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The database a mongosh argument names: `shop`, `host/shop`, `mongodb://h/shop?x`.
fn mongo_db(arg: &str) -> String {
    let rest = arg
        .strip_prefix("mongodb+srv://")
        .or_else(|| arg.strip_prefix("mongodb://"));
    let path = match rest {
        Some(r) => r.split_once('/').map_or("", |(_, p)| p),
        None => arg.rsplit_once('/').map_or(arg, |(_, p)| p),
    };
    let db = path.split('?').next().unwrap_or("");
    if db.is_empty() {
        "test".into()
    } else {
        db.into()
    }
}

/// `load("file.js")`: the file.
fn mongo_load(code: &str) -> Option<String> {
    let inner = code.strip_prefix("load(")?.strip_suffix(')')?.trim();
    let q = inner.chars().next()?;
    matches!(q, '\'' | '"' | '`').then(|| inner.trim_matches(q).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(kind: Kind, args: &[&str]) -> Session {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Session::new(kind, &args, PathBuf::from("/srv/work"))
    }

    fn lines(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .map(|c| match c {
                Check::Line(l) => l.clone(),
                Check::Refuse(r) => format!("REFUSE {r}"),
                Check::Gexec { query, .. } => format!("GEXEC {query}"),
            })
            .collect()
    }

    #[test]
    fn psql_statements_end_at_semicolons_outside_quotes() {
        let mut s = session(Kind::Psql, &["-d", "app"]);
        assert!(s.submit("DROP TABLE").is_empty());
        assert_eq!(
            lines(&s.submit("  users;")),
            vec!["psql -d app -c 'DROP TABLE\n  users;'"]
        );
        assert_eq!(
            lines(&s.submit("SELECT ';'; DROP TABLE t;")),
            vec![
                "psql -d app -c 'SELECT '\\'';'\\'';'",
                "psql -d app -c 'DROP TABLE t;'"
            ]
        );
        // Dollar quotes, comments and parentheses hold `;`s.
        assert!(s
            .submit("CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1;")
            .is_empty());
        assert_eq!(s.submit("$body$ LANGUAGE sql;").len(), 1);
        assert!(s.submit("SELECT 1 /* ; */ -- ;").is_empty());
        assert_eq!(s.submit(";").len(), 1);
    }

    #[test]
    fn psql_meta_commands() {
        let mut s = session(Kind::Psql, &["app"]);
        assert!(s.submit("\\c otherdb").is_empty());
        assert_eq!(
            lines(&s.submit("DROP TABLE t;")),
            vec!["psql -d otherdb -c 'DROP TABLE t;'"]
        );
        assert_eq!(lines(&s.submit("\\! rm -rf ~/x")), vec!["rm -rf ~/x"]);
        assert!(lines(&s.submit("\\e"))[0].starts_with("REFUSE"));
        // `\g` alone sends the last query again; `\r` empties the buffer.
        assert_eq!(
            lines(&s.submit("\\g")),
            vec!["psql -d otherdb -c 'DROP TABLE t;'"]
        );
        s.submit("DELETE FROM t");
        s.submit("\\r");
        assert!(s.submit("\\p").is_empty());
        assert_eq!(
            lines(&s.submit("SELECT format('DROP TABLE %I', tablename) FROM pg_tables \\gexec")),
            vec![
                "GEXEC SELECT format('DROP TABLE %I', tablename) FROM pg_tables",
                "psql -d otherdb -c 'SELECT format('\\''DROP TABLE %I'\\'', tablename) FROM pg_tables'"
            ]
        );
        assert_eq!(
            lines(&s.submit("\\copy t from program 'rm -rf /srv/x' csv")),
            vec!["rm -rf /srv/x"]
        );
        assert_eq!(lines(&s.submit("SELECT 1 \\g |sh -c 'x'")).len(), 2);
        s.submit("\\c \"dbname=shop user=admin\"");
        assert_eq!(s.db.as_deref(), Some("shop"));
        s.submit("\\c postgres://u@h:5433/inventory");
        assert_eq!(
            (s.db.as_deref(), s.port.as_deref()),
            (Some("inventory"), Some("5433"))
        );
    }

    #[test]
    fn psql_follows_included_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inner.sql"), "TRUNCATE logs;\n\\c other\n").unwrap();
        std::fs::write(
            dir.path().join("drop.sql"),
            "SELECT 1;\n\\ir inner.sql\nDROP TABLE users",
        )
        .unwrap();
        let mut s = Session::new(Kind::Psql, &["-d".into(), "app".into()], dir.path().into());
        let l = lines(&s.submit("\\i drop.sql"));
        assert_eq!(
            l,
            vec![
                "psql -d app -c 'SELECT 1;'",
                "psql -d app -c 'TRUNCATE logs;'",
                "psql -d other -c 'DROP TABLE users'"
            ]
        );
        // A file that does not exist runs nothing.
        assert!(s.submit("\\i nothere.sql").is_empty());
    }

    #[test]
    fn psql_arguments_and_defaults() {
        assert_eq!(
            session(Kind::Psql, &["-h", "db", "-dshop"]).db.as_deref(),
            Some("shop")
        );
        assert_eq!(
            session(Kind::Psql, &["--dbname=shop"]).db.as_deref(),
            Some("shop")
        );
        assert_eq!(
            session(Kind::Psql, &["-U", "x", "shop", "admin"])
                .db
                .as_deref(),
            Some("shop")
        );
        assert_eq!(
            session(Kind::Psql, &["postgresql://a@h/inv?sslmode=disable"])
                .db
                .as_deref(),
            Some("inv")
        );
    }

    #[test]
    fn mysql_delimiters_and_commands() {
        let mut s = session(Kind::Mysql, &["-u", "root", "shop"]);
        assert_eq!(
            lines(&s.submit("DROP TABLE t;")),
            vec!["mysql -D shop -e 'DROP TABLE t'"]
        );
        assert!(s.submit("use `crm`;").is_empty());
        assert_eq!(s.db.as_deref(), Some("crm"));
        s.submit("DELIMITER $$");
        assert!(s
            .submit("CREATE PROCEDURE p() BEGIN DELETE FROM a; END")
            .is_empty());
        assert_eq!(s.submit("$$").len(), 1);
        s.submit("delimiter ;");
        assert_eq!(
            lines(&s.submit("DROP TABLE x\\g")),
            vec!["mysql -D crm -e 'DROP TABLE x'"]
        );
        assert_eq!(
            lines(&s.submit("system rm -rf /srv/x")),
            vec!["rm -rf /srv/x"]
        );
        assert_eq!(lines(&s.submit("\\! rm -rf /srv/y")), vec!["rm -rf /srv/y"]);
        assert!(s.submit("SELECT 'a;b' -- ;").is_empty());
        assert_eq!(s.submit("# comment ;").len(), 0);
        assert_eq!(s.submit(";").len(), 1);
        s.submit("DELETE FROM t");
        s.submit("\\c");
        assert!(s.pending().is_empty());
    }

    #[test]
    fn sqlite_dot_commands_and_triggers() {
        let mut s = session(Kind::Sqlite, &["app.db"]);
        assert_eq!(s.db.as_deref(), Some("/srv/work/app.db"));
        assert_eq!(
            lines(&s.submit("DROP TABLE t; SELECT 1;")),
            vec![
                "sqlite3 /srv/work/app.db 'DROP TABLE t;'",
                "sqlite3 /srv/work/app.db 'SELECT 1;'"
            ]
        );
        s.submit(".open /var/lib/other.db");
        assert_eq!(s.db.as_deref(), Some("/var/lib/other.db"));
        assert!(s
            .submit("CREATE TRIGGER tr AFTER INSERT ON a BEGIN DELETE FROM b;")
            .is_empty());
        assert_eq!(s.submit("END;").len(), 1);
        assert_eq!(
            lines(&s.submit(".shell rm -rf /srv/x")),
            vec!["rm -rf /srv/x"]
        );
        assert_eq!(
            lines(&s.submit(".system 'rm' -rf /srv/x")),
            vec!["'rm' -rf /srv/x"]
        );
        assert_eq!(
            lines(&s.submit(".open --new /var/lib/other.db")),
            vec!["truncate -s 0 /var/lib/other.db"]
        );
        // Without a file the database is in memory: nothing to protect.
        let mut mem = session(Kind::Sqlite, &[]);
        assert!(mem.submit("DROP TABLE t;").is_empty());
    }

    #[test]
    fn redis_and_mongo() {
        let mut r = session(Kind::Redis, &["-p", "7000"]);
        assert_eq!(
            lines(&r.submit("FLUSHALL")),
            vec!["redis-cli -p 7000 -n 0 FLUSHALL"]
        );
        r.submit("SELECT 3");
        assert_eq!(
            lines(&r.submit("get \"a b\"")),
            vec!["redis-cli -p 7000 -n 3 get 'a b'"]
        );
        let mut m = session(Kind::Mongo, &["mongodb://h:27017/shop"]);
        assert!(m.submit("db.orders.deleteMany({").is_empty());
        assert_eq!(
            lines(&m.submit("})")),
            vec!["mongosh shop --eval 'db.orders.deleteMany({\n})'"]
        );
        m.submit("use crm");
        assert_eq!(
            lines(&m.submit("db.dropDatabase()")),
            vec!["mongosh crm --eval 'db.dropDatabase()'"]
        );
    }

    #[test]
    fn whole_input_runs_what_is_left() {
        let mut s = session(Kind::Psql, &["app"]);
        assert_eq!(
            lines(&s.submit_all("SELECT 1;\nDROP TABLE t")),
            vec![
                "psql -d app -c 'SELECT 1;'",
                "psql -d app -c 'DROP TABLE t'"
            ]
        );
    }

    #[test]
    fn kinds_of_programs() {
        assert_eq!(Kind::of_program("/usr/bin/psql"), Some(Kind::Psql));
        assert_eq!(Kind::of_program("mariadb"), Some(Kind::Mysql));
        assert_eq!(Kind::of_program("bash"), None);
    }
}
