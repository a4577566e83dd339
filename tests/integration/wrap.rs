//! `backstop wrap`: real psql, mysql, sqlite3 and redis-cli in a pseudo-terminal,
//! against throwaway servers, with statements typed as a person types them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{on_path, Pty};
use crate::mysql::MysqlServer;
use crate::pg::PgServer;

/// Private state for one test: BACKSTOP_HOME, and a directory outside /tmp and
/// target/ (which the rules except as temporary) for files that must be protected.
struct Bench {
    backstop_home: tempfile::TempDir,
    /// Under the real home directory: SQLite files and scripts live here.
    work: tempfile::TempDir,
    /// A second filesystem for backups.
    shm: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Bench {
    fn new(env: Vec<(String, String)>) -> Bench {
        let real_home = std::env::var_os("HOME").expect("HOME is set");
        let backstop_home = tempfile::tempdir().expect("BACKSTOP_HOME");
        // The second copy is on /dev/shm, a tmpfs, which counts only when asked.
        crate::count_tmpfs(backstop_home.path());
        Bench {
            backstop_home,
            work: tempfile::Builder::new()
                .prefix("backstop-wrap-test")
                .tempdir_in(real_home)
                .expect("a directory under the real home"),
            shm: tempfile::tempdir_in("/dev/shm").expect("a directory in /dev/shm"),
            env,
        }
    }

    fn vars(&self) -> Vec<(OsString, OsString)> {
        let mut v: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.work.path().into()),
            ("BACKSTOP_HOME".into(), self.backstop_home.path().into()),
            ("TERM".into(), "xterm".into()),
            ("LANG".into(), "C.UTF-8".into()),
            // Keep the clients' own history files out of the real home.
            (
                "PSQL_HISTORY".into(),
                self.work.path().join(".psql_history").into(),
            ),
            ("MYSQL_HISTFILE".into(), "/dev/null".into()),
            ("REDISCLI_HISTFILE".into(), "/dev/null".into()),
        ];
        v.extend(self.env.iter().map(|(k, val)| (k.into(), val.into())));
        v
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.vars())
            .current_dir(self.work.path());
        cmd
    }

    /// `backstop wrap CLIENT ARGS…` in a pseudo-terminal.
    fn wrap(&self, client: &str, args: &[&str]) -> Pty {
        let mut all = vec!["wrap", client];
        all.extend_from_slice(args);
        Pty::spawn_clean(self.command(Path::new(env!("CARGO_BIN_EXE_backstop")), &all))
    }

    fn backstop(&self, args: &[&str]) -> std::process::Output {
        let out = self
            .command(Path::new(env!("CARGO_BIN_EXE_backstop")), args)
            .stdin(Stdio::null())
            .output()
            .expect("run backstop");
        assert!(
            out.status.success(),
            "backstop {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Backs `spec` up to two filesystems.
    fn back_up(&self, spec: &str) {
        let disk = self.work.path().join("backups");
        std::fs::create_dir_all(&disk).expect("backup dir");
        self.backstop(&[
            "backup",
            spec,
            "--to",
            disk.to_str().expect("utf-8"),
            "--to",
            self.shm.path().to_str().expect("utf-8"),
        ]);
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.work.path().join(name);
        std::fs::write(&p, text).expect("write a script");
        p
    }
}

/// Types `line` and returns what the client printed up to its next `prompt`.
fn run(pty: &mut Pty, line: &str, prompt: &str) -> String {
    pty.line(line);
    pty.expect(prompt)
}

#[test]
fn psql_statements_are_decided_in_the_session() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.psql("postgres", "CREATE DATABASE app; CREATE DATABASE otherdb;");
    server.psql(
        "app",
        "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2);",
    );
    server.psql("otherdb", "CREATE TABLE u (a int);");
    let bench = Bench::new(server.env());
    bench.file("drop.sql", "SELECT 1;\nDROP TABLE t;\n");
    // A DROP from an earlier session, in psql's history.
    bench.file(".psql_history", "DROP TABLE t;\n");
    let mut psql = bench.wrap("psql", &["-X", "-d", "app"]);
    psql.expect("app=#");

    // History recall: the line shown, not the keys typed, is decided.
    psql.send("\x1b[A");
    let out = run(&mut psql, "", "app=#");
    assert!(
        out.contains("backstop: refused `DROP TABLE t;`"),
        "Up recalls the DROP: {out}"
    );

    // A SELECT runs, and backstop says nothing.
    let out = run(&mut psql, "SELECT count(*) AS n FROM t;", "app=#");
    assert!(out.contains("(1 row)"), "{out}");
    assert!(!out.contains("backstop"), "{out}");

    // DROP TABLE without a backup is refused, with its remedy, and the session goes on.
    let out = run(&mut psql, "DROP TABLE t;", "app=#");
    assert!(out.contains("backstop: refused `DROP TABLE t;`"), "{out}");
    assert!(out.contains("backstop backup postgres:app"), "{out}");
    assert!(
        !out.contains("DROP TABLE\r\n") && !out.contains("\nDROP TABLE\n"),
        "{out}"
    );

    // A statement over two lines, and two statements on one line.
    run(&mut psql, "DROP TABLE", "app-#");
    let out = run(&mut psql, "t;", "app-#");
    assert!(out.contains("backstop: refused `DROP TABLE t;`"), "{out}");
    assert!(
        out.contains("still holds the unfinished statement"),
        "{out}"
    );
    run(&mut psql, "\\r", "app=#");
    let out = run(&mut psql, "SELECT 'one' AS x; SELECT 'two' AS y;", "app=#");
    assert!(out.contains("one") && out.contains("two"), "{out}");
    let out = run(&mut psql, "SELECT 'first' AS x; DROP TABLE t;", "app=#");
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(!out.contains("(1 row)"), "nothing of the line ran: {out}");

    // A script run with \i is followed.
    let out = run(&mut psql, "\\i drop.sql", "app=#");
    assert!(out.contains("backstop: refused `\\i drop.sql`"), "{out}");

    // Ctrl-C in the middle of a statement drops it; the session goes on.
    psql.send("DROP TAB");
    psql.expect("DROP TAB");
    psql.send("\x03");
    psql.expect("app=#");
    let out = run(&mut psql, "SELECT 'after' AS z;", "app=#");
    assert!(out.contains("after") && !out.contains("refused"), "{out}");

    // \c follows the connection: the refusal names the other database.
    run(&mut psql, "\\c otherdb", "otherdb=#");
    let out = run(&mut psql, "DROP TABLE u;", "otherdb=#");
    assert!(out.contains("postgres:otherdb"), "{out}");
    assert_eq!(psql.exit("\\q"), 0);

    assert_eq!(server.psql("app", "SELECT count(*) FROM t"), "2");
    assert_eq!(server.psql("otherdb", "SELECT count(*) FROM u"), "0");
}

