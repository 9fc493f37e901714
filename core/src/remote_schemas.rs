//! Remote schemas (Hasura's `add_remote_schema`): another GraphQL service whose root fields are
//! served beside the sources' — the type system its introspection answered, as metadata
//! resolves it. Pure data; the compiler turns a remote root field into a
//! [`crate::RemoteCall`] and the host sends it.
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
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
    /// Hasura's `customization`: a root field namespace, type and field renames (none by
    /// default). The names above are the remote's; [`RemoteSchema::type_name`] and
    /// [`RemoteSchema::field_name`] give the names clients see.
    pub customization: RemoteCustomization,
    /// Remote schema permissions (`add_remote_schema_permissions`): each role's view, this
    /// remote restricted to the role's SDL (types, fields, arguments, enum values a subset of
    /// the remote's; arguments and input fields with a [`Preset`] hidden from the role and
    /// sent with the preset). A view's own `role_schemas` is empty.
    pub role_schemas: Vec<(RoleName, RemoteSchema)>,
    /// Relationships from the remote's object types to tables
    /// (`create_remote_schema_remote_relationship` with `to_source`); a role's view has those
    /// whose fields it sees.
    pub relationships: Vec<RemoteTypeRelationship>,
}

/// A relationship from a remote object type to a table: the table's rows whose `mapping`
/// columns equal the object's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTypeRelationship {
    /// The object type (the remote's name).
    pub type_name: String,
    pub name: String,
    pub kind: crate::model::RelKind,
    pub target: crate::model::TableId,
    /// `(field of the type (the remote's name), column of the target)`.
    pub mapping: Vec<(String, crate::model::ColumnId)>,
}

/// A remote schema's `customization` (Hasura's `RemoteSchemaCustomization`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteCustomization {
    /// `root_fields_namespace`: every root field moves under this one field.
    pub root_fields_namespace: Option<String>,
    /// `type_names` (`None`: absent).
    pub type_names: Option<NameCustomization>,
    /// `field_names`, per parent type (the remote's name); the last entry of a type counts.
    pub field_names: Vec<FieldNameCustomization>,
}

/// `prefix`, `suffix` and explicit `mapping` (original → new), the mapping winning.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NameCustomization {
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub mapping: Vec<(String, String)>,
}

/// One entry of `field_names`: the fields of `parent_type` (an object or interface).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldNameCustomization {
    pub parent_type: String,
    pub names: NameCustomization,
}

/// GraphQL's built-in scalars (never prefixed or suffixed, only mapped).
pub const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

impl NameCustomization {
    fn mapped(&self, name: &str) -> Option<&str> {
        self.mapping
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
    }
    fn affix(&self, name: &str) -> Option<String> {
        if self.prefix.is_none() && self.suffix.is_none() {
            return None;
        }
        Some(format!(
            "{}{name}{}",
            self.prefix.as_deref().unwrap_or(""),
            self.suffix.as_deref().unwrap_or("")
        ))
    }
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
    /// In a role's view: the value sent for it (`@preset`); the role does not see it.
    pub preset: Option<Preset>,
}

/// The value of an `@preset` directive, as Hasura parses it against the type of its place.
#[derive(Debug, Clone, PartialEq)]
pub enum Preset {
    /// A constant (a `static: true` preset, or one without session variables inside).
    Value(crate::value::Value),
    /// A session variable's value (`"x-hasura-user-id"`) at a scalar or enum place `ty`
    /// (the place's type, named), coerced to it when the call is made.
    Session {
        var: String,
        ty: Type,
        /// An enum's values (the session variable's value must be one); `None`: a scalar.
        enum_values: Option<Vec<String>>,
    },
    List(Vec<Preset>),
    Object(Vec<(String, Preset)>),
}

