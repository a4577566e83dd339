//! What the commands that run before one may have put in place.
//!
//! A path that does not exist destroys nothing when it is deleted, unless something
//! earlier on the line (or earlier in the script) creates it or moves something into
//! it: `mv ~/data ~/x && rm -rf ~/x` deletes the data. Each command is classed by what
//! it can put in place: nothing (`echo`, `ls`, `cd` …); new content at paths the line
//! names (`mkdir DIR`, `cp … DEST`, `> FILE`, `tar -x -C DIR` …) or anywhere (a
//! compiler's output); existing data moved to paths the line names (`mv`, `ln`); or
//! anything at all (every program not known to do less). A target counts as existing
//! when any earlier command could have put something at it, at a directory above it,
//! or inside it.

use std::rc::Rc;

use crate::command::{Command, Word};
use crate::engine::{normalise_target, run_dir, Context};
use crate::unwrap::program_name;

/// What earlier commands may have put in place, shared by the commands that follow.
#[derive(Debug, Default)]
pub(crate) struct Made {
    /// This command or one before it could put existing data anywhere.
    anything: bool,
    /// This command or one before it could write new files anywhere.
    fresh_anywhere: bool,
    fresh: Vec<String>,
    moved: Vec<String>,
    earlier: Before,
}

/// The chain of what was made before a command; `None` when nothing was.
pub(crate) type Before = Option<Rc<Made>>;

/// What one command can put in place (absolute paths, and anything under them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Creates {
    /// New content: a file or directory made, copied, extracted, downloaded.
    pub fresh: Vec<String>,
    /// Data that existed elsewhere: moved, or linked.
    pub moved: Vec<String>,
    /// New files whose place the line does not say (a compiler's output, `> "$F"`).
    pub fresh_anywhere: bool,
    /// Anything at all, existing data included (a program not known to do less).
    pub anything: bool,
}

impl Creates {
    fn anything() -> Creates {
        Creates {
            anything: true,
            ..Creates::default()
        }
    }

    fn fresh_anywhere() -> Creates {
        Creates {
            fresh_anywhere: true,
            ..Creates::default()
        }
    }

    fn fresh(path: String) -> Creates {
        Creates {
            fresh: vec![path],
            ..Creates::default()
        }
    }

    fn is_nothing(&self) -> bool {
        self.fresh.is_empty() && self.moved.is_empty() && !self.fresh_anywhere && !self.anything
    }

    /// The same places, reached by moving existing data rather than writing new.
    fn into_moved(self) -> Creates {
        let mut moved = self.moved;
        moved.extend(self.fresh);
        Creates {
            fresh: Vec::new(),
            moved,
            fresh_anywhere: false,
            anything: self.anything || self.fresh_anywhere,
        }
    }

    fn join(&mut self, other: Creates) {
        self.fresh.extend(other.fresh);
        self.moved.extend(other.moved);
        self.fresh_anywhere |= other.fresh_anywhere;
        self.anything |= other.anything;
    }
}

/// How a path that does not exist now may exist when a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MadeBy {
    /// No command before it could put anything there.
    Nothing,
    /// Only new content written by the line (`mkdir`, `cp`, `> FILE`, `cc -o`).
    Line,
    /// Possibly data that exists now, moved or linked there (`mv`, `ln`, or a
    /// program not known to do less).
    Moved,
}

/// `before`, then what `made` creates.
pub(crate) fn then(before: &Before, made: Creates) -> Before {
    if made.is_nothing() {
        return before.clone();
    }
    let prev = before.as_deref();
    Some(Rc::new(Made {
        anything: made.anything || prev.is_some_and(|m| m.anything),
        fresh_anywhere: made.fresh_anywhere || prev.is_some_and(|m| m.fresh_anywhere),
        fresh: made.fresh,
        moved: made.moved,
        earlier: before.clone(),
    }))
}