#[test]
fn psql_drop_with_a_backup_asks_for_the_phrase() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.psql("postgres", "CREATE DATABASE app;");
    server.psql("app", "CREATE TABLE t (a int); INSERT INTO t VALUES (1);");
    let bench = Bench::new(server.env());
    bench.back_up("postgres:app");
    let mut psql = bench.wrap("psql", &["-X", "app"]);
    psql.expect("app=#");
    psql.line("DROP TABLE t;");
    psql.expect("needs your approval");
    psql.expect("type PROCEED to run it");
    psql.line("proceed");
    let out = psql.expect("app=#");
    assert!(out.contains("not approved"), "{out}");
    assert_eq!(server.psql("app", "SELECT count(*) FROM t"), "1");
    psql.line("DROP TABLE t;");
    psql.expect("type PROCEED to run it");
    psql.line("PROCEED");
    let out = psql.expect("app=#");
    assert!(out.contains("DROP TABLE"), "psql ran it: {out}");
    assert_eq!(psql.exit("\\q"), 0);
    assert_eq!(
        server.psql(
            "app",
            "SELECT count(*) FROM pg_tables WHERE tablename = 't'"
        ),
        "0"
    );
}

#[test]
fn the_terminal_is_restored_when_the_client_exits_or_dies() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let bench = Bench::new(server.env());
    let bash = on_path("bash").expect("bash");
    let mut sh = Pty::spawn_clean(bench.command(&bash, &["--norc", "--noprofile", "-i"]));
    let backstop = env!("CARGO_BIN_EXE_backstop");
    sh.line("PS1='SH''> '; stty -g > before; echo SY''NC0");
    sh.expect("SYNC0");
    sh.line(&format!("{backstop} wrap psql -X -d postgres"));
    sh.expect("postgres=#");
    sh.line("\\q");
    sh.expect("SH> ");
    sh.line("stty -g > after; cmp before after && echo SAME''MODE1");
    sh.expect("SAMEMODE1");
    // The client killed under backstop's feet.
    sh.line(&format!("{backstop} wrap psql -X -d postgres"));
    sh.expect("postgres=#");
    sh.line("\\! kill -9 $PPID");
    sh.expect("SH> ");
    sh.line("stty -g > after; cmp before after && echo SAME''MODE2");
    sh.expect("SAMEMODE2");
    assert_eq!(sh.exit("exit"), 0);
}

