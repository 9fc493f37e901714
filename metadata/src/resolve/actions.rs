//! Custom types and actions (resolved after every source is in the schema: relationships of
//! object types name tracked tables of any source).
//!
//! Custom types are validated as a whole, like Hasura's `validateCustomTypeDefinitions`: type
//! names unique, enum values and fields unique, field types defined (GraphQL's built-in
//! scalars, the custom types, or a Postgres base type of a source: `uuid`, `timestamptz`,
//! `geography`, …), input objects only of input types, no arguments on object fields,
//! relationships to tracked tables of one source through non-list fields and existing
//! columns. Any problem makes the whole `custom_types` one inconsistency (type
//! `custom_types`), and then every action too ("custom types are inconsistent").
//!
//! Each action is checked like Hasura's `resolveAction`: argument types are input types, the
//! output type an object or a scalar, a synchronous action's relationships map top-level
//! scalar fields only, an asynchronous action's output type has no relationships when it has
//! object fields. A failing action is an inconsistency of type `action` (`in action "x"; …`).
//! Inherited roles may call an action when one of their parents may.
use std::collections::BTreeSet;

use graphedge_core::actions as core;
use graphedge_core::model::{RelKind, Schema};

use super::Inconsistency;
use crate::introspect::Catalog;
use crate::raw::{self, actions as ra};

/// GraphQL's built-in scalars.
const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

pub(crate) fn resolve(
    metadata: &raw::Metadata,
    catalog: &Catalog,
    schema: &mut Schema,
    out: &mut Vec<Inconsistency>,
) {
    let ct = &metadata.custom_types;
    if ct.is_empty() && metadata.actions.is_empty() {
        return;
    }
    let scalars = pg_scalars(catalog);
    let custom = match resolve_custom_types(ct, schema, &scalars) {
        Ok(c) => c,
        Err(errors) => {
            out.push(Inconsistency {
                definition: ra::custom_types_definition(ct),
                reason: format!("Inconsistent object: {}", show_errors(&errors)),
                name: "custom_types custom_types".into(),
                kind: "custom_types".into(),
            });
            for a in &metadata.actions {
                out.push(action_inconsistency(
                    a,
                    "custom types are inconsistent".into(),
                ));
            }
            return;
        }
    };
    let mut actions: Vec<core::Action> = Vec::new();
    for a in &metadata.actions {
        let checked = if actions.iter().any(|x| x.name == a.name) {
            Err(format!("multiple definitions of action {:?}", a.name))
        } else {
            resolve_action(a, ct, &scalars)
        };
        match checked {
            Ok(action) => actions.push(action),
            Err(reason) => out.push(action_inconsistency(
                a,
                format!("in action {:?}; {reason}", a.name),
            )),
        }
    }
    inherit_permissions(&mut actions, &metadata.inherited_roles);
    schema.custom_types = custom;
    schema.actions = actions;
}

fn action_inconsistency(a: &ra::ActionMetadata, reason: String) -> Inconsistency {
    Inconsistency {
        definition: ra::action_definition(a),
        reason: format!("Inconsistent object: {reason}"),
        name: format!("action {}", a.name),
        kind: "action".into(),
    }
}

/// Hasura's text of the custom type validation errors.
fn show_errors(errors: &[String]) -> String {
    match errors {
        [one] => format!("validation for the given custom types failed because {one}"),
        many => {
            let mut s = String::from(
                "validation for the given custom types failed for the following reasons:\n",
            );
            for e in many {
                s.push_str("  \u{2022} ");
                s.push_str(e);
                s.push('\n');
            }
            s
        }
    }
}

