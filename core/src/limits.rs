//! Measuring an operation for API limits (Hasura's `depth_limit` / `node_limit`) and the
//! engine's own bounds (fields, aliases). Pure and schema-independent, so the edge can measure a
//! document once, before compiling it.
//!
//! With fragments inlined (a spread counts as its fragment's selections, every time it is
//! spread; inline fragments are transparent) and `@skip`/`@include` ignored (a measure depends
//! on the document only, never on variables):
//! - **depth**: the largest number of nested fields *with a selection set* on a path; a leaf
//!   adds nothing (`{ viewer { name } }` has depth 1, `{ viewer { albums { title } } }` 2) —
//!   Hasura's examples;
//! - **nodes**: how many fields have a selection set (`{ author { name articles { id } }
//!   homepage_entries { article_id } }` has 3) — Hasura's definition;
//! - **fields**: every field selection, leaves included;
//! - **aliases**: field selections with an alias;
//! - **introspection**: every root field is `__schema`, `__type` or `__typename` (Hasura does
//!   not apply depth limits to introspection queries).
//!
//! Fragment counts are memoised, so a "fragment bomb" (each fragment spreading the next many
//! times) is measured in time linear in the document and its counts saturate instead of
//! overflowing. A fragment cycle contributes nothing (the compiler reports the cycle); nesting
//! of fields and fragment spreads beyond [`MAX_NESTING`] is an error.
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::parse::ast::{Document, Operation, Selection};

/// Deepest nesting of fields and fragment spreads that is measured (bounds the recursion).
pub const MAX_NESTING: usize = 512;

/// The size of one operation (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measure {
    pub depth: u64,
    pub nodes: u64,
    pub fields: u64,
    pub aliases: u64,
    pub introspection: bool,
}

/// Parses `query` and measures the operation `operation_name` picks. `None` when the document
/// does not parse or names no such operation: the compiler then reports the error itself.
pub fn measure_query(query: &str, operation_name: Option<&str>) -> Result<Option<Measure>> {
    match crate::parse::parse(query) {
        Ok(doc) => measure(&doc, operation_name),
        Err(_) => Ok(None),
    }
}

/// Measures the operation of `doc` that `operation_name` picks (the only one when `None`).
pub fn measure(doc: &Document, operation_name: Option<&str>) -> Result<Option<Measure>> {
    let op = match operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|o| o.name.as_deref() == Some(name)),
        None if doc.operations.len() == 1 => doc.operations.first(),
        None => None,
    };
    let Some(op) = op else { return Ok(None) };
    let mut m = Measurer {
        doc,
        index: doc
            .fragments
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect(),
        memo: alloc::vec![Memo::Todo; doc.fragments.len()],
        nesting: 0,
    };
    let c = m.set(&op.selection_set)?;
    Ok(Some(Measure {
        depth: c.depth,
        nodes: c.nodes,
        fields: c.fields,
        aliases: c.aliases,
        introspection: is_introspection(&m, op),
    }))
}

/// Counts of one selection set.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    depth: u64,
    nodes: u64,
    fields: u64,
    aliases: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.depth = self.depth.max(o.depth);
        self.nodes = self.nodes.saturating_add(o.nodes);
        self.fields = self.fields.saturating_add(o.fields);
        self.aliases = self.aliases.saturating_add(o.aliases);
    }
}

#[derive(Debug, Clone, Copy)]
enum Memo {
    Todo,
    /// Being measured: a spread reached now is a cycle.
    Active,
    Done(Counts),
}

struct Measurer<'a> {
    doc: &'a Document,
    index: BTreeMap<&'a str, usize>,
    memo: Vec<Memo>,
    nesting: usize,
}

impl<'a> Measurer<'a> {
    fn enter(&mut self) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Error::validation(
                "$",
                "the query is nested too deeply (fields and fragment spreads)",
            ));
        }
        Ok(())
    }

    fn set(&mut self, set: &'a [Selection]) -> Result<Counts> {
        self.enter()?;
        let mut out = Counts::default();
        for sel in set {
            let c = match sel {
                Selection::Field(f) => {
                    let mut c = Counts {
                        fields: 1,
                        aliases: u64::from(f.alias.is_some()),
                        ..Counts::default()
                    };
                    if !f.selection_set.is_empty() {
                        let sub = self.set(&f.selection_set)?;
                        c.depth = sub.depth.saturating_add(1);
                        c.nodes = sub.nodes.saturating_add(1);
                        c.fields = c.fields.saturating_add(sub.fields);
                        c.aliases = c.aliases.saturating_add(sub.aliases);
                    }
                    c
                }
                Selection::InlineFragment(inl) => self.set(&inl.selection_set)?,
                Selection::FragmentSpread(s) => self.fragment(&s.name)?,
            };
            out.add(c);
        }
        self.nesting -= 1;
        Ok(out)
    }

    fn fragment(&mut self, name: &str) -> Result<Counts> {
        let Some(&i) = self.index.get(name) else {
            return Ok(Counts::default());
        };
        match self.memo[i] {
            Memo::Done(c) => Ok(c),
            Memo::Active => Ok(Counts::default()),
            Memo::Todo => {
                self.memo[i] = Memo::Active;
                let doc: &'a Document = self.doc;
                let c = self.set(&doc.fragments[i].selection_set)?;
                self.memo[i] = Memo::Done(c);
                Ok(c)
            }
        }
    }
}

/// Whether every root field (through root-level fragments) is an introspection field. Each
/// fragment is looked at once (a cycle or a repeated spread adds nothing new).
fn is_introspection(m: &Measurer<'_>, op: &Operation) -> bool {
    fn all(m: &Measurer<'_>, set: &[Selection], seen: &mut Vec<bool>, nesting: usize) -> bool {
        if nesting > MAX_NESTING {
            return false;
        }
        set.iter().all(|sel| match sel {
            Selection::Field(f) => matches!(f.name.as_str(), "__schema" | "__type" | "__typename"),
            Selection::InlineFragment(inl) => all(m, &inl.selection_set, seen, nesting + 1),
            Selection::FragmentSpread(s) => match m.index.get(s.name.as_str()) {
                None => false,
                Some(&i) if seen[i] => true,
                Some(&i) => {
                    seen[i] = true;
                    all(m, &m.doc.fragments[i].selection_set, seen, nesting + 1)
                }
            },
        })
    }
    let mut seen = alloc::vec![false; m.doc.fragments.len()];
    all(m, &op.selection_set, &mut seen, 0)
}
