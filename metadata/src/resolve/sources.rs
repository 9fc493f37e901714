//! Several Postgres sources in one schema: each source is resolved on its own against its
//! catalog (the served one's is the [`Catalog`] itself, the others' are in
//! [`Catalog::others`]), then appended to one [`Schema`] with its tables and functions
//! renumbered. Root fields and type names must be unique across sources: a table or function
//! whose names another source already has is a metadata inconsistency and left out.
use graphedge_core::customize::Customization;
use graphedge_core::model::{FunctionReturn, Schema, SourceInfo, Table};
use serde_json::json;

use super::{resolve_one, Inconsistency};
use crate::introspect::Catalog;
use crate::sources::customize::SourceCustomization;
use crate::{raw, sources};

/// The sources in serving order: the served one (`default`, else the first) first, then the
/// others in metadata order.
pub fn ordered(md: &raw::Metadata) -> Vec<&raw::Source> {
    let served = sources::served(md);
    let mut out: Vec<&raw::Source> = served.into_iter().collect();
    out.extend(
        md.sources
            .iter()
            .filter(|s| Some(s.name.as_str()) != served.map(|s| s.name.as_str())),
    );
    out
}

pub fn resolve_all(
    metadata: &raw::Metadata,
    catalog: &Catalog,
    config: &crate::Config,
) -> (Schema, Vec<Inconsistency>) {
    let mut schema = Schema::default();
    let mut inconsistencies = Vec::new();
    for (i, source) in ordered(metadata).into_iter().enumerate() {
        let own = if i == 0 {
            Some(catalog)
        } else {
            match catalog.other(&source.name) {
                Some(o) if o.error.is_none() => Some(&o.catalog),
                other => {
                    let reason = other
                        .and_then(|o| o.error.clone())
                        .unwrap_or_else(|| "the source's database was not introspected".into());
                    inconsistencies.push(Inconsistency {
                        definition: json!(source.name),
                        reason: format!("Inconsistent object: {reason}"),
                        name: format!("source {}", source.name),
                        kind: "source".into(),
                    });
                    None
                }
            }
        };
        let Some(own) = own else { continue };
        let (mut part, found) = resolve_one(metadata, source, own, config);
        inconsistencies.extend(found);
        let mut custom = SourceCustomization::of(source, config);
        custom.apply_naming_convention(&mut part, source);
        custom.rename_root_fields(&mut part);
        append(
            &mut schema,
            part,
            &source.name,
            custom.core,
            &mut inconsistencies,
        );
    }
    (schema, inconsistencies)
}

/// Every GraphQL name a table puts at the root or among the types.
fn table_names(t: &Table) -> (Vec<&str>, &str) {
    let r = &t.root_fields;
    let mut roots = vec![r.select.as_str(), r.select_aggregate.as_str()];
    if !t.primary_key.is_empty() {
        roots.extend([
            r.select_by_pk.as_str(),
            r.update_by_pk.as_str(),
            r.delete_by_pk.as_str(),
        ]);
    }
    roots.extend([
        r.insert.as_str(),
        r.insert_one.as_str(),
        r.update.as_str(),
        r.update_many.as_str(),
        r.delete.as_str(),
    ]);
    (roots, t.gql_name.as_str())
}

