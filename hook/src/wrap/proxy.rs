//! The pseudo-terminal between the person and the client (unix).
//!
//! Everything the client writes goes to the terminal untouched, and also into a
//! terminal emulator ([`super::screen`]) that backstop reads lines back from. Keys go
//! to the client untouched, except Enter: when it submits a line, backstop reads the
//! line from the emulated screen, follows it through the client's model
//! ([`super::client`]) and has the engine decide it before the Enter is passed on.
//!
//! Between a submitted line and the client's next prompt (a statement running), keys
//! are held back and replayed once the prompt is drawn, so that the prompt is always
//! taken from an empty line; Ctrl-C, Ctrl-\ and Ctrl-Z go through at once, and so
//! does everything while a program the client started (a pager, `\!`'s shell) runs.

use std::fs::File;
use std::io::Write as _;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use portable_pty::{native_pty_system, ChildKiller, CommandBuilder, MasterPty, PtySize};
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use super::client::{Kind, Session};
use super::decide::{Decider, Verdict};
use super::screen;

/// No output for this long, and every key read by the client: its screen is final.
/// A person's keys come further apart than this, so typing is never slowed; pasted
/// or replayed input waits this long once per line.
const QUIET: Duration = Duration::from_millis(30);
/// Printable keys whose echo never showed: this long without output instead.
const UNECHOED_QUIET: Duration = Duration::from_millis(500);
/// The longest wait for the client to draw a line before backstop gives up reading it.
const SETTLE_AT_MOST: Duration = Duration::from_secs(2);

#[derive(Debug)]
enum Event {
    Input(Vec<u8>),
    InputClosed,
    Output(Vec<u8>),
    Exited(u32),
}

#[derive(Debug)]
enum Mode {
    /// A line was submitted (or the client is starting): keys are held.
    Busy,
    /// The client's line editor is waiting, after this prompt.
    Editing { prompt: String },
}

/// The outer terminal in raw mode for as long as this lives.
struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    fn enter() -> Result<RawTerminal> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).context("cannot read the terminal's mode")?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(&stdin, OptionalActions::Now, &raw)
            .context("cannot put the terminal in raw mode")?;
        Ok(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

struct Proxy {
    kind: Kind,
    session: Session,
    decider: Decider,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn std::io::Write + Send>,
    /// The client's end of the terminal: what it has not read yet, and its mode.
    slave: Option<File>,
    pid: Option<u32>,
    parser: vt100::Parser,
    mode: Mode,
    held: Vec<u8>,
    last_output: Instant,
    last_forward: Instant,
    rx: Receiver<Event>,
    /// Held by the key reader while it reads; taken while a question is asked.
    keys: Arc<Mutex<()>>,
    exited: Option<u32>,
    paste: bool,
    /// Keys forwarded since the screen was last known final, when they were all
    /// printable (`None` once another key went): their echo proves the screen final.
    typed: Option<Vec<u8>>,
    /// Where the cursor was when the screen was last known final.
    settled_at: (u16, u16),
}

/// Runs `program` (already resolved) with `args` in a pseudo-terminal until it exits;
/// its exit status.
pub fn run(
    kind: Kind,
    session: Session,
    decider: Decider,
    program: &std::path::Path,
    args: &[String],
) -> Result<u8> {
    let size = window_size();
    let pair = native_pty_system()
        .openpty(size)
        .map_err(|e| anyhow::anyhow!("cannot open a pseudo-terminal: {e}"))?;
    let mut cmd = CommandBuilder::new(program);
    cmd.args(args);
    cmd.cwd(&session.cwd);
    let mut child = pair
        .slave
        .spawn_command(cmd)
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.display()))?;
    drop(pair.slave);
    let master = pair.master;
    let slave = master
        .tty_name()
        .and_then(|name| File::options().read(true).write(true).open(name).ok());
    let pid = child.process_id();
    let mut killer = child.clone_killer();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = master
        .try_clone_reader()
        .map_err(|e| anyhow::anyhow!("cannot read the pseudo-terminal: {e}"))?;
    let writer = master
        .take_writer()
        .map_err(|e| anyhow::anyhow!("cannot write the pseudo-terminal: {e}"))?;
    spawn_output_reader(reader, tx.clone());
    let keys = Arc::new(Mutex::new(()));
    spawn_key_reader(Arc::clone(&keys), tx.clone());
    std::thread::spawn(move || {
        let code = child.wait().map_or(1, |s| s.exit_code());
        let _ = tx.send(Event::Exited(code));
    });
    let winch = Arc::new(AtomicBool::new(false));
    let hangup = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGWINCH, Arc::clone(&winch));
    for sig in [signal_hook::consts::SIGHUP, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&hangup));
    }
    let raw = RawTerminal::enter()?;
    let now = Instant::now();
    let mut proxy = Proxy {
        kind,
        session,
        decider,
        master,
        writer,
        slave,
        pid,
        parser: vt100::Parser::new(nonzero(size.rows), nonzero(size.cols), 0),
        mode: Mode::Busy,
        held: Vec::new(),
        last_output: now,
        last_forward: now,
        rx,
        keys,
        exited: None,
        paste: false,
        typed: Some(Vec::new()),
        settled_at: (0, 0),
    };
    let code = proxy.run(&winch, &hangup, killer.as_mut());
    drop(raw);
    Ok(u8::try_from(code).unwrap_or(1))
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