/// Could a command before this one have put something at `target` (absolute), at a
/// directory above it, or inside it?
pub(crate) fn made_by(before: &Before, target: &str) -> MadeBy {
    let Some(last) = before.as_deref() else {
        return MadeBy::Nothing;
    };
    if last.anything {
        return MadeBy::Moved;
    }
    let mut by = if last.fresh_anywhere {
        MadeBy::Line
    } else {
        MadeBy::Nothing
    };
    let mut cur = Some(last);
    while let Some(m) = cur {
        if m.moved.iter().any(|p| related(p, target)) {
            return MadeBy::Moved;
        }
        if m.fresh.iter().any(|p| related(p, target)) {
            by = MadeBy::Line;
        }
        cur = m.earlier.as_deref();
    }
    by
}

/// One path is the other or lies under it.
fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, dir: &str| {
        let dir = dir.trim_end_matches('/');
        dir.is_empty() || x.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
    };
    a == b || under(a, b) || under(b, a)
}

/// The chain each of `cmds` sees when they run one after another from `before`:
/// each the creations of all that ran before it. The commands one line or file
/// command peels into (`bash -c 'mkdir x; rm -rf x'`) count as before each other,
/// since their order is not kept.
pub(crate) fn sequence(before: &Before, groups: &[Vec<Creates>]) -> (Vec<Vec<Before>>, Before) {
    let mut out = Vec::with_capacity(groups.len());
    let mut cur = before.clone();
    for group in groups {
        if group.len() == 1 {
            out.push(vec![cur.clone()]);
        } else {
            let mut each = Vec::with_capacity(group.len());
            for i in 0..group.len() {
                let mut others = Creates::default();
                for (j, c) in group.iter().enumerate() {
                    if i != j {
                        others.join(c.clone());
                    }
                }
                each.push(then(&cur, others));
            }
            out.push(each);
        }
        let mut all = Creates::default();
        for c in group {
            all.join(c.clone());
        }
        cur = then(&cur, all);
    }
    (out, cur)
}

/// Programs that create nothing on the filesystem (their redirections aside).
const INERT: &[&str] = &[
    "",
    ":",
    "[",
    "[[",
    "ack",
    "ag",
    "alias",
    "b2sum",
    "base64",
    "basename",
    "bg",
    "cat",
    "cd",
    "chgrp",
    "chmod",
    "chown",
    "cksum",
    "clear",
    "cmp",
    "column",
    "comm",
    "cut",
    "date",
    "declare",
    "df",
    "diff",
    "dirname",
    "du",
    "echo",
    "egrep",
    "env",
    "exit",
    "export",
    "false",
    "fg",
    "fgrep",
    "file",
    "fmt",
    "fold",
    "free",
    "grep",
    "groups",
    "hash",
    "head",
    "help",
    "history",
    "hostname",
    "id",
    "jobs",
    "jq",
    "kill",
    "less",
    "let",
    "local",
    "locate",
    "ls",
    "lsblk",
    "man",
    "md5sum",
    "more",
    "nl",
    "nproc",
    "od",
    "paste",
    "pgrep",
    "popd",
    "printenv",
    "printf",
    "ps",
    "pushd",
    "pwd",
    "read",
    "readlink",
    "readonly",
    "realpath",
    "return",
    "rg",
    "rm",
    "rmdir",
    "seq",
    "set",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shift",
    "shred",
    "sleep",
    "stat",
    "tac",
    "tail",
    "test",
    "top",
    "tr",
    "tree",
    "true",
    "type",
    "typeset",
    "uname",
    "unalias",
    "unlink",
    "unset",
    "uptime",
    "wait",
    "wc",
    "whereis",
    "which",
    "whoami",
    "xxd",
    "yes",
    // PowerShell, as the reader names them
    "compare-object",
    "foreach-object",
    "join-path",
    "out-host",
    "out-null",
    "out-string",
    "pop-location",
    "push-location",
    "resolve-path",
    "set-location",
    "split-path",
    "where-object",
    "write-host",
    "write-output",
];

