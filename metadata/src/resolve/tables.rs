//! Stage 1: tracked tables → core tables (columns with GraphQL names, keys, root field names,
//! enum values), then `Column::enum_table` for columns referencing an enum table.
use std::collections::{BTreeMap, HashSet};

use graphedge_core::model::{
    Column, EnumValue, QualifiedName, RootFieldNames, Table, UniqueConstraint,
};

use super::{default_gql_name, is_graphql_name, table_txt, Cx};
use crate::introspect::{enum_shape, CatalogTable};
use crate::raw;

pub(crate) fn resolve_tables(cx: &mut Cx<'_>, source: &raw::Source) {
    let mut seen: HashSet<&raw::QualifiedTable> = HashSet::new();
    for (index, tm) in source.tables.iter().enumerate() {
        if !seen.insert(&tm.table) {
            // Hasura keeps the first definition and reports the duplicate.
            let name = cx.table_object_name(&tm.table);
            let def = serde_json::to_value(&tm.table).unwrap_or_default();
            cx.report(
                "table",
                name,
                def,
                format!("multiple definitions for table {:?}", table_txt(&tm.table)),
            );
            continue;
        }
        match build_table(cx, tm) {
            Ok(table) => {
                cx.schema.tables.push(table);
                cx.tracked.push(index);
            }
            Err(reason) => {
                let name = cx.table_object_name(&tm.table);
                let def = serde_json::to_value(&tm.table).unwrap_or_default();
                cx.report("table", name, def, reason);
            }
        }
    }
    link_enum_columns(cx);
}

fn build_table(cx: &Cx<'_>, tm: &raw::TableMetadata) -> Result<Table, String> {
    let t = &tm.table;
    let Some(ct) = cx.catalog.table(&t.schema, &t.name) else {
        return Err(format!(
            "no such table/view exists in source: {:?}",
            table_txt(t)
        ));
    };
    let config = &tm.configuration;
    let gql_name = config
        .custom_name
        .clone()
        .unwrap_or_else(|| default_gql_name(&t.schema, &t.name));
    if !is_graphql_name(&gql_name) {
        return Err(format!(
            "in table {:?}: the table name {:?} is not a valid GraphQL name; set a custom name",
            table_txt(t),
            gql_name
        ));
    }

    // Custom column names must name existing columns.
    let unknown: Vec<&str> = config
        .column_config
        .keys()
        .chain(config.custom_column_names.keys())
        .map(|s| s.as_str())
        .filter(|c| ct.column(c).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "in table {:?}: the following columns referenced in column_config/custom_column_names do not exist: {}",
            table_txt(t),
            unknown.join(", ")
        ));
    }

    let columns = build_columns(ct, config);
    // Two columns with the same GraphQL name.
    let mut names: HashSet<&str> = HashSet::new();
    for c in &columns {
        if !is_graphql_name(&c.gql_name) {
            return Err(format!(
                "in table {:?}: the column name {:?} is not a valid GraphQL name",
                table_txt(t),
                c.gql_name
            ));
        }
        if !names.insert(&c.gql_name) {
            return Err(format!(
                "in table {:?}: field definition conflicts with custom field name",
                table_txt(t)
            ));
        }
    }

    let position = |name: &str| columns.iter().position(|c| c.name == name);
    let primary_key: Vec<usize> = ct
        .primary_key
        .as_ref()
        .map(|pk| pk.columns.iter().filter_map(|c| position(c)).collect())
        .unwrap_or_default();
    let mut unique_constraints = Vec::new();
    if let Some(pk) = &ct.primary_key {
        unique_constraints.push(UniqueConstraint {
            name: pk.name.clone(),
            columns: primary_key.clone(),
            is_primary: true,
        });
    }
    for u in &ct.unique_constraints {
        unique_constraints.push(UniqueConstraint {
            name: u.name.clone(),
            columns: u.columns.iter().filter_map(|c| position(c)).collect(),
            is_primary: false,
        });
    }

    let mut enum_values = Vec::new();
    if tm.is_enum {
        enum_values = enum_values_of(cx, tm, ct)?;
    }

    Ok(Table {
        name: QualifiedName::new(t.schema.clone(), t.name.clone()),
        root_fields: root_field_names(&gql_name, &config.custom_root_fields),
        gql_name,
        columns,
        primary_key,
        unique_constraints,
        relationships: Vec::new(),
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        computed_fields: Vec::new(),
        permissions: BTreeMap::new(),
        kind: ct.kind.chars().next().unwrap_or('r'),
        mutable: graphedge_core::model::Mutable {
            insert: ct.updatable & 8 != 0,
            update: ct.updatable & 4 != 0,
            delete: ct.updatable & 16 != 0,
        },
        is_enum: tm.is_enum,
        enum_values,
        description: config.comment.clone().or_else(|| ct.comment.clone()),
    })
}

fn build_columns(ct: &CatalogTable, config: &raw::TableConfig) -> Vec<Column> {
    ct.columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            gql_name: config.column_name(&c.name).unwrap_or(&c.name).to_string(),
            pg_type: c.pg_type.to_pg_type(),
            nullable: c.nullable,
            has_default: c.has_default,
            is_generated: c.is_generated || c.identity == "a",
            is_identity: c.is_identity,
            description: config
                .column_config
                .get(&c.name)
                .and_then(|cc| cc.comment.clone())
                .or_else(|| c.comment.clone()),
            enum_table: None,
        })
        .collect()
}

