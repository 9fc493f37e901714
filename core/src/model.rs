//! The resolved schema core compiles against: tracked tables with their introspected columns,
//! relationships with explicit column mappings, computed fields, tracked functions and the
//! permissions of every role. Built by the `metadata` crate (raw Hasura metadata + database
//! introspection → `Schema`); core never sees raw metadata.
//!
//! Permission filters stay as [`Value`] trees in Hasura's boolean-expression syntax (with
//! `X-Hasura-*` strings for session variables); core interprets them with the same code that
//! interprets a GraphQL `where` argument, so the two can never disagree.
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::value::Value;

pub type TableId = usize;
pub type ColumnId = usize;
pub type FunctionId = usize;
pub type RoleName = String;

/// `schema.name` of a Postgres object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

/// A Postgres type as introspected: `name` is the type's name as `format_type` prints it without
/// modifiers for base types (`integer`, `text`, `timestamp with time zone`, `numeric`, `jsonb`,
/// `geometry`, `character varying`), and `udt` is `pg_type.typname` (`int4`, `text`, `timestamptz`,
/// `_int4` for arrays). `schema` is the type's namespace (`pg_catalog`, `public`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub udt: String,
    pub schema: String,
    /// For array types, the element type's `udt` (`int4` for `_int4`); `None` otherwise.
    pub element: Option<String>,
    /// `b` base, `e` enum, `d` domain, `c` composite, `r` range, `p` pseudo (pg_type.typtype).
    pub kind: char,
}

impl PgType {
    pub fn scalar(udt: &str) -> Self {
        PgType {
            udt: String::from(udt),
            schema: String::from("pg_catalog"),
            element: None,
            kind: 'b',
        }
    }
    pub fn is_array(&self) -> bool {
        self.element.is_some()
    }

    /// The GraphQL scalar name Hasura gives this type (`Int`, `String`, `bigint`, `timestamptz`,
    /// arrays as `_int4`).
    pub fn gql_scalar(&self) -> String {
        if self.element.is_some() {
            return alloc::format!("_{}", self.element.as_deref().unwrap_or(""));
        }
        String::from(match self.udt.as_str() {
            "int4" => "Int",
            "int2" => "smallint",
            "int8" => "bigint",
            "float4" => "Float",
            "float8" => "float8",
            "text" | "varchar" => "String",
            "bpchar" => "bpchar",
            "bool" => "Boolean",
            other => other,
        })
    }

    /// Whether Hasura's `--stringify-numeric-types` turns values of this type into JSON strings.
    pub fn is_big_number(&self) -> bool {
        // Hasura: "bigint, numeric, decimal and double precision" (money is numeric-like).
        matches!(self.udt.as_str(), "int8" | "numeric" | "float8" | "money")
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self.udt.as_str(),
            "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" | "money"
        )
    }

    pub fn is_geo(&self) -> bool {
        matches!(self.udt.as_str(), "geometry" | "geography")
    }

    pub fn is_json(&self) -> bool {
        matches!(self.udt.as_str(), "json" | "jsonb")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Postgres column name.
    pub name: String,
    /// GraphQL field name (custom_name / custom_column_names applied).
    pub gql_name: String,
    pub pg_type: PgType,
    pub nullable: bool,
    pub has_default: bool,
    /// Generated or identity-always column: not insertable.
    pub is_generated: bool,
    pub is_identity: bool,
    pub description: Option<String>,
    /// When the column references an enum table (`is_enum`), that table: the column's GraphQL
    /// type is the enum table's enum type.
    pub enum_table: Option<TableId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    Object,
    Array,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub name: String,
    pub kind: RelKind,
    pub target: TableId,
    /// Pairs (column of this table, column of the target) that must be equal.
    pub mapping: Vec<(ColumnId, ColumnId)>,
    pub comment: Option<String>,
    /// An object relationship through a foreign key of this table (`foreign_key_constraint_on`
    /// its own columns): when those columns are all NOT NULL the target row always exists, and
    /// Hasura types the field non-null. False for reverse foreign keys and manual mappings.
    pub local_fk: bool,
}

/// A relationship from a table to a field of a remote schema (Hasura's `to_remote_schema`
/// `{remote_schema, lhs_fields, remote_field}`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSchemaRelationship {
    pub name: String,
    /// The remote schema's name.
    pub remote: String,
    /// The table's fields the join reads (`lhs_fields`), in order: the join key.
    pub lhs: Vec<JoinField>,
    /// The remote's fields (its names) from its query root to the relationship's field, each
    /// with the arguments the relationship gives it; a value
    /// `Value::Variable(join_key_variable(i))` is the row's `lhs[i]` column.
    pub path: Vec<(String, Vec<(String, crate::value::Value)>)>,
    pub comment: Option<String>,
}

