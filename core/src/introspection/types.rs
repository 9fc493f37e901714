//! The data model of a role's GraphQL type system: named types (scalars, objects, input
//! objects, enums), their fields/input fields/enum values, type references with list and
//! non-null wrappers, and directives. [`TypeSystem`] keeps types in a `BTreeMap`, so every
//! listing (introspection, SDL) is sorted by name and deterministic.
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::parse::ast::OperationKind;

/// `__TypeKind` of a named type (wrappers are [`TypeRef::List`] / [`TypeRef::NonNull`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Scalar,
    Object,
    InputObject,
    Enum,
    /// The Relay schema's `Node`, and remote schemas' interfaces.
    Interface,
    /// Remote schemas' unions (members in [`TypeDef::possible_types`]).
    Union,
}

impl TypeKind {
    /// The `__TypeKind` enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeKind::Scalar => "SCALAR",
            TypeKind::Object => "OBJECT",
            TypeKind::InputObject => "INPUT_OBJECT",
            TypeKind::Enum => "ENUM",
            TypeKind::Interface => "INTERFACE",
            TypeKind::Union => "UNION",
        }
    }
}

/// A reference to a type, with wrappers: `[author!]!` is `NonNull(List(NonNull(Named("author"))))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    pub fn named(name: impl Into<String>) -> TypeRef {
        TypeRef::Named(name.into())
    }
    /// `T!`
    pub fn non_null(self) -> TypeRef {
        match self {
            TypeRef::NonNull(_) => self,
            other => TypeRef::NonNull(Box::new(other)),
        }
    }
    /// `[T]`
    pub fn list(self) -> TypeRef {
        TypeRef::List(Box::new(self))
    }
    /// `[T!]!` for a named type.
    pub fn list_nn(name: impl Into<String>) -> TypeRef {
        TypeRef::named(name).non_null().list().non_null()
    }
    /// The innermost named type.
    pub fn base(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.base(),
        }
    }
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }
    /// SDL notation (`[author!]!`).
    pub fn write(&self, out: &mut String) {
        match self {
            TypeRef::Named(n) => out.push_str(n),
            TypeRef::List(t) => {
                out.push('[');
                t.write(out);
                out.push(']');
            }
            TypeRef::NonNull(t) => {
                t.write(out);
                out.push('!');
            }
        }
    }
    pub fn to_sdl(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// An argument or an input-object field (`__InputValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: TypeRef,
    /// Default value in GraphQL literal syntax (`false`, `[]`, `60`).
    pub default_value: Option<String>,
}

impl InputValue {
    pub fn new(name: impl Into<String>, ty: TypeRef) -> Self {
        InputValue {
            name: name.into(),
            description: None,
            ty,
            default_value: None,
        }
    }
    pub fn desc(mut self, d: impl Into<String>) -> Self {
        self.description = described(d.into());
        self
    }
    pub fn default(mut self, d: impl Into<String>) -> Self {
        self.default_value = Some(d.into());
        self
    }
}

/// A field of an object type (`__Field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<InputValue>,
    pub ty: TypeRef,
}

impl FieldDef {
    pub fn new(name: impl Into<String>, ty: TypeRef) -> Self {
        FieldDef {
            name: name.into(),
            description: None,
            args: Vec::new(),
            ty,
        }
    }
    pub fn desc(mut self, d: impl Into<String>) -> Self {
        self.description = described(d.into());
        self
    }
    pub fn desc_opt(mut self, d: Option<String>) -> Self {
        self.description = d.and_then(described);
        self
    }
    pub fn args(mut self, args: Vec<InputValue>) -> Self {
        self.args = args;
        self
    }
    pub fn arg(&self, name: &str) -> Option<&InputValue> {
        self.args.iter().find(|a| a.name == name)
    }
}

/// A value of an enum type (`__EnumValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValueDef {
    pub name: String,
    pub description: Option<String>,
}

/// A named type (`__Type` with a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    pub description: Option<String>,
    /// Object types only; sorted by name.
    pub fields: Vec<FieldDef>,
    /// Input object types only; sorted by name.
    pub input_fields: Vec<InputValue>,
    /// Enum types only; sorted by name.
    pub enum_values: Vec<EnumValueDef>,
    /// Object types: the interfaces they implement (Relay: `Node`).
    pub interfaces: Vec<TypeRef>,
    /// Interface types: the object types implementing them; union types: their members.
    pub possible_types: Vec<TypeRef>,
}

impl TypeDef {
    pub fn new(name: impl Into<String>, kind: TypeKind) -> Self {
        TypeDef {
            name: name.into(),
            kind,
            description: None,
            fields: Vec::new(),
            input_fields: Vec::new(),
            enum_values: Vec::new(),
            interfaces: Vec::new(),
            possible_types: Vec::new(),
        }
    }
    pub fn desc(mut self, d: impl Into<String>) -> Self {
        self.description = described(d.into());
        self
    }
    pub fn desc_opt(mut self, d: Option<String>) -> Self {
        self.description = d.and_then(described);
        self
    }
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn input_field(&self, name: &str) -> Option<&InputValue> {
        self.input_fields.iter().find(|f| f.name == name)
    }
    pub fn enum_value(&self, name: &str) -> Option<&EnumValueDef> {
        self.enum_values.iter().find(|v| v.name == name)
    }
    /// Sorts fields, input fields, enum values and arguments by name (Hasura lists them sorted).
    pub(crate) fn sort(&mut self) {
        self.fields.sort_by(|a, b| a.name.cmp(&b.name));
        for f in &mut self.fields {
            f.args.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.input_fields.sort_by(|a, b| a.name.cmp(&b.name));
        self.enum_values.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// A directive definition (`__Directive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveDef {
    pub name: String,
    pub description: Option<String>,
    /// `__DirectiveLocation` values.
    pub locations: Vec<&'static str>,
    pub args: Vec<InputValue>,
    pub is_repeatable: bool,
}

/// The GraphQL type system one role sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeSystem {
    /// Every named type reachable from the root types and the introspection types, by name.
    pub types: BTreeMap<String, TypeDef>,
    pub query_type: String,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
    pub directives: Vec<DirectiveDef>,
}

impl TypeSystem {
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }
    /// The root type of an operation kind (`None`: the role has no mutations/subscriptions).
    pub fn root_type(&self, kind: OperationKind) -> Option<&TypeDef> {
        let name = match kind {
            OperationKind::Query => Some(self.query_type.as_str()),
            OperationKind::Mutation => self.mutation_type.as_deref(),
            OperationKind::Subscription => self.subscription_type.as_deref(),
        }?;
        self.types.get(name)
    }
    /// A field of an object type.
    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        self.types.get(type_name)?.field(field)
    }
    pub fn directive(&self, name: &str) -> Option<&DirectiveDef> {
        self.directives.iter().find(|d| d.name == name)
    }
}

/// A description as Hasura shows it: an empty one (an explicit `comment: ""`) is none.
fn described(d: String) -> Option<String> {
    (!d.is_empty()).then_some(d)
}
