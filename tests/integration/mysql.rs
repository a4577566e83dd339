//! A throwaway MariaDB server per test, for the mysql backup recipe.
//!
//! `MysqlServer::start()` runs mariadb-install-db and mariadbd from PATH or
//! /usr/sbin, in a fresh temporary directory, listening only on a unix socket there.
//! Without MariaDB it returns `None` (the test skips) unless
//! `BACKSTOP_REQUIRE_SERVICES` is set (scripts/test.sh sets it), when it panics.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::recipes::{copies, Home};

/// How often and how many times to ask a starting or stopping server (60 s in all).
const POLL: Duration = Duration::from_millis(100);
const POLLS: u32 = 600;

/// A running server, shut down (`mariadb-admin shutdown`, else killed) and deleted on drop.
#[derive(Debug)]
pub struct MysqlServer {
    dir: tempfile::TempDir,
    admin: PathBuf,
    client: PathBuf,
    /// The MariaDB account the clients use: the OS user's own, by unix-socket authentication.
    user: String,
    /// Our child mariadbd; `None` until it is spawned.
    server: Option<Child>,
}

impl MysqlServer {
    /// Starts a server, or says why not and returns `None` (the caller skips).
    pub fn start() -> Option<MysqlServer> {
        match MysqlServer::try_start() {
            Ok(server) => Some(server),
            Err(why) => {
                assert!(
                    !required(),
                    "MariaDB is required (BACKSTOP_REQUIRE_SERVICES) but could not start: {why}"
                );
                eprintln!("SKIPPED: no MariaDB server: {why} (scripts/test.sh installs it)");
                None
            }
        }
    }

    fn try_start() -> Result<MysqlServer, String> {
        let mariadbd = program(&["mariadbd", "mysqld"]).ok_or(
            "mariadbd is neither on PATH nor in /usr/sbin (apt-get install mariadb-server)",
        )?;
        let install_db = program(&["mariadb-install-db", "mysql_install_db"])
            .ok_or("mariadb-install-db is not installed (apt-get install mariadb-server)")?;
        let admin = program(&["mariadb-admin", "mysqladmin"])
            .ok_or("mariadb-admin is not installed (apt-get install mariadb-client)")?;
        let client = program(&["mariadb", "mysql"])
            .ok_or("the mariadb client is not installed (apt-get install mariadb-client)")?;
        let user = id(&["-un"])?;
        let root = id(&["-u"])? == "0";
        // Under /tmp rather than target/: a socket path must fit in 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("backstop-mysql-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let mut server = MysqlServer {
            dir,
            admin,
            client,
            user,
            server: None,
        };
        // Read by the recipe's plain clients after /etc/mysql/my.cnf, whose `socket =` it overrides.
        std::fs::create_dir(server.client_dir()).map_err(|e| e.to_string())?;
        std::fs::write(
            server.client_dir().join("my.cnf"),
            format!(
                "[client]\nsocket={}\nuser={}\n",
                server.socket().display(),
                server.user
            ),
        )
        .map_err(|e| e.to_string())?;

