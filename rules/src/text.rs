//! The conservative path: commands recovered from raw text when a reader gave up.
//!
//! Splitting on every shell metacharacter and dropping quote characters finds more
//! "commands" than the shell would run, which is the right direction to err in when
//! the line could not be parsed.

use crate::command::{Command, Origin, Word};

pub(crate) fn fallback_commands(text: &str) -> Vec<Command> {
    text.split([';', '|', '&', '\n', '(', ')', '`', '{', '}'])
        .filter_map(|segment| {
            let words: Vec<Word> = segment
                .split_whitespace()
                .map(|w| {
                    w.chars()
                        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
                        .collect::<String>()
                })
                .filter(|w| !w.is_empty() && w != "$")
                .map(|w| Word {
                    text: w,
                    quoted: false,
                    expansion: false,
                    glob: false,
                    subst: Vec::new(),
                })
                .collect();
            (!words.is_empty()).then(|| Command {
                words,
                origin: Origin::TextFallback,
                ..Command::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_metacharacters_and_drops_quotes() {
        let cmds: Vec<String> = fallback_commands("echo \"$(r'm' -rf /x")
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(cmds, vec!["echo", "rm -rf /x"]);
    }
}
