//! The sieve (how large script files are read: only the pieces that could matter are
//! parsed and decided, see `rules/src/sieve.rs`) must never change what is decided.
//! Held two ways, on scripts built from many lines by a seeded generator (and mutated
//! byte by byte to stress where pieces end):
//! - parsing the sieve's pieces one by one gives exactly what parsing the whole text
//!   gives (commands, words, lines, pipes), or the sieve reads the text whole;
//! - evaluating a line that runs the script gives the same decision and findings (rule
//!   ids, targets, files and lines) with `FileSieve::Always` as with `FileSieve::Never`.
//!
//! `BACKSTOP_SIEVE_CASES=N` runs N generated scripts instead of the default.

#![allow(clippy::panic)] // a failing case names its seed and its script

use std::collections::HashMap;
use std::path::Path;

use backstop_rules::{
    Command, Context, Dialect, Engine, Evaluation, FileReader, FileSieve, FileText, Script,
};

/// Files by absolute path, and what `PATH` finds for a bare name.
struct Fs {
    files: HashMap<String, String>,
    path: HashMap<String, String>,
}

impl FileReader for Fs {
    fn read_small(&self, path: &str, limit: u64) -> Option<String> {
        match self.read_text(path, limit) {
            FileText::Text(t) => Some(t),
            _ => None,
        }
    }

    fn read_text(&self, path: &str, limit: u64) -> FileText {
        match self.files.get(path) {
            None => FileText::Missing,
            Some(t) if t.len() as u64 > limit => FileText::TooLarge,
            Some(t) => FileText::Text(t.clone()),
        }
    }

    fn find_on_path(&self, name: &str) -> Option<String> {
        self.path.get(name).cloned()
    }
}

const P: &str = "/home/u/p";

