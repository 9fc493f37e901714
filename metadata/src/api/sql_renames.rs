//! Metadata follows what `run_sql` renames, as in Hasura: a table renamed (`ALTER TABLE … RENAME
//! TO`, same `pg_class` oid before and after the script) or a column renamed (same table oid
//! and `attnum`) is renamed in every metadata object of the source that names it — tracking,
//! relationships (both sides), permissions (column lists, presets, the table's own conditions),
//! column configuration, remote relationships (join fields, `to_source` mappings, both sides)
//! and event trigger column lists. What is not followed stays as it was and becomes
//! inconsistent, as before.
use serde_json::Value as Json;

use crate::introspect::Catalog;
use crate::raw::{self, Columns, QualifiedTable};

/// One rename a script made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rename {
    Table {
        from: QualifiedTable,
        to: QualifiedTable,
    },
    /// In `table` (its name after the script).
    Column {
        table: QualifiedTable,
        from: String,
        to: String,
    },
}

fn qt(schema: &str, name: &str) -> QualifiedTable {
    QualifiedTable {
        schema: schema.to_string(),
        name: name.to_string(),
    }
}

/// The renames between two catalogs of one database (tables first).
pub(crate) fn detect(before: &Catalog, after: &Catalog) -> Vec<Rename> {
    let mut tables = Vec::new();
    let mut columns = Vec::new();
    for old in &before.tables {
        if old.oid == 0 {
            continue;
        }
        let Some(new) = after.tables.iter().find(|t| t.oid == old.oid) else {
            continue;
        };
        let to = qt(&new.schema, &new.name);
        if (old.schema.as_str(), old.name.as_str()) != (new.schema.as_str(), new.name.as_str()) {
            tables.push(Rename::Table {
                from: qt(&old.schema, &old.name),
                to: to.clone(),
            });
        }
        for c in &old.columns {
            if c.attnum <= 0 {
                continue;
            }
            if let Some(n) = new.columns.iter().find(|n| n.attnum == c.attnum) {
                if n.name != c.name {
                    columns.push(Rename::Column {
                        table: to.clone(),
                        from: c.name.clone(),
                        to: n.name.clone(),
                    });
                }
            }
        }
    }
    tables.extend(columns);
    tables
}

/// Applies `renames` of source `source`'s database to the metadata (every source's remote
/// relationships into it included); `before` is that database's catalog before the script
/// (relationships' targets are found in it).
pub(crate) fn apply(md: &mut raw::Metadata, source: &str, renames: &[Rename], before: &Catalog) {
    // Conditions first, over the names before the script: a condition reaches other tables'
    // columns through relationships.
    let old_name = |t: &QualifiedTable| {
        renames
            .iter()
            .find_map(|r| match r {
                Rename::Table { from, to } if to == t => Some(from.clone()),
                _ => None,
            })
            .unwrap_or_else(|| t.clone())
    };
    if let Some(src) = md.sources.iter_mut().find(|s| s.name == source) {
        let targets = relationship_targets(src, before);
        for r in renames {
            if let Rename::Column { table, from, to } = r {
                let column = (old_name(table), from.as_str(), to.as_str());
                rename_in_conditions(src, &targets, &column);
            }
        }
    }
    for r in renames {
        match r {
            Rename::Table { from, to } => rename_table(md, source, from, to),
            Rename::Column { table, from, to } => rename_column(md, source, table, from, to),
        }
    }
}

/// (table, relationship) → the table it reaches, for every relationship of the source.
type Targets = Vec<((QualifiedTable, String), QualifiedTable)>;

fn relationship_targets(src: &raw::Source, catalog: &Catalog) -> Targets {
    let mut out = Vec::new();
    for tm in &src.tables {
        for rel in tm
            .object_relationships
            .iter()
            .chain(&tm.array_relationships)
        {
            let target = match (
                &rel.using.foreign_key_constraint_on,
                &rel.using.manual_configuration,
            ) {
                (Some(raw::FkOn::Remote(fk)), _) => Some(fk.table.clone()),
                (Some(raw::FkOn::Column(c)), _) => {
                    fk_target(catalog, &tm.table, std::slice::from_ref(c))
                }
                (Some(raw::FkOn::Columns(cs)), _) => fk_target(catalog, &tm.table, cs),
                (None, Some(m)) => Some(m.remote_table.clone()),
                (None, None) => None,
            };
            if let Some(t) = target {
                out.push(((tm.table.clone(), rel.name.clone()), t));
            }
        }
    }
    out
}

