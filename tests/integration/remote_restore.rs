//! Restores from remote copies, through the real restic (0.14) and rclone (1.60): the
//! local copy gone, the backup comes back from a restic REST repository served by
//! `rclone serve restic`, from an SFTP remote served by `rclone serve sftp` and from a
//! WebDAV remote served by `rclone serve webdav`, each on 127.0.0.1 on a port of its
//! own and stopped after the test. A remote copy is read as a local one is: each
//! 4 MiB block checked against the manifest before anything is written from it.

use std::path::{Path, PathBuf};

use crate::remote::{files_in, pseudo_random, sftp, tools, Out, Server, World};

/// Every entry under `root`, by relative path: a file's bytes, a directory as empty.
fn tree_of(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            let bytes = e
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).expect("read"));
            (rel, bytes)
        })
        .collect()
}

/// The target, larger than one block, so damage can be in a block after the first.
fn with_three_blocks(w: &World) {
    std::fs::write(w.target().join("sub/more.bin"), pseudo_random(6 << 20, 11)).expect("write");
}

/// What the target's parent holds besides the target: a failed restore leaves nothing.
fn beside_target(w: &World) -> Vec<String> {
    let mut v = files_in(&w.src.path().display().to_string());
    v.retain(|n| n != "data");
    v
}