/// The project the generated scripts run in: scripts they call, and `gen.sh` itself.
fn project(script: &str) -> Fs {
    let mut files: HashMap<String, String> = [
        ("cleanup.sh", "#!/bin/bash\nrm -rf data\n"),
        ("tidy.sh", "#!/bin/bash\nrm -rf build\necho tidy\n"),
        ("Makefile", "clean:\n\trm -rf data\n"),
    ]
    .into_iter()
    .map(|(n, t)| (format!("{P}/{n}"), t.to_string()))
    .collect();
    files.insert(format!("{P}/gen.sh"), script.to_string());
    files.insert(
        "/home/u/bin/nuke-data".into(),
        "#!/bin/bash\nrm -rf data\n".into(),
    );
    files.insert(
        "/home/u/bin/tidy-build".into(),
        "#!/bin/bash\nrm -rf build\n".into(),
    );
    let path = [
        ("nuke-data", "/home/u/bin/nuke-data"),
        ("tidy-build", "/home/u/bin/tidy-build"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    Fs { files, path }
}

/// What a line was decided to be: everything the findings say, in order.
fn decided(e: &Evaluation) -> String {
    format!(
        "decision {:?}, incomplete {}\n{:#?}",
        e.decision, e.incomplete, e.findings
    )
}

struct Engines {
    sieve: Engine,
    whole: Engine,
}

impl Engines {
    fn new() -> Engines {
        Engines {
            sieve: Engine::builtin().with_file_sieve(FileSieve::Always),
            whole: Engine::builtin().with_file_sieve(FileSieve::Never),
        }
    }

    /// Both ways of reading files decide `line` alike; the evaluation, read whole.
    fn same(&self, files: &dyn FileReader, cwd: &str, shell: Dialect, line: &str) -> Evaluation {
        let ctx = Context {
            dialect: shell,
            cwd: Some(cwd),
            home: Some("/home/u"),
            files,
            ..Context::default()
        };
        let sieved = self.sieve.evaluate(line, &ctx).expect("evaluates");
        let whole = self.whole.evaluate(line, &ctx).expect("evaluates");
        let (a, b) = (decided(&sieved), decided(&whole));
        if a != b {
            panic!("`{line}` ({shell}) is decided differently through the sieve:\n--- sieve\n{a}\n--- whole\n{b}");
        }
        whole
    }
}

/// xorshift64*: a fixed sequence per seed, so a failure names the case that made it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Lines and blocks scripts are made of: the rules tests' destructive lines and their
/// benign twins, and every construct that spans lines or changes what later lines mean.
/// `{T}` is a target, `{N}` a number.
const UNITS: &[&str] = &[
    "echo hello {N}\n",
    "mkdir -p build/{N} && cp -r src build/{N}\n",
    "[ -d x{N} ] && echo yes || echo no\n",
    "ls -la {T} | grep x | sort > /dev/null\n",
    "rm -rf {T}\n",
    "rm -rf {T}\n",
    "rm -f {T}/file{N}.txt\n",
    "rm -rf build\n",
    "# rm -rf {T}\n",
    "echo 'rm -rf {T}'\n",
    "git commit -m 'rm -rf {T} is gone'\n",
    "echo 'line one\nrm -rf {T}\nline three'\n",
    "echo \"multi\n$(rm -rf {T}\n)\"\n",
    "echo \"$(\n  echo nested \"$(echo deep)\"\n)\"\n",
    "cat <<'EOF'\nrm -rf {T}\nEOF\n",
    "cat <<EOF\nnothing $(echo hi) here\nEOF\n",
    "cat <<EOF\n$(rm -rf {T})\nEOF\n",
    "cat <<-EOF\n\trm -rf {T}\n\tEOF\n",
    "bash <<EOF\nrm -rf {T}\nEOF\n",
    "sh <<< 'rm -rf {T}'\n",
    "base64 -d <<< cm0gLXJmIGRhdGE= | bash\n",
    "echo cm0gLXJmIGRhdGE= | base64 -d | sh\n",
    "rm \\\n  -rf {T}\n",
    "echo a \\\n  b \\\n  c\n",
    "r\\m -rf {T}\n",
    "$'\\x72m' -rf {T}\n",
    "echo $'a\\'b' {N}\n",
    "nuke() {\n  rm -rf \"$1\"\n}\n",
    "nuke {T}\n",
    "function wipe {\n  rm -rf {T}\n}\n",
    "wipe\n",
    "case \"$x\" in\n  a) rm -rf {T} ;;\n  b|c) echo b ;;\n  *) : ;;\nesac\n",
    "case $y in (x) echo x;; esac\n",
    "alias zap='rm -rf'\n",
    "zap {T}\n",
    "alias go='cd /home/u'\n",
    "alias ll='ls -la'\n",
    "go\n",
    "ll\n",
    "unalias zap\n",
    "x=rm\n",
    "$x -rf {T}\n",
    "cmd=\"rm -rf {T}\"\n",
    "$cmd\n",
    "eval \"$cmd\"\n",
    "D={T}\n",
    "rm -rf \"$D\"\n",
    "echo \"$D\"\n",
    "cd /home/u\n",
    "cd /tmp\n",
    "cd -\n",
    "cd data\n",
    "cd\n",
    "pushd /home/u/p >/dev/null\n",
    "popd\n",
    "builtin cd /home/u\n",
    "CD=cd\n",
    "$CD /home/u\n",
    "shift\n",
    "set -- data\n",
    "printf '%s\\n' \"$@\"\n",
    "\"$@\"\n",
    "rm -rf \"$1\"\n",
    "echo \"$2\"\n",
    "./cleanup.sh\n",
    "./tidy.sh\n",
    "nuke-data\n",
    "tidy-build\n",
    "source tidy.sh\n",
    ". ./cleanup.sh\n",
    "make clean\n",
    "y=$(rm -rf {T})\n",
    "for f in a b {T}; do\n  rm -rf \"$f\"\ndone\n",
    "for f in a b; do echo \"$f\"; done\n",
    "while read -r l; do\n  echo \"$l\"\ndone < list{N}.txt\n",
    "if [ -f x ]; then\n  rm -rf {T}\nelif true; then\n  echo no\nfi\n",
    "if true; then echo {N}; fi\n",
    "( cd /home/u && rm -rf p/data )\n",
    "{ echo a; rm -rf {T}; } > out{N}.log\n",
    "{\n  echo grouped\n}\n",
    "(\n  echo sub\n  rm -rf {T}\n)\n",
    "echo x > /dev/null 2>&1\n",
    "echo x > /dev/sda\n",
    "echo x >> ~/.bashrc\n",
    "exec 3> log{N}.txt\n",
    "echo x 2>&1 >&2\n",
    "cat < input{N}.txt\n",
    "echo {T} | xargs rm -rf\n",
    "find . -name '*.o' -delete\n",
    "git clean -fdx\n",
    "sudo rm -rf /\n",
    "dd if=/dev/zero of=/dev/sdb bs=1M\n",
    "echo $((1 + {N}))\n",
    "(( i += {N} ))\n",
    "arr=(rm -rf {T})\n",
    "\"${arr[@]}\"\n",
    "export CMD=rm\n",
    "$CMD -rf {T}\n",
    "unset x\n",
    "readonly R=rm\n",
    "local v=1\n",
    "z=`echo rm`\n",
    "`echo rm` -rf {T}\n",
    ": \"${X:=rm}\"\n",
    "${X} -rf {T}\n",
    "echo ${x:-$(rm -rf {T})}\n",
    "rm -rf !(keep)\n",
    "[[ $x == y ]] && rm -rf {T}\n",
    "time rm -rf {T}\n",
    "! rm -rf {T}\n",
    "exec rm -rf {T}\n",
    "nohup rm -rf {T} &\n",
    "command rm -rf {T}\n",
    "rm -rf {T} # comment\n",
    "echo a#b 'rm' # it's\n",
    "echo done |\n  cat\n",
    "true &&\n  rm -rf {T}\n",
    "trap 'rm -rf {T}' EXIT\n",
    "mv data x{N} && rm -rf x{N}\n",
    "python3 -c 'import shutil; shutil.rmtree(\"{T}\")'\n",
    "tar -czf a.tgz data\n",
    "echo '\n\n'\n",
    "echo \"a\n'b\n\"\n",
    "x='\n)'\n",
    "diff <(ls a) <(ls b)\n",
    "until false; do break; done\n",
    "select s in a b; do echo $s; break; done\n",
    "coproc cat\n",
    "docker run --rm -v \"$PWD\":/w -w /w alpine rm -rf {T}\n",
    "tmux new-session -d 'rm -rf {T}'\n",
    "xterm -e 'rm -rf {T}'\n",
    "noglob rm -rf {T}\n",
    "echo #notacomment in zsh rm -rf {T}\n",
    "rm -rf =(echo x)\n",
    "\n",
    "\r\n",
    "echo crlf\r\n",
];

const TARGETS: &[&str] = &[
    "data",
    "build",
    "/home/u/p/data",
    "/tmp/x",
    "~/data",
    "\"$1\"",
    "$D",
    "node_modules",
    "'da ta'",
];

/// A script of up to `max` units.
fn script(rng: &mut Rng, max: usize) -> String {
    let mut s = String::from(if rng.below(4) == 0 {
        ""
    } else {
        "#!/bin/bash\n"
    });
    for _ in 0..=rng.below(max) {
        let unit = rng.pick(UNITS);
        let t = rng.pick(TARGETS);
        let n = rng.below(1000).to_string();
        s.push_str(&unit.replace("{T}", t).replace("{N}", &n));
    }
    s
}

/// `text` with a few bytes that change where pieces end inserted or removed.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        if rng.below(3) == 0 && at < b.len() {
            b.remove(at);
        } else {
            let c = rng.pick(&[
                "'", "\"", "(", ")", "$(", "`", "\\", "\n", "{", "}", ";", "|", "&", "<<E\n", "<",
                ">", "#", "case ", "esac", "$'", "${",
            ]);
            b.splice(at..at, c.bytes());
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Parsing the sieve's pieces one by one gives what parsing the whole text gives.
fn pieces_parse_as_the_whole(text: &str, d: Dialect, case: &str) {
    let whole: Script = d.parse(text);
    let Some(pieces) = backstop_rules::sieve_read_every_piece(text, d) else {
        return;
    };
    assert!(
        !whole.incomplete,
        "{case}: the sieve split a text the reader finds incomplete:\n{text}"
    );
    assert!(
        !pieces.incomplete,
        "{case}: a piece is incomplete, or the pieces leave a gap:\n{text}"
    );
    if pieces.commands != whole.commands {
        let show = |cs: &[Command]| {
            cs.iter()
                .map(|c| format!("{}: {c}", c.line))
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{case}: the pieces read differently\n--- text\n{text}\n--- pieces\n{}\n--- whole\n{}",
            show(&pieces.commands),
            show(&whole.commands)
        );
    }
}

fn cases() -> u64 {
    std::env::var("BACKSTOP_SIEVE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150)
}

/// The lines that run the generated script: as a file, with arguments, sourced, by zsh.
const RUNS: &[(Dialect, &str)] = &[
    (Dialect::Bash, "bash gen.sh"),
    (Dialect::Bash, "./gen.sh data"),
    (Dialect::Bash, "source gen.sh"),
    (Dialect::Bash, "zsh gen.sh"),
];

#[test]
fn generated_scripts_are_decided_alike() {
    let engines = Engines::new();
    let mut findings = 0;
    for seed in 1..=cases() {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let text = script(&mut rng, 60);
        let fs = project(&text);
        for (d, line) in RUNS {
            let e = engines.same(&fs, P, *d, line);
            findings += e.findings.len();
        }
    }
    // The generator makes scripts that delete, not only benign ones.
    assert!(findings > cases() as usize, "{findings} findings");
}

#[test]
fn mutated_scripts_are_decided_alike() {
    let engines = Engines::new();
    for seed in 1..=cases() {
        let mut rng = Rng(seed.wrapping_mul(0xd1b5_4a32_d192_ed03) | 1);
        let text = script(&mut rng, 30);
        let text = mutate(&mut rng, &text);
        let fs = project(&text);
        for (d, line) in RUNS {
            engines.same(&fs, P, *d, line);
        }
    }
}

#[test]
fn pieces_read_as_the_whole_text() {
    for seed in 1..=cases() * 4 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let text = script(&mut rng, 40);
        let mutated = mutate(&mut rng, &text);
        for d in [Dialect::Bash, Dialect::Zsh] {
            pieces_parse_as_the_whole(&text, d, &format!("seed {seed} ({d})"));
            pieces_parse_as_the_whole(&mutated, d, &format!("seed {seed} mutated ({d})"));
        }
    }
}

/// Every unit with every target, twice, then after a state change, in both dialects.
#[test]
fn every_unit_is_decided_alike() {
    let engines = Engines::new();
    for unit in UNITS {
        for prefix in ["", "x=rm\n", "cd /tmp\n", "alias go='cd /tmp'\n"] {
            let mut text = prefix.to_string();
            for t in TARGETS {
                let unit = unit.replace("{T}", t).replace("{N}", "7");
                text.push_str(&format!("{unit}{unit}go\n{unit}"));
            }
            let fs = project(&text);
            for (d, line) in RUNS {
                engines.same(&fs, P, *d, line);
            }
            for d in [Dialect::Bash, Dialect::Zsh] {
                pieces_parse_as_the_whole(&text, d, &format!("`{unit}` ({d})"));
            }
        }
    }
}

/// The fixture project's scripts, Makefile, justfile and package.json, read from disk,
/// through the lines the end-to-end tests run.
#[test]
fn the_fixture_project_is_decided_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/project");
    let mut files = HashMap::new();
    let mut path = HashMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("fixture") {
            let e = e.expect("entry");
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&root)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).expect("text");
            if let Some(name) = rel.strip_prefix("bin/") {
                path.insert(name.to_string(), format!("{P}/{rel}"));
            }
            files.insert(format!("{P}/{rel}"), text);
        }
    }
    assert!(files.len() > 20, "{files:?}");
    let fs = Fs { files, path };
    let engines = Engines::new();
    let mut lines: Vec<String> = [
        "make",
        "make clean",
        "make tidy",
        "just",
        "just nuke",
        "just tidy",
        "npm test",
        "npm run reset",
        "npm run clean",
        "nuke-data",
        "tidy-build",
        "./outer.sh",
        "./outer-tidy.sh",
        "./args.sh data",
        "./args.sh build",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    for name in fs.files.keys() {
        let rel = &name[P.len() + 1..];
        lines.push(format!("bash {rel}"));
        lines.push(format!("source {rel}"));
        lines.push(format!("./{rel}"));
    }
    lines.sort();
    for line in &lines {
        engines.same(&fs, P, Dialect::Bash, line);
        engines.same(&fs, P, Dialect::Zsh, line);
    }
}