#[test]
fn sqlite3_statements_and_read_are_decided() {
    let bench = Bench::new(Vec::new());
    let sqlite = on_path("sqlite3").expect("sqlite3 (scripts/test.sh installs it)");
    let db = bench.work.path().join("app.db");
    let made = Command::new(&sqlite)
        .arg(&db)
        .arg("CREATE TABLE t (a); INSERT INTO t VALUES (1);")
        .status()
        .expect("sqlite3");
    assert!(made.success());
    bench.file("drop.sql", "DROP TABLE t;\n");
    let db_arg = db.to_str().expect("utf-8");
    let mut s = bench.wrap("sqlite3", &[db_arg]);
    s.expect("sqlite>");
    let out = run(&mut s, "SELECT count(*) FROM t;", "sqlite>");
    assert!(out.contains('1') && !out.contains("backstop"), "{out}");
    let out = run(&mut s, "DROP TABLE t;", "sqlite>");
    assert!(out.contains("backstop: refused"), "{out}");
    assert!(out.contains(&format!("sqlite:{db_arg}")), "{out}");
    let out = run(&mut s, ".read drop.sql", "sqlite>");
    assert!(out.contains("backstop: refused `.read drop.sql`"), "{out}");
    run(&mut s, "DROP", "...>");
    let out = run(&mut s, "TABLE t;", "...>");
    assert!(out.contains("backstop: refused"), "{out}");
    // The unfinished `DROP` is still in sqlite3's buffer: finishing it is decided too.
    let out = run(&mut s, "TABLE t;", "...>");
    assert!(out.contains("backstop: refused"), "{out}");
    // `DROP ;` destroys nothing (sqlite3 reports a syntax error) and empties the buffer.
    let out = run(&mut s, ";", "sqlite>");
    assert!(!out.contains("refused") && out.contains("error"), "{out}");
    let out = run(&mut s, "SELECT 'a'; SELECT 'b';", "sqlite>");
    assert!(out.contains('a') && out.contains('b'), "{out}");
    // sqlite3 exits 1 after a session that had an error (the `DROP ;`).
    assert_eq!(s.exit(".quit"), 1);
    let left = Command::new(&sqlite)
        .arg(&db)
        .arg("SELECT count(*) FROM t;")
        .output()
        .expect("sqlite3");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "1");
}

