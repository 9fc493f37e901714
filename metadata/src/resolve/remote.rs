//! Remote relationships to another source's table (`remote_relationships` with `to_source`),
//! resolved once every source is in the schema: the target source and table must be served,
//! the `field_mapping` columns exist on both sides, and the name must be free on the table.
//! Each becomes a `core::model::Relationship` in the table's `remote_relationships` (answered
//! by a statement of its own, see `core::RemoteJoin`); any problem is an inconsistency of type
//! `remote_relationship` and the relationship is left out.
use graphedge_core::model::{QualifiedName, RelKind, Relationship, Schema, TableId};
use serde_json::{json, Value as Json};

use super::Inconsistency;
use crate::raw;

/// The tables `schema` serves of the source named `name`.
fn tables_of(schema: &Schema, name: &str) -> Option<std::ops::Range<usize>> {
    if schema.sources.is_empty() {
        return (name == "default").then_some(0..schema.tables.len());
    }
    let i = schema.sources.iter().position(|s| s.name == name)?;
    let from = if i == 0 {
        0
    } else {
        schema.sources[i - 1].tables_end
    };
    Some(from..schema.sources[i].tables_end)
}

/// The table `schema_name.table` of the source named `source` in the resolved schema.
pub(crate) fn table_in(
    schema: &Schema,
    source: &str,
    schema_name: &str,
    table: &str,
) -> Option<TableId> {
    let want = QualifiedName::new(schema_name.to_string(), table.to_string());
    tables_of(schema, source)?.find(|t| schema.tables[*t].name == want)
}

/// `"name"` or `{"schema", "name"}`.
fn table_ref(v: &Json) -> Option<(String, String)> {
    match v {
        Json::String(n) => Some(("public".into(), n.clone())),
        Json::Object(o) => Some((
            o.get("schema")
                .and_then(Json::as_str)
                .unwrap_or("public")
                .into(),
            o.get("name")?.as_str()?.into(),
        )),
        _ => None,
    }
}

pub(crate) fn resolve_remote_relationships(
    metadata: &raw::Metadata,
    schema: &mut Schema,
    out: &mut Vec<Inconsistency>,
) {
    for source in &metadata.sources {
        for tm in &source.tables {
            if tm.remote_relationships.is_empty() {
                continue;
            }
            let Some(tid) = table_in(schema, &source.name, &tm.table.schema, &tm.table.name) else {
                continue; // the table itself is inconsistent (reported already)
            };
            for r in &tm.remote_relationships {
                let name = r.get("name").and_then(Json::as_str).unwrap_or_default();
                match resolve_one(schema, tid, r) {
                    Ok(rel) => schema.tables[tid].remote_relationships.push(rel),
                    Err(reason) => out.push(Inconsistency {
                        definition: json!({"source": source.name, "table": tm.table, "name": name,
                                           "definition": r.get("definition")}),
                        reason: format!("Inconsistent object: {reason}"),
                        name: format!(
                            "remote_relationship {name} in table {} in source {}",
                            super::table_txt(&tm.table),
                            source.name
                        ),
                        kind: "remote_relationship".into(),
                    }),
                }
            }
        }
    }
}

fn resolve_one(schema: &Schema, tid: TableId, r: &Json) -> Result<Relationship, String> {
    let name = r
        .get("name")
        .and_then(Json::as_str)
        .filter(|n| super::is_graphql_name(n))
        .ok_or("the relationship's name is not a valid GraphQL name")?;
    let to = r
        .pointer("/definition/to_source")
        .ok_or("only relationships to another source's table are supported")?;
    let target_source = to
        .get("source")
        .and_then(Json::as_str)
        .ok_or("to_source.source is missing")?;
    let (ts, tn) = to
        .get("table")
        .and_then(table_ref)
        .ok_or("to_source.table is missing")?;
    let target = table_in(schema, target_source, &ts, &tn)
        .ok_or_else(|| format!("table {ts}.{tn} is not tracked in source {target_source:?}"))?;
    let kind = match to.get("relationship_type").and_then(Json::as_str) {
        Some("object") => RelKind::Object,
        Some("array") => RelKind::Array,
        _ => return Err("relationship_type must be \"object\" or \"array\"".into()),
    };
    let parent = &schema.tables[tid];
    if let Some(conflict) = super::field_conflict(parent, name) {
        return Err(conflict);
    }
    if parent.relationship(name).is_some() || parent.remote_relationship(name).is_some() {
        return Err(format!("field {name:?} is defined twice"));
    }
    let mut mapping = Vec::new();
    let fields = to
        .get("field_mapping")
        .and_then(Json::as_object)
        .filter(|m| !m.is_empty())
        .ok_or("field_mapping must map at least one column")?;
    for (from, into) in fields {
        let pc = parent
            .column(from)
            .ok_or_else(|| format!("column {from:?} does not exist on the table"))?;
        let into = into
            .as_str()
            .ok_or("field_mapping values must be column names")?;
        let tc = schema.tables[target]
            .column(into)
            .ok_or_else(|| format!("column {into:?} does not exist on {ts}.{tn}"))?;
        mapping.push((pc, tc));
    }
    Ok(Relationship {
        name: name.to_string(),
        kind,
        target,
        mapping,
        comment: None,
        local_fk: false,
    })
}
