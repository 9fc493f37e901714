//! Stage 4: explicit permissions. Column names become `ColumnId`s (`"*"` = every column),
//! filters/checks/presets become core [`Value`]s (session-variable strings kept as they are),
//! and every column, relationship and computed field a boolean expression names is checked to
//! exist on its table.
use graphedge_core::model::{
    ColumnId, DeletePermission, InsertPermission, RelKind, SelectPermission, Table, TableId,
    UpdatePermission,
};
use graphedge_core::Value;
use serde::Serialize;
use serde_json::Value as Json;

use super::{table_txt, Cx};
use crate::json_to_value;
use crate::raw;

const ROOT_FIELDS: &[&str] = &[
    "select",
    "select_by_pk",
    "select_aggregate",
    "select_stream",
];

pub(crate) fn resolve_permissions(cx: &mut Cx<'_>, source: &raw::Source) {
    for tid in 0..cx.schema.tables.len() {
        let tm = &source.tables[cx.tracked[tid]];
        resolve_kind(
            cx,
            tid,
            tm,
            "select",
            &tm.select_permissions,
            select,
            |perms, v| perms.select = Some(v),
        );
        resolve_kind(
            cx,
            tid,
            tm,
            "insert",
            &tm.insert_permissions,
            insert,
            |perms, v| perms.insert = Some(v),
        );
        resolve_kind(
            cx,
            tid,
            tm,
            "update",
            &tm.update_permissions,
            update,
            |perms, v| perms.update = Some(v),
        );
        resolve_kind(
            cx,
            tid,
            tm,
            "delete",
            &tm.delete_permissions,
            delete,
            |perms, v| perms.delete = Some(v),
        );
    }
}

