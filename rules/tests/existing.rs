//! Decisions that depend on what is on the filesystem, through fakes: writing over an
//! existing file (every form, in every dialect where it exists), and deleting a path
//! that does not exist. Facts come from one `stat` per path at decision time; what
//! earlier commands on the line (or in a script) may create counts as existing.

#![allow(clippy::panic)] // a failing case names itself

use std::collections::HashMap;
use std::sync::Mutex;

use backstop_rules::{
    Backup, BackupOracle, BackupStatus, Context, Decision, Dialect, Engine, Evaluation, FileFacts,
    FileKind, FileReader, FileText, GitSource, NoBackups, NoFacts, PathFact, Stat, Target,
};

const HOME: &str = "/home/u";
const P: &str = "/home/u/p";

/// Paths with what they are; everything else is absent. Symbolic links point at
/// another listed path. Every path asked is recorded.
struct Disk {
    paths: HashMap<String, Entry>,
    asked: Mutex<Vec<String>>,
}

#[derive(Clone)]
enum Entry {
    File(u64),
    Dir,
    Link(String),
    Device,
}

impl Disk {
    fn lookup(&self, path: &str, follow: bool) -> PathFact {
        self.asked
            .lock()
            .expect("not poisoned")
            .push(path.to_string());
        let stat = |kind, size| PathFact::Present(Stat { kind, size });
        match self.paths.get(path) {
            None => PathFact::Absent,
            Some(Entry::File(n)) => stat(FileKind::File, *n),
            Some(Entry::Dir) => stat(FileKind::Dir, 4096),
            Some(Entry::Device) => stat(FileKind::Other, 0),
            Some(Entry::Link(to)) if follow => match self.paths.get(to) {
                Some(Entry::File(n)) => stat(FileKind::File, *n),
                Some(Entry::Dir) => stat(FileKind::Dir, 4096),
                _ => PathFact::Absent,
            },
            Some(Entry::Link(to)) => stat(FileKind::Symlink, to.len() as u64),
        }
    }
}

impl FileFacts for Disk {
    fn stat(&self, path: &str) -> PathFact {
        self.lookup(path, false)
    }

    fn follow(&self, path: &str) -> PathFact {
        self.lookup(path, true)
    }
}

fn disk() -> Disk {
    let mut paths: HashMap<String, Entry> = HashMap::new();
    let mut add = |p: &str, e: Entry| {
        let p = if p.starts_with('/') {
            p.to_string()
        } else if let Some(rest) = p.strip_prefix("~/") {
            format!("{HOME}/{rest}")
        } else {
            format!("{P}/{p}")
        };
        paths.insert(p, e);
    };
    for (p, e) in [
        ("notes.txt", Entry::File(120)),
        ("draft.txt", Entry::File(80)),
        ("empty.txt", Entry::File(0)),
        ("tracked.txt", Entry::File(300)),
        ("big.bin", Entry::File(64 << 20)),
        (".env", Entry::File(40)),
        ("app.db", Entry::File(8192)),
        ("docs", Entry::Dir),
        ("docs/draft.txt", Entry::File(10)),
        ("data", Entry::Dir),
        ("build", Entry::Dir),
        ("build/out.txt", Entry::File(500)),
        ("node_modules", Entry::Dir),
        ("link.txt", Entry::Link(format!("{HOME}/.bashrc"))),
        ("dangling", Entry::Link(format!("{P}/gone"))),
        ("~/.bashrc", Entry::File(3000)),
        ("~/notes.txt", Entry::File(100)),
        ("~/Documents", Entry::Dir),
        ("~/Documents/thesis.tex", Entry::File(90_000)),
        ("~/data", Entry::Dir),
        ("/tmp/scratch.txt", Entry::File(10)),
        ("/dev/null", Entry::Device),
        ("/dev/sda", Entry::Device),
    ] {
        add(p, e);
    }
    Disk {
        paths,
        asked: Mutex::new(Vec::new()),
    }
}

