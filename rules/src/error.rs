//! Errors, each naming where it happened (file, line, column, rule) and what to do.

use thiserror::Error;

/// Where a policy came from, for messages: a file path or `built-in pack NAME`.
pub type Origin = String;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{origin}:{line}:{column}: {message}{}", hint_text(.hint))]
    Syntax {
        origin: Origin,
        line: usize,
        column: usize,
        message: String,
        hint: Option<String>,
    },

    #[error("{origin}:{line}:{column}: rule `{rule}`: {field} is not a valid regex: {source}")]
    Regex {
        origin: Origin,
        line: usize,
        column: usize,
        rule: String,
        field: &'static str,
        #[source]
        source: Box<regex::Error>,
    },

    #[error("{origin}:{line}:{column}: rule `{rule}`: `{glob}` is not a valid glob: {source}")]
    Glob {
        origin: Origin,
        line: usize,
        column: usize,
        rule: String,
        glob: String,
        #[source]
        source: globset::Error,
    },

    #[error("{origin}:{line}:{column}: rule `{rule}`: {message}")]
    Rule {
        origin: Origin,
        line: usize,
        column: usize,
        rule: String,
        message: String,
    },

    #[error("{origin}:{line}:{column}: override of `{rule}`: {message}{}", hint_text(.hint))]
    Override {
        origin: Origin,
        line: usize,
        column: usize,
        rule: String,
        message: String,
        hint: Option<String>,
    },

    #[error("{origin}:{line}: recipe `{kind}`: {message}")]
    Recipe {
        origin: Origin,
        line: usize,
        kind: String,
        message: String,
    },

    #[error("unknown shell `{0}`: use one of bash, zsh, fish, powershell, nu, cmd")]
    UnknownShell(String),
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// 1-based line and column of a byte offset, for messages.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, col)
}

/// "did you mean `x`?" for a misspelt key or value, from the candidates serde lists.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        // Jaro-Winkler favours shared prefixes; Damerau catches short swapped names (`tpm`).
        .map(|c| {
            (
                strsim::jaro_winkler(word, c)
                    .max(strsim::normalized_damerau_levenshtein(word, c) + 0.2),
                *c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            suggest("requries", &["requires", "severity"]).as_deref(),
            Some("did you mean `requires`?")
        );
        assert_eq!(suggest("zzz", &["requires"]), None);
    }
}
