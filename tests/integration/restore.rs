//! `backstop restore` end to end: real trees and real copies on two filesystems (the
//! disk and /dev/shm), real sqlite3, PostgreSQL and MariaDB servers started here, the
//! wsl and reg stand-ins; and the failures that must leave a place as it was: a
//! damaged or missing copy, a full disk, Ctrl-C.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::mysql::MysqlServer;
use crate::pg::PgServer;
use crate::recipes::{copies, flip_byte, sqlite, Home, Out};
use crate::standins::{RegHome, WslHome};

/// One entry of a tree, as `ls -l --full-time` and `sha256sum` tell it apart.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    rel: String,
    kind: char,
    mode: u32,
    mtime: (i64, i64),
    size: u64,
    /// A file's SHA-256, a symlink's target.
    content: String,
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut f = std::fs::File::open(path).expect("open");
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Every entry under `root` (itself included), in name order.
fn snapshot(root: &Path) -> Vec<Seen> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let m = e.path().symlink_metadata().expect("lstat");
            let ft = m.file_type();
            let (kind, content) = if ft.is_symlink() {
                let to = std::fs::read_link(e.path()).expect("readlink");
                ('l', to.display().to_string())
            } else if ft.is_dir() {
                ('d', String::new())
            } else {
                ('f', sha256_file(e.path()))
            };
            Seen {
                rel: e
                    .path()
                    .strip_prefix(root)
                    .expect("inside")
                    .display()
                    .to_string(),
                kind,
                mode: m.mode() & 0o7777,
                mtime: (m.mtime(), m.mtime_nsec()),
                size: if ft.is_file() { m.len() } else { 0 },
                content,
            }
        })
        .collect()
}

/// `mib` MiB that differ from MiB to MiB, so a misplaced block changes the hash.
fn write_pattern(path: &Path, mib: u32) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let block: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for i in 0..mib {
        f.write_all(&i.to_le_bytes()).expect("write");
        f.write_all(&block[4..]).expect("write");
    }
    f.flush().expect("flush");
}

fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let t = UNIX_EPOCH + Duration::new(secs, nanos);
    // A directory opens read-only; futimens on it works for its owner.
    let f = if path.is_dir() {
        std::fs::File::open(path)
    } else {
        std::fs::OpenOptions::new().write(true).open(path)
    };
    f.expect("open").set_modified(t).expect("set mtime");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree with the things a careless restore loses: modes (an executable, a private
/// file, a read-only directory), symlinks (relative, absolute, dangling, to a
/// directory), empty directories, times to the nanosecond, and one large file.
fn precious_tree(root: &Path, big_mib: u32) {
    for d in ["docs/empty/deeper", "bin", "locked", "docs/more"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("docs/notes.txt"), "notes\n").expect("write");
    chmod(&root.join("docs/notes.txt"), 0o640);
    std::fs::write(root.join("docs/more/a.md"), "# a\n").expect("write");
    std::fs::write(root.join("bin/run.sh"), "#!/bin/sh\necho hi\n").expect("write");
    chmod(&root.join("bin/run.sh"), 0o755);
    std::fs::write(root.join("locked/inside.txt"), "in a read-only directory").expect("write");
    write_pattern(&root.join("disk.img"), big_mib);
    std::os::unix::fs::symlink("docs/notes.txt", root.join("latest")).expect("symlink");
    std::os::unix::fs::symlink("/etc/hostname", root.join("absolute")).expect("symlink");
    std::os::unix::fs::symlink("no/such/file", root.join("dangling")).expect("symlink");
    std::os::unix::fs::symlink("docs", root.join("docs-link")).expect("symlink");
    chmod(&root.join("docs/empty"), 0o700);
    let files = [
        "docs/notes.txt",
        "docs/more/a.md",
        "bin/run.sh",
        "locked/inside.txt",
        "disk.img",
    ];
    for (i, f) in files.iter().enumerate() {
        set_mtime(&root.join(f), 1_000_000_000 + i as u64 * 1000, 123_456_789);
    }
    chmod(&root.join("locked"), 0o555);
    // Deepest first: setting a child's time would change its parent's.
    let dirs = [
        "docs/empty/deeper",
        "docs/empty",
        "docs/more",
        "docs",
        "bin",
        "locked",
        "",
    ];
    for (i, d) in dirs.iter().enumerate() {
        set_mtime(&root.join(d), 1_100_000_000 + i as u64, 987_654_321);
    }
}

fn remove_tree(root: &Path) {
    if root.join("locked").exists() {
        chmod(&root.join("locked"), 0o755);
    }
    std::fs::remove_dir_all(root).expect("rm -rf");
}

fn id_of(m: &serde_json::Value) -> String {
    m["id"].as_str().expect("id").to_string()
}

/// Names in a directory: a scratch directory left behind shows here.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn audit_events(h: &Home) -> Vec<serde_json::Value> {
    h.ok(&["audit", "--json"])
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

fn code(r: &Out, want: i32) {
    assert_eq!(r.code, want, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

/// The tree, 300 MiB file and all, restored byte for byte with its modes,
/// times, symlinks and empty directories; Ctrl-C halfway leaves nothing.
#[test]
fn a_tree_comes_back_byte_for_byte_and_ctrl_c_halfway_leaves_nothing() {
    let h = Home::new();
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("precious");
    precious_tree(&root, 300);
    let before = snapshot(&root);
    let r = h.backup(&root.display().to_string());
    code(&r, 0);
    let id = id_of(&h.only_manifest());

    // The tree is still there: refused, and nothing changed.
    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains("is not empty: it holds") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&root), before);

    remove_tree(&root);
    // Ctrl-C once the large file is being written.
    let mut child = h
        .command(&["restore", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let writing = names(src.path())
            .iter()
            .filter(|n| n.starts_with(".backstop-restore-"))
            .any(|n| {
                std::fs::metadata(src.path().join(n).join("precious/disk.img"))
                    .is_ok_and(|m| m.len() > 0)
            });
        if writing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restore never started writing"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        names(src.path()).is_empty(),
        "left: {:?}",
        names(src.path())
    );

    // Something else takes the place while the restore is under way: it is left alone.
    let child = h
        .command(&["restore", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !names(src.path())
        .iter()
        .any(|n| n.starts_with(".backstop-restore-"))
    {
        assert!(Instant::now() < deadline, "the restore never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::create_dir(&root).expect("mkdir");
    std::fs::write(root.join("meanwhile.txt"), "written during the restore").expect("write");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed while the backup was being restored"),
        "{stderr}"
    );
    assert_eq!(names(&root), vec!["meanwhile.txt"]);
    assert_eq!(names(src.path()), vec!["precious"], "no scratch left");
    std::fs::remove_dir_all(&root).expect("rm");

    let r = h.run(&["restore", &id]);
    code(&r, 0);
    assert!(
        r.stdout.contains(&format!("restored {}", root.display()))
            && r.stdout.contains("matching the index"),
        "{}",
        r.stdout
    );
    assert_eq!(snapshot(&root), before);
    assert_eq!(names(src.path()), vec!["precious"], "no scratch left");

    // Elsewhere, into directories that do not exist yet; on a terminal (a
    // pseudo-terminal from `script`), with a progress bar.
    let other = src.path().join("restored/here/precious-copy");
    let line = format!(
        "{} restore {id} --to {}",
        env!("CARGO_BIN_EXE_backstop"),
        other.display()
    );
    let out = h
        .command(&[])
        .get_envs()
        .fold(Command::new("script"), |mut c, (k, v)| {
            if let Some(v) = v {
                c.env(k, v);
            }
            c
        })
        .args(["-qec", &line, "/dev/null"])
        // From the first byte: how long 300 MiB take depends on the machine.
        .env("BACKSTOP_PROGRESS_AFTER_MS", "0")
        .output()
        .expect("script (util-linux) runs a command in a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("restoring") && text.contains("MiB"),
        "no progress bar: {text}"
    );
    assert_eq!(snapshot(&other), before);

    let events: Vec<String> = audit_events(&h)
        .iter()
        .filter(|r| r["targets"][0]["manifest"] == id.as_str())
        .map(|r| r["event"].as_str().expect("event").to_string())
        .collect();
    assert_eq!(
        events,
        [
            "restore-refused",
            "restore-failed",
            "restore-failed",
            "restored",
            "restored"
        ]
    );
}

/// A small tree whose last entry is a file of several 4 MiB blocks.
fn small_tree(root: &Path) {
    std::fs::create_dir_all(root.join("a/empty")).expect("mkdir");
    std::fs::write(root.join("a/one.txt"), "one").expect("write");
    write_pattern(&root.join("zz.bin"), 20);
}

#[test]
fn a_damaged_or_missing_copy_is_reported_and_the_other_used() {
    let h = Home::new();
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("ledger");
    small_tree(&root);
    let before = snapshot(&root);
    code(&h.backup(&root.display().to_string()), 0);
    let m = h.only_manifest();
    let id = id_of(&m);
    let paths = copies(&m);
    let size = std::fs::metadata(&paths[0]).expect("meta").len();
    let restore_from_second = |says: &str| {
        std::fs::remove_dir_all(&root).expect("rm");
        let r = h.run(&["restore", &id]);
        code(&r, 0);
        let first = paths[0].display().to_string();
        assert!(
            r.stdout
                .contains(&format!("copy {first} cannot be used: {says}"))
                && r.stdout.contains("trying the other copy")
                && r.stdout.contains(&format!("from {}", paths[1].display())),
            "{}",
            r.stdout
        );
        assert_eq!(snapshot(&root), before);
        assert_eq!(names(src.path()), vec!["ledger"]);
    };

    // One byte in the middle: its block is checked before anything is written from it.
    flip_byte(&paths[0], size / 2);
    restore_from_second("block ");
    flip_byte(&paths[0], size / 2);

    let aside = paths[0].with_extension("aside");
    std::fs::rename(&paths[0], &aside).expect("mv");
    restore_from_second("it is missing");
    std::fs::copy(&aside, &paths[0]).expect("cp");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&paths[0])
        .expect("open")
        .set_len(size - 512)
        .expect("truncate");
    restore_from_second(&format!(
        "it is {} bytes, not the {size} recorded",
        size - 512
    ));
    std::fs::rename(&aside, &paths[0]).expect("mv back");

    // Without block hashes (an older manifest), damage in the archive's last block is
    // seen only by the whole SHA-256, after the tree was extracted: it is not moved in.
    let manifest = h.home.path().join(format!("data/manifests/{id}.json"));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    v["block_sha256"] = serde_json::json!([]);
    std::fs::write(&manifest, serde_json::to_vec(&v).expect("json")).expect("write");
    flip_byte(&paths[0], size - 100);
    restore_from_second("its SHA-256 differs from the one recorded");

    // Both damaged: nothing is written, and it says so.
    flip_byte(&paths[1], size - 100);
    std::fs::remove_dir_all(&root).expect("rm");
    let r = h.run(&["restore", &id]);
    code(&r, 1);
    assert!(
        r.stderr
            .contains("no copy verifies, so nothing was written"),
        "{}",
        r.stderr
    );
    assert!(names(src.path()).is_empty(), "{:?}", names(src.path()));
    let r = h.run(&["restore", &id, "--json"]);
    code(&r, 1);
    let out = r.json();
    assert_eq!(out["outcome"], "failed");
    assert_eq!(out["problems"].as_array().map(Vec::len), Some(2));
    assert!(names(src.path()).is_empty());
}

#[test]
fn a_taken_place_is_refused_then_backed_up_before_force_replaces_it() {
    let h = Home::new();
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("site");
    small_tree(&root);
    let original = snapshot(&root);
    code(&h.backup(&root.display().to_string()), 0);
    let first = h.only_manifest();
    let id = id_of(&first);
    // restore-test reads a copy as restore does, into a scratch directory it removes.
    let r = h.run(&["restore-test", &id]);
    code(&r, 0);
    assert!(
        r.stdout.contains(&format!(
            "5 entries extracted from {} to a scratch directory; all 2 files",
            copies(&first)[0].display()
        )),
        "{}",
        r.stdout
    );
    assert_eq!(h.leftovers().len(), 2, "{:?}", h.leftovers());
    // Work done since the backup: it must not be lost.
    std::fs::write(root.join("a/one.txt"), "one, edited").expect("write");
    std::fs::write(root.join("new.txt"), "new since the backup").expect("write");
    let edited = snapshot(&root);

    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains(&format!(
            "{} is not empty: it holds 3 files and 2 directories",
            root.display()
        )) && r.stderr.contains("Nothing was changed")
            && r.stderr.contains("Restore elsewhere with --to")
            && r.stderr.contains(&format!(
                "--force to back up what is there first (to {} and {})",
                copies(&first)[0].parent().expect("dir").display(),
                copies(&first)[1].parent().expect("dir").display()
            )),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&root), edited);

    let r = h.run(&["restore", &id, "--force"]);
    code(&r, 0);
    assert_eq!(snapshot(&root), original);
    let list = h.manifests();
    assert_eq!(list.len(), 2);
    let second = list.iter().find(|m| m["id"] != id.as_str()).expect("new");
    assert!(
        r.stdout
            .contains(&format!("backed up as {}", id_of(second))),
        "{}",
        r.stdout
    );
    for (a, b) in copies(&first).iter().zip(copies(second)) {
        assert_eq!(a.parent(), b.parent(), "the same two directories");
    }
    assert_ne!(second["copies"][0]["device"], second["copies"][1]["device"]);
    // What --force replaced comes back from its own backup.
    let aside = src.path().join("site-as-it-was");
    code(
        &h.run(&[
            "restore",
            &id_of(second),
            "--to",
            &aside.display().to_string(),
        ]),
        0,
    );
    let mut expected = edited;
    let mut got = snapshot(&aside);
    // The top directory's time changed when new.txt was written; compare the rest.
    expected.remove(0);
    got.remove(0);
    assert_eq!(got, expected);
    assert_eq!(names(src.path()), vec!["site", "site-as-it-was"]);
}

/// A destination that fills up: a 1 MiB tmpfs mounted for the test (as root); else a
/// real write error from the file-size limit, as the backup test does.
#[test]
fn a_full_disk_leaves_the_place_as_it_was() {
    let h = Home::new();
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("big");
    std::fs::create_dir(&root).expect("mkdir");
    write_pattern(&root.join("data.bin"), 3);
    code(&h.backup(&root.display().to_string()), 0);
    let id = id_of(&h.only_manifest());
    let mnt = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mnt.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    struct Unmount<'a>(&'a Path, bool);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            if self.1 {
                let _ = Command::new("umount").arg(self.0).status();
            }
        }
    }
    let _guard = Unmount(mnt.path(), mounted);
    let place = mnt.path().join("big");
    let (r, says) = if mounted {
        (
            h.run(&["restore", &id, "--to", &place.display().to_string()]),
            "No space left on device",
        )
    } else {
        eprintln!("cannot mount a small tmpfs here: a file-size limit makes the write fail");
        let out = Command::new("sh")
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f 1024; exec \"$@\"",
                "sh",
                env!("CARGO_BIN_EXE_backstop"),
                "restore",
                &id,
                "--to",
                &place.display().to_string(),
            ])
            .env("BACKSTOP_HOME", h.home.path())
            .output()
            .expect("run");
        (
            Out {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
            "File too large",
        )
    };
    code(&r, 1);
    assert!(
        r.stderr.contains(says) && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    // A disk problem is not the copy's: the other copy is not tried in vain.
    assert!(!r.stdout.contains("trying the other copy"), "{}", r.stdout);
    assert!(names(mnt.path()).is_empty(), "{:?}", names(mnt.path()));
}

