//! Remote copies through the real restic (0.14) and rclone (1.60): a local restic
//! repository, a REST repository served by `rclone serve restic`, an rclone remote
//! served by `rclone serve sftp`, each server started on 127.0.0.1 on a port of its
//! own and stopped after the test. Without restic or rclone these tests say
//! SKIPPED, unless `BACKSTOP_REQUIRE_SERVICES` is set (scripts/test.sh sets it).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn required() -> bool {
    std::env::var_os("BACKSTOP_REQUIRE_SERVICES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Are restic and rclone here? Missing, the test skips (or fails when required).
pub(crate) fn tools() -> bool {
    for tool in ["restic", "rclone"] {
        let found = Command::new(tool)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                !required(),
                "{tool} is required (BACKSTOP_REQUIRE_SERVICES) but not installed; scripts/test.sh installs it"
            );
            eprintln!("SKIPPED: no {tool} (scripts/test.sh installs it)");
            return false;
        }
    }
    true
}

/// A private world for one test: BACKSTOP_HOME (tmpfs copies counted), the
/// environment restic and rclone read, and a tree to back up outside /tmp.
pub(crate) struct World {
    pub(crate) home: tempfile::TempDir,
    pub(crate) scratch: tempfile::TempDir,
    pub(crate) src: tempfile::TempDir,
    pub(crate) env: Vec<(String, String)>,
}

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl World {
    pub(crate) fn new() -> World {
        let home = tempfile::tempdir().expect("tmp");
        crate::count_tmpfs(home.path());
        let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
        let rclone_config = scratch.path().join("rclone.conf");
        std::fs::write(&rclone_config, "").expect("rclone.conf");
        // Outside /tmp and target/, which the rules except.
        let src = tempfile::tempdir_in(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
            .expect("tmp");
        let root = src.path().join("data");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("notes.txt"), b"hello world").expect("write");
        std::fs::write(root.join("sub/big.bin"), pseudo_random(3 << 20, 7)).expect("write");
        let env = vec![
            ("RESTIC_PASSWORD".into(), "correct horse".into()),
            (
                "XDG_CACHE_HOME".into(),
                scratch.path().join("cache").display().to_string(),
            ),
            ("RCLONE_CONFIG".into(), rclone_config.display().to_string()),
            (
                "RCLONE_CACHE_DIR".into(),
                scratch.path().join("rclone-cache").display().to_string(),
            ),
        ];
        World {
            home,
            scratch,
            src,
            env,
        }
    }

    pub(crate) fn target(&self) -> PathBuf {
        self.src.path().join("data")
    }

    pub(crate) fn target_str(&self) -> String {
        self.target().display().to_string()
    }

    pub(crate) fn dir(&self, name: &str) -> String {
        let d = self.scratch.path().join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        d.display().to_string()
    }

    pub(crate) fn with(mut self, k: &str, v: &str) -> World {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub(crate) fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("BACKSTOP_HOME", self.home.path())
            .env("HOME", "/home/tester")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Out {
        let out = self
            .cmd(env!("CARGO_BIN_EXE_backstop"))
            .args(args)
            .output()
            .expect("run backstop");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        assert_eq!(o.code, 0, "backstop {args:?}\n{}\n{}", o.stdout, o.stderr);
        o
    }

    pub(crate) fn manifests(&self) -> Vec<serde_json::Value> {
        let o = self.ok(&["manifests", "--json"]);
        serde_json::from_str::<serde_json::Value>(&o.stdout)
            .expect("json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `check` of deleting the target: its decision and the target's backup status.
    fn check_rm(&self) -> (String, String, String) {
        let line = format!("rm -rf {}", self.target_str());
        let o = self.run(&["check", "--json", "--", &line]);
        let v: serde_json::Value = serde_json::from_str(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {} {}", o.stdout, o.stderr));
        (
            v["decision"].as_str().unwrap_or_default().to_string(),
            v["targets"][0]["backup"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["targets"][0]["backup"]["detail"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    pub(crate) fn restic(&self, repo: &str, args: &[&str]) -> std::process::Output {
        self.cmd("restic")
            .args(["-r", repo])
            .args(args)
            .output()
            .expect("restic")
    }

    pub(crate) fn set_config(&self, text: &str) {
        std::fs::write(self.home.path().join("config.toml"), text).expect("config.toml");
    }
}

/// Bytes that do not compress, so a copy cannot be much smaller than its source.
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub(crate) fn files_in(dir: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A server on 127.0.0.1, on a port of its own, stopped when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    /// `rclone serve KIND --addr 127.0.0.1:0 ARGS…`: rclone takes a free port itself
    /// (a port chosen here and handed over could be taken meanwhile by another test's
    /// server) and says which in its log; up once it accepts connections there.
    pub(crate) fn rclone(w: &World, kind: &str, args: &[&str]) -> Server {
        let log_path = w.scratch.path().join(format!("serve-{kind}.log"));
        let log = std::fs::File::create(&log_path).expect("log");
        let child = w
            .cmd("rclone")
            .args(["serve", kind, "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rclone serve");
        let mut s = Server { child, port: 0 };
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(port) = text.split("127.0.0.1:").skip(1).find_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u16>().ok().filter(|p| *p != 0)
            }) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    s.port = port;
                    return s;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "rclone serve {kind} did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An sftp server over `dir`, and the rclone remote `nas` pointing at it.
pub(crate) fn sftp(w: World, dir: &str) -> (World, Server) {
    let server = Server::rclone(&w, "sftp", &["--user", "backstop", "--pass", "s3cret", dir]);
    let obscured = w
        .cmd("rclone")
        .args(["obscure", "s3cret"])
        .output()
        .expect("obscure");
    let pass = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    let port = server.port.to_string();
    let w = w
        .with("RCLONE_CONFIG_NAS_TYPE", "sftp")
        .with("RCLONE_CONFIG_NAS_HOST", "127.0.0.1")
        .with("RCLONE_CONFIG_NAS_PORT", &port)
        .with("RCLONE_CONFIG_NAS_USER", "backstop")
        .with("RCLONE_CONFIG_NAS_PASS", &pass)
        .with("RCLONE_CONFIG_NAS_SHELL_TYPE", "unix");
    (w, server)
}

#[test]
fn a_local_restic_repository_holds_a_copy_proven_checked_and_cleaned() {
    if !tools() {
        return;
    }
    let w = World::new();
    let repo = w.dir("repo");
    let init = w.restic(&repo, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let shm = shm.path().display().to_string();
    let target = w.target_str();
    let o = w.ok(&[
        "backup",
        &target,
        "--to",
        &shm,
        "--to",
        &format!("restic:{repo}"),
    ]);
    assert!(o.stdout.contains("snapshot"), "{}", o.stdout);
    let m = &w.manifests()[0];
    let id = m["id"].as_str().expect("id").to_string();
    let c = &m["copies"][1];
    assert_eq!(c["kind"], "restic");
    assert_eq!(c["location"], format!("restic:{repo}"));
    let snap = c["snapshot"].as_str().expect("snapshot");
    assert_eq!(snap.len(), 64, "the full snapshot id: {snap}");
    assert!(c["proven"].as_u64().is_some());
    // No password is ever recorded.
    assert!(!serde_json::to_string(m)
        .expect("json")
        .contains("correct horse"));
    // restic itself holds the snapshot, tagged, as one file.
    let listed = w.restic(&repo, &["snapshots", "--json", "--tag", "backstop"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(snap));

    assert_eq!(w.check_rm().0, "ask");
    let o = w.ok(&["verify", &id]);
    assert!(o.stdout.contains("1 remote copy read back"), "{}", o.stdout);
    w.ok(&["restore-test", &id]);
    let o = w.ok(&["manifests"]);
    assert!(
        o.stdout.contains("space used per destination"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains(&format!("restic:{repo}")), "{}", o.stdout);
    let o = w.ok(&["cleanup", &id]);
    assert!(o.stdout.contains("freed"), "{}", o.stdout);
    let listed = w.restic(&repo, &["snapshots", "--json"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
    assert!(files_in(&shm).is_empty(), "{:?}", files_in(&shm));
}

#[test]
fn a_rest_repository_over_loopback_and_what_goes_wrong_with_it() {
    if !tools() {
        return;
    }
    let w = World::new();
    let served = w.dir("rest-server");
    let mut server = Server::rclone(&w, "restic", &[&served]);
    let repo = format!("rest:http://127.0.0.1:{}/", server.port);
    let init = w.restic(&repo, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let local = shm.path().display().to_string();
    let target = w.target_str();
    let args = [
        "backup",
        &target,
        "--to",
        &local,
        "--to",
        &format!("restic:{repo}"),
    ];

    // A wrong password: refused before anything is written.
    let wrong = World {
        env: w.env.clone(),
        ..World::new()
    }
    .with("RESTIC_PASSWORD", "wrong");
    let o = wrong.run(&args);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert!(o.stderr.contains("wrong password"), "{}", o.stderr);
    assert!(wrong.manifests().is_empty());
    assert!(files_in(&local).is_empty(), "{:?}", files_in(&local));
    // No password at all: backstop says how to give one, and restic never reads the stream as one.
    let none = World {
        env: w
            .env
            .iter()
            .filter(|(k, _)| k != "RESTIC_PASSWORD")
            .cloned()
            .collect(),
        ..World::new()
    };
    let o = none.run(&args);
    assert_eq!(o.code, 3);
    assert!(o.stderr.contains("RESTIC_PASSWORD_FILE"), "{}", o.stderr);

    let o = w.ok(&args);
    assert!(
        o.stdout.contains("every copy re-read and verified"),
        "{}",
        o.stdout
    );
    let id = w.manifests()[0]["id"].as_str().expect("id").to_string();
    assert_eq!(w.check_rm().0, "ask");

    // The server goes away: check never asks the network, and trusts the last proof…
    server.stop();
    assert_eq!(w.check_rm().0, "ask");
    // …until verify finds the copy unreadable; then check trusts it no more.
    let o = w.run(&["verify", &id]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(o.stdout.contains("FAILED"), "{}", o.stdout);
    let (decision, status, detail) = w.check_rm();
    assert_eq!(
        (decision.as_str(), status.as_str()),
        ("deny", "corrupt"),
        "{detail}"
    );
    assert!(detail.contains("failed its last proof"), "{detail}");
}

#[test]
fn an_sftp_remote_holds_a_streamed_object_that_verify_and_check_watch() {
    if !tools() {
        return;
    }
    let served = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (w, _server) = sftp(World::new(), &served.path().display().to_string());
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let local = shm.path().display().to_string();
    let target = w.target_str();
    w.ok(&[
        "backup",
        &target,
        "--to",
        &local,
        "--to",
        "rclone:nas:backups",
    ]);
    let m = &w.manifests()[0];
    let id = m["id"].as_str().expect("id").to_string();
    assert_eq!(m["copies"][1]["kind"], "rclone");
    // The object is in place under its name, and no partial object is left.
    let dir = served.path().join("backups");
    let names = files_in(&dir.display().to_string());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(!names[0].starts_with(".backstop-partial"), "{names:?}");
    let object = dir.join(&names[0]);
    assert_eq!(
        std::fs::read(&object).expect("object"),
        std::fs::read(
            files_in(&local)
                .first()
                .map(|n| shm.path().join(n))
                .expect("local copy")
        )
        .expect("local copy")
    );
    w.ok(&["verify", &id]);

    // One byte altered on the server: verify fails, and check stops trusting it.
    let mut bytes = std::fs::read(&object).expect("read");
    bytes[1000] ^= 0xff;
    std::fs::write(&object, &bytes).expect("write");
    let o = w.run(&["verify", &id]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(o.stdout.contains("reads back as"), "{}", o.stdout);
    let (decision, status, detail) = w.check_rm();
    assert_eq!(
        (decision.as_str(), status.as_str()),
        ("deny", "corrupt"),
        "{detail}"
    );

    // Deleted: verify says so too.
    std::fs::remove_file(&object).expect("rm");
    let o = w.run(&["verify", &id]);
    assert_eq!(o.code, 1, "{}", o.stdout);
}

#[test]
fn a_remote_that_keeps_sha256_is_proven_by_its_own_hash() {
    if !tools() {
        return;
    }
    // rclone's local backend offers SHA-256, as some clouds do.
    let w = World::new().with("RCLONE_CONFIG_DISK_TYPE", "local");
    let store = w.dir("store");
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let target = w.target_str();
    let dest = format!("rclone:disk:{store}");
    w.ok(&[
        "backup",
        &target,
        "--to",
        &shm.path().display().to_string(),
        "--to",
        &dest,
    ]);
    let id = w.manifests()[0]["id"].as_str().expect("id").to_string();
    w.ok(&["verify", &id]);
    let name = files_in(&store).pop().expect("object");
    let object = Path::new(&store).join(name);
    let mut bytes = std::fs::read(&object).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&object, &bytes).expect("write");
    let o = w.run(&["verify", &id]);
    assert_eq!(o.code, 1, "{}", o.stdout);
}

#[test]
fn a_server_stopped_in_the_middle_of_a_backup_leaves_no_manifest() {
    if !tools() {
        return;
    }
    let served = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (w, mut server) = sftp(World::new(), &served.path().display().to_string());
    // rclone uploads at 1 MiB/s, so the backup of 12 MiB is still going when the server stops.
    let w = w.with("RCLONE_BWLIMIT", "1M");
    std::fs::write(w.target().join("sub/more.bin"), pseudo_random(9 << 20, 3)).expect("write");
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let local = shm.path().display().to_string();
    let target = w.target_str();
    let mut backup = w
        .cmd(env!("CARGO_BIN_EXE_backstop"))
        .args([
            "backup",
            &target,
            "--to",
            &local,
            "--to",
            "rclone:nas:backups",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("backup");
    // Stopped once the upload is under way: the partial object is on the server.
    let partial_dir = served.path().join("backups");
    let start = Instant::now();
    while !files_in(&partial_dir.display().to_string())
        .iter()
        .any(|n| n.starts_with(".backstop-partial"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the upload never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = backup.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the backup hangs"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = backup.wait_with_output().expect("output");
    assert_eq!(
        status.code(),
        Some(3),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(w.manifests().is_empty());
    assert!(files_in(&local).is_empty(), "{:?}", files_in(&local));
    let dir = served.path().join("backups").display().to_string();
    assert!(
        files_in(&dir)
            .iter()
            .all(|n| n.starts_with(".backstop-partial")),
        "{:?}",
        files_in(&dir)
    );
}

#[test]
fn a_proof_older_than_the_window_is_renewed_by_verify() {
    if !tools() {
        return;
    }
    let w = World::new();
    w.set_config("[backup]\nvolatile_counts = true\nproof_window = \"5s\"\n");
    let repo = w.dir("repo");
    assert!(w.restic(&repo, &["init"]).status.success());
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let target = w.target_str();
    w.ok(&[
        "backup",
        &target,
        "--to",
        &shm.path().display().to_string(),
        "--to",
        &format!("restic:{repo}"),
    ]);
    let id = w.manifests()[0]["id"].as_str().expect("id").to_string();
    assert_eq!(w.check_rm().0, "ask");
    std::thread::sleep(Duration::from_secs(6));
    let (decision, status, detail) = w.check_rm();
    assert_eq!(
        (decision.as_str(), status.as_str()),
        ("deny", "stale"),
        "{detail}"
    );
    assert!(
        detail.contains("last proven") && detail.contains("backstop verify"),
        "{detail}"
    );
    w.ok(&["verify", &id]);
    assert_eq!(w.check_rm().0, "ask");
}

#[test]
fn a_destination_without_room_is_refused_before_anything_is_written() {
    if !tools() {
        return;
    }
    let served = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let (w, _server) = sftp(World::new(), &served.path().display().to_string());
    let shm = tempfile::tempdir_in("/dev/shm").expect("shm");
    let local = shm.path().display().to_string();
    let target = w.target_str();
    // The remote reports its free space (`rclone about`): too little for 100 TiB to remain.
    w.set_config("[backup]\nvolatile_counts = true\nmin_free = \"100 TiB\"\n");
    let o = w.run(&[
        "backup",
        &target,
        "--to",
        "rclone:nas:backups",
        "--to",
        &local,
    ]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert!(
        o.stderr.contains("rclone:nas:backups has") && o.stderr.contains("min_free"),
        "{}",
        o.stderr
    );
    assert!(files_in(&local).is_empty());
    assert!(files_in(&served.path().join("backups").display().to_string()).is_empty());
    // Room enough once the setting allows it.
    w.set_config("[backup]\nvolatile_counts = true\nmin_free = \"1 MiB\"\n");
    w.ok(&[
        "backup",
        &target,
        "--to",
        "rclone:nas:backups",
        "--to",
        &local,
    ]);
}
