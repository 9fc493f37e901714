//! `pg_create_remote_relationship` / `pg_update_remote_relationship` /
//! `pg_delete_remote_relationship`: relationships from a table to a table of another source
//! (`definition.to_source {relationship_type, source, table, field_mapping}`), kept in the
//! table's `remote_relationships` as Hasura stores them; `resolve/remote.rs` checks and serves
//! them. Relationships to remote schemas (`to_remote_schema {remote_schema, lhs_fields,
//! remote_field}`, or the older `remote_schema` + `hasura_fields` + `remote_field` form of
//! `create_remote_relationship`, kept as given) are resolved after the remote schemas.
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::ops::{accepted, arg_table, parse, qt_txt, remove_all};
use super::Cx;
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::QualifiedTable;

#[derive(Deserialize)]
struct Args {
    table: QualifiedTable,
    name: String,
    #[serde(default)]
    definition: Option<Json>,
}

/// The definition as stored: `to_source` checked for shape; anything else refused.
fn definition(args: &Json, a: &Args) -> Result<Json, ApiError> {
    let d = a.definition.clone().unwrap_or_else(|| {
        // The older, flat form: the definition's keys next to the name.
        let mut o = args.as_object().cloned().unwrap_or_default();
        for k in ["name", "table", "source"] {
            o.remove(k);
        }
        Json::Object(o)
    });
    if let Some(to) = d.get("to_remote_schema") {
        for key in ["remote_schema", "lhs_fields", "remote_field"] {
            if to.get(key).is_none() {
                return Err(ApiError::parse_failed(format!("key {key:?} not found"))
                    .at("$.args.definition.to_remote_schema"));
            }
        }
        return Ok(json!({ "to_remote_schema": to }));
    }
    if d.get("remote_schema").is_some() {
        // The older form (`create_remote_relationship`): kept as given.
        for key in ["hasura_fields", "remote_field"] {
            if d.get(key).is_none() {
                return Err(ApiError::parse_failed(format!("key {key:?} not found")).at("$.args"));
            }
        }
        return Ok(json!({
            "remote_schema": d["remote_schema"],
            "hasura_fields": d["hasura_fields"],
            "remote_field": d["remote_field"],
        }));
    }
    let Some(to) = d.get("to_source") else {
        return Err(ApiError::parse_failed(
            "a remote relationship needs to_source or to_remote_schema",
        )
        .at("$.args.definition"));
    };
    for key in ["source", "table", "field_mapping", "relationship_type"] {
        if to.get(key).is_none() {
            return Err(ApiError::parse_failed(format!("key {key:?} not found"))
                .at("$.args.definition.to_source"));
        }
    }
    if !matches!(
        to.get("relationship_type").and_then(Json::as_str),
        Some("object" | "array")
    ) {
        return Err(
            ApiError::parse_failed("relationship_type: expected \"object\" or \"array\"")
                .at("$.args.definition.to_source.relationship_type"),
        );
    }
    if !to.get("field_mapping").is_some_and(Json::is_object) {
        return Err(ApiError::parse_failed("field_mapping: expected an object")
            .at("$.args.definition.to_source.field_mapping"));
    }
    Ok(json!({"to_source": to}))
}

fn name_of(r: &Json) -> Option<&str> {
    r.get("name").and_then(Json::as_str)
}

fn not_exists(name: &str, t: &QualifiedTable) -> ApiError {
    ApiError::not_exists(format!(
        "remote relationship {name:?} does not exist on table {:?}",
        qt_txt(t)
    ))
}

pub(super) fn create<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: Args = parse(args)?;
    let def = definition(args, &a)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if t.remote_relationships
        .iter()
        .any(|r| name_of(r) == Some(&a.name))
    {
        return Err(ApiError::already_exists(format!(
            "remote relationship with name {:?} already exists on table {:?}",
            a.name,
            qt_txt(&a.table)
        )));
    }
    t.remote_relationships
        .push(json!({"name": a.name, "definition": def}));
    accepted(cx)
}

pub(super) fn update<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: Args = parse(args)?;
    let def = definition(args, &a)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    let Some(r) = t
        .remote_relationships
        .iter_mut()
        .find(|r| name_of(r) == Some(&a.name))
    else {
        return Err(not_exists(&a.name, &a.table));
    };
    *r = json!({"name": a.name, "definition": def});
    accepted(cx)
}

pub(super) fn delete<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: Args = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if !remove_all(&mut t.remote_relationships, |r| name_of(r) == Some(&a.name)) {
        return Err(not_exists(&a.name, &a.table));
    }
    accepted(cx)
}