/// Appends one source's schema, leaving out (and reporting) what conflicts with the sources
/// before it.
fn append(
    schema: &mut Schema,
    part: Schema,
    name: &str,
    custom: Customization,
    out: &mut Vec<Inconsistency>,
) {
    // Root fields at the root (a namespaced source's are under its namespace field) and
    // type names (customized) of the sources before this one.
    let mut roots: Vec<(String, String)> = Vec::new();
    let mut types: Vec<(String, String)> = Vec::new();
    let mut from = 0;
    for (i, s) in schema.sources.iter().enumerate() {
        let c = &s.customization;
        let at_root = c.namespace.is_none();
        if let Some(ns) = &c.namespace {
            roots.push((ns.clone(), s.name.clone()));
        }
        for t in &schema.tables[from..s.tables_end] {
            let (r, ty) = table_names(t);
            if at_root {
                roots.extend(r.into_iter().map(|n| (n.to_string(), s.name.clone())));
            }
            types.push((c.type_name(ty), s.name.clone()));
        }
        let start = if i == 0 {
            0
        } else {
            schema.sources[i - 1].functions_end
        };
        for f in &schema.functions[start..s.functions_end] {
            if at_root {
                roots.push((f.gql_name.clone(), s.name.clone()));
                roots.push((f.gql_aggregate_name.clone(), s.name.clone()));
            }
        }
        from = s.tables_end;
    }
    let at_root = custom.namespace.is_none();
    if let Some(ns) = &custom.namespace {
        if let Some((_, other)) = roots.iter().find(|(r, _)| r == ns) {
            out.push(Inconsistency {
                definition: json!(name),
                reason: format!(
                    "Inconsistent object: the namespace {ns:?} of source {name:?} already exists in source {other:?}"
                ),
                name: format!("source {name}"),
                kind: "source".into(),
            });
            return;
        }
    }
    let conflict = |names: &[&str], ty: Option<&str>| -> Option<String> {
        let names = if at_root { names } else { &[] };
        let ty = ty.map(|t| custom.type_name(t));
        let ty = ty.as_deref();
        for n in names {
            if let Some((_, other)) = roots.iter().find(|(r, _)| r == n) {
                return Some(format!(
                    "the root field {n:?} of source {name:?} already exists in source {other:?}"
                ));
            }
        }
        let ty = ty?;
        types.iter().find(|(t, _)| t == ty).map(|(_, other)| {
            format!("the type {ty:?} of source {name:?} already exists in source {other:?}")
        })
    };
    // Tables that conflict are left out, with everything that points at them.
    let mut keep = Vec::new();
    for t in &part.tables {
        let (r, ty) = table_names(t);
        match conflict(&r, Some(ty)) {
            Some(reason) => {
                out.push(Inconsistency {
                    definition: json!({"source": name, "table": {"schema": t.name.schema, "name": t.name.name}}),
                    reason: format!("Inconsistent object: {reason}"),
                    name: format!(
                        "table {} in source {name}",
                        super::table_txt(&raw::QualifiedTable {
                            schema: t.name.schema.clone(),
                            name: t.name.name.clone()
                        })
                    ),
                    kind: "table".into(),
                });
                keep.push(false);
            }
            None => keep.push(true),
        }
    }
    let base = schema.tables.len();
    let mut new_id = Vec::with_capacity(part.tables.len());
    let mut next = base;
    for k in &keep {
        new_id.push(k.then(|| {
            next += 1;
            next - 1
        }));
    }
    let map = |t: usize| new_id.get(t).copied().flatten();
    for (t, mut table) in part.tables.into_iter().enumerate() {
        if !keep[t] {
            continue;
        }
        table.relationships.retain_mut(|r| match map(r.target) {
            Some(n) => {
                r.target = n;
                true
            }
            None => false,
        });
        for c in &mut table.columns {
            c.enum_table = c.enum_table.and_then(map);
        }
        table
            .computed_fields
            .retain_mut(|cf| match &mut cf.returns {
                FunctionReturn::Table { table, .. } => match map(*table) {
                    Some(n) => {
                        *table = n;
                        true
                    }
                    None => false,
                },
                FunctionReturn::Scalar(_) => true,
            });
        schema.tables.push(table);
    }
    for mut f in part.functions {
        if let FunctionReturn::Table { table, .. } = &mut f.returns {
            match map(*table) {
                Some(n) => *table = n,
                None => continue,
            }
        }
        if let Some(reason) = conflict(&[f.gql_name.as_str(), f.gql_aggregate_name.as_str()], None)
        {
            out.push(Inconsistency {
                definition: json!({"source": name, "function": {"schema": f.name.schema, "name": f.name.name}}),
                reason: format!("Inconsistent object: {reason}"),
                name: format!("function {} in source {name}", f.name.name),
                kind: "function".into(),
            });
            continue;
        }
        schema.functions.push(f);
    }
    for (role, parents) in part.inherited_roles {
        schema.inherited_roles.entry(role).or_insert(parents);
    }
    schema.sources.push(SourceInfo {
        name: name.to_string(),
        tables_end: schema.tables.len(),
        functions_end: schema.functions.len(),
        customization: custom,
    });
}