/// A field of a table a remote relationship's key reads.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinField {
    Column(ColumnId),
    /// A scalar computed field without arguments of its own (the row, maybe the session).
    Computed(String),
}

/// The name standing for the `i`-th join column in a [`RemoteSchemaRelationship`]'s arguments
/// (no GraphQL variable can have it).
pub fn join_key_variable(i: usize) -> String {
    alloc::format!("\u{0}key{i}")
}

/// One argument of a SQL function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionArg {
    /// `None` for unnamed arguments (exposed as `arg_1`, `arg_2`, … like Hasura).
    pub name: Option<String>,
    pub pg_type: PgType,
    pub has_default: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FunctionReturn {
    /// Returns a scalar (or array of scalars).
    Scalar(PgType),
    /// Returns rows of a tracked table; `set` for SETOF.
    Table { table: TableId, set: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComputedField {
    pub name: String,
    pub function: QualifiedName,
    pub args: Vec<FunctionArg>,
    /// Index in `args` of the argument that receives the row (Hasura's `table_argument`; default 0).
    pub table_argument: usize,
    /// Index in `args` of the argument that receives the session JSON (`session_argument`).
    pub session_argument: Option<usize>,
    pub returns: FunctionReturn,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposedAs {
    Query,
    Mutation,
}

/// A tracked SQL function exposed as a root field.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: QualifiedName,
    /// Root field name (custom_name applied); aggregate is `<gql_name>_aggregate` unless customised.
    pub gql_name: String,
    pub gql_aggregate_name: String,
    pub args: Vec<FunctionArg>,
    pub session_argument: Option<usize>,
    /// Tracked functions must return SETOF a tracked table, or a single row of one.
    pub returns: FunctionReturn,
    pub exposed_as: ExposedAs,
    /// `VOLATILE`, `STABLE` or `IMMUTABLE` as `v`/`s`/`i`.
    pub volatility: char,
    /// Roles given explicit function permissions.
    pub permissions: Vec<RoleName>,
    pub comment: Option<String>,
}

/// Names of the generated root fields of a table (custom_root_fields applied).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootFieldNames {
    pub select: String,
    pub select_by_pk: String,
    pub select_aggregate: String,
    pub insert: String,
    pub insert_one: String,
    pub update: String,
    pub update_by_pk: String,
    pub update_many: String,
    pub delete: String,
    pub delete_by_pk: String,
    /// `custom_root_fields` comments by root field kind (`select`, `select_by_pk`, …); they
    /// replace the default descriptions (`""`: no description).
    pub comments: BTreeMap<String, String>,
}

impl RootFieldNames {
    /// The description of the root field of `kind`: its comment, else `default`.
    pub fn description(&self, kind: &str, default: String) -> String {
        self.comments.get(kind).cloned().unwrap_or(default)
    }
}

/// Which columns a permission exposes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectPermission {
    pub columns: Vec<ColumnId>,
    pub computed_fields: Vec<String>,
    /// Boolean expression in Hasura's syntax (JSON-like). `Value::Object(vec![])` = no filter.
    pub filter: Value,
    pub limit: Option<u64>,
    pub allow_aggregations: bool,
    /// `None` = all root fields allowed; otherwise the subset of
    /// `select`, `select_by_pk`, `select_aggregate`, `select_stream`.
    pub query_root_fields: Option<Vec<String>>,
    pub subscription_root_fields: Option<Vec<String>>,
    /// Inherited roles only: a column visible through only some parent roles is NULL unless the
    /// row passes one of those roles' filters (Hasura's cell-level semantics). Absent = always.
    pub column_filters: BTreeMap<ColumnId, Value>,
    /// The same for scalar computed fields, by name.
    pub computed_field_filters: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InsertPermission {
    pub check: Value,
    pub columns: Vec<ColumnId>,
    /// Column presets: a literal value or an `X-Hasura-*` string.
    pub set: Vec<(ColumnId, Value)>,
    pub backend_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdatePermission {
    pub filter: Value,
    pub check: Option<Value>,
    pub columns: Vec<ColumnId>,
    pub set: Vec<(ColumnId, Value)>,
    pub backend_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeletePermission {
    pub filter: Value,
    pub backend_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Permissions {
    pub select: Option<SelectPermission>,
    pub insert: Option<InsertPermission>,
    pub update: Option<UpdatePermission>,
    pub delete: Option<DeletePermission>,
}

/// A row of an enum table (`is_enum: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// The row's value (what the column holds).
    pub value: String,
    /// Its GraphQL enum value name: `value`, upper-cased under the `graphql-default` naming
    /// convention (Hasura's `applyEnumValueCase`); inputs are mapped back to `value` and
    /// outputs upper-cased (`upper(... COLLATE "C")`, ASCII only like GraphQL names).
    pub name: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UniqueConstraint {
    pub name: String,
    pub columns: Vec<ColumnId>,
    pub is_primary: bool,
}

/// Which mutations Postgres allows on a relation (`pg_relation_is_updatable`): all for tables,
/// some or none for views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mutable {
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
}

impl Mutable {
    pub const ALL: Mutable = Mutable {
        insert: true,
        update: true,
        delete: true,
    };
    pub const NONE: Mutable = Mutable {
        insert: false,
        update: false,
        delete: false,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: QualifiedName,
    /// Base GraphQL type name (`author`, `hge_tests_author`, or `configuration.custom_name`).
    pub gql_name: String,
    pub root_fields: RootFieldNames,
    pub columns: Vec<Column>,
    /// Primary key columns in key order (empty: no `_by_pk` field).
    pub primary_key: Vec<ColumnId>,
    pub unique_constraints: Vec<UniqueConstraint>,
    pub relationships: Vec<Relationship>,
    /// Relationships to a table of another source (Hasura's `remote_relationships` with
    /// `to_source`): answered by a second statement on that source's database.
    pub remote_relationships: Vec<Relationship>,
    /// Relationships to a remote schema's field (Hasura's `to_remote_schema`): answered by one
    /// call to the remote for all the rows' distinct keys.
    pub remote_schema_relationships: Vec<RemoteSchemaRelationship>,
    pub computed_fields: Vec<ComputedField>,
    /// Role name → permissions (inherited roles already resolved to their effective permissions).
    pub permissions: BTreeMap<RoleName, Permissions>,
    /// `r` table, `v` view, `m` materialized view, `f` foreign table, `p` partitioned table.
    pub kind: char,
    /// Which mutations the relation supports.
    pub mutable: Mutable,
    pub is_enum: bool,
    /// For enum tables: their rows, in table order.
    pub enum_values: Vec<EnumValue>,
    pub description: Option<String>,
}

impl Table {
    /// Whether an enum table's GraphQL value names differ from its values (`graphql-default`).
    pub fn enum_values_renamed(&self) -> bool {
        self.enum_values.iter().any(|v| v.name != v.value)
    }
    pub fn column(&self, pg_name: &str) -> Option<ColumnId> {
        self.columns.iter().position(|c| c.name == pg_name)
    }
    pub fn column_by_gql(&self, gql_name: &str) -> Option<ColumnId> {
        self.columns.iter().position(|c| c.gql_name == gql_name)
    }
    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.iter().find(|r| r.name == name)
    }
    pub fn remote_relationship(&self, name: &str) -> Option<&Relationship> {
        self.remote_relationships.iter().find(|r| r.name == name)
    }
    pub fn remote_schema_relationship(&self, name: &str) -> Option<&RemoteSchemaRelationship> {
        self.remote_schema_relationships
            .iter()
            .find(|r| r.name == name)
    }
    pub fn computed_field(&self, name: &str) -> Option<&ComputedField> {
        self.computed_fields.iter().find(|c| c.name == name)
    }
}

/// Everything core needs from metadata, for one Postgres source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub functions: Vec<Function>,
    /// Inherited role → its parent roles (already folded into table permissions; kept for
    /// introspection and function permissions).
    pub inherited_roles: BTreeMap<RoleName, Vec<RoleName>>,
    /// Increases on every metadata change: part of the plan cache key.
    pub version: u64,
    /// The Postgres sources served side by side, in order (empty: one source, everything
    /// belongs to source 0). Each owns a contiguous range of `tables` and `functions`.
    pub sources: Vec<SourceInfo>,
    /// Roles that may not introspect (`graphql_schema_introspection.disabled_for_roles`).
    pub introspection_disabled: Vec<RoleName>,
    /// Custom types (`set_custom_types`) and actions (`create_action`), not tied to a source.
    pub custom_types: crate::actions::CustomTypes,
    pub actions: Vec<crate::actions::Action>,
    /// Remote schemas (`add_remote_schema`) whose root fields are served beside the sources'.
    pub remote_schemas: Vec<crate::remote_schemas::RemoteSchema>,
    /// Apollo federation (`HASURA_GRAPHQL_EXPERIMENTAL_FEATURES` has `apollo_federation`):
    /// the tables whose `apollo_federation_config` enables it (entities keyed by their
    /// primary key); `None`: off (no `_service` field).
    pub apollo_federation: Option<Vec<TableId>>,
}

/// One source of a schema serving several: its name and where its tables and functions end
/// (`tables[previous.tables_end..tables_end]`). Relationships never leave a source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceInfo {
    pub name: String,
    pub tables_end: usize,
    pub functions_end: usize,
    /// Namespace and type names (root field prefix/suffix are already in the names).
    pub customization: crate::customize::Customization,
}

impl Schema {
    /// The action whose root field is `name`.
    pub fn action(&self, name: &str) -> Option<&crate::actions::Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    pub fn table(&self, name: &QualifiedName) -> Option<TableId> {
        self.tables.iter().position(|t| &t.name == name)
    }

    /// The source (index in `sources`) a table belongs to.
    pub fn source_of_table(&self, t: TableId) -> usize {
        self.sources
            .iter()
            .position(|s| t < s.tables_end)
            .unwrap_or(0)
    }

    /// The source (index in `sources`) a tracked function belongs to.
    pub fn source_of_function(&self, f: FunctionId) -> usize {
        self.sources
            .iter()
            .position(|s| f < s.functions_end)
            .unwrap_or(0)
    }

    /// The source of the root field `name` (a table's or a tracked function's), `None` for
    /// names no source has (meta fields, unknown names).
    pub fn root_source(&self, name: &str) -> Option<usize> {
        if self.sources.len() < 2 {
            return None;
        }
        if let Some(s) = self
            .sources
            .iter()
            .position(|s| s.customization.namespace.as_deref() == Some(name))
        {
            return Some(s);
        }
        self.root_in(name, None)
    }

    /// The customization of table `t`'s source (`None`: the schema has no sources).
    pub fn customization_of_table(&self, t: TableId) -> Option<&crate::customize::Customization> {
        self.sources
            .get(self.source_of_table(t))
            .map(|s| &s.customization)
    }

    /// The namespace of a source (`None`: its root fields are at the root).
    pub fn namespace_of(&self, source: usize) -> Option<&str> {
        self.sources.get(source)?.customization.namespace.as_deref()
    }

    /// The customized name of a type source `source` generates.
    pub fn type_name(&self, source: usize, name: &str) -> String {
        match self.sources.get(source) {
            Some(s) if s.customization.renames_types() => s.customization.type_name(name),
            _ => String::from(name),
        }
    }

    /// The source of root field `name` among the tables and functions reachable under
    /// `scope` (a namespaced source's, or `None`: the sources without a namespace).
    fn root_in(&self, name: &str, scope: Option<usize>) -> Option<usize> {
        let visible = |s: usize| match scope {
            Some(x) => s == x,
            None => self.namespace_of(s).is_none(),
        };
        if let Some(t) = self.tables.iter().enumerate().position(|(i, t)| {
            if !visible(self.source_of_table(i)) {
                return false;
            }
            let r = &t.root_fields;
            [
                &r.select,
                &r.select_by_pk,
                &r.select_aggregate,
                &r.insert,
                &r.insert_one,
                &r.update,
                &r.update_by_pk,
                &r.update_many,
                &r.delete,
                &r.delete_by_pk,
            ]
            .iter()
            .any(|n| n.as_str() == name)
        }) {
            return Some(self.source_of_table(t));
        }
        self.functions
            .iter()
            .enumerate()
            .position(|(i, f)| {
                visible(self.source_of_function(i))
                    && (f.gql_name == name || f.gql_aggregate_name == name)
            })
            .map(|f| self.source_of_function(f))
    }

    /// Whether a tracked table or function of a source without a namespace has the root field
    /// `name` (of any operation).
    pub fn is_source_root_field(&self, name: &str) -> bool {
        self.root_in(name, None).is_some()
    }

    /// Whether a table's root fields are reachable under `scope` (see [`Schema::root_in`]).
    pub fn table_in_scope(&self, t: TableId, scope: Option<usize>) -> bool {
        let s = self.source_of_table(t);
        match scope {
            Some(x) => s == x,
            None => self.namespace_of(s).is_none(),
        }
    }

    /// Whether a function's root fields are reachable under `scope`.
    pub fn function_in_scope(&self, f: FunctionId, scope: Option<usize>) -> bool {
        let s = self.source_of_function(f);
        match scope {
            Some(x) => s == x,
            None => self.namespace_of(s).is_none(),
        }
    }
}
