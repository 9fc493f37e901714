//! Field collection (GraphQL spec "CollectFields"): fragments and inline fragments expanded,
//! `@skip`/`@include` applied, fields with the same response key merged.
use alloc::format;
use alloc::vec::Vec;

use super::Ctx;
use crate::error::{Error, Result};
use crate::parse::ast::{Directive, Field, Selection};
use crate::value::Value;

/// One response key with every field node that contributes to it (same name, merged).
#[derive(Debug, Clone)]
pub struct Merged<'a> {
    pub field: &'a Field,
    pub all: Vec<&'a Field>,
}

impl<'a> Merged<'a> {
    pub fn key(&self) -> &'a str {
        self.field.response_key()
    }
    pub fn name(&self) -> &'a str {
        &self.field.name
    }
    /// The selection sets of all merged nodes.
    pub fn selection_sets(&self) -> Vec<&'a [Selection]> {
        self.all
            .iter()
            .map(|f| f.selection_set.as_slice())
            .collect()
    }
}

/// Collects the fields of `sets` for an object of type `type_name`.
pub fn collect<'a>(
    ctx: &mut Ctx<'a>,
    sets: &[&'a [Selection]],
    type_name: &str,
) -> Result<Vec<Merged<'a>>> {
    let mut out: Vec<Merged<'a>> = Vec::new();
    for set in sets {
        collect_into(ctx, set, type_name, &mut out, 0)?;
    }
    Ok(out)
}

fn collect_into<'a>(
    ctx: &mut Ctx<'a>,
    set: &'a [Selection],
    type_name: &str,
    out: &mut Vec<Merged<'a>>,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(Error::validation(
            "$",
            "fragment spreads nested too deeply or cyclic",
        ));
    }
    for sel in set {
        match sel {
            Selection::Field(f) => {
                if !included(ctx, &f.directives)? {
                    continue;
                }
                let key = f.response_key();
                if let Some(m) = out.iter_mut().find(|m| m.key() == key) {
                    if m.field.name != f.name {
                        return Err(Error::validation(
                            "$",
                            format!(
                                "fields \"{}\" conflict because they have differing names",
                                key
                            ),
                        ));
                    }
                    m.all.push(f);
                } else {
                    out.push(Merged {
                        field: f,
                        all: alloc::vec![f],
                    });
                }
            }
            Selection::InlineFragment(inl) => {
                if !included(ctx, &inl.directives)? {
                    continue;
                }
                if inl.type_condition.as_deref().is_none_or(|t| t == type_name) {
                    collect_into(ctx, &inl.selection_set, type_name, out, depth + 1)?;
                }
            }
            Selection::FragmentSpread(spread) => {
                if !included(ctx, &spread.directives)? {
                    continue;
                }
                let frags = ctx.fragments;
                let Some(frag) = frags.iter().find(|fr| fr.name == spread.name) else {
                    return Err(Error::validation(
                        "$",
                        format!("fragment \"{}\" not found", spread.name),
                    ));
                };
                if frag.type_condition == type_name {
                    collect_into(ctx, &frag.selection_set, type_name, out, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

/// Evaluates `@skip(if:)` / `@include(if:)`.
fn included(ctx: &mut Ctx<'_>, directives: &[Directive]) -> Result<bool> {
    for d in directives {
        let want_skip = match d.name.as_str() {
            "skip" => true,
            "include" => false,
            _ => continue,
        };
        let Some((_, v)) = d.arguments.iter().find(|(n, _)| n == "if") else {
            return Err(Error::validation(
                "$",
                format!("directive \"{}\" requires argument \"if\"", d.name),
            ));
        };
        let v = ctx.shaping_value(v)?;
        let b = match v {
            Value::Boolean(b) => b,
            _ => {
                return Err(Error::validation(
                    "$",
                    format!("expected a boolean for argument \"if\" of @{}", d.name),
                ))
            }
        };
        if b == want_skip {
            return Ok(false);
        }
    }
    Ok(true)
}
