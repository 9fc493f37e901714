//! The serde model of Hasura v2 metadata, as `export_metadata` writes it (version 3).
//!
//! Every type mirrors Hasura's JSON exactly: field names, which keys are omitted when empty or
//! default (`skip_serializing_if`), and every key we do not model (network, backend configs,
//! ...) kept as raw JSON in an `extra` map, so that
//! `export_metadata` → `replace_metadata` round-trips losslessly.
//!
//! Qualified names accept both `"name"` (schema `public`) and `{"schema", "name"}` on input and
//! are always written as objects. Boolean expressions (filters, checks) stay `serde_json::Value`;
//! the resolver interprets them.
//!
//! Older metadata versions (1 and 2: top-level `tables`/`functions`, no `sources`) are accepted by
//! [`Metadata::from_json`], which upgrades them to version 3 with one source `default`.
pub mod actions;
mod actions_sdl;
mod api_limits;
pub mod remote_schemas;
mod scheduled;
mod yaml;

pub use actions::{ActionMetadata, CustomTypes};
pub use api_limits::{ApiLimits, Count, Limit, RateLimitConfig, Seconds, UniqueParams};
pub use remote_schemas::{RemoteSchemaDef, RemoteSchemaMetadata, RemoteSchemaPermission};
pub use scheduled::{CronTrigger, HeaderConf, RetryConfSt};

pub use yaml::{from_yaml_dir, to_yaml_dir, YamlError};

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

/// Extra keys we keep verbatim (in input order).
pub type Extra = IndexMap<String, Json>;

fn is_false(b: &bool) -> bool {
    !*b
}
fn default_version() -> u32 {
    3
}
fn default_kind() -> String {
    "postgres".to_string()
}
fn default_schema() -> String {
    "public".to_string()
}
fn empty_object() -> Json {
    Json::Object(Default::default())
}
fn is_empty_object(v: &Json) -> bool {
    matches!(v, Json::Object(m) if m.is_empty())
}
fn is_null_or_empty_object(v: &Json) -> bool {
    v.is_null() || is_empty_object(v)
}

// ---------------------------------------------------------------------------------------------
// Names

/// `{"schema": "public", "name": "author"}`; on input also the bare string `"author"`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedTable {
    pub schema: String,
    pub name: String,
}

/// Functions are named like tables.
pub type QualifiedFunction = QualifiedTable;

impl QualifiedTable {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedTable {
            schema: schema.into(),
            name: name.into(),
        }
    }
    /// `schema.name`, Hasura's text form in error messages (`public.author`).
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

impl std::fmt::Display for QualifiedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

impl<'de> Deserialize<'de> for QualifiedTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Obj {
            #[serde(default = "default_schema")]
            schema: String,
            name: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Obj(Obj),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a table/function name (string or {schema, name})")
        })? {
            Repr::Name(name) => Ok(QualifiedTable {
                schema: default_schema(),
                name,
            }),
            Repr::Obj(o) => Ok(QualifiedTable {
                schema: o.schema,
                name: o.name,
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Top level

/// The whole metadata document (`export_metadata`, version 3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Metadata {
    #[serde(default = "default_version")]
    pub version: u32,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// `add_remote_schema` (see [`remote_schemas`]); Hasura exports them after the sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_schemas: Vec<RemoteSchemaMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_collections: Vec<QueryCollection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist: Vec<AllowlistEntry>,
    /// `create_action` (see [`actions`]); Hasura exports them after the allowlist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionMetadata>,
    /// `set_custom_types` (absent while there are none).
    #[serde(default, skip_serializing_if = "CustomTypes::is_empty")]
    pub custom_types: CustomTypes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherited_roles: Vec<InheritedRole>,
    /// `create_rest_endpoint` (see [`crate::rest`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rest_endpoints: Vec<RestEndpoint>,
    /// All cron triggers, also those with `include_in_metadata: false` (stored, not exported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cron_triggers: Vec<CronTrigger>,
    /// `set_api_limits` (absent after `remove_api_limits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_limits: Option<ApiLimits>,
    /// `set_graphql_schema_introspection_options` (absent while no role is listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphql_schema_introspection: Option<IntrospectionOptions>,
    /// network, backend_configs, ... verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            version: 3,
            sources: Vec::new(),
            remote_schemas: Vec::new(),
            query_collections: Vec::new(),
            allowlist: Vec::new(),
            actions: Vec::new(),
            custom_types: CustomTypes::default(),
            inherited_roles: Vec::new(),
            rest_endpoints: Vec::new(),
            cron_triggers: Vec::new(),
            api_limits: None,
            graphql_schema_introspection: None,
            extra: Extra::new(),
        }
    }
}