fn window_size() -> PtySize {
    // A terminal that reports no size (0×0) gets the classic 80×24.
    let ws = termios::tcgetwinsize(std::io::stdin())
        .or_else(|_| termios::tcgetwinsize(std::io::stdout()))
        .ok()
        .filter(|w| w.ws_row > 0 && w.ws_col > 0);
    PtySize {
        rows: ws.map_or(24, |w| w.ws_row),
        cols: ws.map_or(80, |w| w.ws_col),
        pixel_width: ws.map_or(0, |w| w.ws_xpixel),
        pixel_height: ws.map_or(0, |w| w.ws_ypixel),
    }
}

fn spawn_output_reader(mut reader: Box<dyn std::io::Read + Send>, tx: Sender<Event>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(Event::Output(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Reads keys only while `keys` is free: the approval question reads the terminal
/// itself, and no key meant for it may be taken here.
fn spawn_key_reader(keys: Arc<Mutex<()>>, tx: Sender<Event>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut buf = vec![0u8; 4096];
        let wait = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 20_000_000,
        };
        loop {
            let guard = keys.lock().unwrap_or_else(|p| p.into_inner());
            let mut fds = [rustix::event::PollFd::new(
                &stdin,
                rustix::event::PollFlags::IN,
            )];
            let ready = matches!(rustix::event::poll(&mut fds, Some(&wait)), Ok(n) if n > 0);
            let read = if ready {
                rustix::io::read(&stdin, &mut buf)
            } else {
                Err(rustix::io::Errno::AGAIN)
            };
            drop(guard);
            match read {
                Ok(0) => {
                    let _ = tx.send(Event::InputClosed);
                    return;
                }
                Ok(n) => {
                    if tx.send(Event::Input(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(_) => {
                    let _ = tx.send(Event::InputClosed);
                    return;
                }
            }
        }
    });
}

impl Proxy {
    fn run(
        &mut self,
        winch: &AtomicBool,
        hangup: &AtomicBool,
        killer: &mut (dyn ChildKiller + Send + Sync),
    ) -> u32 {
        loop {
            if winch.swap(false, Ordering::Relaxed) {
                self.resize();
            }
            if hangup.load(Ordering::Relaxed) {
                let _ = killer.kill();
            }
            if let Some(code) = self.exited {
                // Keys typed from here on are the shell's, not the client's.
                let keys = Arc::clone(&self.keys);
                let _stop = keys.lock().unwrap_or_else(|p| p.into_inner());
                self.drain();
                return code;
            }
            let wait = match self.mode {
                Mode::Busy => QUIET / 2,
                Mode::Editing { .. } => Duration::from_millis(100),
            };
            match self.rx.recv_timeout(wait) {
                Ok(event) => self.event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return 1,
            }
            if matches!(self.mode, Mode::Busy) {
                self.try_prompt();
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Output(bytes) => self.output(&bytes),
            Event::Input(bytes) => self.input(&bytes),
            Event::InputClosed => {}
            Event::Exited(code) => self.exited = Some(code),
        }
    }

    /// Events that arrive while a line is being read back: keys wait their turn.
    fn event_held(&mut self, event: Event) {
        match event {
            Event::Input(bytes) => self.held.extend_from_slice(&bytes),
            other => self.event(other),
        }
    }

    fn output(&mut self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
        self.parser.process(bytes);
        self.last_output = Instant::now();
    }

    /// What the client wrote last, once it has exited.
    fn drain(&mut self) {
        while let Ok(event) = self.rx.recv_timeout(Duration::from_millis(50)) {
            if let Event::Output(bytes) = event {
                self.output(&bytes);
            }
        }
    }

    fn resize(&mut self) {
        let size = window_size();
        let _ = self.master.resize(size);
        self.parser
            .screen_mut()
            .set_size(nonzero(size.rows), nonzero(size.cols));
    }

    fn forward(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let _ = self.writer.write_all(bytes);
        let _ = self.writer.flush();
        self.last_forward = Instant::now();
        let printable = bytes.iter().all(|b| (0x20..0x7f).contains(b));
        match &mut self.typed {
            Some(t) if printable => t.extend_from_slice(bytes),
            _ => self.typed = None,
        }
    }

    /// Has the client read every key and drawn what they do?
    fn settled(&mut self) -> bool {
        if let Some(slave) = &self.slave {
            if rustix::io::ioctl_fionread(slave).unwrap_or(0) > 0 {
                return false;
            }
        }
        if self.pid.is_some_and(proc_running) {
            return false;
        }
        let now = Instant::now();
        let quiet_for = |d: Duration| {
            now.duration_since(self.last_output) >= d && now.duration_since(self.last_forward) >= d
        };
        let screen = self.parser.screen();
        let (row, col) = screen.cursor_position();
        let pending = self.typed.as_ref().filter(|t| !t.is_empty());
        let ok = match pending {
            // Printable keys show as themselves between where the cursor was and where
            // it is: quiet alone is not proof, as the echo may still be on its way to
            // backstop. A line editor that draws them otherwise gets a long quiet.
            Some(t) if self.echoes() => {
                let (r0, c0) = self.settled_at;
                let drawn = (row, col) > (r0, c0)
                    && screen.contents_between(r0, c0, row, col) == String::from_utf8_lossy(t);
                drawn || quiet_for(UNECHOED_QUIET)
            }
            _ => quiet_for(QUIET),
        };
        if ok {
            self.typed = Some(Vec::new());
            self.settled_at = (row, col);
        }
        ok
    }

    /// Does the client show the keys typed (not a password prompt)?
    fn echoes(&self) -> bool {
        let mode = self.slave.as_ref().and_then(|s| termios::tcgetattr(s).ok());
        !mode.is_some_and(|m| {
            m.local_modes.contains(LocalModes::ICANON) && !m.local_modes.contains(LocalModes::ECHO)
        })
    }

    /// Wait (handling output, holding keys) until the client's screen is final.
    fn settle(&mut self) -> bool {
        let deadline = Instant::now() + SETTLE_AT_MOST;
        loop {
            if self.settled() {
                return true;
            }
            if self.exited.is_some() || Instant::now() >= deadline {
                return false;
            }
            match self.rx.recv_timeout(QUIET / 3) {
                Ok(event) => self.event_held(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// A program the client started (a pager, a shell, an editor) has the terminal.
    fn foreign(&self) -> bool {
        self.pid.is_some_and(has_children)
    }

    /// Busy: once the client has drawn its prompt, take it and replay held keys.
    fn try_prompt(&mut self) {
        if !self.settled() || self.foreign() {
            return;
        }
        let Some(prompt) = screen::prompt(self.parser.screen()) else {
            return;
        };
        self.mode = Mode::Editing { prompt };
        let held = std::mem::take(&mut self.held);
        self.input(&held);
    }

    fn input(&mut self, bytes: &[u8]) {
        let Mode::Editing { .. } = self.mode else {
            return self.input_busy(bytes);
        };
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            if rest.starts_with(b"\x1b[200~") {
                self.paste = true;
            } else if rest.starts_with(b"\x1b[201~") {
                self.paste = false;
            }
            let b = bytes[i];
            // In a bracketed paste the line editor inserts newlines; they submit nothing.
            let bracketed = self.paste && self.parser.screen().bracketed_paste();
            if (b == b'\r' || b == b'\n') && !bracketed {
                self.forward(&bytes[start..i]);
                self.enter(b);
                i += 1;
                if !matches!(self.mode, Mode::Editing { .. }) {
                    // The rest waits for the next prompt.
                    self.held.extend_from_slice(&bytes[i..]);
                    return;
                }
                start = i;
                continue;
            }
            if b == 0x03 && self.ctrl_c_clears_line() {
                self.forward(&bytes[start..=i]);
                // psql and mongosh drop the line and the statement buffer, and draw a
                // new prompt; it is taken afresh.
                self.session.reset_buffer();
                self.mode = Mode::Busy;
                self.held.extend_from_slice(&bytes[i + 1..]);
                return;
            }
            i += 1;
        }
        self.forward(&bytes[start..]);
    }

    fn input_busy(&mut self, bytes: &[u8]) {
        if self.foreign() {
            return self.forward(bytes);
        }
        for &b in bytes {
            // Interrupting what runs cannot wait for it to end.
            if matches!(b, 0x03 | 0x1c | 0x1a) {
                self.forward(&[b]);
                if b == 0x03 && self.ctrl_c_clears_line() {
                    self.session.reset_buffer();
                }
            } else {
                self.held.push(b);
            }
        }
    }

    fn ctrl_c_clears_line(&self) -> bool {
        matches!(self.kind, Kind::Psql | Kind::Mongo)
    }

    /// Enter was pressed in the line editor.
    fn enter(&mut self, key: u8) {
        if self.foreign() {
            self.mode = Mode::Busy;
            return self.forward(&[key]);
        }
        let Mode::Editing { prompt } = &self.mode else {
            return;
        };
        let prompt = prompt.clone();
        let line = if self.settle() {
            screen::line(self.parser.screen(), &prompt)
        } else {
            None
        };
        let Some(line) = line else {
            // Never guess: the Enter is dropped, and the bell says so.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\x07");
            let _ = out.flush();
            return;
        };
        let mut next = self.session.clone();
        let checks = next.submit(&line);
        // A refusal names the whole statement, lines typed before included.
        let shown = match self.session.pending() {
            "" => line.clone(),
            pending => format!("{pending} {line}"),
        };
        if checks.is_empty() {
            self.session = next;
            self.mode = Mode::Busy;
            return self.forward(&[key]);
        }
        let verdict = self
            .decider
            .decide(&shown, &checks, &self.session.cwd)
            .unwrap_or_else(|e| {
                Verdict::Deny(format!(
                    "backstop: could not decide `{}`: {e:#}\n",
                    super::decide::one_line(&shown)
                ))
            });
        match verdict {
            Verdict::Allow => {
                self.session = next;
                self.mode = Mode::Busy;
                self.forward(&[key]);
            }
            Verdict::Deny(text) => self.refuse(&prompt, &text),
            Verdict::Ask(asks) => {
                self.say("");
                let answer = {
                    let _keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
                    self.decider.ask(&asks)
                };
                match answer {
                    Ok(()) => {
                        self.session = next;
                        self.mode = Mode::Busy;
                        self.forward(&[key]);
                    }
                    Err(why) => self.refuse(
                        &prompt,
                        &format!("backstop: not approved ({why}); the statement did not run\n"),
                    ),
                }
            }
        }
    }

    /// Write backstop's own text on the terminal, on lines of its own (raw mode:
    /// `\r\n`). It never goes into the emulated screen, which stays the client's.
    fn say(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\r\n");
        let _ = out.write_all(text.trim_end_matches('\n').replace('\n', "\r\n").as_bytes());
        let _ = out.flush();
    }

    /// Erase the refused line in the client, make sure it is gone, say why, and let
    /// the client draw its prompt again.
    fn refuse(&mut self, prompt: &str, text: &str) {
        let erase = self.erase_keys();
        self.forward(&erase);
        let cleared = self.settle()
            && screen::line(self.parser.screen(), prompt).is_some_and(|l| l.is_empty());
        let mut text = text.to_string();
        if !self.session.pending().is_empty() {
            text.push_str(&format!(
                "backstop: {} still holds the unfinished statement from the lines before: {}\n",
                self.kind.program(),
                super::decide::one_line(self.session.pending())
            ));
        }
        if !cleared {
            // Enter would run what is left: it is not sent.
            text.push_str(&format!(
                "backstop: the refused line could not be erased in {}; erase it (Ctrl-U) before pressing Enter\n",
                self.kind.program()
            ));
            self.say(&text);
            let _ = std::io::stdout().lock().write_all(b"\r\n");
            return;
        }
        self.say(&text);
        // An empty line: the client draws a fresh prompt below the message.
        self.mode = Mode::Busy;
        self.forward(b"\r");
    }

    /// The keys that empty the line: the line discipline's kill character when the
    /// client reads whole lines, else end-of-line and kill-to-start (Ctrl-E Ctrl-U),
    /// which readline, libedit, linenoise and node's readline share.
    fn erase_keys(&self) -> Vec<u8> {
        let mode = self.slave.as_ref().and_then(|s| termios::tcgetattr(s).ok());
        match mode {
            Some(m) if m.local_modes.contains(LocalModes::ICANON) => {
                vec![m.special_codes[SpecialCodeIndex::VKILL]]
            }
            _ => b"\x05\x15".to_vec(),
        }
    }
}

/// Is the process running on a CPU right now (not waiting in a system call)? Only
/// Linux says; elsewhere the quiet time alone decides.
fn proc_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("running"))
}

/// Has the client started a program that now has the terminal (Linux only)?
fn has_children(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .is_ok_and(|s| !s.trim().is_empty())
}
