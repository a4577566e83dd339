//! The largest inputs a line can bring: a 1 MiB line, nesting 10,000 levels deep in
//! every dialect, a script file of 100,000 commands and one over the size that is
//! read, a SQL script at and over the size that is read, a policy of 1,000 rules. Each is decided (nothing is lost to a bound) and what can be bounded without
//! a clock is asserted here; their time and peak memory are measured by
//! scripts/bench-limits.sh (docs/reliability.md).

use std::cell::Cell;
use std::sync::OnceLock;

use backstop_rules::engine::Source;
use backstop_rules::scripts::MAX_SCRIPT_FILE;
use backstop_rules::unwrap::MAX_SHELL_DEPTH;
use backstop_rules::{
    Context, Decision, Dialect, Engine, Evaluation, FileReader, FileText, Layer, Origin,
    MAX_SQL_FILE, SQL_READ_BUDGET,
};

const MIB: usize = 1 << 20;
const DEEP: usize = 10_000;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

fn eval_with(engine: &Engine, line: &str, dialect: Dialect, files: &dyn FileReader) -> Evaluation {
    let ctx = Context {
        dialect,
        home: Some("/home/u"),
        cwd: Some("/home/u/project"),
        files,
        ..Context::default()
    };
    engine.evaluate(line, &ctx).expect("evaluates")
}

fn eval(line: &str, dialect: Dialect) -> Evaluation {
    eval_with(engine(), line, dialect, &backstop_rules::NoFiles)
}

fn ids(e: &Evaluation) -> Vec<&str> {
    let mut ids: Vec<&str> = e.findings.iter().map(|f| f.id.as_str()).collect();
    ids.dedup();
    ids
}

/// `unit` repeated to 1 MiB (less `tail`), then `tail`.
fn mib_of(unit: &str, tail: &str) -> String {
    let mut line = unit.repeat((MIB - tail.len()) / unit.len());
    line.push_str(tail);
    assert!(line.len() <= MIB && line.len() > MIB - unit.len() - tail.len());
    line
}

#[test]
fn a_one_mib_line_is_decided_whatever_it_holds() {
    let cases = [
        (
            Dialect::Bash,
            format!("rm -rf /home/u/{}", "a".repeat(MIB - 16)),
        ),
        (Dialect::Bash, mib_of("rm -rf ~/x; ", "")),
        (Dialect::Bash, mib_of("ls -la | grep x && ", "rm -rf ~/x")),
        (Dialect::Bash, mib_of("echo \"$(", "\nrm -rf ~/x")),
        (Dialect::Bash, mib_of("'", "\nrm -rf ~/x")),
        (Dialect::Zsh, mib_of("echo ${x:-", "\nrm -rf ~/x")),
        (Dialect::Fish, mib_of("echo (", "\nrm -rf ~/x")),
        (
            Dialect::PowerShell,
            mib_of("Get-ChildItem | ", "Remove-Item -Recurse -Force C:/x"),
        ),
        (
            Dialect::PowerShell,
            mib_of("@'\n", "\nRemove-Item -Recurse -Force C:/x"),
        ),
        (Dialect::Cmd, mib_of("echo x & ", "rd /s /q C:\\x")),
        (Dialect::Cmd, mib_of("^", "\nrd /s /q C:\\x")),
        (Dialect::Nu, mib_of("ls | ", "rm -r ~/x")),
    ];
    for (dialect, line) in cases {
        let e = eval(&line, dialect);
        assert_eq!(
            e.decision,
            Decision::Deny,
            "{dialect}: {}",
            &line[line.len() - 60..]
        );
        // One rule, one finding for every command it matched the same way.
        assert!(e.findings.len() <= 2, "{dialect}: {:?}", ids(&e));
    }
}

