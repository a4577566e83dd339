//! Literals one of which every match of a regular expression must hold: the shells'
//! prefilter narrows redirect rules with them, and the engine skips compiling a
//! built-in rule's `args_regex` for arguments that hold none of them (computed here at
//! build time, see `ARGS_LITERALS`). Shared by `build.rs` and the crate.

use std::collections::BTreeSet;

/// Literals one of which every match of `regex` holds, if there is such a finite set
/// of non-empty ones: `^/dev/(sd[a-z]|nvme[0-9])` gives `/dev/sd`…, `/dev/nvme`…, and
/// `(^|/)\.backstop|\.claude/settings\.json` gives `.backstop` and `.claude/settings.json`.
pub fn required_literals(regex: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(regex).ok()?;
    let found = required(&hir)?;
    found
        .into_iter()
        .map(|l| String::from_utf8(l).ok().filter(|s| !s.is_empty()))
        .collect()
}

/// Classes up to this size stand for one literal per member.
const CLASS_LIMIT: usize = 10;

/// What every match of `hir` holds one of (each a non-empty byte string), if known.
/// A match of a concatenation holds a match of each part, so the most selective part
/// (or the prefixes of the whole) serves; an alternation needs every branch's.
fn required(hir: &regex_syntax::hir::Hir) -> Option<BTreeSet<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Literal(l) => (!l.0.is_empty()).then(|| BTreeSet::from([l.0.to_vec()])),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(branches) => {
            let mut all = BTreeSet::new();
            for b in branches {
                all.extend(required(b)?);
            }
            Some(all)
        }
        HirKind::Class(Class::Unicode(c)) => {
            let chars: Vec<char> = c
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(CLASS_LIMIT + 1)
                .collect();
            (chars.len() <= CLASS_LIMIT)
                .then(|| chars.iter().map(|ch| ch.to_string().into_bytes()).collect())
        }
        HirKind::Class(Class::Bytes(c)) => {
            let bytes: Vec<u8> = c
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(CLASS_LIMIT + 1)
                .collect();
            (bytes.len() <= CLASS_LIMIT).then(|| bytes.iter().map(|b| vec![*b]).collect())
        }
        HirKind::Concat(parts) => {
            let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
            let prefixes = seq.literals().and_then(|lits| {
                let set: BTreeSet<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
                (!set.is_empty() && set.iter().all(|l| !l.is_empty())).then_some(set)
            });
            prefixes
                .into_iter()
                .chain(parts.iter().filter_map(required))
                // The shortest literal bounds how selective a set is; past a few bytes
                // fewer literals count for more (each is one more test in the shell).
                .max_by_key(|set| {
                    let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
                    (shortest.min(6), std::cmp::Reverse(set.len()), shortest)
                })
        }
        _ => None,
    }
}
