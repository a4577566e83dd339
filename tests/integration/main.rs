//! End-to-end tests: the built `backstop` binary, in a private BACKSTOP_HOME.

// These tests run real programs on purpose (the shells, the built binary).
#![allow(clippy::disallowed_methods)]
// Helpers outside #[test] functions panic to fail the test that called them.
#![allow(clippy::panic, clippy::new_without_default)]

mod agent;
mod agent_files;
mod backup;
mod check;
mod colour;
mod completions;
mod day;
mod destinations;
mod docs_examples;
mod faults;
mod git;
mod hook;
mod indirect;
mod layers;
mod mysql;
mod overwrite;
mod pg;
mod policy_cmd;
mod recipes;
mod regression;
mod remote;
mod remote_restore;
mod restore;
mod scan;
mod standins;
mod syslog;
mod wrap;

// The pseudo-terminal driver the shell tests use, for `backstop wrap`'s clients.
#[allow(dead_code)]
#[path = "../shells/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fluent runner over the built binary (after just's tests/test.rs).
#[derive(Debug)]
pub struct Test {
    /// Shared by the runs made with [`Test::clone_home`].
    home: std::rc::Rc<tempfile::TempDir>,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The tests keep second copies on /dev/shm, a tmpfs, which counts only when
/// config.toml says so: this writes that into a BACKSTOP_HOME.
pub fn count_tmpfs(home: &Path) {
    std::fs::write(
        home.join("config.toml"),
        "[backup]\nvolatile_counts = true # the tests' second copies are on /dev/shm\n",
    )
    .expect("write config.toml");
}

impl Test {
    pub fn new() -> Test {
        let home = tempfile::tempdir().expect("temp dir");
        count_tmpfs(home.path());
        Test {
            home: std::rc::Rc::new(home),
            args: Vec::new(),
            cwd: None,
            stdin: None,
            env: vec![("HOME".into(), "/home/tester".into())],
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Another run in the same BACKSTOP_HOME, with no arguments yet.
    pub fn clone_home(&self) -> Test {
        Test {
            home: std::rc::Rc::clone(&self.home),
            args: Vec::new(),
            cwd: None,
            stdin: None,
            env: self.env.clone(),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Test {
        self.cwd = Some(dir.into());
        self
    }

    /// A variable in backstop's environment.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Test {
        self.env.push((key.to_string(), value.into()));
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(data.into());
        self
    }

    /// Write a file under BACKSTOP_HOME (e.g. `policies/mine.toml`).
    pub fn file(self, rel: &str, text: &str) -> Test {
        let path = self.home.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    pub fn run(&self) -> Ran {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_backstop"));
        cmd.args(&self.args).env("BACKSTOP_HOME", self.home.path());
        // Colour follows these; a test that wants them sets them with `env`.
        for var in ["NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(c) = &self.cwd {
            cmd.current_dir(c);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn backstop");
        if let Some(data) = &self.stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(data)
                .expect("write stdin");
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("wait");
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Run and require this exit code, returning the output.
    pub fn code(&self, want: i32) -> Ran {
        let r = self.run();
        assert_eq!(
            r.code, want,
            "backstop {:?}\nstdout:\n{}\nstderr:\n{}",
            self.args, r.stdout, r.stderr
        );
        r
    }
}

impl Ran {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// A directory of its own under the real home: neither temporary (`/tmp` is excepted)
/// nor regenerable (`target/` is), so what a test deletes or writes over there counts.
pub fn under_home(prefix: &str) -> tempfile::TempDir {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .expect("HOME is set");
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(home)
        .expect("a directory under the real home")
}

/// `backstop check --assume-exists --json --shell SHELL -- LINE`, returning the exit
/// code and JSON. The paths these lines name are imagined: they are decided as if
/// they existed, since what is tested is how the line is read.
pub fn check(shell: &str, line: &str) -> (i32, serde_json::Value) {
    let r = Test::new()
        .args([
            "check",
            "--assume-exists",
            "--json",
            "--shell",
            shell,
            "--",
            line,
        ])
        .run();
    assert!(
        matches!(r.code, 0..=2),
        "check {line:?} exited {}: {}",
        r.code,
        r.stderr
    );
    (r.code, r.json())
}
