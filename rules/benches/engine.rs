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
criterion_main!(benches);
