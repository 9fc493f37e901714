//! Actions and their custom types, as metadata resolves them (Hasura's `set_custom_types` and
//! `create_action`): the model the schema, introspection and the compiler read. Pure data.
//!
//! Types are referred to by name through [`Type`] (`[T!]!`): a name is a custom type of
//! [`CustomTypes`], a GraphQL built-in scalar (`Int`, `Float`, `String`, `Boolean`, `ID`) or a
//! Postgres scalar the sources expose (`uuid`, `timestamptz`, `jsonb`, …).
use alloc::string::String;
use alloc::vec::Vec;

use crate::model::{ColumnId, RelKind, RoleName, TableId};
pub use crate::parse::ast::Type;

/// Every custom type of the metadata (`set_custom_types` replaces them all at once).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomTypes {
    pub scalars: Vec<CustomScalar>,
    pub enums: Vec<CustomEnum>,
    pub input_objects: Vec<InputObject>,
    pub objects: Vec<ObjectType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomScalar {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomEnum {
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<CustomEnumValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomEnumValue {
    pub value: String,
    pub description: Option<String>,
    pub is_deprecated: bool,
}

/// A field of an input object or of an object type, or an action's argument.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputObject {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectType {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldDef>,
    pub relationships: Vec<ObjectRelationship>,
}

/// A relationship of an object type to a tracked table (`field_mapping`: object field →
/// column of `target`). The table's source is `Schema::source_of_table(target)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRelationship {
    pub name: String,
    pub kind: RelKind,
    pub target: TableId,
    pub mapping: Vec<(String, ColumnId)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Synchronous,
    Asynchronous,
}

/// Where an action's field is: `type: query` (query_root) or `mutation` (mutation_root, the
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionRoot {
    Query,
    Mutation,
}

/// A header the engine sends to the handler.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    /// `value` (may hold `{{ENV}}` templates, resolved by the host).
    Value(String),
    /// `value_from_env`: the named environment variable / setting.
    FromEnv(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    pub comment: Option<String>,
    pub kind: ActionKind,
    pub root: ActionRoot,
    pub arguments: Vec<FieldDef>,
    pub output_type: Type,
    /// The handler URL as given (`{{ENV}}` templates resolved by the host).
    pub handler: String,
    pub headers: Vec<(String, HeaderValue)>,
    pub forward_client_headers: bool,
    /// `None`: Hasura's default list of client headers never forwarded.
    pub ignored_client_headers: Option<Vec<String>>,
    /// Seconds (Hasura's default 30).
    pub timeout: u64,
    /// `request_transform` / `response_transform` as JSON text (Kriti templates, applied by the
    /// host with the event-trigger transform code).
    pub request_transform: Option<String>,
    pub response_transform: Option<String>,
    /// Roles allowed to call it (admin always may).
    pub permissions: Vec<RoleName>,
}

impl CustomTypes {
    pub fn object(&self, name: &str) -> Option<&ObjectType> {
        self.objects.iter().find(|o| o.name == name)
    }
    pub fn input_object(&self, name: &str) -> Option<&InputObject> {
        self.input_objects.iter().find(|o| o.name == name)
    }
    pub fn enum_type(&self, name: &str) -> Option<&CustomEnum> {
        self.enums.iter().find(|e| e.name == name)
    }
    pub fn scalar(&self, name: &str) -> Option<&CustomScalar> {
        self.scalars.iter().find(|s| s.name == name)
    }
}

impl Action {
    /// Whether `role` may call the action (admin always may).
    pub fn allowed(&self, role: &str) -> bool {
        role == "admin" || self.permissions.iter().any(|r| r == role)
    }
}