/// What changes the meaning of later lines without naming a program, between two
/// copies of the same line (the sieve reads a repeated piece once, at its last place).
#[test]
fn state_changes_between_repeated_lines() {
    let engines = Engines::new();
    for script in [
        "rm -rf data\ncd /tmp\nrm -rf data\n",
        "rm -rf data\ncd\nrm -rf data\n",
        "rm -rf data\npushd /tmp\nrm -rf data\n",
        "CD=cd\nrm -rf data\n$CD /tmp\nrm -rf data\n",
        "alias go='cd /tmp'\nrm -rf data\ngo\nrm -rf data\n",
        "D=data\nrm -rf \"$D\"\nD=/tmp/x\nrm -rf \"$D\"\n",
        "x=$'\\x72m'\nxterm -e \"$x -rf data\"\n",
        "x=rm\ny=$x\nxterm -e \"$y -rf data\"\n",
        "set -- data\nrm -rf \"$1\"\nset -- /tmp/x\nrm -rf \"$1\"\n",
        "rm -rf data\nunset D\nrm -rf data\n",
        "f() {\n  cd /tmp\n}\nrm -rf data\nf\nrm -rf data\n",
    ] {
        let fs = project(script);
        for (d, line) in RUNS {
            engines.same(&fs, P, *d, line);
        }
    }
    // The first copy is the one refused: the second runs in /tmp.
    let fs = project("rm -rf data\ncd /tmp\nrm -rf data\n");
    let e = engines.same(&fs, P, Dialect::Bash, "bash gen.sh");
    let lines: Vec<usize> = e
        .findings
        .iter()
        .filter_map(|f| f.from.as_ref().map(|f| f.line))
        .collect();
    assert_eq!(lines, vec![1], "{:#?}", e.findings);
}

