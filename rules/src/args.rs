//! Reading a program's arguments the way the program will: options, their values,
//! and the positional words left over.

use crate::command::Word;
use crate::policy::OptionStyle;

/// What the engine knows about how one program reads its arguments, merged from
/// every loaded pack's `[[program]]` entries for it.
#[derive(Debug, Clone, Default)]
pub struct ProgramInfo {
    pub style: OptionStyle,
    pub value_options: Vec<String>,
    pub sql_options: Vec<String>,
    pub sql_positional: Option<usize>,
    pub sql_stdin: bool,
    pub sql_file_options: Vec<String>,
    pub sql_command: bool,
    pub database_options: Vec<String>,
    pub database_positional: Option<usize>,
    pub database_files: bool,
    pub code_options: Vec<String>,
    pub code_stdin: bool,
}

impl ProgramInfo {
    fn takes_value(&self, opt: &str) -> bool {
        self.value_options.iter().any(|o| o == opt)
            || self.database_options.iter().any(|o| o == opt)
            || self.sql_options.iter().any(|o| o == opt)
            || self.sql_file_options.iter().any(|o| o == opt)
            || self.code_options.iter().any(|o| o == opt)
    }
}

/// An option as given: `-r` from `-rf`, `--force`, `--output=x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Default)]
pub struct Parsed<'a> {
    pub options: Vec<Opt>,
    pub positionals: Vec<&'a Word>,
    /// Positional words before the first option (find's start paths).
    pub leading: Vec<&'a Word>,
}

impl Parsed<'_> {
    pub fn values<'s>(&'s self, names: &'s [String]) -> impl Iterator<Item = &'s str> + 's {
        self.options
            .iter()
            .filter(move |o| names.iter().any(|n| n == &o.name))
            .filter_map(|o| o.value.as_deref())
    }

    /// Is any of `flags` given? `abbreviations` also accepts GNU-style unambiguous
    /// prefixes (`--rec` for `--recursive`): used only where it can make a match
    /// stricter, never to find an exception.
    pub fn has_any(&self, flags: &[String], abbreviations: bool) -> bool {
        flags.iter().any(|f| {
            self.options.iter().any(|o| {
                o.name == *f
                    || (abbreviations
                        && o.name.starts_with("--")
                        && f.starts_with("--")
                        && o.name.len() >= 3
                        && f.starts_with(o.name.as_str()))
                    // `-o value` style flags written as `-k=v` in rules: compare the name part.
                    || f.split_once('=').is_some_and(|(n, v)| o.name == n && o.value.as_deref() == Some(v))
            })
        })
    }
}

pub fn parse<'a>(args: &'a [Word], info: &ProgramInfo) -> Parsed<'a> {
    let mut p = Parsed::default();
    let mut i = 0;
    let mut seen_option = false;
    let mut only_positionals = info.style == OptionStyle::None;
    while let Some(w) = args.get(i) {
        i += 1;
        let t = w.text.as_str();
        if only_positionals || !t.starts_with('-') || t == "-" || w.expansion && !t.starts_with('-')
        {
            p.positionals.push(w);
            if !seen_option {
                p.leading.push(w);
            }
            continue;
        }
        seen_option = true;
        if t == "--" {
            only_positionals = true;
            continue;
        }
        if info.style == OptionStyle::SingleDash || t.starts_with("--") {
            let (name, value) = match t.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (t.to_string(), None),
            };
            let value = if value.is_none() && info.takes_value(&name) {
                let v = args.get(i).map(|w| w.text.clone());
                i += 1;
                v
            } else {
                value
            };
            p.options.push(Opt { name, value });
            continue;
        }
        // A short cluster: `-rf`, `-n5`, `-c 'SQL'`.
        let chars: Vec<char> = t.chars().skip(1).collect();
        for (k, c) in chars.iter().enumerate() {
            let name = format!("-{c}");
            if info.takes_value(&name) {
                let rest: String = chars[k + 1..].iter().collect();
                let value = if rest.is_empty() {
                    let v = args.get(i).map(|w| w.text.clone());
                    i += 1;
                    v
                } else {
                    Some(rest)
                };
                p.options.push(Opt { name, value });
                break;
            }
            p.options.push(Opt { name, value: None });
        }
        // Keep the cluster itself too, so rules may name `-rf` or `-9` literally.
        if chars.len() > 1 {
            p.options.push(Opt {
                name: t.to_string(),
                value: None,
            });
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<Word> {
        s.split_whitespace().map(Word::literal).collect()
    }

    fn names(p: &Parsed) -> Vec<String> {
        p.options.iter().map(|o| o.name.clone()).collect()
    }

    #[test]
    fn clusters_split() {
        let w = words("-rf x");
        let p = parse(&w, &ProgramInfo::default());
        assert_eq!(names(&p), vec!["-r", "-f", "-rf"]);
        assert_eq!(p.positionals.len(), 1);
        assert!(p.has_any(&["--recursive".into(), "-r".into()], false));
    }

    #[test]
    fn value_options_consume_their_value() {
        let info = ProgramInfo {
            value_options: vec!["-C".into(), "--git-dir".into()],
            ..Default::default()
        };
        let w = words("-C repo --git-dir=x push --force origin");
        let p = parse(&w, &info);
        let pos: Vec<&str> = p.positionals.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(pos, vec!["push", "origin"]);
        assert_eq!(p.values(&["-C".into()]).collect::<Vec<_>>(), vec!["repo"]);
    }

    #[test]
    fn glued_short_value() {
        let info = ProgramInfo {
            sql_options: vec!["-c".into()],
            ..Default::default()
        };
        let w = words("-cDROP");
        let p = parse(&w, &info);
        assert_eq!(
            p.options[0],
            Opt {
                name: "-c".into(),
                value: Some("DROP".into())
            }
        );
    }

    #[test]
    fn long_abbreviations_only_when_asked() {
        let w = words("--rec x");
        let p = parse(&w, &ProgramInfo::default());
        assert!(p.has_any(&["--recursive".into()], true));
        assert!(!p.has_any(&["--recursive".into()], false));
    }

    #[test]
    fn single_dash_and_leading() {
        let info = ProgramInfo {
            style: OptionStyle::SingleDash,
            value_options: vec!["-name".into()],
            ..Default::default()
        };
        let w = words("a b -name x -delete");
        let p = parse(&w, &info);
        assert_eq!(names(&p), vec!["-name", "-delete"]);
        assert_eq!(p.leading.len(), 2);
    }

    #[test]
    fn double_dash_ends_options() {
        let w = words("-- -rf");
        let p = parse(&w, &ProgramInfo::default());
        assert!(p.options.is_empty());
        assert_eq!(p.positionals[0].text, "-rf");
    }
}
