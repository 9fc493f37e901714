//! Static analysis of a stored query (a query collection's, a REST endpoint's) against a type
//! system, as Hasura's `diagnoseGraphQLQuery` does it: the fields it selects, by response key
//! with repeated fields merged ([`fields`]), and the fields that do not exist
//! ([`diagnose`]: `$.path.key: field 'name' not found in object 'type'`).
//!
//! Meta fields (`__typename`, `__schema`, `__type`) are not checked. Fragments (spreads and
//! inline) are followed to a bounded depth, so a fragment cycle ends.
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::types::{TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::parse::ast::{Document, OperationKind, Selection};

/// How deep selections and fragments are followed.
pub const MAX_DEPTH: usize = 64;

/// The fields selected under one response key: the field's type and every selection set
/// given to it.
#[derive(Debug)]
pub struct Selected<'d> {
    pub key: String,
    pub ty: TypeRef,
    pub sets: Vec<&'d [Selection]>,
}

/// The root type's name of an operation kind, as Hasura names it in messages.
pub fn root_name(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Query => "query_root",
        OperationKind::Mutation => "mutation_root",
        OperationKind::Subscription => "subscription_root",
    }
}

/// The fields `sets` select on the object type `def` (named `name`; `None`: the type does
/// not exist, every field is missing), by response key in order of first appearance. A
/// missing field is reported in `messages` under `path`.
pub fn fields<'d>(
    def: Option<&TypeDef>,
    name: &str,
    sets: &[&'d [Selection]],
    doc: &'d Document,
    path: &str,
    messages: &mut Vec<String>,
) -> Vec<Selected<'d>> {
    let mut out = Vec::new();
    for set in sets {
        collect(set, doc, def, name, path, messages, &mut out, 0);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn collect<'d>(
    set: &'d [Selection],
    doc: &'d Document,
    def: Option<&TypeDef>,
    name: &str,
    path: &str,
    messages: &mut Vec<String>,
    out: &mut Vec<Selected<'d>>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for sel in set {
        let nested = match sel {
            Selection::Field(f) => {
                if f.name.starts_with("__") {
                    continue;
                }
                let key = f.response_key();
                let Some(field) = def.and_then(|d| d.field(&f.name)) else {
                    messages.push(format!(
                        "{path}.{key}: field '{}' not found in object '{name}'",
                        f.name
                    ));
                    continue;
                };
                match out.iter_mut().find(|s| s.key == key) {
                    Some(s) => s.sets.push(&f.selection_set),
                    None => out.push(Selected {
                        key: key.to_string(),
                        ty: field.ty.clone(),
                        sets: vec![f.selection_set.as_slice()],
                    }),
                }
                continue;
            }
            Selection::InlineFragment(i) => Some(&i.selection_set),
            Selection::FragmentSpread(s) => doc
                .fragments
                .iter()
                .find(|f| f.name == s.name)
                .map(|f| &f.selection_set),
        };
        if let Some(set) = nested {
            collect(set, doc, def, name, path, messages, out, depth + 1);
        }
    }
}

/// The problems of `doc`'s first operation against `ts`, in the order found (empty: none).
pub fn diagnose(ts: &TypeSystem, doc: &Document) -> Vec<String> {
    let mut messages = Vec::new();
    let Some(op) = doc.operations.first() else {
        return messages;
    };
    let root = ts.root_type(op.kind);
    walk(
        ts,
        root,
        root_name(op.kind),
        &[op.selection_set.as_slice()],
        doc,
        "$",
        &mut messages,
        0,
    );
    messages
}

#[allow(clippy::too_many_arguments)]
fn walk(
    ts: &TypeSystem,
    def: Option<&TypeDef>,
    name: &str,
    sets: &[&[Selection]],
    doc: &Document,
    path: &str,
    messages: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for s in fields(def, name, sets, doc, path, messages) {
        let base = s.ty.base();
        if let Some(inner) = ts
            .type_def(base)
            .filter(|d| matches!(d.kind, TypeKind::Object | TypeKind::Interface))
        {
            let path = format!("{path}.{}", s.key);
            walk(
                ts,
                Some(inner),
                base,
                &s.sets,
                doc,
                &path,
                messages,
                depth + 1,
            );
        }
    }
}
