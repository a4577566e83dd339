//! Configured destinations (config.toml), failure domains, `setup`, and retention
//! (`cleanup --older-than`, space per destination), on real filesystems: the disk,
//! /dev/shm (a tmpfs), and, as root, two partitions of one loop-device disk.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::Test;

/// A directory to protect, outside /tmp and target/ (which the rules except).
fn victim() -> tempfile::TempDir {
    let d = tempfile::tempdir_in(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
        .expect("tmp");
    std::fs::write(d.path().join("notes.txt"), b"keep me").expect("write");
    d
}

fn disk_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp")
}

fn shm_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs here")
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn manifests(t: &Test) -> Vec<serde_json::Value> {
    let r = t.clone_home().args(["manifests", "--json"]).code(0);
    serde_json::from_str::<serde_json::Value>(&r.stdout)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn configured_destinations_need_no_to_and_shorten_the_remedies() {
    let (v, disk, shm) = (victim(), disk_dir(), shm_dir());
    let t = Test::new().file(
        "config.toml",
        &format!(
            "[backup]\nvolatile_counts = true\nto = [\"{}\", \"{}\"]\n",
            s(disk.path()),
            s(shm.path())
        ),
    );
    let line = format!("rm -rf {}", s(v.path()));
    // The remedy names no directories, and agents get one command to run.
    let r = t.clone_home().args(["check", "--", &line]).code(2);
    assert!(
        r.stdout
            .contains(&format!("remedy: backstop backup {}, then", s(v.path()))),
        "{}",
        r.stdout
    );
    let hook = serde_json::json!({
        "tool_name": "Bash",
        "tool_input": {"command": line},
        "cwd": "/",
        "session_id": "s1",
        "hook_event_name": "PreToolUse"
    });
    let r = t
        .clone_home()
        .args(["agent-hook", "claude"])
        .stdin(hook.to_string())
        .code(0);
    assert!(
        r.stdout
            .contains(&format!("backstop backup --for 'rm -rf {}'", s(v.path()))),
        "{}",
        r.stdout
    );
    let r = t.clone_home().args(["backup", &s(v.path())]).code(0);
    assert!(r.stdout.contains(&s(disk.path())), "{}", r.stdout);
    assert_eq!(manifests(&t).len(), 1);
    // --for without --to backs up what the line would destroy, once.
    std::fs::write(v.path().join("more.txt"), b"new").expect("write");
    t.clone_home().args(["backup", "--for", &line]).code(0);
    assert_eq!(manifests(&t).len(), 2);
}

#[test]
fn bad_settings_name_file_line_key_and_a_guess() {
    let v = victim();
    let t = Test::new().file("config.toml", "[backup]\nvolatile_count = true\n");
    let r = t.clone_home().args(["backup", &s(v.path())]).code(3);
    assert!(
        r.stderr.contains("config.toml:2:1:")
            && r.stderr.contains("did you mean `volatile_counts`?"),
        "{}",
        r.stderr
    );
    let disk = disk_dir();
    let t = Test::new().file(
        "config.toml",
        &format!(
            "[backup]\nvolatile_counts = true\nto = [\n  \"{}\",\n  \"/no/such/drive\",\n]\n",
            s(disk.path())
        ),
    );
    let r = t.clone_home().args(["backup", &s(v.path())]).code(3);
    assert!(
        r.stderr
            .contains("config.toml:5: [backup] to: destination /no/such/drive does not exist"),
        "{}",
        r.stderr
    );
    assert!(std::fs::read_dir(disk.path()).expect("ls").next().is_none());
    // A repository may not choose where backups go.
    let repo = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(repo.path().join(".backstop")).expect("mkdir");
    std::fs::write(
        repo.path().join(".backstop/config.toml"),
        "[backup]\nto = [\"rclone:evil:loot\"]\n",
    )
    .expect("write");
    let r = Test::new()
        .cwd(repo.path())
        .args(["check", "--", "ls"])
        .code(3);
    assert!(
        r.stderr
            .contains("a repository's .backstop/ may not hold settings"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_system_layer_locks_destinations() {
    let (disk, shm) = (disk_dir(), shm_dir());
    let t = Test::new()
        .file(
            "system/config.toml",
            &format!(
                "locked = [\"backup.to\"]\n[backup]\nto = [\"{}\", \"{}\"]\n",
                s(disk.path()),
                s(shm.path())
            ),
        )
        .file(
            "config.toml",
            "[backup]\nvolatile_counts = true\nto = [\"/elsewhere\", \"/other\"]\n",
        );
    let r = t.clone_home().args(["backup", "/etc/hostname"]).code(3);
    assert!(
        r.stderr
            .contains("config.toml:3: [backup] to: the setting is locked by"),
        "{}",
        r.stderr
    );
    // The system file is settings, not a policy: policies still load.
    std::fs::write(
        t.home().join("config.toml"),
        "[backup]\nvolatile_counts = true\n",
    )
    .expect("write");
    t.clone_home().args(["check", "--", "ls"]).code(0);
    let r = t
        .clone_home()
        .args(["setup", "--to", "/a", "--to", "/b"])
        .code(3);
    assert!(r.stderr.contains("locked by"), "{}", r.stderr);
}

#[test]
fn two_directories_on_one_tmpfs_are_one_domain_and_a_tmpfs_counts_only_when_asked() {
    let v = victim();
    let (a, b, disk) = (shm_dir(), shm_dir(), disk_dir());
    // Counted (volatile_counts = true), two directories of one tmpfs are still one.
    let r = Test::new()
        .args([
            "backup",
            &s(v.path()),
            "--to",
            &s(a.path()),
            "--to",
            &s(b.path()),
        ])
        .code(3);
    assert!(
        r.stderr.contains("not redundant (both on one tmpfs)"),
        "{}",
        r.stderr
    );
    // Not counted (the default), a tmpfs copy is no second copy.
    let off = "[backup]\nvolatile_counts = false\n";
    let r = Test::new()
        .file("config.toml", off)
        .args([
            "backup",
            &s(v.path()),
            "--to",
            &s(disk.path()),
            "--to",
            &s(a.path()),
        ])
        .code(3);
    assert!(r.stderr.contains("copy 2 is on a tmpfs"), "{}", r.stderr);
    assert!(std::fs::read_dir(disk.path()).expect("ls").next().is_none());
    // Counted, it is.
    let t = Test::new().args([
        "backup",
        &s(v.path()),
        "--to",
        &s(disk.path()),
        "--to",
        &s(a.path()),
    ]);
    t.code(0);
    let line = format!("rm -rf {}", s(v.path()));
    let r = t
        .clone_home()
        .args(["check", "--json", "--", &line])
        .code(1);
    assert_eq!(r.json()["targets"][0]["backup"]["status"], "covered");
    // The same backup once the setting is turned off: not redundant, and why.
    std::fs::write(t.home().join("config.toml"), off).expect("write");
    let r = t
        .clone_home()
        .args(["check", "--json", "--", &line])
        .code(2);
    let b = &r.json()["targets"][0]["backup"];
    assert_eq!(b["status"], "not-redundant");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("copy 2 is on a tmpfs"),
        "{b}"
    );
}

/// Two filesystems on two partitions of one disk (a loop device) are one failure
/// domain, found through sysfs. Needs root, losetup, partx, sfdisk and mkfs.ext4.
#[test]
fn two_partitions_of_one_disk_are_one_domain() {
    let Some(disk) = LoopDisk::new() else {
        return;
    };
    let v = victim();
    let (p1, p2) = (disk.mounts[0].path(), disk.mounts[1].path());
    let r = Test::new()
        .args(["backup", &s(v.path()), "--to", &s(p1), "--to", &s(p2)])
        .code(3);
    assert!(
        r.stderr
            .contains(&format!("not redundant (both on {})", disk.device)),
        "{}",
        r.stderr
    );
    // Accepted on purpose, it is recorded and reported as such. The partitions are
    // small: no room is kept free on them.
    let t = Test::new()
        .file("config.toml", "[backup]\nmin_free = 0\n")
        .args([
            "backup",
            &s(v.path()),
            "--to",
            &s(p1),
            "--to",
            &s(p2),
            "--same-device",
        ]);
    t.code(0);
    let line = format!("rm -rf {}", s(v.path()));
    let r = t
        .clone_home()
        .args(["check", "--json", "--", &line])
        .code(2);
    let b = &r.json()["targets"][0]["backup"];
    assert_eq!(b["status"], "not-redundant");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("both on {}", disk.device)),
        "{b}"
    );
}

/// A disk image with two partitions, each an ext4 filesystem mounted in a directory.
struct LoopDisk {
    device: String,
    mounts: Vec<tempfile::TempDir>,
    _image: tempfile::TempDir,
}

impl LoopDisk {
    /// The disk, or `None` (SKIPPED) where it cannot be made: not root, or a tool
    /// missing. Where the tests are required to run (scripts/test.sh, as root), any
    /// failure to make it fails the test instead.
    fn new() -> Option<LoopDisk> {
        let required = std::env::var_os("BACKSTOP_REQUIRE_SERVICES")
            .is_some_and(|v| !v.is_empty() && v != "0");
        let root = sh("id -u").ok().as_deref() == Some("0");
        match LoopDisk::make() {
            Ok(d) => Some(d),
            Err(why) => {
                assert!(
                    !(required && root),
                    "two partitions of one loop disk are required (BACKSTOP_REQUIRE_SERVICES): {why}"
                );
                eprintln!("SKIPPED: two partitions of one disk (root, losetup, partx, sfdisk, mkfs.ext4): {why}");
                None
            }
        }
    }

    fn make() -> Result<LoopDisk, String> {
        if sh("id -u")? != "0" {
            return Err("not root".into());
        }
        sh("command -v losetup && command -v partx && command -v sfdisk && command -v mkfs.ext4")?;
        let image = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        let img = image.path().join("disk.img").display().to_string();
        sh(&format!(
            "truncate -s 48M {img} && printf 'label: dos\\n,20M\\n,\\n' | sfdisk -q {img}"
        ))?;
        let device = sh(&format!("losetup -f --show {img}"))?;
        let mut d = LoopDisk {
            device: device.clone(),
            mounts: Vec::new(),
            _image: image,
        };
        sh(&format!("partx -a {device}"))?;
        for n in 1..=2 {
            let part = format!("{device}p{n}");
            let mnt =
                tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
            sh(&format!("mkfs.ext4 -q {part}"))?;
            sh(&format!("mount {part} {}", mnt.path().display()))?;
            d.mounts.push(mnt);
        }
        Ok(d)
    }
}

/// `sh -c SCRIPT`: its output, or what went wrong.
fn sh(script: &str) -> Result<String, String> {
    let o = Command::new("sh")
        .args(["-c", script])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{script}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        for m in &self.mounts {
            let _ = Command::new("umount").arg(m.path()).status();
        }
        let _ = Command::new("partx").args(["-d", &self.device]).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

#[test]
fn setup_tries_each_destination_and_writes_config() {
    let (disk, shm) = (disk_dir(), shm_dir());
    let new_dir = disk.path().join("backstop");
    let t = Test::new();
    let r = t
        .clone_home()
        .args(["setup", "--to", &s(&new_dir), "--to", &s(shm.path())])
        .code(0);
    assert!(
        r.stdout.contains("trying") && r.stdout.contains("wrote"),
        "{}",
        r.stdout
    );
    let config = std::fs::read_to_string(t.home().join("config.toml")).expect("config");
    assert!(config.contains("volatile_counts = true"), "kept: {config}");
    assert!(config.contains(&s(&new_dir)), "{config}");
    // Tried and cleaned up: nothing left behind.
    assert!(std::fs::read_dir(&new_dir).expect("ls").next().is_none());
    let v = victim();
    t.clone_home().args(["backup", &s(v.path())]).code(0);
    // Two directories of one disk are refused, and the config is left as it was.
    let other = disk_dir();
    let r = t
        .clone_home()
        .args(["setup", "--to", &s(disk.path()), "--to", &s(other.path())])
        .code(3);
    assert!(r.stderr.contains("not redundant (both on"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(t.home().join("config.toml")).expect("config"),
        config
    );
    // Without a terminal, setup needs --to.
    let r = Test::new().args(["setup"]).code(3);
    assert!(
        r.stderr.contains("backstop setup --to DEST --to DEST"),
        "{}",
        r.stderr
    );
    // install suggests setup while nothing is configured.
    let profile = tempfile::tempdir().expect("tmp");
    let r = Test::new()
        .file("config.toml", "")
        .args([
            "install",
            "bash",
            "--profile",
            &s(&profile.path().join(".bashrc")),
        ])
        .code(0);
    assert!(r.stdout.contains("backstop setup"), "{}", r.stdout);
}

#[test]
fn cleanup_by_age_deletes_only_proven_backups_and_says_what_it_freed() {
    let (a, b) = (victim(), victim());
    let (disk, shm) = (disk_dir(), shm_dir());
    let t = Test::new().file(
        "config.toml",
        &format!(
            "[backup]\nvolatile_counts = true\nto = [\"{}\", \"{}\"]\n",
            s(disk.path()),
            s(shm.path())
        ),
    );
    // The ids in the order the backups were made (made within one second, a listing
    // orders them by their random part).
    let ids: Vec<String> = [&a, &b, &a]
        .iter()
        .map(|target| {
            let r = t.clone_home().args(["backup", &s(target.path())]).code(0);
            let out = format!("{}{}", r.stdout, r.stderr);
            out.split_whitespace()
                .skip_while(|w| *w != "as")
                .nth(1)
                .expect("backup names its manifest id")
                .to_string()
        })
        .collect();
    // Everything made 40 days ago; only the first two restore-tested.
    let dir = t.home().join("data/manifests");
    for (i, id) in ids.iter().enumerate() {
        if i < 2 {
            t.clone_home().args(["restore-test", id]).code(0);
        }
        let p = dir.join(format!("{id}.json"));
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
        m["created"] =
            serde_json::json!(m["created"].as_u64().expect("created") - 40 * 86400 + i as u64);
        std::fs::write(&p, serde_json::to_vec(&m).expect("json")).expect("write");
    }
    let r = t.clone_home().args(["manifests"]).code(0);
    assert!(
        r.stdout.contains("space used per destination"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&s(disk.path())), "{}", r.stdout);
    // Keep the newest of each target: a's first backup and b's go, but b's is its
    // newest, so only a's first; the untested third is a's newest anyway.
    let r = t
        .clone_home()
        .args(["cleanup", "--older-than", "30days", "--keep-last", "1"])
        .code(0);
    assert!(
        r.stdout.contains("cleaned up 1 backup: freed"),
        "{}",
        r.stdout
    );
    let left: Vec<String> = manifests(&t)
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(left, vec![ids[1].clone(), ids[2].clone()]);
    // Without --keep-last: b's (proven) goes, the untested one stays, and says why.
    let r = t
        .clone_home()
        .args(["cleanup", "--older-than", "30days"])
        .code(0);
    assert!(
        r.stdout.contains(&format!("kept {}", ids[2])),
        "{}",
        r.stdout
    );
    let left: Vec<String> = manifests(&t)
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(left, vec![ids[2].clone()]);
    let r = t
        .clone_home()
        .args(["cleanup", "--older-than", "a while"])
        .code(3);
    assert!(r.stderr.contains("not a duration"), "{}", r.stderr);
}
