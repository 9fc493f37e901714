//! Database introspection: what the Postgres catalog says about user tables, columns, keys,
//! foreign keys and functions, plus the rows of enum tables.
//!
//! Everything is read with ONE statement over `pg_catalog` that returns one JSON document
//! ([`INTROSPECTION_SQL`]), and (only when enum tables are tracked) one more statement that
//! reads their rows. The result, [`Catalog`], is plain serde data: it is stored next to the
//! metadata so that an edge isolate never has to introspect on a cold start.
//!
//! Schemas left out: `pg_catalog`, `information_schema`, `pg_toast*`, `pg_temp*`, and our own
//! `graphedge` / Hasura's `hdb_catalog`. Functions that belong to an extension (PostGIS installs
//! thousands into `public`) and trigger functions are left out too.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::db::{Database, DbError, Statement};
use crate::raw;

/// The introspected database.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Tables, views, materialized views, foreign and partitioned tables, by (schema, name).
    #[serde(default)]
    pub tables: Vec<CatalogTable>,
    /// User functions (`prokind = 'f'`), by (schema, name); overloads appear several times.
    #[serde(default)]
    pub functions: Vec<CatalogFunction>,
    /// Rows of the enum tables asked for (only those whose shape is a valid enum table).
    #[serde(default)]
    pub enums: Vec<CatalogEnum>,
    /// Every base type's `typname` (`pg_type.typtype = 'b'`, what Hasura reads for the
    /// Postgres scalars custom types and actions may use). Empty in catalogs stored before
    /// it was introspected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scalars: Vec<String>,
    /// The catalogs of the other sources (all but the served one), each as introspected
    /// through its connection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<SourceCatalog>,
    /// Each remote schema's introspection (the `__schema` of
    /// [`crate::INTROSPECTION_QUERY`]'s answer) by name, as last fetched by
    /// `add_remote_schema`, `update_remote_schema`, `reload_remote_schema`, `reload_metadata`
    /// or `replace_metadata`: loading never needs the remote.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_schemas: BTreeMap<String, Json>,
    /// Why a remote schema's last introspection failed (it is then inconsistent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_schema_errors: BTreeMap<String, String>,
    /// The definition (`url`, headers, ...) each remote schema was last introspected with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_schema_definitions: BTreeMap<String, Json>,
}

/// The catalog of a source other than the served one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SourceCatalog {
    pub source: String,
    /// The connection key it was introspected through (`sources::Connection::key`).
    pub key: String,
    /// Why the source could not be introspected (its connection does not resolve, the
    /// database is unreachable): the source is then inconsistent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub catalog: Catalog,
}

impl Catalog {
    /// Moves the remote schemas' introspections of `from` into this (fresh) catalog.
    pub fn keep_remote_schemas(&mut self, from: &mut Catalog) {
        self.remote_schemas = std::mem::take(&mut from.remote_schemas);
        self.remote_schema_errors = std::mem::take(&mut from.remote_schema_errors);
        self.remote_schema_definitions = std::mem::take(&mut from.remote_schema_definitions);
    }

    /// Forgets the remote schemas whose names `keep` does not accept. Whether it changed.
    pub fn retain_remote_schemas(&mut self, keep: impl Fn(&str) -> bool) -> bool {
        let before = (
            self.remote_schemas.len(),
            self.remote_schema_errors.len(),
            self.remote_schema_definitions.len(),
        );
        self.remote_schemas.retain(|k, _| keep(k));
        self.remote_schema_errors.retain(|k, _| keep(k));
        self.remote_schema_definitions.retain(|k, _| keep(k));
        before
            != (
                self.remote_schemas.len(),
                self.remote_schema_errors.len(),
                self.remote_schema_definitions.len(),
            )
    }

    /// The catalog of the other source `name`.
    pub fn other(&self, name: &str) -> Option<&SourceCatalog> {
        self.others.iter().find(|o| o.source == name)
    }

