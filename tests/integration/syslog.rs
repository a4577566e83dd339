//! `[audit] syslog`: every audit record also goes to a real `rsyslogd`, started by the
//! test with a configuration of its own (a private unix socket, a loopback UDP port and
//! a loopback TCP port, everything written to one file the test reads). A collector
//! that is down or stopped never fails a decision and never holds it up past the bound.
//!
//! Without rsyslogd the tests skip, unless `BACKSTOP_REQUIRE_SERVICES` is set
//! (scripts/test.sh sets it and installs Debian's rsyslog), when they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Test;

/// How long anything the collector does may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// A line refused for want of a backup (under a home outside /tmp).
const LINE: &str = "rm -rf /home/tester/data";

fn required() -> bool {
    std::env::var_os("BACKSTOP_REQUIRE_SERVICES").is_some_and(|v| !v.is_empty() && v != "0")
}

fn rsyslogd() -> Option<PathBuf> {
    let found = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !required(),
            "rsyslogd is required (BACKSTOP_REQUIRE_SERVICES) but is not installed"
        );
        eprintln!("SKIPPED: no rsyslogd (scripts/test.sh installs Debian's rsyslog)");
    }
    found
}

/// A free loopback port, for the collector to take a moment later.
fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free UDP port")
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free TCP port")
            .port()
    }
}

/// An rsyslogd of the test's own, stopped when dropped.
struct Collector {
    child: Child,
    dir: tempfile::TempDir,
    udp: u16,
    tcp: u16,
}

impl Collector {
    fn start() -> Option<Collector> {
        let bin = rsyslogd()?;
        let dir = tempfile::tempdir().expect("tmp");
        let (udp, tcp) = (free_port(true), free_port(false));
        let d = dir.path().display();
        let conf = format!(
            r#"global(workDirectory="{d}" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{d}/log.sock" UseSpecialParser="off" ParseHostname="on")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="record" type="string" string="%inputname% %syslogfacility-text% %syslogseverity-text% %app-name% %msgid% %structured-data% %msg%\n")
*.* action(type="omfile" file="{d}/received.log" template="record")
"#
        );
        let conf_path = dir.path().join("rsyslog.conf");
        std::fs::write(&conf_path, conf).expect("write rsyslog.conf");
        let child = Command::new(&bin)
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd");
        let c = Collector {
            child,
            dir,
            udp,
            tcp,
        };
        // Ready when a probe sent on each input has been written out.
        let deadline = Instant::now() + PATIENCE;
        let probe = |n: u32| format!("<14>1 - - probe - ready{n} - ready");
        loop {
            let _ = std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.send_to(probe(1).as_bytes(), ("127.0.0.1", udp)));
            let _ = std::net::TcpStream::connect(("127.0.0.1", tcp)).and_then(|mut s| {
                use std::io::Write as _;
                let m = probe(2);
                s.write_all(format!("{} {m}", m.len()).as_bytes())
            });
            let _ = std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.send_to(probe(3).as_bytes(), c.socket()));
            let got = c.received();
            if (1..=3).all(|n| got.contains(&format!("ready{n}"))) {
                return Some(c);
            }
            assert!(Instant::now() < deadline, "rsyslogd did not start:\n{got}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("log.sock")
    }

