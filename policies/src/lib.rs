//! backstop's built-in policy packs, embedded at build time.
//!
//! Each pack is a TOML file under `policies/packs/`. The build splits it into its
//! top-level sections and indexes which programs each section names, so the engine
//! parses only the rules for the programs a line runs. Rules naming the program `*`
//! apply to every command and are indexed under `*`, or under `>` when they match
//! on a redirection (then only commands that redirect output need them).
//!
//! ```
//! use backstop_policies::{sections_for, PACKS};
//! let fs = PACKS.iter().find(|p| p.name == "filesystem").unwrap();
//! assert!(fs.programs.contains(&"rm"));
//! assert!(!sections_for("rm").is_empty());
//! assert!(sections_for("no-such-program").is_empty());
//! ```

/// One embedded pack: its TOML source and what the build found in it.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPack {
    /// The file stem, also the pack's id.
    pub name: &'static str,
    pub source: &'static str,
    /// Lower-cased program names the pack's rules and `[[program]]` specs name.
    pub programs: &'static [&'static str],
    pub rule_ids: &'static [&'static str],
    pub sections: &'static [Section],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// `[pack]` or `[sets]`: needed by every rule of the pack.
    Header,
    Program,
    Rule,
}

/// A top-level section of a pack: `source[start..end]`, starting on 1-based `line`.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub kind: SectionKind,
    pub start: usize,
    pub end: usize,
    /// Where the part needed to decide a line ends: before a rule's trailing
    /// `[rule.examples]`.
    pub decide_end: usize,
    pub line: usize,
    pub programs: &'static [&'static str],
}

impl BuiltinPack {
    pub fn text(&self, s: &Section) -> &'static str {
        &self.source[s.start..s.end]
    }

    /// The section without a rule's trailing examples: what deciding a line needs.
    pub fn decide_text(&self, s: &Section) -> &'static str {
        &self.source[s.start..s.decide_end]
    }
}

pub mod literals;

include!(concat!(env!("OUT_DIR"), "/packs.rs"));

/// For a built-in rule whose `args_regex` has them, the literals one of which its
/// arguments must hold for it to match (computed at build time by
/// [`literals::required_literals`]): arguments without any are rejected without
/// compiling the regex.
pub fn args_literals(rule_id: &str) -> Option<&'static [&'static str]> {
    ARGS_LITERALS
        .binary_search_by(|(id, _)| (*id).cmp(rule_id))
        .ok()
        .map(|i| ARGS_LITERALS[i].1)
}

/// The (pack, section) pairs that name `program` (lower-cased).
pub fn sections_for(program: &str) -> &'static [(u16, u16)] {
    INDEX
        .binary_search_by(|(p, _)| (*p).cmp(program))
        .map(|i| INDEX[i].1)
        .unwrap_or(&[])
}

/// The built-in backup recipes (`policies/recipes.toml`): how `backstop backup` backs
/// up a database, a WSL distribution or a registry key with the tool's own exporter.
pub const RECIPES: &str = include_str!("../recipes.toml");