/// PowerShell verbs whose cmdlets only read.
const INERT_VERBS: &[&str] = &[
    "get-", "test-", "format-", "select-", "measure-", "sort-", "show-", "find-",
];

/// git subcommands that write nothing outside `.git`.
const GIT_INERT: &[&str] = &[
    "add",
    "blame",
    "branch",
    "cat-file",
    "check-ignore",
    "commit",
    "config",
    "count-objects",
    "describe",
    "diff",
    "fetch",
    "for-each-ref",
    "grep",
    "help",
    "log",
    "ls-files",
    "ls-remote",
    "name-rev",
    "push",
    "reflog",
    "remote",
    "rev-list",
    "rev-parse",
    "shortlog",
    "show",
    "show-ref",
    "status",
    "tag",
    "var",
    "version",
];

/// Programs that write new files whose names the line may not give (their `-o`),
/// and move nothing: compilers and the like.
const FRESH_ONLY: &[&str] = &[
    "ar", "as", "c++", "cc", "clang", "clang++", "cpp", "g++", "gcc", "gfortran", "javac", "ld",
    "ranlib", "rustc", "tsc",
];

/// What `cmd` (already peeled) can put in place. Paths it names are resolved where
/// it runs.
pub(crate) fn creates(cmd: &Command, ctx: &Context) -> Creates {
    let dir = run_dir(cmd, ctx);
    let ctx = &Context {
        cwd: dir.as_deref(),
        dialect: cmd.dialect,
        ..*ctx
    };
    let mut out = Creates::default();
    for r in &cmd.redirects {
        if r.op.contains('>') && !r.op.ends_with('&') && !r.op.contains(">&") {
            out.join(path(&r.target, ctx));
        }
    }
    let program = cmd.program().map(program_name).unwrap_or_default();
    let args = cmd.args();
    let made = match program.as_str() {
        p if INERT.contains(&p) || INERT_VERBS.iter().any(|v| p.starts_with(v)) => {
            Creates::default()
        }
        p if FRESH_ONLY.contains(&p) => Creates::fresh_anywhere(),
        "find"
            if !args
                .iter()
                .any(|a| a.text.starts_with("-fprint") || a.text == "-fls") =>
        {
            Creates::default()
        }
        "sort"
            if !args
                .iter()
                .any(|a| a.text.starts_with("-o") || a.text.starts_with("--output")) =>
        {
            Creates::default()
        }
        "mkdir" | "md" | "touch" | "tee" => {
            let mut c = Creates::default();
            let values = ["-m", "--mode", "-d", "--date", "-r", "--reference", "-t"];
            for w in positionals(args, &values) {
                c.join(path(w, ctx));
            }
            c
        }
        "cp" | "install" | "scp" | "copy-item" => destination(args, ctx),
        "rsync" if !args.iter().any(|a| a.text == "--remove-source-files") => {
            destination(args, ctx)
        }
        "mv" | "ln" | "rsync" | "move-item" => destination(args, ctx).into_moved(),
        "git" => git(args, ctx),
        "tar" | "gtar" | "bsdtar" => tar(args, ctx),
        "unzip" => option_dir(args, &["-d"], ctx),
        "curl" => curl(args, ctx),
        "wget" => wget(args, ctx),
        _ => Creates::anything(),
    };
    out.join(made);
    out
}

/// A path a command writes new content at: literal ones resolve to where it runs;
/// anything else (a variable, a glob, a directory not known) could be anywhere.
fn path(w: &Word, ctx: &Context) -> Creates {
    if w.expansion || w.glob || w.text.is_empty() {
        return Creates::fresh_anywhere();
    }
    path_text(&w.text, ctx)
}