/// A wrapper chain filling a line: peeling stops at its bound, and what it could not
/// peel is still read from the program at its end (it was let through before).
#[test]
fn a_chain_of_wrappers_past_the_bound_is_still_decided() {
    for wrapper in [
        "sudo ",
        "env ",
        "nohup ",
        "timeout 1 ",
        "xargs ",
        "eval ",
        "ssh h ",
        "wsl ",
        "watch ",
    ] {
        for n in [DEEP, MIB / wrapper.len() - 4] {
            let line = format!("{}rm -rf ~/x", wrapper.repeat(n));
            let e = eval(&line, Dialect::Bash);
            assert_eq!(e.decision, Decision::Deny, "{n} × {wrapper:?}");
            assert!(e.incomplete, "{n} × {wrapper:?}: the bound was reached");
            assert!(
                e.commands.iter().any(|c| c.origin == Origin::Unpeeled),
                "{n} × {wrapper:?}"
            );
            // The first and last 32 programs of the chain, and the chain itself.
            assert!(
                e.commands.len() <= 65 + 2,
                "{n} × {wrapper:?}: {}",
                e.commands.len()
            );
        }
    }
}

#[test]
fn nesting_ten_thousand_levels_deep_is_decided_in_every_dialect() {
    let nest = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(DEEP), close.repeat(DEEP))
    };
    let cases = [
        (
            Dialect::Bash,
            format!("echo {}", nest("$( ", "rm -rf ~/x", " )")),
        ),
        (
            Dialect::Bash,
            format!("echo {}", nest("\"$(", "rm -rf ~/x", ")\"")),
        ),
        (Dialect::Bash, nest("( ", "rm -rf ~/x", " )")),
        (Dialect::Bash, nest("{ ", "rm -rf ~/x", "; }")),
        (Dialect::Bash, nest("if true; then ", "rm -rf ~/x", "; fi")),
        (
            Dialect::Bash,
            format!("cat {}", nest("<(", "rm -rf ~/x", ")")),
        ),
        (
            Dialect::Zsh,
            format!("echo {}", nest("$( ", "rm -rf ~/x", " )")),
        ),
        (
            Dialect::Fish,
            format!("echo {}", nest("(", "rm -rf ~/x", ")")),
        ),
        (Dialect::Fish, nest("begin; ", "rm -rf ~/x", "; end")),
        (
            Dialect::PowerShell,
            nest("& { ", "Remove-Item -Recurse -Force C:/x", " }"),
        ),
        (
            Dialect::PowerShell,
            nest("(", "Remove-Item -Recurse -Force C:/x", ")"),
        ),
        (
            Dialect::PowerShell,
            format!(
                "echo {}",
                nest("$(", "Remove-Item -Recurse -Force C:/x", ")")
            ),
        ),
        (Dialect::Cmd, nest("(", "rd /s /q C:\\x", ")")),
        (Dialect::Nu, format!("echo {}", nest("(", "rm -r ~/x", ")"))),
        (Dialect::Nu, nest("do { ", "rm -r ~/x", " }")),
    ];
    for (dialect, line) in cases {
        let e = eval(&line, dialect);
        assert_eq!(e.decision, Decision::Deny, "{dialect}: {}", &line[..40]);
    }
}

/// `bash -c "bash -c \"…\""`: each level doubles the backslashes, so a 1 MiB line holds
/// about 18 levels. Past `MAX_SHELL_DEPTH` the string is read as text, and the command
/// at the bottom is still found.
#[test]
fn nested_shell_strings_deeper_than_followed_are_read_as_text() {
    for (shell, dialect) in [
        ("bash", Dialect::Bash),
        ("zsh", Dialect::Zsh),
        ("pwsh", Dialect::Bash),
    ] {
        let mut line = "rm -rf ~/x".to_string();
        let mut levels = 0;
        loop {
            let quoted = line.replace('\\', "\\\\").replace('"', "\\\"");
            let next = format!("{shell} -c \"{quoted}\"");
            if next.len() > MIB {
                break;
            }
            line = next;
            levels += 1;
        }
        assert!(levels > MAX_SHELL_DEPTH + 4, "{shell}: {levels} levels");
        let e = eval(&line, dialect);
        assert_eq!(e.decision, Decision::Deny, "{shell}: {levels} levels");
        for f in &e.findings {
            assert!(f.via.len() <= MAX_SHELL_DEPTH + 1, "{shell}: {:?}", f.via);
        }
    }
}

