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
//!
//! The screen is read only once it is proven final ([`Proxy::prove`]): the client has
//! read every key (the line discipline's input queue is empty, after `poll` has made
//! the kernel hand it every key written), it is blocked waiting for more
//! ([`super::procfs`]), a fence written behind its output has come back
//! ([`super::fence`]), and it has not run since it was seen waiting. No quiet time
//! stands in for any of these on Linux; when they cannot be shown within a bound, the
//! Enter is not sent and the person is told.

use std::fs::File;
use std::io::Write as _;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use portable_pty::{native_pty_system, ChildKiller, CommandBuilder, MasterPty, PtySize};
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use super::client::{Kind, Session};
use super::decide::{Decider, Verdict};
use super::fence::{Fence, Piece, Splitter};
use super::screen;

/// Where the kernel cannot say whether the client waits for input (no `/proc`): no
/// output for this long, and every key read, stands in for it. Not on Linux.
#[cfg(not(target_os = "linux"))]
const QUIET: Duration = Duration::from_millis(30);
/// The longest wait for the screen to be proven final at Enter; past it the Enter is
/// not sent, and the person is told.
const PROVE_AT_MOST: Duration = Duration::from_secs(3);
/// The longest one attempt to prove a prompt drawn blocks the loop (it is tried again).
const PROMPT_ATTEMPT: Duration = Duration::from_millis(250);
/// How often the loop looks again while a statement runs.
const BUSY_TICK: Duration = Duration::from_millis(5);

#[derive(Debug)]
enum Event {
    Input(Vec<u8>),
    InputClosed,
    Output(Vec<u8>),
    /// A fence came back out of the terminal: everything written before it is in.
    Fence(u32),
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
    slave: File,
    /// The terminal's device number (a client blocked in `read` must be reading it).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    tty: u64,
    pid: u32,
    parser: vt100::Parser,
    mode: Mode,
    held: Vec<u8>,
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    last_output: Instant,
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    last_forward: Instant,
    rx: Receiver<Event>,
    /// Held by the key reader while it reads; taken while a question is asked.
    keys: Arc<Mutex<()>>,
    exited: Option<u32>,
    paste: bool,
    fence: Fence,
    /// Fences to write behind the client's output (a thread writes them: the write
    /// blocks while the terminal's output is stopped).
    fences: Sender<Vec<u8>>,
    /// Fences written and not yet back (the output reader holds back what may be the
    /// start of one while there are any).
    awaited: Arc<AtomicU32>,
    next_fence: u32,
    /// Output came, or keys went, since the screen was last proven final.
    dirty: bool,
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
    let pid = child.process_id();
    let mut killer = child.clone_killer();
    // The client's end of the terminal, held open: its input queue and mode are read
    // there, and fences are written into its output queue.
    let slave = master.tty_name().and_then(|name| {
        use std::os::unix::fs::OpenOptionsExt as _;
        File::options()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
            .open(name)
            .ok()
    });
    let (Some(slave), Some(pid)) = (slave, pid) else {
        let _ = killer.kill();
        anyhow::bail!(
            "cannot open {}'s terminal to watch it; run it without backstop wrap",
            program.display()
        );
    };
    let tty = {
        use std::os::unix::fs::MetadataExt as _;
        slave.metadata().map(|m| m.rdev()).unwrap_or(0)
    };
    // The screen is only ever read once proven final; where that cannot be proven, the
    // session does not start rather than stall at every Enter.
    #[cfg(target_os = "linux")]
    if let Err(why) = super::procfs::state(pid, tty) {
        let _ = killer.kill();
        anyhow::bail!(
            "backstop cannot tell when {} waits for input ({why}), so it could never read a submitted line; run it without backstop wrap",
            program.display()
        );
    }
    let fence = Fence::new(session_number()?);
    let awaited = Arc::new(AtomicU32::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = master
        .try_clone_reader()
        .map_err(|e| anyhow::anyhow!("cannot read the pseudo-terminal: {e}"))?;
    let writer = master
        .take_writer()
        .map_err(|e| anyhow::anyhow!("cannot write the pseudo-terminal: {e}"))?;
    spawn_output_reader(
        reader,
        tx.clone(),
        Splitter::new(fence.clone()),
        Arc::clone(&awaited),
    );
    let fences = spawn_fence_writer(
        slave
            .try_clone()
            .context("cannot open the client's terminal twice")?,
    );
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
        tty,
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
        fence,
        fences,
        awaited,
        next_fence: 0,
        dirty: true,
    };
    let code = proxy.run(&winch, &hangup, killer.as_mut());
    drop(raw);
    Ok(u8::try_from(code).unwrap_or(1))
}