#[test]
fn sqlite_comes_back_checked_and_only_into_a_free_place() {
    let h = Home::new();
    let data = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let db = data.path().join("shop.db");
    sqlite(
        &db,
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, total INT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO orders(total) SELECT i * 3 FROM n; CREATE INDEX by_total ON orders(total);",
    );
    code(&h.backup(&format!("sqlite:{}", db.display())), 0);
    let m = h.only_manifest();
    let id = id_of(&m);
    let count = |p: &Path| sqlite(p, "SELECT count(*), sum(total) FROM orders");
    assert_eq!(count(&db), "1000|1501500");

    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(r.stderr.contains("it holds a file of"), "{}", r.stderr);
    let r = h.run(&["restore", &id, "--dir", "/var/tmp/x"]);
    code(&r, 3);
    assert!(r.stderr.contains("--dir is for kinds"), "{}", r.stderr);

    std::fs::remove_file(&db).expect("rm");
    let r = h.run(&["restore", &id]);
    code(&r, 0);
    assert!(r.stdout.contains("checked by 2 step(s)"), "{}", r.stdout);
    assert_eq!(count(&db), "1000|1501500");
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
    assert_eq!(names(data.path()), vec!["shop.db"]);

    let copy = data.path().join("copies/shop-copy.db");
    code(
        &h.run(&["restore", &id, "--to", &copy.display().to_string()]),
        0,
    );
    assert_eq!(count(&copy), "1000|1501500");

    // A WAL left beside a missing database would be read with the restored file.
    std::fs::remove_file(&db).expect("rm");
    let wal = data.path().join("shop.db-wal");
    std::fs::write(&wal, "stale").expect("write");
    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(r.stderr.contains("shop.db-wal beside it"), "{}", r.stderr);
    std::fs::remove_file(&wal).expect("rm");

    // The restore steps really check: a manifest recording other tables is refused,
    // and the file is not put in place.
    let manifest = h.home.path().join(format!("data/manifests/{id}.json"));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    v["recorded"] = "table invoices\n".into();
    std::fs::write(&manifest, serde_json::to_vec(&v).expect("json")).expect("write");
    let r = h.run(&["restore", &id]);
    code(&r, 1);
    assert!(
        r.stderr.contains("differs from what was recorded")
            && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    assert_eq!(names(data.path()), vec!["copies"]);
}

#[test]
fn postgres_is_restored_under_its_name_or_another_and_never_over_one() {
    let Some(pg) = PgServer::start() else { return };
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql(
        "shop",
        "CREATE TABLE orders(id serial PRIMARY KEY, total int); INSERT INTO orders(total) SELECT g FROM generate_series(1, 250) g; CREATE SCHEMA audit; CREATE TABLE audit.log(t text); INSERT INTO audit.log VALUES ('x'), ('y');",
    );
    let h = Home::new().with(pg.env());
    code(&h.backup("postgres:shop"), 0);
    let id = id_of(&h.only_manifest());
    let rows = |db: &str| {
        pg.psql(
            db,
            "SELECT (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM audit.log)",
        )
    };

    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains("the postgres shop exists: 2 tables"),
        "{}",
        r.stderr
    );

    pg.psql("postgres", "DROP DATABASE shop");
    let r = h.run(&["restore", &id]);
    code(&r, 0);
    assert!(
        r.stdout
            .contains("matching what was recorded at backup time"),
        "{}",
        r.stdout
    );
    assert_eq!(rows("shop"), "250 2");

    let r = h.run(&["restore", &id, "--to", "shop_copy"]);
    code(&r, 0);
    assert_eq!(rows("shop_copy"), "250 2");

    // --force: the database as it is now is backed up, then replaced.
    pg.psql("shop", "DELETE FROM orders");
    let r = h.run(&["restore", &id, "--force"]);
    code(&r, 0);
    assert_eq!(rows("shop"), "250 2");
    let list = h.manifests();
    let newer = list.iter().find(|m| m["id"] != id.as_str()).expect("new");
    assert_eq!(newer["recorded"], "audit.log 2\npublic.orders 0\n");

    // A restore that fails its check drops the database it created.
    let manifest = h.home.path().join(format!("data/manifests/{id}.json"));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    v["recorded"] = "audit.log 2\npublic.orders 999\n".into();
    std::fs::write(&manifest, serde_json::to_vec(&v).expect("json")).expect("write");
    let r = h.run(&["restore", &id, "--to", "shop_bad"]);
    code(&r, 1);
    assert!(
        r.stderr.contains("differs from what was recorded")
            && r.stderr
                .contains("what it had created at shop_bad was removed"),
        "{}",
        r.stderr
    );
    let dbs = pg.psql("postgres", "SELECT datname FROM pg_database ORDER BY 1");
    assert!(!dbs.contains("shop_bad"), "{dbs}");
    assert!(h
        .leftovers()
        .iter()
        .all(|p| !p.to_string_lossy().contains(".backstop-restore-")));
}

