//! Remote schemas in a role's type system, as Hasura v2 builds them
//! (`GraphQL/Schema.hs` `buildRoleContext`/`assembleGQLContext`: the remotes' query, mutation and
//! subscription root fields join the sources' and actions' in `query_root`, `mutation_root`
//! and `subscription_root`; `GraphQL/Schema/Remote.hs`: the remote's types as its
//! introspection describes them; `GraphQL/Schema/Introspect.hs`: what `__schema`/`__type`
//! print).
//!
//! A pass over the type system after the actions' ([`apply`]), shared by the one-source build
//! and the customized sources' merged build (remotes belong to no source: their fields are at
//! the root, their types keep the remote's names as its `customization` renames them:
//! `RemoteSchema::type_name`/`field_name`, a `root_fields_namespace` field of type
//! `<ns><RootType>!` holding the root fields). For each remote the role may use
//! ([`RemoteSchema::allowed`] with `Options::remote_schema_permissions`):
//!
//! - every usable field of the remote's query type becomes a `query_root` field, of its
//!   mutation type a `mutation_root` field (`mutation_root`, "mutation root", is created when
//!   the sources and actions give the role none), of its subscription type a
//!   `subscription_root` field (created likewise) — with the remote's arguments (types and
//!   default values as the remote has them), descriptions and types;
//! - every type reachable from those fields is added under the remote's name: objects (fields
//!   with arguments, the interfaces they implement), interfaces (fields, their possible
//!   types), unions (members), enums, input objects (fields with default values), custom
//!   scalars — following field types, argument types, input field types, interfaces and
//!   possible types. Types of the remote no root field of the role reaches are left out.
//!
//! Hasura's introspection behaviours kept: fields, arguments, input fields and enum values are
//! listed sorted by name like every other type's (`sortOn P.dName`), and so are an object's
//! interfaces and an interface's or union's possible types; nothing is ever deprecated
//! (`isDeprecated: false`, `deprecationReason: null` for fields and enum values: Hasura's
//! introspection does not track deprecation — "TODO We don't seem to track deprecation info");
//! descriptions are the remote's.
//!
//! Names: a name the type system already has (a built-in scalar, a type of the sources, of
//! the actions or of a remote added before) is reused, never defined twice — metadata refuses
//! every other clash (Hasura's "Found conflicting definitions for GraphQL type"); GraphQL's
//! built-in scalars never take a remote's description. A root field name the role's root
//! type already has (a table's, a function's, an action's, an earlier remote's) keeps its
//! field (a conflict metadata refuses: "Field cannot be overwritten by remote field",
//! "Duplicate remote field"). A referenced name the remote does not define is a plain scalar.
//! Relay (`/v1beta1/relay`) has no remote fields (Hasura exposes them there only to the
//! unauthenticated role, an oversight it notes, hasura/graphql-engine-mono#3883).
//!
//! Bounded: a field whose type or an argument's type nests deeper than the parser's bound
//! is left out ([`crate::remote_schemas::usable`], checked without recursion; the compiler's
//! [`crate::remote_schemas::root_field_of`] serves exactly the root fields shown), and the
//! walk over the remote's types is a work list that defines each name once.
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::actions::{add_root, builtin_scalar, type_ref};
use super::types::{EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::model::Schema;
use crate::remote_schemas::{self as rs, RemoteField, RemoteSchema, RemoteType};
use crate::Options;

/// The roots: the remote's operation kind and the type system's root type.
const ROOTS: [(&str, &str); 3] = [
    ("query", "query_root"),
    ("mutation", "mutation_root"),
    ("subscription", "subscription_root"),
];

/// Adds the root fields of the remote schemas `role` may use and the remote types they reach
/// to `ts` (built with the sources' and actions' types).
pub(super) fn apply(schema: &Schema, role: &str, options: &Options, ts: &mut TypeSystem) {
    if options.relay || schema.remote_schemas.is_empty() {
        return;
    }
    // (remote index, the remote's type name) whose definitions the added fields refer to.
    let mut todo: Vec<(usize, String)> = Vec::new();
    // What the role sees of each remote (its view under remote schema permissions).
    let views: Vec<Option<&RemoteSchema>> = schema
        .remote_schemas
        .iter()
        .map(|r| r.for_role(role, options.remote_schema_permissions))
        .collect();
    for (i, remote) in views.iter().enumerate() {
        let Some(remote) = *remote else {
            continue;
        };
        for (kind, root) in ROOTS {
            let Some(root_type) = remote.root(kind) else {
                continue;
            };
            let mut fields: Vec<FieldDef> = Vec::new();
            if let Some(ns) = &remote.customization.root_fields_namespace {
                // Hasura's `customizeNamespace`: one field of the root type, renamed.
                if root_type.fields.iter().any(rs::usable) && ts.field(root, ns).is_none() {
                    let ty = TypeRef::named(remote.type_name(&root_type.name)).non_null();
                    fields.push(FieldDef::new(ns.as_str(), ty));
                    todo.push((i, root_type.name.clone()));
                }
                add_root(ts, root, fields);
                continue;
            }
            for f in &root_type.fields {
                let name = remote.field_name(&root_type.name, &f.name);
                if !rs::usable(f)
                    || fields.iter().any(|g| g.name == name)
                    || ts.field(root, &name).is_some()
                {
                    continue;
                }
                let Some(def) = field_def(remote, &root_type.name, f) else {
                    continue;
                };
                refer(f, i, &mut todo);
                fields.push(def);
            }
            add_root(ts, root, fields);
        }
    }
    let partly_fixed = relationships(schema, role, &views, ts, &mut todo);
    define(schema, &views, ts, todo);
    for (name, original, fixed) in partly_fixed {
        without_fixed(ts, &name, &original, &fixed, 0);
    }
}

/// An input object an argument of a relationship sets part of, as Hasura shows it: a type
/// of its own, `<type>_remote_rel_<table><relationship>` (`name`), without the fields the
/// relationship sets (`fixed`), those it sets part of retyped the same way.
type PartlyFixed = (String, String, Vec<(String, crate::value::Value)>);

/// The suffix of the types of a relationship's partly set input objects.
fn fixed_suffix(table: &str, rel: &str) -> String {
    alloc::format!("_remote_rel_{table}{rel}")
}

/// Replaces the innermost name of `ty` (keeping its list and non-null wrappers).
fn renamed(ty: &TypeRef, name: &str) -> TypeRef {
    match ty {
        TypeRef::Named(_) => TypeRef::named(name),
        TypeRef::List(t) => TypeRef::List(alloc::boxed::Box::new(renamed(t, name))),
        TypeRef::NonNull(t) => TypeRef::NonNull(alloc::boxed::Box::new(renamed(t, name))),
    }
}

/// Defines `name`: input object `original` without the fields `fixed` sets (a field it sets
/// part of gets such a type of its own).
fn without_fixed(
    ts: &mut TypeSystem,
    name: &str,
    original: &str,
    fixed: &[(String, crate::value::Value)],
    depth: usize,
) {
    if depth > 16 || ts.types.contains_key(name) {
        return;
    }
    let Some(mut def) = ts.types.get(original).cloned() else {
        return;
    };
    if def.kind != super::types::TypeKind::InputObject {
        return;
    }
    let suffix = String::from(name.strip_prefix(original).unwrap_or_default());
    def.name = String::from(name);
    let mut nested = Vec::new();
    def.input_fields
        .retain_mut(|f| match fixed.iter().find(|(n, _)| n == &f.name) {
            None => true,
            Some((_, crate::value::Value::Object(inner))) => {
                let inner_name = alloc::format!("{}{suffix}", f.ty.base());
                nested.push((inner_name.clone(), String::from(f.ty.base()), inner.clone()));
                f.ty = renamed(&f.ty, &inner_name);
                true
            }
            Some(_) => false,
        });
    ts.types.insert(String::from(name), def);
    for (n, o, f) in nested {
        without_fixed(ts, &n, &o, &f, depth + 1);
    }
}

/// The tables' relationships to remote schemas: a field of the table's object type typed like
/// the remote field it ends at, with that field's arguments the relationship does not set
/// (an input object it sets part of stays: the client's value is merged in). Only where the
/// role selects the table and its join columns and sees the remote field.
fn relationships(
    schema: &Schema,
    role: &str,
    views: &[Option<&RemoteSchema>],
    ts: &mut TypeSystem,
    todo: &mut Vec<(usize, String)>,
) -> Vec<PartlyFixed> {
    let mut partly_fixed = Vec::new();
    for t in &schema.tables {
        for rel in &t.remote_schema_relationships {
            let selectable = role == "admin"
                || t.permissions
                    .get(role)
                    .and_then(|p| p.select.as_ref())
                    .is_some_and(|s| {
                        rel.lhs.iter().all(|f| match f {
                            crate::model::JoinField::Column(c) => s.columns.contains(c),
                            crate::model::JoinField::Computed(n) => s.computed_fields.contains(n),
                        })
                    });
            let Some(i) = schema
                .remote_schemas
                .iter()
                .position(|r| r.name == rel.remote)
            else {
                continue;
            };
            let Some(remote) = views.get(i).copied().flatten() else {
                continue;
            };
            if !selectable || !ts.types.contains_key(&t.gql_name) {
                continue;
            }
            let Some(leaf) = remote.relationship_leaf(rel) else {
                continue;
            };
            let fixed = rel.path.last().map(|(_, a)| a.as_slice()).unwrap_or(&[]);
            let Some(ty) = type_ref(&remote.client_type(&leaf.ty)) else {
                continue;
            };
            let mut def = FieldDef::new(rel.name.as_str(), ty);
            def.description = rel.comment.clone();
            def.args = leaf
                .args
                .iter()
                .filter(|a| a.visible())
                .filter(|a| {
                    !fixed
                        .iter()
                        .any(|(n, v)| n == &a.name && !matches!(v, crate::value::Value::Object(_)))
                })
                .filter_map(|a| input_value(remote, a))
                .collect();
            for arg in &mut def.args {
                if let Some((_, crate::value::Value::Object(inner))) =
                    fixed.iter().find(|(n, _)| n == &arg.name)
                {
                    let name =
                        alloc::format!("{}{}", arg.ty.base(), fixed_suffix(&t.gql_name, &rel.name));
                    partly_fixed.push((name.clone(), String::from(arg.ty.base()), inner.clone()));
                    arg.ty = renamed(&arg.ty, &name);
                }
            }
            refer(leaf, i, todo);
            if let Some(obj) = ts.types.get_mut(&t.gql_name) {
                if obj.field(&rel.name).is_none() {
                    obj.fields.push(def);
                    obj.sort();
                }
            }
        }
    }
    partly_fixed
}

/// A field of the remote object or interface type `parent` as clients see it (`None`: its
/// type is not representable; callers check [`rs::usable`] first, so every argument is).
fn field_def(remote: &RemoteSchema, parent: &str, f: &RemoteField) -> Option<FieldDef> {
    let name = remote.field_name(parent, &f.name);
    let mut def = FieldDef::new(name.as_str(), type_ref(&remote.client_type(&f.ty))?);
    def.description = f.description.clone();
    def.args = f
        .args
        .iter()
        .filter(|a| a.visible())
        .filter_map(|a| input_value(remote, a))
        .collect();
    Some(def)
}

/// An argument or an input object's field, with its default value as the remote gives it.
fn input_value(remote: &RemoteSchema, v: &rs::InputValue) -> Option<InputValue> {
    let mut out = InputValue::new(v.name.as_str(), type_ref(&remote.client_type(&v.ty))?);
    out.description = v.description.clone();
    out.default_value = v.default_value.clone();
    Some(out)
}

/// The innermost name of a type reference.
fn base(t: &rs::Type) -> &str {
    let mut cur = t;
    loop {
        match cur {
            rs::Type::Named(n) => return n,
            rs::Type::List(inner) | rs::Type::NonNull(inner) => cur = inner,
        }
    }
}

/// Queues the names (the remote's) a field refers to (its type, its arguments' types).
fn refer(f: &RemoteField, remote: usize, todo: &mut Vec<(usize, String)>) {
    todo.push((remote, String::from(base(&f.ty))));
    todo.extend(
        f.args
            .iter()
            .filter(|a| a.visible())
            .map(|a| (remote, String::from(base(&a.ty)))),
    );
}

/// The remote's types by name (built once per remote the walk visits).
fn index(remote: &RemoteSchema) -> BTreeMap<&str, &RemoteType> {
    let mut map = BTreeMap::new();
    for t in &remote.types {
        map.entry(t.name.as_str()).or_insert(t); // the first of a repeated name
    }
    map
}

/// Defines every queued name the type system lacks, from the remote that referred to it, and
/// what those definitions refer to.
fn define(
    schema: &Schema,
    views: &[Option<&RemoteSchema>],
    ts: &mut TypeSystem,
    mut todo: Vec<(usize, String)>,
) {
    let mut indexes: BTreeMap<usize, BTreeMap<&str, &RemoteType>> = BTreeMap::new();
    while let Some((i, name)) = todo.pop() {
        let Some(remote) = views.get(i).copied().flatten() else {
            continue;
        };
        let client = remote.type_name(&name);
        if ts.types.contains_key(&client) {
            continue;
        }
        let found = if builtin_scalar(&name) && client == name {
            None
        } else {
            indexes
                .entry(i)
                .or_insert_with(|| index(remote))
                .get(name.as_str())
                .copied()
        };
        let def = match found {
            Some(t) => type_def(remote, t, i, &mut todo),
            None => TypeDef::new(client.as_str(), TypeKind::Scalar),
        };
        let mut def = def;
        if let Some(t) = found {
            type_relationships(schema, remote, t, ts, &mut def);
        }
        ts.types.insert(client, def);
    }
}

/// The relationships of the remote object type `t` to tables whose types the role has (its
/// select permission): object ones typed by the table's type, array ones as a list with the
/// usual select arguments.
fn type_relationships(
    schema: &Schema,
    r: &RemoteSchema,
    t: &RemoteType,
    ts: &TypeSystem,
    def: &mut TypeDef,
) {
    for rel in r.relationships.iter().filter(|x| x.type_name == t.name) {
        let Some(target) = schema.tables.get(rel.target) else {
            continue;
        };
        let g = target.gql_name.as_str();
        if !ts.types.contains_key(g) || def.field(&rel.name).is_some() {
            continue;
        }
        let field = match rel.kind {
            crate::model::RelKind::Object => FieldDef::new(rel.name.as_str(), TypeRef::named(g)),
            crate::model::RelKind::Array => {
                let mut f = FieldDef::new(rel.name.as_str(), TypeRef::list_nn(g));
                f.args = super::build::select_args(g);
                f
            }
        };
        def.fields.push(field);
    }
    def.sort();
}

/// The definition of one remote type; queues the names it refers to.
fn type_def(
    r: &RemoteSchema,
    t: &RemoteType,
    remote: usize,
    todo: &mut Vec<(usize, String)>,
) -> TypeDef {
    let kind = match t.kind {
        rs::TypeKind::Scalar => TypeKind::Scalar,
        rs::TypeKind::Object => TypeKind::Object,
        rs::TypeKind::Interface => TypeKind::Interface,
        rs::TypeKind::Union => TypeKind::Union,
        rs::TypeKind::Enum => TypeKind::Enum,
        rs::TypeKind::InputObject => TypeKind::InputObject,
    };
    let mut def = TypeDef::new(r.type_name(&t.name).as_str(), kind);
    // A namespace's type is Hasura's, without the remote root's description.
    if r.customization.root_fields_namespace.is_none() || !r.is_root_type(&t.name) {
        def.description = t.description.clone();
    }
    todo.extend(
        t.interfaces
            .iter()
            .chain(t.possible_types.iter())
            .map(|n| (remote, n.clone())),
    );
    let names = |list: &[String]| -> Vec<TypeRef> {
        let list: Vec<String> = list.iter().map(|n| r.type_name(n)).collect();
        let mut names: Vec<&String> = list.iter().collect();
        names.sort();
        names.dedup();
        names.into_iter().map(TypeRef::named).collect()
    };
    match kind {
        TypeKind::Object | TypeKind::Interface => {
            for f in &t.fields {
                if !rs::usable(f) || def.field(&r.field_name(&t.name, &f.name)).is_some() {
                    continue;
                }
                if let Some(fd) = field_def(r, &t.name, f) {
                    refer(f, remote, todo);
                    def.fields.push(fd);
                }
            }
            if kind == TypeKind::Object {
                def.interfaces = names(&t.interfaces);
            } else {
                def.possible_types = names(&t.possible_types);
            }
        }
        TypeKind::Union => def.possible_types = names(&t.possible_types),
        TypeKind::Enum => {
            for (value, description, _deprecation) in &t.enum_values {
                if def.enum_value(value).is_none() {
                    def.enum_values.push(EnumValueDef {
                        name: value.clone(),
                        description: description.clone(),
                    });
                }
            }
        }
        TypeKind::InputObject => {
            for v in &t.input_fields {
                if !v.visible() || def.input_field(&v.name).is_some() {
                    continue;
                }
                if let Some(iv) = input_value(r, v) {
                    todo.push((remote, String::from(base(&v.ty))));
                    def.input_fields.push(iv);
                }
            }
        }
        TypeKind::Scalar => {}
    }
    def.sort();
    def
}
