//! A throwaway PostgreSQL server per test, for the postgres backup recipes.
//!
//! `PgServer::start()` runs initdb and pg_ctl from PATH or Debian's
//! /usr/lib/postgresql/NN/bin, in a fresh temporary directory, listening only on a
//! unix socket there. Without PostgreSQL it returns `None` (the test skips) unless
//! `BACKSTOP_REQUIRE_SERVICES` is set (scripts/test.sh sets it), when it panics.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A running server, stopped (`pg_ctl stop -m immediate`) and deleted on drop.
#[derive(Debug)]
pub struct PgServer {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    port: u16,
    /// Set when we are root: the server then runs as the postgres user.
    runuser: Option<PathBuf>,
}

impl PgServer {
    /// Starts a server, or says why not and returns `None` (the caller skips).
    pub fn start() -> Option<PgServer> {
        match PgServer::try_start() {
            Ok(server) => Some(server),
            Err(why) => {
                assert!(
                    !required(),
                    "PostgreSQL is required (BACKSTOP_REQUIRE_SERVICES) but could not start: {why}"
                );
                eprintln!("SKIPPED: no PostgreSQL server: {why} (scripts/test.sh installs it)");
                None
            }
        }
    }

    fn try_start() -> Result<PgServer, String> {
        let initdb = find_initdb().ok_or(
            "initdb is neither on PATH nor in /usr/lib/postgresql/*/bin (apt-get install postgresql)",
        )?;
        let bin_dir = std::fs::canonicalize(&initdb)
            .map_err(|e| format!("{}: {e}", initdb.display()))?
            .parent()
            .expect("initdb has a directory")
            .to_path_buf();
        // PostgreSQL refuses to run as root, so root runs it as the postgres user.
        let as_postgres = is_root();
        let runuser = if as_postgres {
            if !ran_ok(Command::new(system("id")?).arg("postgres")) {
                return Err(
                    "running as root and there is no postgres user to run the server".into(),
                );
            }
            Some(system("runuser")?)
        } else {
            None
        };
        // Under /tmp rather than target/: a socket path must fit in 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("backstop-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let server = PgServer {
            dir,
            bin_dir,
            port: 0,
            runuser,
        };
        for sub in ["data", "sock"] {
            std::fs::create_dir(server.dir.path().join(sub)).map_err(|e| e.to_string())?;
        }
        if as_postgres {
            // The postgres user must reach its directories inside our private one.
            std::fs::set_permissions(server.dir.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
            let mut chown = Command::new(system("chown")?);
            chown.arg("postgres:").arg(server.data()).arg(server.sock());
            if !ran_ok(&mut chown) {
                return Err("chown postgres failed".into());
            }
        }
        let out = server
            .tool("initdb")
            .arg("-D")
            .arg(server.data())
            // The C locale exists everywhere; the caller's LANG may name one that does not.
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed:\n{}", text(&out.stderr)));
        }
        server.listen()
    }

    /// Starts on a port of this process's own, trying a few in case one is taken.
    fn listen(mut self) -> Result<PgServer, String> {
        let mut why = String::new();
        for _ in 0..5 {
            let port = port_of_our_own();
            let log = self.sock().join("server.log");
            let out = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-w", "-t", "60", "-l"])
                .arg(&log)
                .arg("-o")
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=''",
                    self.sock().display()
                ))
                .arg("start")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("pg_ctl: {e}"))?;
            if out.status.success() {
                // From here on, drop stops the server.
                self.port = port;
                return Ok(self);
            }
            why = format!(
                "pg_ctl start on port {port} failed:\n{}\nserver log:\n{}",
                text(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Err(why)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the server's unix socket (what PGHOST names).
    pub fn socket_dir(&self) -> PathBuf {
        self.sock()
    }

    /// PGHOST, PGPORT and PGUSER for psql, pg_dump, pg_restore, createdb, dropdb.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PGHOST".into(), self.sock().display().to_string()),
            ("PGPORT".into(), self.port.to_string()),
            ("PGUSER".into(), "postgres".into()),
        ]
    }

    /// A PostgreSQL program from the server's own version, else by name from PATH.
    pub fn bin(&self, name: &str) -> PathBuf {
        let versioned = self.bin_dir.join(name);
        if versioned.is_file() {
            versioned
        } else {
            PathBuf::from(name)
        }
    }

    /// Runs SQL in `db` with psql, returning its unaligned output without the last newline.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        use std::io::Write;
        let mut child = Command::new(self.bin("psql"))
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "-"])
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn psql");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("write SQL to psql");
        let out = child.wait_with_output().expect("wait for psql");
        assert!(
            out.status.success(),
            "psql -d {db} failed on:\n{sql}\n{}",
            text(&out.stderr)
        );
        text(&out.stdout).trim_end_matches('\n').to_string()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// initdb or pg_ctl from the server's directory, as postgres when we are root.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin_dir.join(name);
        let mut cmd = match &self.runuser {
            Some(runuser) => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", "postgres", "--"]).arg(path);
                cmd
            }
            None => Command::new(path),
        };
        // The postgres user may not be allowed into the test's working directory.
        cmd.current_dir(self.dir.path());
        cmd
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.port == 0 {
            return;
        }
        let stopped = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdin(Stdio::null())
            .output();
        if !matches!(&stopped, Ok(out) if out.status.success()) {
            eprintln!(
                "could not stop the test PostgreSQL in {}: {stopped:?}",
                self.dir.path().display()
            );
        }
    }
}

