//! `run_sql` and the legacy DML `insert` of `/v1/query`.
use super::ops::{drop_new_inconsistencies, parse, qt_txt};
use super::{sql_deps, Cx};
use crate::db::{Database, SqlResult, Statement};
use crate::error::ApiError;
use crate::introspect::quote_ident;
use crate::raw::QualifiedTable;
use serde::Deserialize;
use serde_json::{json, Value as Json};

#[derive(Deserialize)]
struct RunSql {
    sql: String,
    #[serde(default)]
    cascade: bool,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    #[allow(dead_code)]
    check_metadata_consistency: Option<bool>,
    #[serde(default)]
    source: Option<String>,
    /// Each statement on its own (autocommit), for statements Postgres refuses inside a
    /// transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`); the first error stops the
    /// script, the statements before it stay done.
    #[serde(default)]
    no_transaction: bool,
}

/// Runs the script in one transaction (each statement on its own with `no_transaction`);
/// returns the last statement's result in Hasura's shape.
/// Then re-introspects and drops from metadata every tracked object that no longer exists.
pub(crate) async fn run_sql<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a: RunSql = parse(args)?;
    let connection = cx.connection_of(a.source.as_deref())?;
    let source = a.source.as_deref().unwrap_or("default");
    // Without cascade, what metadata depends on must survive the script (checked last, in
    // the script's own transaction: see `sql_deps`).
    // `cx.catalog` is the served source's.
    let served = crate::sources::served(&cx.md).is_some_and(|s| s.name == source);
    let other = crate::introspect::Catalog::default();
    let catalog = if served { &cx.catalog } else { &other };
    let checks: Vec<String> = match (a.cascade || a.read_only, cx.md.source(source)) {
        (false, Some(src)) => [
            sql_deps::check_statement(&sql_deps::column_dependencies(src), catalog),
            sql_deps::type_check_statement(&sql_deps::type_dependencies(src), catalog),
        ]
        .into_iter()
        .flatten()
        .collect(),
        _ => Vec::new(),
    };
    let mut script = a.sql.clone();
    for stmt in &checks {
        script.push_str("\n;\n");
        script.push_str(stmt);
    }
    let db = crate::db::On::source(cx.db, connection.as_ref());
    let to_error = |e: crate::db::DbError| {
        sql_deps::dependency_error(&e, source)
            .unwrap_or_else(|| ApiError::postgres(&e, Some(&a.sql)))
    };
    let mut results = if a.no_transaction {
        // One simple query per statement: several in one query string would run in one
        // implicit transaction block.
        let mut all = Vec::new();
        for stmt in crate::sql_split::split_statements(&script) {
            all.extend(db.run_sql(&stmt).await.map_err(to_error)?);
        }
        all
    } else {
        db.run_sql(&script).await.map_err(to_error)?
    };
    for _ in &checks {
        results.pop();
    }
    let out = match results.last() {
        Some(SqlResult::Tuples(rows)) => {
            let mut table = Vec::with_capacity(rows.rows.len() + 1);
            table.push(json!(rows.columns));
            for r in &rows.rows {
                table.push(Json::Array(
                    r.iter()
                        .map(|v| v.clone().map(Json::String).unwrap_or(Json::Null))
                        .collect(),
                ));
            }
            json!({ "result_type": "TuplesOk", "result": table })
        }
        _ => json!({ "result_type": "CommandOk", "result": null }),
    };
    if !a.read_only {
        let before = cx.catalog.clone();
        let was_changed = cx.catalog_changed;
        cx.reintrospect().await?;
        if cx.catalog == before {
            cx.catalog_changed = was_changed;
        } else {
            // Renamed tables and columns are renamed in metadata (the served source's).
            if served {
                let renames = super::sql_renames::detect(&before, &cx.catalog);
                if !renames.is_empty() {
                    super::sql_renames::apply(&mut cx.md, source, &renames, &before);
                    cx.md_changed = true;
                }
                if super::sql_renames::forget_dropped_columns(&mut cx.md, source, &cx.catalog) {
                    cx.md_changed = true;
                }
            }
            // Objects that disappeared (or changed shape) are removed from metadata: with
            // `cascade`, and what the dependency check does not cover (dropped tables, ...).
            drop_new_inconsistencies(cx);
            let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
            if now != cx.baseline {
                cx.md_changed = true;
            }
            cx.baseline = now;
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Insert {
    table: QualifiedTable,
    objects: Json,
    #[serde(default)]
    returning: Option<Vec<String>>,
    #[serde(default)]
    on_conflict: Option<OnConflict>,
}

#[derive(Deserialize)]
struct OnConflict {
    constraint: String,
    action: String,
    #[serde(default)]
    update_columns: Option<Vec<String>>,
}

/// Legacy `insert {table, objects, returning?, on_conflict?}`. Objects are grouped by their
/// key set (absent keys take the column default); each group is ONE statement with ONE
/// parameter, the group's objects as JSON text. Returns `{affected_rows, returning?}`.
pub(crate) async fn insert<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: Insert = parse(args)?;
    let src = cx.md.source("default");
    if src.and_then(|s| s.table(&a.table)).is_none() {
        return Err(
            ApiError::not_exists(format!("table {:?} does not exist", qt_txt(&a.table)))
                .at("$.args.table"),
        );
    }
    let Some(table) = cx.catalog.table(&a.table.schema, &a.table.name) else {
        return Err(
            ApiError::not_exists(format!("table {:?} does not exist", qt_txt(&a.table)))
                .at("$.args.table"),
        );
    };
    let objects: Vec<serde_json::Map<String, Json>> =
        match &a.objects {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, o)| match o {
                    Json::Object(m) => Ok(m.clone()),
                    _ => Err(ApiError::parse_failed("expected an object")
                        .at(format!("$.args.objects[{i}]"))),
                })
                .collect::<Result<_, _>>()?,
            Json::Object(m) => vec![m.clone()],
            _ => return Err(ApiError::parse_failed("expected an array").at("$.args.objects")),
        };
    for (i, o) in objects.iter().enumerate() {
        for k in o.keys() {
            if table.column(k).is_none() {
                return Err(
                    ApiError::not_exists(format!("no such column exists: {k:?}"))
                        .at(format!("$.args.objects[{i}]")),
                );
            }
        }
    }
    let returning = a.returning.unwrap_or_default();
    for c in &returning {
        if table.column(c).is_none() {
            return Err(
                ApiError::not_exists(format!("no such column exists: {c:?}"))
                    .at("$.args.returning"),
            );
        }
    }
    let conflict = match &a.on_conflict {
        None => String::new(),
        Some(oc) => match oc.action.as_str() {
            "ignore" => format!(
                " ON CONFLICT ON CONSTRAINT {} DO NOTHING",
                quote_ident(&oc.constraint)
            ),
            "update" => {
                let cols = oc.update_columns.clone().unwrap_or_default();
                if cols.is_empty() {
                    format!(
                        " ON CONFLICT ON CONSTRAINT {} DO NOTHING",
                        quote_ident(&oc.constraint)
                    )
                } else {
                    let sets: Vec<String> = cols
                        .iter()
                        .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
                        .collect();
                    format!(
                        " ON CONFLICT ON CONSTRAINT {} DO UPDATE SET {}",
                        quote_ident(&oc.constraint),
                        sets.join(", ")
                    )
                }
            }
            other => {
                return Err(
                    ApiError::parse_failed(format!("unknown on_conflict action {other:?}"))
                        .at("$.args.on_conflict.action"),
                )
            }
        },
    };

    // Group objects by key set, keeping first-seen order.
    let mut groups: Vec<(Vec<String>, Vec<Json>)> = Vec::new();
    for o in objects {
        let mut keys: Vec<String> = o.keys().cloned().collect();
        keys.sort();
        match groups.iter_mut().find(|(k, _)| *k == keys) {
            Some((_, list)) => list.push(Json::Object(o)),
            None => groups.push((keys, vec![Json::Object(o)])),
        }
    }
    let target = format!(
        "{}.{}",
        quote_ident(&a.table.schema),
        quote_ident(&a.table.name)
    );
    let ret_obj = if returning.is_empty() {
        "'[]'::json".to_string()
    } else {
        let fields: Vec<String> = returning
            .iter()
            .map(|c| format!("'{}', {}", c.replace('\'', "''"), quote_ident(c)))
            .collect();
        format!(
            "COALESCE((SELECT json_agg(json_build_object({})) FROM ins), '[]'::json)",
            fields.join(", ")
        )
    };
    let mut stmts = Vec::new();
    for (keys, list) in &groups {
        let geo: Vec<&String> = keys
            .iter()
            .filter(|k| {
                table
                    .column(k)
                    .is_some_and(|c| matches!(c.pg_type.udt.as_str(), "geometry" | "geography"))
            })
            .collect();
        // json_populate_record reads every non-geo column with its type's rules; geo columns
        // accept GeoJSON objects (ST_GeomFromGeoJSON) or text (WKT/EWKB).
        let mut stripped = "e.v".to_string();
        if !geo.is_empty() {
            stripped = format!(
                "(e.v::jsonb {})::json",
                geo.iter()
                    .map(|g| format!("- '{}'", g.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let exprs: Vec<String> = keys
            .iter()
            .map(|k| {
                if geo.contains(&k) {
                    let col = table.column(k).map(|c| c.pg_type.udt.clone()).unwrap_or_default();
                    let key = k.replace('\'', "''");
                    format!(
                        "CASE WHEN json_typeof(e.v->'{key}') = 'object' THEN ST_GeomFromGeoJSON(e.v->'{key}')::{col} \
                         ELSE (e.v->>'{key}')::{col} END"
                    )
                } else {
                    format!("r.{}", quote_ident(k))
                }
            })
            .collect();
        let cols: Vec<String> = keys.iter().map(|k| quote_ident(k)).collect();
        let (col_list, select) = if keys.is_empty() {
            (String::new(), "DEFAULT VALUES".to_string())
        } else {
            (
                format!(" ({})", cols.join(", ")),
                format!(
                    "SELECT {} FROM json_array_elements($1::json) WITH ORDINALITY AS e(v, i) \
                     CROSS JOIN LATERAL json_populate_record(null::{target}, {stripped}) AS r ORDER BY e.i",
                    exprs.join(", ")
                ),
            )
        };
        if keys.is_empty() {
            // One DEFAULT VALUES insert per object.
            for _ in list {
                stmts.push(Statement {
                    sql: format!(
                        "WITH ins AS (INSERT INTO {target} DEFAULT VALUES{conflict} RETURNING *) \
                         SELECT json_build_object('affected_rows', (SELECT count(*) FROM ins), 'returning', {ret_obj})::text"
                    ),
                    params: vec![],
                });
            }
            continue;
        }
        stmts.push(Statement {
            sql: format!(
                "WITH ins AS (INSERT INTO {target}{col_list} {select}{conflict} RETURNING *) \
                 SELECT json_build_object('affected_rows', (SELECT count(*) FROM ins), 'returning', {ret_obj})::text"
            ),
            params: vec![Some(Json::Array(list.clone()).to_string())],
        });
    }
    let sql_text = stmts.first().map(|s| s.sql.clone()).unwrap_or_default();
    let results = cx
        .src()
        .transaction(&stmts)
        .await
        .map_err(|e| ApiError::dml(&e, &sql_text))?;
    let mut affected = 0u64;
    let mut rows_out = Vec::new();
    for r in results {
        let text = r
            .rows
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .unwrap_or_default();
        let v: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
        affected += v.get("affected_rows").and_then(|n| n.as_u64()).unwrap_or(0);
        if let Some(Json::Array(items)) = v.get("returning") {
            rows_out.extend(items.iter().cloned());
        }
    }
    let mut out = json!({ "affected_rows": affected });
    if !returning.is_empty() {
        out["returning"] = Json::Array(rows_out);
    }
    Ok(out)
}
