//! The permission matrix (`graphedge_permission_matrix`, a metadata API operation of ours):
//! for every tracked table × role × operation what the role may do, computed from the resolved
//! schema — so inherited roles show their effective permissions — with each row condition as
//! Hasura's JSON and in words, who may read / insert / update each column, and the session
//! variables each role's rules read, and where each table's rows are in the GraphQL schema.
//! Usable from CI as a permission audit (diff it between commits) and by the console.
//!
//! Arguments (all optional): `role` (only that role), `source` (only its tables), `table`
//! (`"name"` or `{"schema", "name"}`). `admin` may do everything and is not listed.
use std::collections::{BTreeMap, BTreeSet};

use graphedge_core::model::{ColumnId, Permissions, RelKind, Schema, Table};
use graphedge_core::Value;
use serde_json::{json, Map, Value as Json};

use crate::error::ApiError;
use crate::value_to_json;

/// The matrix of `schema` for the operation's `args`.
pub fn matrix(schema: &Schema, args: &Json) -> Result<Json, ApiError> {
    let args = match args {
        Json::Null => Map::new(),
        Json::Object(o) => o.clone(),
        _ => return Err(ApiError::parse_failed("expected an object").at("$.args")),
    };
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match args.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::parse_failed("expected a string").at(format!("$.args.{k}"))),
        }
    };
    let (role, source) = (text("role")?, text("source")?);
    let table = match args.get("table") {
        None | Some(Json::Null) => None,
        Some(Json::String(n)) => Some(("public".to_string(), n.clone())),
        Some(Json::Object(o)) => match (o.get("schema"), o.get("name")) {
            (s, Some(Json::String(n))) => Some((
                s.and_then(Json::as_str).unwrap_or("public").to_string(),
                n.clone(),
            )),
            _ => return Err(ApiError::parse_failed("expected a table name").at("$.args.table")),
        },
        Some(_) => return Err(ApiError::parse_failed("expected a table").at("$.args.table")),
    };
    let mut roles: BTreeSet<&str> = schema
        .tables
        .iter()
        .flat_map(|t| t.permissions.keys().map(String::as_str))
        .collect();
    roles.extend(schema.inherited_roles.keys().map(String::as_str));
    roles.remove("admin");
    if let Some(r) = &role {
        roles.retain(|x| x == r);
    }
    let mut tables = Vec::new();
    let mut variables: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (tid, t) in schema.tables.iter().enumerate() {
        let source_name = source_name(schema, tid);
        if source.as_deref().is_some_and(|s| s != source_name)
            || table
                .as_ref()
                .is_some_and(|(s, n)| *s != t.name.schema || *n != t.name.name)
        {
            continue;
        }
        let mut per_role = Map::new();
        for r in &roles {
            let p = t.permissions.get(*r).cloned().unwrap_or_default();
            let vars = variables.entry(r).or_default();
            per_role.insert(r.to_string(), role_json(schema, t, &p, vars));
        }
        tables.push(json!({
            "source": source_name,
            "table": {"schema": t.name.schema, "name": t.name.name},
            "roles": per_role,
            "columns": column_access(t, &roles),
            "graphql": graphql_names(schema, tid, t),
        }));
    }
    let inherits: Map<String, Json> = roles
        .iter()
        .map(|r| (r.to_string(), json!(schema.inherited_roles.get(*r))))
        .collect();
    Ok(json!({
        "roles": roles.iter().collect::<Vec<_>>(),
        "inherited_roles": inherits,
        "session_variables": variables,
        "tables": tables,
    }))
}

/// Where the table's rows are read in the GraphQL schema (source customization and the
/// naming convention applied): its source's `namespace` field (or null) and the select root
/// fields under it. The console's data browser queries these.
fn graphql_names(schema: &Schema, tid: usize, t: &Table) -> Json {
    let customization = schema.customization_of_table(tid);
    let namespace = customization.and_then(|c| c.namespace.as_deref());
    let spelled = |n: &str| customization.map_or_else(|| n.to_string(), |c| c.generated(n));
    json!({
        "namespace": namespace,
        // The sort argument and its values as the naming convention spells them.
        "order_by": spelled("order_by"),
        "asc": spelled("asc"),
        "desc": spelled("desc"),
        "select": t.root_fields.select,
        "select_by_pk": t.root_fields.select_by_pk,
        "select_aggregate": t.root_fields.select_aggregate,
    })
}

