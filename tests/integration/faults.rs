//! Faults: backstop killed with SIGKILL at random moments, and run twice at once.
//!
//! Each operation is first run unkilled to measure it; each round then starts it
//! again and kills it after a delay drawn uniformly over that time, and checks the
//! invariants docs/faults.md lists. The delays come from a seeded generator: the
//! seed is printed, and `BACKSTOP_FAULT_SEED=N` replays a run. `BACKSTOP_FAULT_ROUNDS`
//! (default 50) and `BACKSTOP_FAULT_KIB` (the data backed up, default 256) are what
//! `scripts/soak-faults.sh` raises.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: enough to spread kill delays, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn new(what: &str) -> Rng {
        let seed = std::env::var("BACKSTOP_FAULT_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{what}: fault seed {seed} (BACKSTOP_FAULT_SEED={seed} replays it)");
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A delay drawn uniformly from [0, max].
    fn delay(&mut self, max: Duration) -> Duration {
        let us = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % (us + 1))
    }
}

fn rounds() -> u64 {
    env_num("BACKSTOP_FAULT_ROUNDS", 50)
}

/// A BACKSTOP_HOME, a source tree outside /tmp (which the rules except), and two
/// destinations on different filesystems (the second on /dev/shm).
struct Fixture {
    home: tempfile::TempDir,
    /// Parent of the source; the fake HOME of agents and shells.
    user: tempfile::TempDir,
    src: PathBuf,
    d1: tempfile::TempDir,
    d2: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let home = tempfile::tempdir().expect("tmp");
        crate::count_tmpfs(home.path());
        let base = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let user = tempfile::tempdir_in(base).expect("tmp in HOME");
        let src = user.path().join("photos");
        let kib = env_num("BACKSTOP_FAULT_KIB", 256) as usize;
        let mut rng = Rng(0x5eed);
        for i in 0..16 {
            let dir = src.join(format!("d{}", i % 4));
            std::fs::create_dir_all(&dir).expect("mkdir");
            let bytes: Vec<u8> = (0..kib * 1024 / 16).map(|_| rng.next() as u8).collect();
            std::fs::write(dir.join(format!("f{i}.bin")), bytes).expect("write");
        }
        Fixture {
            home,
            user,
            src,
            d1: tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp"),
            d2: tempfile::tempdir_in("/dev/shm").expect("a tmpfs at /dev/shm"),
        }
    }

    fn data(&self) -> PathBuf {
        self.home.path().join("data")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_backstop"));
        c.args(args)
            .env("BACKSTOP_HOME", self.home.path())
            .env("HOME", self.user.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn backup_args(&self) -> Vec<String> {
        [
            "backup",
            self.src.to_str().expect("utf-8"),
            "--to",
            self.d1.path().to_str().expect("utf-8"),
            "--to",
            self.d2.path().to_str().expect("utf-8"),
        ]
        .map(String::from)
        .to_vec()
    }

    /// Run to the end; the output.
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run backstop")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "backstop {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A fresh, verified backup: its id.
    fn backup(&self) -> String {
        let args = self.backup_args();
        let out = self.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        out.split_whitespace()
            .skip_while(|w| *w != "as")
            .nth(1)
            .expect("the id")
            .to_string()
    }

    /// How long an unkilled run takes (the slowest of three, so that most delays
    /// land inside the work rather than after it).
    fn measure(&self, args: &[&str], before: &dyn Fn()) -> Duration {
        (0..3)
            .map(|_| {
                before();
                let t = Instant::now();
                let out = self.run(args);
                assert!(
                    out.status.success(),
                    "{args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                t.elapsed()
            })
            .max()
            .unwrap_or_default()
    }

    /// Start `args` and SIGKILL it after `delay`: whether it had finished first.
    fn killed(&self, args: &[&str], delay: Duration) -> bool {
        let child = self.cmd(args).spawn().expect("spawn backstop");
        kill_after(child, delay)
    }

    fn manifests(&self) -> Vec<(PathBuf, Vec<u8>, Value)> {
        json_files(&self.data().join("manifests"))
    }

    /// Files in the destinations that no manifest names.
    fn unclaimed(&self) -> Vec<PathBuf> {
        let named: HashSet<PathBuf> = self
            .manifests()
            .iter()
            .flat_map(|(_, _, m)| copies(m))
            .map(|(p, _, _)| p)
            .collect();
        let mut out = Vec::new();
        for d in [self.d1.path(), self.d2.path()] {
            for e in std::fs::read_dir(d).expect("read dest").flatten() {
                let p = std::fs::canonicalize(e.path()).unwrap_or(e.path());
                if !named.contains(&p) && !named.contains(&e.path()) {
                    out.push(e.path());
                }
            }
        }
        out
    }

    fn running(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.data().join("running"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// `check` on a line that destroys the source: what it says of the backup.
    fn check_status(&self) -> String {
        let line = format!("rm -rf {}", self.src.display());
        let out = self.run(&["check", "--json", "--", &line]);
        let code = out.status.code().unwrap_or(-1);
        assert!(
            matches!(code, 0..=2),
            "check exited {code}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("check --json");
        v["targets"][0]["backup"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The sweep every command runs first, through the cheapest of them.
    fn sweep(&self) -> String {
        let out = self.run(&["cleanup", "--older-than", "3650days"]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn kill_after(mut child: Child, delay: Duration) -> bool {
    let end = Instant::now() + delay;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(2)));
    }
    // SIGKILL: no handler runs, nothing is cleaned up.
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Every `*.json` in `dir`, each parsed: a half-written one fails the test here.
fn json_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>, Value)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let bytes = match std::fs::read(&p) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", p.display()),
            };
            let v = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{} is half-written: {e}", p.display()));
            out.push((p, bytes, v));
        }
    }
    out
}

/// A manifest's local copies: path, size, SHA-256.
fn copies(m: &Value) -> Vec<(PathBuf, u64, String)> {
    m["copies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                PathBuf::from(c["path"].as_str().expect("path")),
                c["size"].as_u64().expect("size"),
                c["sha256"].as_str().expect("sha256").to_string(),
            )
        })
        .collect()
}

/// Every copy the manifest names is there, of its size and SHA-256.
fn assert_verifies(m: &Value) {
    for (path, size, sha) in copies(m) {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("manifest {} names {}: {e}", m["id"], path.display()));
        assert_eq!(bytes.len() as u64, size, "{}", path.display());
        assert_eq!(
            backstop_backup::copy::hex(&Sha256::digest(&bytes)),
            sha,
            "{}",
            path.display()
        );
    }
}

#[derive(Default)]
struct Tally {
    rounds: u64,
    finished: u64,
    swept: u64,
}

impl Tally {
    fn report(&self, what: &str, seed_note: &str) {
        eprintln!(
            "{what}: {} rounds, {} killed before the end, {} finished first; {} leftovers swept {seed_note}",
            self.rounds,
            self.rounds - self.finished,
            self.finished,
            self.swept
        );
    }
}

/// backup, killed: a manifest exists only for copies that verify; `check` never calls
/// a half-made backup covered; the next run sweeps every partial and unclaimed copy.
#[test]
fn backup_killed_at_random_leaves_no_lie_and_nothing_behind() {
    let f = Fixture::new();
    let mut rng = Rng::new("backup");
    let args = f.backup_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let full = f.measure(&args, &|| {});
    let mut t = Tally::default();
    let mut seen: HashSet<String> = f
        .manifests()
        .iter()
        .map(|(_, _, m)| m["id"].to_string())
        .collect();
    for (_, _, m) in f.manifests() {
        assert_verifies(&m);
    }
    // The measured runs' backups are removed so the rounds start from nothing.
    let clean = |f: &Fixture| {
        for (p, _, m) in f.manifests() {
            for (c, _, _) in copies(&m) {
                let _ = std::fs::remove_file(c);
            }
            std::fs::remove_file(p).expect("remove manifest");
        }
    };
    clean(&f);
    seen.clear();
    for _ in 0..rounds() {
        t.rounds += 1;
        t.finished += u64::from(f.killed(&args, rng.delay(full)));
        let ms = f.manifests();
        for (_, _, m) in &ms {
            if seen.insert(m["id"].to_string()) {
                assert_verifies(m);
            }
        }
        let status = f.check_status();
        if ms.is_empty() {
            assert_ne!(status, "covered", "covered with no manifest");
        } else {
            assert_eq!(status, "covered", "a verified manifest exists");
        }
        let before = f.unclaimed().len();
        let said = f.sweep();
        let left = f.unclaimed();
        assert!(left.is_empty(), "not swept: {left:?}\n{said}");
        assert!(f.running().is_empty(), "records left: {:?}", f.running());
        t.swept += before as u64;
        if ms.len() > 8 {
            clean(&f);
            seen.clear();
        }
    }
    t.report("backup", "");
}

/// restore, killed: the place is either absent or the whole tree; the manifest is
/// untouched; the staging directory is swept.
#[test]
fn restore_killed_at_random_never_leaves_half_a_tree() {
    let f = Fixture::new();
    let mut rng = Rng::new("restore");
    let id = f.backup();
    let manifest = f.manifests()[0].1.clone();
    let out = f.user.path().join("restored");
    std::fs::create_dir_all(&out).expect("mkdir");
    let place = out.join("photos");
    let place_s = place.display().to_string();
    let args = ["restore", id.as_str(), "--to", place_s.as_str()];
    let reset = || {
        let _ = std::fs::remove_dir_all(&place);
    };
    let full = f.measure(&args, &reset);
    let expected = tree_digest(&f.src);
    let mut t = Tally::default();
    for _ in 0..rounds() {
        reset();
        t.rounds += 1;
        t.finished += u64::from(f.killed(&args, rng.delay(full)));
        if place.exists() {
            assert_eq!(tree_digest(&place), expected, "a half-restored tree");
        }
        assert_eq!(f.manifests()[0].1, manifest, "the manifest changed");
        let left = |dir: &Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .expect("read")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".backstop-"))
                .collect()
        };
        t.swept += left(&out).len() as u64;
        f.sweep();
        assert_eq!(left(&out), Vec::<String>::new(), "staging not swept");
        assert!(f.running().is_empty(), "records left: {:?}", f.running());
    }
    t.report("restore", "");
}