#[test]
fn mariadb_is_restored_under_its_name_or_another_and_never_over_one() {
    let Some(my) = MysqlServer::start() else {
        return;
    };
    my.sql(None, "CREATE DATABASE shop");
    my.sql(
        Some("shop"),
        "CREATE TABLE orders (id int PRIMARY KEY, total int);
         INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30);
         CREATE TABLE customers (id int PRIMARY KEY, name varchar(40));
         INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');",
    );
    let h = Home::new().with(my.env());
    code(&h.backup("mysql:shop"), 0);
    let id = id_of(&h.only_manifest());
    let rows = |db: &str| {
        my.sql(
            Some(db),
            "SELECT CONCAT((SELECT SUM(total) FROM orders), ' ', (SELECT GROUP_CONCAT(name ORDER BY id) FROM customers))",
        )
    };
    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains("the mysql shop exists: 2 tables"),
        "{}",
        r.stderr
    );

    my.sql(None, "DROP DATABASE shop");
    code(&h.run(&["restore", &id]), 0);
    assert_eq!(rows("shop"), "60 Ada,Grace");
    code(&h.run(&["restore", &id, "--to", "shop_copy"]), 0);
    assert_eq!(rows("shop_copy"), "60 Ada,Grace");

    // What `DELETE FROM orders` left: the database is there, so --force backs it up first.
    my.sql(Some("shop"), "DELETE FROM orders");
    code(&h.run(&["restore", &id]), 3);
    code(&h.run(&["restore", &id, "--force"]), 0);
    assert_eq!(rows("shop"), "60 Ada,Grace");
    assert_eq!(h.manifests().len(), 2);
}

