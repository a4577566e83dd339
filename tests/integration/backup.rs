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
        r.stdout.contains("every copy re-read and verified"),
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
    assert!(
        r.stderr.contains("are not redundant (both on"),
        "{}",
        r.stderr
    );
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
    // No wsl.exe on this PATH: the recipe cannot run, and says what to do.
    assert!(
        r.stderr.contains("`wsl`: not found on PATH"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_dir(d1.path()).expect("ls").count(),
        0,
        "scratch left behind"
    );
    let r = Test::new().args(["backup", &a, "--to", &a]).code(3);
    assert!(
        r.stderr.contains("only one destination") && r.stderr.contains("two copies"),
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

/// A real backup of a small tree, for the coverage tests: the tree lives under the
/// real home directory (not /tmp or target/, which are exceptions), the copies on the
/// disk and on /dev/shm.
struct Backed {
    home: tempfile::TempDir,
    _src: tempfile::TempDir,
    root: std::path::PathBuf,
    _d1: tempfile::TempDir,
    _d2: tempfile::TempDir,
    manifest: std::path::PathBuf,
}

fn run_in(home: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args(args)
        .env("BACKSTOP_HOME", home)
        .output()
        .expect("run");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backed(same_device: bool) -> Option<Backed> {
    let real_home = std::env::var("HOME").ok().filter(|h| !h.is_empty())?;
    let src = tempfile::tempdir_in(real_home).ok()?;
    let root = src.path().join("ledger");
    tree(&root);
    let d1 = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).ok()?;
    let d2 = if same_device {
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).ok()?
    } else {
        tempfile::tempdir_in("/dev/shm").ok()?
    };
    let home = tempfile::tempdir().ok()?;
    crate::count_tmpfs(home.path());
    let mut args = vec![
        "backup",
        root.to_str()?,
        "--to",
        d1.path().to_str()?,
        "--to",
        d2.path().to_str()?,
    ];
    if same_device {
        args.push("--same-device");
    }
    let (code, _, err) = run_in(home.path(), &args);
    assert_eq!(code, 0, "{err}");
    let manifest = std::fs::read_dir(home.path().join("data/manifests"))
        .ok()?
        .next()?
        .ok()?
        .path();
    Some(Backed {
        home,
        _src: src,
        root,
        _d1: d1,
        _d2: d2,
        manifest,
    })
}

impl Backed {
    fn check(&self, line: &str) -> (i32, serde_json::Value) {
        let (code, v, err) = run_in(self.home.path(), &["check", "--json", "--", line]);
        assert!(matches!(code, 0..=2), "{err}");
        (code, v)
    }

    fn status_of_rm(&self) -> (i32, String) {
        let (code, v) = self.check(&format!("rm -rf {}", self.root.display()));
        (
            code,
            v["targets"][0]["backup"]["status"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    }

    fn manifest_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.manifest).expect("manifest")).expect("json")
    }

    fn copy(&self, i: usize) -> std::path::PathBuf {
        self.manifest_json()["copies"][i]["path"]
            .as_str()
            .expect("path")
            .into()
    }

    fn edit_manifest(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut m = self.manifest_json();
        f(&mut m);
        std::fs::write(&self.manifest, serde_json::to_vec(&m).expect("json")).expect("write");
    }
}

macro_rules! backed_or_skip {
    ($same:expr) => {
        match backed($same) {
            Some(b) => b,
            None => {
                eprintln!("SKIPPED: needs a writable HOME and /dev/shm");
                return;
            }
        }
    };
}

#[test]
fn a_verified_backup_turns_deny_into_ask() {
    let b = backed_or_skip!(false);
    let (code, v) = b.check(&format!("rm -rf {}", b.root.display()));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["decision"], "ask");
    let t = &v["targets"][0];
    assert_eq!(t["backup"]["status"], "covered");
    assert_eq!(t["backup"]["manifest"], b.manifest_json()["id"]);
    // A directory inside the backed-up tree is covered by it too.
    let (code, v) = b.check(&format!("rm -r {}/2024", b.root.display()));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["targets"][0]["backup"]["status"], "covered");
    // A small file named on the line needs no backup at all (fs.rm-files).
    let (code, v) = b.check(&format!("rm {}/notes.txt", b.root.display()));
    assert_eq!(code, 0, "{v}");
}

#[test]
fn a_changed_file_makes_it_stale() {
    let b = backed_or_skip!(false);
    std::fs::write(b.root.join("notes.txt"), b"hello world, changed").expect("write");
    assert_eq!(b.status_of_rm(), (2, "stale".into()));
}