fn source_name(schema: &Schema, tid: usize) -> &str {
    if schema.sources.is_empty() {
        return "default";
    }
    &schema.sources[schema.source_of_table(tid)].name
}

fn names(t: &Table, cols: &[ColumnId]) -> Vec<String> {
    cols.iter()
        .filter_map(|c| t.columns.get(*c).map(|c| c.name.clone()))
        .collect()
}

fn presets(t: &Table, set: &[(ColumnId, Value)], vars: &mut BTreeSet<String>) -> Json {
    let mut out = Map::new();
    for (c, v) in set {
        collect_variables(v, vars);
        if let Some(col) = t.columns.get(*c) {
            out.insert(col.name.clone(), value_to_json(v));
        }
    }
    Json::Object(out)
}

/// A condition as JSON and in words, its session variables collected.
fn condition(schema: &Schema, t: &Table, v: &Value, vars: &mut BTreeSet<String>) -> (Json, String) {
    collect_variables(v, vars);
    (value_to_json(v), words(schema, t, v, 0))
}

fn role_json(schema: &Schema, t: &Table, p: &Permissions, vars: &mut BTreeSet<String>) -> Json {
    let select = p.select.as_ref().map(|s| {
        let (filter, filter_text) = condition(schema, t, &s.filter, vars);
        // Inherited roles: a column some parents hide is readable only where their rows meet.
        let cells: Map<String, Json> = s
            .column_filters
            .iter()
            .filter_map(|(c, f)| {
                let name = t.columns.get(*c)?.name.clone();
                Some((name, Json::String(condition(schema, t, f, vars).1)))
            })
            .collect();
        json!({
            "columns": names(t, &s.columns),
            "computed_fields": s.computed_fields,
            "filter": filter,
            "filter_text": filter_text,
            "limit": s.limit,
            "allow_aggregations": s.allow_aggregations,
            "query_root_fields": s.query_root_fields,
            "subscription_root_fields": s.subscription_root_fields,
            "column_conditions": cells,
        })
    });
    let insert = p.insert.as_ref().map(|i| {
        let (check, check_text) = condition(schema, t, &i.check, vars);
        json!({
            "columns": names(t, &i.columns),
            "check": check,
            "check_text": check_text,
            "set": presets(t, &i.set, vars),
            "backend_only": i.backend_only,
        })
    });
    let update = p.update.as_ref().map(|u| {
        let (filter, filter_text) = condition(schema, t, &u.filter, vars);
        let check = u.check.as_ref().map(|c| condition(schema, t, c, vars));
        json!({
            "columns": names(t, &u.columns),
            "filter": filter,
            "filter_text": filter_text,
            "check": check.as_ref().map(|c| c.0.clone()),
            "check_text": check.map(|c| c.1),
            "set": presets(t, &u.set, vars),
            "backend_only": u.backend_only,
        })
    });
    let delete = p.delete.as_ref().map(|d| {
        let (filter, filter_text) = condition(schema, t, &d.filter, vars);
        json!({"filter": filter, "filter_text": filter_text, "backend_only": d.backend_only})
    });
    json!({"select": select, "insert": insert, "update": update, "delete": delete})
}

/// Column → operation → the roles that may use it (reading: also the condition, for columns an
/// inherited role sees only on some rows).
fn column_access(t: &Table, roles: &BTreeSet<&str>) -> Json {
    let mut out = Map::new();
    for (cid, c) in t.columns.iter().enumerate() {
        let who = |pick: &dyn Fn(&Permissions) -> bool| -> Vec<&str> {
            roles
                .iter()
                .copied()
                .filter(|r| t.permissions.get(*r).is_some_and(pick))
                .collect()
        };
        let select = who(&|p| p.select.as_ref().is_some_and(|s| s.columns.contains(&cid)));
        let insert = who(&|p| p.insert.as_ref().is_some_and(|s| s.columns.contains(&cid)));
        let update = who(&|p| p.update.as_ref().is_some_and(|s| s.columns.contains(&cid)));
        out.insert(
            c.name.clone(),
            json!({"select": select, "insert": insert, "update": update}),
        );
    }
    Json::Object(out)
}

