//! Apollo federation in the type system (Hasura's `ApolloFederation.hs`): with the feature
//! on, `query_root` has `_service: _Service!`, and, when the role sees an entity (a table
//! whose `apollo_federation_config` enables it, with its primary key selectable),
//! `_entities(representations: [_Any!]!): _Entity` with the union `_Entity` of those types.
//! `_service { sdl }` answers the role's whole schema as SDL with `@key(fields: "<primary
//! key>")` on each entity's type.
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::types::{FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem};
use super::Options;
use crate::model::{Schema, TableId};

/// The entities `ts` shows: (table, its type's name, the `@key` fields).
pub(super) fn entities(schema: &Schema, ts: &TypeSystem) -> Vec<(TableId, String, String)> {
    let mut out = Vec::new();
    for &t in schema.apollo_federation.iter().flatten() {
        let Some(table) = schema.tables.get(t) else {
            continue;
        };
        let name = if schema.sources.is_empty() {
            table.gql_name.clone()
        } else {
            schema.type_name(schema.source_of_table(t), &table.gql_name)
        };
        let Some(def) = ts.types.get(&name).filter(|d| d.kind == TypeKind::Object) else {
            continue;
        };
        let key: Vec<&str> = table
            .primary_key
            .iter()
            .map(|c| table.columns[*c].gql_name.as_str())
            .collect();
        if key.is_empty() || !key.iter().all(|k| def.field(k).is_some()) {
            continue;
        }
        out.push((t, name, key.join(" ")));
    }
    out
}

/// Adds the federation's root fields and types to `ts` (the feature on, not Relay).
pub(super) fn apply(schema: &Schema, options: &Options, ts: &mut TypeSystem) {
    if schema.apollo_federation.is_none() || options.relay {
        return;
    }
    let entities = entities(schema, ts);
    let mut service = TypeDef::new("_Service", TypeKind::Object);
    service.fields = vec![FieldDef::new("sdl", TypeRef::named("String").non_null())
        .desc("SDL representation of schema")];
    ts.types.insert("_Service".into(), service);
    let mut fields = vec![FieldDef::new(
        "_service",
        TypeRef::named("_Service").non_null(),
    )];
    if !entities.is_empty() {
        ts.types.insert(
            "_Any".into(),
            TypeDef::new("_Any", TypeKind::Scalar).desc("Scalar _Any"),
        );
        let mut union = TypeDef::new("_Entity", TypeKind::Union)
            .desc("A union of all types that use the @key directive");
        union.possible_types = entities
            .iter()
            .map(|(_, name, _)| TypeRef::named(name.as_str()))
            .collect();
        ts.types.insert("_Entity".into(), union);
        fields.push(
            FieldDef::new("_entities", TypeRef::named("_Entity"))
                .desc("query _Entity union")
                .args(vec![InputValue::new(
                    "representations",
                    TypeRef::named("_Any").non_null().list().non_null(),
                )]),
        );
    }
    super::actions::add_root(ts, "query_root", fields);
}

/// The SDL `_service { sdl }` answers for `role`.
pub fn sdl(schema: &Schema, role: &str, options: &Options) -> String {
    let ts = super::build(schema, role, options);
    let mut sdl = ts.to_sdl();
    for (_, name, key) in entities(schema, &ts) {
        let plain = format!("\ntype {name} {{\n");
        let keyed = format!("\ntype {name} @key(fields: \"{key}\") {{\n");
        sdl = sdl.replacen(&plain, &keyed, 1);
    }
    sdl
}

/// The entities `role` may ask `_entities` for.
pub fn entities_of(
    schema: &Schema,
    role: &str,
    options: &Options,
) -> Vec<(TableId, String, String)> {
    if schema.apollo_federation.is_none() {
        return Vec::new();
    }
    entities(schema, &super::build(schema, role, options))
}
