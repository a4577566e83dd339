//! The backup recipes end to end, with the real tools: sqlite3 and a PostgreSQL
//! server started here; stand-ins for wsl.exe and reg.exe, which cannot run on Linux.
//! Each backup goes to a directory on the disk and one on /dev/shm (another
//! filesystem), and every refusal the issue lists is provoked for real.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pg::PgServer;
use crate::standins::{path_with_stand_ins, RegHome, WslHome};

/// A private BACKSTOP_HOME with two destinations on two filesystems.
pub(crate) struct Home {
    pub(crate) home: tempfile::TempDir,
    disk: tempfile::TempDir,
    shm: tempfile::TempDir,
    env: Vec<(String, String)>,
}

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Home {
    pub(crate) fn new() -> Home {
        let home = tempfile::tempdir().expect("tmp");
        crate::count_tmpfs(home.path());
        Home {
            home,
            disk: tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp"),
            shm: tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs here"),
            env: vec![("PATH".into(), path_with_stand_ins())],
        }
    }

    pub(crate) fn with(mut self, env: Vec<(String, String)>) -> Home {
        self.env.extend(env);
        self
    }

    fn policy(&self, name: &str, text: &str) {
        let dir = self.home.path().join("policies");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), text).expect("write policy");
    }

    /// backstop with this home and environment, to run or spawn.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_backstop"));
        c.args(args)
            .env("BACKSTOP_HOME", self.home.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Out {
        let out = self.command(args).output().expect("run backstop");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Out {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "backstop {args:?}\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    pub(crate) fn backup(&self, target: &str) -> Out {
        let (a, b) = self.dests();
        self.run(&["backup", target, "--to", &a, "--to", &b])
    }

    pub(crate) fn dests(&self) -> (String, String) {
        (
            self.disk.path().display().to_string(),
            self.shm.path().display().to_string(),
        )
    }

    pub(crate) fn manifests(&self) -> Vec<serde_json::Value> {
        self.ok(&["manifests", "--json"])
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn only_manifest(&self) -> serde_json::Value {
        let list = self.manifests();
        assert_eq!(list.len(), 1, "{list:?}");
        list[0].clone()
    }

    /// (decision, first database-ish target's backup status, remedy)
    pub(crate) fn check(&self, line: &str) -> (String, String, String) {
        let v = self.run(&["check", "--json", "--", line]).json();
        let t = v["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["kind"] != "table").cloned())
            .unwrap_or_default();
        (
            v["decision"].as_str().unwrap_or_default().into(),
            t["backup"]["status"].as_str().unwrap_or_default().into(),
            v["remedy"].as_str().unwrap_or_default().into(),
        )
    }

    /// `line` is denied for want of a backup, its remedy names `spec`; then
    /// `backup --for line` makes the one manifest, which this returns.
    pub(crate) fn denied_then_backed_up_for(&self, line: &str, spec: &str) -> serde_json::Value {
        let (decision, status, remedy) = self.check(line);
        assert_eq!((decision.as_str(), status.as_str()), ("deny", "missing"));
        assert!(
            remedy.starts_with(&format!("backstop backup {spec} --to")),
            "{remedy}"
        );
        let (a, b) = self.dests();
        self.ok(&["backup", "--for", line, "--to", &a, "--to", &b]);
        self.only_manifest()
    }

    /// `backstop backup TARGET` fails saying `says`, and leaves no manifest and no file.
    pub(crate) fn refused_and_kept_nothing(&self, target: &str, says: &str) {
        let r = self.backup(target);
        assert_eq!(r.code, 3, "{target}: {}", r.stdout);
        assert!(r.stderr.contains(says), "{target}: {}", r.stderr);
        assert!(self.manifests().is_empty(), "{target}");
        assert!(
            self.leftovers().is_empty(),
            "{target}: {:?}",
            self.leftovers()
        );
    }

    /// Every file in both destinations (scratch directories included).
    pub(crate) fn leftovers(&self) -> Vec<PathBuf> {
        [self.disk.path(), self.shm.path()]
            .iter()
            .flat_map(|d| walkdir::WalkDir::new(d).min_depth(1))
            .filter_map(|e| e.ok())
            .map(|e| e.path().to_path_buf())
            .collect()
    }
}

pub(crate) fn copies(m: &serde_json::Value) -> Vec<PathBuf> {
    m["copies"]
        .as_array()
        .expect("copies")
        .iter()
        .map(|c| PathBuf::from(c["path"].as_str().expect("path")))
        .collect()
}

pub(crate) fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn flip_byte(path: &Path, at: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open copy");
    let mut b = [0u8];
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.read_exact(&mut b).expect("read");
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.write_all(&[b[0] ^ 0x55]).expect("write");
}

#[test]
fn sqlite_backup_verify_restore_cleanup() {
    let h = Home::new();
    let data = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let db = data.path().join("shop.db");
    sqlite(&db, "PRAGMA journal_mode=WAL; CREATE TABLE orders(id INTEGER PRIMARY KEY, total INT); INSERT INTO orders(total) VALUES (10),(20),(30);");
    let line = format!("sqlite3 {} 'DROP TABLE orders'", db.display());

    let (decision, status, remedy) = h.check(&line);
    assert_eq!((decision.as_str(), status.as_str()), ("deny", "missing"));
    let canonical = std::fs::canonicalize(&db)
        .expect("canon")
        .display()
        .to_string();
    assert!(
        remedy.starts_with(&format!("backstop backup sqlite:{canonical} --to")),
        "{remedy}"
    );

    // `--for` backs up what the line would destroy: the database, not the table.
    let (a, b) = h.dests();
    let r = h.ok(&["backup", "--for", &line, "--to", &a, "--to", &b]);
    assert!(
        r.stdout.contains("every copy re-read and verified"),
        "{}",
        r.stdout
    );
    let m = h.only_manifest();
    assert_eq!(m["target"]["kind"], "sqlite");
    assert_eq!(m["target"]["value"], canonical);
    assert_eq!(m["restore_test"], "not-run");
    assert_eq!(m["recorded"], "table orders\n");
    let paths = copies(&m);
    // The copy is a consistent SQLite file that holds the data, with no WAL beside it.
    assert_eq!(sqlite(&paths[1], "SELECT sum(total) FROM orders"), "60");
    assert!(
        h.leftovers()
            .iter()
            .all(|p| !p.to_string_lossy().contains("scratch")),
        "{:?}",
        h.leftovers()
    );

    let (decision, status, _) = h.check(&line);
    assert_eq!((decision.as_str(), status.as_str()), ("ask", "covered"));

    let r = h.ok(&["restore-test", m["id"].as_str().expect("id")]);
    assert!(r.stdout.contains("restore test passed"), "{}", r.stdout);
    let m = h.only_manifest();
    assert_eq!(m["restore_test"], "passed");
    assert!(m["restore_tested"].as_u64().is_some());

    let r = h.ok(&["cleanup", m["id"].as_str().expect("id")]);
    assert!(r.stdout.contains("freed"), "{}", r.stdout);
    assert!(paths.iter().all(|p| !p.exists()), "copies remain");
    assert!(h.manifests().is_empty());
    let manifests_dir = h.home.path().join("data/manifests");
    assert_eq!(
        std::fs::read_dir(&manifests_dir).expect("ls").count(),
        0,
        "nothing left in {}",
        manifests_dir.display()
    );
    let cleaned = h.home.path().join(format!(
        "data/cleaned/{}.json",
        m["id"].as_str().expect("id")
    ));
    assert!(std::fs::read_to_string(cleaned)
        .expect("record kept")
        .contains("\"cleaned\""));
    assert_eq!(h.check(&line).0, "deny");
}

#[test]
fn sqlite_refusals_corrupt_foreign_and_changed() {
    let h = Home::new();
    let data = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let db = data.path().join("notes.db");
    let other = data.path().join("other.db");
    sqlite(
        &db,
        "CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES ('a');",
    );
    sqlite(&other, "CREATE TABLE x(t TEXT);");
    let line = format!("sqlite3 {} 'DELETE FROM notes'", db.display());
    assert_eq!(h.backup(&format!("sqlite:{}", db.display())).code, 0);
    assert_eq!(h.check(&line).1, "covered");
    // A backup of another database covers nothing here.
    assert_eq!(
        h.check(&format!("sqlite3 {} 'DELETE FROM x'", other.display()))
            .1,
        "missing"
    );

    let m = h.only_manifest();
    let paths = copies(&m);
    let id = m["id"].as_str().expect("id").to_string();

    // A hand-edited manifest: its second copy replaced by a non-SQLite file of the
    // same size, with the manifest's sizes and hashes made to match it.
    let manifest_path = h.home.path().join(format!("data/manifests/{id}.json"));
    let original = std::fs::read(&manifest_path).expect("manifest");
    let fake = vec![b'x'; std::fs::metadata(&paths[1]).expect("meta").len() as usize];
    let forged_copy = paths[1].with_extension("forged");
    std::fs::write(&forged_copy, &fake).expect("write");
    let sha = sha256_hex(&fake);
    let mut v: serde_json::Value = serde_json::from_slice(&original).expect("json");
    v["copies"][1]["path"] = forged_copy.display().to_string().into();
    v["copies"][1]["sha256"] = sha.into();
    std::fs::write(&manifest_path, serde_json::to_vec(&v).expect("json")).expect("write");
    let (decision, status, _) = h.check(&line);
    assert_eq!((decision.as_str(), status.as_str()), ("deny", "corrupt"));
    std::fs::write(&manifest_path, &original).expect("restore manifest");
    assert_eq!(h.check(&line).1, "covered");

    // One byte changed in a copy.
    flip_byte(&paths[0], 100);
    assert_eq!(h.check(&line).1, "corrupt");
    let r = h.run(&["verify", &id]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
    let r = h.run(&["restore-test", &id]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(h.only_manifest()["restore_test"], "failed");
    // A backup whose restore test failed is not deleted without the person's word.
    let r = h.run(&["cleanup", &id]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("restore-test"), "{}", r.stderr);
    let r = h.run(&["cleanup", &id, "--force"]);
    assert_eq!(
        r.code, 3,
        "no terminal here, so --force cannot be confirmed"
    );
    assert!(paths.iter().all(|p| p.exists()));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn postgres_backup_restore_test_compares_row_counts() {
    let Some(pg) = PgServer::start() else { return };
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql(
        "shop",
        "CREATE TABLE orders(id serial PRIMARY KEY, total int); INSERT INTO orders(total) SELECT g FROM generate_series(1, 250) g; CREATE SCHEMA audit; CREATE TABLE audit.log(t text); INSERT INTO audit.log VALUES ('x'), ('y');",
    );
    let h = Home::new().with(pg.env());
    let line = "psql -d shop -c 'DROP TABLE orders'";
    let m = h.denied_then_backed_up_for(line, "postgres:shop");
    assert_eq!(m["target"]["kind"], "postgres");
    assert_eq!(m["recorded"], "audit.log 2\npublic.orders 250\n");
    // The copies are pg_dump's custom format, which pg_restore can list.
    let list = Command::new(pg.bin("pg_restore"))
        .arg("--list")
        .arg(&copies(&m)[0])
        .output()
        .expect("pg_restore");
    assert!(String::from_utf8_lossy(&list.stdout).contains("TABLE public orders"));
    assert_eq!(h.check(line).1, "covered");
    // `dropdb shop` and `DROP DATABASE shop` are covered by the same backup.
    assert_eq!(h.check("dropdb shop").0, "ask");
    // A different database is not.
    assert_eq!(h.check("dropdb shop2").1, "missing");

    let id = m["id"].as_str().expect("id").to_string();
    let r = h.ok(&["restore-test", &id]);
    assert!(
        r.stdout.contains("matching what was recorded"),
        "{}",
        r.stdout
    );
    // The scratch database is gone again.
    let dbs = pg.psql("postgres", "SELECT datname FROM pg_database ORDER BY 1");
    assert!(!dbs.contains("backstop_restore"), "{dbs}");

    // The restore test really compares: a manifest whose recorded counts differ fails.
    let manifest_path = h.home.path().join(format!("data/manifests/{id}.json"));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("json");
    v["recorded"] = "audit.log 2\npublic.orders 251\n".into();
    std::fs::write(&manifest_path, serde_json::to_vec(&v).expect("json")).expect("write");
    let r = h.run(&["restore-test", &id]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("differs from what was recorded"),
        "{}",
        r.stdout
    );
    let dbs = pg.psql("postgres", "SELECT datname FROM pg_database ORDER BY 1");
    assert!(
        !dbs.contains("backstop_restore"),
        "a failed restore test still drops its scratch: {dbs}"
    );

    // pg_dump of a database that does not exist exits non-zero: nothing is kept.
    let before = h.manifests().len();
    let r = h.backup("postgres:no_such_db");
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("exited with") && r.stderr.contains("does not exist"),
        "{}",
        r.stderr
    );
    assert_eq!(h.manifests().len(), before);
    assert!(
        h.leftovers()
            .iter()
            .all(|p| !p.to_string_lossy().contains("no_such_db")),
        "{:?}",
        h.leftovers()
    );
}

#[test]
fn wsl_distribution_through_the_stand_in() {
    let wsl = WslHome::new();
    wsl.distro(
        "Ubuntu-24.04",
        &[
            ("etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\n"),
            ("home/me/work.txt", "precious"),
        ],
    );
    let h = Home::new().with(wsl.env());
    let line = "wsl --unregister Ubuntu-24.04";
    let (decision, status, remedy) = h.check(line);
    assert_eq!((decision.as_str(), status.as_str()), ("deny", "missing"));
    assert!(
        remedy.starts_with("backstop backup wsl:Ubuntu-24.04 --to"),
        "{remedy}"
    );
    h.ok(&[
        "backup",
        "wsl:Ubuntu-24.04",
        "--to",
        &h.dests().0,
        "--to",
        &h.dests().1,
    ]);
    assert_eq!(h.check(line).0, "ask");
    // Distribution names are case-insensitive on Windows.
    assert_eq!(h.check("wsl.exe --unregister ubuntu-24.04").0, "ask");
    let id = h.only_manifest()["id"].as_str().expect("id").to_string();
    let r = h.ok(&["restore-test", &id]);
    assert!(r.stdout.contains("restore test passed"), "{}", r.stdout);
    // The scratch distribution was imported, read and unregistered again.
    let distros = std::fs::read_dir(
        wsl.rootfs("x")
            .parent()
            .and_then(Path::parent)
            .expect("distros"),
    )
    .expect("ls")
    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
    .collect::<Vec<_>>();
    assert_eq!(distros, vec!["Ubuntu-24.04".to_string()]);

    // A distribution that does not exist: wsl exits non-zero, nothing is kept.
    let r = h.backup("wsl:Debian");
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("exited with"), "{}", r.stderr);
    assert_eq!(h.manifests().len(), 1);
}

#[test]
fn wsl_recipe_that_fails_or_writes_nothing_keeps_nothing() {
    let wsl = WslHome::new();
    wsl.distro("Ubuntu", &[("etc/os-release", "ID=ubuntu\n")]);
    for (knob, says) in [
        ("WSL_STANDIN_FAIL", "exited with"),
        ("WSL_STANDIN_EMPTY", "is empty"),
    ] {
        let h = Home::new()
            .with(wsl.env())
            .with(vec![(knob.into(), "1".into())]);
        h.refused_and_kept_nothing("wsl:Ubuntu", says);
    }
    // An export without etc/os-release is not a distribution backup.
    let broken = WslHome::new();
    broken.distro("Empty", &[("README", "no os-release here")]);
    let h = Home::new().with(broken.env());
    let r = h.backup("wsl:Empty");
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("tar -tf"), "{}", r.stderr);
    assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
}

#[test]
fn registry_key_through_the_stand_in() {
    let reg = RegHome::new();
    reg.key(
        "HKEY_CURRENT_USER\\Software\\Contoso",
        &["\"Theme\"=\"dark\""],
    );
    let h = Home::new().with(reg.env());
    let line = "reg delete 'HKCU\\Software\\Contoso' /f";
    let (decision, _, remedy) = h.check(line);
    assert_eq!(decision, "deny");
    assert!(remedy.contains("registry:"), "{remedy}");
    h.ok(&[
        "backup",
        "registry:HKCU\\Software\\Contoso",
        "--to",
        &h.dests().0,
        "--to",
        &h.dests().1,
    ]);
    let m = h.only_manifest();
    assert_eq!(m["target"]["value"], "HKCU\\Software\\Contoso");
    assert_eq!(h.check(line).0, "ask");
    let id = m["id"].as_str().expect("id").to_string();
    h.ok(&["restore-test", &id]);

    // A key that does not exist: reg exits 1 and nothing is kept.
    let r = h.backup("registry:HKCU\\Software\\Nobody");
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("unable to find"), "{}", r.stderr);
    // The export of another key, swapped in under this key's manifest, is refused.
    h.ok(&[
        "backup",
        "registry:HKCU\\Software\\Contoso",
        "--to",
        &h.dests().0,
        "--to",
        &h.dests().1,
    ]);
    reg.key("HKEY_CURRENT_USER\\Software\\Fabrikam", &["\"A\"=\"b\""]);
    let other = Home::new().with(reg.env());
    other.ok(&[
        "backup",
        "registry:HKCU\\Software\\Fabrikam",
        "--to",
        &other.dests().0,
        "--to",
        &other.dests().1,
    ]);
    let theirs = other.only_manifest();
    for m in h.manifests() {
        let path = h.home.path().join(format!(
            "data/manifests/{}.json",
            m["id"].as_str().expect("id")
        ));
        let mut v = m.clone();
        v["copies"] = theirs["copies"].clone();
        v["block_sha256"] = theirs["block_sha256"].clone();
        std::fs::write(path, serde_json::to_vec(&v).expect("json")).expect("write");
    }
    let (decision, status, _) = h.check(line);
    assert_eq!((decision.as_str(), status.as_str()), ("deny", "corrupt"));
}

/// A recipe a user adds in their own policy file, doing what it is told.
fn user_recipe(h: &Home, kind: &str, output: &str, run: &str) {
    h.policy(
        &format!("{kind}.toml"),
        &format!(
            "[[recipe]]\nkind = \"{kind}\"\ndescription = \"test\"\ncovers = \"{kind}-thing\"\nprograms = [\"*\"]\nextension = \"bin\"\noutput = \"{output}\"\nbackup = [{{ run = {run} }}]\n"
        ),
    );
}

#[test]
fn a_user_recipe_that_fails_or_is_empty_keeps_nothing() {
    for (output, run, says) in [
        ("file", r#"["false"]"#, "exited with"),
        ("file", r#"["touch", "{out}"]"#, "is empty"),
        ("file", r#"["true"]"#, "wrote no backup.bin"),
        ("stdout", r#"["true"]"#, "wrote nothing"),
        (
            "stdout",
            r#"["sh", "-c", "echo partial; exit 4"]"#,
            "exited with",
        ),
    ] {
        let h = Home::new();
        user_recipe(&h, "thing", output, run);
        h.refused_and_kept_nothing("thing:one", says);
    }
    // And one that works: a kind added without changing code.
    let h = Home::new();
    user_recipe(&h, "thing", "stdout", r#"["echo", "state of {target}"]"#);
    let r = h.backup("thing:one");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = h.only_manifest();
    assert_eq!(
        std::fs::read_to_string(&copies(&m)[1]).expect("copy"),
        "state of one\n"
    );
}

#[test]
fn a_bad_recipe_is_a_clear_error() {
    let h = Home::new();
    h.policy("bad.toml", "[[recipe]]\nkind = \"x\"\ndescription = \"d\"\ncovers = \"x\"\nextension = \"bin\"\nbackup = [{ run = [\"cat\", \"{taget}\"] }]\n");
    let r = h.backup("x:y");
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("bad.toml:1") && r.stderr.contains("did you mean `target`"),
        "{}",
        r.stderr
    );
    // A repository's .backstop/ cannot add programs to run.
    let h = Home::new();
    let repo = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(repo.path().join(".backstop")).expect("mkdir");
    std::fs::write(
        repo.path().join(".backstop/r.toml"),
        "[[recipe]]\nkind = \"x\"\ndescription = \"d\"\ncovers = \"x\"\nextension = \"bin\"\nbackup = [{ run = [\"true\"] }]\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args(["check", "rm", "-rf", "x"])
        .current_dir(repo.path())
        .env("BACKSTOP_HOME", h.home.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not define recipes"));
}

/// A destination that fills up: a 1 MiB tmpfs mounted for the test (as root). Where
/// mounting is not allowed, a real write error instead: the file-size limit
/// (`ulimit -f`, with SIGXFSZ ignored so the write fails with EFBIG).
#[test]
fn a_full_destination_keeps_nothing() {
    let h = Home::new();
    let src = tempfile::tempdir_in(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
        .expect("tmp");
    std::fs::write(src.path().join("big.bin"), vec![3u8; 3 << 20]).expect("write");
    let src = src.path().display().to_string();
    let mnt = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mnt.path())
        .stderr(std::process::Stdio::null())
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
    let (a, b) = h.dests();
    let (r, says) = if mounted {
        let full = mnt.path().display().to_string();
        // A path's size is known beforehand: refused before anything is written.
        let r = h.run(&["backup", &src, "--to", &a, "--to", &full]);
        assert_eq!(r.code, 3, "{}", r.stdout);
        assert!(r.stderr.contains("would leave less than"), "{}", r.stderr);
        assert_eq!(std::fs::read_dir(mnt.path()).expect("ls").count(), 0);
        // A dump's size is not: it fills the disk while it is written.
        std::fs::write(
            h.home.path().join("config.toml"),
            "[backup]\nvolatile_counts = true\nmin_free = 0\n",
        )
        .expect("config.toml");
        user_recipe(
            &h,
            "dump",
            "stdout",
            r#"["sh", "-c", "head -c 3000000 /dev/zero"]"#,
        );
        (
            h.run(&["backup", "dump:x", "--to", &a, "--to", &full]),
            "No space left on device",
        )
    } else {
        eprintln!(
            "cannot mount a small tmpfs here: simulating the full disk with a file-size limit"
        );
        let out = Command::new("sh")
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f 1024; exec \"$@\"",
                "sh",
                env!("CARGO_BIN_EXE_backstop"),
                "backup",
                &src,
                "--to",
                &a,
                "--to",
                &b,
            ])
            .env("BACKSTOP_HOME", h.home.path())
            .output()
            .expect("run");
        let r = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        (r, "File too large")
    };
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains(says), "{}", r.stderr);
    assert!(h.manifests().is_empty());
    assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
    assert_eq!(
        std::fs::read_dir(mnt.path()).expect("ls").count(),
        0,
        "a partial copy was left on the full disk"
    );
}

/// Copies over 256 MiB are checked by sampling blocks; `verify --full` reads it all.
#[test]
fn large_copies_are_verified_by_sampling_and_fully_on_request() {
    let h = Home::new();
    let src = tempfile::tempdir_in(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
        .expect("tmp");
    let file = src.path().join("disk.img");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        let block: Vec<u8> = (0..(1 << 20))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for i in 0..300u32 {
            f.write_all(&i.to_le_bytes()).expect("write");
            f.write_all(&block[4..]).expect("write");
        }
    }
    let r = h.backup(&file.display().to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = h.only_manifest();
    let id = m["id"].as_str().expect("id").to_string();
    assert_eq!(
        m["block_sha256"].as_array().map(Vec::len),
        Some(76),
        "301 MiB in 4 MiB blocks"
    );
    let line = format!("rm {}", file.display());
    // fs.rm-files requires `backup`: a verified backup of a named file lets it run.
    assert_eq!(h.check(&line).0, "allow");
    let r = h.ok(&["verify", &id]);
    assert!(r.stdout.contains("random sample"), "{}", r.stdout);

    // A changed byte in the middle: --full always finds it.
    let copy = &copies(&m)[1];
    flip_byte(copy, 150 << 20);
    let r = h.run(&["verify", "--full", &id]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    flip_byte(copy, 150 << 20);
    h.ok(&["verify", "--full", &id]);
    // In the last block (always sampled), the check at the prompt finds it too.
    let size = std::fs::metadata(copy).expect("meta").len();
    flip_byte(copy, size - 1000);
    assert_eq!(h.check(&line).1, "corrupt");
}

/// A backup that takes more than a moment shows a progress bar on a terminal (a
/// pseudo-terminal from `script`), and none when stderr is not a terminal.
#[test]
fn a_slow_backup_shows_progress_on_a_terminal_only() {
    let h = Home::new();
    user_recipe(
        &h,
        "slow",
        "stdout",
        r#"["sh", "-c", "echo start; sleep 1; head -c 3000000 /dev/zero"]"#,
    );
    let (a, b) = h.dests();
    let line = format!(
        "{} backup slow:x --to {a} --to {b}",
        env!("CARGO_BIN_EXE_backstop")
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("BACKSTOP_HOME", h.home.path())
        .output()
        .expect("script (util-linux) runs a command in a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // The bar counts bytes as they come (KiB at first, MiB if a redraw falls late
    // enough: the 3 MB arrive in a burst, between redraws on a busy machine).
    assert!(
        text.contains("backing up slow:x") && text.contains(" KiB") && text.contains("/s"),
        "{text}"
    );
    let r = h.ok(&["backup", "slow:y", "--to", &a, "--to", &b]);
    assert!(!r.stderr.contains("backing up"), "{}", r.stderr);
}
