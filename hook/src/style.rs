//! Colour for a person at a terminal, and never anywhere else.
//!
//! Text is built with [`paint`]ed parts and printed through `anstream`
//! (`anstream::eprint!`, or [`for_terminal`] for the approval prompt's `/dev/tty`),
//! which keeps the colour only where it is wanted: a terminal whose `TERM` supports
//! it, unless `NO_COLOR` is set; always when `CLICOLOR_FORCE` is set (and `NO_COLOR`
//! is not); never in a pipe or a file. Strings that leave backstop as data (JSON for
//! agents, `check --json`, the audit log) are never painted.
//!
//! ```ignore
//! use backstop::style::{self, REFUSED};
//! anstream::eprintln!("backstop: {} `{line}`", style::paint(REFUSED, "refused"));
//! ```

use std::borrow::Cow;
use std::fmt::Display;

use anstyle::{AnsiColor, Style};

/// A refusal, a denial, a broken check.
pub const REFUSED: Style = AnsiColor::Red.on_default().bold();
/// A question for the person, a warning, something to look at.
pub const ASK: Style = AnsiColor::Yellow.on_default().bold();
/// An approval, a passed check, a line let through.
pub const OK: Style = AnsiColor::Green.on_default().bold();
/// A rule's id.
pub const RULE: Style = Style::new().bold();
/// What a rule would destroy.
pub const TARGET: Style = AnsiColor::Cyan.on_default();
/// A command the person can run to go ahead.
pub const HINT: Style = AnsiColor::Green.on_default();
/// A table's header row, a section's title.
pub const HEADER: Style = Style::new().bold().underline();
/// Detail that matters less.
pub const DIM: Style = Style::new().dimmed();

/// `text` between `style`'s escape codes.
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Does a person want colour on this stream (`NO_COLOR`, `CLICOLOR_FORCE`, a terminal)?
pub fn wanted<S: anstream::stream::RawStream>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// `text` as it should be written on `stream`: without escape codes unless colour is wanted there.
pub fn for_terminal<'a, S: anstream::stream::RawStream>(text: &'a str, stream: &S) -> Cow<'a, str> {
    if wanted(stream) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(strip(text))
    }
}

/// Write `text` on stderr in one piece, its colour kept only where wanted: a terminal
/// echoing keys typed meanwhile cannot land inside the message.
pub fn eprint(text: &str) {
    use std::io::Write as _;
    let mut err = anstream::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// `text` without escape codes.
pub fn strip(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painted_text_strips_back_to_itself() {
        let s = format!("a {} b {}", paint(REFUSED, "refused"), paint(HINT, "x"));
        assert!(s.contains("\x1b["), "{s:?}");
        assert_eq!(strip(&s), "a refused b x");
    }
}
