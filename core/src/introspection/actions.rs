//! Actions and their custom types in a role's type system, as Hasura v2 builds them
//! (`GraphQL/Schema/Action.hs`, `GraphQL/Schema/Postgres.hs`, action relationships through
//! `GraphQL/Schema/RemoteRelationship.hs` `remoteRelationshipToSourceField`).
//!
//! A pass over the tables' type system ([`apply`]), so the one-source build and the customized
//! sources' merged build share it; the select types of the tables action relationships lead to
//! are kept by the build ([`kept_tables`]). For each action the role may call:
//!
//! - `type: query` → a `query_root` field; a synchronous mutation → a `mutation_root` field:
//!   `name(<arguments>): <output type>`;
//! - an asynchronous mutation → `mutation_root` `name(<arguments>): uuid!` (the action id), and
//!   `name(id: uuid!): name` on `query_root` and `subscription_root`, where the object type
//!   `name` ("fields of action: \"name\"") has `id: uuid!`, `created_at: timestamptz!`,
//!   `errors: json`, `output: <output type>`.
//!
//! Hasura's quirks kept: a field's description is the action's comment, none without one; an
//! output type that is not a custom object (a scalar) is always `Scalar!` whatever the
//! declared nullability or list (hasura/graphql-engine#9546), and an asynchronous action's
//! query field then returns that scalar directly, without the `name` object; relationship
//! fields have no description, object relationships are nullable (`T`), array ones `[T!]!`
//! with the table's list arguments plus `<rel>_aggregate` when the role may aggregate, all only
//! when the role may select the table; enum values are never deprecated in introspection
//! (Hasura ignores `is_deprecated`). Relay (`/v1beta1/relay`) has the action mutations only,
//! and no relationship fields on custom objects.
//!
//! Only the custom types reachable from the role's actions appear (admin included): Hasura
//! collects types from the root fields. A name the type system already has (a Postgres scalar
//! of the tables such as `uuid`, a built-in scalar, a table's type) is reused, never defined
//! twice; a name no one defines is a plain scalar. An action whose field name a table or
//! function already has on that root gives way (a conflict metadata should refuse).
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::types::{EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::actions::{Action, ActionKind, ActionRoot, ObjectType, Type};
use crate::model::{RelKind, Schema, TableId};
use crate::session::Session;
use crate::Options;

/// Descriptions of the asynchronous action's fields (HGE `actionAsyncQuery`).
const ID_DESCRIPTION: &str = "the unique id of an action";
const CREATED_AT_DESCRIPTION: &str = "the time at which this action was created";
const ERRORS_DESCRIPTION: &str = "errors related to the invocation";
const OUTPUT_DESCRIPTION: &str = "the output fields of this action";

/// GraphQL's built-in scalars: a custom scalar of that name is the built-in.
pub(super) fn builtin_scalar(name: &str) -> bool {
    matches!(name, "Int" | "Float" | "String" | "Boolean" | "ID")
}

/// The GraphQL type of a type reference of the model; `None` when it nests more than the
/// parser allows (metadata parses types with the same bound).
pub(super) fn type_ref(t: &Type) -> Option<TypeRef> {
    let mut wrappers: Vec<bool> = Vec::new(); // true: non-null, false: list
    let mut cur = t;
    let name = loop {
        match cur {
            Type::Named(n) => break n,
            Type::List(inner) => {
                wrappers.push(false);
                cur = inner;
            }
            Type::NonNull(inner) => {
                wrappers.push(true);
                cur = inner;
            }
        }
        if wrappers.len() > crate::parse::MAX_DEPTH {
            return None;
        }
    };
    let mut r = TypeRef::named(name.as_str());
    for &nn in wrappers.iter().rev() {
        r = if nn {
            r.non_null()
        } else {
            TypeRef::List(Box::new(r))
        };
    }
    Some(r)
}

/// Whether every type the action refers to is representable.
fn well_formed(a: &Action) -> bool {
    type_ref(&a.output_type).is_some() && a.arguments.iter().all(|d| type_ref(&d.ty).is_some())
}

/// The actions `role` sees in this schema (Relay: only mutations).
fn visible<'s>(
    schema: &'s Schema,
    role: &'s str,
    options: &'s Options,
) -> impl Iterator<Item = &'s Action> + 's {
    schema.actions.iter().filter(move |a| {
        a.allowed(role) && well_formed(a) && !(options.relay && a.root == ActionRoot::Query)
    })
}

