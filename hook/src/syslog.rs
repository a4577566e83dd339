//! Forwarding audit records to a team's syslog collector, as RFC 5424 messages with
//! structured data, besides the local hash-chained log (`audit.rs`).
//!
//! The local log is the record; forwarding is best effort. A collector that is down,
//! slow or unreachable never fails a decision and never holds it up for longer than
//! [`BOUND`]: the message is sent from a thread that the decision waits on for at most
//! that long, so a name lookup, a connect or a write that hangs is left behind (the
//! process ends soon after, with it). A record that could not be forwarded leaves its
//! error in `audit.syslog-error` beside the log, for `backstop doctor`.
//!
//! A small writer rather than the `syslog` or `fasyslog` crates: both connect and
//! write without a time limit (the bound would need this thread anyway), and each
//! brings a date-time crate and a host-name crate into a binary that starts before
//! every command; the format is a few lines, and the tests check it against a real
//! `rsyslogd`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::audit::Record;
use crate::config::Dirs;

/// The longest a decision waits for a record to be forwarded.
pub const BOUND: Duration = Duration::from_millis(250);

/// The structured-data id: `name@PEN`, with the private enterprise number RFC 5612
/// reserves for documentation (backstop has none of its own).
pub const SD_ID: &str = "backstop@32473";

/// A command line longer than this is cut in the message (its SHA-256 is of the
/// whole line): a UDP datagram must stay under what collectors take (rsyslog: 8 KiB).
const LINE_MAX: usize = 2048;

/// Where records go: `[audit] syslog` in config.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The system's own syslog socket (`/dev/log`; `/var/run/syslog` on macOS).
    Local,
    /// A unix socket of a collector's own.
    Unix(PathBuf),
    /// `HOST:PORT`, one datagram per record (RFC 5426).
    Udp(String),
    /// `HOST:PORT`, octet-counted frames (RFC 6587).
    Tcp(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Local => write!(f, "local"),
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::Udp(a) => write!(f, "udp:{a}"),
            Target::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

impl Target {
    /// `local`, `unix:PATH`, `udp:HOST:PORT` or `tcp:HOST:PORT`; the error is a
    /// sentence for the person who wrote it.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        let unix_only = |what: &str| {
            if cfg!(unix) {
                Ok(())
            } else {
                Err(format!(
                    "`{what}` is a unix socket, which Windows has not; use udp:HOST:PORT or tcp:HOST:PORT"
                ))
            }
        };
        if text == "local" {
            unix_only(text)?;
            return Ok(Target::Local);
        }
        if let Some(path) = text.strip_prefix("unix:") {
            unix_only(text)?;
            if !Path::new(path).is_absolute() {
                return Err(format!(
                    "`{text}`: write the socket's absolute path, unix:/PATH"
                ));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        let (scheme, addr) = text.split_once(':').unwrap_or((text, ""));
        let valid_addr = addr.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        match scheme {
            "udp" | "tcp" if valid_addr => Ok(if scheme == "udp" {
                Target::Udp(addr.to_string())
            } else {
                Target::Tcp(addr.to_string())
            }),
            "udp" | "tcp" => Err(format!(
                "`{text}` names no port; write {scheme}:HOST:PORT (e.g. {scheme}:logs.example.com:514)"
            )),
            _ => {
                let hint = backstop_rules::error::suggest(scheme, &["local", "unix", "udp", "tcp"])
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                Err(format!(
                    "`{text}` is not \"local\", \"unix:PATH\", \"udp:HOST:PORT\" or \"tcp:HOST:PORT\"{hint}"
                ))
            }
        }
    }
}

/// Syslog facilities a team may route backstop's records by.
pub const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("authpriv", 10),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// A facility by name: `auth`, `local0` ….
pub fn facility(name: &str) -> Result<u8, String> {
    FACILITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
        .ok_or_else(|| {
            let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
            let hint = backstop_rules::error::suggest(name, &names)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            format!(
                "`{name}` is not a syslog facility{hint}; one of {}",
                names.join(", ")
            )
        })
}

/// The severity of an event: what a team alerts on is a warning or a notice.
fn severity(event: &str) -> u8 {
    match event {
        // A command refused, outright or by the person, and one run unchecked.
        "deny" | "refused" | "allowed-unchecked" => 4,
        // A person approved a destructive command.
        "approved" => 5,
        _ => 6,
    }
}

/// `2026-12-07T12:21:32Z` for seconds since the Unix epoch.
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day number.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A header field: printable US-ASCII without spaces, at most `max` long, `-` when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".into()
    } else {
        field
    }
}