/// The table the foreign key of `table` on `columns` references.
fn fk_target(
    catalog: &Catalog,
    table: &QualifiedTable,
    columns: &[String],
) -> Option<QualifiedTable> {
    let ct = catalog.table(&table.schema, &table.name)?;
    let fk = ct.foreign_keys.iter().find(|fk| fk.columns == columns)?;
    Some(qt(&fk.ref_schema, &fk.ref_table))
}

/// Renames column `(table, from, to)` in every permission condition of the source.
fn rename_in_conditions(
    src: &mut raw::Source,
    targets: &Targets,
    column: &(QualifiedTable, &str, &str),
) {
    for tm in &mut src.tables {
        let t = tm.table.clone();
        let walk = |e: &mut Json| rename_in_boolexp(e, &t, targets, column, 0);
        for p in &mut tm.select_permissions {
            walk(&mut p.permission.filter);
        }
        for p in &mut tm.insert_permissions {
            walk(&mut p.permission.check);
        }
        for p in &mut tm.update_permissions {
            walk(&mut p.permission.filter);
            if let Some(c) = &mut p.permission.check {
                walk(c);
            }
        }
        for p in &mut tm.delete_permissions {
            walk(&mut p.permission.filter);
        }
    }
}

/// How deep a condition is followed (metadata is trusted, but bounded all the same).
const MAX_DEPTH: usize = 64;

