//! In-process cost of reading and matching a line (no process start-up).
//!
//! `scripts/bench-check.sh` measures the whole process against `/bin/true` and
//! shellfirm; this measures the engine alone, including the first-use parse of a
//! built-in pack (the `cold` cases build a fresh engine each iteration).

use std::hint::black_box;

use backstop_rules::{Context, Dialect, Engine};
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

/// Serves two files from memory: a 1 MiB shell script and a 500-line Makefile.
struct Files {
    script: String,
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
        makefile: makefile(),
    };
    assert!(files.script.len() <= 1024 * 1024 && files.script.len() > 1_000_000);
    assert_eq!(files.makefile.lines().count(), 500);
    let ctx = Context {
        dialect: Dialect::Bash,
        home: Some("/home/u"),
        cwd: Some("/home/u/src"),
        files: &files,
        ..Context::default()
    };
    let warm = Engine::builtin();
    for (name, line) in [("script_1mib", "bash big.sh"), ("make_500_lines", "make")] {
        let e = warm.evaluate(line, &ctx).expect("evaluates");
        assert!(e.commands.len() > 100, "{name} read its file");
        c.bench_function(&format!("files/{name}"), |b| {
            b.iter(|| {
                warm.evaluate(black_box(line), &ctx)
                    .ok()
                    .map(|e| e.decision)
            })
        });
    }
}

criterion_group!(file_benches, bench_files);
criterion_main!(benches, file_benches);