/// `graphql_schema_introspection`: the roles whose introspection queries are refused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct IntrospectionOptions {
    #[serde(default)]
    pub disabled_for_roles: Vec<String>,
}

/// One database (`sources[]`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Source {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub tables: Vec<TableMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionMetadata>,
    /// Connection configuration, verbatim (`{"connection_info": {...}}`).
    #[serde(default = "empty_object")]
    pub configuration: Json,
    /// customization, health_check, logical_models, native_queries, ... verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Source {
    /// An empty Postgres source.
    pub fn new(name: impl Into<String>, configuration: Json) -> Self {
        Source {
            name: name.into(),
            kind: default_kind(),
            tables: Vec::new(),
            functions: Vec::new(),
            configuration,
            extra: Extra::new(),
        }
    }
    pub fn table(&self, t: &QualifiedTable) -> Option<&TableMetadata> {
        self.tables.iter().find(|x| &x.table == t)
    }
    pub fn table_mut(&mut self, t: &QualifiedTable) -> Option<&mut TableMetadata> {
        self.tables.iter_mut().find(|x| &x.table == t)
    }
    pub fn function(&self, f: &QualifiedFunction) -> Option<&FunctionMetadata> {
        self.functions.iter().find(|x| &x.function == f)
    }
    pub fn function_mut(&mut self, f: &QualifiedFunction) -> Option<&mut FunctionMetadata> {
        self.functions.iter_mut().find(|x| &x.function == f)
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

/// One tracked table or view (`sources[].tables[]`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TableMetadata {
    pub table: QualifiedTable,
    #[serde(default, skip_serializing_if = "TableConfig::is_empty")]
    pub configuration: TableConfig,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_enum: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub array_relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_fields: Vec<ComputedField>,
    /// Kept verbatim (not served yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_relationships: Vec<Json>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insert_permissions: Vec<PermissionEntry<InsertPermission>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select_permissions: Vec<PermissionEntry<SelectPermission>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub update_permissions: Vec<PermissionEntry<UpdatePermission>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_permissions: Vec<PermissionEntry<DeletePermission>>,
    /// Kept verbatim (event triggers are a later issue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_triggers: Vec<Json>,
    /// apollo_federation_config, ... verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TableMetadata {
    /// A freshly tracked table with nothing configured.
    pub fn new(table: QualifiedTable) -> Self {
        TableMetadata {
            table,
            configuration: TableConfig::default(),
            is_enum: false,
            object_relationships: Vec::new(),
            array_relationships: Vec::new(),
            computed_fields: Vec::new(),
            remote_relationships: Vec::new(),
            insert_permissions: Vec::new(),
            select_permissions: Vec::new(),
            update_permissions: Vec::new(),
            delete_permissions: Vec::new(),
            event_triggers: Vec::new(),
            extra: Extra::new(),
        }
    }
}

/// `configuration` of a table: GraphQL names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct TableConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[serde(default, skip_serializing_if = "CustomRootFields::is_empty")]
    pub custom_root_fields: CustomRootFields,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub column_config: IndexMap<String, ColumnConfig>,
    /// Legacy form of `column_config.<col>.custom_name`; the resolver merges both.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom_column_names: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl TableConfig {
    pub fn is_empty(&self) -> bool {
        self == &TableConfig::default()
    }
    /// The GraphQL name of a column: `column_config` first, then `custom_column_names`.
    pub fn column_name(&self, column: &str) -> Option<&str> {
        self.column_config
            .get(column)
            .and_then(|c| c.custom_name.as_deref())
            .or_else(|| self.custom_column_names.get(column).map(|s| s.as_str()))
    }
}