#[test]
fn wsl_distribution_is_imported_back_through_the_stand_in() {
    let wsl = WslHome::new();
    wsl.distro(
        "Ubuntu-24.04",
        &[
            ("etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\n"),
            ("home/me/work.txt", "precious"),
        ],
    );
    let h = Home::new().with(wsl.env());
    code(&h.backup("wsl:Ubuntu-24.04"), 0);
    let id = id_of(&h.only_manifest());
    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains("the wsl Ubuntu-24.04 exists"),
        "{}",
        r.stderr
    );
    // wsl.exe lists in UTF-16 unless WSL_UTF8=1: the name is still found.
    let r = h
        .command(&["restore", &id])
        .env("WSL_UTF8", "0")
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("the wsl Ubuntu-24.04 exists"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );

    let out = Command::new(crate::standins::stand_ins_dir().join("wsl"))
        .args(["--unregister", "Ubuntu-24.04"])
        .envs(wsl.env())
        .output()
        .expect("wsl");
    assert!(out.status.success());
    let r = h.run(&["restore", &id]);
    code(&r, 0);
    assert_eq!(
        std::fs::read_to_string(wsl.rootfs("Ubuntu-24.04").join("home/me/work.txt"))
            .expect("restored"),
        "precious"
    );
    // Imported into the documented default: backstop's data directory, wsl/NAME.
    let location = wsl
        .rootfs("Ubuntu-24.04")
        .parent()
        .expect("distro")
        .join("location");
    let default_dir = h.home.path().join("data/wsl/Ubuntu-24.04");
    assert_eq!(
        std::fs::read_to_string(&location).expect("location").trim(),
        default_dir.display().to_string()
    );

    // Under another name, into a directory given with --dir.
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("restored");
    code(
        &h.run(&[
            "restore",
            &id,
            "--to",
            "Ubuntu-restored",
            "--dir",
            &target.display().to_string(),
        ]),
        0,
    );
    assert!(wsl
        .rootfs("Ubuntu-restored")
        .join("etc/os-release")
        .is_file());
    // --force: the distribution as it is now is exported first, then replaced.
    std::fs::write(
        wsl.rootfs("Ubuntu-24.04").join("home/me/work.txt"),
        "changed",
    )
    .expect("write");
    let other_dir = dir.path().join("again");
    let r = h.run(&[
        "restore",
        &id,
        "--force",
        "--dir",
        &other_dir.display().to_string(),
    ]);
    code(&r, 0);
    assert_eq!(
        std::fs::read_to_string(wsl.rootfs("Ubuntu-24.04").join("home/me/work.txt"))
            .expect("restored"),
        "precious"
    );
    assert_eq!(h.manifests().len(), 2);
}