/// A disk where nothing is: every path the line deletes is absent.
struct Empty;

impl backstop_rules::FileFacts for Empty {
    fn stat(&self, _: &str) -> backstop_rules::PathFact {
        backstop_rules::PathFact::Absent
    }

    fn follow(&self, _: &str) -> backstop_rules::PathFact {
        backstop_rules::PathFact::Absent
    }
}

/// The commands the sieve leaves unread could have made what a later one deletes
/// (`mkdir ~/x` … `rm -rf ~/x`): through the sieve, a path a script deletes counts
/// as possibly made before, so a missing one is never let through for being missing.
#[test]
fn what_the_sieve_leaves_unread_may_have_made_a_path() {
    let filler: String = (0..2000).map(|i| format!("echo step {i}\n")).collect();
    let decide = |engine: &Engine, script: &str| {
        let fs = project(script);
        let ctx = Context {
            dialect: Dialect::Bash,
            cwd: Some(P),
            home: Some("/home/u"),
            files: &fs,
            facts: &Empty,
            ..Context::default()
        };
        engine
            .evaluate("bash gen.sh", &ctx)
            .expect("evaluates")
            .decision
    };
    let e = Engines::new();
    let made = format!("{filler}mkdir -p /home/u/x\n{filler}rm -rf /home/u/x\n");
    assert!(made.len() > 16 * 1024);
    assert_eq!(decide(&e.whole, &made), backstop_rules::Decision::Deny);
    assert_eq!(decide(&e.sieve, &made), backstop_rules::Decision::Deny);
    // Nothing made it: read whole, the missing path destroys nothing; through the
    // sieve it counts as there (the documented price of not reading every command).
    let missing = format!("{filler}rm -rf /home/u/y\n");
    assert_eq!(decide(&e.whole, &missing), backstop_rules::Decision::Allow);
    assert_eq!(decide(&e.sieve, &missing), backstop_rules::Decision::Deny);
}