impl InputValue {
    /// Whether the role sees it (it has no preset).
    pub fn visible(&self) -> bool {
        self.preset.is_none()
    }
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
        self.for_role(role, permissions_enabled).is_some()
    }

    /// What `role` sees of it: all of it (admin; everyone when `permissions_enabled` is off),
    /// the role's view, or nothing. A role listed in `permissions` without a view (a schema
    /// built without the roles' SDL) sees all of it; metadata builds a view for every role it
    /// lists.
    pub fn for_role(&self, role: &str, permissions_enabled: bool) -> Option<&RemoteSchema> {
        if role == "admin" || !permissions_enabled {
            return Some(self);
        }
        if let Some((_, view)) = self.role_schemas.iter().find(|(r, _)| r == role) {
            return Some(view);
        }
        self.permissions.iter().any(|r| r == role).then_some(self)
    }

    /// Whether `name` is one of the root operation types.
    pub fn is_root_type(&self, name: &str) -> bool {
        [
            self.query_type.as_deref(),
            self.mutation_type.as_deref(),
            self.subscription_type.as_deref(),
        ]
        .contains(&Some(name))
    }

    /// The name clients see for the remote type `name` (Hasura's customizer): an explicit
    /// mapping first; with a root field namespace, the root types become
    /// `<namespace><Root>`; then the prefix and suffix, which never touch the built-in
    /// scalars, `__` types and (without a namespace) the root types.
    pub fn type_name(&self, name: &str) -> String {
        let c = &self.customization;
        if let Some(to) = c.type_names.as_ref().and_then(|t| t.mapped(name)) {
            return to.to_string();
        }
        if let Some(ns) = &c.root_fields_namespace {
            if self.is_root_type(name) {
                return format!("{ns}{name}");
            }
        }
        let protected = name.starts_with("__")
            || BUILT_IN_SCALARS.contains(&name)
            || (c.root_fields_namespace.is_none() && self.is_root_type(name));
        if !protected {
            if let Some(n) = c.type_names.as_ref().and_then(|t| t.affix(name)) {
                return n;
            }
        }
        name.to_string()
    }

    /// The name clients see for the field `field` of the remote type `parent` (the remote's
    /// names): the `field_names` entry of `parent` (its mapping, else its prefix/suffix).
    pub fn field_name(&self, parent: &str, field: &str) -> String {
        let entry = self
            .customization
            .field_names
            .iter()
            .rev()
            .find(|f| f.parent_type == parent);
        let has_fields = self
            .type_named(parent)
            .is_some_and(|t| matches!(t.kind, TypeKind::Object | TypeKind::Interface));
        match entry {
            Some(e) if has_fields => e
                .names
                .mapped(field)
                .map(ToString::to_string)
                .or_else(|| e.names.affix(field))
                .unwrap_or_else(|| field.to_string()),
            _ => field.to_string(),
        }
    }

    /// The fields this remote adds to the root type of `kind` (`query`, `mutation`), as
    /// clients see them: the namespace field, or every root field customized. Empty when the
    /// remote has no such root type (or it has no fields).
    pub fn exposed_root_fields(&self, kind: &str) -> Vec<String> {
        let Some(root) = self.root(kind) else {
            return Vec::new();
        };
        if root.fields.is_empty() {
            return Vec::new();
        }
        match &self.customization.root_fields_namespace {
            Some(ns) => vec![ns.clone()],
            None => root
                .fields
                .iter()
                .map(|f| self.field_name(&root.name, &f.name))
                .collect(),
        }
    }
}

impl RemoteSchema {
    /// The field a table's relationship to this remote ends at (its path followed from the
    /// query root; `None` when this schema, e.g. a role's view, lacks part of it).
    pub fn relationship_leaf(
        &self,
        rel: &crate::model::RemoteSchemaRelationship,
    ) -> Option<&RemoteField> {
        let mut parent = self.root("query")?;
        let mut leaf = None;
        for (i, (name, _)) in rel.path.iter().enumerate() {
            let f = parent.field(name)?;
            if i + 1 < rel.path.len() {
                parent = self.type_named(f.ty.base())?;
            }
            leaf = Some(f);
        }
        leaf
    }
}

impl RemoteSchema {
    /// The relationship `name` of the remote object type `type_name` (the remote's name).
    pub fn type_relationship(
        &self,
        type_name: &str,
        name: &str,
    ) -> Option<&RemoteTypeRelationship> {
        self.relationships
            .iter()
            .find(|r| r.type_name == type_name && r.name == name)
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

/// What a root field of the role's type system is in a remote schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RemoteRoot<'a> {
    /// One of the remote's root fields (the remote's field; clients may see it renamed).
    Field(&'a RemoteField),
    /// The remote's `root_fields_namespace` field: its root fields are under it.
    Namespace,
}

impl RemoteSchema {
    /// The remote type clients see as `client` (`None`: none of the remote's types).
    pub fn type_by_client_name(&self, client: &str) -> Option<&RemoteType> {
        self.types
            .iter()
            .find(|t| self.type_name(&t.name) == client)
    }

    /// The field of the remote type `parent` clients see as `client`.
    pub fn field_by_client_name<'a>(
        &'a self,
        parent: &'a RemoteType,
        client: &str,
    ) -> Option<&'a RemoteField> {
        parent
            .fields
            .iter()
            .find(|f| self.field_name(&parent.name, &f.name) == client)
    }