/// A root field name override: Hasura accepts `"name"` or `{"name": .., "comment": ..}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum RootFieldName {
    Name(String),
    Custom {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

impl RootFieldName {
    pub fn name(&self) -> Option<&str> {
        match self {
            RootFieldName::Name(n) => Some(n),
            RootFieldName::Custom { name, .. } => name.as_deref(),
        }
    }
    pub fn comment(&self) -> Option<&str> {
        match self {
            RootFieldName::Name(_) => None,
            RootFieldName::Custom { comment, .. } => comment.as_deref(),
        }
    }
}

/// `custom_root_fields` of a table (a `null` value means "default", like an absent one).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CustomRootFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_by_pk: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_aggregate: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_stream: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_one: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_by_pk: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_many: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<RootFieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_by_pk: Option<RootFieldName>,
}

impl CustomRootFields {
    pub fn is_empty(&self) -> bool {
        self == &CustomRootFields::default()
    }
}

/// `column_config.<column>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ColumnConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Relationships

/// An object or array relationship.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Relationship {
    pub name: String,
    pub using: RelUsing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `using`: exactly one of the two is set (the API validates that).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct RelUsing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_key_constraint_on: Option<FkOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_configuration: Option<ManualConfig>,
}

/// `foreign_key_constraint_on`:
/// - object relationship, FK on this table: `"author_id"` or `["a", "b"]`;
/// - object relationship, FK on the remote table, and every array relationship:
///   `{"table": .., "column": ..}` or `{"table": .., "columns": [..]}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum FkOn {
    Column(String),
    Columns(Vec<String>),
    Remote(RemoteFk),
}

/// The remote form of `foreign_key_constraint_on`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RemoteFk {
    pub table: QualifiedTable,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A list, or (as Hasura also accepts) a single column name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_list"
    )]
    pub columns: Option<Vec<String>>,
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(l) => l,
    }))
}

impl RemoteFk {
    /// `column` or `columns`, as one list.
    pub fn column_list(&self) -> Vec<String> {
        match (&self.column, &self.columns) {
            (Some(c), _) => vec![c.clone()],
            (None, Some(cs)) => cs.clone(),
            (None, None) => Vec::new(),
        }
    }
}

/// `manual_configuration`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ManualConfig {
    pub remote_table: QualifiedTable,
    /// local column → remote column, in order.
    pub column_mapping: IndexMap<String, String>,
    /// `"before_parent"` / `"after_parent"` (object relationships, for nested inserts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_order: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Computed fields

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ComputedField {
    pub name: String,
    pub definition: ComputedFieldDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ComputedFieldDefinition {
    pub function: QualifiedFunction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_argument: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_argument: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Permissions

/// `{"role": .., "permission": {..}, "comment": ..}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PermissionEntry<P> {
    pub role: String,
    pub permission: P,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A column list: `"*"` (all columns) or explicit names.
#[derive(Clone, Debug, PartialEq)]
pub enum Columns {
    All,
    List(Vec<String>),
}

impl Default for Columns {
    fn default() -> Self {
        Columns::List(Vec::new())
    }
}

impl Columns {
    /// The explicit list, or `None` for `"*"`.
    pub fn list(&self) -> Option<&[String]> {
        match self {
            Columns::All => None,
            Columns::List(l) => Some(l),
        }
    }
    /// Whether `column` is allowed.
    pub fn contains(&self, column: &str) -> bool {
        match self {
            Columns::All => true,
            Columns::List(l) => l.iter().any(|c| c == column),
        }
    }
}

impl Serialize for Columns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Columns::All => s.serialize_str("*"),
            Columns::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Star(String),
            List(Vec<String>),
        }
        match Repr::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected \"*\" or a list of column names"))?
        {
            Repr::Star(s) if s == "*" => Ok(Columns::All),
            Repr::Star(s) => Err(serde::de::Error::custom(format!(
                "expected \"*\" or a list of column names, got \"{s}\""
            ))),
            Repr::List(l) => Ok(Columns::List(l)),
        }
    }
}

