//! A progress bar on stderr for backups that take more than a moment, and only when
//! stderr is a terminal: scripts and logs get no control characters.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shown once this much time has passed: a quick backup stays silent.
/// `BACKSTOP_PROGRESS_AFTER_MS` changes it (tests set 0, so that what they see does
/// not depend on how fast the machine is).
const AFTER: Duration = Duration::from_millis(400);

fn after() -> Duration {
    std::env::var("BACKSTOP_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(AFTER, Duration::from_millis)
}

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    after: Duration,
    terminal: bool,
}

impl Progress {
    pub fn new(total: Option<u64>, label: &str) -> Progress {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()),
            None => ProgressBar::hidden(),
        };
        let template = if total.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "{msg} {spinner} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            after: after(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub fn inc(&self, n: u64) {
        if self.terminal && self.bar.is_hidden() && self.started.elapsed() >= self.after {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