    /// A type reference with the names clients see.
    pub fn client_type(&self, t: &Type) -> Type {
        match t {
            Type::Named(n) => Type::Named(self.type_name(n)),
            Type::List(inner) => Type::List(alloc::boxed::Box::new(self.client_type(inner))),
            Type::NonNull(inner) => Type::NonNull(alloc::boxed::Box::new(self.client_type(inner))),
        }
    }

    /// A type reference with the remote's names (`t` as a client wrote it); names of no
    /// remote type are kept.
    pub fn remote_type(&self, t: &Type) -> Type {
        match t {
            Type::Named(n) => Type::Named(
                self.type_by_client_name(n)
                    .map(|r| r.name.clone())
                    .or_else(|| {
                        // A mapped built-in scalar the introspection did not list.
                        BUILT_IN_SCALARS
                            .iter()
                            .find(|s| self.type_name(s) == *n)
                            .map(|s| s.to_string())
                    })
                    .unwrap_or_else(|| n.clone()),
            ),
            Type::List(inner) => Type::List(alloc::boxed::Box::new(self.remote_type(inner))),
            Type::NonNull(inner) => Type::NonNull(alloc::boxed::Box::new(self.remote_type(inner))),
        }
    }

    /// The remote's root field (or namespace) clients see as `name` at the root of `kind`.
    pub fn root_by_client_name(&self, kind: &str, name: &str) -> Option<RemoteRoot<'_>> {
        let root = self.root(kind)?;
        match &self.customization.root_fields_namespace {
            Some(ns) => {
                (ns == name && root.fields.iter().any(usable)).then_some(RemoteRoot::Namespace)
            }
            None => root
                .fields
                .iter()
                .find(|f| usable(f) && self.field_name(&root.name, &f.name) == name)
                .map(RemoteRoot::Field),
        }
    }
}

/// Which remote schema serves root field `name` of `root` (`"query"`, `"mutation"`,
/// `"subscription"`) for `role`: the first remote (in `Schema::remote_schemas` order) the
/// role may use (`permissions_enabled`: `Options::remote_schema_permissions`) whose root type
/// has a usable field of that name — its index and the field. The sources' and actions'
/// root fields come first (a name they have is theirs: callers look there before asking
/// this), as in the role's type system (`introspection`); Relay has no remote fields.
/// `name` is the name clients see (customized; a `root_fields_namespace` is
/// [`RemoteRoot::Namespace`]).
pub fn root_field_of<'a>(
    schema: &'a Schema,
    role: &str,
    permissions_enabled: bool,
    root: &str,
    name: &str,
) -> Option<(usize, RemoteRoot<'a>)> {
    schema
        .remote_schemas
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.for_role(role, permissions_enabled).map(|r| (i, r)))
        .find_map(|(i, r)| r.root_by_client_name(root, name).map(|f| (i, f)))
}

/// The JSON text of a session variable preset's value for `session` (Hasura's
/// `resolveRemoteVariable`): `Int`, `Float` and `Boolean` parsed from the session variable's
/// text, an enum's value checked against its values, any other scalar sent as a string.
pub fn session_preset_json(
    session: &crate::Session,
    preset: &crate::plan::SessionPreset,
) -> crate::error::Result<String> {
    use crate::error::{Error, ErrorCode};
    let Some(value) = session.var(&preset.session_var) else {
        return Err(Error::new(
            ErrorCode::NotFound,
            "$",
            format!(
                "\"{}\" session variable expected, but not found",
                preset.session_var
            ),
        ));
    };
    let coercion = |what: &str| {
        Error::new(
            ErrorCode::CoercionError,
            "$",
            format!("\"{value}\" cannot be coerced into {what} value"),
        )
    };
    let mut out = String::new();
    match (&preset.enum_values, preset.type_name.as_str()) {
        (Some(values), _) => {
            if !values.iter().any(|v| v == value) {
                return Err(coercion(&format!("an {} enum", preset.type_name)));
            }
            crate::encode::write_json_string(&mut out, value);
        }
        (None, "Int") => {
            let n: i64 = value.trim().parse().map_err(|_| coercion("an Int"))?;
            out = n.to_string();
        }
        (None, "Float") => {
            let n: f64 = value.trim().parse().map_err(|_| coercion("a Float"))?;
            if !n.is_finite() {
                return Err(coercion("a Float"));
            }
            out = format!("{n}");
        }
        (None, "Boolean") => match value.trim() {
            "true" => out.push_str("true"),
            "false" => out.push_str("false"),
            _ => return Err(coercion("a Boolean")),
        },
        (None, _) => crate::encode::write_json_string(&mut out, value),
    }
    Ok(out)
}