fn path_text(text: &str, ctx: &Context) -> Creates {
    if text.contains(['$', '`', '*', '?', '%']) {
        return Creates::fresh_anywhere();
    }
    if text == "-" {
        return Creates::default();
    }
    // scp-style `host:path` names another machine's file.
    if let Some((host, _)) = text.split_once(':') {
        if !host.contains('/') && host.len() > 1 {
            return Creates::default();
        }
    }
    let p = normalise_target("path", text, ctx);
    if p.starts_with("/dev/") {
        return Creates::default();
    }
    if p.starts_with('/') {
        Creates::fresh(p)
    } else {
        Creates::fresh_anywhere()
    }
}

/// The words that are not options, for a program whose options `value_opts` take a
/// value.
fn positionals<'a>(args: &'a [Word], value_opts: &[&str]) -> Vec<&'a Word> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut only = false;
    while let Some(w) = args.get(i) {
        i += 1;
        let t = w.text.as_str();
        if only || !t.starts_with('-') || t == "-" {
            out.push(w);
        } else if t == "--" {
            only = true;
        } else if value_opts.contains(&t) {
            i += 1;
        }
    }
    out
}

/// The value of the first of `names` (`-t DIR`, `-tDIR`, `--target-directory=DIR`).
fn option_value<'a>(args: &'a [Word], names: &[&str]) -> Option<&'a str> {
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            return None;
        }
        for n in names {
            if t.eq_ignore_ascii_case(n) {
                return args.get(i + 1).map(|v| v.text.as_str());
            }
            if let Some(v) = t.strip_prefix(n) {
                if n.starts_with("--") {
                    if let Some(v) = v.strip_prefix('=') {
                        return Some(v);
                    }
                } else if n.len() == 2 && !v.is_empty() {
                    return Some(v);
                }
            }
        }
        i += 1;
    }
    None
}

/// Where `cp`, `mv`, `ln`, `install`, `rsync` (and PowerShell's `Copy-Item`,
/// `Move-Item`) put what they copy: the target directory, else the last word.
fn destination(args: &[Word], ctx: &Context) -> Creates {
    if let Some(dir) = option_value(args, &["-t", "--target-directory", "-Destination"]) {
        return path_text(dir, ctx);
    }
    let values = [
        "-S",
        "--suffix",
        "-m",
        "--mode",
        "-o",
        "--owner",
        "-g",
        "--group",
        "-e",
        "--rsh",
        "-P",
        "-i",
        "-F",
        "-l",
        "-J",
        "-Path",
        "-LiteralPath",
        "-Filter",
        "-Include",
        "-Exclude",
    ];
    let pos = positionals(args, &values);
    match pos.as_slice() {
        [] => Creates::default(),
        // `ln -s /x/y` links `y` here; the others copy nothing with one word.
        [only] => {
            let base = only
                .text
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            if base.is_empty() {
                Creates::fresh_anywhere()
            } else {
                path_text(base, ctx)
            }
        }
        [.., last] => path(last, ctx),
    }
}

fn option_dir(args: &[Word], names: &[&str], ctx: &Context) -> Creates {
    match option_value(args, names) {
        Some(d) => path_text(d, ctx),
        None => path_text(".", ctx),
    }
}

fn git(args: &[Word], ctx: &Context) -> Creates {
    let pos = positionals(
        args,
        &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "-b",
            "--branch",
            "-o",
            "--origin",
            "--depth",
            "--reference",
            "-j",
            "--jobs",
            "--filter",
            "--template",
            "--separate-git-dir",
            "--config",
            "-u",
            "--upload-pack",
        ],
    );
    let Some(sub) = pos.first() else {
        return Creates::default();
    };
    // `git -C DIR …` works in DIR; its relative paths are not followed here.
    if option_value(args, &["-C"]).is_some() {
        return Creates::anything();
    }
    match sub.text.as_str() {
        s if GIT_INERT.contains(&s) => Creates::default(),
        "clone" => match pos.get(2) {
            Some(dir) => path(dir, ctx),
            None => {
                let url = pos.get(1).map_or("", |w| w.text.as_str());
                let name = url
                    .trim_end_matches('/')
                    .rsplit(['/', ':'])
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(".git");
                if name.is_empty() {
                    Creates::fresh_anywhere()
                } else {
                    path_text(name, ctx)
                }
            }
        },
        // checkout, switch, restore, pull, stash, worktree …: files come from commits
        // and other places, which the line does not say.
        _ => Creates::anything(),
    }
}

