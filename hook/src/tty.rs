//! Asking the person at the controlling terminal, and no one else.
//!
//! The phrase is read from `/dev/tty` (`CONIN$` on Windows), never from stdin, an
//! argument or the environment; and never asked for under a coding agent
//! ([`crate::coding_agent`]), which can open a pseudo-terminal and type into it.
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

/// What one key typed at the question does.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    /// The answer is in (Enter), or the question was cancelled.
    Done(Result<String, &'static str>),
    /// Show these bytes on the terminal (an echoed character, or erasing some).
    Echo(Vec<u8>),
    Ignored,
}

/// The phrase being typed, one byte at a time (UTF-8), as a cooked terminal edits it.
#[derive(Debug, Default)]
struct Typing {
    // Bytes, so a name with non-ASCII letters can be typed too.
    typed: Vec<u8>,
}

impl Typing {
    fn key(&mut self, byte: u8) -> Key {
        match byte {
            b'\n' | b'\r' => Key::Done(Ok(String::from_utf8_lossy(&self.typed).into_owned())),
            3 => Key::Done(Err("cancelled with Ctrl-C")),
            4 => Key::Done(Err("cancelled with Ctrl-D")),
            0x1b => Key::Done(Err("cancelled with Escape")),
            8 | 0x7f if self.erase_char() => Key::Echo(b"\x08 \x08".to_vec()),
            // Backspace on an empty answer: nothing to erase.
            8 | 0x7f => Key::Ignored,
            // Ctrl-U erases the line, as in a cooked terminal.
            0x15 => {
                let mut echo = Vec::new();
                while self.erase_char() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                Key::Echo(echo)
            }
            b if b >= 0x20 && self.typed.len() < 1024 => {
                self.typed.push(b);
                Key::Echo(vec![b])
            }
            // Backspace on an empty answer, other control keys, an over-long answer.
            _ => Key::Ignored,
        }
    }

    /// Back over one UTF-8 character: its continuation bytes, then its start.
    fn erase_char(&mut self) -> bool {
        while self.typed.last().is_some_and(|b| b & 0xc0 == 0x80) {
            self.typed.pop();
        }
        self.typed.pop().is_some()
    }
}

/// The answer a finished (or cancelled) phrase gives.
fn verdict(typed: Result<String, &'static str>, phrase: &str) -> Answer {
    match typed {
        Ok(typed) if typed == phrase => Answer::Approved,
        Ok(typed) if typed.is_empty() => Answer::Refused("nothing was typed".into()),
        Ok(_) => Answer::Refused("the phrase typed was not the one asked for".into()),
        Err(why) => Answer::Refused(why.into()),
    }
}

/// Write `question` on the terminal and read the phrase, with a deadline; never
/// under a coding agent, which can type into a terminal it opened (the refusal says
/// why, and what a person does instead).
pub fn ask(question: &str, phrase: &str, timeout: std::time::Duration) -> Answer {
    if let Some(agent) = crate::coding_agent::detect() {
        return Answer::Refused(format!(
            "backstop does not ask here: {agent}, and a coding agent can type into a terminal it opened; if you are a person, run it in your own terminal, outside {}",
            agent.agent()
        ));
    }
    ask_terminal(question, phrase, timeout)
}

#[cfg(unix)]
use unix::ask as ask_terminal;

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

    use super::{verdict, Answer, Key, Typing};

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
        let _ = out.write_all(crate::style::for_terminal(question, &tty).as_bytes());
        let _ = out.flush();
        let answer = read_phrase(&tty, timeout);
        let _ = out.write_all(b"\r\n");
        verdict(answer, phrase)
    }

    fn read_phrase(tty: &File, timeout: Duration) -> Result<String, &'static str> {
        let deadline = Instant::now() + timeout;
        let mut typing = Typing::default();
        let mut out = tty;
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
            match typing.key(byte[0]) {
                Key::Done(answer) => return answer,
                Key::Echo(bytes) => {
                    let _ = out.write_all(&bytes);
                }
                Key::Ignored => {}
            }
        }
    }
}

/// Joins the UTF-16 units the Windows console delivers one key at a time into
/// characters: a character outside the BMP arrives as two keys (a surrogate pair).
#[cfg(any(windows, test))]
#[derive(Debug, Default)]
struct Utf16Keys {
    high: Option<u16>,
}