#[test]
fn registry_key_is_imported_back_through_the_stand_in() {
    let reg = RegHome::new();
    reg.key(
        "HKEY_CURRENT_USER\\Software\\Contoso",
        &["\"Theme\"=\"dark\"", "\"Size\"=dword:0000000c"],
    );
    reg.key(
        "HKEY_CURRENT_USER\\Software\\Contoso\\Sub",
        &["\"A\"=\"b\""],
    );
    let h = Home::new().with(reg.env());
    code(&h.backup("registry:HKCU\\Software\\Contoso"), 0);
    let id = id_of(&h.only_manifest());
    let values = || {
        std::fs::read_to_string(
            reg.key_dir("HKEY_CURRENT_USER\\Software\\Contoso")
                .join("values"),
        )
        .unwrap_or_default()
    };
    let before = values();

    let r = h.run(&["restore", &id]);
    code(&r, 3);
    assert!(
        r.stderr.contains("Theme"),
        "what is there is shown: {}",
        r.stderr
    );
    // A .reg file names its key inside: it goes back only where it was.
    let r = h.run(&["restore", &id, "--to", "HKCU\\Software\\Other"]);
    code(&r, 3);
    assert!(
        r.stderr.contains("only go back where it was"),
        "{}",
        r.stderr
    );

    std::fs::remove_dir_all(reg.key_dir("HKEY_CURRENT_USER\\Software\\Contoso")).expect("rm");
    code(&h.run(&["restore", &id]), 0);
    assert_eq!(values(), before);
    assert!(reg
        .key_dir("HKEY_CURRENT_USER\\Software\\Contoso\\Sub")
        .join("values")
        .is_file());
    // A value deleted from a key that is still there: --force backs the key up first.
    reg.key(
        "HKEY_CURRENT_USER\\Software\\Contoso",
        &["\"Theme\"=\"dark\""],
    );
    code(&h.run(&["restore", &id, "--force"]), 0);
    assert_eq!(values(), before);
}

