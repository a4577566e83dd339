//! Git as a backup, and the livable defaults, end to end: the built binary decides
//! lines in a real git work tree pushed to a bare remote on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Ran, Test};

/// The built binary with this BACKSTOP_HOME, so that several commands share one.
fn bs(home: &Path, cwd: Option<&Path>, args: &[&str]) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backstop"));
    cmd.args(args)
        .env("BACKSTOP_HOME", home)
        .env("HOME", "/home/tester")
        .stdin(std::process::Stdio::null());
    if let Some(c) = cwd {
        cmd.current_dir(c);
    }
    let out = cmd.output().expect("run backstop");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let git = backstop_backup::recipe::resolve_program("git").expect("git is installed");
    let out = Command::new(git)
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=tester@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// A directory under the real home: outside /tmp and any `target/`, which the rules
/// except (backstop itself runs with HOME=/home/tester, so it is not "home" to it).
pub fn outside_exceptions() -> tempfile::TempDir {
    let real_home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .expect("HOME is set");
    tempfile::Builder::new()
        .prefix("backstop-git-test")
        .tempdir_in(real_home)
        .expect("a directory under the real home")
}

/// A project pushed to a bare remote, outside the exceptions: a tracked
/// `src/`, a tracked 40 MiB `assets/video.bin` (large, so precious), an ignored
/// `config/.env` and `web/node_modules/`, an untracked `notes.txt`.
struct Project {
    _dir: tempfile::TempDir,
    work: PathBuf,
}

impl Project {
    fn new() -> Project {
        let dir = outside_exceptions();
        let work = dir.path().join("app");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(dir.path(), &["init", "-q", "--bare", "app.git"]);
        git(&work, &["init", "-q"]);
        write(&work.join("src/main.rs"), b"fn main() {}\n");
        write(&work.join("assets/video.bin"), &vec![1u8; 40 << 20]);
        write(&work.join("config/app.toml"), b"port = 80\n");
        write(&work.join("web/index.js"), b"1\n");
        write(&work.join(".gitignore"), b"node_modules/\n.env\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        write(&work.join("config/.env"), b"TOKEN=1\n");
        write(&work.join("web/node_modules/x/index.js"), b"1\n");
        write(&work.join("notes.txt"), b"scratch\n");
        git(&work, &["remote", "add", "origin", "../app.git"]);
        git(&work, &["push", "-q", "-u", "origin", "main"]);
        Project { _dir: dir, work }
    }

    fn check(&self, line: &str) -> (i32, serde_json::Value) {
        let r = Test::new()
            .cwd(&self.work)
            .args(["check", "--json", "--", line])
            .run();
        assert!(matches!(r.code, 0..=2), "{line}: {}", r.stderr);
        (r.code, r.json())
    }
}

fn target<'a>(v: &'a serde_json::Value, ends_with: &str) -> &'a serde_json::Value {
    v["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["value"].as_str().is_some_and(|s| s.ends_with(ends_with)))
        .unwrap_or_else(|| panic!("no target ending in {ends_with}: {v}"))
}

#[test]
fn a_pushed_file_is_covered_by_git_and_the_evidence_names_remote_branch_and_commit() {
    let p = Project::new();
    let head = git(&p.work, &["rev-parse", "HEAD"]);
    let (code, v) = p.check("rm assets/video.bin");
    assert_eq!(
        code, 0,
        "a large pushed file is deleted without asking: {v}"
    );
    let t = target(&v, "assets/video.bin");
    assert_eq!(t["backup"]["status"], "covered");
    assert_eq!(t["backup"]["git"]["remote"], "origin");
    assert_eq!(t["backup"]["git"]["branch"], "origin/main");
    assert_eq!(t["backup"]["git"]["commit"], head.as_str());
    assert_eq!(t["backup"]["git"]["path"], "assets/video.bin");
    assert_eq!(v["rules"][0]["requires"], "backup");
    // Without --json, one line says where it comes back from.
    let r = Test::new()
        .cwd(&p.work)
        .args(["check", "--", "rm assets/video.bin"])
        .code(0);
    assert!(
        r.stdout.starts_with("allow: ")
            && r.stdout.contains("can be restored from git commit")
            && r.stdout
                .contains(&format!("restore --source={}", &head[..12])),
        "{}",
        r.stdout
    );
}