#[test]
fn piped_input_is_decided_before_the_client_starts() {
    let bench = Bench::new(Vec::new());
    let sqlite = on_path("sqlite3").expect("sqlite3");
    let db = bench.work.path().join("piped.db");
    let made = Command::new(&sqlite)
        .arg(&db)
        .arg("CREATE TABLE t (a); INSERT INTO t VALUES (7);")
        .status()
        .expect("sqlite3");
    assert!(made.success());
    let pipe = |sql: &str| {
        let mut child = bench
            .command(
                Path::new(env!("CARGO_BIN_EXE_backstop")),
                &["wrap", "sqlite3", db.to_str().expect("utf-8")],
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("backstop wrap");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), sql.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = pipe("SELECT a FROM t;\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
    let out = pipe("SELECT 1;\nDROP TABLE t;\n");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not started"));
    // The client's own arguments are decided too.
    let out = bench
        .command(
            Path::new(env!("CARGO_BIN_EXE_backstop")),
            &[
                "wrap",
                "sqlite3",
                db.to_str().expect("utf-8"),
                "DROP TABLE t",
            ],
        )
        .stdin(Stdio::null())
        .output()
        .expect("backstop wrap");
    assert_eq!(out.status.code(), Some(2));
    let left = Command::new(&sqlite)
        .arg(&db)
        .arg("SELECT count(*) FROM t;")
        .output()
        .expect("sqlite3");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "1");
}

#[test]
fn mysql_use_source_and_delimiter_are_followed() {
    let Some(server) = MysqlServer::start() else {
        return;
    };
    server.sql(None, "CREATE DATABASE app; CREATE DATABASE other;");
    server.sql(
        Some("app"),
        "CREATE TABLE t (a int); INSERT INTO t VALUES (1);",
    );
    server.sql(Some("other"), "CREATE TABLE u (a int);");
    let bench = Bench::new(server.env());
    bench.file("drop.sql", "DROP TABLE t;\n");
    let mut m = bench.wrap("mysql", &["app"]);
    m.expect("[app]>");
    let out = run(&mut m, "SELECT count(*) AS n FROM t;", "[app]>");
    assert!(
        out.contains("1 row in set") && !out.contains("backstop"),
        "{out}"
    );
    let out = run(&mut m, "DROP TABLE t;", "[app]>");
    assert!(
        out.contains("backstop: refused") && out.contains("mysql:app"),
        "{out}"
    );
    let out = run(&mut m, "source drop.sql", "[app]>");
    assert!(out.contains("backstop: refused `source drop.sql`"), "{out}");
    run(&mut m, "DELIMITER //", "[app]>");
    let out = run(&mut m, "DROP TABLE t //", "[app]>");
    assert!(out.contains("backstop: refused"), "{out}");
    run(&mut m, "DELIMITER ;", "[app]>");
    run(&mut m, "use other", "[other]>");
    let out = run(&mut m, "DROP TABLE u;", "[other]>");
    assert!(out.contains("mysql:other"), "{out}");
    assert_eq!(m.exit("exit"), 0);
    assert_eq!(server.sql(Some("app"), "SELECT count(*) FROM t"), "1");
    assert_eq!(server.sql(Some("other"), "SELECT count(*) FROM u"), "0");
}

/// A redis-server of the test's own, on a private port, saving nothing.
struct Redis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Option<Redis> {
        let Some(server) = on_path("redis-server") else {
            assert!(
                std::env::var_os("BACKSTOP_REQUIRE_SERVICES").is_none(),
                "redis-server is required (BACKSTOP_REQUIRE_SERVICES); apt-get install redis-server"
            );
            eprintln!("SKIPPED: no redis-server (scripts/test.sh installs it)");
            return None;
        };
        let dir = tempfile::tempdir().expect("redis dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(server)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--daemonize", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if redis.cli(&["PING"]) == "PONG" {
                return Some(redis);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("redis-server did not answer on port {port}");
    }

    fn cli(&self, args: &[&str]) -> String {
        let cli = on_path("redis-cli").expect("redis-cli (redis-tools)");
        let out = Command::new(cli)
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_flushall_asks_and_a_wrong_phrase_refuses() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let bench = Bench::new(Vec::new());
    let port = redis.port.to_string();
    let prompt = format!("127.0.0.1:{port}>");
    let mut r = bench.wrap("redis-cli", &["-p", &port]);
    r.expect(&prompt);
    // linenoise draws the prompt again at every key: wait for the answers instead.
    r.line("SET k v");
    let out = r.expect("OK");
    assert!(!out.contains("backstop"), "{out}");
    // No recipe backs up a Redis database: FLUSHALL asks for approval, and says why.
    r.line("FLUSHALL");
    r.expect("needs your approval");
    r.expect("no recipe that backs up a database destroyed by redis-cli");
    r.expect("to run it");
    r.line("no");
    r.expect("not approved");
    r.expect(&prompt);
    r.line("GET k");
    r.expect("\"v\"");
    r.line("quit");
    assert_eq!(r.wait(), 0);
    assert_eq!(redis.cli(&["GET", "k"]), "v");
}

#[test]
fn install_wrap_clients_aliases_the_clients_and_uninstall_removes_them() {
    let bench = Bench::new(Vec::new());
    let profile = bench.file(".bashrc", "export KEEP=1\n");
    let p = profile.to_str().expect("utf-8");
    let out = bench.backstop(&["install", "bash", "--wrap-clients", "--profile", p]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("run through `backstop wrap`"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bash = on_path("bash").expect("bash");
    let aliases = bench
        .command(
            &bash,
            &[
                "--norc",
                "--noprofile",
                "-c",
                &format!("shopt -s expand_aliases; . {p}; alias psql sqlite3 redis-cli"),
            ],
        )
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    let shown = String::from_utf8_lossy(&aliases.stdout);
    let backstop = env!("CARGO_BIN_EXE_backstop");
    assert!(
        shown.contains(&format!("alias psql=''\\''{backstop}'\\'' wrap psql'")),
        "{shown}"
    );
    assert!(shown.contains("wrap redis-cli"), "{shown}");
    // Installed again without the flag, the aliases go; uninstall removes everything.
    bench.backstop(&["install", "bash", "--profile", p]);
    assert!(!std::fs::read_to_string(&profile)
        .expect("profile")
        .contains(" wrap "));
    bench.backstop(&["install", "bash", "--wrap-clients", "--profile", p]);
    bench.backstop(&["uninstall", "bash", "--profile", p]);
    assert_eq!(
        std::fs::read_to_string(&profile).expect("profile"),
        "export KEEP=1\n"
    );
}

/// Rounds of refused statements per client; `scripts/soak-wrap.sh` sets many more.
fn stress_rounds() -> usize {
    std::env::var("BACKSTOP_WRAP_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// Busy loops at the lowest priority, one more than there are cores, for as long as
/// this lives: `backstop wrap` and its client run at that priority too, so they fight
/// the loops for every slice of CPU (the rest of the machine is not starved).
struct Load(Vec<std::process::Child>);

impl Load {
    fn start() -> Load {
        let nice = on_path("nice").expect("nice (coreutils)");
        let sh = on_path("sh").expect("sh");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Load(
            (0..=cores)
                .map(|_| {
                    Command::new(&nice)
                        .args(["-n", "19"])
                        .arg(&sh)
                        .args(["-c", "while :; do :; done"])
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("start a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a refused statement was kept from the client.
#[derive(Debug, Default)]
struct Outcomes {
    refused: usize,
    /// The screen could not be proven final in time: the Enter was not sent.
    not_sent: usize,
}

/// One refused statement, sent as `keys`; waits for backstop's word on it and, after
/// a refusal, for the client's fresh `prompt`.
fn attack(pty: &mut Pty, keys: &[&str], typed: bool, prompt: &str, tally: &mut Outcomes) {
    for k in keys {
        if typed {
            // A key at a time, as fast as a person types in a burst.
            for c in k.chars() {
                pty.send(&c.to_string());
                std::thread::sleep(std::time::Duration::from_millis(u64::from(c as u32 % 3)));
            }
        } else {
            pty.send(k);
        }
    }
    pty.expect("backstop: ");
    let word = pty.expect(" ");
    match word.trim() {
        "refused" => {
            tally.refused += 1;
            pty.expect(prompt);
        }
        "not" => {
            tally.not_sent += 1;
            pty.expect("Press Enter again");
            // The line is still in the client: erase it, as the message says.
            pty.send("\x05\x15");
        }
        other => panic!("backstop said {other:?}: {}", pty.screen()),
    }
}

/// The ways a statement reaches the client: typed, pasted at once with its Enter,
/// pasted bracketed, and typed ahead behind a statement still running.
fn attacks(pty: &mut Pty, stmt: &str, allowed: &str, prompt: &str, tally: &mut Outcomes) {
    attack(pty, &[stmt, "\r"], true, prompt, tally);
    attack(pty, &[&format!("{stmt}\r")], false, prompt, tally);
    attack(
        pty,
        &[&format!("\x1b[200~{stmt}\x1b[201~\r")],
        false,
        prompt,
        tally,
    );
    attack(
        pty,
        &[&format!("{allowed}\r{stmt}\r")],
        false,
        prompt,
        tally,
    );
}

/// `nice -n 19 backstop wrap CLIENT ARGS…` in a pseudo-terminal.
fn wrap_niced(bench: &Bench, client: &str, args: &[&str]) -> Pty {
    let nice = on_path("nice").expect("nice (coreutils)");
    let mut all = vec!["-n", "19", env!("CARGO_BIN_EXE_backstop"), "wrap", client];
    all.extend_from_slice(args);
    Pty::spawn_clean(bench.command(&nice, &all))
}

fn report(client: &str, rounds: usize, tally: &Outcomes) {
    eprintln!(
        "wrap under load: {client}: {rounds} rounds, {} refused statements: {} refused, {} not sent (screen not proven final in time); table intact",
        tally.refused + tally.not_sent,
        tally.refused,
        tally.not_sent
    );
    assert!(
        tally.refused > 0,
        "every statement timed out: the proof never completes under load"
    );
}

/// Regression: under heavy load the line was once read before psql's echo reached
/// backstop's screen, read as empty, and `DROP TABLE t;` ran.
#[test]
fn under_load_refused_statements_never_reach_psql() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.psql("postgres", "CREATE DATABASE app;");
    server.psql("app", "CREATE TABLE t (a int); INSERT INTO t VALUES (1);");
    let bench = Bench::new(server.env());
    let _load = Load::start();
    let mut psql = wrap_niced(&bench, "psql", &["-X", "-d", "app"]);
    psql.expect("app=#");
    let mut tally = Outcomes::default();
    let rounds = stress_rounds();
    for round in 0..rounds {
        attacks(&mut psql, "DROP TABLE t;", "SELECT 1;", "app=#", &mut tally);
        assert_eq!(
            server.psql("app", "SELECT count(*) FROM t"),
            "1",
            "round {round}: {}",
            psql.screen()
        );
    }
    assert_eq!(psql.exit("\\q"), 0);
    report("psql", rounds, &tally);
}

#[test]
fn under_load_refused_statements_never_reach_mysql() {
    let Some(server) = MysqlServer::start() else {
        return;
    };
    server.sql(None, "CREATE DATABASE app;");
    server.sql(
        Some("app"),
        "CREATE TABLE t (a int); INSERT INTO t VALUES (1);",
    );
    let bench = Bench::new(server.env());
    let _load = Load::start();
    let mut m = wrap_niced(&bench, "mysql", &["app"]);
    m.expect("[app]>");
    let mut tally = Outcomes::default();
    let rounds = stress_rounds();
    for round in 0..rounds {
        attacks(&mut m, "DROP TABLE t;", "SELECT 1;", "[app]>", &mut tally);
        assert_eq!(
            server.sql(Some("app"), "SELECT count(*) FROM t"),
            "1",
            "round {round}: {}",
            m.screen()
        );
    }
    assert_eq!(m.exit("exit"), 0);
    report("mysql", rounds, &tally);
}

#[test]
fn under_load_refused_statements_never_reach_sqlite3() {
    let bench = Bench::new(Vec::new());
    let sqlite = on_path("sqlite3").expect("sqlite3 (scripts/test.sh installs it)");
    let db = bench.work.path().join("load.db");
    let count = || {
        let out = Command::new(&sqlite)
            .arg(&db)
            .arg("SELECT count(*) FROM t;")
            .output()
            .expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let made = Command::new(&sqlite)
        .arg(&db)
        .arg("CREATE TABLE t (a); INSERT INTO t VALUES (1);")
        .status()
        .expect("sqlite3");
    assert!(made.success());
    let _load = Load::start();
    let mut s = wrap_niced(&bench, "sqlite3", &[db.to_str().expect("utf-8")]);
    s.expect("sqlite>");
    let mut tally = Outcomes::default();
    let rounds = stress_rounds();
    for round in 0..rounds {
        attacks(&mut s, "DROP TABLE t;", "SELECT 1;", "sqlite>", &mut tally);
        assert_eq!(count(), "1", "round {round}: {}", s.screen());
    }
    assert_eq!(s.exit(".quit"), 0);
    report("sqlite3", rounds, &tally);
}

/// Regression: under heavy load the line was once read before the client's echo had
/// reached backstop's screen, read as empty, and the Enter went through (`DROP TABLE
/// t;` ran). A stand-in client that reads the keys, then takes 0.8 s to draw them (as
/// on a starved machine: longer than the quiet time that used to stand for "drawn"),
/// reproduces it every time; the Enter must wait for the line, and refuse it.
/// `sqlite3` on PATH is the slow stand-in client, with these settings.
fn slow_client(settings: &[(&str, &str)]) -> (Bench, tempfile::TempDir, PathBuf) {
    let stand_ins = tempfile::tempdir().expect("a PATH directory");
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/slow-client"),
        stand_ins.path().join("sqlite3"),
    )
    .expect("sqlite3 stand-in");
    let ran = stand_ins.path().join("ran");
    let path = format!(
        "{}:{}",
        stand_ins.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut env = vec![
        ("PATH".to_string(), path),
        ("SLOW_CLIENT_RAN".to_string(), ran.display().to_string()),
    ];
    env.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (Bench::new(env), stand_ins, ran)
}

/// The screen not proven final within the bound: the Enter is not sent, and the
/// person is told; once the client has drawn the line, Enter decides it.
#[test]
fn an_enter_not_proven_in_time_is_not_sent() {
    let (bench, _stand_ins, ran) =
        slow_client(&[("SLOW_CLIENT_SECONDS", "4.5"), ("SLOW_CLIENT_READS", "1")]);
    let db = bench.work.path().join("late.db");
    let mut s = bench.wrap("sqlite3", &[db.to_str().expect("utf-8")]);
    s.expect("sqlite>");
    s.send("DROP TABLE t;\r");
    s.expect("backstop: not sent: sqlite3 has not been seen to finish drawing the line");
    s.expect("Press Enter again");
    // The client draws the line (4.5 s after it read it), then the Enter again.
    s.expect("DROP TABLE t;");
    s.send("\r");
    s.expect("backstop: refused `DROP TABLE t;`");
    s.expect("sqlite>");
    assert_eq!(s.exit(".quit"), 0);
    let lines = std::fs::read_to_string(&ran).unwrap_or_default();
    assert!(!lines.contains("DROP"), "the client ran: {lines:?}");
}

#[test]
fn a_line_the_client_draws_late_is_read_once_drawn() {
    let (bench, _stand_ins, ran) = slow_client(&[]);
    let db = bench.work.path().join("late.db");
    let mut s = bench.wrap("sqlite3", &[db.to_str().expect("utf-8")]);
    s.expect("sqlite>");
    // Pasted with its Enter, then typed in two bursts.
    s.send("DROP TABLE t;\r");
    s.expect("backstop: refused `DROP TABLE t;`");
    s.expect("sqlite>");
    s.send("DROP TA");
    s.send("BLE t;");
    s.send("\r");
    s.expect("backstop: refused `DROP TABLE t;`");
    s.expect("sqlite>");
    s.send("SELECT 1;\r");
    s.expect("SELECT 1;");
    assert_eq!(s.exit(".quit"), 0);
    let lines = std::fs::read_to_string(&ran).expect("the stand-in ran lines");
    assert!(!lines.contains("DROP"), "the client ran: {lines:?}");
    assert!(lines.contains("SELECT 1;"), "{lines:?}");
}

/// With the shell hook and `--wrap-clients` both installed, `psql -c 'DROP…'` was
/// asked about twice: by the hook for the line, by `wrap` for psql's arguments. The
/// approval given at the prompt now carries to the `wrap` that the same shell starts,
/// and to no other.
#[test]
fn a_line_approved_at_the_shell_prompt_is_not_asked_again_by_wrap() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.psql("postgres", "CREATE DATABASE app;");
    server.psql("app", "CREATE TABLE t (a int); CREATE TABLE u (a int);");
    let bench = Bench::new(server.env());
    bench.back_up("postgres:app");
    let profile = bench.file(".bashrc", "PS1='SH''> '\n");
    let p = profile.to_str().expect("utf-8");
    bench.backstop(&["install", "bash", "--wrap-clients", "--profile", p]);
    let bash = on_path("bash").expect("bash");
    let mut sh = Pty::spawn_clean(bench.command(&bash, &["--rcfile", p, "-i"]));
    sh.expect("SH> ");
    sh.line("psql -X -d app -c 'DROP TABLE t'");
    sh.expect("type PROCEED to run it");
    sh.line("PROCEED");
    let out = sh.expect("SH> ");
    assert!(out.contains("DROP TABLE"), "psql ran it: {out}");
    assert!(
        !out.contains("needs your approval"),
        "asked a second time: {out}"
    );
    // A wrap that the shell did not start itself (here an inner bash does) is asked
    // again: the prompt's approval is not handed on.
    let backstop = env!("CARGO_BIN_EXE_backstop");
    sh.line(&format!(
        "bash -c \"{backstop} wrap psql -X -d app -c 'DROP TABLE u'; echo INNER''DONE\""
    ));
    sh.expect("type PROCEED to run it");
    sh.line("PROCEED");
    sh.expect("type PROCEED to run it");
    sh.line("no");
    let out = sh.expect("INNERDONE");
    assert!(out.contains("not approved"), "{out}");
    assert_eq!(sh.exit("exit"), 0);
    assert_eq!(
        server.psql(
            "app",
            "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'"
        ),
        "u"
    );
}

/// Approval is for a person: under a coding agent (here only its variable) `wrap`
/// never asks, and typing the phrase sends nothing.
#[test]
fn under_a_coding_agent_wrap_never_asks() {
    let Some(server) = PgServer::start() else {
        return;
    };
    server.psql("postgres", "CREATE DATABASE app;");
    server.psql("app", "CREATE TABLE t (a int); INSERT INTO t VALUES (1);");
    let mut env = server.env();
    env.push(("CLAUDECODE".into(), "1".into()));
    let bench = Bench::new(env);
    bench.back_up("postgres:app");
    let mut psql = bench.wrap("psql", &["-X", "app"]);
    psql.expect("app=#");
    psql.line("DROP TABLE t;");
    let out = psql.expect("backstop does not ask here");
    assert!(!out.contains("type PROCEED"), "it asked: {out}");
    psql.line("PROCEED");
    psql.expect("app=#");
    assert_eq!(psql.exit("\\q"), 0);
    assert_eq!(server.psql("app", "SELECT count(*) FROM t"), "1");
}
