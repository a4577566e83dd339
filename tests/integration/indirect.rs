//! What a line runs without naming it, through the built binary and real files: the
//! fixture project (tests/fixtures/project) copied under the real home directory
//! (outside /tmp, which the rules exempt, and outside target/, which is regenerable),
//! whose scripts, Makefile, justfile and package.json delete `data/` beside benign
//! twins that must stay allowed.

use std::path::{Path, PathBuf};

use crate::Test;

/// A copy of the fixture project in a directory of its own under the real home.
struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    fn new() -> Project {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .expect("HOME is set");
        let dir = tempfile::Builder::new()
            .prefix("backstop-indirect-test")
            .tempdir_in(home)
            .expect("a directory under the real home");
        let root = dir.path().join("project");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/project"),
            &root,
        );
        Project { _dir: dir, root }
    }

    fn check(&self, shell: &str, line: &str) -> (i32, serde_json::Value) {
        let bin = self.root.join("bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let r = Test::new()
            .env("PATH", path)
            .cwd(&self.root)
            .args(["check", "--json", "--shell", shell, "--", line])
            .run();
        assert!(matches!(r.code, 0..=2), "{line}: {}", r.stderr);
        (r.code, r.json())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixture") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

#[test]
fn the_issues_lines_are_refused() {
    let p = Project::new();
    for line in [
        "bash cleanup.sh",
        "./cleanup.sh",
        "source cleanup.sh",
        "cat cleanup.sh | sh",
        "python3 purge.py",
        "node wipe.js",
        "make clean",
        "npm run reset",
        "just nuke",
        "script -qc 'rm -rf data' /dev/null",
        "tmux new-session -d 'rm -rf data'",
        "echo 'rm -rf data' | at now",
        "awk 'BEGIN { system(\"rm -rf data\") }'",
        "git -c alias.t='!rm -rf data' t",
        "docker run -v \"$PWD:/w\" alpine rm -rf /w/data",
        "x=rm; $x -rf data",
        "echo cm0gLXJmIGRhdGE= | base64 -d | sh",
    ] {
        let (code, json) = p.check("bash", line);
        assert_eq!(code, 2, "{line}: {json}");
        let data = p.root.join("data").display().to_string();
        assert!(
            json["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .any(|t| t["value"] == data.as_str()),
            "{line}: {json}"
        );
    }
    let (code, _) = p.check("zsh", "noglob rm -rf data");
    assert_eq!(code, 2);
}

#[test]
fn every_fixture_form_is_refused_and_every_twin_allowed() {
    let p = Project::new();
    for (shell, line) in [
        ("bash", "./outer.sh"),
        ("bash", "./args.sh data"),
        ("bash", "nuke-data"),
        ("bash", "sh -s < cleanup.sh"),
        ("bash", "bash < cleanup.sh"),
        ("zsh", "zsh cleanup.zsh"),
        ("fish", "fish cleanup.fish"),
        ("bash", "pwsh -File cleanup.ps1"),
        ("powershell", "& ./cleanup.ps1"),
        ("powershell", ". .\\cleanup.ps1"),
        ("cmd", "cleanup.bat"),
        ("cmd", "call cleanup.bat"),
        ("nu", "nu cleanup.nu"),
        ("bash", "ruby nuke.rb"),
        ("bash", "perl nuke.pl"),
        ("bash", "php nuke.php"),
        ("bash", "python3 shell-out.py"),
        ("bash", "npm test"),
        ("bash", "make distclean"),
        ("bash", "just n"),
        ("bash", "at -f job.at now"),
        ("bash", "crontab jobs.cron"),
        ("bash", "awk -f prog.awk"),
        ("bash", "expect session.exp"),
    ] {
        let (code, json) = p.check(shell, line);
        assert_ne!(code, 0, "{shell}: {line} was allowed: {json}");
    }
    for line in [
        "bash tidy.sh",
        "./tidy.sh",
        "./outer-tidy.sh",
        "tidy-build",
        "make",
        "make tidy",
        "make nope",
        "just",
        "just tidy",
        "npm run build",
        "npm run clean",
        "npm start",
        "python3 listing.py",
        "node read.js",
        "crontab tidy.cron",
        "bash missing.sh",
        "./missing.sh",
    ] {
        let (code, json) = p.check("bash", line);
        assert_eq!(code, 0, "{line} was refused: {json}");
    }
}

#[test]
fn findings_say_which_file_and_line() {
    let p = Project::new();
    let (_, json) = p.check("bash", "./outer.sh");
    let rule = &json["rules"][0];
    assert_eq!(rule["id"], "fs.rm-recursive");
    let from = &rule["from"];
    assert_eq!(
        from["path"],
        p.root.join("cleanup.sh").display().to_string().as_str()
    );
    assert_eq!(from["line"], 5);
    assert!(
        json["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cleanup.sh line 5")),
        "{json}"
    );
    let r = Test::new()
        .cwd(&p.root)
        .args(["explain", "--", "make clean"])
        .code(0);
    let makefile = p.root.join("Makefile").display().to_string();
    assert!(
        r.stdout.contains(&format!("from: {makefile} line 15")),
        "{}",
        r.stdout
    );
}

#[test]
fn a_file_that_cannot_be_read_has_a_decision_of_its_own() {
    let p = Project::new();
    std::fs::write(p.root.join("big.sh"), "echo hello\n".repeat(200 * 1024)).expect("big script");
    let (code, json) = p.check("bash", "bash big.sh");
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["rules"][0]["id"], "indirect.unreadable-file");
    // A compiled program run by its path is not a script to read.
    std::fs::copy("/bin/true", p.root.join("prog")).expect("copy a program");
    let (code, json) = p.check("bash", "./prog");
    assert_eq!(code, 0, "{json}");
    // Policy decides what it costs.
    let r = Test::new()
        .file(
            "policies/strict.toml",
            "[[override]]\nrule = \"indirect.unreadable-file\"\nrequires = \"deny\"\n",
        )
        .cwd(&p.root)
        .args(["check", "--", "bash big.sh"])
        .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn git_aliases_in_the_repositorys_config_are_followed() {
    let p = Project::new();
    std::fs::create_dir_all(p.root.join(".git")).expect(".git");
    std::fs::write(
        p.root.join(".git/config"),
        "[core]\n\tbare = false\n[alias]\n\twipe = \"!rm -rf data\"\n",
    )
    .expect("config");
    let (code, json) = p.check("bash", "git wipe");
    assert_eq!(code, 2, "{json}");
    let (code, _) = p.check("bash", "git status");
    assert_eq!(code, 0);
}
