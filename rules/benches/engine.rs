//! In-process cost of reading and matching a line (no process start-up).
//!
//! `scripts/bench-check.sh` measures the whole process against `/bin/true` and
//! shellfirm; this measures the engine alone, including the first-use parse of a
//! built-in pack (the `cold` cases build a fresh engine each iteration).

use std::hint::black_box;

use backstop_rules::{Context, Dialect, Engine, FileSieve};
use criterion::{criterion_group, criterion_main, Criterion};

const LINES: &[(&str, &str)] = &[
    ("benign", "ls -la --color=auto ~/src"),
    ("rm_rf", "rm -rf ~/x"),
    (
        "wrapped",
        "sudo env A=1 nice -n 5 bash -c 'cd /srv && rm -rf data'",
    ),
    (
        "sql_heredoc",
        "psql shop <<SQL\nBEGIN;\nDELETE FROM orders;\nCOMMIT;\nSQL\n",
    ),
    (
        "pipeline",
        "git log --oneline | head -20 | awk '{print $1}' | xargs -n1 git show --stat",
    ),
];

fn bench(c: &mut Criterion) {
    let ctx = Context {
        dialect: Dialect::Bash,
        home: Some("/home/u"),
        cwd: Some("/home/u/src"),
        ..Context::default()
    };
    let warm = Engine::builtin();
    for (name, line) in LINES {
        let _ = warm.evaluate(line, &ctx);
        c.bench_function(&format!("warm/{name}"), |b| {
            b.iter(|| warm.evaluate(black_box(line), &ctx).ok())
        });
        c.bench_function(&format!("cold/{name}"), |b| {
            b.iter(|| {
                Engine::builtin()
                    .evaluate(black_box(line), &ctx)
                    .ok()
                    .map(|e| e.decision)
            })
        });
    }
    c.bench_function("parse_only/wrapped", |b| {
        b.iter(|| Dialect::Bash.parse(black_box(LINES[2].1)))
    });
}

criterion_group!(benches, bench);

/// Serves files from memory: 1 MiB shell scripts, one of 100,000 commands, and a
/// 500-line Makefile.
struct Files {
    script: String,
    varied: String,
    many: String,
    makefile: String,
}

impl backstop_rules::FileReader for Files {
    fn read_small(&self, path: &str, limit: u64) -> Option<String> {
        match self.read_text(path, limit) {
            backstop_rules::FileText::Text(t) => Some(t),
            _ => None,
        }
    }

    fn read_text(&self, path: &str, limit: u64) -> backstop_rules::FileText {
        use backstop_rules::FileText;
        let text = match path {
            "/home/u/src/big.sh" => &self.script,
            "/home/u/src/varied.sh" => &self.varied,
            "/home/u/src/many.sh" => &self.many,
            "/home/u/src/Makefile" => &self.makefile,
            _ => return FileText::Missing,
        };
        if text.len() as u64 > limit {
            FileText::TooLarge
        } else {
            FileText::Text(text.clone())
        }
    }
}