/// The Postgres scalars custom types may reuse: every source's base types by Hasura's names
/// for them (`integer`, `bigint`, `boolean`, `uuid`, …; names that are not GraphQL names are
/// left out). A catalog stored before base types were introspected falls back to Postgres'
/// standard types and the types its columns and functions use.
pub(crate) fn pg_scalars(catalog: &Catalog) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add_catalog = |c: &Catalog| {
        if c.scalars.is_empty() {
            out.extend(STANDARD_TYPES.iter().map(|s| s.to_string()));
            for t in &c.tables {
                for col in &t.columns {
                    if col.pg_type.kind == "b" {
                        out.insert(scalar_name(&col.pg_type.udt));
                    }
                }
            }
            for f in &c.functions {
                for ty in f.args.iter().map(|a| &a.pg_type).chain([&f.return_type]) {
                    if ty.kind == "b" {
                        out.insert(scalar_name(&ty.udt));
                    }
                }
            }
        } else {
            out.extend(c.scalars.iter().map(|s| scalar_name(s)));
        }
    };
    add_catalog(catalog);
    for other in &catalog.others {
        if other.error.is_none() {
            add_catalog(&other.catalog);
        }
    }
    out.retain(|s| super::is_graphql_name(s));
    out
}

/// Hasura's name of a Postgres scalar (`toSQLTxt` of its `PGScalarType`).
fn scalar_name(typname: &str) -> String {
    match typname {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        other => other,
    }
    .to_string()
}

/// Postgres' built-in base types, by Hasura's names (the fallback of [`pg_scalars`]).
const STANDARD_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "real",
    "numeric",
    "money",
    "boolean",
    "bpchar",
    "char",
    "varchar",
    "text",
    "name",
    "bytea",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "json",
    "jsonb",
    "uuid",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "bit",
    "varbit",
    "oid",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "tsvector",
    "tsquery",
    "pg_lsn",
    "jsonpath",
];

/// The elements that occur more than once, sorted and unique.
fn duplicates<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    let mut dups = BTreeSet::new();
    for i in items {
        if !seen.insert(i) {
            dups.insert(i);
        }
    }
    dups.into_iter().collect()
}

/// `"a", "b"` (Hasura's `dquoteList`).
fn dquote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_built_in(name: &str) -> bool {
    BUILT_IN_SCALARS.contains(&name)
}