fn required() -> bool {
    std::env::var_os("BACKSTOP_REQUIRE_SERVICES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// initdb on PATH, else the newest of Debian's /usr/lib/postgresql/NN/bin.
fn find_initdb() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("initdb"))
            .find(|p| is_executable(p))
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                let initdb = entry.path().join("bin/initdb");
                is_executable(&initdb).then_some((version, initdb))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, p)| p)
    })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    system("id").is_ok_and(|id| {
        Command::new(id)
            .arg("-u")
            .output()
            .is_ok_and(|out| text(&out.stdout).trim() == "0")
    })
}

/// A system program from PATH or the usual directories (runuser is in /usr/sbin,
/// which a user's PATH may lack).
fn system(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("{name} is not installed"))
}

fn ran_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Ports 20000-59999, a block of 40 per process id. With no TCP listener a port
/// only names the socket, so this keeps PGPORT distinct rather than avoiding clashes.
fn port_of_our_own() -> u16 {
    let block = (std::process::id() % 1000) as u16;
    let n = NEXT_PORT.fetch_add(1, Ordering::Relaxed) % 40;
    20000 + block * 40 + n
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(server: &PgServer, program: &str, args: &[&str]) -> Output {
    let out = Command::new(server.bin(program))
        .args(args)
        .envs(server.env())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        text(&out.stderr)
    );
    out
}

#[test]
fn postgres_starts_and_answers() {
    let Some(pg) = PgServer::start() else { return };
    run(&pg, "createdb", &["shop"]);
    pg.psql(
        "shop",
        "CREATE TABLE orders (id int PRIMARY KEY, item text);
         INSERT INTO orders VALUES (1, 'lamp'), (2, 'desk'), (3, 'chair');",
    );
    assert_eq!(
        pg.psql("shop", "SELECT id || ':' || item FROM orders ORDER BY id"),
        "1:lamp\n2:desk\n3:chair"
    );
    // The client tools reach this server through env() alone.
    let dump = run(&pg, "pg_dump", &["--data-only", "shop"]);
    assert!(
        text(&dump.stdout).contains("desk"),
        "{}",
        text(&dump.stdout)
    );
    assert!(
        pg.socket_dir()
            .join(format!(".s.PGSQL.{}", pg.port()))
            .exists(),
        "the server listens in its own socket directory"
    );
}

#[test]
fn servers_started_side_by_side_are_separate() {
    let (Some(a), Some(b)) = (PgServer::start(), PgServer::start()) else {
        return;
    };
    assert_ne!(a.port(), b.port());
    a.psql("postgres", "CREATE TABLE only_in_a (x int)");
    assert_eq!(
        a.psql(
            "postgres",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"
        ),
        "1"
    );
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"
        ),
        "0"
    );
}

#[test]
fn dropping_the_server_stops_it() {
    let Some(pg) = PgServer::start() else { return };
    let pid_file = pg.data().join("postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file).expect("postmaster.pid while running");
    let pid = pid.lines().next().expect("pid line").trim().to_string();
    let proc_dir = PathBuf::from("/proc").join(&pid);
    assert!(proc_dir.exists(), "postmaster {pid} runs");
    drop(pg);
    assert!(
        !proc_dir.exists() || zombie_or_gone(&proc_dir),
        "postmaster {pid} still runs after drop"
    );
}

/// pg_ctl stop -m immediate waits for the postmaster to exit; only a zombie may remain.
fn zombie_or_gone(proc_dir: &Path) -> bool {
    std::fs::read_to_string(proc_dir.join("stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}