/// A script of ordinary shell (tests, loops, copies, builds) up to just under 1 MiB.
fn script() -> String {
    let block = r#"# build step
if [ -d "$SRC" ]; then
  cp -r "$SRC"/*.conf "$DEST/" && echo "copied"
fi
for f in src/*.c; do
  cc -O2 -c "$f" -o "build/$(basename "$f" .c).o"
done
mkdir -p dist && tar -czf dist/app.tar.gz build
rm -rf build/tmp
grep -q ready status.txt || sed -i 's/old/new/' config.ini
"#;
    let mut s = String::from("#!/bin/bash\nset -euo pipefail\n");
    while s.len() + block.len() < 1024 * 1024 {
        s.push_str(block);
    }
    s
}

/// The same script with every block's names its own (`build17/tmp`): no two
/// commands alike, so none is decided once for all its copies.
fn varied_script() -> String {
    let mut s = String::from("#!/bin/bash\nset -euo pipefail\n");
    for i in 0.. {
        let block = format!(
            r#"# build step {i}
if [ -d "$SRC{i}" ]; then
  cp -r "$SRC{i}"/*.conf "$DEST/{i}/" && echo "copied {i}"
fi
for f in src{i}/*.c; do
  cc -O2 -c "$f" -o "build{i}/$(basename "$f" .c).o"
done
mkdir -p dist{i} && tar -czf dist{i}/app.tar.gz build{i}
rm -rf build{i}/tmp
grep -q ready status{i}.txt || sed -i 's/old/new/' config{i}.ini
"#
        );
        if s.len() + block.len() >= 1024 * 1024 {
            break;
        }
        s.push_str(&block);
    }
    s
}

/// A script of 100,000 short commands (just under 1 MiB), one in ten an `rm` of a file
/// of its own.
fn many_commands() -> String {
    let mut s = String::new();
    for i in 0..100_000 {
        let program = if i % 10 == 9 { "rm" } else { "ls" };
        s.push_str(&format!("{program} x{i:05}\n"));
    }
    s
}

/// A Makefile of 500 lines: variables, 80 targets that `all` depends on, each with a
/// prerequisite built by a pattern rule.
fn makefile() -> String {
    let targets: Vec<String> = (0..80).map(|t| format!("t{t}")).collect();
    let mut s = String::from("CC = cc\nCFLAGS := -O2 -Wall\nBUILD = build\nSRC = src\n\n");
    s.push_str(&format!(
        "all: {}\n\n%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n\n",
        targets.join(" ")
    ));
    for t in 0..80 {
        s.push_str(&format!(
            "t{t}: obj{t}.o\n\t@echo \"step {t}\"\n\tmkdir -p $(BUILD)/{t}\n\tcp $(SRC)/{t}.h $(BUILD)/{t}/\n\trm -rf $(BUILD)/{t}/old\n\n"
        ));
        if s.lines().count() >= 494 {
            break;
        }
    }
    while s.lines().count() < 500 {
        s.push_str("# end\n");
    }
    s
}

fn bench_files(c: &mut Criterion) {
    let files = Files {
        script: script(),
        varied: varied_script(),
        many: many_commands(),
        makefile: makefile(),
    };
    for s in [&files.script, &files.varied] {
        assert!(s.len() <= 1024 * 1024 && s.len() > 1_000_000);
    }
    assert_eq!(files.many.lines().count(), 100_000);
    assert!(files.many.len() <= 1024 * 1024);
    assert_eq!(files.makefile.lines().count(), 500);
    let ctx = Context {
        dialect: Dialect::Bash,
        home: Some("/home/u"),
        cwd: Some("/home/u/src"),
        files: &files,
        ..Context::default()
    };
    for (name, text) in [
        ("script_1mib", &files.script),
        ("script_1mib_varied", &files.varied),
    ] {
        c.bench_function(&format!("parse_only/{name}"), |b| {
            b.iter(|| Dialect::Bash.parse(black_box(text)).commands.len())
        });
    }
    let warm = Engine::builtin();
    // Every command of every file read, as before the sieve (and as `explain` reads).
    let whole = Engine::builtin().with_file_sieve(FileSieve::Never);
    for (name, line) in [
        ("script_1mib", "bash big.sh"),
        ("script_1mib_varied", "bash varied.sh"),
        ("script_100k_commands", "bash many.sh"),
        ("make_500_lines", "make"),
    ] {
        let all = whole.evaluate(line, &ctx).expect("evaluates");
        assert!(all.commands.len() > 100, "{name} read its file");
        let e = warm.evaluate(line, &ctx).expect("evaluates");
        assert_eq!(e.findings.len(), all.findings.len(), "{name}");
        assert_eq!(e.decision, all.decision, "{name}");
        c.bench_function(&format!("files/{name}"), |b| {
            b.iter(|| {
                warm.evaluate(black_box(line), &ctx)
                    .ok()
                    .map(|e| e.decision)
            })
        });
        c.bench_function(&format!("files_whole/{name}"), |b| {
            b.iter(|| {
                whole
                    .evaluate(black_box(line), &ctx)
                    .ok()
                    .map(|e| e.decision)
            })
        });
    }
}

criterion_group!(file_benches, bench_files);
criterion_main!(benches, file_benches);