/// Whether `role` may select table `t` (`Some(allow_aggregations)`).
fn table_select(schema: &Schema, role: &str, t: TableId) -> Option<bool> {
    let table = schema.tables.get(t)?;
    if role == Session::ADMIN {
        return Some(true);
    }
    table
        .permissions
        .get(role)?
        .select
        .as_ref()
        .map(|s| s.allow_aggregations)
}

/// The custom object types reachable from the outputs of `actions` (through nested object
/// fields), each once.
fn output_objects<'s>(schema: &'s Schema, actions: &[&'s Action]) -> Vec<&'s ObjectType> {
    let ct = &schema.custom_types;
    let mut out: Vec<&ObjectType> = Vec::new();
    let mut todo: Vec<&str> = actions.iter().map(|a| a.output_type.base()).collect();
    while let Some(name) = todo.pop() {
        let Some(o) = ct.object(name) else { continue };
        if out.iter().any(|x| x.name == o.name) {
            continue;
        }
        out.push(o);
        todo.extend(o.fields.iter().map(|f| f.ty.base()));
    }
    out
}

/// The tables whose select types the role's custom objects' relationships refer to (empty
/// for Relay, which has no relationship fields on custom objects).
pub(super) fn kept_tables(schema: &Schema, role: &str, options: &Options) -> Vec<TableId> {
    if options.relay || schema.actions.is_empty() {
        return Vec::new();
    }
    let actions: Vec<&Action> = visible(schema, role, options).collect();
    let mut out = Vec::new();
    for o in output_objects(schema, &actions) {
        for r in &o.relationships {
            if table_select(schema, role, r.target).is_some() && !out.contains(&r.target) {
                out.push(r.target);
            }
        }
    }
    out
}

/// Adds the root fields of the actions `role` may call and the custom types they reach to
/// `ts` (the tables' type system, built with [`kept_tables`] kept).
pub(super) fn apply(schema: &Schema, role: &str, options: &Options, ts: &mut TypeSystem) {
    if schema.actions.is_empty() {
        return;
    }
    let actions: Vec<&Action> = visible(schema, role, options).collect();
    if actions.is_empty() {
        return;
    }
    let mut query: Vec<FieldDef> = Vec::new();
    let mut mutation: Vec<FieldDef> = Vec::new();
    let mut subscription: Vec<FieldDef> = Vec::new();
    // Names whose definitions the fields added refer to.
    let mut todo: Vec<String> = Vec::new();
    for a in &actions {
        let field = |ty: TypeRef| {
            let args = a
                .arguments
                .iter()
                .filter_map(|d| {
                    let mut v = InputValue::new(d.name.as_str(), type_ref(&d.ty)?);
                    v.description = d.description.clone().filter(|s| !s.is_empty());
                    Some(v)
                })
                .collect();
            FieldDef::new(a.name.as_str(), ty)
                .desc_opt(a.comment.clone())
                .args(args)
        };
        let base = a.output_type.base();
        let object_output = schema.custom_types.object(base).is_some();
        // `type_ref` succeeded for every type of a visible action.
        let Some(declared) = type_ref(&a.output_type) else {
            continue;
        };
        let output = if object_output {
            declared.clone()
        } else {
            TypeRef::named(base).non_null()
        };
        // A table's or function's root field of the same name comes first (a conflict
        // metadata should refuse); the action then brings none of its types.
        let taken = |ts: &TypeSystem, root: &str| {
            ts.types
                .get(root)
                .is_some_and(|d| d.field(&a.name).is_some())
        };
        let root = match a.root {
            ActionRoot::Query => "query_root",
            ActionRoot::Mutation => "mutation_root",
        };
        if taken(ts, root) {
            continue;
        }
        todo.push(String::from(base));
        todo.extend(a.arguments.iter().map(|d| String::from(d.ty.base())));
        match (a.root, a.kind) {
            (ActionRoot::Query, _) => query.push(field(output)),
            (ActionRoot::Mutation, ActionKind::Synchronous) => mutation.push(field(output)),
            (ActionRoot::Mutation, ActionKind::Asynchronous) => {
                mutation.push(field(TypeRef::named("uuid").non_null()));
                todo.push(String::from("uuid"));
                if options.relay || taken(ts, "query_root") || taken(ts, "subscription_root") {
                    continue;
                }
                let result = if object_output {
                    if !add_async_type(ts, a, declared) {
                        continue; // the name is another type's (metadata should refuse it)
                    }
                    todo.extend(["timestamptz", "json"].map(String::from));
                    TypeRef::named(a.name.as_str())
                } else {
                    output
                };
                let f = FieldDef::new(a.name.as_str(), result)
                    .desc_opt(a.comment.clone())
                    .args(vec![InputValue::new(
                        "id",
                        TypeRef::named("uuid").non_null(),
                    )
                    .desc(ID_DESCRIPTION)]);
                subscription.push(f.clone());
                query.push(f);
            }
        }
    }
    add_root(ts, "query_root", query);
    add_root(ts, "mutation_root", mutation);
    add_root(ts, "subscription_root", subscription);
    define(schema, role, options, ts, todo);
}

/// The object type of an asynchronous action's result (`false`: a type of that name exists).
fn add_async_type(ts: &mut TypeSystem, a: &Action, output: TypeRef) -> bool {
    if ts.types.contains_key(&a.name) {
        return false;
    }
    let mut t = TypeDef::new(a.name.as_str(), TypeKind::Object)
        .desc(format!("fields of action: \"{}\"", a.name));
    t.fields = vec![
        FieldDef::new("created_at", TypeRef::named("timestamptz").non_null())
            .desc(CREATED_AT_DESCRIPTION),
        FieldDef::new("errors", TypeRef::named("json")).desc(ERRORS_DESCRIPTION),
        FieldDef::new("id", TypeRef::named("uuid").non_null()).desc(ID_DESCRIPTION),
        FieldDef::new("output", output).desc(OUTPUT_DESCRIPTION),
    ];
    ts.types.insert(a.name.clone(), t);
    true
}

/// Adds `fields` to a root type (created when missing), after the fields it has (a name it
/// already has keeps its field).
pub(super) fn add_root(ts: &mut TypeSystem, root: &str, fields: Vec<FieldDef>) {
    if fields.is_empty() {
        return;
    }
    let def = ts.types.entry(String::from(root)).or_insert_with(|| {
        let t = TypeDef::new(root, TypeKind::Object);
        if root == "mutation_root" {
            t.desc("mutation root")
        } else {
            t
        }
    });
    for f in fields {
        if !def.fields.iter().any(|g| g.name == f.name) {
            def.fields.push(f);
        }
    }
    if def.fields.len() > 1 {
        def.fields.retain(|f| f.name != "no_queries_available");
    }
    def.sort();
    match root {
        "mutation_root" => ts.mutation_type = Some(String::from(root)),
        "subscription_root" => ts.subscription_type = Some(String::from(root)),
        _ => {}
    }
}

/// Defines every name in `todo` the type system lacks, and what those definitions refer to:
/// custom objects, input objects, enums and scalars; other names are plain scalars.
fn define(
    schema: &Schema,
    role: &str,
    options: &Options,
    ts: &mut TypeSystem,
    mut todo: Vec<String>,
) {
    let ct = &schema.custom_types;
    while let Some(name) = todo.pop() {
        if ts.types.contains_key(&name) {
            continue;
        }
        let def = if let Some(o) = ct.object(&name) {
            object_type(schema, role, options, ts, o)
        } else if let Some(i) = ct.input_object(&name) {
            let mut t =
                TypeDef::new(name.as_str(), TypeKind::InputObject).desc_opt(i.description.clone());
            for f in &i.fields {
                let Some(ty) = type_ref(&f.ty) else { continue };
                let mut v = InputValue::new(f.name.as_str(), ty);
                v.description = f.description.clone().filter(|s| !s.is_empty());
                t.input_fields.push(v);
            }
            t
        } else if let Some(e) = ct.enum_type(&name) {
            let mut t = TypeDef::new(name.as_str(), TypeKind::Enum).desc_opt(e.description.clone());
            for v in &e.values {
                if !t.enum_values.iter().any(|x| x.name == v.value) {
                    t.enum_values.push(EnumValueDef {
                        name: v.value.clone(),
                        description: v.description.clone().filter(|s| !s.is_empty()),
                    });
                }
            }
            t
        } else {
            let description = ct
                .scalar(&name)
                .filter(|_| !builtin_scalar(&name))
                .and_then(|s| s.description.clone());
            TypeDef::new(name.as_str(), TypeKind::Scalar).desc_opt(description)
        };
        for f in &def.fields {
            todo.push(String::from(f.ty.base()));
            todo.extend(f.args.iter().map(|a| String::from(a.ty.base())));
        }
        todo.extend(def.input_fields.iter().map(|f| String::from(f.ty.base())));
        let mut def = def;
        def.sort();
        ts.types.insert(name, def);
    }
}

/// A custom object type: its fields as declared, and its relationships to the tables the role
/// may select (not in Relay).
fn object_type(
    schema: &Schema,
    role: &str,
    options: &Options,
    ts: &TypeSystem,
    o: &ObjectType,
) -> TypeDef {
    let mut t = TypeDef::new(o.name.as_str(), TypeKind::Object).desc_opt(o.description.clone());
    for f in &o.fields {
        let Some(ty) = type_ref(&f.ty) else { continue };
        t.fields
            .push(FieldDef::new(f.name.as_str(), ty).desc_opt(f.description.clone()));
    }
    if options.relay {
        return t;
    }
    for r in &o.relationships {
        let Some(aggs) = table_select(schema, role, r.target) else {
            continue;
        };
        let source = schema.source_of_table(r.target);
        let local = &schema.tables[r.target].gql_name;
        let g = schema.type_name(source, local);
        if !ts.types.contains_key(&g) {
            continue; // not built for the role: never refer to a missing type
        }
        match r.kind {
            RelKind::Object => t
                .fields
                .push(FieldDef::new(r.name.as_str(), TypeRef::named(g))),
            RelKind::Array => {
                let mut args = super::build::select_args(local);
                for a in &mut args {
                    rename(&mut a.ty, schema, source);
                }
                t.fields
                    .push(FieldDef::new(r.name.as_str(), TypeRef::list_nn(g)).args(args.clone()));
                let agg = schema.type_name(source, &format!("{}_aggregate", local));
                if aggs && ts.types.contains_key(&agg) {
                    t.fields.push(
                        FieldDef::new(
                            format!("{}_aggregate", r.name),
                            TypeRef::named(agg).non_null(),
                        )
                        .args(args),
                    );
                }
            }
        }
    }
    t
}

/// A type reference to source `source`'s types, with their customized names.
fn rename(r: &mut TypeRef, schema: &Schema, source: usize) {
    match r {
        TypeRef::Named(n) => *n = schema.type_name(source, n),
        TypeRef::List(t) | TypeRef::NonNull(t) => rename(t, schema, source),
    }
}