/// Every file under `root`, relative, with its SHA-256.
fn tree_digest(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read");
            (
                e.path()
                    .strip_prefix(root)
                    .expect("under root")
                    .to_path_buf(),
                backstop_backup::copy::hex(&Sha256::digest(&bytes)),
            )
        })
        .collect();
    out.sort();
    out
}

/// restore-test, killed: the manifest is the old or the new one, byte for byte; its
/// scratch directory is swept.
#[test]
fn restore_test_killed_at_random_keeps_the_manifest_whole() {
    let f = Fixture::new();
    let mut rng = Rng::new("restore-test");
    let id = f.backup();
    let old = f.manifests()[0].1.clone();
    let args = ["restore-test", id.as_str()];
    let path = f.manifests()[0].0.clone();
    let reset = || std::fs::write(&path, &old).expect("reset manifest");
    let full = f.measure(&args, &reset);
    reset();
    let new = {
        f.ok(&args);
        std::fs::read(&path).expect("read")
    };
    let mut t = Tally::default();
    for _ in 0..rounds() {
        reset();
        t.rounds += 1;
        t.finished += u64::from(f.killed(&args, rng.delay(full)));
        let now = std::fs::read(&path).expect("the manifest is there");
        // restore_tested holds the time: equal to `new` apart from it.
        let v: Value = serde_json::from_slice(&now).expect("whole JSON");
        if now != old {
            assert_eq!(v["restore_test"], "passed");
            assert_eq!(now.len(), new.len(), "a new manifest of another length");
        }
        assert_verifies(&v);
        t.swept += f.unclaimed().len() as u64;
        f.sweep();
        assert_eq!(f.unclaimed(), Vec::<PathBuf>::new(), "scratch not swept");
        assert!(f.running().is_empty(), "records left: {:?}", f.running());
    }
    t.report("restore-test", "");
}