/// An SD-PARAM value: `\`, `"` and `]` escaped (RFC 5424 §6.3.3).
fn param_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '"' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The text cut at `max` bytes on a character boundary, and whether it was cut.
fn cut(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// This machine's name, for the HOSTNAME field.
fn hostname() -> String {
    #[cfg(unix)]
    {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

/// The person the record is about, as the environment names them.
fn user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_default()
}

/// The RFC 5424 message for `record`; `hash` is the SHA-256 of its line in the log,
/// which the next record names as `prev`, so a collector can see the chain unbroken.
pub fn message(record: &Record, hash: &str, facility: u8) -> String {
    let pri = u16::from(facility) * 8 + u16::from(severity(&record.event));
    let (line, line_cut) = cut(&record.line, LINE_MAX);
    let mut sd = format!("[{SD_ID}");
    let mut param = |name: &str, value: &str| {
        let _ = write!(sd, " {name}=\"{}\"", param_value(value));
    };
    param("seq", &record.seq.to_string());
    param("event", &record.event);
    param("source", &record.source);
    if !record.session.is_empty() {
        param("session", &record.session);
    }
    let who = user();
    if !who.is_empty() {
        param("user", &who);
    }
    param("line", line);
    if line_cut {
        param("line_cut", "true");
    }
    param("line_sha256", &record.line_sha256);
    if !record.rules.is_empty() {
        param("rules", &record.rules.join(","));
    }
    if !record.targets.is_empty() {
        let targets: Vec<String> = record
            .targets
            .iter()
            .map(|t| match &t.manifest {
                Some(m) => format!("{}:{} (backup {}, {m})", t.kind, t.value, t.backup),
                None => format!("{}:{} (backup {})", t.kind, t.value, t.backup),
            })
            .collect();
        let joined = targets.join("; ");
        param("targets", cut(&joined, LINE_MAX).0);
    }
    if !record.detail.is_empty() {
        let (detail, _) = cut(&record.detail, LINE_MAX);
        param("detail", detail);
    }
    // A probe (`backstop doctor`) is in no chain.
    if !record.prev.is_empty() {
        param("prev", &record.prev);
    }
    if !hash.is_empty() {
        param("hash", hash);
    }
    sd.push(']');
    // The message itself, for a person reading the collector's log: one line.
    let rules = if record.rules.is_empty() {
        String::new()
    } else {
        format!(" ({})", record.rules.join(", "))
    };
    let text: String = format!("{} `{line}`{rules}", record.event)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "<{pri}>1 {} {} backstop {} {} {sd} {text}",
        rfc3339(record.time),
        header_field(&hostname(), 255),
        std::process::id(),
        header_field(&record.event, 32),
    )
}

/// Send one message to `target`, each step bounded by `limit` where the OS allows.
pub fn send(target: &Target, message: &str, limit: Duration) -> std::io::Result<()> {
    match target {
        Target::Udp(addr) => {
            let to = resolve(addr)?;
            let from = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let socket = std::net::UdpSocket::bind(from)?;
            socket.set_write_timeout(Some(limit))?;
            socket.send_to(message.as_bytes(), to).map(drop)
        }
        Target::Tcp(addr) => {
            let to = resolve(addr)?;
            let mut stream = std::net::TcpStream::connect_timeout(&to, limit)?;
            stream.set_write_timeout(Some(limit))?;
            // Octet counting (RFC 6587 §3.4.1): a line may hold a newline.
            stream.write_all(format!("{} {message}", message.len()).as_bytes())?;
            stream.flush()
        }
        #[cfg(unix)]
        Target::Local => send_unix(local_socket(), message, limit),
        #[cfg(unix)]
        Target::Unix(path) => send_unix(path, message, limit),
        #[cfg(not(unix))]
        Target::Local | Target::Unix(_) => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "Windows has no syslog socket",
        )),
    }
}

fn resolve(addr: &str) -> std::io::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs as _;
    addr.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{addr} resolves to no address"),
        )
    })
}

/// The system's syslog socket.
#[cfg(unix)]
pub fn local_socket() -> &'static Path {
    if cfg!(target_os = "macos") {
        Path::new("/var/run/syslog")
    } else {
        Path::new("/dev/log")
    }
}

/// A datagram where the socket takes them (journald, rsyslog's imuxsock), else a
/// stream with one message per connection, ended by a newline.
#[cfg(unix)]
fn send_unix(path: &Path, message: &str, limit: Duration) -> std::io::Result<()> {
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    socket.set_write_timeout(Some(limit))?;
    match socket.connect(path) {
        Ok(()) => socket.send(message.as_bytes()).map(drop),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PROTOTYPE.raw_os_error()) => {
            let mut stream = std::os::unix::net::UnixStream::connect(path)?;
            stream.set_write_timeout(Some(limit))?;
            stream.write_all(format!("{message}\n").as_bytes())
        }
        Err(e) => Err(e),
    }
}

