//! Field collection (GraphQL spec "CollectFields"): fragments and inline fragments expanded,
//! `@skip`/`@include` applied, fields with the same response key merged.
//!
//! Before anything is expanded, [`check_operation`] walks the operation once the way Hasura's
//! fragment inliner does (`Hasura.GraphQL.Execute.Inline`: each fragment expanded once, a stack
//! of the fragments being expanded): it rejects fragment cycles and undefined fragments with
//! Hasura's messages and paths, and bounds what the rest of the compiler will walk — the
//! nesting of fields ([`crate::Options::max_depth`]), of all selection sets through fragments
//! ([`MAX_NESTING`]) and the number of fields once every fragment is expanded ([`MAX_FIELDS`]).
//! Every later recursion over the selection sets is therefore bounded.
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::Ctx;
use crate::error::{Error, Result};
use crate::parse::ast::{Directive, Field, Fragment, Selection};
use crate::value::Value;

/// Most selection sets nested inside one another (fields, inline fragments and fragment bodies
/// counted alike), through fragments: twice what the parser allows in one definition, so that a
/// fragment spread at every level of fields stays within [`crate::Options::max_depth`] alone.
pub const MAX_NESTING: usize = 2 * crate::parse::MAX_DEPTH;
/// Most field nodes of an operation once every fragment spread is expanded (each spread counted
/// as often as it is expanded). A 10,000-field query is far below; a "fragment bomb" (30
/// fragments, each spreading the next twice: 2^30 fields from 1.3 KB) is refused up front.
pub const MAX_FIELDS: usize = 200_000;

/// What a selection set expands to: its field nodes, and how deep it nests (fields, and all
/// selection sets) below its own level.
#[derive(Clone, Copy, Default)]
struct Extent {
    fields: usize,
    depth: usize,
    nesting: usize,
}

struct Walk<'a> {
    fragments: BTreeMap<&'a str, &'a Fragment>,
    /// Fragments being expanded, outermost first (Hasura's `_ieFragmentStack`, reversed).
    stack: Vec<&'a str>,
    /// Fragments already expanded: Hasura's fragment cache.
    done: BTreeMap<&'a str, Extent>,
    max_depth: usize,
}

/// Checks the selection set `sels` of an operation (or of one root field at `path`) before it
/// is expanded: fragment cycles, undefined fragments, nesting and expanded size (see the module
/// documentation). `max_depth` bounds the nesting of fields.
pub fn check_operation(
    fragments: &[Fragment],
    sels: &[Selection],
    path: &str,
    max_depth: usize,
) -> Result<()> {
    let mut w = Walk {
        fragments: BTreeMap::new(),
        stack: Vec::new(),
        done: BTreeMap::new(),
        max_depth,
    };
    for f in fragments {
        w.fragments.entry(f.name.as_str()).or_insert(f);
    }
    let mut path = String::from(path);
    let e = w.set(sels, &mut path, 0, 1)?;
    if e.fields > MAX_FIELDS {
        return Err(too_many_fields());
    }
    Ok(())
}

fn too_many_fields() -> Error {
    Error::validation(
        "$",
        format!(
            "the query has more than {} fields once its fragments are expanded",
            MAX_FIELDS
        ),
    )
}

impl<'a> Walk<'a> {
    /// The extent of `sels`, entered at field depth `depth` and nesting `nesting` (this set's).
    fn set(
        &mut self,
        sels: &'a [Selection],
        path: &mut String,
        depth: usize,
        nesting: usize,
    ) -> Result<Extent> {
        if nesting > MAX_NESTING || depth > self.max_depth {
            return Err(Error::validation(
                path.as_str(),
                format!(
                    "the query is nested too deeply (more than {} levels of fields or {} of selection sets)",
                    self.max_depth, MAX_NESTING
                ),
            ));
        }
        let mut out = Extent::default();
        for sel in sels {
            let len = path.len();
            let inner = match sel {
                Selection::Field(f) => {
                    path.push_str(".selectionSet.");
                    path.push_str(&f.name);
                    let mut e = if f.selection_set.is_empty() {
                        Extent::default()
                    } else {
                        let e = self.set(&f.selection_set, path, depth + 1, nesting + 1)?;
                        Extent {
                            depth: e.depth + 1,
                            nesting: e.nesting + 1,
                            ..e
                        }
                    };
                    e.fields = e.fields.saturating_add(1);
                    e
                }
                Selection::InlineFragment(i) => {
                    let e = self.set(&i.selection_set, path, depth, nesting + 1)?;
                    Extent {
                        nesting: e.nesting + 1,
                        ..e
                    }
                }
                Selection::FragmentSpread(s) => {
                    path.push_str(".selectionSet");
                    let e = self.spread(&s.name, path, depth, nesting)?;
                    Extent {
                        nesting: e.nesting + 1,
                        ..e
                    }
                }
            };
            path.truncate(len);
            out.fields = out.fields.saturating_add(inner.fields);
            out.depth = out.depth.max(inner.depth);
            out.nesting = out.nesting.max(inner.nesting);
            if out.fields > MAX_FIELDS {
                return Err(too_many_fields());
            }
        }
        Ok(out)
    }