/// cleanup, killed: the manifest is in force with every copy whole, or gone with its
/// record in cleaned/; copies it no longer claims are swept.
#[test]
fn cleanup_killed_at_random_never_leaves_a_manifest_without_its_copies() {
    let f = Fixture::new();
    let mut rng = Rng::new("cleanup");
    let prepare = || {
        let id = f.backup();
        f.ok(&["restore-test", &id]);
        id
    };
    let mut full = Duration::ZERO;
    for _ in 0..3 {
        let id = prepare();
        let t = Instant::now();
        f.ok(&["cleanup", &id]);
        full = full.max(t.elapsed());
    }
    let mut t = Tally::default();
    for _ in 0..rounds() {
        let id = prepare();
        t.rounds += 1;
        t.finished += u64::from(f.killed(&["cleanup", &id], rng.delay(full)));
        for (_, _, m) in f.manifests() {
            assert_verifies(&m);
        }
        let in_force = f.manifests().iter().any(|(_, _, m)| m["id"] == id.as_str());
        let cleaned = json_files(&f.data().join("cleaned"))
            .iter()
            .any(|(_, _, m)| m["id"] == id.as_str());
        assert!(in_force || cleaned, "{id}: neither in force nor cleaned");
        t.swept += f.unclaimed().len() as u64;
        f.sweep();
        assert_eq!(f.unclaimed(), Vec::<PathBuf>::new(), "copies not swept");
        assert!(f.running().is_empty(), "records left: {:?}", f.running());
        if in_force {
            f.ok(&["cleanup", &id]);
        }
    }
    t.report("cleanup", "");
}