/// A random number for this session's fences: the client never sees it, so nothing
/// it prints can pass for a fence.
fn session_number() -> Result<u64> {
    use std::io::Read as _;
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(u64::from_le_bytes(bytes))
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

/// Reads the client's output and takes the fences out of it, in order.
fn spawn_output_reader(
    mut reader: Box<dyn std::io::Read + Send>,
    tx: Sender<Event>,
    mut splitter: Splitter,
    awaited: Arc<AtomicU32>,
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Event::Output(splitter.rest()));
                    return;
                }
                Ok(n) => n,
            };
            let pieces = splitter.split(&buf[..n], awaited.load(Ordering::SeqCst) > 0);
            for piece in pieces {
                let event = match piece {
                    Piece::Output(bytes) => Event::Output(bytes),
                    Piece::Fence(seq) => {
                        let _ = awaited
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                        Event::Fence(seq)
                    }
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        }
    });
}

/// Writes fences into the client's output queue, each whole, in a thread of its own:
/// while the terminal's output is stopped (Ctrl-S) the write waits, and the proxy
/// must not.
fn spawn_fence_writer(mut slave: File) -> Sender<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for bytes in rx {
            if slave.write_all(&bytes).is_err() {
                return;
            }
        }
    });
    tx
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
                Mode::Busy => BUSY_TICK,
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
            // A fence whose proof was given up on.
            Event::InputClosed | Event::Fence(_) => {}
            Event::Exited(code) => self.exited = Some(code),
        }
    }

    /// Events that arrive while the screen is being proven final: at Enter every key
    /// waits its turn; while a statement runs, keys go as they do then (Ctrl-C at once).
    fn event_proving(&mut self, event: Event, editing: bool) {
        match event {
            Event::Input(bytes) if editing => self.held.extend_from_slice(&bytes),
            Event::Input(bytes) => self.input_busy(&bytes),
            other => self.event(other),
        }
    }

    fn output(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
        self.parser.process(bytes);
        self.last_output = Instant::now();
        self.dirty = true;
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
        self.dirty = true;
    }

    fn forward(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let _ = self.writer.write_all(bytes);
        let _ = self.writer.flush();
        self.last_forward = Instant::now();
        self.dirty = true;
    }

    /// Has the client read every key it was sent, and is it waiting for more? `Ok(Ok(n))`
    /// with its context switches so far; `Ok(Err(why))` when not (yet); `Err(why)` when
    /// the kernel does not say.
    fn waiting(&self) -> Result<Result<u64, String>, String> {
        // poll() has the kernel hand the line discipline every key written to the
        // terminal (they pass through a work queue first, unseen by FIONREAD); then
        // FIONREAD counts what the client has not read.
        let mut fds = [rustix::event::PollFd::new(
            &self.slave,
            rustix::event::PollFlags::IN,
        )];
        let now = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let ready = rustix::event::poll(&mut fds, Some(&now))
            .map_err(|e| format!("cannot poll the client's terminal ({e})"))?;
        let unread = rustix::io::ioctl_fionread(&self.slave)
            .map_err(|e| format!("cannot read the client's input queue ({e})"))?;
        if (ready > 0 && fds[0].revents().contains(rustix::event::PollFlags::IN)) || unread > 0 {
            return Ok(Err("it has not read every key yet".into()));
        }
        self.client_state()
    }

    #[cfg(target_os = "linux")]
    fn client_state(&self) -> Result<Result<u64, String>, String> {
        Ok(match super::procfs::state(self.pid, self.tty)? {
            super::procfs::State::Waiting { switches } => Ok(switches),
            super::procfs::State::Busy(what) => Err(format!("it is {what}")),
        })
    }

    /// Without `/proc`, quiet stands in for the kernel's word (see docs/wrap.md).
    #[cfg(not(target_os = "linux"))]
    fn client_state(&self) -> Result<Result<u64, String>, String> {
        let now = Instant::now();
        let quiet = now.duration_since(self.last_output) >= QUIET
            && now.duration_since(self.last_forward) >= QUIET;
        Ok(if quiet {
            Ok(0)
        } else {
            Err("its output is still coming".into())
        })
    }

    /// Still waiting, and has not run since it was seen waiting with `switches`?
    fn still_waiting(&self, switches: u64) -> Result<bool, String> {
        Ok(match self.client_state()? {
            Ok(now) => now == switches,
            Err(_) => false,
        })
    }

    /// Writes a fence behind the client's output; its number.
    fn send_fence(&mut self) -> u32 {
        self.next_fence = self.next_fence.wrapping_add(1);
        let seq = self.next_fence;
        // Counted before it is written: the reader holds back a partial fence only
        // while one is awaited.
        self.awaited.fetch_add(1, Ordering::SeqCst);
        let _ = self.fences.send(self.fence.bytes(seq));
        seq
    }

    /// Wait (handling events) for fence `seq` to come back, until `deadline`.
    fn await_fence(&mut self, seq: u32, deadline: Instant, editing: bool) -> bool {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Fence(n)) if n == seq => return true,
                Ok(event) => self.event_proving(event, editing),
                Err(_) => return false,
            }
            if self.exited.is_some() {
                return false;
            }
        }
    }

    /// Prove the emulated screen final: the client has read every key, acted on them
    /// and waits for more, and everything it wrote has been drawn. In order:
    /// 1. its input queue is empty and it is blocked waiting for input ([`Self::waiting`]),
    ///    having switched context `n` times;
    /// 2. a fence written behind its output comes back out of the terminal: all it wrote
    ///    before it has been processed;
    /// 3. it is still waiting, and has switched context `n` times: it has not run since
    ///    1, so it wrote nothing after the fence.
    ///
    /// `editing`: at Enter (keys are held meanwhile) rather than while a statement runs.
    /// `Err` says why not, when it could not be proven within `within`.
    fn prove(&mut self, within: Duration, editing: bool) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_micros(200);
        loop {
            if self.exited.is_some() {
                return Err("it exited".into());
            }
            let why = match self.waiting()? {
                Ok(switches) => {
                    let seq = self.send_fence();
                    if !self.await_fence(seq, deadline, editing) {
                        return Err(
                            "its output did not all come through the terminal in time".into()
                        );
                    }
                    if self.still_waiting(switches)? {
                        self.dirty = false;
                        return Ok(());
                    }
                    "it ran again while its output was being read".to_string()
                }
                Err(now) => now,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(why);
            }
            match self.rx.recv_timeout(pause.min(left)) {
                Ok(event) => self.event_proving(event, editing),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("it is gone".into()),
            }
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    /// A program the client started (a pager, a shell, an editor) has the terminal.
    fn foreign(&self) -> bool {
        has_children(self.pid)
    }

    /// Busy: once the client has drawn its prompt, take it and replay held keys.
    fn try_prompt(&mut self) {
        if !self.dirty || self.foreign() || !matches!(self.waiting(), Ok(Ok(_))) {
            return;
        }
        if self.prove(PROMPT_ATTEMPT, false).is_err() || !matches!(self.mode, Mode::Busy) {
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
        // Keys that came while an Enter that was not sent waited for its proof: the
        // line editor still has them next.
        if !self.held.is_empty() && matches!(self.mode, Mode::Editing { .. }) {
            let held = std::mem::take(&mut self.held);
            self.input(&held);
        }
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
        if let Err(why) = self.prove(PROVE_AT_MOST, true) {
            // Fail closed: a line not proven drawn is never decided, nor sent.
            self.say(&format!(
                "backstop: not sent: {} has not been seen to finish drawing the line ({why}), so backstop cannot read it. Press Enter again{}.\n",
                self.kind.program(),
                if why.contains("did not all come") {
                    " (if output is stopped with Ctrl-S, Ctrl-Q resumes it)"
                } else {
                    ""
                }
            ));
            self.redraw_line();
            return;
        }
        let Some(line) = screen::line(self.parser.screen(), &prompt) else {
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
        let text = crate::style::for_terminal(text, &out).into_owned();
        let _ = out.write_all(b"\r\n");
        let _ = out.write_all(text.trim_end_matches('\n').replace('\n', "\r\n").as_bytes());
        let _ = out.flush();
    }

    /// Draw the client's line again below backstop's message, as the client left it, so
    /// that its own redrawing (relative to where it thinks the cursor is) stays right.
    fn redraw_line(&self) {
        let screen = self.parser.screen();
        let (top, bottom) = screen::line_rows(screen);
        let (crow, ccol) = screen.cursor_position();
        let (_, cols) = screen.size();
        let rows: Vec<String> = screen.rows_formatted(0, cols.get()).collect();
        let mut text = String::new();
        for r in top..=bottom {
            text.push_str("\r\n\x1b[m\x1b[K");
            text.push_str(rows.get(usize::from(r)).map_or("", String::as_str));
        }
        if bottom > crow {
            text.push_str(&format!("\x1b[{}A", bottom - crow));
        }
        text.push('\r');
        if ccol > 0 {
            text.push_str(&format!("\x1b[{ccol}C"));
        }
        text.push_str("\x1b[m");
        text.push_str(&screen.attributes_formatted());
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Erase the refused line in the client, make sure it is gone, say why, and let
    /// the client draw its prompt again.
    fn refuse(&mut self, prompt: &str, text: &str) {
        let erase = self.erase_keys();
        self.forward(&erase);
        let cleared = self.prove(PROVE_AT_MOST, true).is_ok()
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
        match termios::tcgetattr(&self.slave).ok() {
            Some(m) if m.local_modes.contains(LocalModes::ICANON) => {
                vec![m.special_codes[SpecialCodeIndex::VKILL]]
            }
            _ => b"\x05\x15".to_vec(),
        }
    }
}

/// Has the client started a program that now has the terminal (Linux only)?
fn has_children(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .is_ok_and(|s| !s.trim().is_empty())
}