fn rest_repository(w: &World) -> (Server, String) {
    let served = w.dir("rest-server");
    let server = Server::rclone(w, "restic", &[&served]);
    let repo = format!("rest:http://127.0.0.1:{}/", server.port);
    let init = w.restic(&repo, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    (server, repo)
}

fn says(o: &Out, text: &str) {
    assert!(
        o.stdout.contains(text) || o.stderr.contains(text),
        "expected {text:?} in:\n{}\n{}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn the_local_copy_gone_a_backup_comes_back_from_its_remote_copies_in_order() {
    if !tools() {
        return;
    }
    let served = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (w, _sftp) = sftp(World::new(), &served.path().display().to_string());
    let (_rest, repo) = rest_repository(&w);
    with_three_blocks(&w);
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let local = shm.path().display().to_string();
    let target = w.target_str();
    let restic = format!("restic:{repo}");
    w.ok(&[
        "backup",
        &target,
        "--to",
        &local,
        "--to",
        "rclone:nas:backups",
        "--to",
        &restic,
    ]);
    let m = &w.manifests()[0];
    let id = m["id"].as_str().expect("id").to_string();
    let local_copy = PathBuf::from(m["copies"][0]["path"].as_str().expect("path"));
    let object = m["copies"][1]["object"]
        .as_str()
        .expect("object")
        .to_string();
    let snapshot = m["copies"][2]["snapshot"]
        .as_str()
        .expect("snapshot")
        .to_string();
    let before = tree_of(&w.target());

    // The target and the local copy gone: restic and rclone still hold it.
    std::fs::remove_dir_all(w.target()).expect("rm");
    std::fs::remove_file(&local_copy).expect("rm local copy");
    let o = w.ok(&["restore", &id]);
    says(
        &o,
        &format!(
            "copy {} cannot be used: it is missing",
            local_copy.display()
        ),
    );
    says(&o, &format!("trying the next copy, rclone:{object}"));
    says(&o, &format!("restored {target} from rclone:{object}"));
    assert_eq!(tree_of(&w.target()), before);

    // One byte altered on the SFTP server, in the second block: that block fails its
    // check before anything is written from it, and restic's copy is used.
    std::fs::remove_dir_all(w.target()).expect("rm");
    let name = object.rsplit('/').next().expect("name");
    let on_server = served.path().join("backups").join(name);
    let mut bytes = std::fs::read(&on_server).expect("read");
    bytes[5 << 20] ^= 0x20;
    std::fs::write(&on_server, &bytes).expect("write");
    let o = w.ok(&["restore", &id]);
    says(
        &o,
        &format!("copy rclone:{object} cannot be used: block 1 (bytes 4194304..8388608) differs from the one recorded"),
    );
    says(
        &o,
        &format!(
            "trying the other copy, {restic} snapshot {}",
            &snapshot[..8]
        ),
    );
    says(
        &o,
        &format!(
            "restored {target} from {restic} snapshot {}",
            &snapshot[..8]
        ),
    );
    assert_eq!(tree_of(&w.target()), before);
    assert!(beside_target(&w).is_empty(), "{:?}", beside_target(&w));

    // Both remote copies bad too: nothing is written, and each copy says why.
    std::fs::remove_dir_all(w.target()).expect("rm");
    let forget = w.restic(&repo, &["forget", "--prune", &snapshot]);
    assert!(
        forget.status.success(),
        "{}",
        String::from_utf8_lossy(&forget.stderr)
    );
    let o = w.run(&["restore", &id, "--json"]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let out: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(out["outcome"], "failed");
    let problems: Vec<String> = out["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("it is missing"), "{problems:?}");
    assert!(problems[1].contains("block 1"), "{problems:?}");
    assert!(
        problems[2].contains(&format!("{restic} snapshot")) && problems[2].contains("restic"),
        "{problems:?}"
    );
    says(&o, "no copy verifies, so nothing was written");
    assert!(!w.target().exists());
    assert!(beside_target(&w).is_empty(), "{:?}", beside_target(&w));
}

#[test]
fn restore_test_and_force_work_with_remote_copies_alone() {
    if !tools() {
        return;
    }
    let served = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (w, _sftp) = sftp(World::new(), &served.path().display().to_string());
    let (_rest, repo) = rest_repository(&w);
    let target = w.target_str();
    let restic = format!("restic:{repo}");
    w.ok(&[
        "backup",
        &target,
        "--to",
        "rclone:nas:backups",
        "--to",
        &restic,
    ]);
    let first = w.manifests()[0].clone();
    let id = first["id"].as_str().expect("id").to_string();
    let object = first["copies"][0]["object"]
        .as_str()
        .expect("object")
        .to_string();
    let original = tree_of(&w.target());

    // restore-test reads the first copy as restore does, from the remote.
    let o = w.ok(&["restore-test", &id]);
    says(
        &o,
        &format!("entries extracted from rclone:{object} to a scratch directory"),
    );

    // Work done since: --force backs it up first, to where the backup's copies are.
    std::fs::write(w.target().join("notes.txt"), b"edited since").expect("write");
    let edited = tree_of(&w.target());
    let o = w.run(&["restore", &id]);
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    says(
        &o,
        &format!("--force to back up what is there first (to rclone:nas:backups and {restic})"),
    );
    assert_eq!(tree_of(&w.target()), edited);
    let o = w.ok(&["restore", &id, "--force"]);
    says(
        &o,
        &format!(
            "backing up what is at {target} first (--force), to rclone:nas:backups and {restic}"
        ),
    );
    assert_eq!(tree_of(&w.target()), original);
    let list = w.manifests();
    assert_eq!(list.len(), 2);
    let second = list.iter().find(|m| m["id"] != id.as_str()).expect("new");
    assert_eq!(second["copies"][0]["kind"], "rclone");
    assert_eq!(second["copies"][1]["kind"], "restic");
    assert_eq!(second["copies"][1]["location"], restic.as_str());
    // --backup-to chooses the destinations instead, a remote among them.
    std::fs::write(w.target().join("notes.txt"), b"edited again").expect("write");
    let elsewhere = w.dir("elsewhere");
    let o = w.ok(&[
        "restore",
        &id,
        "--force",
        "--backup-to",
        &elsewhere,
        "--backup-to",
        "rclone:nas:other",
    ]);
    says(
        &o,
        &format!("first (--force), to {elsewhere} and rclone:nas:other"),
    );
    assert_eq!(tree_of(&w.target()), original);
    let all = w.manifests();
    assert_eq!(all.len(), 3);
    let third = all
        .iter()
        .find(|m| m["id"] != id.as_str() && m["id"] != second["id"])
        .expect("third");
    assert_eq!(files_in(&elsewhere).len(), 1, "{:?}", files_in(&elsewhere));
    assert_eq!(third["copies"][1]["location"], "rclone:nas:other");
    // What --force replaced comes back from its own remote copies.
    let aside = w.src.path().join("as-it-was");
    w.ok(&[
        "restore",
        second["id"].as_str().expect("id"),
        "--to",
        &aside.display().to_string(),
    ]);
    let mut got = tree_of(&aside);
    let mut expected = edited;
    // The top directory's own entry is compared by name only.
    got.remove(0);
    expected.remove(0);
    assert_eq!(got, expected);
}

/// The `backup` requirement level lets a covered line through without asking, and
/// logs it for undo (as tests/integration/git.rs does for a local backup).
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
fn undo_brings_a_tree_back_from_a_webdav_copy_when_the_local_one_is_gone() {
    if !tools() {
        return;
    }
    let w = World::new();
    let served = w.dir("dav");
    let server = Server::rclone(&w, "webdav", &[&served]);
    let w = w.with("RCLONE_CONFIG_DAV_TYPE", "webdav").with(
        "RCLONE_CONFIG_DAV_URL",
        &format!("http://127.0.0.1:{}/", server.port),
    );
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    // Configured destinations: `backup TARGET` needs no --to.
    w.set_config(&format!(
        "[backup]\nvolatile_counts = true\nto = [\"{}\", \"rclone:dav:backups\"]\n",
        shm.path().display()
    ));
    std::fs::create_dir_all(w.home.path().join("policies")).expect("mkdir");
    std::fs::write(w.home.path().join("policies/mine.toml"), BACKUP_RULE).expect("policy");
    let target = w.target_str();
    w.ok(&["backup", &target]);
    let m = &w.manifests()[0];
    let object = m["copies"][1]["object"]
        .as_str()
        .expect("object")
        .to_string();
    let local_copy = PathBuf::from(m["copies"][0]["path"].as_str().expect("path"));
    let before = tree_of(&w.target());

    let line = format!("purge {target}");
    let o = w.run(&["hook", "--shell", "bash", "--session", "77", "--", &line]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    // The line ran; the local copy went with the disk it was on.
    std::fs::remove_dir_all(w.target()).expect("rm");
    std::fs::remove_file(&local_copy).expect("rm local copy");

    let o = w.ok(&["undo", "--list"]);
    says(&o, &line);
    says(&o, "the place is free");
    let o = w.ok(&["undo"]);
    says(
        &o,
        &format!(
            "copy {} cannot be used: it is missing",
            local_copy.display()
        ),
    );
    says(&o, &format!("restored {target} from rclone:{object}"));
    assert_eq!(tree_of(&w.target()), before);
}
