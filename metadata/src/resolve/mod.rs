//! Resolution: raw Hasura metadata + the introspected [`Catalog`] → the core [`Schema`], with
//! every inconsistency found along the way (all at once, like Hasura's
//! `get_inconsistent_metadata`).
//!
//! Stages, in order (each may only look at what the previous ones produced):
//! 1. [`tables`]: tracked tables → core tables (columns, keys, GraphQL names, enum values);
//!    then enum references (`Column::enum_table`).
//! 2. [`relationships`]: object/array relationships → column mappings.
//! 3. [`functions`]: computed fields, then tracked functions.
//! 4. [`permissions`]: explicit permissions (columns, filters validated against the table).
//! 5. [`inherited`]: inherited roles folded into effective permissions.
//! 6. [`collections`]: query collections' queries checked against the admin's schema
//!    (after [`sources::resolve_all`]; REST endpoint inconsistencies come from `crate::rest`).
//!
//! After every source is in the schema: remote relationships ([`remote`]), then custom types
//! and actions ([`actions`], whose object types relate to tables of any source), then remote
//! schemas ([`remote_schemas`], from their stored introspection, checked against everything
//! before them).
//!
//! An inconsistent object is left out of the schema, and so is everything that depends on it
//! (a permission whose filter walks an inconsistent relationship is itself reported).
use graphedge_core::model::{QualifiedName, Schema};
use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::introspect::Catalog;
use crate::raw;

mod actions;
mod collections;
mod functions;
mod inherited;
mod permissions;
mod relationships;
mod remote;
pub mod remote_permissions;
pub mod remote_schemas;
pub mod root_fields;
pub mod sources;
mod tables;

/// One inconsistent metadata object, in Hasura's shape:
/// `{"definition": .., "reason": "Inconsistent object: ..", "name": "table author in source default", "type": "table"}`.
///
/// For `type = "inherited role permission inconsistency"` Hasura writes `entity` instead of
/// `definition`; this type serializes `definition` under that key in that case.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconsistency {
    pub definition: Json,
    pub reason: String,
    pub name: String,
    pub kind: String,
}

/// The `type` of inconsistencies about conflicting parent permissions of an inherited role.
pub const INHERITED_PERMISSION_KIND: &str = "inherited role permission inconsistency";

impl Serialize for Inconsistency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        if self.kind == INHERITED_PERMISSION_KIND {
            m.serialize_entry("entity", &self.definition)?;
        } else {
            m.serialize_entry("definition", &self.definition)?;
        }
        m.serialize_entry("reason", &self.reason)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("type", &self.kind)?;
        m.end()
    }
}

/// Resolves the metadata of every Postgres source against its catalog into one schema (the
/// served source, `default` preferred, first; see [`sources`]).
pub fn resolve(
    metadata: &raw::Metadata,
    catalog: &Catalog,
    config: &crate::Config,
) -> (Schema, Vec<Inconsistency>) {
    let (mut schema, mut inconsistencies) = sources::resolve_all(metadata, catalog, config);
    remote::resolve_remote_relationships(metadata, &mut schema, &mut inconsistencies);
    actions::resolve(metadata, catalog, &mut schema, &mut inconsistencies);
    remote_schemas::resolve(metadata, catalog, config, &mut schema, &mut inconsistencies);
    remote::resolve_remote_schema_relationships(metadata, &mut schema, &mut inconsistencies);
    if config.apollo_federation {
        schema.apollo_federation = Some(federated_tables(metadata, &schema));
    }
    schema.introspection_disabled = metadata
        .graphql_schema_introspection
        .as_ref()
        .map(|o| o.disabled_for_roles.clone())
        .unwrap_or_default();
    inconsistencies.extend(crate::rest::inconsistencies(metadata));
    inconsistencies.extend(collections::inconsistencies(metadata, &schema, config));
    (schema, inconsistencies)
}

/// The served tables whose `apollo_federation_config` is `{"enable": "v1"}`.
fn federated_tables(
    metadata: &raw::Metadata,
    schema: &Schema,
) -> Vec<graphedge_core::model::TableId> {
    let mut out = Vec::new();
    for source in &metadata.sources {
        // The source's range of `schema.tables` (one source: all of them).
        let range = match schema.sources.iter().position(|s| s.name == source.name) {
            Some(i) => {
                let start = i.checked_sub(1).map_or(0, |p| schema.sources[p].tables_end);
                start..schema.sources[i].tables_end
            }
            None if schema.sources.is_empty() => 0..schema.tables.len(),
            None => continue,
        };
        for tm in &source.tables {
            let enabled = tm
                .extra
                .get("apollo_federation_config")
                .and_then(|c| c.get("enable"))
                .and_then(Json::as_str)
                == Some("v1");
            if !enabled {
                continue;
            }
            let name = QualifiedName::new(tm.table.schema.clone(), tm.table.name.clone());
            if let Some(t) = range.clone().find(|t| schema.tables[*t].name == name) {
                out.push(t);
            }
        }
    }
    out
}