/// Validates the custom types (Hasura's order and wording; an error Hasura `refute`s ends the
/// validation, the others are collected) and resolves them.
fn resolve_custom_types(
    ct: &ra::CustomTypes,
    schema: &Schema,
    pg: &BTreeSet<String>,
) -> Result<core::CustomTypes, Vec<String>> {
    let mut errors = Vec::new();
    macro_rules! refute {
        ($e:expr) => {{
            errors.push($e);
            return Err(errors);
        }};
    }
    let names = ct.names();
    let dups = duplicates(names.iter().copied());
    if !dups.is_empty() {
        errors.push(format!("duplicate type names: {}", dquote_list(&dups)));
    }
    for n in &names {
        if !super::is_graphql_name(n) {
            errors.push(format!("{n:?} is not a valid GraphQL name"));
        }
    }
    let is_scalar = |n: &str| is_built_in(n) || ct.scalars.iter().any(|s| s.name == n);
    let is_enum = |n: &str| ct.enums.iter().any(|e| e.name == n);
    let is_input = |n: &str| ct.input_objects.iter().any(|i| i.name == n);
    let is_object = |n: &str| ct.objects.iter().any(|o| o.name == n);

    for e in &ct.enums {
        let dups = duplicates(e.values.iter().map(|v| v.value.as_str()));
        if !dups.is_empty() {
            errors.push(format!(
                "the enum type {:?} has duplicate values: {}",
                e.name,
                dquote_list(&dups)
            ));
        }
    }
    for io in &ct.input_objects {
        let dups = duplicates(io.fields.iter().map(|f| f.name.as_str()));
        if !dups.is_empty() {
            errors.push(format!(
                "the input object {:?} has duplicate fields: {}",
                io.name,
                dquote_list(&dups)
            ));
        }
        for f in &io.fields {
            let base = f.ty.base();
            if !(is_scalar(base) || is_enum(base) || is_input(base) || pg.contains(base)) {
                refute!(format!(
                    "the type {base:?} for field {:?} in  input object type {:?} does not exist",
                    f.name, io.name
                ));
            }
        }
    }
    let mut objects = Vec::new();
    for o in &ct.objects {
        let all = o
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .chain(o.relationships.iter().map(|r| r.name.as_str()));
        let dups = duplicates(all);
        if !dups.is_empty() {
            errors.push(format!(
                "the object {:?} has duplicate fields: {}",
                o.name,
                dquote_list(&dups)
            ));
        }
        for f in &o.fields {
            if f.arguments.is_some() {
                errors.push(format!("the object {:?} can't have arguments", o.name));
            }
            let base = f.ty.base();
            if !(is_scalar(base) || is_enum(base) || is_object(base) || pg.contains(base)) {
                refute!(format!(
                    "the type {base:?} for field {:?} in  object type {:?} does not exist",
                    f.name, o.name
                ));
            }
        }
        let sources: BTreeSet<&str> = o.relationships.iter().map(|r| r.source.as_str()).collect();
        if sources.len() > 1 {
            refute!(format!(
                "the object {:?} has relationships refers to tables in multiple sources",
                o.name
            ));
        }
        let mut relationships = Vec::new();
        for r in &o.relationships {
            let table = super::table_txt(&r.remote_table);
            let Some(target) = super::remote::table_in(
                schema,
                &r.source,
                &r.remote_table.schema,
                &r.remote_table.name,
            ) else {
                refute!(format!(
                    "the remote table {table:?} for relationship {:?} of object type {:?} does not exist",
                    r.name, o.name
                ));
            };
            let mut mapping = Vec::new();
            for (field, column) in &r.field_mapping {
                match o.fields.iter().find(|f| &f.name == field) {
                    None => errors.push(format!(
                        "the field {field:?} for relationship {:?} in object type {:?} does not exist",
                        r.name, o.name
                    )),
                    Some(f) if f.ty.is_list() => errors.push(format!(
                        "the type of the field {field:?} for relationship {:?} in object type {:?} is a list type",
                        r.name, o.name
                    )),
                    Some(_) => {}
                }
                let Some(col) = schema.tables[target].column(column) else {
                    refute!(format!(
                        "the column {column:?} of remote table {table:?} for relationship {:?} of object type {:?} does not exist",
                        r.name, o.name
                    ));
                };
                mapping.push((field.clone(), col));
            }
            relationships.push(core::ObjectRelationship {
                name: r.name.clone(),
                kind: match r.kind {
                    ra::RelType::Object => RelKind::Object,
                    ra::RelType::Array => RelKind::Array,
                },
                target,
                mapping,
            });
        }
        objects.push(core::ObjectType {
            name: o.name.clone(),
            description: o.description.clone(),
            fields: o
                .fields
                .iter()
                .map(|f| field_def(&f.name, &f.ty, &f.description))
                .collect(),
            relationships,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(core::CustomTypes {
        scalars: ct
            .scalars
            .iter()
            .map(|s| core::CustomScalar {
                name: s.name.clone(),
                description: s.description.clone(),
            })
            .collect(),
        enums: ct
            .enums
            .iter()
            .map(|e| core::CustomEnum {
                name: e.name.clone(),
                description: e.description.clone(),
                values: e
                    .values
                    .iter()
                    .map(|v| core::CustomEnumValue {
                        value: v.value.clone(),
                        description: v.description.clone(),
                        is_deprecated: v.is_deprecated.unwrap_or(false),
                    })
                    .collect(),
            })
            .collect(),
        input_objects: ct
            .input_objects
            .iter()
            .map(|i| core::InputObject {
                name: i.name.clone(),
                description: i.description.clone(),
                fields: i
                    .fields
                    .iter()
                    .map(|f| field_def(&f.name, &f.ty, &f.description))
                    .collect(),
            })
            .collect(),
        objects,
    })
}

fn field_def(name: &str, ty: &ra::GqlType, description: &Option<String>) -> core::FieldDef {
    core::FieldDef {
        name: name.to_string(),
        ty: ty.0.clone(),
        description: description.clone(),
    }
}

/// Hasura's `resolveAction` (against custom types that resolved).
fn resolve_action(
    a: &ra::ActionMetadata,
    ct: &ra::CustomTypes,
    pg: &BTreeSet<String>,
) -> Result<core::Action, String> {
    if !super::is_graphql_name(&a.name) {
        return Err(format!("{:?} is not a valid GraphQL name", a.name));
    }
    let d = &a.definition;
    let is_scalar = |n: &str| is_built_in(n) || ct.scalars.iter().any(|s| s.name == n);
    let is_enum = |n: &str| ct.enums.iter().any(|e| e.name == n);
    for arg in &d.arguments {
        let base = arg.ty.base();
        let input = pg.contains(base)
            || is_scalar(base)
            || is_enum(base)
            || ct.input_objects.iter().any(|i| i.name == base);
        if !input {
            return Err(format!(
                "the type: {base:?} is not defined in custom types or it is not a scalar/enum/input_object"
            ));
        }
    }
    let out = d.output_type.base();
    let object = ct.object(out);
    if object.is_none() && !(pg.contains(out) || is_scalar(out)) {
        return Err(format!(
            "the type: {out:?} is not an object or scalar type defined in custom types"
        ));
    }
    if let Some(o) = object {
        let (nested, flat): (Vec<&ra::ObjectField>, Vec<&ra::ObjectField>) = o
            .fields
            .iter()
            .partition(|f| ct.object(f.ty.base()).is_some());
        if d.is_async() {
            if !o.relationships.is_empty() && !nested.is_empty() {
                let names: Vec<&str> = nested.iter().map(|f| f.name.as_str()).collect();
                return Err(format!(
                    "Async action relations cannot be used with object fields: {}",
                    dquote_list(&names)
                ));
            }
        } else {
            let bad: Vec<&str> = o
                .relationships
                .iter()
                .filter(|r| {
                    !r.field_mapping
                        .keys()
                        .all(|k| flat.iter().any(|f| &f.name == k))
                })
                .map(|r| r.name.as_str())
                .collect();
            if !bad.is_empty() {
                return Err(format!(
                    "Relationships cannot be defined with nested object fields: {}",
                    dquote_list(&bad)
                ));
            }
        }
    }
    Ok(core::Action {
        name: a.name.clone(),
        comment: a.comment.clone(),
        kind: match d.kind() {
            ra::ActionKind::Synchronous => core::ActionKind::Synchronous,
            ra::ActionKind::Asynchronous => core::ActionKind::Asynchronous,
        },
        root: match d.action_type {
            ra::ActionType::Query => core::ActionRoot::Query,
            ra::ActionType::Mutation => core::ActionRoot::Mutation,
        },
        arguments: d
            .arguments
            .iter()
            .map(|x| field_def(&x.name, &x.ty, &x.description))
            .collect(),
        output_type: d.output_type.0.clone(),
        handler: d.handler.clone(),
        headers: d
            .headers
            .iter()
            .map(|h| {
                let value = match (&h.value, &h.value_from_env) {
                    (Some(v), _) => core::HeaderValue::Value(v.clone()),
                    (None, Some(env)) => core::HeaderValue::FromEnv(env.clone()),
                    (None, None) => core::HeaderValue::Value(String::new()),
                };
                (h.name.clone(), value)
            })
            .collect(),
        forward_client_headers: d.forward_client_headers,
        ignored_client_headers: d.ignored_client_headers.clone(),
        timeout: d.timeout,
        request_transform: d.request_transform.as_ref().map(|t| t.to_string()),
        response_transform: d.response_transform.as_ref().map(|t| t.to_string()),
        permissions: a.permissions.iter().map(|p| p.role.clone()).collect(),
    })
}

/// An inherited role may call an action one of its parent roles (directly or through other
/// inherited roles) may call (Hasura's `mkBooleanPermissionMap`).
fn inherit_permissions(actions: &mut [core::Action], inherited: &[raw::InheritedRole]) {
    if inherited.is_empty() {
        return;
    }
    for a in actions.iter_mut() {
        // A fixed point: each round adds at least one role, so it ends.
        loop {
            let add: Vec<String> = inherited
                .iter()
                .filter(|r| !a.permissions.contains(&r.role_name))
                .filter(|r| r.role_set.iter().any(|p| a.permissions.contains(p)))
                .map(|r| r.role_name.clone())
                .collect();
            if add.is_empty() {
                break;
            }
            a.permissions.extend(add);
        }
    }
}

#[cfg(test)]
mod tests;
