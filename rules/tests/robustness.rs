//! Generated hostile input: the engine never panics, and no prefix can hide a
//! destructive command that follows it on its own line.

use backstop_rules::{Context, Decision, Dialect, Engine};

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "'",
    "\"",
    "$(",
    ")",
    "(",
    "`",
    "\\",
    "<<",
    "<<-",
    "<<<",
    "EOF",
    "\n",
    ";",
    ";;",
    "&&",
    "||",
    "|",
    "&",
    " ",
    " ",
    " ",
    "rm",
    "-rf",
    "~",
    "/",
    "{",
    "}",
    "$'",
    "\\x7",
    "#",
    "*",
    "[",
    "]",
    "$",
    "${",
    "x=",
    "cd",
    "bash -c ",
    "sudo ",
    "env ",
    "xargs ",
    "find . -exec ",
    "{} \\;",
    "psql -c ",
    "DROP TABLE t",
    "python3 -c ",
    "os.system(",
    "case x in ",
    "esac",
    "for i in a",
    "do",
    "done",
    "if",
    "then",
    "fi",
    "function f",
    "f()",
    "((",
    "))",
    "<(",
    ">",
    "2>&1",
    "echo",
    "eval ",
    "ssh h ",
    "watch ",
    "fish -c ",
    "begin",
    "end",
    "and",
    "or",
    "\u{e9}",
    "\u{0}",
    "\t",
    "\r",
];

fn line(rng: &mut Rng) -> String {
    let n = 1 + (rng.next() % 24) as usize;
    (0..n).map(|_| rng.pick(FRAGMENTS)).collect()
}

#[test]
fn generated_lines_never_panic_in_any_dialect() {
    let engine = Engine::builtin();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let l = line(&mut rng);
        for d in Dialect::ALL {
            let ctx = Context {
                dialect: d,
                home: Some("/home/u"),
                cwd: Some("/srv"),
                ..Context::default()
            };
            assert!(engine.evaluate(&l, &ctx).is_ok(), "{d} failed on {l:?}");
        }
    }
}

#[test]
fn no_prefix_hides_a_following_destructive_line() {
    let engine = Engine::builtin();
    let ctx = Context {
        dialect: Dialect::Bash,
        home: Some("/home/u"),
        cwd: Some("/srv"),
        ..Context::default()
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..4000 {
        let prefix = line(&mut rng);
        let l = format!("{prefix};\nrm -rf /srv/data");
        let eval = engine.evaluate(&l, &ctx).expect("evaluates");
        assert_ne!(
            eval.decision,
            Decision::Allow,
            "case {i}: the prefix {prefix:?} hid the rm"
        );
    }
}
