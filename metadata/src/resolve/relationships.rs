//! Stage 2: object and array relationships → `(this column, target column)` mappings, through
//! the catalog's foreign keys (`foreign_key_constraint_on`) or given directly
//! (`manual_configuration`).
use graphedge_core::model::{ColumnId, RelKind, Relationship, TableId};

use super::{field_conflict, table_txt, Cx};
use crate::introspect::CatalogForeignKey;
use crate::raw;

pub(crate) fn resolve_relationships(cx: &mut Cx<'_>, source: &raw::Source) {
    for tid in 0..cx.schema.tables.len() {
        let tm = &source.tables[cx.tracked[tid]];
        let rels = tm
            .object_relationships
            .iter()
            .map(|r| (RelKind::Object, r))
            .chain(tm.array_relationships.iter().map(|r| (RelKind::Array, r)));
        for (kind, rel) in rels {
            let conflict = field_conflict(&cx.schema.tables[tid], &rel.name);
            let result = match &conflict {
                Some(c) => Err(RelError::Bare(c.clone())),
                None => build_relationship(cx, tid, &tm.table, kind, rel),
            };
            match result {
                Ok(r) => cx.schema.tables[tid].relationships.push(r),
                Err(e) => {
                    let reason = match e {
                        RelError::Bare(reason) => reason,
                        RelError::InRelationship(reason) => format!(
                            "in table {:?}: in relationship {:?}: {reason}",
                            table_txt(&tm.table),
                            rel.name
                        ),
                    };
                    let what = match kind {
                        RelKind::Object => "object_relation",
                        RelKind::Array => "array_relation",
                    };
                    let name = cx.table_child_name(what, &rel.name, &tm.table);
                    let mut own = serde_json::to_value(rel).unwrap_or_default();
                    // Hasura shows the comment of a relationship, null when it has none.
                    if let Some(m) = own.as_object_mut() {
                        m.entry("comment").or_insert(serde_json::Value::Null);
                    }
                    let def = cx.child_definition(own, &tm.table);
                    cx.report(what, name, def, reason);
                }
            }
        }
    }
}

/// Why a relationship is inconsistent: Hasura reports most reasons inside the relationship's
/// context (`in table "t": in relationship "r": ...`), the target of a local foreign key alone.
enum RelError {
    InRelationship(String),
    Bare(String),
}

impl From<String> for RelError {
    fn from(reason: String) -> Self {
        RelError::InRelationship(reason)
    }
}

impl From<&str> for RelError {
    fn from(reason: &str) -> Self {
        RelError::InRelationship(reason.into())
    }
}