/// Renames the column in a boolean expression over table `on`: its own keys, `_and` /
/// `_or` / `_not`, relationships (over their targets) and `_exists` (over its `_table`).
fn rename_in_boolexp(
    e: &mut Json,
    on: &QualifiedTable,
    targets: &Targets,
    column: &(QualifiedTable, &str, &str),
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let (table, from, to) = column;
    match e {
        Json::Array(items) => items
            .iter_mut()
            .for_each(|i| rename_in_boolexp(i, on, targets, column, depth + 1)),
        Json::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                match k.as_str() {
                    "_and" | "_or" | "_not" => {
                        if let Some(v) = m.get_mut(&k) {
                            rename_in_boolexp(v, on, targets, column, depth + 1);
                        }
                    }
                    "_exists" => {
                        let Some(v) = m.get_mut(&k) else { continue };
                        let Some(t) = v
                            .get("_table")
                            .and_then(|t| serde_json::from_value::<QualifiedTable>(t.clone()).ok())
                        else {
                            continue;
                        };
                        if let Some(w) = v.get_mut("_where") {
                            rename_in_boolexp(w, &t, targets, column, depth + 1);
                        }
                    }
                    _ if on == table && k == *from => {
                        if let Some(v) = m.remove(&k) {
                            m.insert(to.to_string(), v);
                        }
                    }
                    _ => {
                        let target = targets
                            .iter()
                            .find(|((t, r), _)| t == on && *r == k)
                            .map(|(_, target)| target.clone());
                        if let (Some(target), Some(v)) = (target, m.get_mut(&k)) {
                            rename_in_boolexp(v, &target, targets, column, depth + 1);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Drops the column configuration (custom names, comments) of columns the source's tables
/// no longer have in `after`, as Hasura does when a script drops a column. Whether it did.
pub(crate) fn forget_dropped_columns(
    md: &mut raw::Metadata,
    source: &str,
    after: &Catalog,
) -> bool {
    let Some(src) = md.sources.iter_mut().find(|s| s.name == source) else {
        return false;
    };
    let mut changed = false;
    for tm in &mut src.tables {
        let Some(ct) = after.table(&tm.table.schema, &tm.table.name) else {
            continue;
        };
        let exists = |c: &String| ct.columns.iter().any(|col| &col.name == c);
        let config = &mut tm.configuration;
        let count = config.column_config.len() + config.custom_column_names.len();
        config.column_config.retain(|c, _| exists(c));
        config.custom_column_names.retain(|c, _| exists(c));
        changed |= count != config.column_config.len() + config.custom_column_names.len();
    }
    changed
}

/// Whether a `{schema, name}` or `"name"` JSON names `t`.
fn names_table(v: &Json, t: &QualifiedTable) -> bool {
    match v {
        Json::String(n) => t.schema == "public" && &t.name == n,
        Json::Object(_) => {
            v.get("name").and_then(Json::as_str) == Some(t.name.as_str())
                && v.get("schema").and_then(Json::as_str).unwrap_or("public") == t.schema
        }
        _ => false,
    }
}

fn table_json(t: &QualifiedTable) -> Json {
    serde_json::json!({"schema": t.schema, "name": t.name})
}

/// The `to_source` definition of a remote relationship (new or legacy shape), when it joins
/// into `source`.
fn to_source_mut<'a>(rel: &'a mut Json, source: &str) -> Option<&'a mut Json> {
    let def = rel.get_mut("definition")?;
    let ts = def.get_mut("to_source")?;
    (ts.get("source").and_then(Json::as_str) == Some(source)).then_some(ts)
}

fn rename_table(md: &mut raw::Metadata, source: &str, from: &QualifiedTable, to: &QualifiedTable) {
    for src in &mut md.sources {
        let here = src.name == source;
        for tm in &mut src.tables {
            if here && &tm.table == from {
                tm.table = to.clone();
            }
            if here {
                for rel in tm
                    .object_relationships
                    .iter_mut()
                    .chain(tm.array_relationships.iter_mut())
                {
                    if let Some(raw::FkOn::Remote(fk)) = &mut rel.using.foreign_key_constraint_on {
                        if &fk.table == from {
                            fk.table = to.clone();
                        }
                    }
                    if let Some(m) = &mut rel.using.manual_configuration {
                        if &m.remote_table == from {
                            m.remote_table = to.clone();
                        }
                    }
                }
            }
            for rel in &mut tm.remote_relationships {
                if let Some(ts) = to_source_mut(rel, source) {
                    if ts.get("table").is_some_and(|t| names_table(t, from)) {
                        ts["table"] = table_json(to);
                    }
                }
            }
        }
    }
}

fn rename_in(list: &mut [String], from: &str, to: &str) {
    for c in list.iter_mut().filter(|c| *c == from) {
        *c = to.to_string();
    }
}

fn rename_columns(cols: &mut Columns, from: &str, to: &str) {
    if let Columns::List(l) = cols {
        rename_in(l, from, to);
    }
}

fn rename_key<V>(map: &mut indexmap::IndexMap<String, V>, from: &str, to: &str) {
    if let Some(i) = map.get_index_of(from) {
        if let Some((_, v)) = map.shift_remove_index(i) {
            map.shift_insert(i, to.to_string(), v);
        }
    }
}

/// Renames `from` in a JSON list of names (`lhs_fields`, `columns`, …).
fn rename_in_json_list(v: Option<&mut Json>, from: &str, to: &str) {
    if let Some(Json::Array(items)) = v {
        for i in items.iter_mut().filter(|i| i.as_str() == Some(from)) {
            *i = Json::String(to.to_string());
        }
    }
}

/// Renames the join variable `$from` to `$to` in a remote field's arguments.
fn rename_variable(v: Option<&mut Json>, from: &str, to: &str, depth: usize) {
    let Some(v) = v else { return };
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Json::String(s) if s.strip_prefix('$') == Some(from) => *s = format!("${to}"),
        Json::Array(items) => items
            .iter_mut()
            .for_each(|i| rename_variable(Some(i), from, to, depth + 1)),
        Json::Object(m) => m
            .values_mut()
            .for_each(|i| rename_variable(Some(i), from, to, depth + 1)),
        _ => {}
    }
}

fn rename_json_key(v: Option<&mut Json>, from: &str, to: &str) {
    if let Some(Json::Object(m)) = v {
        if let Some(x) = m.remove(from) {
            m.insert(to.to_string(), x);
        }
    }
}

fn rename_column(
    md: &mut raw::Metadata,
    source: &str,
    table: &QualifiedTable,
    from: &str,
    to: &str,
) {
    for src in &mut md.sources {
        let here = src.name == source;
        for tm in &mut src.tables {
            let own = here && &tm.table == table;
            if own {
                for p in &mut tm.select_permissions {
                    rename_columns(&mut p.permission.columns, from, to);
                }
                for p in &mut tm.insert_permissions {
                    rename_columns(&mut p.permission.columns, from, to);
                    rename_key(&mut p.permission.set, from, to);
                }
                for p in &mut tm.update_permissions {
                    rename_columns(&mut p.permission.columns, from, to);
                    rename_key(&mut p.permission.set, from, to);
                }
                rename_key(&mut tm.configuration.column_config, from, to);
                rename_key(&mut tm.configuration.custom_column_names, from, to);
                for et in &mut tm.event_triggers {
                    let Some(def) = et.get_mut("definition") else {
                        continue;
                    };
                    for op in ["insert", "update", "delete"] {
                        if let Some(spec) = def.get_mut(op) {
                            rename_in_json_list(spec.get_mut("columns"), from, to);
                            rename_in_json_list(spec.get_mut("payload"), from, to);
                        }
                    }
                }
            }
            if here {
                for rel in tm
                    .object_relationships
                    .iter_mut()
                    .chain(tm.array_relationships.iter_mut())
                {
                    match &mut rel.using.foreign_key_constraint_on {
                        Some(raw::FkOn::Column(c)) if own && c == from => *c = to.to_string(),
                        Some(raw::FkOn::Columns(cs)) if own => rename_in(cs, from, to),
                        Some(raw::FkOn::Remote(fk)) if &fk.table == table => {
                            if fk.column.as_deref() == Some(from) {
                                fk.column = Some(to.to_string());
                            }
                            if let Some(cs) = &mut fk.columns {
                                rename_in(cs, from, to);
                            }
                        }
                        _ => {}
                    }
                    if let Some(m) = &mut rel.using.manual_configuration {
                        if own {
                            rename_key(&mut m.column_mapping, from, to);
                        }
                        if &m.remote_table == table {
                            for v in m.column_mapping.values_mut().filter(|v| *v == from) {
                                *v = to.to_string();
                            }
                        }
                    }
                }
            }
            for rel in &mut tm.remote_relationships {
                if own {
                    let Some(def) = rel.get_mut("definition") else {
                        continue;
                    };
                    rename_in_json_list(def.get_mut("hasura_fields"), from, to);
                    rename_in_json_list(def.get_mut("lhs_fields"), from, to);
                    rename_variable(def.get_mut("remote_field"), from, to, 0);
                    if let Some(rs) = def.get_mut("to_remote_schema") {
                        rename_in_json_list(rs.get_mut("lhs_fields"), from, to);
                        rename_variable(rs.get_mut("remote_field"), from, to, 0);
                    }
                    if let Some(ts) = def.get_mut("to_source") {
                        rename_json_key(ts.get_mut("field_mapping"), from, to);
                    }
                }
                if let Some(ts) = to_source_mut(rel, source) {
                    if ts.get("table").is_some_and(|t| names_table(t, table)) {
                        if let Some(Json::Object(m)) = ts.get_mut("field_mapping") {
                            for v in m.values_mut().filter(|v| v.as_str() == Some(from)) {
                                *v = Json::String(to.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::introspect::CatalogTable;

    fn table(oid: u32, name: &str, cols: &[(&str, i16)]) -> CatalogTable {
        let mut t: CatalogTable = serde_json::from_value(serde_json::json!({
            "schema": "public", "name": name, "kind": "r",
            "columns": cols.iter().map(|(c, n)| serde_json::json!({
                "name": c, "attnum": n, "nullable": true, "has_default": false,
                "type": {"schema": "pg_catalog", "udt": "int4", "kind": "b"}
            })).collect::<Vec<_>>()
        }))
        .unwrap();
        t.oid = oid;
        t
    }

    fn catalog(tables: Vec<CatalogTable>) -> Catalog {
        Catalog {
            tables,
            ..Default::default()
        }
    }

    /// Renames detected between two catalogs, then applied to a metadata: its export.
    fn check(before: Vec<CatalogTable>, after: Vec<CatalogTable>, md: Json) -> (Vec<Rename>, Json) {
        let (before, after) = (catalog(before), catalog(after));
        let renames = detect(&before, &after);
        let mut md: raw::Metadata = serde_json::from_value(md).unwrap();
        apply(&mut md, "default", &renames, &before);
        forget_dropped_columns(&mut md, "default", &after);
        (renames, serde_json::to_value(&md).unwrap())
    }

    fn metadata() -> Json {
        serde_json::json!({"version": 3, "sources": [{"name": "default", "kind": "postgres",
        "configuration": {"connection_info": {"database_url": "postgres://x"}},
        "tables": [
            {"table": {"schema": "public", "name": "profiles"},
             "array_relationships": [{"name": "posts", "using": {"manual_configuration": {
                 "remote_table": {"schema": "public", "name": "posts"},
                 "column_mapping": {"id": "profile_id"}}}}],
             "select_permissions": [{"role": "user", "permission": {
                 "columns": ["id", "name"],
                 "filter": {"_and": [{"id": {"_eq": "X-Hasura-User-Id"}}, {"posts": {"id": {"_gt": 0}}}]}}}],
             "remote_relationships": [{"name": "messages", "definition": {
                 "hasura_fields": ["id"], "remote_schema": "r",
                 "remote_field": {"messages": {"arguments": {"id": "$id"}}}}}]},
            {"table": {"schema": "public", "name": "posts"},
             "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "profile_id"}}]}
        ]}]})
    }

    #[test]
    fn a_renamed_column_is_renamed_where_metadata_names_it() {
        let (renames, md) = check(
            vec![table(1, "profiles", &[("id", 1), ("name", 2)])],
            vec![table(1, "profiles", &[("profile_id", 1), ("name", 2)])],
            metadata(),
        );
        assert_eq!(renames.len(), 1);
        let t = &md["sources"][0]["tables"][0];
        assert_eq!(
            t["select_permissions"][0]["permission"]["columns"],
            serde_json::json!(["profile_id", "name"])
        );
        assert_eq!(
            t["select_permissions"][0]["permission"]["filter"],
            serde_json::json!({"_and": [{"profile_id": {"_eq": "X-Hasura-User-Id"}}, {"posts": {"id": {"_gt": 0}}}]})
        );
        assert_eq!(
            t["array_relationships"][0]["using"]["manual_configuration"]["column_mapping"],
            serde_json::json!({"profile_id": "profile_id"})
        );
        assert_eq!(
            t["remote_relationships"][0]["definition"]["hasura_fields"],
            serde_json::json!(["profile_id"])
        );
    }

    #[test]
    fn a_renamed_table_is_renamed_where_metadata_names_it() {
        let (renames, md) = check(
            vec![
                table(1, "profiles", &[("id", 1)]),
                table(2, "posts", &[("profile_id", 1)]),
            ],
            vec![
                table(1, "user_profiles", &[("id", 1)]),
                table(2, "posts", &[("author_id", 1)]),
            ],
            metadata(),
        );
        assert_eq!(renames.len(), 2, "{renames:?}");
        let tables = &md["sources"][0]["tables"];
        assert_eq!(tables[0]["table"]["name"], "user_profiles");
        assert_eq!(
            tables[0]["array_relationships"][0]["using"]["manual_configuration"]["column_mapping"],
            serde_json::json!({"id": "author_id"})
        );
        assert_eq!(
            tables[1]["object_relationships"][0]["using"]["foreign_key_constraint_on"],
            "author_id"
        );
        // A condition reaching the renamed column through a relationship follows it.
        let (_, md) = check(
            vec![table(2, "posts", &[("id", 1), ("profile_id", 2)])],
            vec![table(2, "posts", &[("post_id", 1), ("profile_id", 2)])],
            metadata(),
        );
        assert_eq!(
            md["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["filter"],
            serde_json::json!({"_and": [{"id": {"_eq": "X-Hasura-User-Id"}}, {"posts": {"post_id": {"_gt": 0}}}]})
        );
        // Same names, nothing to do; an unknown oid is never a rename.
        assert!(check(
            vec![table(1, "a", &[("x", 1)])],
            vec![table(1, "a", &[("x", 1)])],
            metadata()
        )
        .0
        .is_empty());
        assert!(check(
            vec![table(0, "a", &[])],
            vec![table(0, "b", &[])],
            metadata()
        )
        .0
        .is_empty());
    }
}