    pub fn table(&self, schema: &str, name: &str) -> Option<&CatalogTable> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }
    /// All overloads of a function.
    pub fn functions_named(&self, schema: &str, name: &str) -> Vec<&CatalogFunction> {
        self.functions
            .iter()
            .filter(|f| f.schema == schema && f.name == name)
            .collect()
    }
    pub fn enum_values(&self, schema: &str, name: &str) -> Option<&CatalogEnum> {
        self.enums
            .iter()
            .find(|e| e.schema == schema && e.name == name)
    }
}

/// A Postgres type reference. Domains are reported as their base type.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogType {
    /// `pg_type.typname` (`int4`, `text`, `_int4`, `geometry`).
    pub udt: String,
    /// The type's schema (`pg_catalog`, `public`, …).
    pub schema: String,
    /// For arrays, the element's `typname`.
    #[serde(default)]
    pub element: Option<String>,
    /// `pg_type.typtype`: `b` base, `e` enum, `c` composite, `r` range, `p` pseudo, `m` multirange.
    pub kind: String,
}

impl CatalogType {
    /// The core crate's view of the type.
    pub fn to_pg_type(&self) -> graphedge_core::model::PgType {
        graphedge_core::model::PgType {
            udt: self.udt.clone(),
            schema: self.schema.clone(),
            element: self.element.clone(),
            kind: self.kind.chars().next().unwrap_or('b'),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CatalogTable {
    /// `pg_class.oid` (0: not known, a catalog stored before it was read): `run_sql` follows
    /// renames by it.
    #[serde(default)]
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`: `r` table, `v` view, `m` materialized view, `f` foreign, `p` partitioned.
    pub kind: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// In `attnum` order.
    #[serde(default)]
    pub columns: Vec<CatalogColumn>,
    #[serde(default)]
    pub primary_key: Option<CatalogConstraint>,
    #[serde(default)]
    pub unique_constraints: Vec<CatalogConstraint>,
    #[serde(default)]
    pub foreign_keys: Vec<CatalogForeignKey>,
    /// `pg_relation_is_updatable(oid, true)`: 8 insert, 4 update, 16 delete (28 for tables).
    #[serde(default = "all_updatable")]
    pub updatable: i32,
}

fn all_updatable() -> i32 {
    28
}

impl CatalogTable {
    pub fn column(&self, name: &str) -> Option<&CatalogColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CatalogColumn {
    /// `pg_attribute.attnum` (0: not known).
    #[serde(default)]
    pub attnum: i16,
    pub name: String,
    #[serde(rename = "type")]
    pub pg_type: CatalogType,
    pub nullable: bool,
    pub has_default: bool,
    /// `GENERATED ALWAYS AS (…) STORED`.
    #[serde(default)]
    pub is_generated: bool,
    /// `GENERATED … AS IDENTITY`.
    #[serde(default)]
    pub is_identity: bool,
    /// `a` for `GENERATED ALWAYS AS IDENTITY`, `d` for `BY DEFAULT`, empty otherwise.
    #[serde(default)]
    pub identity: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A primary key or unique constraint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogConstraint {
    pub name: String,
    /// Column names in key order.
    pub columns: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogForeignKey {
    pub name: String,
    /// Columns of this table, in key order.
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    /// Referenced columns, pairwise with `columns`.
    pub ref_columns: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CatalogFunction {
    pub schema: String,
    pub name: String,
    /// Every argument (`proallargtypes` when there are OUT arguments), in declaration order.
    #[serde(default)]
    pub args: Vec<CatalogFunctionArg>,
    /// `pronargdefaults`: the last this-many input arguments have defaults.
    #[serde(default)]
    pub num_defaults: usize,
    pub return_type: CatalogType,
    pub returns_set: bool,
    /// When the return type is the row type of a table/view: that relation (schema, name).
    #[serde(default)]
    pub return_table: Option<CatalogRelationRef>,
    /// `provolatile`: `v`, `s` or `i`.
    pub volatility: String,
    #[serde(default)]
    pub comment: Option<String>,
}

impl CatalogFunction {
    /// The input arguments (modes `i`, `b`, `v`), each with whether it has a default.
    pub fn input_args(&self) -> Vec<&CatalogFunctionArg> {
        self.args.iter().filter(|a| a.is_input()).collect()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogRelationRef {
    pub schema: String,
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CatalogFunctionArg {
    /// `None` for unnamed arguments.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub pg_type: CatalogType,
    /// `proargmodes`: `i` in, `o` out, `b` inout, `v` variadic, `t` table.
    pub mode: String,
    /// Computed from `pronargdefaults` (input arguments only).
    #[serde(default)]
    pub has_default: bool,
}

impl CatalogFunctionArg {
    pub fn is_input(&self) -> bool {
        matches!(self.mode.as_str(), "i" | "b" | "v")
    }
}

/// The rows of one enum table.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogEnum {
    pub schema: String,
    pub name: String,
    /// In table order.
    pub values: Vec<CatalogEnumValue>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogEnumValue {
    pub value: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The introspection statement: no parameters, one row, one `json` column.
pub const INTROSPECTION_SQL: &str = r#"
WITH
  user_ns AS (
    SELECT oid, nspname FROM pg_catalog.pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'graphedge', 'hdb_catalog')
      AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
  ),
  types AS NOT MATERIALIZED (
    -- every type, domains replaced by their base type
    SELECT t.oid,
           json_build_object(
             'udt', b.typname,
             'schema', bn.nspname,
             'element', CASE WHEN b.typcategory = 'A' THEN e.typname END,
             'kind', b.typtype
           ) AS info
    FROM pg_catalog.pg_type t
    JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
    JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
    LEFT JOIN pg_catalog.pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
  ),
  rels AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_catalog.pg_class c JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
  ),
  ext_procs AS (
    SELECT objid FROM pg_catalog.pg_depend
    WHERE classid = 'pg_catalog.pg_proc'::regclass AND deptype = 'e'
  ),
  procs AS (
    SELECT p.*, n.nspname
    FROM pg_catalog.pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
    WHERE p.prokind = 'f'
      AND p.prorettype NOT IN ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
      AND p.oid NOT IN (SELECT objid FROM ext_procs)
  )
SELECT json_build_object(
  'tables', COALESCE((
    SELECT json_agg(json_build_object(
      'oid', r.oid::bigint,
      'schema', r.nspname,
      'name', r.relname,
      'kind', r.relkind,
      'updatable', pg_catalog.pg_relation_is_updatable(r.oid::regclass, true),
      'comment', pg_catalog.obj_description(r.oid, 'pg_class'),
      'columns', COALESCE((
        SELECT json_agg(json_build_object(
          'attnum', a.attnum,
          'name', a.attname,
          'type', ty.info,
          'nullable', NOT a.attnotnull,
          'has_default', a.atthasdef OR a.attidentity IN ('a', 'd'),
          'is_generated', a.attgenerated = 's',
          'is_identity', a.attidentity IN ('a', 'd'),
          'identity', CASE WHEN a.attidentity IN ('a', 'd') THEN a.attidentity::text ELSE '' END,
          'comment', pg_catalog.col_description(a.attrelid, a.attnum)
        ) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a JOIN types ty ON ty.oid = a.atttypid
        WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      ), '[]'::json),
      'primary_key', (
        SELECT json_build_object(
          'name', k.conname,
          'columns', (
            SELECT json_agg(a.attname ORDER BY u.ord)
            FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = u.attnum
          ))
        FROM pg_catalog.pg_constraint k
        WHERE k.conrelid = r.oid AND k.contype = 'p'
        LIMIT 1
      ),
      'unique_constraints', COALESCE((
        SELECT json_agg(json_build_object(
          'name', k.conname,
          'columns', (
            SELECT json_agg(a.attname ORDER BY u.ord)
            FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = u.attnum
          )) ORDER BY k.conname)
        FROM pg_catalog.pg_constraint k
        WHERE k.conrelid = r.oid AND k.contype = 'u'
      ), '[]'::json),
      'foreign_keys', COALESCE((
        SELECT json_agg(json_build_object(
          'name', k.conname,
          'columns', (
            SELECT json_agg(a.attname ORDER BY u.ord)
            FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
          ),
          'ref_schema', fn.nspname,
          'ref_table', fc.relname,
          'ref_columns', (
            SELECT json_agg(a.attname ORDER BY u.ord)
            FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
          )) ORDER BY k.conname)
        FROM pg_catalog.pg_constraint k
        JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid
        JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
        WHERE k.conrelid = r.oid AND k.contype = 'f'
      ), '[]'::json)
    ) ORDER BY r.nspname, r.relname)
    FROM rels r
  ), '[]'::json),
  'functions', COALESCE((
    SELECT json_agg(json_build_object(
      'schema', p.nspname,
      'name', p.proname,
      'args', COALESCE((
        SELECT json_agg(json_build_object(
          'name', NULLIF(p.proargnames[u.ord], ''),
          'type', ty.info,
          'mode', COALESCE(p.proargmodes[u.ord]::text, 'i')
        ) ORDER BY u.ord)
        FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[]))
               WITH ORDINALITY AS u(typ, ord)
        JOIN types ty ON ty.oid = u.typ
      ), '[]'::json),
      'num_defaults', p.pronargdefaults,
      'return_type', rt.info,
      'returns_set', p.proretset,
      'return_table', (
        SELECT json_build_object('schema', rn.nspname, 'name', rc.relname)
        FROM pg_catalog.pg_type t
        JOIN pg_catalog.pg_class rc ON rc.oid = t.typrelid
        JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE t.oid = p.prorettype AND t.typtype = 'c' AND rc.relkind IN ('r', 'v', 'm', 'f', 'p')
      ),
      'volatility', p.provolatile,
      'comment', pg_catalog.obj_description(p.oid, 'pg_proc')
    ) ORDER BY p.nspname, p.proname, p.oid)
    FROM procs p JOIN types rt ON rt.oid = p.prorettype
  ), '[]'::json),
  'scalars', COALESCE((
    SELECT json_agg(DISTINCT t.typname ORDER BY t.typname)
    FROM pg_catalog.pg_type t WHERE t.typtype = 'b'
  ), '[]'::json)
)::text
"#;

/// Quotes an identifier for SQL (`"a""b"`). The only way identifiers enter SQL text here.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Introspects the database, then reads the rows of the given enum tables.
pub async fn introspect(
    db: &impl Database,
    enum_tables: &[raw::QualifiedTable],
) -> Result<Catalog, DbError> {
    let stmt = Statement {
        sql: INTROSPECTION_SQL.to_string(),
        params: vec![],
    };
    let text = db.query_one(&stmt).await?.ok_or_else(|| DbError {
        message: "introspection returned no row".into(),
        ..Default::default()
    })?;
    let mut catalog = parse_catalog(&text)?;
    let targets: Vec<(String, String)> = enum_tables
        .iter()
        .map(|t| (t.schema.to_string(), t.name.to_string()))
        .collect();
    if let Some(stmt) = enum_values_statement(&catalog, &targets) {
        let text = db.query_one(&stmt.0).await?.unwrap_or_else(|| "[]".into());
        catalog.enums = parse_enum_rows(&text, &stmt.1)?;
    }
    Ok(catalog)
}

/// Parses the introspection document and fills in derived fields (argument defaults).
pub fn parse_catalog(text: &str) -> Result<Catalog, DbError> {
    let mut catalog: Catalog = serde_json::from_str(text).map_err(|e| DbError {
        message: format!("cannot decode the introspection result: {e}"),
        ..Default::default()
    })?;
    for f in &mut catalog.functions {
        let n_inputs = f.args.iter().filter(|a| a.is_input()).count();
        let first_default = n_inputs.saturating_sub(f.num_defaults);
        let mut i = 0;
        for a in f.args.iter_mut() {
            if a.is_input() {
                a.has_default = i >= first_default;
                i += 1;
            }
        }
    }
    Ok(catalog)
}

/// Hasura's name of a scalar type in messages (`integer`, `text`, …).
fn scalar_type_txt(t: &CatalogType) -> String {
    match t.udt.as_str() {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "bpchar" => "bpchar",
        "timestamptz" => "timestamp with time zone",
        "timestamp" => "timestamp without time zone",
        "timetz" => "time with time zone",
        other => other,
    }
    .to_string()
}

fn is_text(t: &CatalogType) -> bool {
    t.udt == "text" && t.schema == "pg_catalog"
}

/// The value and comment columns of a valid enum table: a single-column `text` primary key and
/// at most one other column, of type `text`. `Err` carries Hasura's reason (the part after
/// "the table \"t\" cannot be used as an enum because ").
pub fn enum_shape(table: &CatalogTable) -> Result<(String, Option<String>), String> {
    let pk = match &table.primary_key {
        Some(pk) if pk.columns.len() == 1 => pk.columns[0].clone(),
        Some(pk) => {
            let mut cols = pk.columns.clone();
            cols.sort();
            return Err(format!(
                "the table\u{2019}s primary key must not span multiple columns ({})",
                cols.join(", ")
            ));
        }
        None => return Err("the table must have a primary key".into()),
    };
    let pk_col = table
        .column(&pk)
        .ok_or_else(|| "the table must have a primary key".to_string())?;
    if !is_text(&pk_col.pg_type) {
        return Err(format!(
            "the table\u{2019}s primary key ({pk:?}) must have type \"text\", not type {:?}",
            scalar_type_txt(&pk_col.pg_type)
        ));
    }
    let others: Vec<&CatalogColumn> = table.columns.iter().filter(|c| c.name != pk).collect();
    match others.as_slice() {
        [] => Ok((pk, None)),
        [c] if is_text(&c.pg_type) => Ok((pk, Some(c.name.clone()))),
        [c] => Err(format!(
            "the table\u{2019}s comment column ({:?}) must have type \"text\", not type {:?}",
            c.name,
            scalar_type_txt(&c.pg_type)
        )),
        cols => {
            let mut names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            names.sort();
            Err(format!(
                "the table must have exactly one primary key and optionally one comment column, not {} columns ({})",
                names.len(),
                names.join(", ")
            ))
        }
    }
}

/// Builds the statement reading the rows of every valid enum table among `targets`, with the
/// (schema, name) of each, in the order of the result document's array.
fn enum_values_statement(
    catalog: &Catalog,
    targets: &[(String, String)],
) -> Option<(Statement, Vec<(String, String)>)> {
    let mut parts = Vec::new();
    let mut order = Vec::new();
    for (schema, name) in targets {
        if order
            .iter()
            .any(|o: &(String, String)| o.0 == *schema && o.1 == *name)
        {
            continue;
        }
        let Some(table) = catalog.table(schema, name) else {
            continue;
        };
        let Ok((value, comment)) = enum_shape(table) else {
            continue;
        };
        let comment_sql = match &comment {
            Some(c) => format!("{}::text", quote_ident(c)),
            None => "NULL::text".into(),
        };
        parts.push(format!(
            "COALESCE((SELECT json_agg(json_build_array({}::text, {})) FROM {}.{}), '[]'::json)",
            quote_ident(&value),
            comment_sql,
            quote_ident(schema),
            quote_ident(name)
        ));
        order.push((schema.clone(), name.clone()));
    }
    if parts.is_empty() {
        return None;
    }
    let sql = format!("SELECT json_build_array({})::text", parts.join(", "));
    Some((
        Statement {
            sql,
            params: vec![],
        },
        order,
    ))
}

fn parse_enum_rows(text: &str, order: &[(String, String)]) -> Result<Vec<CatalogEnum>, DbError> {
    let rows: Vec<Vec<(String, Option<String>)>> =
        serde_json::from_str(text).map_err(|e| DbError {
            message: format!("cannot decode enum table rows: {e}"),
            ..Default::default()
        })?;
    Ok(order
        .iter()
        .zip(rows)
        .map(|((schema, name), rows)| CatalogEnum {
            schema: schema.clone(),
            name: name.clone(),
            values: rows
                .into_iter()
                .map(|(value, comment)| CatalogEnumValue { value, comment })
                .collect(),
        })
        .collect())
}