/// Same as [`Columns`] for computed fields of a select permission.
pub type ComputedFieldList = Vec<String>;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SelectPermission {
    pub columns: Columns,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_fields: ComputedFieldList,
    #[serde(default = "empty_object")]
    pub filter: Json,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_aggregations: bool,
    /// `None` = all root fields (`select`, `select_by_pk`, `select_aggregate`, `select_stream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_root_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_root_fields: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InsertPermission {
    #[serde(default = "empty_object")]
    pub check: Json,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub set: IndexMap<String, Json>,
    /// Hasura treats a missing `columns` key of an insert permission as all columns.
    #[serde(default = "all_columns")]
    pub columns: Columns,
    #[serde(default, skip_serializing_if = "is_false")]
    pub backend_only: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

fn all_columns() -> Columns {
    Columns::All
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UpdatePermission {
    #[serde(default)]
    pub columns: Columns,
    #[serde(default = "empty_object")]
    pub filter: Json,
    /// Post-update check; `None` = none.
    #[serde(default, skip_serializing_if = "is_null_or_empty_option")]
    pub check: Option<Json>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub set: IndexMap<String, Json>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub backend_only: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

fn is_null_or_empty_option(v: &Option<Json>) -> bool {
    v.as_ref().is_none_or(is_null_or_empty_object_ref)
}
fn is_null_or_empty_object_ref(v: &Json) -> bool {
    is_null_or_empty_object(v)
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeletePermission {
    #[serde(default = "empty_object")]
    pub filter: Json,
    #[serde(default, skip_serializing_if = "is_false")]
    pub backend_only: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Functions

/// One tracked SQL function (`sources[].functions[]`).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct FunctionMetadata {
    pub function: QualifiedFunction,
    #[serde(default, skip_serializing_if = "FunctionConfig::is_empty")]
    pub configuration: FunctionConfig,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<FunctionPermission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl FunctionMetadata {
    pub fn new(function: QualifiedFunction) -> Self {
        FunctionMetadata {
            function,
            configuration: FunctionConfig::default(),
            permissions: Vec::new(),
            comment: None,
        }
    }
}

/// Accepts `{function, configuration?, permissions?, comment?}` and, from version 1 metadata,
/// a bare function name (`"f"` or `{schema, name}`).
impl<'de> Deserialize<'de> for FunctionMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Full {
            function: QualifiedFunction,
            #[serde(default)]
            configuration: FunctionConfig,
            #[serde(default)]
            permissions: Vec<FunctionPermission>,
            #[serde(default)]
            comment: Option<String>,
        }
        let v = Json::deserialize(d)?;
        if let Json::Object(m) = &v {
            if m.contains_key("function") {
                let f: Full = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
                return Ok(FunctionMetadata {
                    function: f.function,
                    configuration: f.configuration,
                    permissions: f.permissions,
                    comment: f.comment,
                });
            }
        }
        let name: QualifiedFunction =
            serde_json::from_value(v).map_err(serde::de::Error::custom)?;
        Ok(FunctionMetadata::new(name))
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct FunctionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[serde(default, skip_serializing_if = "FunctionRootFields::is_empty")]
    pub custom_root_fields: FunctionRootFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_argument: Option<String>,
    /// `"query"` or `"mutation"`; `None` = Hasura's default (query for STABLE/IMMUTABLE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_as: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl FunctionConfig {
    pub fn is_empty(&self) -> bool {
        self == &FunctionConfig::default()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct FunctionRootFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_aggregate: Option<String>,
}

impl FunctionRootFields {
    pub fn is_empty(&self) -> bool {
        self.function.is_none() && self.function_aggregate.is_none()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FunctionPermission {
    pub role: String,
}

// ---------------------------------------------------------------------------------------------
// Roles, query collections, allowlist

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InheritedRole {
    pub role_name: String,
    pub role_set: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct QueryCollection {
    pub name: String,
    pub definition: CollectionDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CollectionDefinition {
    #[serde(default)]
    pub queries: Vec<CollectionQuery>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CollectionQuery {
    pub name: String,
    pub query: String,
}

/// A REST endpoint (`rest_endpoints[]`): a query of a collection served at `/api/rest/<url>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RestEndpoint {
    pub definition: RestDefinition,
    /// `path/:variable/...`, without a leading slash.
    pub url: String,
    pub methods: Vec<String>,
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RestDefinition {
    pub query: RestQuery,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RestQuery {
    pub collection_name: String,
    pub query_name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AllowlistEntry {
    pub collection: String,
    /// Absent means global (exports always show it, like Hasura).
    #[serde(default)]
    pub scope: AllowlistScope,
}

/// `{"global": true}` or `{"global": false, "roles": [..]}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AllowlistScope {
    #[serde(default = "default_true")]
    pub global: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl Default for AllowlistScope {
    fn default() -> Self {
        AllowlistScope {
            global: true,
            roles: None,
        }
    }
}

fn default_true() -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// Versions

impl Metadata {
    /// Parses metadata of any version (1, 2, 3). Versions 1 and 2 (top-level `tables` and
    /// `functions`) become version 3 with one source `default` whose configuration is
    /// `default_source_config`.
    pub fn from_json(v: &Json, default_source_config: &Json) -> Result<Metadata, String> {
        let Json::Object(map) = v else {
            return Err("expected an object for metadata".into());
        };
        let version = map.get("version").and_then(|v| v.as_u64()).unwrap_or(1);
        if version >= 3 || map.contains_key("sources") {
            return serde_json::from_value(v.clone()).map_err(|e| e.to_string());
        }
        // Version 1/2: tables and functions at the top level.
        let mut rest = map.clone();
        let tables = rest.shift_remove("tables").unwrap_or(Json::Array(vec![]));
        let functions = rest
            .shift_remove("functions")
            .unwrap_or(Json::Array(vec![]));
        rest.shift_remove("version");
        let mut source = Source::new("default", default_source_config.clone());
        source.tables = serde_json::from_value(tables).map_err(|e| e.to_string())?;
        source.functions = serde_json::from_value(functions).map_err(|e| e.to_string())?;
        let mut md: Metadata =
            serde_json::from_value(Json::Object(rest)).map_err(|e| e.to_string())?;
        md.version = 3;
        md.sources = vec![source];
        Ok(md)
    }

    /// The metadata as `export_metadata` shows it: cron triggers with `include_in_metadata`
    /// only, sorted by name, and actions and remote schemas sorted by name (like Hasura).
    pub fn exported(&self) -> Metadata {
        let mut md = self.clone();
        md.cron_triggers.retain(|c| c.include_in_metadata);
        md.cron_triggers.sort_by(|a, b| a.name.cmp(&b.name));
        md.actions.sort_by(|a, b| a.name.cmp(&b.name));
        md.remote_schemas.sort_by(|a, b| a.name.cmp(&b.name));
        md
    }

    pub fn remote_schema(&self, name: &str) -> Option<&RemoteSchemaMetadata> {
        self.remote_schemas.iter().find(|r| r.name == name)
    }
    pub fn remote_schema_mut(&mut self, name: &str) -> Option<&mut RemoteSchemaMetadata> {
        self.remote_schemas.iter_mut().find(|r| r.name == name)
    }

    pub fn action(&self, name: &str) -> Option<&ActionMetadata> {
        self.actions.iter().find(|a| a.name == name)
    }
    pub fn action_mut(&mut self, name: &str) -> Option<&mut ActionMetadata> {
        self.actions.iter_mut().find(|a| a.name == name)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
    pub fn source_mut(&mut self, name: &str) -> Option<&mut Source> {
        self.sources.iter_mut().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests;