#[test]
fn rm_rf_of_a_pushed_directory_stays_strict_but_git_counts_as_its_backup() {
    let p = Project::new();
    let (code, v) = p.check("rm -rf src");
    assert_eq!(code, 1, "ask, not allow: {v}");
    assert_eq!(target(&v, "/src")["backup"]["status"], "covered");
    // Ignored node_modules regenerate: web/ is still covered.
    let (code, v) = p.check("rm -rf web");
    assert_eq!(code, 1, "{v}");
    // An ignored .env does not: config/ is not.
    let (code, v) = p.check("rm -rf config");
    assert_eq!(code, 2, "{v}");
    let t = target(&v, "/config");
    assert_eq!(t["backup"]["status"], "missing");
    assert!(
        t["backup"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("config/.env is ignored")),
        "{t}"
    );
}

#[test]
fn committed_but_not_pushed_is_not_redundant() {
    let p = Project::new();
    write(&p.work.join("src/extra.rs"), b"// more\n");
    git(&p.work, &["add", "-A"]);
    git(&p.work, &["commit", "-q", "-m", "second"]);
    let (code, v) = p.check("rm -rf src");
    assert_eq!(code, 2, "{v}");
    let t = target(&v, "/src");
    assert_eq!(t["backup"]["status"], "not-redundant");
    assert!(t["backup"]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("git push")));
    assert!(
        v["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("or commit and push it with git")),
        "{v}"
    );
}

#[test]
fn modified_and_untracked_files_are_not_covered() {
    let p = Project::new();
    write(&p.work.join("src/main.rs"), b"fn main() { changed() }\n");
    let (code, v) = p.check("rm -rf src");
    assert_eq!(code, 2, "{v}");
    assert_eq!(target(&v, "/src")["backup"]["status"], "stale");
    git(&p.work, &["checkout", "--", "src/main.rs"]);
    write(&p.work.join("src/mine.rs"), b"// untracked\n");
    let (code, v) = p.check("rm -rf src");
    assert_eq!(code, 2, "{v}");
    assert_eq!(target(&v, "/src")["backup"]["status"], "missing");
}

#[test]
fn a_few_small_files_need_nothing_and_precious_ones_need_a_backup() {
    let p = Project::new();
    // Untracked, small, named: nothing precious is at stake.
    let (code, v) = p.check("rm notes.txt");
    assert_eq!(code, 0, "{v}");
    assert_eq!(target(&v, "notes.txt")["backup"]["status"], "not-required");
    // A secret is precious, and git does not hold it: the remedy is a backup, never a
    // commit.
    let (code, v) = p.check("rm config/.env");
    assert_eq!(code, 2, "{v}");
    let remedy = v["remedy"].as_str().expect("a remedy");
    assert!(
        remedy.contains("backstop backup") && !remedy.contains("commit"),
        "{remedy}"
    );
    // A glob stays strict.
    let (code, _) = p.check("rm *.txt");
    assert_eq!(code, 2);
    // A file that is not there: it cannot be told whether it mattered.
    let (code, _) = p.check("rm gone.txt");
    assert_eq!(code, 2);
}

#[test]
fn the_hook_says_where_a_covered_target_comes_back_from_and_logs_it_for_undo() {
    let p = Project::new();
    let head = git(&p.work, &["rev-parse", "HEAD"]);
    let t = Test::new().cwd(&p.work).args([
        "hook",
        "--shell",
        "bash",
        "--session",
        "77",
        "--",
        "rm assets/video.bin",
    ]);
    let r = t.code(0);
    assert!(
        r.stderr.contains("can be restored from git commit") && r.stderr.contains("on origin/main"),
        "{}",
        r.stderr
    );
    let audit = bs(t.home(), None, &["audit", "--json"]);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let last = audit
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .expect("a record");
    assert_eq!(last["event"], "allowed", "{last}");
    assert_eq!(last["targets"][0]["git"]["commit"], head.as_str());
    // The prompt hook's report is quiet: nobody approved anything.
    let after = bs(
        t.home(),
        None,
        &["hook", "--after", "--session", "77", "--status", "0"],
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert!(!after.stderr.contains("approved"), "{}", after.stderr);
}

#[test]
fn the_approval_question_shows_the_git_evidence() {
    let p = Project::new();
    let r = Test::new()
        .cwd(&p.work)
        .args(["hook", "--shell", "bash", "--", "rm -rf src"])
        .run();
    // No terminal: refused, with the evidence it would have shown.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("in git: git commit") && r.stderr.contains("restore --source="),
        "{}",
        r.stderr
    );
}