fn build_relationship(
    cx: &Cx<'_>,
    tid: TableId,
    this: &raw::QualifiedTable,
    kind: RelKind,
    rel: &raw::Relationship,
) -> Result<Relationship, RelError> {
    let table = &cx.schema.tables[tid];
    if table.relationship(&rel.name).is_some() {
        return Err(format!(
            "column/relationship {:?} of table {:?} already exists",
            rel.name,
            table_txt(this)
        )
        .into());
    }
    let tracked = |t: &raw::QualifiedTable| {
        cx.table_id(t)
            .ok_or_else(|| format!("table {:?} is not tracked", table_txt(t)))
    };
    let local = matches!(
        rel.using.foreign_key_constraint_on,
        Some(raw::FkOn::Column(_) | raw::FkOn::Columns(_))
    );
    let (target, mapping) = match (
        &rel.using.foreign_key_constraint_on,
        &rel.using.manual_configuration,
    ) {
        (Some(fk_on), None) => match fk_on {
            raw::FkOn::Column(_) | raw::FkOn::Columns(_) if kind == RelKind::Array => {
                return Err(RelError::InRelationship("expecting an object {\"table\", \"columns\"} for foreign_key_constraint_on of an array relationship".into()));
            }
            raw::FkOn::Column(c) => local_fk(cx, tid, this, std::slice::from_ref(c))?,
            raw::FkOn::Columns(cs) => local_fk(cx, tid, this, cs)?,
            raw::FkOn::Remote(remote) => {
                // Hasura looks the remote table up among the tracked tables of the source.
                let missing = || {
                    format!(
                        "table {:?} does not exist in source: {}",
                        table_txt(&remote.table),
                        cx.source_name
                    )
                };
                let target = cx.table_id(&remote.table).ok_or_else(missing)?;
                let columns = remote.column_list();
                let rt = cx
                    .catalog
                    .table(&remote.table.schema, &remote.table.name)
                    .ok_or_else(missing)?;
                let fk = find_fk(&rt.foreign_keys, &columns, Some(this)).ok_or_else(|| {
                    "no foreign constraint exists on the given column(s)".to_string()
                })?;
                let target_table = &cx.schema.tables[target];
                let mut mapping = Vec::new();
                for (remote_col, this_col) in fk.columns.iter().zip(&fk.ref_columns) {
                    mapping.push((
                        column_of(table, this_col)?,
                        column_of(target_table, remote_col)?,
                    ));
                }
                (target, mapping)
            }
        },
        (None, Some(manual)) => {
            let target = tracked(&manual.remote_table)?;
            let target_table = &cx.schema.tables[target];
            let mut mapping = Vec::new();
            for (local, remote) in &manual.column_mapping {
                mapping.push((column_of(table, local)?, column_of(target_table, remote)?));
            }
            if mapping.is_empty() {
                return Err("column_mapping cannot be empty".into());
            }
            (target, mapping)
        }
        _ => return Err(RelError::InRelationship(
            "exactly one of \"foreign_key_constraint_on\" and \"manual_configuration\" is expected"
                .into(),
        )),
    };
    Ok(Relationship {
        name: rel.name.clone(),
        kind,
        target,
        mapping,
        comment: rel.comment.clone(),
        local_fk: local,
    })
}

/// An object relationship through a foreign key of this table on `columns`.
fn local_fk(
    cx: &Cx<'_>,
    tid: TableId,
    this: &raw::QualifiedTable,
    columns: &[String],
) -> Result<(TableId, Vec<(ColumnId, ColumnId)>), RelError> {
    let table = &cx.schema.tables[tid];
    for c in columns {
        column_of(table, c)?;
    }
    let ct = cx
        .catalog
        .table(&this.schema, &this.name)
        .ok_or("table is not introspected")?;
    let fk = find_fk(&ct.foreign_keys, columns, None)
        .ok_or_else(|| "no foreign constraint exists on the given column(s)".to_string())?;
    let target_name = raw::QualifiedTable::new(fk.ref_schema.clone(), fk.ref_table.clone());
    let target = cx.table_id(&target_name).ok_or_else(|| {
        RelError::Bare(format!(
            "table {:?} is not tracked",
            table_txt(&target_name)
        ))
    })?;
    let target_table = &cx.schema.tables[target];
    let mut mapping = Vec::new();
    for (c, rc) in fk.columns.iter().zip(&fk.ref_columns) {
        mapping.push((column_of(table, c)?, column_of(target_table, rc)?));
    }
    Ok((target, mapping))
}

/// The foreign key whose columns are exactly `columns` (as a set), optionally referencing `to`.
fn find_fk<'c>(
    fks: &'c [CatalogForeignKey],
    columns: &[String],
    to: Option<&raw::QualifiedTable>,
) -> Option<&'c CatalogForeignKey> {
    let mut wanted: Vec<&str> = columns.iter().map(|s| s.as_str()).collect();
    wanted.sort_unstable();
    fks.iter().find(|fk| {
        let mut have: Vec<&str> = fk.columns.iter().map(|s| s.as_str()).collect();
        have.sort_unstable();
        have == wanted && to.is_none_or(|t| fk.ref_schema == t.schema && fk.ref_table == t.name)
    })
}

fn column_of(table: &graphedge_core::model::Table, name: &str) -> Result<ColumnId, String> {
    table.column(name).ok_or_else(|| {
        format!(
            "column {name:?} does not exist in table {:?}",
            if table.name.schema == "public" {
                table.name.name.clone()
            } else {
                format!("{}.{}", table.name.schema, table.name.name)
            }
        )
    })
}