    /// The extent of the body of fragment `name`, spread at `path` (which ends in
    /// `.selectionSet`, Hasura's path of a spread).
    fn spread(
        &mut self,
        name: &str,
        path: &mut String,
        depth: usize,
        nesting: usize,
    ) -> Result<Extent> {
        if let Some(e) = self.done.get(name).copied() {
            // Expanded before: only its extent at this place is checked; when it is too deep
            // here, walking it again finds the place to report.
            let frag = self.fragments.get(name).copied();
            match frag {
                Some(frag)
                    if nesting + 1 + e.nesting > MAX_NESTING
                        || depth + e.depth > self.max_depth =>
                {
                    path.push('.');
                    path.push_str(name);
                    return self.set(&frag.selection_set, path, depth, nesting + 1);
                }
                _ => return Ok(e),
            }
        }
        if let Some(at) = self.stack.iter().position(|n| *n == name) {
            // Hasura names the spread fragment first, then the others in the order entered.
            let mut names: Vec<&str> = Vec::from([name]);
            names.extend(self.stack[at + 1..].iter().copied());
            return Err(Error::validation(
                path.as_str(),
                format!(
                    "the fragment definition(s) {} form a cycle",
                    english_list(&names)
                ),
            ));
        }
        let Some(frag) = self.fragments.get(name).copied() else {
            return Err(Error::validation(
                path.as_str(),
                format!("reference to undefined fragment \"{}\"", name),
            ));
        };
        self.stack.push(&frag.name);
        path.push('.');
        path.push_str(name);
        let e = self.set(&frag.selection_set, path, depth, nesting + 1)?;
        self.stack.pop();
        self.done.insert(&frag.name, e);
        Ok(e)
    }
}

/// Hasura's `englishList "and"`: `A`, `A and B`, `A, B, and C`.
fn english_list(items: &[&str]) -> String {
    match items {
        [one] => String::from(*one),
        [a, b] => format!("{} and {}", a, b),
        [init @ .., last] => format!("{}, and {}", init.join(", "), last),
        [] => String::new(),
    }
}

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
    let mut index: BTreeMap<&'a str, usize> = BTreeMap::new();
    for set in sets {
        collect_into(ctx, set, type_name, &mut out, &mut index, 0)?;
    }
    Ok(out)
}

fn collect_into<'a>(
    ctx: &mut Ctx<'a>,
    set: &'a [Selection],
    type_name: &str,
    out: &mut Vec<Merged<'a>>,
    index: &mut BTreeMap<&'a str, usize>,
    depth: usize,
) -> Result<()> {
    // `check_operation` bounded the nesting already; this guards direct callers.
    if depth > MAX_NESTING {
        return Err(Error::validation("$", "the query is nested too deeply"));
    }
    for sel in set {
        match sel {
            Selection::Field(f) => {
                if !included(ctx, &f.directives)? {
                    continue;
                }
                let key = f.response_key();
                if let Some(m) = index.get(key).and_then(|&i| out.get_mut(i)) {
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
                    index.insert(key, out.len());
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
                    collect_into(ctx, &inl.selection_set, type_name, out, index, depth + 1)?;
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
                        format!("reference to undefined fragment \"{}\"", spread.name),
                    ));
                };
                if frag.type_condition == type_name {
                    collect_into(ctx, &frag.selection_set, type_name, out, index, depth + 1)?;
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