        let mut install = Command::new(&install_db);
        // --no-defaults first: the system's /etc/mysql (datadir, pid-file, bind-address) must not apply.
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", server.data().display()))
            .args([
                "--auth-root-authentication-method=socket",
                &format!("--auth-root-socket-user={}", server.user),
                "--skip-test-db",
            ]);
        // mariadbd refuses root unless told --user=root; that spares chowning our 0700 tempdir to `mysql`.
        if root {
            install.arg("--user=root");
        }
        let out = install
            .current_dir(server.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", install_db.display()))?;
        if !out.status.success() {
            return Err(format!(
                "mariadb-install-db failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            ));
        }

        let mut daemon = Command::new(&mariadbd);
        daemon
            .arg("--no-defaults")
            .arg(format!("--datadir={}", server.data().display()))
            .arg(format!("--socket={}", server.socket().display()))
            .arg(format!(
                "--pid-file={}",
                server.dir.path().join("mariadbd.pid").display()
            ))
            .arg(format!("--log-error={}", server.log().display()))
            // No TCP port: nothing to clash with other tests or a system server.
            .arg("--skip-networking");
        if root {
            daemon.arg("--user=root");
        }
        // Our own child rather than a daemon, so drop can always wait for it or kill it.
        let child = daemon
            .current_dir(server.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", mariadbd.display()))?;
        server.server = Some(child);
        server.wait_until_it_answers()?;
        Ok(server)
    }

    /// Pings until the server answers, it exits, or POLLS run out (drop then kills it).
    fn wait_until_it_answers(&mut self) -> Result<(), String> {
        for _ in 0..POLLS {
            if let Some(Ok(Some(status))) = self.server.as_mut().map(Child::try_wait) {
                self.server = None;
                return Err(format!(
                    "mariadbd exited ({status}) before answering; its log:\n{}",
                    self.log_text()
                ));
            }
            let pinged = self
                .admin()
                .arg("ping")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if pinged.is_ok_and(|s| s.success()) {
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "mariadbd did not answer a ping in {} s; its log:\n{}",
            (POLL * POLLS).as_secs(),
            self.log_text()
        ))
    }

    /// MYSQL_UNIX_PORT and MYSQL_HOME, so plain `mysql`, `mysqldump`, `mariadb` reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "MYSQL_UNIX_PORT".into(),
                self.socket().display().to_string(),
            ),
            // The environment loses to option files; MYSQL_HOME/my.cnf is read after /etc/mysql/my.cnf.
            ("MYSQL_HOME".into(), self.client_dir().display().to_string()),
        ]
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Runs SQL with the mysql client (in `db` if given), returning its tab-separated
    /// rows without column names or the last newline.
    pub fn sql(&self, db: Option<&str>, sql: &str) -> String {
        use std::io::Write;
        let mut cmd = Command::new(&self.client);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--user={}", self.user))
            .args(["-N", "-B"]);
        if let Some(db) = db {
            cmd.arg(format!("--database={db}"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the mariadb client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("write SQL to the mariadb client");
        let out = child
            .wait_with_output()
            .expect("wait for the mariadb client");
        assert!(
            out.status.success(),
            "mysql {db:?} failed on:\n{sql}\n{}",
            text(&out.stderr)
        );
        text(&out.stdout).trim_end_matches('\n').to_string()
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn client_dir(&self) -> PathBuf {
        self.dir.path().join("client")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("mariadbd.err")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// mariadb-admin for this server only.
    fn admin(&self) -> Command {
        let mut cmd = Command::new(&self.admin);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--user={}", self.user))
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for MysqlServer {
    fn drop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        let asked = self.admin().arg("shutdown").output();
        if matches!(&asked, Ok(out) if out.status.success()) {
            for _ in 0..POLLS {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(POLL);
            }
        }
        eprintln!(
            "the test MariaDB in {} did not shut down ({asked:?}); killing it",
            self.dir.path().display()
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn required() -> bool {
    std::env::var_os("BACKSTOP_REQUIRE_SERVICES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The first of `names` on PATH or in the usual directories (mariadbd is in
/// /usr/sbin, which a user's PATH may lack).
fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `id ARGS`, trimmed.
fn id(args: &[&str]) -> Result<String, String> {
    let id = program(&["id"]).ok_or("id is not installed")?;
    let out = Command::new(id)
        .args(args)
        .output()
        .map_err(|e| format!("id: {e}"))?;
    if !out.status.success() {
        return Err(format!("id {args:?} failed: {}", text(&out.stderr)));
    }
    Ok(text(&out.stdout).trim().to_string())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn mariadb_answers_plain_clients_and_stops_on_drop() {
    let Some(my) = MysqlServer::start() else {
        return;
    };
    my.sql(
        None,
        "CREATE DATABASE shop; CREATE TABLE shop.orders (id int PRIMARY KEY, item text); INSERT INTO shop.orders VALUES (1, 'lamp'), (2, 'desk');",
    );
    assert_eq!(
        my.sql(Some("shop"), "SELECT id, item FROM orders ORDER BY id"),
        "1\tlamp\n2\tdesk"
    );
    // The plain clients, as a recipe runs them, reach this server through env() alone.
    for client in ["mysql", "mariadb"] {
        let out = Command::new(program(&[client]).expect("client"))
            .args(["-N", "-B", "-e", "SELECT @@socket"])
            .envs(my.env())
            .output()
            .expect("run the client");
        assert!(out.status.success(), "{client}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).trim(),
            my.socket().display().to_string(),
            "{client}"
        );
    }
    let dump = Command::new(program(&["mysqldump"]).expect("mysqldump"))
        .arg("shop")
        .envs(my.env())
        .output()
        .expect("mysqldump");
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    assert!(
        text(&dump.stdout).contains("'desk'"),
        "{}",
        text(&dump.stdout)
    );

    let pid = my.pid().expect("running");
    let dir = my.dir.path().to_path_buf();
    let proc_dir = PathBuf::from("/proc").join(pid.to_string());
    assert!(proc_dir.exists(), "mariadbd {pid} runs");
    drop(my);
    // Our own child, waited for: not even a zombie remains.
    assert!(!proc_dir.exists(), "mariadbd {pid} still runs after drop");
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn mysql_backup_restore_test_and_refusals() {
    let Some(my) = MysqlServer::start() else {
        return;
    };
    my.sql(None, "CREATE DATABASE shop");
    my.sql(
        Some("shop"),
        "CREATE TABLE orders (id int PRIMARY KEY, total int);
         INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30);
         CREATE TABLE customers (id int PRIMARY KEY, name varchar(40));
         INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');
         CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 15;",
    );
    let h = Home::new().with(my.env());
    let line = "mysql -e 'DROP DATABASE shop'";
    let m = h.denied_then_backed_up_for(line, "mysql:shop");
    assert_eq!(m["target"]["kind"], "mysql");
    assert_eq!(m["target"]["value"], "shop");
    assert_eq!(m["recorded"], "big_orders\ncustomers\norders\n");
    let paths = copies(&m);
    assert_eq!(paths.len(), 2);
    let dump = std::fs::read_to_string(&paths[0]).expect("first copy");
    assert_eq!(
        std::fs::read_to_string(&paths[1]).expect("second copy"),
        dump
    );
    assert!(
        dump.contains("CREATE TABLE `orders`")
            && dump.contains("(2,'Grace')")
            && dump.contains("VIEW `big_orders`"),
        "{dump}"
    );

    let (decision, status, _) = h.check(line);
    assert_eq!((decision.as_str(), status.as_str()), ("ask", "covered"));
    // A table inherits its database's backup; another database has none.
    assert_eq!(h.check("mysql -e 'TRUNCATE orders' shop").0, "ask");
    assert_eq!(h.check("mysql -e 'DROP DATABASE shop2'").1, "missing");

    let id = m["id"].as_str().expect("id").to_string();
    let r = h.ok(&["restore-test", &id]);
    assert!(
        r.stdout.contains("matching what was recorded"),
        "{}",
        r.stdout
    );
    assert_eq!(h.only_manifest()["restore_test"], "passed");
    let scratch = "SHOW DATABASES LIKE 'backstop\\_restore%'";
    assert_eq!(my.sql(None, scratch), "", "the scratch database is dropped");

    // The restore test really compares: a manifest recording another table fails.
    let manifest_path = h.home.path().join(format!("data/manifests/{id}.json"));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("json");
    v["recorded"] = "big_orders\ncustomers\ninvoices\norders\n".into();
    std::fs::write(&manifest_path, serde_json::to_vec(&v).expect("json")).expect("write");
    let r = h.run(&["restore-test", &id]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("differs from what was recorded"),
        "{}",
        r.stdout
    );
    assert_eq!(
        my.sql(None, scratch),
        "",
        "a failed restore test still drops its scratch"
    );

    // A database that does not exist: the client exits non-zero and nothing is kept.
    let before = h.manifests().len();
    let r = h.backup("mysql:no_such_db");
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.stderr.contains("exited with") && r.stderr.contains("Unknown database"),
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