/// install and uninstall, killed: the profile or settings file holds the old content
/// or the new, byte for byte, and so does the copy of what it replaced.
#[test]
fn install_killed_at_random_never_half_writes_a_profile_or_settings() {
    let f = Fixture::new();
    let mut rng = Rng::new("install");
    let cases: [(&str, &str, &str); 2] = [
        (
            "bash",
            ".bashrc",
            "# my bashrc\nalias ll='ls -l'\nexport EDITOR=vi",
        ),
        (
            "claude",
            ".claude/settings.json",
            "{\n  // mine\n  \"model\": \"opus\",\n  \"hooks\": {}\n}\n",
        ),
    ];
    for (what, rel, original) in cases {
        let file = f.user.path().join(rel);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        let file_s = file.display().to_string();
        let mut install = vec!["install", what, "--profile", file_s.as_str()];
        let mut uninstall = vec!["uninstall", what, "--profile", file_s.as_str()];
        if what == "bash" {
            install.push("--no-completions");
            uninstall.push("--no-completions");
        }
        let bak = backstop_backup::atomic::backup_path(&file);
        let reset = |text: &str| {
            std::fs::write(&file, text).expect("write");
            let _ = std::fs::remove_file(&bak);
        };
        reset(original);
        f.ok(&install);
        let installed = std::fs::read_to_string(&file).expect("read");
        assert_ne!(installed, original);
        // What an unkilled uninstall leaves (an emptied `hooks` table goes too).
        f.ok(&uninstall);
        let uninstalled = std::fs::read_to_string(&file).expect("read");
        let full_in = f.measure(&install, &|| reset(original));
        let full_out = f.measure(&uninstall, &|| reset(&installed));
        let mut t = Tally::default();
        for round in 0..rounds() {
            let (args, from, to, full) = if round % 2 == 0 {
                (&install, original, installed.as_str(), full_in)
            } else {
                (
                    &uninstall,
                    installed.as_str(),
                    uninstalled.as_str(),
                    full_out,
                )
            };
            reset(from);
            t.rounds += 1;
            t.finished += u64::from(f.killed(args, rng.delay(full)));
            let now = std::fs::read_to_string(&file).expect("the file is there");
            assert!(now == from || now == to, "{what}: half-written:\n{now}");
            if let Ok(kept) = std::fs::read_to_string(&bak) {
                assert_eq!(kept, from, "{what}: the kept copy is not what was replaced");
            }
            let strays: Vec<_> = std::fs::read_dir(file.parent().expect("parent"))
                .expect("read")
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".backstop-new-")
                })
                .map(|e| e.path())
                .collect();
            t.swept += strays.len() as u64;
            for s in strays {
                let _ = std::fs::remove_file(s);
            }
        }
        eprintln!(
            "install/uninstall {what}: {} rounds, {} killed before the end; {} temporary files left by kills",
            t.rounds,
            t.rounds - t.finished,
            t.swept
        );
    }
}

