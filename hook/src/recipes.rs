//! The backup recipes in force: the built-in ones, then the system's and the user's
//! (a later one of the same kind replaces an earlier). A repository may not add any.

use anyhow::{bail, Context as _, Result};
use backstop_backup::coverage::Wanted;
use backstop_backup::recipe::{registry_short, Placeholders};
use backstop_rules::policy::{Layer, Policy, Recipe, RecipeValue};

use crate::config::{self, Dirs};

#[derive(Debug, Default)]
pub struct Recipes {
    list: Vec<Recipe>,
}

/// What `backstop backup` was asked to back up, once its kind is known.
#[derive(Debug, Clone)]
pub enum Spec<'r> {
    Path(std::path::PathBuf),
    Recipe { recipe: &'r Recipe, value: String },
}

impl PartialEq for Spec<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Spec::Path(a), Spec::Path(b)) => a == b,
            (
                Spec::Recipe {
                    recipe: a,
                    value: x,
                },
                Spec::Recipe {
                    recipe: b,
                    value: y,
                },
            ) => a.spec.kind == b.spec.kind && x == y,
            _ => false,
        }
    }
}

impl Recipes {
    pub fn load(dirs: &Dirs) -> Result<Recipes> {
        let mut list: Vec<Recipe> = Vec::new();
        let builtin = Policy::parse(
            "built-in recipes",
            Layer::Builtin,
            backstop_policies::RECIPES,
            true,
        )?;
        let mut sources = vec![builtin];
        for s in config::sources(dirs, None)? {
            sources.push(Policy::parse(&s.origin, s.layer, &s.text, false)?);
        }
        for p in sources {
            for r in p.recipes {
                list.retain(|old| old.spec.kind != r.spec.kind);
                list.push(r);
            }
        }
        Ok(Recipes { list })
    }

    pub fn get(&self, kind: &str) -> Option<&Recipe> {
        self.list.iter().find(|r| r.spec.kind == kind)
    }

    pub fn kinds(&self) -> Vec<&str> {
        self.list.iter().map(|r| r.spec.kind.as_str()).collect()
    }

    /// Does any recipe back up targets of this kind (for some program)?
    pub fn cover(&self, target_kind: &str) -> bool {
        self.list.iter().any(|r| r.spec.covers == target_kind)
    }

    /// The recipe that backs up a rule target of `target_kind` destroyed by `program`:
    /// one naming the program, else one for any program (`*`).
    pub fn for_target(&self, target_kind: &str, program: &str) -> Option<&Recipe> {
        let covering = || {
            self.list
                .iter()
                .filter(move |r| r.spec.covers == target_kind)
        };
        covering()
            .find(|r| {
                r.spec
                    .programs
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(program))
            })
            .or_else(|| covering().find(|r| r.spec.programs.iter().any(|p| p == "*")))
    }

    /// `backstop backup` resolving its argument: `KIND:VALUE` names a recipe, anything
    /// else is a path (`--kind` says which when the text is ambiguous).
    pub fn parse_spec(&self, text: &str, kind: Option<&str>) -> Result<Spec<'_>> {
        let (kind, value) = match kind {
            Some(k) => (k, text.strip_prefix(&format!("{k}:")).unwrap_or(text)),
            None => match text.split_once(':') {
                Some((k, v)) if self.get(k).is_some() => (k, v),
                _ => ("path", text),
            },
        };
        if kind == "path" {
            let p = std::fs::canonicalize(value).with_context(|| {
                format!("cannot back up {value}: it does not exist or cannot be read")
            })?;
            return Ok(Spec::Path(p));
        }
        let Some(recipe) = self.get(kind) else {
            bail!(
                "no recipe for the kind `{kind}`; the kinds are path, {} (a policy file's [[recipe]] adds more)",
                self.kinds().join(", ")
            );
        };
        if value.is_empty() {
            bail!("name what to back up after `{kind}:`, e.g. {kind}:NAME");
        }
        Ok(Spec::Recipe {
            recipe,
            value: normalise(recipe, value)?,
        })
    }
}

/// A recipe target's value as manifests record it.
pub fn normalise(recipe: &Recipe, value: &str) -> Result<String> {
    Ok(match recipe.spec.value {
        RecipeValue::Name => value.to_string(),
        RecipeValue::Path => std::fs::canonicalize(value)
            .with_context(|| {
                format!("cannot back up {value}: it does not exist or cannot be read")
            })?
            .display()
            .to_string(),
        RecipeValue::RegistryKey => registry_short(value),
    })
}

/// The recipe's content checks for this value, placeholders expanded.
pub fn content(recipe: &Recipe, value: &str) -> Vec<String> {
    let ph = Placeholders::new(value, recipe.spec.value);
    recipe
        .spec
        .content
        .iter()
        .map(|c| ph.expand(c, true))
        .collect()
}

/// What coverage looks for, for a value normalised by [`normalise`].
pub fn wanted<'a>(recipe: &'a Recipe, value: &'a str) -> Wanted<'a> {
    Wanted {
        kind: &recipe.spec.kind,
        value,
        ignore_case: recipe.spec.value != RecipeValue::Path,
        content: content(recipe, value),
    }
}