/// Serves one script, read as `LocalFiles` reads (nothing over the limit, which is
/// then too large), and keeps the limit it was asked with.
struct Script {
    text: String,
    limit: Cell<u64>,
}

impl FileReader for Script {
    fn read_small(&self, _path: &str, limit: u64) -> Option<String> {
        self.limit.set(limit);
        (self.text.len() as u64 <= limit).then(|| self.text.clone())
    }

    fn read_text(&self, path: &str, limit: u64) -> FileText {
        self.read_small(path, limit)
            .map_or(FileText::TooLarge, FileText::Text)
    }
}

#[test]
fn a_sql_script_at_the_cap_is_read_whole_and_one_over_it_is_not_read() {
    let tail = "DROP TABLE users;\n";
    let statement = "INSERT INTO t VALUES (1, 'x');\n";
    let cap = MAX_SQL_FILE as usize;
    let mut text = statement.repeat((cap - tail.len()) / statement.len());
    text.push_str(&"-".repeat(cap - tail.len() - text.len() - 1));
    text.push('\n');
    text.push_str(tail);
    assert_eq!(text.len(), cap);
    let at_cap = Script {
        text: text.clone(),
        limit: Cell::new(0),
    };
    let e = eval_with(
        engine(),
        "psql -f /srv/cleanup.sql app",
        Dialect::Bash,
        &at_cap,
    );
    assert_eq!(at_cap.limit.get(), MAX_SQL_FILE);
    assert_eq!(
        ids(&e),
        ["sql.drop-table"],
        "the DROP at its very end is found"
    );
    let over = Script {
        text: text + "\n",
        limit: Cell::new(0),
    };
    let e = eval_with(
        engine(),
        "psql -f /srv/cleanup.sql app",
        Dialect::Bash,
        &over,
    );
    assert_eq!(over.limit.get(), MAX_SQL_FILE);
    assert!(
        e.findings.is_empty(),
        "not read, so not examined: {:?}",
        ids(&e)
    );
}

/// Serves a SQL script for any path and counts the reads.
struct CountedScript {
    text: String,
    reads: Cell<usize>,
}

impl FileReader for CountedScript {
    fn read_small(&self, _path: &str, limit: u64) -> Option<String> {
        self.reads.set(self.reads.get() + 1);
        (self.text.len() as u64 <= limit).then(|| self.text.clone())
    }
}

/// Found by the `evaluate_cmd` and `evaluate_nu` fuzz targets (their slowest inputs, over
/// a second for 3 KB): `psql -f F -f F …` read and parsed F once for every `-f`, so a
/// 1 MiB line naming a 1 MiB script 50,000 times would take over an hour. Each file is
/// now read and worked out once per line, and the bytes of SQL read are capped.
#[test]
fn a_sql_script_named_again_and_again_is_read_once_and_the_reads_are_capped() {
    let mut text = "INSERT INTO t VALUES (1, 'x');\n".repeat(30_000);
    text.push_str("DROP TABLE users;\n");
    let script = CountedScript {
        text,
        reads: Cell::new(0),
    };
    let line = format!(
        "psql {}app; psql -f /srv/cleanup.sql app2",
        "-f /srv/cleanup.sql ".repeat(2_000)
    );
    let e = eval_with(engine(), &line, Dialect::Bash, &script);
    assert_eq!(ids(&e), ["sql.drop-table"]);
    assert_eq!(script.reads.get(), 1, "one file, read once for the line");

    // Distinct files: read until the line's budget is spent, then no more.
    let script = CountedScript {
        text: "DROP TABLE users;\n".repeat(50_000),
        reads: Cell::new(0),
    };
    let line: String = (0..100)
        .map(|i| format!("psql -f /srv/c{i}.sql app; "))
        .collect();
    let e = eval_with(engine(), &line, Dialect::Bash, &script);
    assert_eq!(e.decision, Decision::Deny);
    let per_file = script.text.len() as u64;
    let most = SQL_READ_BUDGET.div_ceil(per_file) as usize;
    assert_eq!(script.reads.get(), most, "{per_file} bytes a file");
}