/// Default root field names from the table's GraphQL name, with `custom_root_fields` applied.
pub(crate) fn root_field_names(gql: &str, custom: &raw::CustomRootFields) -> RootFieldNames {
    let pick = |c: &Option<raw::RootFieldName>, default: String| {
        c.as_ref()
            .and_then(|c| c.name())
            .map(|s| s.to_string())
            .unwrap_or(default)
    };
    RootFieldNames {
        select: pick(&custom.select, gql.to_string()),
        select_by_pk: pick(&custom.select_by_pk, format!("{gql}_by_pk")),
        select_aggregate: pick(&custom.select_aggregate, format!("{gql}_aggregate")),
        insert: pick(&custom.insert, format!("insert_{gql}")),
        insert_one: pick(&custom.insert_one, format!("insert_{gql}_one")),
        update: pick(&custom.update, format!("update_{gql}")),
        update_by_pk: pick(&custom.update_by_pk, format!("update_{gql}_by_pk")),
        update_many: pick(&custom.update_many, format!("update_{gql}_many")),
        delete: pick(&custom.delete, format!("delete_{gql}")),
        delete_by_pk: pick(&custom.delete_by_pk, format!("delete_{gql}_by_pk")),
        comments: [
            ("select", &custom.select),
            ("select_by_pk", &custom.select_by_pk),
            ("select_aggregate", &custom.select_aggregate),
            ("select_stream", &custom.select_stream),
            ("insert", &custom.insert),
            ("insert_one", &custom.insert_one),
            ("update", &custom.update),
            ("update_by_pk", &custom.update_by_pk),
            ("update_many", &custom.update_many),
            ("delete", &custom.delete),
            ("delete_by_pk", &custom.delete_by_pk),
        ]
        .into_iter()
        .filter_map(|(kind, c)| Some((kind.to_string(), c.as_ref()?.comment()?.to_string())))
        .collect(),
    }
}

/// A GraphQL name that is not `true`, `false` or `null`.
fn is_enum_value_name(v: &str) -> bool {
    is_graphql_name(v) && !matches!(v, "true" | "false" | "null")
}

fn enum_values_of(
    cx: &Cx<'_>,
    tm: &raw::TableMetadata,
    ct: &CatalogTable,
) -> Result<Vec<EnumValue>, String> {
    let t = &tm.table;
    let cannot = |why: String| {
        format!(
            "the table {:?} cannot be used as an enum because {why}",
            table_txt(t)
        )
    };
    enum_shape(ct).map_err(cannot)?;
    let Some(rows) = cx.catalog.enum_values(&t.schema, &t.name) else {
        return Err(cannot(
            "its rows were not introspected (reload the metadata)".into(),
        ));
    };
    if rows.values.is_empty() {
        return Err(cannot("the table must have at least one row".into()));
    }
    let mut bad: Vec<&str> = rows
        .values
        .iter()
        .map(|v| v.value.as_str())
        .filter(|v| !is_enum_value_name(v))
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        let q = |v: &str| format!("{v:?}");
        let text = match bad.as_slice() {
            [one] => format!(
                "the value {} is not a valid GraphQL enum value name",
                q(one)
            ),
            [a, b] => format!(
                "the values {} and {} are not valid GraphQL enum value names",
                q(a),
                q(b)
            ),
            [init @ .., last] => format!(
                "the values {}, and {} are not valid GraphQL enum value names",
                init.iter().map(|v| q(v)).collect::<Vec<_>>().join(", "),
                q(last)
            ),
            [] => String::new(),
        };
        return Err(cannot(text));
    }
    Ok(rows
        .values
        .iter()
        .map(|v| EnumValue {
            value: v.value.clone(),
            name: v.value.clone(),
            comment: v.comment.clone(),
        })
        .collect())
}

/// Every column whose single-column foreign key references the primary key of a (consistent)
/// enum table gets `enum_table`.
fn link_enum_columns(cx: &mut Cx<'_>) {
    let mut links = Vec::new();
    for (tid, table) in cx.schema.tables.iter().enumerate() {
        let Some(ct) = cx.catalog.table(&table.name.schema, &table.name.name) else {
            continue;
        };
        for fk in &ct.foreign_keys {
            if fk.columns.len() != 1 {
                continue;
            }
            let target = QualifiedName::new(fk.ref_schema.clone(), fk.ref_table.clone());
            let Some(eid) = cx.schema.table(&target) else {
                continue;
            };
            let et = &cx.schema.tables[eid];
            if !et.is_enum {
                continue;
            }
            let pk_name = et.primary_key.first().map(|&c| et.columns[c].name.as_str());
            if pk_name != Some(fk.ref_columns[0].as_str()) {
                continue;
            }
            if let Some(cid) = table.column(&fk.columns[0]) {
                links.push((tid, cid, eid));
            }
        }
    }
    for (tid, cid, eid) in links {
        cx.schema.tables[tid].columns[cid].enum_table = Some(eid);
    }
}