/// git holds exactly these paths in a pushed commit; a manifest holds `manifest`.
struct Backups {
    git: Vec<String>,
    manifest: Vec<String>,
}

impl BackupOracle for Backups {
    fn status(&self, t: &Target, _: &str, _: u64) -> Backup {
        if self.git.contains(&t.value) {
            return Backup {
                status: BackupStatus::Covered,
                git: Some(GitSource {
                    repo: P.into(),
                    path: t.value.trim_start_matches(&format!("{P}/")).into(),
                    commit: "0123456789abcdef0123456789abcdef01234567".into(),
                    branch: "origin/main".into(),
                    remote: "origin".into(),
                    url: None,
                }),
                ..Backup::default()
            };
        }
        if self.manifest.contains(&t.value) {
            return Backup {
                status: BackupStatus::Covered,
                manifest: Some("20260101-abcdef".into()),
                ..Backup::default()
            };
        }
        Backup::default()
    }
}

fn decide_with(
    line: &str,
    dialect: Dialect,
    facts: &dyn FileFacts,
    backups: &dyn BackupOracle,
    files: &dyn FileReader,
) -> Evaluation {
    let ctx = Context {
        dialect,
        cwd: Some(P),
        home: Some(HOME),
        backups,
        files,
        facts,
    };
    Engine::builtin()
        .evaluate(line, &ctx)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn decide(line: &str, dialect: Dialect) -> Evaluation {
    decide_with(line, dialect, &disk(), &NoBackups, &backstop_rules::NoFiles)
}

fn ids(e: &Evaluation) -> Vec<&str> {
    e.findings.iter().map(|f| f.id.as_str()).collect()
}

/// Each overwrite form, in each dialect that has it, over a precious existing file
/// (`~/notes.txt`: directly in the home directory) and over a small scratch file in
/// the project (`notes.txt`), onto an empty one, a missing one, and appending.
struct Form {
    dialect: Dialect,
    rule: &'static str,
    /// `{}` stands for the file written over.
    line: &'static str,
}

const FORMS: &[Form] = &[
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: "echo hi > {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: "echo hi >| {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: "make &> {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: ": > {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: "> {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.redirect-overwrite",
        line: "cc x.c 2> {}",
    },
    Form {
        dialect: Dialect::Zsh,
        rule: "fs.redirect-overwrite",
        line: "echo hi > {}",
    },
    Form {
        dialect: Dialect::Zsh,
        rule: "fs.redirect-overwrite",
        line: "echo hi >| {}",
    },
    Form {
        dialect: Dialect::Fish,
        rule: "fs.redirect-overwrite",
        line: "echo hi > {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "fs.redirect-overwrite",
        line: "'hi' > {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "fs.redirect-overwrite",
        line: "Get-Process *> {}",
    },
    Form {
        dialect: Dialect::Cmd,
        rule: "fs.redirect-overwrite",
        line: "echo hi > {}",
    },
    Form {
        dialect: Dialect::Cmd,
        rule: "fs.redirect-overwrite",
        line: "dir 2> {}",
    },
    Form {
        dialect: Dialect::Nu,
        rule: "fs.redirect-overwrite",
        line: "echo hi o> {}",
    },
    Form {
        dialect: Dialect::Nu,
        rule: "fs.nu-save-force",
        line: "'hi' | save -f {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.cp-over",
        line: "cp draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.cp-over",
        line: "cp -f draft.txt {}",
    },
    Form {
        dialect: Dialect::Nu,
        rule: "fs.cp-over",
        line: "cp draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.mv-over",
        line: "mv draft.txt {}",
    },
    Form {
        dialect: Dialect::Zsh,
        rule: "fs.mv-over",
        line: "mv -f draft.txt {}",
    },
    Form {
        dialect: Dialect::Nu,
        rule: "fs.mv-over",
        line: "mv draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.install-over",
        line: "install -m 644 draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.ln-force-over",
        line: "ln -sf draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.rsync-over",
        line: "rsync -a draft.txt {}",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.dd-over",
        line: "dd if=/dev/zero of={} bs=1 count=1",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.tar-create-over",
        line: "tar -czf {} docs",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.tar-create-over",
        line: "tar cf {} docs",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.sort-output-over",
        line: "sort -o {} draft.txt",
    },
    Form {
        dialect: Dialect::Bash,
        rule: "fs.tee-over",
        line: "echo hi | tee {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.set-content",
        line: "Set-Content {} 'hi'",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.set-content",
        line: "Set-Content -Path {} -Value hi",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.out-file",
        line: "Get-Process | Out-File {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.out-file",
        line: "Get-Process | Out-File -FilePath {} -Force",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.copy-item-over",
        line: "Copy-Item draft.txt {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.copy-item-over",
        line: "cp draft.txt {}",
    },
    Form {
        dialect: Dialect::PowerShell,
        rule: "windows.move-item-over",
        line: "Move-Item draft.txt {} -Force",
    },
];

fn line(form: &Form, file: &str) -> String {
    form.line.replace("{}", file)
}

#[test]
fn writing_over_a_precious_existing_file_needs_a_backup() {
    for form in FORMS {
        let l = line(form, "~/notes.txt");
        let e = decide(&l, form.dialect);
        assert_eq!(
            e.decision,
            Decision::Deny,
            "{l} ({:?}): {:#?}",
            form.dialect,
            e.findings
        );
        let f = e
            .findings
            .iter()
            .find(|f| f.id == form.rule)
            .unwrap_or_else(|| panic!("{l} ({:?}): {:?}", form.dialect, ids(&e)));
        assert_eq!(f.targets[0].value, "/home/u/notes.txt", "{l}");
        assert_eq!(f.targets[0].backup.status, BackupStatus::Missing, "{l}");
    }
}

#[test]
fn writing_over_a_small_scratch_file_is_ordinary() {
    for form in FORMS {
        let l = line(form, "notes.txt");
        let e = decide(&l, form.dialect);
        assert_eq!(
            e.decision,
            Decision::Allow,
            "{l} ({:?}): {:#?}",
            form.dialect,
            e.findings
        );
        let f = e.findings.iter().find(|f| f.id == form.rule);
        let t = f
            .and_then(|f| f.targets.first())
            .unwrap_or_else(|| panic!("{l} ({:?}): {:?}", form.dialect, ids(&e)));
        assert_eq!(t.backup.status, BackupStatus::NotRequired, "{l}");
        assert!(
            t.backup
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("not precious")),
            "{l}: {t:?}"
        );
    }
}

#[test]
fn writing_a_new_or_empty_file_destroys_nothing() {
    for form in FORMS {
        for file in [
            "new.txt",
            "empty.txt",
            "dangling",
            "/tmp/scratch.txt",
            "build/out.txt",
        ] {
            let l = line(form, file);
            let e = decide(&l, form.dialect);
            assert!(
                !ids(&e).contains(&form.rule),
                "{l} ({:?}): {:#?}",
                form.dialect,
                e.findings
            );
            assert_eq!(e.decision, Decision::Allow, "{l}: {:?}", ids(&e));
        }
    }
}

#[test]
fn appending_destroys_nothing() {
    for (l, dialect) in [
        ("echo hi >> ~/notes.txt", Dialect::Bash),
        ("echo hi &>> ~/notes.txt", Dialect::Bash),
        ("echo hi >> ~/notes.txt", Dialect::Fish),
        ("echo hi >? ~/notes.txt", Dialect::Fish),
        ("'hi' >> ~/notes.txt", Dialect::PowerShell),
        ("echo hi >> ~/notes.txt", Dialect::Cmd),
        ("echo hi o>> ~/notes.txt", Dialect::Nu),
        ("'hi' | save -a -f ~/notes.txt", Dialect::Nu),
        ("echo hi | tee -a ~/notes.txt", Dialect::Bash),
        ("Add-Content ~/notes.txt 'hi'", Dialect::PowerShell),
        (
            "Get-Process | Out-File ~/notes.txt -Append",
            Dialect::PowerShell,
        ),
        (
            "Get-Process | Out-File ~/notes.txt -NoClobber",
            Dialect::PowerShell,
        ),
        ("cp -n draft.txt ~/notes.txt", Dialect::Bash),
        ("mv -b draft.txt ~/notes.txt", Dialect::Bash),
        ("Move-Item draft.txt ~/notes.txt", Dialect::PowerShell),
        (
            "dd if=x of=~/notes.txt oflag=append conv=notrunc",
            Dialect::Bash,
        ),
        ("ls > /dev/null 2>&1", Dialect::Bash),
    ] {
        let e = decide(l, dialect);
        assert_eq!(
            e.decision,
            Decision::Allow,
            "{l} ({dialect:?}): {:#?}",
            e.findings
        );
    }
}

#[test]
fn precious_files_are_precious_when_written_over() {
    for l in [
        "echo x > ~/.bashrc",
        "echo x > .env",
        "echo x > app.db",
        "cat /dev/zero | head -c 10 > big.bin",
        "echo x > ~/Documents/thesis.tex",
        "cp ~/tmp/thesis.tex ~/Documents",
        "sudo sh -c 'echo x > notes.txt'",
        // Through a link, what is written over is the file the link points at.
        "echo x > link.txt",
    ] {
        let e = decide(l, Dialect::Bash);
        assert_eq!(e.decision, Decision::Deny, "{l}: {:#?}", e.findings);
    }
}

#[test]
fn a_copy_into_a_directory_writes_over_the_file_of_the_same_name() {
    let e = decide("cp ~/draft.txt docs/", Dialect::Bash);
    let f = e
        .findings
        .iter()
        .find(|f| f.id == "fs.cp-over")
        .expect("cp-over");
    assert_eq!(f.targets[0].value, "/home/u/p/docs/draft.txt");
    // A file of that name not there yet: nothing is written over.
    let e = decide("cp notes.txt docs/", Dialect::Bash);
    assert!(!ids(&e).contains(&"fs.cp-over"), "{:?}", ids(&e));
    let e = decide("cp -t docs ~/draft.txt notes.txt", Dialect::Bash);
    let f = e
        .findings
        .iter()
        .find(|f| f.id == "fs.cp-over")
        .expect("cp-over");
    assert_eq!(f.targets.len(), 1);
    assert_eq!(f.targets[0].value, "/home/u/p/docs/draft.txt");
}

#[test]
fn a_file_git_or_a_manifest_holds_may_be_written_over_with_a_note() {
    let backups = Backups {
        git: vec![format!("{HOME}/notes.txt")],
        manifest: vec![format!("{HOME}/.bashrc")],
    };
    let e = decide_with(
        "echo hi > ~/notes.txt",
        Dialect::Bash,
        &disk(),
        &backups,
        &backstop_rules::NoFiles,
    );
    assert_eq!(e.decision, Decision::Allow, "{:#?}", e.findings);
    let t = &e.findings[0].targets[0];
    assert_eq!(t.backup.status, BackupStatus::Covered);
    let git = t
        .backup
        .git
        .as_ref()
        .expect("git says where it comes back from");
    assert!(
        git.describe().contains("on origin/main"),
        "{}",
        git.describe()
    );
    let e = decide_with(
        "cp draft.txt ~/.bashrc",
        Dialect::Bash,
        &disk(),
        &backups,
        &backstop_rules::NoFiles,
    );
    assert_eq!(e.decision, Decision::Allow, "{:#?}", e.findings);
    assert_eq!(
        e.findings[0].targets[0].backup.manifest.as_deref(),
        Some("20260101-abcdef")
    );
}

#[test]
fn overwrite_rules_look_only_at_files_that_exist() {
    // With no filesystem to ask (`scan`, or facts that cannot be told), nothing is
    // known to exist, so nothing is written over.
    let e = decide_with(
        "echo hi > ~/notes.txt",
        Dialect::Bash,
        &NoFacts,
        &NoBackups,
        &backstop_rules::NoFiles,
    );
    assert_eq!(e.decision, Decision::Allow, "{:#?}", e.findings);
    // A name the line does not settle is not looked at.
    for l in [
        "echo hi > \"$LOG\"",
        "echo hi > *.txt",
        "ssh host 'echo hi > ~/notes.txt'",
    ] {
        let e = decide(l, Dialect::Bash);
        assert!(
            !ids(&e).contains(&"fs.redirect-overwrite"),
            "{l}: {:?}",
            ids(&e)
        );
    }
}

#[test]
fn one_stat_per_path() {
    let d = disk();
    decide_with(
        "echo a > notes.txt; cp draft.txt notes.txt; echo b > notes.txt",
        Dialect::Bash,
        &d,
        &NoBackups,
        &backstop_rules::NoFiles,
    );
    let asked = d.asked.lock().expect("not poisoned").clone();
    let mut seen = std::collections::HashSet::new();
    for p in &asked {
        // One `lstat` and at most one `stat` through links.
        assert!(
            seen.insert(p.clone()) || asked.iter().filter(|q| *q == p).count() <= 2,
            "{asked:?}"
        );
    }
    assert!(
        asked.iter().filter(|p| p.ends_with("/notes.txt")).count() <= 2,
        "{asked:?}"
    );
}

// ------------------------------------------------------------- paths that do not exist

/// Regression: `rm -rf ~/projects` with no `~/projects` was denied, with a remedy
/// (`backstop backup ~/projects`) that then failed.
#[test]
fn deleting_a_path_that_does_not_exist_destroys_nothing() {
    for (l, dialect) in [
        ("rm -rf ~/projects", Dialect::Bash),
        ("rm -rf ~/projects ~/old", Dialect::Bash),
        ("rm -f missing.o missing.txt", Dialect::Bash),
        ("sudo rm -rf /home/u/gone", Dialect::Bash),
        ("echo $(rm -rf ~/projects)", Dialect::Bash),
        ("rm -rf ~/projects", Dialect::Zsh),
        ("rm -rf ~/projects", Dialect::Fish),
        ("rm -r ~/projects", Dialect::Nu),
        ("Remove-Item -Recurse ~/projects", Dialect::PowerShell),
        ("rd /s /q gone", Dialect::Cmd),
        ("find ~/projects -delete", Dialect::Bash),
        ("shred -u gone.txt", Dialect::Bash),
        ("truncate -s 0 gone.log", Dialect::Bash),
        ("cd ~ && rm -rf projects", Dialect::Bash),
    ] {
        let e = decide(l, dialect);
        assert_eq!(
            e.decision,
            Decision::Allow,
            "{l} ({dialect:?}): {:#?}",
            e.findings
        );
        for t in e.findings.iter().flat_map(|f| &f.targets) {
            assert_eq!(t.backup.status, BackupStatus::NotRequired, "{l}: {t:?}");
        }
    }
    // The explanation says why.
    let e = decide("rm -rf ~/projects", Dialect::Bash);
    assert_eq!(
        e.findings[0].targets[0].backup.detail.as_deref(),
        Some("absent: nothing is there to destroy")
    );
    // One that exists is still refused, beside one that does not.
    for l in ["rm -rf ~/data", "rm -rf ~/projects ~/data", "rm -rf data"] {
        assert_eq!(decide(l, Dialect::Bash).decision, Decision::Deny, "{l}");
    }
}

#[test]
fn what_cannot_be_looked_at_counts_as_existing() {
    for l in [
        "rm -rf ~/projects/*",
        "rm -rf \"$DIR\"",
        "rm -rf ~/projects/$(date +%F)",
        "ssh host rm -rf ~/projects",
        "wsl rm -rf /home/u/projects",
        "docker run -v /srv:/srv alpine rm -rf /srv/gone",
        "xargs rm -rf < list.txt",
        // A job that runs later finds what is there then.
        "echo 'rm -rf /home/u/gone' | at now + 1 hour",
        "echo '0 3 * * * rm -rf /home/u/gone' | crontab -",
        "systemd-run --on-calendar=daily rm -rf /home/u/gone",
    ] {
        let e = decide(l, Dialect::Bash);
        assert_ne!(e.decision, Decision::Allow, "{l}: {:#?}", e.findings);
    }
    // `scan` and `check --assume-exists` have no facts to tell absence by.
    let e = decide_with(
        "rm -rf ~/projects",
        Dialect::Bash,
        &NoFacts,
        &NoBackups,
        &backstop_rules::NoFiles,
    );
    assert_eq!(e.decision, Decision::Deny);
}

#[test]
fn a_path_an_earlier_command_could_create_counts_as_existing() {
    for l in [
        "mv ~/data ~/x && rm -rf ~/x",
        "mv ~/data ~/x; rm -rf ~/x/data",
        "mkdir -p ~/x/y && rm -rf ~/x",
        "cp -r ~/data ~/x && rm -rf ~/x",
        "git clone https://example.com/x.git ~/x && rm -rf ~/x",
        "cd ~ && git clone https://example.com/a/x.git && rm -rf x",
        "tar -xf a.tar -C ~ && rm -rf ~/x",
        "echo hi > ~/x && rm ~/x",
        "ln -s ~/data ~/x && rm -rf ~/x/",
        "cargo run && rm -rf ~/x",
        "./setup.sh; rm -rf ~/x",
        "bash -c 'mv ~/data ~/x; rm -rf ~/x'",
        "curl -o ~/x https://example.com/x && rm ~/x",
        "touch ~/x && shred -u ~/x",
    ] {
        let e = decide(l, Dialect::Bash);
        assert_eq!(e.decision, Decision::Deny, "{l}: {:#?}", e.findings);
    }
    for l in [
        "ls ~ && rm -rf ~/x",
        "echo cleaning; rm -rf ~/x",
        "mkdir -p ~/y && rm -rf ~/x",
        "rm -rf ~/x && mkdir ~/x",
        "test -d ~/x && rm -rf ~/x",
        "git status && rm -rf ~/x",
    ] {
        let e = decide(l, Dialect::Bash);
        assert_eq!(e.decision, Decision::Allow, "{l}: {:#?}", e.findings);
    }
}

/// Files by absolute path.
struct Scripts(HashMap<String, String>);

impl FileReader for Scripts {
    fn read_small(&self, path: &str, _: u64) -> Option<String> {
        self.0.get(path).cloned()
    }

    fn read_text(&self, path: &str, _: u64) -> FileText {
        self.0
            .get(path)
            .map_or(FileText::Missing, |t| FileText::Text(t.clone()))
    }
}

#[test]
fn a_script_is_decided_line_by_line_as_typed() {
    let scripts = Scripts(
        [
            ("clean.sh", "#!/bin/sh\nrm -f config.h config.mk stamp\nrm -rf ~/projects\necho done > stamp\n"),
            ("configure", "#!/bin/sh\nrm -f conftest conftest.c\necho 'int main(){}' > conftest.c\ncc -o conftest conftest.c\nrm -f conftest conftest.c\necho '#define X 1' > config.h\n"),
            ("moves.sh", "#!/bin/sh\nmv ~/data ~/x\nrm -rf ~/x\n"),
            ("wipe.sh", "#!/bin/sh\nrm -rf ~/data\n"),
            ("over.sh", "#!/bin/sh\necho x > ~/notes.txt\n"),
            ("scratch.sh", "#!/bin/sh\necho x > notes.txt\nrm draft.txt\n"),
        ]
        .into_iter()
        .map(|(n, t)| (format!("{P}/{n}"), t.to_string()))
        .collect(),
    );
    let run = |l: &str| decide_with(l, Dialect::Bash, &disk(), &NoBackups, &scripts);
    for l in ["sh clean.sh", "sh configure", "bash scratch.sh"] {
        let e = run(l);
        assert_eq!(e.decision, Decision::Allow, "{l}: {:#?}", e.findings);
    }
    for l in ["sh moves.sh", "sh wipe.sh", "sh over.sh"] {
        let e = run(l);
        assert_eq!(e.decision, Decision::Deny, "{l}: {:#?}", e.findings);
    }
    // What the line did before the script counts too.
    let e = run("mv ~/data ~/projects; sh clean.sh");
    assert_eq!(e.decision, Decision::Deny, "{:#?}", e.findings);
}

// ------------------------------------------------------------- Windows paths

/// Regression: PowerShell and cmd paths written `.\build` were not normalised into
/// `build`, and the regenerable places (`node_modules`, `build` …) did not apply to
/// `rd /s`, `Remove-Item` or nushell's `rm` as they do to `rm -rf`.
#[test]
fn windows_paths_are_normalised_and_regenerable_places_apply() {
    for (l, dialect) in [
        ("Remove-Item -Recurse -Force .\\build", Dialect::PowerShell),
        (
            "Remove-Item -Recurse -Force .\\node_modules",
            Dialect::PowerShell,
        ),
        ("rm -r -fo C:\\src\\app\\node_modules", Dialect::PowerShell),
        ("Remove-Item -Recurse build\\..\\dist", Dialect::PowerShell),
        ("rd /s /q .\\build", Dialect::Cmd),
        ("rd /s /q node_modules", Dialect::Cmd),
        ("rmdir /s /q C:\\src\\app\\target", Dialect::Cmd),
        ("rm -r node_modules", Dialect::Nu),
        ("rm -rf build", Dialect::Nu),
    ] {
        let e = decide(l, dialect);
        assert!(
            e.findings.is_empty(),
            "{l} ({dialect:?}): {:#?}",
            e.findings
        );
    }
    let e = decide("Remove-Item -Recurse .\\data", Dialect::PowerShell);
    assert_eq!(e.findings[0].targets[0].value, "/home/u/p/data");
    assert_eq!(e.decision, Decision::Deny);
    let e = decide("rd /s /q ..\\p\\data", Dialect::Cmd);
    assert_eq!(e.findings[0].targets[0].value, "/home/u/p/data");
    // A parent reached through `..` is not excepted by the name it passed through.
    let e = decide(
        "Remove-Item -Recurse $env:TEMP\\..\\data",
        Dialect::PowerShell,
    );
    assert_eq!(e.decision, Decision::Deny);
    let e = decide("rd /s /q C:\\src\\node_modules\\..\\data", Dialect::Cmd);
    assert_eq!(e.decision, Decision::Deny);
}

// ------------------------------------------------------------- the other false positives

/// Regression: `kubectl delete pod NAME` was asked about, although pods hold no data
/// and a controller starts new ones.
#[test]
fn deleting_pods_is_not_destruction() {
    for l in [
        "kubectl delete pod web-1",
        "kubectl -n shop delete pods -l app=web",
        "kubectl delete pod/web-1 pod/web-2",
        "oc delete po web-1",
    ] {
        let e = decide(l, Dialect::Bash);
        assert!(e.findings.is_empty(), "{l}: {:?}", ids(&e));
    }
    for l in [
        "kubectl delete pod,pvc data-db-0",
        "kubectl delete pod/web-1 pvc/data-web-1",
        "kubectl delete namespace pod",
        "kubectl delete -f pods.yaml",
    ] {
        let e = decide(l, Dialect::Bash);
        assert!(ids(&e).contains(&"services.kubectl-delete"), "{l}");
    }
}

/// Regression: `zfs destroy tank/x` named no target.
#[test]
fn zfs_destroy_names_its_dataset() {
    let e = decide("zfs destroy -r tank/home/old", Dialect::Bash);
    let f = &e.findings[0];
    assert_eq!(f.id, "disks.zfs-destroy");
    assert_eq!(f.targets.len(), 1, "{f:#?}");
    assert_eq!(f.targets[0].value, "tank/home/old");
    let e = decide("zpool destroy tank", Dialect::Bash);
    assert_eq!(e.findings[0].targets[0].value, "tank");
}