const BACKUP_RULE: &str = r#"
[[rule]]
id = "mine.purge"
description = "purge deletes a directory"
programs = ["purge"]
requires = "backup"
min_targets = 1
targets = [{ kind = "path", from = "positionals" }]
[rule.examples]
match = ["purge x"]
"#;

#[test]
fn requirement_backup_allows_a_manifest_covered_target_and_denies_the_rest() {
    let shm = match tempfile::tempdir_in("/dev/shm") {
        Ok(d) => d,
        Err(_) => {
            eprintln!("SKIPPED: no /dev/shm for a second filesystem");
            return;
        }
    };
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let data = outside_exceptions();
    let dir = data.path().join("ledger");
    write(&dir.join("2024.csv"), b"a,b\n");
    let dir_s = dir.to_str().expect("utf-8");
    let t = Test::new().file("policies/mine.toml", BACKUP_RULE);
    let line = format!("purge {dir_s}");
    let home = t.home();
    let r = bs(home, None, &["check", "--", &line]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains("needs a verified backup"), "{}", r.stdout);
    assert!(r.stdout.contains("backstop backup"), "{}", r.stdout);
    let r = bs(
        home,
        None,
        &[
            "backup",
            dir_s,
            "--to",
            disk.path().to_str().expect("utf-8"),
            "--to",
            shm.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = bs(home, None, &["check", "--", &line]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("can be restored from backup") && r.stdout.contains("backstop restore"),
        "{}",
        r.stdout
    );
    let r = bs(home, None, &["explain", "--", &line]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("requires: backup\n"), "{}", r.stdout);
    assert!(r.stdout.contains("Decision: ALLOW"), "{}", r.stdout);
}

#[test]
fn an_agent_is_let_through_and_the_line_is_logged_for_undo() {
    use std::io::Write as _;
    let p = Project::new();
    let head = git(&p.work, &["rev-parse", "HEAD"]);
    let home = tempfile::tempdir().expect("tmp");
    let input = serde_json::json!({
        "hook_event_name": "PreToolUse",
        "session_id": "agent-1",
        "tool_name": "Bash",
        "tool_input": {"command": "rm assets/video.bin"},
        "cwd": p.work,
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args(["agent-hook", "claude"])
        .env("BACKSTOP_HOME", home.path())
        .env("HOME", "/home/tester")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{}");
    let audit = bs(home.path(), None, &["audit", "--json"]);
    let last: serde_json::Value = audit
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a record");
    assert_eq!(last["event"], "allowed", "{last}");
    assert_eq!(last["source"], "claude");
    assert_eq!(last["targets"][0]["git"]["commit"], head.as_str());
}

#[test]
fn a_manifest_covers_what_git_does_not_yet() {
    let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("SKIPPED: no /dev/shm for a second filesystem");
        return;
    };
    let p = Project::new();
    write(&p.work.join("src/extra.rs"), b"// not pushed\n");
    git(&p.work, &["add", "-A"]);
    git(&p.work, &["commit", "-q", "-m", "second"]);
    let home = tempfile::tempdir().expect("tmp");
    crate::count_tmpfs(home.path());
    let disk = outside_exceptions();
    let src = p.work.join("src");
    let r = bs(
        home.path(),
        None,
        &[
            "backup",
            src.to_str().expect("utf-8"),
            "--to",
            disk.path().to_str().expect("utf-8"),
            "--to",
            shm.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = bs(
        home.path(),
        Some(&p.work),
        &["check", "--json", "--", "rm -rf src"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v = r.json();
    let t = target(&v, "/src");
    assert_eq!(t["backup"]["status"], "covered");
    assert!(t["backup"]["manifest"].is_string(), "{t}");
    assert!(t["backup"].get("git").is_none(), "{t}");
}