#[test]
fn a_new_file_makes_it_stale() {
    let b = backed_or_skip!(false);
    std::fs::write(b.root.join("2024/new.jpg"), b"new").expect("write");
    assert_eq!(b.status_of_rm(), (2, "stale".into()));
}

#[test]
fn one_changed_byte_in_a_copy_is_corrupt() {
    let b = backed_or_skip!(false);
    let copy = b.copy(1);
    let mut bytes = std::fs::read(&copy).expect("read");
    let mid = bytes.len() / 3;
    bytes[mid] ^= 1;
    std::fs::write(&copy, bytes).expect("write");
    assert_eq!(b.status_of_rm(), (2, "corrupt".into()));
}

#[test]
fn a_truncated_or_missing_copy_is_corrupt() {
    let b = backed_or_skip!(false);
    let copy = b.copy(0);
    let len = std::fs::metadata(&copy).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&copy)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
    assert_eq!(b.status_of_rm(), (2, "corrupt".into()));
    std::fs::remove_file(&copy).expect("rm");
    assert_eq!(b.status_of_rm(), (2, "corrupt".into()));
}

#[test]
fn a_link_posing_as_the_second_copy_is_corrupt() {
    let b = backed_or_skip!(false);
    let (first, second) = (b.copy(0), b.copy(1));
    std::fs::remove_file(&second).expect("rm");
    std::os::unix::fs::symlink(&first, &second).expect("symlink");
    assert_eq!(b.status_of_rm(), (2, "corrupt".into()));
}

#[test]
fn copies_on_one_filesystem_are_not_redundant() {
    let b = backed_or_skip!(true);
    assert_eq!(b.status_of_rm(), (2, "not-redundant".into()));
}

#[test]
fn an_old_backup_is_stale() {
    let b = backed_or_skip!(false);
    b.edit_manifest(|m| m["created"] = serde_json::json!(1_000_000));
    assert_eq!(b.status_of_rm(), (2, "stale".into()));
}

#[test]
fn a_backup_of_something_else_covers_nothing() {
    let b = backed_or_skip!(false);
    let sibling = b.root.with_file_name("other");
    std::fs::create_dir(&sibling).expect("mkdir");
    let (code, v) = b.check(&format!("rm -rf {}", sibling.display()));
    assert_eq!(code, 2);
    assert_eq!(v["targets"][0]["backup"]["status"], "missing");
}

#[test]
fn a_hand_edited_manifest_pointing_at_another_file_is_corrupt() {
    let b = backed_or_skip!(false);
    // Point the second copy at a file of the same size whose hash is recorded honestly:
    // the size and hash checks pass, but it is not an archive of the tree.
    let fake = b.copy(1).with_file_name("fake.tar");
    let size = b.manifest_json()["copies"][1]["size"]
        .as_u64()
        .expect("size") as usize;
    let bytes = vec![b'x'; size];
    std::fs::write(&fake, &bytes).expect("write");
    let sha = {
        use std::io::Write;
        let mut p = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        p.stdin
            .take()
            .expect("stdin")
            .write_all(&bytes)
            .expect("write");
        String::from_utf8(p.wait_with_output().expect("wait").stdout).expect("utf-8")[..64]
            .to_string()
    };
    b.edit_manifest(|m| {
        m["copies"][1]["path"] = serde_json::json!(fake);
        m["copies"][1]["sha256"] = serde_json::json!(sha);
    });
    assert_eq!(b.status_of_rm(), (2, "corrupt".into()));
}

#[test]
fn verify_and_show() {
    let b = backed_or_skip!(false);
    let id = b.manifest_json()["id"].as_str().expect("id").to_string();
    let home = b.home.path();
    let out = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_backstop"))
            .args(args)
            .env("BACKSTOP_HOME", home)
            .output()
            .expect("run");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = out(&["verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(&format!("{id}  ok")), "{stdout}");
    let (code, stdout, _) = out(&["manifests", "show", &id]);
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(shown["id"], id.as_str());
    let (code, _, stderr) = out(&["manifests", "show", "bk-nope"]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("no backup has the id `bk-nope`"),
        "{stderr}"
    );
    // A flipped byte in one copy: verify fails, naming it.
    let copy = b.copy(0);
    let mut bytes = std::fs::read(&copy).expect("read");
    let last = bytes.len() - 700;
    bytes[last] ^= 0x20;
    std::fs::write(&copy, bytes).expect("write");
    let (code, stdout, _) = out(&["verify", "--full", &id]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAILED: corrupt:") && stdout.contains(&copy.display().to_string()),
        "{stdout}"
    );
}
