//! `backstop hook` without a terminal, and the audit log's chain.

use std::path::Path;
use std::process::{Command, Stdio};

/// Run `backstop ARGS` with no controlling terminal (`setsid`), stdin closed.
fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("setsid")
        .arg("-w")
        .arg(env!("CARGO_BIN_EXE_backstop"))
        .args(args)
        .env("BACKSTOP_HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("setsid (util-linux) runs backstop without a terminal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn victim() -> tempfile::TempDir {
    // Outside /tmp and target/, which the rules except.
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let d = tempfile::tempdir_in(home).expect("tmp");
    std::fs::write(d.path().join("sentinel"), b"keep me").expect("write");
    d
}

#[test]
fn allow_is_silent_deny_explains_and_ask_without_a_terminal_refuses() {
    let home = tempfile::tempdir().expect("tmp");
    crate::count_tmpfs(home.path());
    let (code, out, err) = run(home.path(), &["hook", "--shell", "bash", "--", "ls", "-la"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

    let dir = victim();
    let line = format!("rm -rf {}", dir.path().display());
    let (code, _, err) = run(
        home.path(),
        &["hook", "--shell", "bash", "--session", "42", "--", &line],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("rule fs.rm-recursive") && err.contains("backup missing"),
        "{err}"
    );
    assert!(
        err.contains(&format!("backstop backup {}", dir.path().display())),
        "{err}"
    );

    let (a, b) = (
        tempfile::tempdir_in(dir.path().parent().expect("parent")).expect("tmp"),
        tempfile::tempdir_in("/dev/shm").expect("shm"),
    );
    let (code, _, err) = run(
        home.path(),
        &[
            "backup",
            &dir.path().display().to_string(),
            "--to",
            &a.path().display().to_string(),
            "--to",
            &b.path().display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Covered, so it asks; with no terminal only a refusal is possible, whatever
    // stdin, arguments or the environment say.
    let (code, _, err) = run(
        home.path(),
        &["hook", "--shell", "bash", "--session", "42", "--", &line],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("needs a person's approval at a terminal"),
        "{err}"
    );
    assert!(
        err.contains("restore test: not-run") && err.contains("sha256"),
        "{err}"
    );
    assert!(!home.path().join("data/pending/42").exists());

    let (_, out, _) = run(home.path(), &["audit", "--json"]);
    let events: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["event"]
                .as_str()
                .expect("event")
                .to_string()
        })
        .collect();
    assert_eq!(events, ["deny", "ask", "refused"]);
    let last: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("record")).expect("json");
    assert_eq!(last["line"], line.as_str());
    assert!(
        last["targets"][0]["manifest"]
            .as_str()
            .is_some_and(|m| m.starts_with("bk-")),
        "{last}"
    );
    assert!(dir.path().join("sentinel").exists());
}

#[test]
fn the_line_can_come_from_an_environment_variable() {
    let home = tempfile::tempdir().expect("tmp");
    let dir = victim();
    let out = Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args([
            "hook",
            "--shell",
            "powershell",
            "--line-env",
            "BACKSTOP_LINE",
        ])
        .env("BACKSTOP_HOME", home.path())
        .env(
            "BACKSTOP_LINE",
            format!("Remove-Item -Recurse -Force '{}'", dir.path().display()),
        )
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn audit_home_with(records: usize) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tmp");
    for i in 0..records {
        let (code, _, _) = run(
            home.path(),
            &[
                "hook",
                "--shell",
                "bash",
                "--",
                &format!("rm -rf /srv/data{i}"),
            ],
        );
        assert_eq!(code, 2);
    }
    home
}

#[test]
fn audit_verify_finds_edited_removed_reordered_and_truncated_records() {
    let home = audit_home_with(4);
    let log = home.path().join("data/audit.jsonl");
    let (code, out, _) = run(home.path(), &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 records, chain intact"), "{out}");
    let original = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = original.lines().collect();

    let tampered = [
        ("edited", original.replacen("/srv/data1", "/srv/other", 1)),
        ("removed", [lines[0], lines[2], lines[3]].join("\n") + "\n"),
        (
            "reordered",
            [lines[0], lines[2], lines[1], lines[3]].join("\n") + "\n",
        ),
        (
            "truncated",
            [lines[0], lines[1], lines[2]].join("\n") + "\n",
        ),
    ];
    for (what, text) in tampered {
        std::fs::write(&log, &text).expect("write");
        let (code, out, _) = run(home.path(), &["audit", "verify"]);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("tampered"), "{what}: {out}");
    }
    std::fs::write(&log, &original).expect("write");
    assert_eq!(run(home.path(), &["audit", "verify"]).0, 0);
}

/// The prompt's call after a line ran, for session 9.
fn after(home: &Path, status: &str) -> (i32, String, String) {
    run(
        home,
        &[
            "hook",
            "--after",
            "--shell",
            "bash",
            "--session",
            "9",
            "--status",
            status,
        ],
    )
}

#[test]
fn after_reports_only_for_an_approved_line() {
    let home = tempfile::tempdir().expect("tmp");
    // Nothing pending: silent, and nothing logged.
    let (code, out, err) = after(home.path(), "0");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(!home.path().join("data/audit.jsonl").exists());
    // A pending note left by an approval: the status is logged and the person reminded.
    let pending = home.path().join("data/pending");
    std::fs::create_dir_all(&pending).expect("mkdir");
    std::fs::write(
        pending.join("9"),
        r#"{"line":"rm -rf ~/x","manifests":["bk-1-abc"]}"#,
    )
    .expect("write");
    let (code, _, err) = after(home.path(), "1");
    assert_eq!(code, 0);
    assert!(
        err.contains("exited with status 1") && err.contains("backstop restore-test bk-1-abc"),
        "{err}"
    );
    assert!(!pending.join("9").exists());
    let (_, out, _) = run(home.path(), &["audit", "--json"]);
    assert!(
        out.contains(r#""event":"ran""#) && out.contains("exit status 1"),
        "{out}"
    );
}

#[test]
fn concurrent_shells_keep_the_chain_intact() {
    let home = tempfile::tempdir().expect("tmp");
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_backstop"))
                .args([
                    "hook",
                    "--shell",
                    "bash",
                    "--",
                    &format!("rm -rf /srv/data{i}"),
                ])
                .env("BACKSTOP_HOME", home.path())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().expect("wait").code(), Some(2));
    }
    let (code, out, _) = run(home.path(), &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("8 records"), "{out}");
}
