//! Has the client finished acting on the keys it read? On Linux the kernel says:
//! `/proc/PID/syscall` names the system call a task is blocked in ("running" when it
//! is on a CPU or about to be), and `/proc/PID/status` counts its context switches.
//!
//! A client waiting for input is blocked in `read` on the terminal or in one of the
//! calls that wait for a file descriptor (`poll`, `select`, `epoll_wait` and their
//! kin): readline, libedit and linenoise block in `read` or `pselect6`, node (mongosh)
//! in `epoll_pwait` on its main thread, which is the one that reads the terminal
//! and writes to it (its other threads are V8's and libuv's workers). A client
//! blocked anywhere else (in `write` because the terminal's output queue is full, in
//! `futex`, in a page fault) is still acting on what it read.

use std::os::unix::fs::MetadataExt as _;

/// What the client's main thread is doing.
#[derive(Debug, PartialEq, Eq)]
pub enum State {
    /// Blocked waiting for input; its context switches so far, to tell later whether
    /// it has run since.
    Waiting { switches: u64 },
    /// Anything else, said for a person.
    Busy(String),
}

/// `read`, and the calls that wait for a descriptor to be ready, by architecture.
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const READ: i64 = 0;
    /// poll, select, epoll_wait, pselect6, ppoll, epoll_pwait, epoll_pwait2.
    pub const WAITS: &[i64] = &[7, 23, 232, 270, 271, 281, 441];
}
/// The generic table (asm-generic/unistd.h): arm64, riscv64, loongarch64.
#[cfg(any(
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
))]
mod nr {
    pub const READ: i64 = 63;
    /// epoll_pwait, pselect6, ppoll, epoll_pwait2.
    pub const WAITS: &[i64] = &[22, 72, 73, 441];
}
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)))]
mod nr {
    pub const READ: i64 = i64::MIN;
    pub const WAITS: &[i64] = &[];
}

/// The state of process `pid`'s main thread; `tty` is the terminal's device number
/// (a `read` counts only when it reads the terminal). An error when the kernel does
/// not say (no `/proc`, or not allowed to look): the screen cannot be proven final.
pub fn state(pid: u32, tty: u64) -> Result<State, String> {
    let switches = switches(pid)?;
    let path = format!("/proc/{pid}/syscall");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path} ({e})"))?;
    Ok(parse(&text, switches, |fd| {
        std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).is_ok_and(|m| m.rdev() == tty)
    }))
}

/// The context switches of `pid`'s main thread, voluntary and not: unchanged between
/// two looks, it has not run in between.
pub fn switches(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path} ({e})"))?;
    let mut total = None::<u64>;
    for line in text.lines() {
        if let Some(v) = line
            .strip_prefix("voluntary_ctxt_switches:")
            .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        {
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{path}: unreadable `{line}`"))?;
            total = Some(total.unwrap_or(0) + n);
        }
    }
    total.ok_or_else(|| format!("{path} does not count context switches"))
}

fn parse(text: &str, switches: u64, reads_tty: impl Fn(u64) -> bool) -> State {
    let mut words = text.split_whitespace();
    let busy = |what: String| State::Busy(what);
    let Some(first) = words.next() else {
        return busy("in an unknown state".into());
    };
    if first == "running" {
        return busy("running".into());
    }
    let Ok(number) = first.parse::<i64>() else {
        return busy(format!("in an unknown state ({first})"));
    };
    if number < 0 {
        return busy("blocked outside any system call (a page fault?)".into());
    }
    if nr::WAITS.contains(&number) {
        return State::Waiting { switches };
    }
    if number == nr::READ {
        let fd = words
            .next()
            .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok());
        if fd.is_some_and(reads_tty) {
            return State::Waiting { switches };
        }
        return busy("reading something other than the terminal".into());
    }
    busy(format!("in system call {number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_for_input_is_told_from_everything_else() {
        let tty = |fd| fd == 0;
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(
                parse("270 0x1 0x7ffd 0x0 0x0 0x0 0x0 0x7ffc 0x7f00", 5, tty),
                State::Waiting { switches: 5 },
                "readline's pselect6"
            );
            assert_eq!(
                parse("0 0x0 0x7ffc 0x1 0x0 0x0 0x0 0x7ffc 0x7f00", 5, tty),
                State::Waiting { switches: 5 },
                "linenoise's read of the terminal"
            );
            assert!(matches!(
                parse("0 0x5 0x7ffc 0x1 0x0 0x0 0x0 0x7ffc 0x7f00", 5, tty),
                State::Busy(_)
            ));
            assert!(matches!(
                parse("1 0x1 0x7ffc 0x10 0x0 0x0 0x0 0x7ffc 0x7f00", 5, tty),
                State::Busy(_)
            ));
        }
        assert!(matches!(parse("running\n", 5, tty), State::Busy(_)));
        assert!(matches!(
            parse("-1 0x7ffc 0x7f00\n", 5, tty),
            State::Busy(_)
        ));
    }

    #[test]
    fn this_process_is_seen() {
        let me = std::process::id();
        // The test thread reads its own state: it is running.
        assert!(switches(me).is_ok());
        assert!(matches!(state(me, 0), Ok(State::Busy(_))));
    }
}
