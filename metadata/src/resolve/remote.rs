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
pub(crate) fn table_ref(v: &Json) -> Option<(String, String)> {
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

/// A table's remote relationship that does not resolve: a `remote_relationship`
/// inconsistency.
fn inconsistency(
    source: &str,
    tm: &raw::TableMetadata,
    name: &str,
    r: &Json,
    reason: &str,
) -> Inconsistency {
    Inconsistency {
        definition: json!({"source": source, "table": tm.table, "name": name,
                           "definition": r.get("definition")}),
        reason: format!("Inconsistent object: {reason}"),
        name: format!(
            "remote_relationship {name} in table {} in source {source}",
            super::table_txt(&tm.table)
        ),
        kind: "remote_relationship".into(),
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
                if to_remote_schema(r).is_some() {
                    continue; // after the remote schemas
                }
                let name = r.get("name").and_then(Json::as_str).unwrap_or_default();
                match resolve_one(schema, tid, r) {
                    Ok(rel) => schema.tables[tid].remote_relationships.push(rel),
                    Err(reason) => out.push(inconsistency(&source.name, tm, name, r, &reason)),
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

/// The definition of a relationship to a remote schema: `(remote_schema, lhs_fields,
/// remote_field)` of `to_remote_schema` or of the older flat form.
fn to_remote_schema(r: &Json) -> Option<(&Json, &Json, &Json)> {
    let d = r.get("definition")?;
    let d = d.get("to_remote_schema").unwrap_or(d);
    let remote = d.get("remote_schema")?;
    let lhs = d.get("lhs_fields").or_else(|| d.get("hasura_fields"))?;
    Some((remote, lhs, d.get("remote_field")?))
}

/// Relationships to remote schemas, once the remote schemas are resolved: the remote must be
/// served, the `lhs_fields` columns of the table, the `remote_field` path fields and
/// arguments of the remote (from its query root), its `$column` values among the
/// `lhs_fields`. Each becomes a `core::model::RemoteSchemaRelationship`; any problem is a
/// `remote_relationship` inconsistency.
pub(crate) fn resolve_remote_schema_relationships(
    metadata: &raw::Metadata,
    schema: &mut Schema,
    out: &mut Vec<Inconsistency>,
) {
    for source in &metadata.sources {
        for tm in &source.tables {
            let Some(tid) = table_in(schema, &source.name, &tm.table.schema, &tm.table.name) else {
                continue;
            };
            for r in &tm.remote_relationships {
                let Some(def) = to_remote_schema(r) else {
                    continue;
                };
                let name = r.get("name").and_then(Json::as_str).unwrap_or_default();
                match resolve_remote_schema_one(schema, tid, name, def) {
                    Ok(rel) => schema.tables[tid].remote_schema_relationships.push(rel),
                    Err(reason) => out.push(inconsistency(&source.name, tm, name, r, &reason)),
                }
            }
        }
    }
}

fn resolve_remote_schema_one(
    schema: &Schema,
    tid: TableId,
    name: &str,
    (remote, lhs, field): (&Json, &Json, &Json),
) -> Result<graphedge_core::model::RemoteSchemaRelationship, String> {
    if !super::is_graphql_name(name) {
        return Err("the relationship's name is not a valid GraphQL name".into());
    }
    let remote_name = remote.as_str().ok_or("remote_schema must be a name")?;
    let r = schema
        .remote_schemas
        .iter()
        .find(|r| r.name == remote_name)
        .ok_or_else(|| format!("remote schema with name {remote_name:?} does not exist"))?;
    let parent = &schema.tables[tid];
    if let Some(conflict) = super::field_conflict(parent, name) {
        return Err(conflict);
    }
    if parent.relationship(name).is_some()
        || parent.remote_relationship(name).is_some()
        || parent.remote_schema_relationship(name).is_some()
    {
        return Err(format!("field {name:?} is defined twice"));
    }
    let mut lhs_names: Vec<String> = Vec::new();
    let mut columns = Vec::new();
    for f in lhs
        .as_array()
        .ok_or("lhs_fields must be a list of columns")?
    {
        let c = f.as_str().ok_or("lhs_fields must be a list of columns")?;
        let field = match parent.column(c) {
            Some(id) => graphedge_core::model::JoinField::Column(id),
            None => {
                let cf = parent
                    .computed_field(c)
                    .ok_or_else(|| format!("field with name {c:?} not found"))?;
                let own_args = cf.args.iter().enumerate().any(|(i, a)| {
                    i != cf.table_argument && Some(i) != cf.session_argument && !a.has_default
                });
                if own_args
                    || !matches!(cf.returns, graphedge_core::model::FunctionReturn::Scalar(_))
                {
                    return Err(format!(
                        "computed field {c:?} cannot be used as a join field: it must return a scalar and take no arguments besides the row and the session"
                    ));
                }
                graphedge_core::model::JoinField::Computed(c.to_string())
            }
        };
        lhs_names.push(c.to_string());
        columns.push(field);
    }
    let mut path = Vec::new();
    let mut cur = field;
    let mut parent_type = r
        .root("query")
        .ok_or("the remote schema has no query root")?;
    for depth in 0.. {
        let o = cur
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or("remote_field must name one field")?;
        let (fname, spec) = o.iter().next().ok_or("remote_field must name one field")?;
        let rf = parent_type.field(fname).ok_or_else(|| {
            format!(
                "field with name {fname:?} not found in type {:?} of the remote schema",
                parent_type.name
            )
        })?;
        let mut args = Vec::new();
        if let Some(a) = spec.get("arguments").and_then(Json::as_object) {
            for (k, v) in a {
                if !rf.args.iter().any(|x| &x.name == k) {
                    return Err(format!(
                        "argument {k:?} does not exist on field {fname:?} of the remote schema"
                    ));
                }
                let value = join_value(v, &lhs_names, 0)?;
                let ty = &rf.args.iter().find(|x| &x.name == k).map(|x| x.ty.clone());
                if let Some(ty) = ty {
                    check_value(r, ty, &value, 0)
                        .map_err(|why| format!("argument {k:?} of field {fname:?}: {why}"))?;
                }
                args.push((k.clone(), value));
            }
        }
        path.push((fname.clone(), args));
        match spec.get("field") {
            Some(next) if depth < 32 => {
                let base = rf.ty.base().to_string();
                parent_type = r
                    .type_named(&base)
                    .filter(|t| !t.fields.is_empty())
                    .ok_or_else(|| format!("field {fname:?} has no fields to select"))?;
                cur = next;
            }
            Some(_) => return Err("remote_field is nested too deeply".into()),
            None => break,
        }
    }
    Ok(graphedge_core::model::RemoteSchemaRelationship {
        name: name.to_string(),
        remote: remote_name.to_string(),
        lhs: columns,
        path,
        comment: None,
    })
}

/// A `remote_field` argument as a GraphQL value: `"$column"` is the row's column (one of
/// `lhs`).
fn join_value(v: &Json, lhs: &[String], depth: usize) -> Result<graphedge_core::Value, String> {
    use graphedge_core::Value;
    if depth > 64 {
        return Err("an argument of remote_field is nested too deeply".into());
    }
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.to_string()),
        Json::String(s) => match s.strip_prefix('$') {
            Some(col) => {
                let i = lhs
                    .iter()
                    .position(|c| c == col)
                    .ok_or_else(|| format!("the variable ${col} is not one of the lhs_fields"))?;
                Value::Variable(graphedge_core::model::join_key_variable(i))
            }
            None => Value::String(s.clone()),
        },
        Json::Array(items) => Value::List(
            items
                .iter()
                .map(|x| join_value(x, lhs, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), join_value(x, lhs, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// Whether a relationship's argument value fits the remote's type `ty` (a join column's value
/// fits any place; it is the row's at run time).
fn check_value(
    r: &graphedge_core::remote_schemas::RemoteSchema,
    ty: &graphedge_core::remote_schemas::Type,
    v: &graphedge_core::Value,
    depth: usize,
) -> Result<(), String> {
    use graphedge_core::remote_schemas::{Type, TypeKind};
    use graphedge_core::Value;
    if depth > 64 {
        return Err("nested too deeply".into());
    }
    if matches!(v, Value::Variable(_)) {
        return Ok(());
    }
    match ty {
        Type::NonNull(inner) => {
            if matches!(v, Value::Null) {
                return Err("expected a non-null value".into());
            }
            check_value(r, inner, v, depth + 1)
        }
        Type::List(inner) => match v {
            Value::Null => Ok(()),
            Value::List(items) => items
                .iter()
                .try_for_each(|x| check_value(r, inner, x, depth + 1)),
            other => check_value(r, inner, other, depth + 1),
        },
        Type::Named(name) => {
            let fits = match (name.as_str(), v) {
                (_, Value::Null) => true,
                ("Int", Value::Number(n)) => n.parse::<i64>().is_ok(),
                ("Float", Value::Number(_)) => true,
                ("String", Value::String(_)) => true,
                ("ID", Value::String(_) | Value::Number(_)) => true,
                ("Boolean", Value::Boolean(_)) => true,
                ("Int" | "Float" | "String" | "ID" | "Boolean", _) => false,
                _ => match r.type_named(name) {
                    Some(t) if t.kind == TypeKind::Enum => match v {
                        Value::String(s) | Value::Enum(s) => {
                            t.enum_values.iter().any(|(e, _, _)| e == s)
                        }
                        _ => false,
                    },
                    Some(t) if t.kind == TypeKind::InputObject => match v {
                        Value::Object(fields) => {
                            for (k, x) in fields {
                                let Some(f) = t.input_fields.iter().find(|f| &f.name == k) else {
                                    return Err(format!("{k:?} is not a field of {name}"));
                                };
                                check_value(r, &f.ty, x, depth + 1)?;
                            }
                            true
                        }
                        _ => false,
                    },
                    // Custom scalars take any value.
                    _ => {
                        !matches!(v, Value::List(_) | Value::Object(_))
                            || r.type_named(name)
                                .is_none_or(|t| t.kind == TypeKind::Scalar)
                    }
                },
            };
            if fits {
                Ok(())
            } else {
                Err(format!("the value does not fit the type {name}"))
            }
        }
    }
}
