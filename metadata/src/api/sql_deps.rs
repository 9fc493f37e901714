//! Hasura's refusal of a `run_sql` that removes what metadata depends on: without `cascade`,
//! a script that drops a column used by an event trigger (its columns or payload) or by a
//! permission's column list answers 400 `dependency-error` ("cannot drop due to the following
//! dependent objects: ...") and changes nothing; one that changes the type of a column a
//! permission compares with a static value answers "cannot change type of column …".
//!
//! Atomic by construction: the check is one more statement appended to the script
//! ([`check_statement`]), so it runs last in the script's own transaction (the implicit
//! transaction of a simple query natively, the batch transaction over HTTP) and its exception
//! rolls the whole script back. A dropped table takes its own metadata with it, as in Hasura.
use crate::db::DbError;
use crate::error::ApiError;
use crate::events::EventTriggerConf;
use crate::raw::{self, QualifiedTable};
use serde_json::Value as Json;

/// The SQLSTATE the check raises.
const DEPENDENCY_STATE: &str = "GEDEP";
const PREFIX: &str = "cannot drop due to the following dependent objects: ";

/// `(table, column, dependent object)` for every column the source's metadata names.
pub(crate) fn column_dependencies(src: &raw::Source) -> Vec<(QualifiedTable, String, String)> {
    let mut out = Vec::new();
    for tm in &src.tables {
        let t = table_text(&tm.table);
        let mut add = |cols: Option<&[String]>, object: &str| {
            for c in cols.into_iter().flatten() {
                let what = format!("{object} in source \"{}\"", src.name);
                out.push((tm.table.clone(), c.clone(), what));
            }
        };
        for p in &tm.select_permissions {
            add(
                p.permission.columns.list(),
                &format!("permission {t}.{}.select", p.role),
            );
        }
        for p in &tm.insert_permissions {
            add(
                p.permission.columns.list(),
                &format!("permission {t}.{}.insert", p.role),
            );
        }
        for p in &tm.update_permissions {
            add(
                p.permission.columns.list(),
                &format!("permission {t}.{}.update", p.role),
            );
        }
        for et in &tm.event_triggers {
            let Ok(conf) = serde_json::from_value::<EventTriggerConf>(et.clone()) else {
                continue;
            };
            let object = format!("event-trigger {t}.{}", conf.name);
            let d = &conf.definition;
            for spec in [&d.insert, &d.update, &d.delete].into_iter().flatten() {
                add(spec.columns.list(), &object);
                add(spec.payload.as_ref().and_then(|p| p.list()), &object);
            }
        }
    }
    out
}

/// `(table, column, dependent object)` for every column a permission compares with (or
/// presets to) a static value — parsed as the column's type, so its type cannot change
/// underneath (Hasura's "cannot change type of column …"). Session variables are read per
/// request and do not count.
pub(crate) fn type_dependencies(src: &raw::Source) -> Vec<(QualifiedTable, String, String)> {
    let mut out = Vec::new();
    for tm in &src.tables {
        let t = table_text(&tm.table);
        let mut add = |exprs: &[&Json],
                       set: Option<&indexmap::IndexMap<String, Json>>,
                       op: &str,
                       role: &str| {
            let mut cols = Vec::new();
            for e in exprs {
                static_columns(e, 0, &mut cols);
            }
            for (c, v) in set.into_iter().flatten() {
                if !session_value(v) {
                    cols.push(c.clone());
                }
            }
            cols.sort();
            cols.dedup();
            for c in cols {
                let what = format!("permission {t}.{role}.{op} in source \"{}\"", src.name);
                out.push((tm.table.clone(), c, what));
            }
        };
        for p in &tm.select_permissions {
            add(&[&p.permission.filter], None, "select", &p.role);
        }
        for p in &tm.insert_permissions {
            add(
                &[&p.permission.check],
                Some(&p.permission.set),
                "insert",
                &p.role,
            );
        }
        for p in &tm.update_permissions {
            let mut exprs = vec![&p.permission.filter];
            exprs.extend(p.permission.check.as_ref());
            add(&exprs, Some(&p.permission.set), "update", &p.role);
        }
        for p in &tm.delete_permissions {
            add(&[&p.permission.filter], None, "delete", &p.role);
        }
    }
    out
}

/// A session variable (`X-Hasura-…`) rather than a static value.
fn session_value(v: &Json) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() >= 9 && s[..9].eq_ignore_ascii_case("x-hasura-"))
}

/// The columns of the table itself that boolean expression `e` compares with a static value
/// (`_and`/`_or`/`_not` followed; relationships and `_exists` are other tables).
fn static_columns(e: &Json, depth: usize, out: &mut Vec<String>) {
    let Some(o) = e.as_object() else { return };
    if depth > 32 {
        return;
    }
    for (k, v) in o {
        match k.as_str() {
            "_and" | "_or" => {
                for x in v.as_array().into_iter().flatten() {
                    static_columns(x, depth + 1, out);
                }
            }
            "_not" => static_columns(v, depth + 1, out),
            "_exists" => {}
            col => {
                let operands: Vec<&Json> = match v.as_object() {
                    // `{col: {_op: value}}`; column comparisons (`_c…`) name no value.
                    Some(ops) if ops.keys().all(|op| op.starts_with('_')) => ops
                        .iter()
                        .filter(|(op, _)| !op.starts_with("_c"))
                        .map(|(_, x)| x)
                        .collect(),
                    // A relationship: the target's columns.
                    Some(_) => continue,
                    // `{col: value}`
                    None => vec![v],
                };
                if operands.iter().any(|x| !x.is_null() && !session_value(x)) {
                    out.push(col.to_string());
                }
            }
        }
    }
}