/// Resolves one source against its own catalog.
fn resolve_one(
    metadata: &raw::Metadata,
    source: &raw::Source,
    catalog: &Catalog,
    config: &crate::Config,
) -> (Schema, Vec<Inconsistency>) {
    let mut cx = Cx {
        catalog,
        source_name: source.name.clone(),
        schema: Schema::default(),
        inconsistencies: Vec::new(),
        infer_function_permissions: config.infer_function_permissions,
        tracked: Vec::new(),
    };
    tables::resolve_tables(&mut cx, source);
    relationships::resolve_relationships(&mut cx, source);
    functions::resolve_computed_fields(&mut cx, source);
    functions::resolve_functions(&mut cx, source);
    permissions::resolve_permissions(&mut cx, source);
    inherited::resolve_inherited_roles(&mut cx, metadata, source);
    expose_table_computed_fields(&mut cx.schema);
    (cx.schema, cx.inconsistencies)
}

/// Hasura lists only scalar computed fields in a select permission: a computed field returning
/// rows of a table is available to every role that may select from that table. Add those to the
/// permissions so core and introspection see one list.
fn expose_table_computed_fields(schema: &mut Schema) {
    use graphedge_core::model::FunctionReturn;
    let readable: Vec<std::collections::BTreeSet<String>> = schema
        .tables
        .iter()
        .map(|t| {
            t.permissions
                .iter()
                .filter(|(_, p)| p.select.is_some())
                .map(|(r, _)| r.clone())
                .collect()
        })
        .collect();
    for table in &mut schema.tables {
        let set_fields: Vec<(String, usize)> = table
            .computed_fields
            .iter()
            .filter_map(|cf| match cf.returns {
                FunctionReturn::Table { table: target, .. } => Some((cf.name.clone(), target)),
                FunctionReturn::Scalar(_) => None,
            })
            .collect();
        for (role, perms) in &mut table.permissions {
            let Some(select) = perms.select.as_mut() else {
                continue;
            };
            for (name, target) in &set_fields {
                let can_read = readable
                    .get(*target)
                    .is_some_and(|roles| roles.contains(role));
                if can_read && !select.computed_fields.contains(name) {
                    select.computed_fields.push(name.clone());
                }
            }
        }
    }
}

/// Resolution state shared by the stages.
pub(crate) struct Cx<'a> {
    pub catalog: &'a Catalog,
    pub source_name: String,
    pub schema: Schema,
    pub inconsistencies: Vec<Inconsistency>,
    #[allow(dead_code)]
    pub infer_function_permissions: bool,
    /// For each core table (same index), the index of its entry in `source.tables`.
    pub tracked: Vec<usize>,
}

impl Cx<'_> {
    /// Records an inconsistency; `reason` gets Hasura's `Inconsistent object: ` prefix.
    pub fn report(&mut self, kind: &str, name: String, definition: Json, reason: impl AsRef<str>) {
        self.inconsistencies.push(Inconsistency {
            definition,
            reason: format!("Inconsistent object: {}", reason.as_ref()),
            name,
            kind: kind.to_string(),
        });
    }

    /// `table author in source default`.
    pub fn table_object_name(&self, t: &raw::QualifiedTable) -> String {
        format!("table {} in source {}", table_txt(t), self.source_name)
    }

    /// `<what> <name> in table author in source default`.
    pub fn table_child_name(&self, what: &str, name: &str, t: &raw::QualifiedTable) -> String {
        format!("{what} {name} in {}", self.table_object_name(t))
    }

    /// A table-child definition: the object's own JSON plus `source` and `table`.
    pub fn child_definition(&self, object: Json, t: &raw::QualifiedTable) -> Json {
        let mut obj = match object {
            Json::Object(m) => m,
            other => {
                let mut m = serde_json::Map::new();
                m.insert("definition".into(), other);
                m
            }
        };
        obj.insert("source".into(), Json::String(self.source_name.clone()));
        obj.insert("table".into(), json!({"schema": t.schema, "name": t.name}));
        Json::Object(obj)
    }

    /// The core table id of a tracked (and consistent) table.
    pub fn table_id(&self, t: &raw::QualifiedTable) -> Option<usize> {
        self.schema
            .table(&QualifiedName::new(t.schema.clone(), t.name.clone()))
    }
}

/// Why a relationship or computed field called `name` cannot be added next to the table's
/// columns (Hasura reports these without the table/field context).
pub(crate) fn field_conflict(table: &graphedge_core::model::Table, name: &str) -> Option<String> {
    if table.column(name).is_some() {
        return Some("field definition conflicts with postgres column".into());
    }
    table.columns.iter().find(|c| c.gql_name == name).map(|c| {
        format!(
            "field definition conflicts with custom field name for postgres column {:?}",
            c.name
        )
    })
}

/// Hasura's text form of a table in messages: `author` in `public`, else `schema.author`.
pub fn table_txt(t: &raw::QualifiedTable) -> String {
    if t.schema == "public" {
        t.name.clone()
    } else {
        format!("{}.{}", t.schema, t.name)
    }
}

/// Whether a string is a valid GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`).
pub fn is_graphql_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The default GraphQL name of a table or function: `name` in `public`, else `schema_name`.
pub fn default_gql_name(schema: &str, name: &str) -> String {
    if schema == "public" {
        name.to_string()
    } else {
        format!("{schema}_{name}")
    }
}