/// Every `X-Hasura-*` string in `v` (lower case).
fn collect_variables(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.to_ascii_lowercase().starts_with("x-hasura-") => {
            out.insert(s.to_ascii_lowercase());
        }
        Value::List(items) => items.iter().for_each(|i| collect_variables(i, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| collect_variables(v, out)),
        _ => {}
    }
}

/// Deeper conditions are summarised (metadata is ours to trust, but the text stays readable).
const MAX_DEPTH: usize = 32;

/// A boolean expression of Hasura's syntax in words: `author_id = X-Hasura-User-Id and
/// (published or …)`; `{}` is "all rows".
fn words(schema: &Schema, t: &Table, v: &Value, depth: usize) -> String {
    let Value::Object(fields) = v else {
        return operand(v);
    };
    if fields.is_empty() {
        return "all rows".into();
    }
    if depth > MAX_DEPTH {
        return "…".into();
    }
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| match k.as_str() {
            "_and" | "_or" => {
                let items: Vec<String> = match v {
                    Value::List(items) => items
                        .iter()
                        .map(|i| format!("({})", words(schema, t, i, depth + 1)))
                        .collect(),
                    other => vec![format!("({})", words(schema, t, other, depth + 1))],
                };
                if items.is_empty() {
                    return if k == "_and" { "all rows" } else { "no rows" }.into();
                }
                items.join(if k == "_and" { " and " } else { " or " })
            }
            "_not" => format!("not ({})", words(schema, t, v, depth + 1)),
            "_exists" => {
                let table = field(v, "_table").map(|n| match n {
                    Value::Object(_) => format!(
                        "{}.{}",
                        field(n, "schema").map(operand).unwrap_or("public".into()),
                        field(n, "name").map(operand).unwrap_or_default()
                    ),
                    other => operand(other),
                });
                let cond = field(v, "_where").map(|w| words(schema, t, w, depth + 1));
                format!(
                    "exists {} where ({})",
                    table.unwrap_or_default(),
                    cond.unwrap_or_else(|| "all rows".into())
                )
            }
            name => match t.relationships.iter().find(|r| r.name == name) {
                Some(rel) => {
                    let target = &schema.tables[rel.target];
                    let inner = words(schema, target, v, depth + 1);
                    match rel.kind {
                        RelKind::Object => format!("{name} where ({inner})"),
                        RelKind::Array => format!("some {name} where ({inner})"),
                    }
                }
                None => column_condition(name, v),
            },
        })
        .collect();
    parts.join(" and ")
}

fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match v {
        Value::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

/// `column {operators}` in words.
fn column_condition(column: &str, ops: &Value) -> String {
    let Value::Object(ops) = ops else {
        return format!("{column} = {}", operand(ops));
    };
    let parts: Vec<String> = ops
        .iter()
        .map(|(op, v)| {
            let sym = match op.as_str() {
                "_eq" | "_ceq" => "=",
                "_neq" | "_cne" => "≠",
                "_gt" | "_cgt" => ">",
                "_lt" | "_clt" => "<",
                "_gte" | "_cgte" => "≥",
                "_lte" | "_clte" => "≤",
                "_in" => "in",
                "_nin" => "not in",
                "_like" => "like",
                "_nlike" => "not like",
                "_ilike" => "ilike",
                "_nilike" => "not ilike",
                "_similar" => "similar to",
                "_regex" => "matches",
                "_iregex" => "matches (case-insensitive)",
                "_contains" => "contains",
                "_contained_in" => "is contained in",
                "_has_key" => "has key",
                "_is_null" => {
                    return match v {
                        Value::Boolean(true) => format!("{column} is null"),
                        _ => format!("{column} is not null"),
                    }
                }
                other => other.trim_start_matches('_'),
            };
            format!("{column} {sym} {}", operand(v))
        })
        .collect();
    parts.join(" and ")
}

/// A comparison's right side: session variables by name, other values as JSON.
fn operand(v: &Value) -> String {
    match v {
        Value::String(s) if s.to_ascii_lowercase().starts_with("x-hasura-") => s.clone(),
        other => value_to_json(other).to_string(),
    }
}

#[cfg(test)]
mod tests;