#[test]
fn a_script_of_a_hundred_thousand_commands_is_decided_and_a_larger_one_is_refused() {
    let commands = 100_000;
    let mut text = "echo step\n".repeat(commands);
    text.push_str("rm -rf ~/x\n");
    assert!(text.len() as u64 <= MAX_SCRIPT_FILE);
    let script = Script {
        text: text.clone(),
        limit: Cell::new(0),
    };
    let e = eval_with(
        engine(),
        "bash /home/u/project/deploy.sh",
        Dialect::Bash,
        &script,
    );
    assert_eq!(script.limit.get(), MAX_SCRIPT_FILE);
    assert_eq!(e.decision, Decision::Deny, "{:?}", ids(&e));
    let from = e
        .findings
        .iter()
        .find_map(|f| f.from.as_ref())
        .expect("the finding names the file it was read from");
    assert_eq!(
        from.line,
        commands + 1,
        "the `rm` on its last line is found"
    );
    // Read through the sieve (rules/src/sieve.rs): the `echo`s are never decided.
    assert!(
        e.commands.len() < 10,
        "{} commands examined",
        e.commands.len()
    );

    // Past the size read, the file is not read, and the rule for unreadable files decides.
    let big = Script {
        text: text.repeat(2),
        limit: Cell::new(0),
    };
    let e = eval_with(
        engine(),
        "bash /home/u/project/deploy.sh",
        Dialect::Bash,
        &big,
    );
    assert_eq!(ids(&e), ["indirect.unreadable-file"]);
    assert_ne!(e.decision, Decision::Allow);
}

#[test]
fn a_policy_of_a_thousand_rules_loads_and_decides() {
    let sources: Vec<Source> = (0..10)
        .map(|file| {
            let text: String = (0..100)
                .map(|r| {
                    let n = file * 100 + r;
                    format!(
                        "[[rule]]\nid = \"me.tool-{n}\"\ndescription = \"tool {n} wipes\"\nseverity = \"high\"\nprograms = [\"tool{n}\"]\nargs_regex = '(^|\\s)--wipe(\\s|$)'\nrequires = \"deny\"\n\n[rule.examples]\nmatch = [\"tool{n} --wipe\"]\nno_match = [\"tool{n} --list\"]\n\n"
                    )
                })
                .collect();
            Source {
                origin: format!("policies/team-{file}.toml"),
                layer: Layer::User,
                text,
            }
        })
        .collect();
    let engine = Engine::new(sources).expect("1,000 rules load");
    let rules: usize = engine
        .all_policies()
        .expect("policies")
        .iter()
        .filter(|p| p.layer == Layer::User)
        .map(|p| p.rules.len())
        .sum();
    assert_eq!(rules, 1000);
    let words = engine.program_words();
    assert!(words.may_match("tool999 --wipe") && !words.may_match("ls -la"));
    let nothing = backstop_rules::NoFiles;
    for (line, want) in [
        ("tool0 --wipe", Decision::Deny),
        ("tool999 --wipe", Decision::Deny),
        ("tool500 --list", Decision::Allow),
        ("rm -rf ~/x", Decision::Deny),
        ("ls -la", Decision::Allow),
    ] {
        assert_eq!(
            eval_with(&engine, line, Dialect::Bash, &nothing).decision,
            want,
            "{line}"
        );
    }
    for p in engine.all_policies().expect("policies") {
        if p.layer == Layer::User {
            let report = engine.run_examples(p).expect("examples run");
            assert!(report.failures.is_empty(), "{:?}", report.failures);
        }
    }
}

#[test]
fn scripts_past_what_one_line_reads_count_as_unreadable() {
    // Ten scripts of a million bytes each: the line's 8 MiB are spent after eight.
    let script = Script {
        text: "echo step\n".repeat(100_000),
        limit: Cell::new(0),
    };
    let line: Vec<String> = (0..10)
        .map(|i| format!("bash /home/u/project/step{i}.sh"))
        .collect();
    let e = eval_with(engine(), &line.join("; "), Dialect::Bash, &script);
    // The scripts not read could do anything: a person is asked, never let through.
    assert!(
        ids(&e).contains(&"indirect.unreadable-file"),
        "{:?}",
        ids(&e)
    );
    assert_ne!(e.decision, Decision::Allow);
}