/// Resolves and [`record`]s every entry of one kind of permission of a table.
fn resolve_kind<P: Serialize, V>(
    cx: &mut Cx<'_>,
    tid: TableId,
    tm: &raw::TableMetadata,
    kind: &str,
    entries: &[raw::PermissionEntry<P>],
    resolve: impl Fn(&Cx<'_>, TableId, &P) -> Result<V, String>,
    store: impl Fn(&mut graphedge_core::model::Permissions, V),
) {
    for p in entries {
        let r = check_role(p).and_then(|_| resolve(cx, tid, &p.permission));
        record(cx, tid, tm, kind, p, r, &store);
    }
}

fn check_role<P>(p: &raw::PermissionEntry<P>) -> Result<(), String> {
    if p.role == "admin" {
        return Err("cannot define permission for admin role".into());
    }
    Ok(())
}

/// Stores a resolved permission, or reports why it is inconsistent.
fn record<P: Serialize, V>(
    cx: &mut Cx<'_>,
    tid: TableId,
    tm: &raw::TableMetadata,
    kind: &str,
    entry: &raw::PermissionEntry<P>,
    result: Result<V, String>,
    store: impl FnOnce(&mut graphedge_core::model::Permissions, V),
) {
    let what = format!("{kind}_permission");
    let duplicate = {
        let perms = cx.schema.tables[tid].permissions.get(&entry.role);
        perms.is_some_and(|p| match kind {
            "select" => p.select.is_some(),
            "insert" => p.insert.is_some(),
            "update" => p.update.is_some(),
            _ => p.delete.is_some(),
        })
    };
    let result = if duplicate {
        Err(format!(
            "{kind} permission already defined on table {:?} with role {:?}",
            table_txt(&tm.table),
            entry.role
        ))
    } else {
        result
    };
    match result {
        Ok(v) => {
            let perms = cx.schema.tables[tid]
                .permissions
                .entry(entry.role.clone())
                .or_default();
            store(perms, v);
        }
        Err(reason) => {
            let name = cx.table_child_name(&what, &entry.role, &tm.table);
            let def =
                cx.child_definition(serde_json::to_value(entry).unwrap_or_default(), &tm.table);
            cx.report(
                &what,
                name,
                def,
                format!(
                    "in table {:?}: in permission for role {:?}: {reason}",
                    table_txt(&tm.table),
                    entry.role
                ),
            );
        }
    }
}

/// The columns of a permission. For insert/update (`mutable`), `"*"` means every column that
/// can be written (generated and identity-always columns left out), like Hasura.
fn columns(table: &Table, cols: &raw::Columns, mutable: bool) -> Result<Vec<ColumnId>, String> {
    match cols {
        raw::Columns::All => Ok((0..table.columns.len())
            .filter(|&c| !mutable || !table.columns[c].is_generated)
            .collect()),
        raw::Columns::List(list) => {
            let mut out: Vec<ColumnId> = Vec::new();
            for c in list {
                let id = table.column(c).ok_or_else(|| column_missing(table, c))?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            out.sort_unstable();
            Ok(out)
        }
    }
}

fn column_missing(table: &Table, c: &str) -> String {
    if table.relationship(c).is_some() {
        format!("expecting a postgres column; but, {c:?} is a relationship")
    } else if table.computed_field(c).is_some() {
        format!("expecting a postgres column; but, {c:?} is a computed field")
    } else {
        format!("column {c:?} does not exist")
    }
}

fn presets(
    table: &Table,
    set: &indexmap::IndexMap<String, Json>,
) -> Result<Vec<(ColumnId, Value)>, String> {
    set.iter()
        .map(|(c, v)| {
            Ok((
                table.column(c).ok_or_else(|| column_missing(table, c))?,
                json_to_value(v),
            ))
        })
        .collect()
}

fn select(
    cx: &Cx<'_>,
    tid: TableId,
    p: &raw::SelectPermission,
) -> Result<SelectPermission, String> {
    let table = &cx.schema.tables[tid];
    let columns = columns(table, &p.columns, false)?;
    let mut computed_fields = Vec::new();
    for c in &p.computed_fields {
        let Some(cf) = table.computed_field(c) else {
            return Err(format!("computed field {c:?} does not exist"));
        };
        if let graphedge_core::model::FunctionReturn::Table { table: rt, .. } = cf.returns {
            let n = &cx.schema.tables[rt].name;
            let name = match n.schema.as_str() {
                "public" => n.name.clone(),
                s => format!("{s}.{}", n.name),
            };
            return Err(format!(
                "select permissions on computed field {c:?} are auto-derived from the \
                 permissions on its returning table {name:?} and cannot be specified manually"
            ));
        }
        if !computed_fields.contains(c) {
            computed_fields.push(c.clone());
        }
    }
    let filter = bool_exp(cx, tid, &p.filter)?;
    for list in [&p.query_root_fields, &p.subscription_root_fields]
        .into_iter()
        .flatten()
    {
        for f in list {
            if !ROOT_FIELDS.contains(&f.as_str()) {
                return Err(format!("unknown root field {f:?}"));
            }
        }
    }
    Ok(SelectPermission {
        columns,
        computed_fields,
        filter,
        limit: p.limit,
        allow_aggregations: p.allow_aggregations,
        query_root_fields: p.query_root_fields.clone(),
        subscription_root_fields: p.subscription_root_fields.clone(),
        column_filters: Default::default(),
        computed_field_filters: Default::default(),
    })
}

fn insert(
    cx: &Cx<'_>,
    tid: TableId,
    p: &raw::InsertPermission,
) -> Result<InsertPermission, String> {
    let table = &cx.schema.tables[tid];
    Ok(InsertPermission {
        check: bool_exp(cx, tid, &p.check)?,
        columns: columns(table, &p.columns, true)?,
        set: presets(table, &p.set)?,
        backend_only: p.backend_only,
    })
}

fn update(
    cx: &Cx<'_>,
    tid: TableId,
    p: &raw::UpdatePermission,
) -> Result<UpdatePermission, String> {
    let table = &cx.schema.tables[tid];
    let check = match &p.check {
        Some(c) if !c.is_null() => Some(bool_exp(cx, tid, c)?),
        _ => None,
    };
    Ok(UpdatePermission {
        filter: bool_exp(cx, tid, &p.filter)?,
        check,
        columns: columns(table, &p.columns, true)?,
        set: presets(table, &p.set)?,
        backend_only: p.backend_only,
    })
}

fn delete(
    cx: &Cx<'_>,
    tid: TableId,
    p: &raw::DeletePermission,
) -> Result<DeletePermission, String> {
    Ok(DeletePermission {
        filter: bool_exp(cx, tid, &p.filter)?,
        backend_only: p.backend_only,
    })
}

/// Validates a boolean expression on a table and converts it to a core value.
pub(crate) fn bool_exp(cx: &Cx<'_>, tid: TableId, e: &Json) -> Result<Value, String> {
    if e.is_null() {
        return Ok(Value::Object(Vec::new()));
    }
    validate(cx, tid, e, 0)?;
    Ok(json_to_value(e))
}

const MAX_DEPTH: usize = 64;

fn validate(cx: &Cx<'_>, tid: TableId, e: &Json, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("boolean expression is nested too deeply".into());
    }
    let Json::Object(fields) = e else {
        return Err(format!(
            "expecting an object for boolean expression, but found {}",
            json_kind(e)
        ));
    };
    let table = &cx.schema.tables[tid];
    for (k, v) in fields {
        // Hasura accepts `$and`, `$or`, `$not`, `$exists` for the `_` operators.
        let k = match k.strip_prefix('$') {
            Some(rest) => format!("_{rest}"),
            None => k.clone(),
        };
        let k = &k;
        match k.as_str() {
            "_and" | "_or" => match v {
                Json::Array(items) => {
                    for item in items {
                        validate(cx, tid, item, depth + 1)?;
                    }
                }
                Json::Object(_) => validate(cx, tid, v, depth + 1)?,
                Json::Null => {}
                other => {
                    return Err(format!(
                        "expecting an array for {k}, but found {}",
                        json_kind(other)
                    ))
                }
            },
            "_not" => validate(cx, tid, v, depth + 1)?,
            "_exists" => {
                let table_v = v.get("_table").ok_or("missing \"_table\" in \"_exists\"")?;
                let where_v = v.get("_where").ok_or("missing \"_where\" in \"_exists\"")?;
                let qt: raw::QualifiedTable = serde_json::from_value(table_v.clone())
                    .map_err(|_| "expecting a table name for \"_table\"".to_string())?;
                let other = cx
                    .table_id(&qt)
                    .ok_or_else(|| format!("table {:?} does not exist", table_txt(&qt)))?;
                validate(cx, other, where_v, depth + 1)?;
            }
            _ => {
                if table.column(k).is_some() {
                    continue;
                }
                if let Some(rel) = table.relationship(k) {
                    validate(cx, rel.target, v, depth + 1)?;
                    continue;
                }
                if let Some(cf) = table.computed_field(k) {
                    if let graphedge_core::model::FunctionReturn::Table { table: target, .. } =
                        cf.returns
                    {
                        validate(cx, target, v, depth + 1)?;
                    }
                    continue;
                }
                if let Some(base) = k.strip_suffix("_aggregate") {
                    if table
                        .relationship(base)
                        .is_some_and(|r| r.kind == RelKind::Array)
                    {
                        continue;
                    }
                }
                return Err(format!("{k:?} does not exist"));
            }
        }
    }
    Ok(())
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}