fn tar(args: &[Word], ctx: &Context) -> Creates {
    let first = args.first().map_or("", |w| w.text.as_str());
    let old_style = !first.starts_with('-') && first.chars().all(|c| c.is_ascii_alphabetic());
    let has = |letter: char, long: &str| {
        args.iter().any(|w| {
            let t = w.text.as_str();
            t == long || (t.starts_with('-') && !t.starts_with("--") && t[1..].contains(letter))
        }) || (old_style && first.contains(letter))
    };
    if has('x', "--extract") || args.iter().any(|w| w.text == "--get") {
        return option_dir(args, &["-C", "--directory"], ctx);
    }
    if has('c', "--create") {
        return match option_value(args, &["--file"]) {
            Some(f) => path_text(f, ctx),
            // `-cf FILE`, `cf FILE`: the file is the word after the cluster.
            None => args
                .iter()
                .position(|w| {
                    let t = w.text.trim_start_matches('-');
                    !w.text.starts_with("--")
                        && t.ends_with('f')
                        && t.chars().all(|c| c.is_ascii_alphabetic())
                })
                .and_then(|i| args.get(i + 1))
                .map_or(Creates::fresh_anywhere(), |w| path(w, ctx)),
        };
    }
    Creates::default()
}

fn curl(args: &[Word], ctx: &Context) -> Creates {
    let mut c = Creates::default();
    let mut i = 0;
    while let Some(w) = args.get(i) {
        i += 1;
        match w.text.as_str() {
            "-o" | "--output" => {
                if let Some(v) = args.get(i) {
                    c.join(path(v, ctx));
                }
                i += 1;
            }
            "-O" | "--remote-name" | "--remote-name-all" | "-J" | "--remote-header-name" => {
                c.join(option_dir(args, &["--output-dir"], ctx));
            }
            t if t.starts_with("-o") && t.len() > 2 && !t.starts_with("--") => {
                c.join(path_text(&t[2..], ctx));
            }
            _ => {}
        }
    }
    c
}

