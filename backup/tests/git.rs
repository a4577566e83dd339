//! Git coverage and restore against the real `git`, with a bare remote on disk.

// The tests drive git by its absolute path, as the library does.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

use backstop_backup::git::{coverage, restore};
use backstop_rules::{Backup, BackupStatus};

fn git_bin() -> PathBuf {
    backstop_backup::recipe::resolve_program("git").expect("git is installed (scripts/test.sh)")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(git_bin())
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=tester@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A work tree pushed to a bare remote on disk: `src/` and `docs/` tracked, a
/// `config/.env` and `web/node_modules/` ignored.
struct Repo {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    work: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let remote = dir.path().join("remote.git");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
        git(&work, &["init", "-q"]);
        write(&work.join("src/main.rs"), "fn main() {}\n");
        write(&work.join("src/lib.rs"), "pub fn f() {}\n");
        write(&work.join("docs/guide.md"), "# Guide\n");
        write(&work.join("config/app.toml"), "port = 80\n");
        write(&work.join("web/index.js"), "console.log(1)\n");
        write(&work.join(".gitignore"), "node_modules/\n.env\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        write(&work.join("config/.env"), "TOKEN=secret\n");
        write(
            &work.join("web/node_modules/left-pad/index.js"),
            "module.exports = 1\n",
        );
        git(
            &work,
            &["remote", "add", "origin", remote.to_str().expect("utf-8")],
        );
        git(&work, &["push", "-q", "-u", "origin", "main"]);
        Repo {
            _dir: dir,
            remote,
            work,
        }
    }

    fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

fn node_modules(p: &str) -> bool {
    p.split('/').any(|c| c == "node_modules")
}

fn nothing(_: &str) -> bool {
    false
}

fn cover(path: &Path) -> Backup {
    coverage(path, &node_modules).expect("git has something to say")
}

#[test]
fn a_pushed_directory_is_covered_and_named_by_remote_branch_and_commit() {
    let r = Repo::new();
    let b = cover(&r.work.join("src"));
    assert_eq!(b.status, BackupStatus::Covered, "{b:?}");
    let g = b.git.expect("source");
    assert_eq!(g.remote, "origin");
    assert_eq!(g.branch, "origin/main");
    assert_eq!(g.commit, r.head());
    assert_eq!(g.path, "src");
    assert_eq!(
        Path::new(&g.repo),
        std::fs::canonicalize(&r.work).expect("canonical")
    );
    assert_eq!(g.url.as_deref(), r.remote.to_str());
    let f = cover(&r.work.join("src/main.rs"));
    assert_eq!(f.status, BackupStatus::Covered);
    assert_eq!(f.git.expect("source").path, "src/main.rs");
}

#[test]
fn committed_but_not_pushed_is_not_redundant() {
    let r = Repo::new();
    write(&r.work.join("src/new.rs"), "// new\n");
    git(&r.work, &["add", "src/new.rs"]);
    git(&r.work, &["commit", "-q", "-m", "second"]);
    let b = cover(&r.work.join("src"));
    assert_eq!(b.status, BackupStatus::NotRedundant, "{b:?}");
    assert!(b.detail.expect("why").contains("git push"));
    assert_eq!(b.git.expect("source").commit, r.head());
    git(&r.work, &["push", "-q"]);
    assert_eq!(cover(&r.work.join("src")).status, BackupStatus::Covered);
}

#[test]
fn a_modified_or_staged_file_is_not_covered() {
    let r = Repo::new();
    write(&r.work.join("src/lib.rs"), "pub fn f() { changed() }\n");
    let b = cover(&r.work.join("src"));
    assert_eq!(b.status, BackupStatus::Stale, "{b:?}");
    assert!(b.detail.expect("why").contains("src/lib.rs"));
    git(&r.work, &["add", "src/lib.rs"]);
    assert_eq!(cover(&r.work.join("src")).status, BackupStatus::Stale);
    // The rest of the tree is still covered.
    assert_eq!(cover(&r.work.join("docs")).status, BackupStatus::Covered);
}

#[test]
fn same_size_same_mtime_changes_are_found_by_content() {
    let r = Repo::new();
    let f = r.work.join("src/lib.rs");
    let before = std::fs::metadata(&f)
        .expect("stat")
        .modified()
        .expect("mtime");
    write(&f, "pub fn g() {}\n");
    std::fs::File::options()
        .write(true)
        .open(&f)
        .expect("open")
        .set_modified(before)
        .expect("set mtime");
    let b = cover(&f);
    assert_eq!(b.status, BackupStatus::Stale, "{b:?}");
}

#[test]
fn an_untracked_file_is_not_covered() {
    let r = Repo::new();
    write(&r.work.join("src/scratch.rs"), "// mine\n");
    let b = cover(&r.work.join("src"));
    assert_eq!(b.status, BackupStatus::Missing, "{b:?}");
    assert!(b
        .detail
        .expect("why")
        .contains("src/scratch.rs is not tracked"));
    let one = coverage(&r.work.join("src/scratch.rs"), &nothing).expect("in a repo");
    assert_eq!(one.status, BackupStatus::Missing);
}

#[test]
fn an_ignored_env_file_is_not_covered() {
    let r = Repo::new();
    let b = cover(&r.work.join("config"));
    assert_eq!(b.status, BackupStatus::Missing, "{b:?}");
    assert!(b.detail.expect("why").contains("config/.env is ignored"));
    let env = cover(&r.work.join("config/.env"));
    assert_eq!(env.status, BackupStatus::Missing);
}

#[test]
fn ignored_node_modules_do_not_stop_coverage() {
    let r = Repo::new();
    let b = cover(&r.work.join("web"));
    assert_eq!(b.status, BackupStatus::Covered, "{b:?}");
    // Only because the rule says node_modules regenerates.
    let b = coverage(&r.work.join("web"), &nothing).expect("in a repo");
    assert_eq!(b.status, BackupStatus::Missing, "{b:?}");
    assert!(b
        .detail
        .expect("why")
        .contains("web/node_modules/ is ignored"));
}

#[test]
fn the_whole_repository_needs_every_branch_pushed_and_no_stash() {
    let r = Repo::new();
    std::fs::remove_file(r.work.join("config/.env")).expect("rm");
    let b = cover(&r.work);
    assert_eq!(b.status, BackupStatus::Covered, "{b:?}");
    assert_eq!(b.git.expect("source").path, ".");
    git(&r.work, &["branch", "-q", "wip"]);
    git(&r.work, &["checkout", "-q", "wip"]);
    write(&r.work.join("docs/wip.md"), "draft\n");
    git(&r.work, &["add", "-A"]);
    git(&r.work, &["commit", "-q", "-m", "wip"]);
    git(&r.work, &["checkout", "-q", "main"]);
    let b = cover(&r.work);
    assert_eq!(b.status, BackupStatus::NotRedundant, "{b:?}");
    // A directory inside is still covered: the wip branch is not under it.
    assert_eq!(cover(&r.work.join("src")).status, BackupStatus::Covered);
    git(&r.work, &["branch", "-q", "-D", "wip"]);
    assert_eq!(cover(&r.work).status, BackupStatus::Covered);
    write(&r.work.join("src/lib.rs"), "stashed\n");
    git(&r.work, &["stash", "-q"]);
    let b = cover(&r.work);
    assert_eq!(b.status, BackupStatus::Missing, "{b:?}");
    assert!(b.detail.expect("why").contains("stash"));
}

#[test]
fn files_git_does_not_look_at_are_not_covered() {
    let r = Repo::new();
    git(
        &r.work,
        &["update-index", "--assume-unchanged", "src/lib.rs"],
    );
    write(&r.work.join("src/lib.rs"), "changed behind git's back\n");
    let b = cover(&r.work.join("src"));
    assert_eq!(b.status, BackupStatus::Missing, "{b:?}");
    assert!(b.detail.expect("why").contains("assume-unchanged"));
}

#[test]
fn outside_a_work_tree_or_missing_git_has_nothing_to_say() {
    let r = Repo::new();
    let plain = tempfile::tempdir().expect("temp dir");
    std::fs::write(plain.path().join("x"), "x").expect("write");
    assert_eq!(coverage(&plain.path().join("x"), &nothing), None);
    assert_eq!(coverage(&r.work.join("src/absent.rs"), &nothing), None);
    // Inside .git, no file is tracked: never covered.
    let b = coverage(&r.work.join(".git/config"), &nothing).expect("in a repo");
    assert_ne!(b.status, BackupStatus::Covered, "{b:?}");
}

#[test]
fn an_environment_pointing_elsewhere_is_ignored() {
    let r = Repo::new();
    let other = Repo::new();
    write(&other.work.join("src/lib.rs"), "changed\n");
    // The person's shell may have GIT_DIR set for some other repository.
    std::env::set_var("GIT_DIR", other.work.join(".git"));
    let b = cover(&r.work.join("src"));
    std::env::remove_var("GIT_DIR");
    assert_eq!(b.status, BackupStatus::Covered, "{b:?}");
}

#[test]
fn restore_brings_a_deleted_file_and_directory_back_from_the_commit() {
    let r = Repo::new();
    let file = cover(&r.work.join("src/main.rs")).git.expect("source");
    let dir = cover(&r.work.join("docs")).git.expect("source");
    std::fs::remove_file(r.work.join("src/main.rs")).expect("rm");
    std::fs::remove_dir_all(r.work.join("docs")).expect("rm -r");
    let back = restore(&file).expect("restored");
    assert_eq!(
        back,
        r.work.join("src/main.rs").canonicalize().expect("exists")
    );
    assert_eq!(
        std::fs::read_to_string(r.work.join("src/main.rs")).expect("read"),
        "fn main() {}\n"
    );
    restore(&dir).expect("restored");
    assert_eq!(
        std::fs::read_to_string(r.work.join("docs/guide.md")).expect("read"),
        "# Guide\n"
    );
}

#[test]
fn restore_never_writes_over_what_is_there() {
    let r = Repo::new();
    let file = cover(&r.work.join("src/main.rs")).git.expect("source");
    write(&r.work.join("src/main.rs"), "mine now\n");
    let e = restore(&file).expect_err("refused");
    assert!(e.to_string().contains("already there"), "{e}");
    assert_eq!(
        std::fs::read_to_string(r.work.join("src/main.rs")).expect("read"),
        "mine now\n"
    );
}

#[test]
fn restore_of_a_deleted_repository_clones_the_remote_at_the_commit() {
    let r = Repo::new();
    std::fs::remove_file(r.work.join("config/.env")).expect("rm");
    let whole = cover(&r.work).git.expect("source");
    std::fs::remove_dir_all(&r.work).expect("rm -rf");
    restore(&whole).expect("restored");
    assert_eq!(
        std::fs::read_to_string(r.work.join("src/lib.rs")).expect("read"),
        "pub fn f() {}\n"
    );
    assert_eq!(git(&r.work, &["rev-parse", "HEAD"]), whole.commit);
    assert_eq!(git(&r.work, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    assert_eq!(
        git(&r.work, &["rev-parse", "--abbrev-ref", "main@{upstream}"]),
        "origin/main"
    );
}
