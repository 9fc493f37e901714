//! The Relay schema (`/v1beta1/relay`, [`crate::Options::relay`]) as a transformation of the
//! role's normal type system: `query_root` (and `subscription_root`) get `<t>_connection` for
//! every select / `SETOF` function field over a table with a primary key plus `node(id: ID!)`;
//! such tables' object types implement `Node` with `id: ID!` (shadowing a column named `id`);
//! array relationships to them get `<rel>_connection`; `<t>Connection`, `<t>Edge`, `PageInfo`
//! and `Node` are added; unreachable types are pruned again.
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::types::{FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::Schema;

/// `[T!]!` → `T` when `T` is the object type of a table with a primary key.
fn pk_list_target<'t>(ty: &'t TypeRef, pk_types: &[String]) -> Option<&'t str> {
    let TypeRef::NonNull(l) = ty else { return None };
    let TypeRef::List(nn) = l.as_ref() else {
        return None;
    };
    let TypeRef::NonNull(n) = nn.as_ref() else {
        return None;
    };
    let TypeRef::Named(name) = n.as_ref() else {
        return None;
    };
    pk_types.iter().any(|p| p == name).then_some(name.as_str())
}

/// The connection variant of a list field: `limit`/`offset` replaced by the Relay arguments.
fn connection_field(f: &FieldDef, target: &str) -> FieldDef {
    let mut args: Vec<InputValue> = f
        .args
        .iter()
        .filter(|a| a.name != "limit" && a.name != "offset")
        .cloned()
        .collect();
    args.push(InputValue::new("after", TypeRef::named("String")));
    args.push(InputValue::new("before", TypeRef::named("String")));
    args.push(InputValue::new("first", TypeRef::named("Int")));
    args.push(InputValue::new("last", TypeRef::named("Int")));
    args.sort_by(|a, b| a.name.cmp(&b.name));
    FieldDef::new(
        format!("{}_connection", f.name),
        TypeRef::named(format!("{}Connection", target)).non_null(),
    )
    .desc_opt(f.description.clone())
    .args(args)
}