fn wget(args: &[Word], ctx: &Context) -> Creates {
    if let Some(f) = option_value(args, &["-O", "--output-document"]) {
        return path_text(f, ctx);
    }
    option_dir(args, &["-P", "--directory-prefix"], ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    fn made(line: &str) -> Creates {
        let ctx = Context {
            cwd: Some("/home/u/app"),
            home: Some("/home/u"),
            ..Context::default()
        };
        let mut cmds = Dialect::Bash.parse(line).commands;
        crate::command::track_cd(&mut cmds, &crate::WorkDir::Inherit, ctx.home);
        let mut all = Creates::default();
        for c in &cmds {
            all.join(creates(c, &ctx));
        }
        all
    }

    fn fresh(v: &[&str]) -> Creates {
        Creates {
            fresh: v.iter().map(|s| s.to_string()).collect(),
            ..Creates::default()
        }
    }

    fn moved(v: &[&str]) -> Creates {
        Creates {
            moved: v.iter().map(|s| s.to_string()).collect(),
            ..Creates::default()
        }
    }

    #[test]
    fn what_commands_create() {
        for (line, want) in [
            ("echo hi", Creates::default()),
            ("ls -la ~/x", Creates::default()),
            ("echo hi > out.txt", fresh(&["/home/u/app/out.txt"])),
            ("echo hi >> ~/log", fresh(&["/home/u/log"])),
            ("echo hi > /dev/null 2>&1", Creates::default()),
            ("echo hi > \"$LOG\"", Creates::fresh_anywhere()),
            ("mkdir -p ~/a ~/b", fresh(&["/home/u/a", "/home/u/b"])),
            ("mkdir -m 700 x", fresh(&["/home/u/app/x"])),
            ("mv ~/data ~/x", moved(&["/home/u/x"])),
            ("ln -sf ~/data ~/x", moved(&["/home/u/x"])),
            (
                "rsync -a --remove-source-files a/ ~/x",
                moved(&["/home/u/x"]),
            ),
            ("mv a \"$X\"", Creates::anything()),
            ("cp -r a b c/", fresh(&["/home/u/app/c"])),
            ("cp -t ~/dest a b", fresh(&["/home/u/dest"])),
            ("ln -s /opt/tool/bin/tool", moved(&["/home/u/app/tool"])),
            ("rsync -a src/ host:/srv/x", Creates::default()),
            (
                "git clone https://example.com/a/repo.git",
                fresh(&["/home/u/app/repo"]),
            ),
            (
                "git clone git@example.com:a/repo.git ~/r",
                fresh(&["/home/u/r"]),
            ),
            ("git status", Creates::default()),
            ("git checkout main", Creates::anything()),
            ("tar -xzf a.tgz -C ~/x", fresh(&["/home/u/x"])),
            ("tar xf a.tar", fresh(&["/home/u/app"])),
            ("tar -czf out.tgz src", fresh(&["/home/u/app/out.tgz"])),
            ("tar -tf a.tar", Creates::default()),
            ("unzip a.zip -d ~/x", fresh(&["/home/u/x"])),
            ("curl -o ~/f https://x", fresh(&["/home/u/f"])),
            ("curl https://x", Creates::default()),
            ("wget https://x/y", fresh(&["/home/u/app"])),
            ("cd ~ && mkdir x", fresh(&["/home/u/x"])),
            ("cc -o conftest conftest.c", Creates::fresh_anywhere()),
            ("cargo build", Creates::anything()),
            ("./build.sh", Creates::anything()),
        ] {
            assert_eq!(made(line), want, "{line}");
        }
    }

    #[test]
    fn the_chain_answers_for_paths_above_below_and_equal() {
        let b = then(&None, fresh(&["/home/u/x"]));
        assert_eq!(made_by(&b, "/home/u/x"), MadeBy::Line);
        assert_eq!(made_by(&b, "/home/u/x/y"), MadeBy::Line);
        assert_eq!(made_by(&b, "/home/u"), MadeBy::Line);
        assert_eq!(made_by(&b, "/home/u/xy"), MadeBy::Nothing);
        assert_eq!(made_by(&b, "/home/u/other"), MadeBy::Nothing);
        let b = then(&b, Creates::default());
        assert_eq!(made_by(&b, "/home/u/x"), MadeBy::Line);
        let b = then(&b, moved(&["/home/u/x/y"]));
        assert_eq!(made_by(&b, "/home/u/x"), MadeBy::Moved);
        assert_eq!(made_by(&b, "/home/u/z"), MadeBy::Nothing);
        let b = then(&b, Creates::fresh_anywhere());
        assert_eq!(made_by(&b, "/home/u/z"), MadeBy::Line);
        let b = then(&b, Creates::anything());
        let b = then(&b, fresh(&["/z"]));
        assert_eq!(made_by(&b, "/anywhere"), MadeBy::Moved);
        assert_eq!(made_by(&None, "/home/u/x"), MadeBy::Nothing);
    }

    #[test]
    fn commands_peeled_from_one_see_each_other() {
        let (each, after) = sequence(
            &None,
            &[
                vec![fresh(&["/a"]), Creates::default()],
                vec![fresh(&["/b"])],
            ],
        );
        assert_eq!(made_by(&each[0][0], "/a"), MadeBy::Nothing, "not itself");
        assert_eq!(made_by(&each[0][1], "/a"), MadeBy::Line, "its sibling");
        assert_eq!(made_by(&each[1][0], "/a"), MadeBy::Line);
        assert_eq!(made_by(&each[1][0], "/b"), MadeBy::Nothing);
        assert_eq!(made_by(&after, "/b"), MadeBy::Line);
    }
}
