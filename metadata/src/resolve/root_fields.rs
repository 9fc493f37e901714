//! Hasura's refusal of a schema in which two objects define the same root field (a table's
//! custom root field named like another table's, an action named like a table's mutation):
//! "Encountered conflicting definitions in the selection set for '<root>' for field '<name>'
//! defined in [<objects>]. Fields must not be defined more than once across all sources."
//! The sources served at the root are checked together (a namespaced source's fields are
//! under its namespace field; clashes between sources are already inconsistencies, see
//! `sources`), with the actions.
use std::collections::BTreeMap;

use graphedge_core::actions::{ActionKind, ActionRoot};
use graphedge_core::model::{ExposedAs, QualifiedName, Schema};

use crate::raw::QualifiedTable;

/// The roots in the order they are checked (the first conflict is reported).
const ROOTS: [&str; 3] = ["subscription_root", "query_root", "mutation_root"];

/// The first conflict of `schema` (served from `served`, the name of its only source when it
/// has one), as Hasura's message.
pub fn conflict(schema: &Schema, served: &str) -> Option<String> {
    // root → field → the objects defining it
    let mut defined: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut add = |root: &'static str, name: &str, by: &str| {
        if !name.is_empty() {
            defined
                .entry(root)
                .or_default()
                .entry(name.to_string())
                .or_default()
                .push(by.to_string());
        }
    };
    // How Hasura names a table or function of source `i` in the message; `None` when the
    // source's root fields are under its namespace.
    let origin = |kind: &str, i: usize, name: &QualifiedName| -> Option<String> {
        let source = match schema.sources.get(i) {
            Some(s) if s.customization.namespace.is_some() => return None,
            Some(s) => s.name.as_str(),
            None => served,
        };
        let qt = QualifiedTable {
            schema: name.schema.clone(),
            name: name.name.clone(),
        };
        Some(format!(
            "{kind} {} in source {source}",
            super::table_txt(&qt)
        ))
    };
    for (t, table) in schema.tables.iter().enumerate() {
        let Some(by) = origin("table", schema.source_of_table(t), &table.name) else {
            continue;
        };
        let rf = &table.root_fields;
        let pk = !table.primary_key.is_empty();
        for root in ["query_root", "subscription_root"] {
            add(root, &rf.select, &by);
            if pk {
                add(root, &rf.select_by_pk, &by);
            }
            add(root, &rf.select_aggregate, &by);
        }
        add("subscription_root", &format!("{}_stream", rf.select), &by);
        if table.mutable.insert {
            add("mutation_root", &rf.insert, &by);
            add("mutation_root", &rf.insert_one, &by);
        }
        if table.mutable.update {
            add("mutation_root", &rf.update, &by);
            add("mutation_root", &rf.update_many, &by);
            if pk {
                add("mutation_root", &rf.update_by_pk, &by);
            }
        }
        if table.mutable.delete {
            add("mutation_root", &rf.delete, &by);
            if pk {
                add("mutation_root", &rf.delete_by_pk, &by);
            }
        }
    }
    for (i, f) in schema.functions.iter().enumerate() {
        let Some(by) = origin("function", schema.source_of_function(i), &f.name) else {
            continue;
        };
        match f.exposed_as {
            ExposedAs::Query => {
                for root in ["query_root", "subscription_root"] {
                    add(root, &f.gql_name, &by);
                    add(root, &f.gql_aggregate_name, &by);
                }
            }
            ExposedAs::Mutation => add("mutation_root", &f.gql_name, &by),
        }
    }
    for a in &schema.actions {
        let by = format!("action {}", a.name);
        match (a.root, a.kind) {
            (ActionRoot::Query, _) => add("query_root", &a.name, &by),
            (ActionRoot::Mutation, kind) => {
                add("mutation_root", &a.name, &by);
                if kind == ActionKind::Asynchronous {
                    add("query_root", &a.name, &by);
                    add("subscription_root", &a.name, &by);
                }
            }
        }
    }
    for root in ROOTS {
        let Some(fields) = defined.get(root) else {
            continue;
        };
        for (name, by) in fields {
            if by.len() > 1 {
                let mut by = by.clone();
                by.sort();
                return Some(format!(
                    "Encountered conflicting definitions in the selection set for '{root}' for \
                     field '{name}' defined in [{}]. Fields must not be defined more than once \
                     across all sources.",
                    by.join(", ")
                ));
            }
        }
    }
    None
}