/// Where the last forwarding error is kept for `backstop doctor`.
pub fn error_file(dirs: &Dirs) -> PathBuf {
    dirs.data.join("audit.syslog-error")
}

/// Forward `record` to the configured collector, if one is; waits at most [`BOUND`].
pub fn forward(dirs: &Dirs, record: &Record, hash: &str) {
    let Ok(settings) = crate::settings::Settings::load(dirs) else {
        return;
    };
    let Some(target) = settings.audit.syslog.clone() else {
        return;
    };
    let message = message(record, hash, settings.audit.facility);
    let (done, wait) = std::sync::mpsc::channel();
    let to = target.clone();
    let spawned = std::thread::Builder::new()
        .name("syslog".into())
        .spawn(move || {
            let _ = done.send(send(&to, &message, BOUND));
        });
    let failure = match spawned {
        Err(e) => Some(format!("could not start the sending thread: {e}")),
        Ok(_) => match wait.recv_timeout(BOUND) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {} ms", BOUND.as_millis())),
        },
    };
    if let Some(why) = failure {
        let note = format!(
            "{} record {} could not be forwarded to {target}: {why}\n",
            record.time, record.seq
        );
        let _ = std::fs::write(error_file(dirs), note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_typos_are_named() {
        assert_eq!(
            Target::parse("udp:127.0.0.1:514"),
            Ok(Target::Udp("127.0.0.1:514".into()))
        );
        assert_eq!(
            Target::parse("tcp:[::1]:601"),
            Ok(Target::Tcp("[::1]:601".into()))
        );
        assert_eq!(
            Target::parse("tcp:logs.example.com:6514"),
            Ok(Target::Tcp("logs.example.com:6514".into()))
        );
        if cfg!(unix) {
            assert_eq!(Target::parse("local"), Ok(Target::Local));
            assert_eq!(
                Target::parse("unix:/run/collector.sock"),
                Ok(Target::Unix("/run/collector.sock".into()))
            );
            assert!(Target::parse("unix:rel.sock")
                .unwrap_err()
                .contains("absolute"));
        }
        assert!(Target::parse("udp:logs")
            .unwrap_err()
            .contains("names no port"));
        assert!(Target::parse("tcp:logs:0")
            .unwrap_err()
            .contains("names no port"));
        let e = Target::parse("tpc:logs:514").unwrap_err();
        assert!(e.contains("did you mean `tcp`?"), "{e}");
    }

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_646_092), "2026-12-07T12:21:32Z");
    }

    #[test]
    fn the_message_is_rfc5424_with_escaped_structured_data() {
        let record = Record {
            seq: 7,
            time: 1_796_646_092,
            event: "deny".into(),
            source: "bash".into(),
            session: "42".into(),
            line: "rm -rf \"my ]dir\\\"\nx".into(),
            line_sha256: "ab".into(),
            rules: vec!["fs.rm-recursive".into()],
            targets: Vec::new(),
            detail: String::new(),
            prev: "00".into(),
        };
        let m = message(&record, "cd", facility("auth").unwrap());
        // auth (4) * 8 + warning (4)
        assert!(m.starts_with("<36>1 2026-12-07T12:21:32Z "), "{m}");
        assert!(
            m.contains(" backstop ")
                && m.contains(" deny [backstop@32473 seq=\"7\" event=\"deny\""),
            "{m}"
        );
        assert!(
            m.contains(
                r#" line="rm -rf \"my \]dir\\\"
x""#
            ),
            "{m}"
        );
        assert!(m.contains(r#" rules="fs.rm-recursive""#), "{m}");
        assert!(m.contains(r#" prev="00" hash="cd"]"#), "{m}");
        // The free-text part is one line.
        assert!(
            m.ends_with("deny `rm -rf \"my ]dir\\\" x` (fs.rm-recursive)"),
            "{m}"
        );
    }

    #[test]
    fn a_long_line_is_cut_on_a_character_boundary() {
        let long = "é".repeat(LINE_MAX);
        let (c, was) = cut(&long, LINE_MAX);
        assert!(was && c.len() <= LINE_MAX && c.chars().all(|ch| ch == 'é'));
        assert_eq!(facility("local7"), Ok(23));
        assert!(facility("locl0")
            .unwrap_err()
            .contains("did you mean `local0`?"));
    }
}