/// The statement appended to a `run_sql` script after the drop check: raises
/// [`DEPENDENCY_STATE`] when a column of [`type_dependencies`] still exists with another type
/// than `catalog` (read before the script) knew.
pub(crate) fn type_check_statement(
    deps: &[(QualifiedTable, String, String)],
    catalog: &crate::introspect::Catalog,
) -> Option<String> {
    let rows: Vec<String> = deps
        .iter()
        .filter_map(|(t, c, o)| {
            let col = catalog
                .table(&t.schema, &t.name)?
                .columns
                .iter()
                .find(|col| &col.name == c)?;
            Some(format!(
                "({}, {}, {}, {}, {}, {})",
                literal(&t.schema),
                literal(&t.name),
                literal(c),
                literal(o),
                literal(&col.pg_type.udt),
                literal(&table_text(t))
            ))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(format!(
        "DO $graphedge_types$ DECLARE msg text; BEGIN \
         SELECT format('cannot change type of column \"%s\" in table \"%s\" because of the \
         following dependencies: %s', d.c, d.tt, string_agg(DISTINCT d.o, ', ' ORDER BY d.o)) \
         INTO msg FROM (VALUES {}) AS d(s, t, c, o, ty, tt) \
         JOIN pg_attribute a ON a.attrelid = to_regclass(format('%I.%I', d.s, d.t)) \
         AND a.attname = d.c AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_type y ON y.oid = a.atttypid WHERE y.typname <> d.ty \
         GROUP BY d.c, d.tt ORDER BY d.c LIMIT 1; \
         IF msg IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = '{DEPENDENCY_STATE}', \
         MESSAGE = msg; END IF; END $graphedge_types$",
        rows.join(", ")
    ))
}

/// Hasura's name of a table in messages: `name` in `public`, `schema.name` elsewhere.
fn table_text(t: &QualifiedTable) -> String {
    if t.schema == "public" {
        t.name.clone()
    } else {
        format!("{}.{}", t.schema, t.name)
    }
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statement appended to a `run_sql` script: raises [`DEPENDENCY_STATE`] naming the
/// dependent objects of every column that no longer exists in a table that still does. A
/// column renamed by the script still exists (its `attnum` in `catalog`, read before the
/// script, is kept): metadata follows the rename (see `sql_renames`). `None` when nothing
/// depends on a column.
pub(crate) fn check_statement(
    deps: &[(QualifiedTable, String, String)],
    catalog: &crate::introspect::Catalog,
) -> Option<String> {
    if deps.is_empty() {
        return None;
    }
    let rows: Vec<String> = deps
        .iter()
        .map(|(t, c, o)| {
            let attnum = catalog
                .table(&t.schema, &t.name)
                .and_then(|ct| ct.columns.iter().find(|col| &col.name == c))
                .map_or(0, |col| col.attnum);
            format!(
                "({}, {}, {}, {}, {attnum})",
                literal(&t.schema),
                literal(&t.name),
                literal(c),
                literal(o)
            )
        })
        .collect();
    Some(format!(
        "DO $graphedge_dependencies$ DECLARE missing text; BEGIN \
         SELECT string_agg(DISTINCT d.o, ', ' ORDER BY d.o) INTO missing \
         FROM (VALUES {}) AS d(s, t, c, o, n) \
         WHERE to_regclass(format('%I.%I', d.s, d.t)) IS NOT NULL AND NOT EXISTS (\
         SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(format('%I.%I', d.s, d.t)) \
         AND (a.attname = d.c OR a.attnum = d.n) AND a.attnum > 0 AND NOT a.attisdropped); \
         IF missing IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = '{DEPENDENCY_STATE}', \
         MESSAGE = {} || missing; END IF; END $graphedge_dependencies$",
        rows.join(", "),
        literal(PREFIX)
    ))
}

/// Hasura's `dependency-error` for a failed `run_sql`: the check's exception, or Postgres
/// refusing to drop a column an event trigger's update condition uses (`2BP01`).
pub(crate) fn dependency_error(e: &DbError, source: &str) -> Option<ApiError> {
    match e.code.as_deref() {
        Some(DEPENDENCY_STATE) => Some(ApiError::new("dependency-error", e.message.clone())),
        Some("2BP01") => {
            let detail = e.detail.as_deref()?;
            let mut objects = Vec::new();
            for line in detail.lines() {
                // "trigger graphedge_<name>_UPDATE on table <table> depends on column <c>"
                let Some(rest) = line.trim().strip_prefix("trigger graphedge_") else {
                    continue;
                };
                let Some((trigger, rest)) = rest.split_once(" on table ") else {
                    continue;
                };
                let name = ["_INSERT", "_UPDATE", "_DELETE"]
                    .iter()
                    .find_map(|op| trigger.strip_suffix(op))
                    .unwrap_or(trigger);
                let table = rest.split(" depends on ").next().unwrap_or(rest);
                let table = table.strip_prefix("public.").unwrap_or(table);
                objects.push(format!(
                    "event-trigger {table}.{name} in source \"{source}\""
                ));
            }
            if objects.is_empty() {
                return None;
            }
            objects.sort();
            objects.dedup();
            Some(ApiError::new(
                "dependency-error",
                format!("{PREFIX}{}", objects.join(", ")),
            ))
        }
        _ => None,
    }
}