    fn received(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("received.log")).unwrap_or_default()
    }

    /// The line rsyslogd wrote for the record with this `seq` from `input`.
    fn wait_for(&self, input: &str, seq: u64) -> String {
        let deadline = Instant::now() + PATIENCE;
        let want = format!("seq=\"{seq}\"");
        loop {
            let got = self.received();
            if let Some(l) = got
                .lines()
                .find(|l| l.starts_with(&format!("{input} ")) && l.contains(&want))
            {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "record {seq} did not arrive through {input}:\n{got}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(ok.success());
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.signal("CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_syslog(target: &str) -> Test {
    let t = Test::new();
    let mut config = std::fs::read_to_string(t.home().join("config.toml")).expect("config");
    config.push_str(&format!("[audit]\nsyslog = \"{target}\"\n"));
    std::fs::write(t.home().join("config.toml"), config).expect("write config.toml");
    t
}

/// The local log's records, as written.
fn local_log(home: &Path) -> Vec<String> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn sha256(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn every_record_reaches_rsyslog_with_its_structured_data() {
    let Some(c) = Collector::start() else { return };
    for (target, input) in [
        (format!("unix:{}", c.socket().display()), "imuxsock"),
        (format!("udp:127.0.0.1:{}", c.udp), "imudp"),
        (format!("tcp:127.0.0.1:{}", c.tcp), "imtcp"),
    ] {
        let t = with_syslog(&target);
        // A line with the characters structured data must escape, and a newline.
        let odd = "rm -rf \"/home/tester/my ]dir\\\"\nls";
        t.clone_home()
            .args(["hook", "--session", "77", "--", LINE])
            .code(2);
        t.clone_home().args(["hook", "--", odd]).code(2);
        let first = c.wait_for(input, 1);
        let log = local_log(t.home());
        assert_eq!(log.len(), 2, "{log:?}");
        // facility auth, severity warning (a refusal), app-name and msgid.
        assert!(
            first.starts_with(&format!("{input} auth warning backstop deny [backstop@32473 seq=\"1\" event=\"deny\" source=\"bash\" session=\"77\"")),
            "{first}"
        );
        for part in [
            format!("line=\"{LINE}\""),
            format!("line_sha256=\"{}\"", sha256(LINE)),
            "rules=\"fs.rm-recursive\"".into(),
            "targets=\"path:/home/tester/data (backup missing)\"".into(),
            format!("prev=\"{}\"", "0".repeat(64)),
            // The record's own hash, which the next one names as prev: a collector
            // sees a gap or an edit in the chain.
            format!("hash=\"{}\"", sha256(&log[0])),
            format!("] deny `{LINE}` (fs.rm-recursive)"),
        ] {
            assert!(first.contains(&part), "{part} is not in\n{first}");
        }
        let second = c.wait_for(input, 2);
        assert!(
            second.contains(&format!("prev=\"{}\"", sha256(&log[0]))),
            "{second}"
        );
        assert!(
            second.contains(&format!("line_sha256=\"{}\"", sha256(odd))),
            "{second}"
        );
        // Escaped as RFC 5424 says; rsyslog writes the newline as #012.
        assert!(
            second.contains(r##"line="rm -rf \"/home/tester/my \]dir\\\"#012ls""##),
            "{second}"
        );
        assert!(!t.home().join("data/audit.syslog-error").exists());
        // The next target starts a log of its own, with seq 1 again: clear what came.
        std::fs::write(c.dir.path().join("received.log"), "").expect("truncate");
    }
}

#[test]
fn a_collector_that_is_down_or_stopped_does_not_fail_or_hold_up_a_decision() {
    let Some(c) = Collector::start() else { return };
    // Nothing listens on this port any more: the connection is refused at once.
    let closed = free_port(false);
    let t = with_syslog(&format!("tcp:127.0.0.1:{closed}"));
    let r = t.clone_home().args(["check", "--json", LINE]).code(2);
    assert_eq!(r.json()["decision"], "deny");
    t.clone_home().args(["hook", "--", LINE]).code(2);
    assert_eq!(local_log(t.home()).len(), 1, "the local log is the record");
    let error = std::fs::read_to_string(t.home().join("data/audit.syslog-error"))
        .expect("the failure is noted for doctor");
    assert!(
        error.contains(&format!(
            "record 1 could not be forwarded to tcp:127.0.0.1:{closed}"
        )),
        "{error}"
    );

    // A collector that has stopped reading: its socket's queue is full, and a plain
    // send would wait until it reads again, which a stopped process never does.
    c.signal("STOP");
    // One socket stops at its own send buffer before the collector's queue is full
    // (a fresh socket, like backstop's, would still get through): fill from new
    // sockets until a fresh one cannot send either.
    let mut fillers = Vec::new();
    let mut queued = 0;
    loop {
        let filler = std::os::unix::net::UnixDatagram::unbound().expect("socket");
        filler.set_nonblocking(true).expect("nonblocking");
        let mut sent = 0;
        while filler
            .send_to(b"<14>1 - - filler - - - x", c.socket())
            .is_ok()
        {
            sent += 1;
            queued += 1;
            assert!(queued < 1_000_000, "the collector's queue never filled");
        }
        fillers.push(filler);
        if sent == 0 {
            break;
        }
    }
    let t = with_syslog(&format!("unix:{}", c.socket().display()));
    let started = Instant::now();
    t.clone_home().args(["hook", "--", LINE]).code(2);
    let took = started.elapsed();
    // Not a measurement (scripts/bench-syslog.sh measures): without the bound the
    // decision would wait for as long as the collector stays stopped.
    assert!(
        took < Duration::from_secs(10),
        "the decision waited {took:?}"
    );
    assert_eq!(local_log(t.home()).len(), 1);
    let error = std::fs::read_to_string(t.home().join("data/audit.syslog-error"))
        .expect("the failure is noted for doctor");
    assert!(error.contains("could not be forwarded to unix:"), "{error}");
    c.signal("CONT");
}

fn doctor_check(t: &Test, name: &str) -> serde_json::Value {
    let r = t.clone_home().args(["doctor", "--json"]).run();
    let v = r.json();
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["area"] == "audit" && c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no audit check {name}: {v:#}"))
}

#[test]
fn doctor_tests_forwarding_and_reports_records_that_were_not_forwarded() {
    let Some(c) = Collector::start() else { return };
    let t = with_syslog(&format!("tcp:127.0.0.1:{}", c.tcp));
    let check = doctor_check(&t, "syslog");
    assert_eq!(check["status"], "ok", "{check:#}");
    let deadline = Instant::now() + PATIENCE;
    while !c
        .received()
        .contains("imtcp auth info backstop doctor [backstop@32473 seq=\"0\" event=\"doctor\"")
    {
        assert!(
            Instant::now() < deadline,
            "no test message:\n{}",
            c.received()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let closed = free_port(false);
    let t = with_syslog(&format!("tcp:127.0.0.1:{closed}"));
    t.clone_home().args(["hook", "--", LINE]).code(2);
    let check = doctor_check(&t, "syslog");
    assert_eq!(check["status"], "fail", "{check:#}");
    assert!(
        check["fix"]
            .as_str()
            .is_some_and(|f| f.contains("start the collector")),
        "{check:#}"
    );
    let note = doctor_check(&t, "forwarding");
    assert_eq!(note["status"], "warn", "{note:#}");
    assert!(
        note["summary"]
            .as_str()
            .is_some_and(|s| s.contains("record 1 could not be forwarded")),
        "{note:#}"
    );
}