pub fn apply(schema: &Schema, mut ts: TypeSystem) -> TypeSystem {
    let pk_types: Vec<String> = schema
        .tables
        .iter()
        .filter(|t| !t.primary_key.is_empty() && ts.types.contains_key(&t.gql_name))
        .map(|t| t.gql_name.clone())
        .collect();
    // Root fields.
    let mut root_fields: Vec<FieldDef> = Vec::new();
    if let Some(q) = ts.types.get("query_root") {
        for f in &q.fields {
            if let Some(target) = pk_list_target(&f.ty, &pk_types) {
                root_fields.push(connection_field(f, target));
            }
        }
    }
    if !pk_types.is_empty() {
        root_fields.push(
            FieldDef::new("node", TypeRef::named("Node")).args(alloc::vec![InputValue::new(
                "id",
                TypeRef::named("ID").non_null()
            )
            .desc("A globally unique id")]),
        );
    }
    if root_fields.is_empty() {
        root_fields.push(FieldDef::new(
            "no_queries_available",
            TypeRef::named("String").non_null(),
        ));
    }
    root_fields.sort_by(|a, b| a.name.cmp(&b.name));
    let mut query = TypeDef::new("query_root", TypeKind::Object);
    query.fields = root_fields.clone();
    ts.types.insert(String::from("query_root"), query);
    if ts.subscription_type.is_some() {
        let mut sub = TypeDef::new("subscription_root", TypeKind::Object);
        sub.fields = root_fields;
        ts.types.insert(String::from("subscription_root"), sub);
    }
    // Object types.
    let table_types: Vec<String> = schema
        .tables
        .iter()
        .filter(|t| ts.types.contains_key(&t.gql_name))
        .map(|t| t.gql_name.clone())
        .collect();
    for name in &table_types {
        let Some(def) = ts.types.get_mut(name) else {
            continue;
        };
        let mut extra = Vec::new();
        for f in &def.fields {
            if f.args.iter().any(|a| a.name == "where") {
                if let Some(target) = pk_list_target(&f.ty, &pk_types) {
                    extra.push(connection_field(f, target));
                }
            }
        }
        def.fields.extend(extra);
        if pk_types.contains(name) {
            def.fields.retain(|f| f.name != "id");
            def.fields.push(
                FieldDef::new("id", TypeRef::named("ID").non_null())
                    .desc("A globally unique identifier"),
            );
            def.interfaces = alloc::vec![TypeRef::named("Node")];
        }
        def.sort();
    }
    // Connection types.
    for t in &pk_types {
        let mut conn = TypeDef::new(format!("{}Connection", t), TypeKind::Object)
            .desc(format!("A Relay connection object on \"{}\"", t));
        conn.fields = alloc::vec![
            FieldDef::new("edges", TypeRef::list_nn(format!("{}Edge", t))),
            FieldDef::new("pageInfo", TypeRef::named("PageInfo").non_null()),
        ];
        ts.types.insert(conn.name.clone(), conn);
        let mut edge = TypeDef::new(format!("{}Edge", t), TypeKind::Object);
        edge.fields = alloc::vec![
            FieldDef::new("cursor", TypeRef::named("String").non_null()),
            FieldDef::new("node", TypeRef::named(t.as_str()).non_null()),
        ];
        ts.types.insert(edge.name.clone(), edge);
    }
    if !pk_types.is_empty() {
        let mut page = TypeDef::new("PageInfo", TypeKind::Object);
        page.fields = alloc::vec![
            FieldDef::new("endCursor", TypeRef::named("String").non_null()),
            FieldDef::new("hasNextPage", TypeRef::named("Boolean").non_null()),
            FieldDef::new("hasPreviousPage", TypeRef::named("Boolean").non_null()),
            FieldDef::new("startCursor", TypeRef::named("String").non_null()),
        ];
        ts.types.insert(String::from("PageInfo"), page);
        let mut node =
            TypeDef::new("Node", TypeKind::Interface).desc("An object with globally unique ID");
        node.fields = alloc::vec![FieldDef::new("id", TypeRef::named("ID").non_null())
            .desc("A globally unique identifier")];
        let mut possible = pk_types.clone();
        possible.sort();
        node.possible_types = possible.iter().map(TypeRef::named).collect();
        ts.types.insert(String::from("Node"), node);
        ts.types
            .entry(String::from("ID"))
            .or_insert_with(|| TypeDef::new("ID", TypeKind::Scalar));
    }
    prune(ts)
}

/// Keeps the types reachable from the roots, `__Schema` and the directives' arguments.
fn prune(mut ts: TypeSystem) -> TypeSystem {
    let mut roots: Vec<String> = alloc::vec![ts.query_type.clone(), String::from("__Schema")];
    roots.extend(ts.mutation_type.iter().cloned());
    roots.extend(ts.subscription_type.iter().cloned());
    for d in &ts.directives {
        for a in &d.args {
            roots.push(String::from(a.ty.base()));
        }
    }
    let mut reachable: BTreeMap<String, TypeDef> = BTreeMap::new();
    while let Some(name) = roots.pop() {
        if reachable.contains_key(&name) {
            continue;
        }
        let Some(def) = ts.types.remove(&name) else {
            continue;
        };
        for f in &def.fields {
            roots.push(String::from(f.ty.base()));
            for a in &f.args {
                roots.push(String::from(a.ty.base()));
            }
        }
        for f in &def.input_fields {
            roots.push(String::from(f.ty.base()));
        }
        for r in def.interfaces.iter().chain(def.possible_types.iter()) {
            roots.push(String::from(r.base()));
        }
        reachable.insert(name, def);
    }
    ts.types = reachable;
    ts
}
