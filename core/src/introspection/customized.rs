//! The type system of a schema with customized sources (a namespace, renamed types): each
//! source's type system is built on its own, its types renamed and its root fields moved
//! under its namespace field, then the sources' type systems are merged (a type both generate
//! under one name — scalars, `order_by` — is kept once); the actions and their custom types
//! are added to the merged type system, at the root and with their own names, and so are the
//! remote schemas' root fields and types.
use alloc::vec::Vec;

use super::types::{FieldDef, TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::customize::Customization;
use crate::model::{FunctionReturn, Schema};
use crate::Options;

/// Whether the schema needs [`build`] rather than one build over every table.
pub fn needed(schema: &Schema, options: &Options) -> bool {
    !options.relay
        && schema
            .sources
            .iter()
            .any(|s| !s.customization.is_identity())
}

pub fn build(schema: &Schema, role: &str, options: &Options) -> TypeSystem {
    let mut out: Option<TypeSystem> = None;
    let keep = super::actions::kept_tables(schema, role, options);
    for (i, source) in schema.sources.iter().enumerate() {
        let part = subset(schema, i);
        let t0 = i.checked_sub(1).map_or(0, |p| schema.sources[p].tables_end);
        let local: Vec<usize> = keep
            .iter()
            .filter(|&&t| t >= t0 && t < source.tables_end)
            .map(|&t| t - t0)
            .collect();
        let mut ts = super::build::build_keeping(&part, role, options, &local);
        let c = &source.customization;
        if c.graphql_default() {
            generated_names(&mut ts, c);
        }
        if c.renames_types() {
            rename(&mut ts, c);
        }
        if c.namespace.is_some() {
            namespace(&mut ts, c);
        }
        match &mut out {
            None => out = Some(ts),
            Some(all) => merge(all, ts),
        }
    }
    let mut ts = out.unwrap_or_default();
    // Actions and remote schemas belong to no source: at the root, never renamed.
    super::actions::apply(schema, role, options, &mut ts);
    super::remote_schemas::apply(schema, role, options, &mut ts);
    for root in ["query_root", "mutation_root", "subscription_root"] {
        if let Some(def) = ts.types.get_mut(root) {
            if def.fields.len() > 1 {
                def.fields.retain(|f| f.name != "no_queries_available");
            }
            def.sort();
        }
    }
    ts
}

/// The tables and functions of source `i` alone, renumbered from 0.
fn subset(schema: &Schema, i: usize) -> Schema {
    let t0 = if i == 0 {
        0
    } else {
        schema.sources[i - 1].tables_end
    };
    let f0 = if i == 0 {
        0
    } else {
        schema.sources[i - 1].functions_end
    };
    let s = &schema.sources[i];
    let shift = |r: &mut FunctionReturn| {
        if let FunctionReturn::Table { table, .. } = r {
            *table = table.saturating_sub(t0);
        }
    };
    let mut tables: Vec<_> = schema.tables[t0..s.tables_end.max(t0)].to_vec();
    for t in &mut tables {
        for r in &mut t.relationships {
            r.target = r.target.saturating_sub(t0);
        }
        for c in &mut t.columns {
            c.enum_table = c.enum_table.map(|e| e.saturating_sub(t0));
        }
        for cf in &mut t.computed_fields {
            shift(&mut cf.returns);
        }
    }
    let mut functions: Vec<_> = schema.functions[f0..s.functions_end.max(f0)].to_vec();
    for f in &mut functions {
        shift(&mut f.returns);
    }
    Schema {
        tables,
        functions,
        inherited_roles: schema.inherited_roles.clone(),
        version: schema.version,
        sources: Vec::new(),
        introspection_disabled: schema.introspection_disabled.clone(),
        custom_types: Default::default(),
        actions: Vec::new(),
        remote_schemas: Vec::new(),
        // Federation's fields belong to the whole schema (added after the sources').
        apollo_federation: None,
    }
}

/// `graphql-default`: the names Hasura generates for arguments, operators and the fields of
/// generated types in camelCase (`orderBy`, `_isNull`, `affectedRows`, `stddevPop`), an array
/// relationship's aggregate field `<rel>Aggregate`, and the `order_by` values in upper case.
/// Runs before the types are renamed (it recognizes them by their default names).
fn generated_names(ts: &mut TypeSystem, c: &Customization) {
    let rel_aggregate = |name: &mut alloc::string::String, ty: &TypeRef, suffix: &str| {
        if ty.base().ends_with(suffix) {
            if let Some(base) = name.strip_suffix("_aggregate") {
                *name = alloc::format!("{base}Aggregate");
            }
        }
    };
    for def in ts.types.values_mut() {
        let n = def.name.as_str();
        let root = matches!(n, "query_root" | "mutation_root" | "subscription_root");
        let generated_fields =
            n.ends_with("_mutation_response") || n.ends_with("_aggregate_fields");
        for f in &mut def.fields {
            for a in &mut f.args {
                a.name = c.generated(&a.name);
            }
            if generated_fields {
                f.name = c.generated(&f.name);
            } else if !root {
                rel_aggregate(&mut f.name, &f.ty, "_aggregate");
            }
        }
        let generated_inputs = [
            "_comparison_exp",
            "_on_conflict",
            "_updates",
            "_aggregate_order_by",
            "_rel_insert_input",
            "_stream_cursor_input",
        ]
        .iter()
        .any(|s| n.ends_with(s));
        for f in &mut def.input_fields {
            if generated_inputs {
                f.name = c.generated(&f.name);
            } else if n.ends_with("_order_by") {
                rel_aggregate(&mut f.name, &f.ty, "_aggregate_order_by");
            } else if n.ends_with("_bool_exp") {
                rel_aggregate(&mut f.name, &f.ty, "_aggregate_bool_exp");
            }
        }
        if n == "order_by" {
            for v in &mut def.enum_values {
                v.name = c.generated(&v.name);
            }
        }
    }
}

fn rename_ref(r: &mut TypeRef, c: &Customization) {
    match r {
        TypeRef::Named(n) => *n = c.type_name(n),
        TypeRef::List(t) | TypeRef::NonNull(t) => rename_ref(t, c),
    }
}

/// Every type the source generates gets its customized name.
fn rename(ts: &mut TypeSystem, c: &Customization) {
    let types = core::mem::take(&mut ts.types);
    for (_, mut def) in types {
        def.name = c.type_name(&def.name);
        for f in &mut def.fields {
            rename_ref(&mut f.ty, c);
            for a in &mut f.args {
                rename_ref(&mut a.ty, c);
            }
        }
        for f in &mut def.input_fields {
            rename_ref(&mut f.ty, c);
        }
        for r in def
            .interfaces
            .iter_mut()
            .chain(def.possible_types.iter_mut())
        {
            rename_ref(r, c);
        }
        ts.types.insert(def.name.clone(), def);
    }
}

/// Moves each root type's fields under the namespace field.
fn namespace(ts: &mut TypeSystem, c: &Customization) {
    let Some(ns) = c.namespace.as_deref() else {
        return;
    };
    for root in ["query_root", "mutation_root", "subscription_root"] {
        let Some(def) = ts.types.get_mut(root) else {
            continue;
        };
        let fields: Vec<FieldDef> = core::mem::take(&mut def.fields)
            .into_iter()
            .filter(|f| f.name != "no_queries_available")
            .collect();
        if fields.is_empty() {
            continue;
        }
        let Some(ty) = c.namespace_type(root) else {
            continue;
        };
        def.fields
            .push(FieldDef::new(ns, TypeRef::named(ty.as_str()).non_null()));
        let mut wrapper = TypeDef::new(ty.as_str(), TypeKind::Object);
        wrapper.fields = fields;
        wrapper.sort();
        ts.types.insert(ty, wrapper);
    }
}

/// Adds `part`'s types to `all` (roots: their fields).
fn merge(all: &mut TypeSystem, part: TypeSystem) {
    for (name, def) in part.types {
        match all.types.get_mut(&name) {
            Some(have)
                if matches!(
                    name.as_str(),
                    "query_root" | "mutation_root" | "subscription_root"
                ) =>
            {
                for f in def.fields {
                    if !have.fields.iter().any(|g| g.name == f.name) {
                        have.fields.push(f);
                    }
                }
            }
            Some(_) => {}
            None => {
                all.types.insert(name, def);
            }
        }
    }
    if all.mutation_type.is_none() {
        all.mutation_type = part.mutation_type;
    }
    if all.subscription_type.is_none() {
        all.subscription_type = part.subscription_type;
    }
}
