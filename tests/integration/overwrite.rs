//! Writing over files, and deleting paths that do not exist, end to end: the built
//! binary looks at real files in a home and a project pushed to a bare remote.

use std::path::PathBuf;

use crate::git::{git, write};
use crate::{Ran, Test};

/// A home (outside /tmp and any `target/`) holding a precious `notes.txt` and a
/// project `app` pushed to a bare remote: a committed `shop.db` (precious, but git
/// holds it), an untracked `local.db`, an untracked scratch `notes.txt`, an empty
/// file, and regenerable `build/`.
struct Place {
    _dir: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
}

impl Place {
    fn new() -> Place {
        let dir = crate::under_home("backstop-overwrite-");
        let home = dir.path().join("home");
        let work = home.join("app");
        write(&home.join("notes.txt"), b"my notes\n");
        write(&home.join("Documents/thesis.tex"), b"\\chapter{One}\n");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(dir.path(), &["init", "-q", "--bare", "app.git"]);
        git(&work, &["init", "-q"]);
        write(&work.join("shop.db"), b"SQLite format 3\0rows");
        write(&work.join("src/main.rs"), b"fn main() {}\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(&work, &["remote", "add", "origin", "../../app.git"]);
        git(&work, &["push", "-q", "-u", "origin", "main"]);
        write(&work.join("local.db"), b"SQLite format 3\0mine");
        write(&work.join("notes.txt"), b"scratch\n");
        write(&work.join("empty.txt"), b"");
        write(&work.join("build/out.log"), b"compiled\n");
        Place {
            _dir: dir,
            home,
            work,
        }
    }

    fn test(&self) -> Test {
        Test::new()
            .env("HOME", self.home.display().to_string())
            .cwd(&self.work)
    }

    fn check(&self, shell: &str, line: &str, flags: &[&str]) -> Ran {
        let mut args = vec!["check"];
        args.extend(flags);
        args.extend(["--shell", shell, "--", line]);
        let r = self.test().args(args).run();
        assert!(matches!(r.code, 0..=2), "{line}: {}", r.stderr);
        r
    }
}

#[test]
fn writing_over_files_is_decided_by_what_is_there() {
    let p = Place::new();
    for (shell, line, want) in [
        // Precious by place: a file directly in the home, a document.
        ("bash", "echo hi > ~/notes.txt", 2),
        ("bash", "cp src/main.rs ~/Documents/thesis.tex", 2),
        ("zsh", "mv -f notes.txt ~/notes.txt", 2),
        ("fish", "echo hi > ~/notes.txt", 2),
        ("powershell", "'hi' > ~/notes.txt", 2),
        ("powershell", "Set-Content ..\\notes.txt 'hi'", 2),
        ("powershell", "Get-Date | Out-File -FilePath ~/notes.txt", 2),
        ("cmd", "echo hi > ..\\notes.txt", 2),
        ("nu", "'hi' | save -f ~/notes.txt", 2),
        // A data file git does not hold.
        ("bash", "cp notes.txt local.db", 2),
        // A scratch file, an empty or missing one, appending, regenerable output.
        ("bash", "echo hi > notes.txt", 0),
        ("bash", "echo hi > empty.txt", 0),
        ("bash", "echo hi > new.txt", 0),
        ("bash", "echo hi >> ~/notes.txt", 0),
        ("bash", "cargo build > build/out.log 2>&1", 0),
        ("powershell", "'hi' >> ~/notes.txt", 0),
        ("cmd", "echo hi >> ..\\notes.txt", 0),
    ] {
        let r = p.check(shell, line, &[]);
        assert_eq!(r.code, want, "{shell}: {line}\n{}{}", r.stdout, r.stderr);
        if want == 2 {
            assert!(
                r.stdout.contains("remedy: backstop backup"),
                "{line}: {}",
                r.stdout
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(p.home.join("notes.txt"))
            .ok()
            .as_deref(),
        Some("my notes\n")
    );
}

#[test]
fn a_file_git_holds_is_written_over_with_a_note() {
    let p = Place::new();
    let r = p.check("bash", "cp notes.txt shop.db", &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("shop.db can be restored from git commit")
            && r.stdout.contains("on origin/main"),
        "{}",
        r.stdout
    );
    // Changed since the commit: git no longer holds what would be lost.
    write(&p.work.join("shop.db"), b"SQLite format 3\0more rows");
    let r = p.check("bash", "cp notes.txt shop.db", &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn a_file_a_manifest_holds_is_written_over_with_a_note() {
    let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("SKIPPED: no /dev/shm for a second filesystem");
        return;
    };
    let p = Place::new();
    let d1 = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let notes = p.home.join("notes.txt").display().to_string();
    let t = p.test();
    t.clone_home()
        .env("HOME", p.home.display().to_string())
        .args([
            "backup",
            notes.as_str(),
            "--to",
            &d1.path().display().to_string(),
            "--to",
            &shm.path().display().to_string(),
        ])
        .code(0);
    let r = t
        .clone_home()
        .env("HOME", p.home.display().to_string())
        .cwd(&p.work)
        .args(["check", "--", "echo hi > ~/notes.txt"])
        .code(0);
    assert!(
        r.stdout
            .contains(&format!("{notes} can be restored from backup")),
        "{}",
        r.stdout
    );
}

/// Regression: `rm -rf ~/projects` with no `~/projects` was denied, with a remedy
/// (`backstop backup ~/projects`) that then failed.
#[test]
fn a_missing_path_destroys_nothing_unless_assumed_to_exist() {
    let p = Place::new();
    let r = p.check("bash", "rm -rf ~/projects", &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = p.check("bash", "rm -rf ~/projects", &["--assume-exists", "--json"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("backstop backup"), "{}", r.stdout);
    // Something earlier on the line could put it there.
    let r = p.check(
        "bash",
        "mv ~/Documents ~/projects && rm -rf ~/projects",
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    // The overwrite rules look only at files that are there, with or without the flag.
    let r = p.check("bash", "echo hi > new.txt", &["--assume-exists"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = p.check("bash", "echo hi > ~/notes.txt", &["--assume-exists"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    // What is there is still what it is: a small scratch file needs nothing.
    let r = p.check("bash", "rm notes.txt", &["--assume-exists"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn check_help_offers_assume_exists() {
    // `/work/shared/eval/score` passes the flag when `check --help` names it.
    let r = Test::new().args(["check", "--help"]).code(0);
    assert!(r.stdout.contains("--assume-exists"), "{}", r.stdout);
}

#[test]
fn scan_decides_as_if_every_deleted_path_existed() {
    let p = Place::new();
    let hist = "rm -rf ~/projects\necho hi > ~/notes.txt\n";
    let r = p.test().args(["scan", "-"]).stdin(hist).code(0);
    assert!(r.stdout.contains("rm -rf ~/projects"), "{}", r.stdout);
    // Today's files are not what the history wrote over: nothing is known to exist.
    assert!(!r.stdout.contains("echo hi"), "{}", r.stdout);
    assert!(
        r.stdout
            .trim_end()
            .ends_with("scanned 2 commands: 1 would be denied, 0 would need approval, 1 allowed"),
        "{}",
        r.stdout
    );
}