#[cfg(any(windows, test))]
impl Utf16Keys {
    fn push(&mut self, unit: u16) -> Option<char> {
        match (self.high.take(), unit) {
            (_, 0xd800..=0xdbff) => {
                self.high = Some(unit);
                None
            }
            (Some(high), 0xdc00..=0xdfff) => char::decode_utf16([high, unit]).next()?.ok(),
            // A lone surrogate is no character; the unit after it still counts.
            (_, unit) => char::from_u32(u32::from(unit)),
        }
    }
}

/// The bytes a character feeds to [`Typing`].
#[cfg(any(windows, test))]
fn utf8(c: char) -> Vec<u8> {
    c.to_string().into_bytes()
}

#[cfg(windows)]
use windows::ask as ask_terminal;

#[cfg(windows)]
mod windows {
    use std::time::{Duration, Instant};

    use crossterm_winapi::{Console, ConsoleMode, Handle, InputRecord};

    use super::{utf8, verdict, Answer, Key, Typing, Utf16Keys};

    // Console input modes (wincon.h) that a cooked console has and the question must not.
    const ENABLE_PROCESSED_INPUT: u32 = 0x0001;
    const ENABLE_LINE_INPUT: u32 = 0x0002;
    const ENABLE_ECHO_INPUT: u32 = 0x0004;
    const ENABLE_VIRTUAL_TERMINAL_INPUT: u32 = 0x0200;

    /// Puts the console's saved input mode back however the question ends.
    struct Restore {
        mode: ConsoleMode,
        saved: u32,
    }

    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = self.mode.set_mode(self.saved);
        }
    }

    /// Write `question` on the console and read the phrase from `CONIN$`, with a deadline.
    pub fn ask(question: &str, phrase: &str, timeout: Duration) -> Answer {
        // The console itself, not stdin: a pipe cannot answer.
        let (Ok(input), Ok(output)) = (Handle::current_in_handle(), Handle::current_out_handle())
        else {
            return Answer::NoTerminal;
        };
        let mode = ConsoleMode::from(input.clone());
        let Ok(saved) = mode.mode() else {
            return Answer::NoTerminal;
        };
        let _restore = Restore {
            mode: mode.clone(),
            saved,
        };
        // Key by key, no echo, and Ctrl-C as a key rather than a signal: killed by
        // Ctrl-C, backstop would look crashed to the shell, which runs the line.
        // Without VT input, an arrow key is a key event and not an Escape sequence.
        let raw = saved
            & !(ENABLE_PROCESSED_INPUT
                | ENABLE_LINE_INPUT
                | ENABLE_ECHO_INPUT
                | ENABLE_VIRTUAL_TERMINAL_INPUT);
        if mode.set_mode(raw).is_err() {
            return Answer::NoTerminal;
        }
        let console = Console::from(input);
        let out = Console::from(output);
        // Keys typed before the question was shown must not answer it.
        let _ = console.read_console_input();
        // The console shows escape codes only with VT processing on: no colour here.
        let _ = out.write_char_buffer(crate::style::strip(question).as_bytes());
        let answer = read_phrase(&console, &out, timeout);
        let _ = out.write_char_buffer(b"\r\n");
        verdict(answer, phrase)
    }

    fn read_phrase(
        console: &Console,
        out: &Console,
        timeout: Duration,
    ) -> Result<String, &'static str> {
        let deadline = Instant::now() + timeout;
        let mut typing = Typing::default();
        let mut units = Utf16Keys::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("no answer before the time ran out");
            }
            // crossterm_winapi has no wait with a timeout; a person types slower than this polls.
            match console.number_of_console_input_events() {
                Ok(0) => {
                    std::thread::sleep(left.min(Duration::from_millis(15)));
                    continue;
                }
                Ok(_) => {}
                Err(_) => return Err("the console could not be read"),
            }
            let Ok(record) = console.read_single_input_event() else {
                return Err("the console could not be read");
            };
            let InputRecord::KeyEvent(key) = record else {
                continue;
            };
            if !key.key_down || key.u_char == 0 {
                continue;
            }
            for _ in 0..key.repeat_count.max(1) {
                let Some(c) = units.push(key.u_char) else {
                    continue;
                };
                let mut echo = Vec::new();
                for byte in utf8(c) {
                    match typing.key(byte) {
                        Key::Done(answer) => return answer,
                        Key::Echo(bytes) => echo.extend(bytes),
                        Key::Ignored => {}
                    }
                }
                let _ = out.write_char_buffer(&echo);
            }
        }
    }
}

