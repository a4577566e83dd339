//! `backstop backup` on real files, the second copy on another filesystem (/dev/shm).

use std::io::Read;
use std::path::Path;

use crate::Test;

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("2024")).expect("mkdir");
    std::fs::write(root.join("2024/a.jpg"), vec![7u8; 300_000]).expect("write");
    std::fs::write(root.join("notes.txt"), b"hello world").expect("write");
}

/// A destination on the disk and one on /dev/shm (a tmpfs: another filesystem).
fn two_filesystems() -> Option<(tempfile::TempDir, tempfile::TempDir)> {
    let shm = tempfile::tempdir_in("/dev/shm").ok()?;
    Some((
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp"),
        shm,
    ))
}

#[test]
fn backs_up_a_tree_to_two_filesystems_and_records_it() {
    let Some((d1, d2)) = two_filesystems() else {
        eprintln!("SKIPPED: no /dev/shm for a second filesystem");
        return;
    };
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("photos");
    tree(&root);
    let (a, b) = (
        d1.path().display().to_string(),
        d2.path().display().to_string(),
    );
    let t = Test::new().args([
        "backup",
        root.to_str().expect("utf-8"),
        "--to",
        &a,
        "--to",
        &b,
    ]);
    let r = t.code(0);
    assert!(
        r.stdout.contains("both copies re-read and verified"),
        "{}",
        r.stdout
    );

    let list = t_manifests(&t);
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!(m["target"]["kind"], "path");
    assert_eq!(
        m["target"]["value"],
        std::fs::canonicalize(&root)
            .expect("canon")
            .display()
            .to_string()
    );
    assert_eq!(m["redundant"], true);
    assert_eq!(m["restore_test"], "not-run");
    let copies = m["copies"].as_array().expect("copies");
    assert_eq!(copies.len(), 2);
    assert_ne!(copies[0]["device"], copies[1]["device"]);
    for c in copies {
        let path = c["path"].as_str().expect("path");
        let bytes = std::fs::read(path).expect("copy exists");
        assert_eq!(bytes.len() as u64, c["size"].as_u64().expect("size"));
        // The copy is a tar that restores the tree exactly.
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut found = 0;
        for e in archive.entries().expect("tar") {
            let mut e = e.expect("entry");
            if e.path().expect("path").ends_with("notes.txt") {
                let mut s = String::new();
                e.read_to_string(&mut s).expect("read");
                assert_eq!(s, "hello world");
                found += 1;
            }
        }
        assert_eq!(found, 1);
    }
    let index = m["index"].as_array().expect("index");
    assert!(
        index
            .iter()
            .any(|e| e["path"] == "photos/2024/a.jpg" && e["size"] == 300_000),
        "{index:?}"
    );
}

fn t_manifests(t: &Test) -> Vec<serde_json::Value> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_backstop"));
    let out = cmd
        .args(["manifests", "--json"])
        .env("BACKSTOP_HOME", t.home())
        .output()
        .expect("run");
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn refuses_two_copies_on_one_filesystem_unless_asked() {
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    tree(src.path());
    let d1 = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let d2 = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (s, a, b) = (
        src.path().display().to_string(),
        d1.path().display().to_string(),
        d2.path().display().to_string(),
    );
    let t = Test::new().args(["backup", &s, "--to", &a, "--to", &b]);
    let r = t.code(3);
    assert!(r.stderr.contains("same filesystem"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(d1.path()).expect("dir").count(),
        0,
        "nothing written"
    );
    assert!(t_manifests(&t).is_empty());
    let t = Test::new().args(["backup", &s, "--to", &a, "--to", &b, "--same-device"]);
    let r = t.code(0);
    assert!(r.stdout.contains("not redundant"), "{}", r.stdout);
    assert_eq!(t_manifests(&t)[0]["redundant"], false);
}

#[test]
fn bad_requests_are_clear_errors_and_leave_nothing() {
    let d1 = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let a = d1.path().display().to_string();
    let r = Test::new()
        .args(["backup", "/no/such/dir", "--to", &a, "--to", "/dev/shm"])
        .code(3);
    assert!(
        r.stderr.contains("cannot back up /no/such/dir"),
        "{}",
        r.stderr
    );
    let r = Test::new()
        .args(["backup", "wsl:Ubuntu-24.04", "--to", &a, "--to", "/dev/shm"])
        .code(3);
    assert!(r.stderr.contains("not built yet"), "{}", r.stderr);
    let r = Test::new().args(["backup", &a, "--to", &a]).code(3);
    assert!(
        r.stderr.contains("exactly two destinations"),
        "{}",
        r.stderr
    );
    let r = Test::new()
        .args(["backup", &a, "--to", "/no/such/dest", "--to", "/dev/shm"])
        .code(3);
    assert!(
        r.stderr
            .contains("destination /no/such/dest does not exist"),
        "{}",
        r.stderr
    );
    // Into itself.
    let inner = d1.path().join("inner");
    std::fs::create_dir(&inner).expect("mkdir");
    let r = Test::new()
        .args([
            "backup",
            &a,
            "--to",
            inner.to_str().expect("utf-8"),
            "--to",
            "/dev/shm",
        ])
        .code(3);
    assert!(
        r.stderr
            .contains("must not be written into what it backs up"),
        "{}",
        r.stderr
    );
}
