//! Remote schemas (Hasura's `add_remote_schema`): another GraphQL service whose root fields are
//! served beside the sources' — the type system its introspection answered, as metadata
//! resolves it. Pure data; the compiler turns a remote root field into a
//! [`crate::RemoteCall`] and the host sends it.
use alloc::string::String;
use alloc::vec::Vec;

pub use crate::actions::HeaderValue;
use crate::model::{RoleName, Schema};
pub use crate::parse::ast::Type;

/// One remote schema.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSchema {
    pub name: String,
    /// The URL (`url`; `{{ENV}}` templates resolved by the host) or the setting holding it
    /// (`url_from_env`).
    pub url: RemoteUrl,
    pub headers: Vec<(String, HeaderValue)>,
    pub forward_client_headers: bool,
    /// Seconds (Hasura's default 60).
    pub timeout_seconds: u64,
    /// The remote's types, from its introspection (names as the remote has them).
    pub types: Vec<RemoteType>,
    /// The remote's root operation types (`None`: it has none of that kind).
    pub query_type: Option<String>,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
    /// Roles allowed to use it when remote schema permissions are enabled (admin always);
    /// without them every role may.
    pub permissions: Vec<RoleName>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RemoteUrl {
    Url(String),
    FromEnv(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

/// A named type of the remote schema, as its introspection describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteType {
    pub kind: TypeKind,
    pub name: String,
    pub description: Option<String>,
    /// Objects and interfaces.
    pub fields: Vec<RemoteField>,
    /// Input objects.
    pub input_fields: Vec<InputValue>,
    /// Enums: `(value, description, deprecation reason)`.
    pub enum_values: Vec<(String, Option<String>, Option<String>)>,
    /// Objects: the interfaces they implement.
    pub interfaces: Vec<String>,
    /// Interfaces and unions: their possible object types.
    pub possible_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteField {
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<InputValue>,
    pub ty: Type,
    /// `Some(reason)` when deprecated.
    pub deprecation: Option<String>,
}

/// An argument or an input object's field.
#[derive(Debug, Clone, PartialEq)]
pub struct InputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    /// The default value as GraphQL text (`10`, `"x"`, `{a: 1}`).
    pub default_value: Option<String>,
}

impl RemoteSchema {
    pub fn type_named(&self, name: &str) -> Option<&RemoteType> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The root type of an operation kind (`query`, `mutation`, `subscription`; any other
    /// kind has none).
    pub fn root(&self, kind: &str) -> Option<&RemoteType> {
        let name = match kind {
            "query" => self.query_type.as_deref(),
            "mutation" => self.mutation_type.as_deref(),
            "subscription" => self.subscription_type.as_deref(),
            _ => None,
        }?;
        self.type_named(name)
    }

    /// Whether `role` may use it (admin always; everyone when `permissions_enabled` is off).
    pub fn allowed(&self, role: &str, permissions_enabled: bool) -> bool {
        role == "admin" || !permissions_enabled || self.permissions.iter().any(|r| r == role)
    }
}

impl RemoteType {
    pub fn field(&self, name: &str) -> Option<&RemoteField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Whether a type reference nests no deeper than the parser allows (checked without
/// recursion: the remote's introspection is another service's answer).
pub(crate) fn representable(t: &Type) -> bool {
    let mut cur = t;
    for _ in 0..=crate::parse::MAX_DEPTH {
        match cur {
            Type::Named(_) => return true,
            Type::List(inner) | Type::NonNull(inner) => cur = inner,
        }
    }
    false
}

/// Whether a root field of a remote is served: not an introspection name (`__…`), and its
/// type and its arguments' types are representable. The type system shows exactly these.
pub(crate) fn usable(f: &RemoteField) -> bool {
    !f.name.starts_with("__") && representable(&f.ty) && f.args.iter().all(|a| representable(&a.ty))
}

/// Which remote schema serves root field `name` of `root` (`"query"`, `"mutation"`,
/// `"subscription"`) for `role`: the first remote (in `Schema::remote_schemas` order) the
/// role may use (`permissions_enabled`: `Options::remote_schema_permissions`) whose root type
/// has a usable field of that name — its index and the field. The sources' and actions'
/// root fields come first (a name they have is theirs: callers look there before asking
/// this), as in the role's type system (`introspection`); Relay has no remote fields.
pub fn root_field_of<'a>(
    schema: &'a Schema,
    role: &str,
    permissions_enabled: bool,
    root: &str,
    name: &str,
) -> Option<(usize, &'a RemoteField)> {
    schema
        .remote_schemas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.allowed(role, permissions_enabled))
        .find_map(|(i, r)| {
            r.root(root)?
                .fields
                .iter()
                .find(|f| f.name == name && usable(f))
                .map(|f| (i, f))
        })
}