/// The audit append, killed: the chain verifies, or `audit verify` names exactly the
/// one record that was cut.
#[test]
fn audit_append_killed_at_random_keeps_the_chain() {
    let f = Fixture::new();
    let mut rng = Rng::new("audit");
    let input = serde_json::json!({
        "session_id": "fault",
        "transcript_path": "/dev/null",
        "cwd": "/",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": format!("rm -rf {}", f.src.display())},
    })
    .to_string();
    let run = |delay: Option<Duration>| -> bool {
        let mut child = f
            .cmd(&["agent-hook", "claude"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn");
        {
            use std::io::Write as _;
            let mut pipe = child.stdin.take().expect("stdin");
            let _ = pipe.write_all(input.as_bytes());
        }
        match delay {
            Some(d) => kill_after(child, d),
            None => child.wait().expect("wait").success(),
        }
    };
    let t0 = Instant::now();
    for _ in 0..3 {
        assert!(run(None));
    }
    let full = t0.elapsed() / 3;
    let log = f.data().join("audit.jsonl");
    let mut t = Tally::default();
    for _ in 0..rounds() {
        t.rounds += 1;
        t.finished += u64::from(run(Some(rng.delay(full))));
        let out = f.run(&["audit", "verify"]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let problems: Vec<&str> = said.lines().filter(|l| l.contains("line ")).collect();
            assert_eq!(problems.len(), 1, "{said}");
            assert!(problems[0].contains("was cut short"), "{said}");
        }
    }
    // The log goes on: one more append, and every record parses but a cut one.
    assert!(run(None));
    let text = std::fs::read_to_string(&log).expect("log");
    let records = text
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count();
    assert!(records as u64 > 3, "{records} records");
    t.report("audit append", "");
}

/// Leftovers of a killed run planted by hand, and of an older backstop that kept no
/// record: swept by the next backup, verify or cleanup, and each said on stderr; a
/// person's own files with similar names are not touched.
#[test]
fn planted_leftovers_are_swept_and_a_persons_files_are_not() {
    let f = Fixture::new();
    let id = f.backup();
    let d1 = f.d1.path();
    // An older backstop's partial file and scratch directory, a day and a half old.
    let old = std::time::SystemTime::now() - Duration::from_secs(36 * 3600);
    let partial = d1.join(".backstop-partial-Ab12Cd");
    std::fs::write(&partial, b"half a copy").expect("write");
    std::fs::File::options()
        .write(true)
        .open(&partial)
        .expect("open")
        .set_modified(old)
        .expect("mtime");
    let scratch = d1.join(".backstop-restore-Zz99Yy");
    std::fs::create_dir(&scratch).expect("mkdir");
    std::fs::write(scratch.join("restored.tar"), b"x").expect("write");
    std::fs::File::open(&scratch)
        .expect("open")
        .set_modified(old)
        .expect("mtime");
    // A fresh one is let be: it may be a run in progress on another machine.
    let fresh = d1.join(".backstop-partial-Fr3sh1");
    std::fs::write(&fresh, b"being written").expect("write");
    // A person's files.
    let mine = [
        d1.join("notes.txt"),
        d1.join("backstop-partial-notes"),
        d1.join(".backstop-partialnotes"),
    ];
    for m in &mine {
        std::fs::write(m, b"mine").expect("write");
        std::fs::File::options()
            .write(true)
            .open(m)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
    }
    // A complete copy an older backstop made and never recorded, two days old.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("now")
        .as_secs()
        - 2 * 86_400;
    let stray = d1.join(format!("photos-bk-{secs}-0badc0de.tar"));
    std::fs::write(&stray, b"whole").expect("write");
    // A record a killed run left: its partial copy and scratch directory.
    let running = f.data().join("running");
    std::fs::create_dir_all(&running).expect("mkdir");
    let killed_partial = d1.join(".backstop-partial-x-bk-1-00000001.tar.Qq1");
    let killed_copy = f.d2.path().join("x-bk-1-00000001.tar");
    std::fs::write(&killed_partial, b"half").expect("write");
    std::fs::write(&killed_copy, b"whole, never recorded").expect("write");
    std::fs::write(
        running.join("backup-1-1-000000001.json"),
        serde_json::json!({
            "command": "backup", "pid": 1, "started": 1,
            "manifest": f.data().join("manifests/bk-1-00000001.json"),
            "items": [
                {"kind": "scratch", "dir": d1, "prefix": ".backstop-partial-x-bk-1-00000001.tar."},
                {"kind": "copy", "path": killed_copy},
            ],
        })
        .to_string(),
    )
    .expect("write record");
    let out = f.run(&["verify", &id]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    for gone in [&partial, &scratch, &killed_partial, &killed_copy] {
        assert!(!gone.exists(), "{} not swept:\n{said}", gone.display());
        assert!(
            said.contains(&format!("swept: removed {}", gone.display())),
            "not said: {}\n{said}",
            gone.display()
        );
    }
    for kept in mine.iter().chain([&fresh, &stray]) {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    assert!(
        said.contains(&format!("swept: kept {}", stray.display())),
        "the unrecorded copy is named: {said}"
    );
    assert!(f.running().is_empty(), "{:?}", f.running());
    // Settable: with orphan_after shorter than its age, the fresh one goes too.
    std::fs::write(
        f.home.path().join("config.toml"),
        "[backup]\nvolatile_counts = true\norphan_after = \"0s\"\n",
    )
    .expect("config");
    std::thread::sleep(Duration::from_millis(1100));
    let out = f.run(&["cleanup", "--older-than", "3650days"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!fresh.exists());
    assert!(mine.iter().all(|m| m.exists()));
}

/// A live run's files are not swept by another run at the same time.
#[test]
fn a_sweep_leaves_a_running_backup_alone() {
    let f = Fixture::new();
    let mut j = backstop_backup::journal::Journal::begin(&f.data(), "backup", None).expect("j");
    let partial =
        f.d1.path()
            .join(".backstop-partial-y-bk-2-00000002.tar.Ab1");
    j.add(backstop_backup::journal::Item::Scratch {
        dir: f.d1.path().to_path_buf(),
        prefix: ".backstop-partial-y-bk-2-00000002.tar.".into(),
    })
    .expect("add");
    std::fs::write(&partial, b"being written").expect("write");
    f.sweep();
    assert!(partial.exists(), "a live run's partial file was swept");
    drop(j.abandon());
    f.sweep();
    assert!(!partial.exists());
}

/// Two backups of one target into the same destinations at once: both succeed, every
/// manifest verifies, and nothing unclaimed is left.
#[test]
fn two_backups_at_once_both_succeed_and_verify() {
    let f = Fixture::new();
    let args = f.backup_args();
    for _ in 0..5 {
        let a = f
            .cmd(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let b = f
            .cmd(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (ra, rb) = (
            a.wait_with_output().expect("wait"),
            b.wait_with_output().expect("wait"),
        );
        for r in [&ra, &rb] {
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            assert!(
                !String::from_utf8_lossy(&r.stderr).contains("swept"),
                "one swept the other's files: {}",
                String::from_utf8_lossy(&r.stderr)
            );
        }
    }
    let ms = f.manifests();
    assert_eq!(ms.len(), 10);
    for (_, _, m) in &ms {
        assert_verifies(m);
    }
    assert_eq!(f.unclaimed(), Vec::<PathBuf>::new());
    assert!(f.running().is_empty());
}

/// `cleanup` while `check` reads the manifests: check never fails, and says covered
/// only while a manifest whose copies verify is in force.
#[test]
fn check_during_cleanup_never_errs_and_decides_consistently() {
    let f = Fixture::new();
    for _ in 0..5 {
        let id = f.backup();
        f.ok(&["restore-test", &id]);
        let cleaner = f.cmd(&["cleanup", &id]).spawn().expect("spawn");
        let mut seen = Vec::new();
        let mut cleaner = Some(cleaner);
        for _ in 0..40 {
            seen.push(f.check_status());
            if let Some(c) = cleaner.as_mut() {
                if c.try_wait().expect("wait").is_some() {
                    cleaner = None;
                    seen.push(f.check_status());
                    break;
                }
            }
        }
        if let Some(mut c) = cleaner {
            assert!(c.wait().expect("wait").success());
        }
        // Covered, then not: never back again once the backup is gone.
        let first_not = seen.iter().position(|s| s != "covered");
        if let Some(i) = first_not {
            assert!(
                seen[i..].iter().all(|s| s != "covered"),
                "covered again after not: {seen:?}"
            );
        }
        assert_ne!(f.check_status(), "covered");
        assert!(f.manifests().is_empty());
    }
}

/// restore-test of a PostgreSQL backup, killed while its scratch database exists: the
/// next run's sweep runs the recipe's cleanup and drops it (real PostgreSQL).
#[test]
fn a_killed_restore_tests_scratch_database_is_dropped_by_the_next_run() {
    let Some(pg) = crate::pg::PgServer::start() else {
        return;
    };
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql(
        "shop",
        "CREATE TABLE orders(id serial PRIMARY KEY, total int); INSERT INTO orders(total) SELECT g FROM generate_series(1, 2000) g;",
    );
    let h = crate::recipes::Home::new().with(pg.env());
    let r = h.backup("postgres:shop");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = h.manifests()[0]["id"].as_str().expect("id").to_string();
    let scratch_dbs = || {
        pg.psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE datname LIKE 'backstop_restore%'",
        )
    };
    let t = Instant::now();
    h.ok(&["restore-test", &id]);
    let full = t.elapsed();
    let mut rng = Rng::new("restore-test postgres");
    let (mut left, mut rounds) = (0, 0);
    while left < 2 && rounds < 40 {
        rounds += 1;
        let child = h
            .command(&["restore-test", &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        kill_after(child, rng.delay(full));
        // Its programs may outlive it by a moment (createdb, pg_restore).
        std::thread::sleep(Duration::from_millis(200));
        if scratch_dbs().is_empty() {
            continue;
        }
        left += 1;
        let r = h.ok(&["verify", &id]);
        assert!(
            r.stderr
                .contains("swept: removed postgres scratch backstop_restore_"),
            "{}",
            r.stderr
        );
        assert_eq!(scratch_dbs(), "", "the scratch database is still there");
    }
    eprintln!("restore-test postgres: {rounds} rounds, {left} left a scratch database, each dropped by the next run");
    assert!(
        left > 0,
        "no kill in {rounds} rounds left a scratch database"
    );
}

/// Is any process still running with `needle` on its command line? (A killed
/// backstop's restic or rclone child finishing what it had.)
fn running_with(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(needle))
}

/// backup to rclone (its local backend) and restic, killed at random: every manifest
/// verifies through the remotes, and the sweep removes the partial and unclaimed
/// objects and snapshots the killed runs' records name (real rclone and restic).
#[test]
fn a_backup_to_remotes_killed_at_random_leaves_nothing_unclaimed_there() {
    if !crate::remote::tools() {
        return;
    }
    let w = crate::remote::World::new().with("RCLONE_CONFIG_DISK_TYPE", "local");
    let store = w.dir("store");
    let repo = w.dir("repo");
    assert!(w.restic(&repo, &["init"]).status.success());
    let target = w.target_str();
    let (rclone, restic) = (format!("rclone:disk:{store}"), format!("restic:{repo}"));
    let args = ["backup", &target, "--to", &rclone, "--to", &restic];
    let t = Instant::now();
    w.ok(&args);
    let full = t.elapsed();
    let mut rng = Rng::new("backup to remotes");
    let mut seen: HashSet<String> = HashSet::new();
    let n = (rounds() / 10).max(5);
    let mut tally = Tally::default();
    let mut retries = 0;
    for _ in 0..n {
        tally.rounds += 1;
        let child = w
            .cmd(env!("CARGO_BIN_EXE_backstop"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        tally.finished += u64::from(kill_after(child, rng.delay(full)));
        let waited = Instant::now();
        while (running_with(&store) || running_with(&repo)) && waited.elapsed().as_secs() < 20 {
            std::thread::sleep(Duration::from_millis(50));
        }
        let ms = w.manifests();
        for m in &ms {
            let id = m["id"].as_str().expect("id").to_string();
            if seen.insert(id.clone()) {
                w.ok(&["verify", &id]);
            }
        }
        let objects: HashSet<String> = ms
            .iter()
            .flat_map(|m| m["copies"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["object"].as_str().map(str::to_string))
            .map(|o| o.rsplit(['/', ':']).next().unwrap_or_default().to_string())
            .collect();
        let unclaimed = || -> Vec<String> {
            let mut out: Vec<String> = crate::remote::files_in(&store)
                .into_iter()
                .filter(|f| !objects.contains(f))
                .collect();
            let snaps = w.restic(&repo, &["snapshots", "--json", "--tag", "backstop"]);
            let snaps: Value = serde_json::from_slice(&snaps.stdout).expect("restic snapshots");
            out.extend(
                snaps
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["paths"][0].as_str())
                    .filter(|p| !objects.contains(p.trim_start_matches('/')))
                    .map(|p| format!("restic {p}")),
            );
            out
        };
        // A killed run's restic may hold its repository lock a moment after it exits
        // (until it is reaped): the sweep then fails, keeps the record, and the next
        // run tries again. Swept within a few runs is the promise.
        let mut said = String::new();
        for attempt in 0.. {
            let sweep = w.ok(&["cleanup", "--older-than", "3650days"]);
            tally.swept += sweep.stderr.matches("swept: removed").count() as u64;
            said.push_str(&sweep.stderr);
            let left = unclaimed();
            if left.is_empty() {
                retries += attempt;
                break;
            }
            assert!(
                attempt < 20,
                "not swept after {attempt} runs: {left:?}\n{said}"
            );
            assert!(
                said.contains("swept: failed"),
                "left without a word: {left:?}\n{said}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    eprintln!("backup to rclone and restic: {retries} sweeps retried (restic lock held)");
    tally.report("backup to rclone and restic", "");
}

/// `restore --json` lists what its sweep removed.
#[test]
fn restore_json_lists_what_was_swept() {
    let f = Fixture::new();
    let id = f.backup();
    let mut j = backstop_backup::journal::Journal::begin(&f.data(), "backup", None).expect("j");
    let partial =
        f.d1.path()
            .join(".backstop-partial-z-bk-3-00000003.tar.Cd3");
    j.add(backstop_backup::journal::Item::Scratch {
        dir: f.d1.path().to_path_buf(),
        prefix: ".backstop-partial-z-bk-3-00000003.tar.".into(),
    })
    .expect("add");
    std::fs::write(&partial, b"half").expect("write");
    drop(j.abandon());
    let place = f.user.path().join("back");
    let out = f.run(&[
        "restore",
        &id,
        "--to",
        &place.display().to_string(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["swept"][0]["action"], "removed", "{v}");
    assert_eq!(v["swept"][0]["what"], partial.display().to_string());
    assert!(!partial.exists());
}
