//! Reading back, from the client's own screen output, the line its editor holds.
//!
//! The keys a person types are not the line: arrows, history recall, Ctrl-R, Tab
//! completion and Ctrl-W all change it without saying how. What the line editor
//! shows is the line, so backstop feeds everything the client writes into a terminal
//! emulator (`vt100`) and, when Enter is pressed, reads the text that follows the
//! prompt on the prompt's row and the rows it wraps onto.
//!
//! The prompt is taken when the line is known to be empty (the client has just
//! drawn it after a line was accepted), so text typed ahead can never pass for it.
//! A screen that does not show the prompt at the start of the cursor's line (an
//! incremental search, an editor mode backstop does not know) gives no line, and the
//! caller refuses to guess.

/// How far above the cursor the prompt may be (a long statement wraps onto rows).
const MAX_ROWS: u16 = 200;

/// readline's incremental search shows the line it found after this.
const SEARCH_PROMPTS: [&str; 3] = [
    "(reverse-i-search)`",
    "(i-search)`",
    "(failed reverse-i-search)`",
];

/// The text of one row, cell by cell (a wide character's second cell is skipped),
/// and whether each cell is drawn as a hint (readline, linenoise and node show
/// completions and previews after the cursor in bright black).
fn row(screen: &vt100::Screen, r: u16) -> Vec<(String, bool)> {
    let (_, cols) = screen.size();
    let mut out = Vec::with_capacity(usize::from(cols.get()));
    for c in 0..cols.get() {
        let Some(cell) = screen.cell(r, c) else {
            break;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let text = if cell.has_contents() {
            cell.contents().to_string()
        } else {
            " ".to_string()
        };
        let hint = matches!(cell.fgcolor(), vt100::Color::Idx(8)) || cell.dim();
        out.push((text, hint));
    }
    out
}

fn text(cells: &[(String, bool)]) -> String {
    cells.iter().map(|(t, _)| t.as_str()).collect()
}

/// Does row `r` carry on row `r - 1` (the line editor's text wrapped)?
fn continues(screen: &vt100::Screen, r: u16) -> bool {
    if r == 0 {
        return false;
    }
    let (_, cols) = screen.size();
    screen.row_wrapped(r - 1)
        || screen
            .cell(r - 1, cols.get() - 1)
            .is_some_and(vt100::Cell::has_contents)
}

/// The prompt as drawn: the text before the cursor on its row, when the line should
/// be empty. `None` when there is no prompt there (nothing, or only blanks).
///
/// Every client's own prompts end in `# `, `> ` or `... ` (`app=# `, `app-# `,
/// `MariaDB [app]> `, `   ...> `, `test> `); the prompt is cut after the first such
/// ending, so that text the line editor still shows from before (a key that raced a
/// Ctrl-C) is read as part of the line, never taken for the prompt.
pub fn prompt(screen: &vt100::Screen) -> Option<String> {
    let (r, c) = screen.cursor_position();
    let cells = row(screen, r);
    let before = text(&cells[..usize::from(c).min(cells.len())]);
    let cut = ["# ", "> ", "... "]
        .iter()
        .filter_map(|end| before.find(end).map(|at| at + end.len()))
        .min()
        .unwrap_or(before.len());
    let p = before[..cut].to_string();
    (!p.trim().is_empty()).then_some(p)
}

/// The first and last rows of the cursor's logical line (it wraps onto rows).
pub fn line_rows(screen: &vt100::Screen) -> (u16, u16) {
    let (rows, _) = screen.size();
    let (crow, _) = screen.cursor_position();
    let mut top = crow;
    while top > 0 && crow - top < MAX_ROWS && continues(screen, top) {
        top -= 1;
    }
    let mut bottom = crow;
    while bottom + 1 < rows.get() && continues(screen, bottom + 1) {
        bottom += 1;
    }
    (top, bottom)
}

/// The line the editor shows after `prompt`, or `None` when the screen does not
/// show the prompt at the start of the cursor's line.
pub fn line(screen: &vt100::Screen, prompt: &str) -> Option<String> {
    let (crow, ccol) = screen.cursor_position();
    let (top, bottom) = line_rows(screen);
    let mut cells: Vec<(String, bool)> = Vec::new();
    let mut cursor_at = 0;
    for r in top..=bottom {
        let row_cells = row(screen, r);
        if r == crow {
            cursor_at = cells.len() + usize::from(ccol).min(row_cells.len());
        }
        cells.extend(row_cells);
    }
    // Hints after the cursor are not the line.
    let mut end = cells.len();
    while end > cursor_at && (cells[end - 1].1 || cells[end - 1].0.trim().is_empty()) {
        end -= 1;
    }
    let whole = text(&cells[..end]);
    if let Some(rest) = whole.strip_prefix(prompt) {
        if cursor_at < prompt.chars().count() {
            return None;
        }
        return Some(rest.trim_end().to_string());
    }
    // readline's Ctrl-R: Enter accepts the line it found.
    for search in SEARCH_PROMPTS {
        if let Some(rest) = whole.strip_prefix(search) {
            return rest
                .split_once("': ")
                .map(|(_, found)| found.trim_end().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(cols: u16, bytes: &[u8]) -> vt100::Parser {
        let mut p = vt100::Parser::new(
            std::num::NonZeroU16::new(10).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        );
        p.process(bytes);
        p
    }

    #[test]
    fn the_prompt_is_what_precedes_the_cursor() {
        let p = screen(40, b"psql (15)\r\napp=# ");
        assert_eq!(prompt(p.screen()).as_deref(), Some("app=# "));
        let p = screen(40, b"output\r\n");
        assert_eq!(prompt(p.screen()), None);
        // Text left in the editor is not part of the prompt.
        let p = screen(40, b"app=# DROP TAB");
        assert_eq!(prompt(p.screen()).as_deref(), Some("app=# "));
        let p = screen(40, b"MariaDB [app]> ");
        assert_eq!(prompt(p.screen()).as_deref(), Some("MariaDB [app]> "));
        let p = screen(40, b"custom: ");
        assert_eq!(prompt(p.screen()).as_deref(), Some("custom: "));
    }

    #[test]
    fn reads_what_the_editor_shows() {
        // Typed, then edited with a backspace and history recall redrawn in place.
        let p = screen(40, b"app=# DROP TABLX\x08 \x08E x;");
        assert_eq!(line(p.screen(), "app=# ").as_deref(), Some("DROP TABLE x;"));
        let p = screen(40, b"app=# SELECT 1;\r\x1b[6C\x1b[KDROP TABLE users;");
        assert_eq!(
            line(p.screen(), "app=# ").as_deref(),
            Some("DROP TABLE users;")
        );
        // The cursor moved back into the line: the whole line still counts.
        let p = screen(40, b"app=# DROP TABLE t;\x1b[10D");
        assert_eq!(line(p.screen(), "app=# ").as_deref(), Some("DROP TABLE t;"));
    }

    #[test]
    fn follows_wrapped_rows() {
        let p = screen(10, b"app=# DROP TABLE users;");
        assert_eq!(
            line(p.screen(), "app=# ").as_deref(),
            Some("DROP TABLE users;")
        );
        let p = screen(10, b"app=# 1234\r\n56789");
        // Row 0 is full: the editor's text carries on.
        assert_eq!(line(p.screen(), "app=# ").as_deref(), Some("123456789"));
    }

    #[test]
    fn hints_after_the_cursor_are_not_the_line() {
        let p = screen(
            60,
            b"127.0.0.1:6379> FLUSHALL\x1b[0;90;49m [ASYNC|SYNC]\x1b[0m\x1b[13D",
        );
        assert_eq!(
            line(p.screen(), "127.0.0.1:6379> ").as_deref(),
            Some("FLUSHALL")
        );
    }

    #[test]
    fn search_and_unknown_screens() {
        let p = screen(60, b"app=# \r(reverse-i-search)`dro': DROP TABLE t;");
        assert_eq!(line(p.screen(), "app=# ").as_deref(), Some("DROP TABLE t;"));
        let p = screen(60, b"app=# \r\x1b[Kbck: something");
        assert_eq!(line(p.screen(), "app=# "), None);
    }
}