/// Regression: `restore --json` with nobody reading stdout panicked after restoring.
#[test]
fn a_closed_stdout_still_restores_and_says_so_by_the_exit_code() {
    let h = Home::new();
    let src = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let root = src.path().join("ledger");
    small_tree(&root);
    let before = snapshot(&root);
    code(&h.backup(&root.display().to_string()), 0);
    let id = id_of(&h.only_manifest());
    std::fs::remove_dir_all(&root).expect("rm");
    let mut child = h
        .command(&["restore", &id, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start backstop");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(snapshot(&root), before);
}

#[test]
fn bad_requests_are_clear_errors() {
    let h = Home::new();
    let r = h.run(&["restore", "bk-nope"]);
    code(&r, 3);
    assert!(
        r.stderr.contains("no backup has the id `bk-nope`"),
        "{}",
        r.stderr
    );
    let r = h.run(&["undo"]);
    code(&r, 3);
    assert!(r.stderr.contains("no approved line"), "{}", r.stderr);
    let r = h.run(&["undo", "--list"]);
    code(&r, 0);
    assert!(r.stdout.contains("nothing to undo"), "{}", r.stdout);
    let r = h.run(&["undo", "7"]);
    code(&r, 3);
    assert!(
        r.stderr
            .contains("#7 is not a line backstop approved or let through"),
        "{}",
        r.stderr
    );
    // --backup-to only means something with --force.
    let r = h.run(&["restore", "bk-x", "--backup-to", "/tmp"]);
    code(&r, 3);
    let help = h.run(&["--help"]);
    assert!(
        help.stdout
            .contains("Exit codes for restore and undo: 0 restored, 1 no copy could be restored"),
        "{}",
        help.stdout
    );
}
