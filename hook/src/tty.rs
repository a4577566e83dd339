//! Asking the person at the controlling terminal, and no one else.
//!
//! The phrase is read from `/dev/tty` (`CONIN$` on Windows), never from stdin, an
//! argument or the environment: a script or an agent has no terminal to type on.
//! The line editors leave the terminal raw, so its mode is set here and restored
//! after; type-ahead is discarded so that keys pressed before the question cannot
//! answer it; Ctrl-C, Ctrl-D, a wrong phrase and a timeout all refuse.

/// How the person answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approved,
    Refused(String),
    /// There is no terminal to ask on.
    NoTerminal,
}

#[cfg(unix)]
pub use unix::ask;

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io::{IsTerminal as _, Read as _, Write as _};
    use std::time::{Duration, Instant};

    use rustix::event::{poll, PollFd, PollFlags};
    use rustix::termios::{
        tcflush, tcgetattr, tcsetattr, InputModes, LocalModes, OptionalActions, OutputModes,
        QueueSelector, SpecialCodeIndex, Termios,
    };

    use super::Answer;

    /// Puts the saved mode back however the question ends.
    struct Restore<'a> {
        tty: &'a File,
        saved: Termios,
    }

    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = tcsetattr(self.tty, OptionalActions::Now, &self.saved);
        }
    }

    /// Write `question` on the terminal and read the phrase, with a deadline.
    pub fn ask(question: &str, phrase: &str, timeout: Duration) -> Answer {
        let Ok(tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return Answer::NoTerminal;
        };
        if !tty.is_terminal() {
            return Answer::NoTerminal;
        }
        let Ok(saved) = tcgetattr(&tty) else {
            return Answer::NoTerminal;
        };
        let _restore = Restore {
            tty: &tty,
            saved: saved.clone(),
        };
        let mut mode = saved;
        // Byte at a time, no echo and no signals: Ctrl-C arrives as a byte and
        // refuses, instead of killing backstop (which the shell would take as a
        // crash, and run the line).
        mode.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN);
        mode.input_modes.insert(InputModes::ICRNL);
        mode.input_modes.remove(InputModes::IXON);
        mode.output_modes
            .insert(OutputModes::OPOST | OutputModes::ONLCR);
        mode.special_codes[SpecialCodeIndex::VMIN] = 1;
        mode.special_codes[SpecialCodeIndex::VTIME] = 0;
        if tcsetattr(&tty, OptionalActions::Now, &mode).is_err() {
            return Answer::NoTerminal;
        }
        // Keys typed before the question was shown must not answer it.
        let _ = tcflush(&tty, QueueSelector::IFlush);
        let mut out = &tty;
        let _ = out.write_all(question.as_bytes());
        let _ = out.flush();
        let answer = read_phrase(&tty, timeout);
        let _ = out.write_all(b"\r\n");
        match answer {
            Ok(typed) if typed == phrase => Answer::Approved,
            Ok(typed) if typed.is_empty() => Answer::Refused("nothing was typed".into()),
            Ok(_) => Answer::Refused("the phrase typed was not the one asked for".into()),
            Err(why) => Answer::Refused(why.into()),
        }
    }

    fn read_phrase(tty: &File, timeout: Duration) -> Result<String, &'static str> {
        let deadline = Instant::now() + timeout;
        // Bytes, so a name with non-ASCII letters can be typed too.
        let mut typed: Vec<u8> = Vec::new();
        let mut out = tty;
        let erase_char = |typed: &mut Vec<u8>| {
            // Back over one UTF-8 character: its continuation bytes, then its start.
            while typed.last().is_some_and(|b| b & 0xc0 == 0x80) {
                typed.pop();
            }
            typed.pop().is_some()
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("no answer before the time ran out");
            }
            let ts = rustix::time::Timespec {
                tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: left.subsec_nanos().into(),
            };
            let mut fds = [PollFd::new(tty, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return Err("the terminal could not be read"),
            }
            let mut byte = [0u8];
            match (&*tty).read(&mut byte) {
                Ok(0) => return Err("the terminal closed (end of input)"),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err("the terminal could not be read"),
            }
            match byte[0] {
                b'\n' | b'\r' => return Ok(String::from_utf8_lossy(&typed).into_owned()),
                3 => return Err("cancelled with Ctrl-C"),
                4 => return Err("cancelled with Ctrl-D"),
                0x1b => return Err("cancelled with Escape"),
                8 | 0x7f if erase_char(&mut typed) => {
                    let _ = out.write_all(b"\x08 \x08");
                }
                // Backspace on an empty answer: nothing to erase.
                8 | 0x7f => {}
                // Ctrl-U erases the line, as in a cooked terminal.
                0x15 => {
                    while erase_char(&mut typed) {
                        let _ = out.write_all(b"\x08 \x08");
                    }
                }
                b if b >= 0x20 && typed.len() < 1024 => {
                    typed.push(b);
                    let _ = out.write_all(&byte);
                }
                _ => {}
            }
        }
    }
}

#[cfg(windows)]
pub fn ask(question: &str, phrase: &str, _timeout: std::time::Duration) -> Answer {
    use std::io::{BufRead as _, Write as _};
    // The console itself, not stdin: a pipe cannot answer.
    let (Ok(input), Ok(mut output)) = (
        std::fs::File::open("CONIN$"),
        std::fs::OpenOptions::new().write(true).open("CONOUT$"),
    ) else {
        return Answer::NoTerminal;
    };
    let _ = output.write_all(question.as_bytes());
    let mut line = String::new();
    match std::io::BufReader::new(input).read_line(&mut line) {
        Ok(0) | Err(_) => Answer::Refused("the console closed".into()),
        Ok(_) if line.trim_end_matches(['\r', '\n']) == phrase => Answer::Approved,
        Ok(_) => Answer::Refused("the phrase typed was not the one asked for".into()),
    }
}

#[cfg(not(any(unix, windows)))]
pub fn ask(_question: &str, _phrase: &str, _timeout: std::time::Duration) -> Answer {
    Answer::NoTerminal
}