#[cfg(not(any(unix, windows)))]
fn ask_terminal(_question: &str, _phrase: &str, _timeout: std::time::Duration) -> Answer {
    Answer::NoTerminal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types `keys` and returns the answer with everything echoed on the way.
    fn type_keys(keys: &[u8]) -> (Option<Result<String, &'static str>>, Vec<u8>) {
        let mut typing = Typing::default();
        let mut echoed = Vec::new();
        for &k in keys {
            match typing.key(k) {
                Key::Done(answer) => return (Some(answer), echoed),
                Key::Echo(bytes) => echoed.extend(bytes),
                Key::Ignored => {}
            }
        }
        (None, echoed)
    }

    #[test]
    fn enter_gives_the_phrase_typed() {
        assert_eq!(type_keys(b"PROCEED\r").0, Some(Ok("PROCEED".into())));
        assert_eq!(type_keys(b"PROCEED\n").0, Some(Ok("PROCEED".into())));
        assert_eq!(type_keys(b"PROC").0, None);
    }

    #[test]
    fn control_keys_cancel() {
        assert_eq!(type_keys(b"PRO\x03").0, Some(Err("cancelled with Ctrl-C")));
        assert_eq!(type_keys(b"\x04").0, Some(Err("cancelled with Ctrl-D")));
        assert_eq!(
            type_keys(b"PRO\x1b[A").0,
            Some(Err("cancelled with Escape"))
        );
    }

    #[test]
    fn backspace_and_ctrl_u_edit() {
        let (answer, echoed) = type_keys(b"PROX\x08CEED\r");
        assert_eq!(answer, Some(Ok("PROCEED".into())));
        assert_eq!(echoed, b"PROX\x08 \x08CEED");
        // Backspace (DEL or BS) on nothing erases nothing, and is not typed.
        assert_eq!(
            type_keys(b"\x7f\x08ok\r"),
            (Some(Ok("ok".into())), b"ok".to_vec())
        );
        assert_eq!(
            type_keys(b"junk\x15PROCEED\r").0,
            Some(Ok("PROCEED".into()))
        );
        // A multi-byte letter is erased whole.
        let (answer, _) = type_keys("zoë\x7f\x7fe\r".as_bytes());
        assert_eq!(answer, Some(Ok("ze".into())));
    }

    #[test]
    fn other_control_keys_and_long_answers_are_dropped() {
        assert_eq!(type_keys(b"P\x01\tX\r").0, Some(Ok("PX".into())));
        let mut long = vec![b'a'; 2000];
        long.push(b'\r');
        assert_eq!(type_keys(&long).0.unwrap().unwrap().len(), 1024);
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(Ok("PROCEED".into()), "PROCEED"), Answer::Approved);
        assert_eq!(
            verdict(Ok("proceed".into()), "PROCEED"),
            Answer::Refused("the phrase typed was not the one asked for".into())
        );
        assert_eq!(
            verdict(Ok(String::new()), "PROCEED"),
            Answer::Refused("nothing was typed".into())
        );
        assert_eq!(
            verdict(Err("cancelled with Escape"), "PROCEED"),
            Answer::Refused("cancelled with Escape".into())
        );
    }

    #[test]
    fn console_keys_join_surrogate_pairs() {
        let mut keys = Utf16Keys::default();
        assert_eq!(keys.push(u16::from(b'P')), Some('P'));
        assert_eq!(keys.push(0x00eb), Some('ë'));
        // U+1F600 arrives as two key events.
        assert_eq!(keys.push(0xd83d), None);
        assert_eq!(keys.push(0xde00), Some('\u{1F600}'));
        // A high surrogate followed by something else is dropped, not the key after it.
        assert_eq!(keys.push(0xd83d), None);
        assert_eq!(keys.push(0xd83d), None);
        assert_eq!(keys.push(0xde00), Some('\u{1F600}'));
        assert_eq!(keys.push(0xd83d), None);
        assert_eq!(keys.push(u16::from(b'x')), Some('x'));
        assert_eq!(keys.push(0xde00), None);
        assert_eq!(utf8('ë'), vec![0xc3, 0xab]);
    }

    #[test]
    fn console_keys_reach_the_phrase_as_utf8() {
        // What the Windows reader does with key events: UTF-16 units to UTF-8 bytes.
        let mut keys = Utf16Keys::default();
        let mut typing = Typing::default();
        let mut answer = None;
        for unit in "Zoë\r".encode_utf16() {
            for byte in keys.push(unit).map(utf8).unwrap_or_default() {
                if let Key::Done(a) = typing.key(byte) {
                    answer = Some(a);
                }
            }
        }
        assert_eq!(answer, Some(Ok("Zoë".into())));
    }
}
