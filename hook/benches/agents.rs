//! In-process cost of what backstop adds for coding agents:
//! - `coding_agent::detect()`: the environment and the walk up this process's
//!   ancestors, run only when a line needs a person's answer; beside it, the engine's
//!   warm evaluation of such a line (`rm -rf ~/x`), which that path always pays;
//! - a file edit's check (`Protected::discover` and one path), run on every edit an
//!   agent's file tool makes; beside it, the engine's warm evaluation of a benign
//!   line, which every agent shell command pays;
//! - the reading of a line's commands for paths into backstop's own directories
//!   (`OwnPlaces`), which every line the hook decides now pays, beside the engine's
//!   evaluation of the same benign line.
//!
//! `cargo bench -p backstop --bench agents`

use std::hint::black_box;
use std::path::Path;

use backstop::config::Dirs;
use backstop::protect::{OwnPlaces, Protected};
use backstop_rules::{Context, Dialect, Engine};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let ctx = Context {
        dialect: Dialect::Bash,
        home: Some("/home/u"),
        cwd: Some("/home/u/src"),
        ..Context::default()
    };
    let engine = Engine::builtin();
    for line in ["rm -rf ~/x", "ls -la --color=auto ~/src"] {
        let _ = engine.evaluate(line, &ctx);
        c.bench_function(&format!("engine/{line}"), |b| {
            b.iter(|| engine.evaluate(black_box(line), &ctx).ok())
        });
    }
    c.bench_function("coding_agent/detect", |b| {
        b.iter(|| black_box(backstop::coding_agent::detect()))
    });
    let home = tempfile::tempdir().expect("tmp");
    let dirs = Dirs {
        system: home.path().join("system"),
        user_policies: home.path().join("policies"),
        data: home.path().join("data"),
    };
    let cwd = std::env::current_dir().expect("cwd");
    let benign = "ls -la --color=auto ~/src";
    let commands = engine.evaluate(benign, &ctx).expect("evaluate").commands;
    c.bench_function("own_places/new+hits ls -la --color=auto ~/src", |b| {
        b.iter(|| {
            let places = OwnPlaces::new(black_box(&dirs), Some("/home/u"));
            black_box(places.hits(&commands, Some(Path::new("/home/u/src"))))
        })
    });
    c.bench_function("protect/discover+check src/main.rs", |b| {
        b.iter(|| {
            let p = Protected::discover(black_box(&dirs));
            black_box(p.check("hook/src/main.rs", Some(Path::new(&cwd))))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
