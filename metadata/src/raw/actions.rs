//! Actions and custom types (`actions` and `custom_types` at the top level of the metadata), as
//! Hasura's `export_metadata` prints them (`metadataToOrdJSON`):
//!
//! - `custom_types`: `input_objects`, `objects`, `scalars`, `enums`, each only when not empty
//!   (the key itself is absent when all are). Input objects `{name, fields: [{name, type,
//!   description?}], description?}`; objects `{name, fields: [{name, type, arguments?,
//!   description?}], description?, relationships?}` with relationships `{name, type, source,
//!   remote_table, field_mapping}` (`source` always written, `default` when absent); scalars
//!   `{name, description?}`; enums `{name, values, description?}` with every value written as
//!   `{value, description, is_deprecated}` (nulls included, Hasura's derived JSON).
//! - `actions` (sorted by name, see [`super::Metadata::exported`]): `{name, definition,
//!   comment?, permissions?}` with the definition `{handler, output_type,
//!   forward_client_headers (when true), headers?, arguments?, request_transform?,
//!   response_transform?, type, kind (mutations), timeout (when not 30)}`.
//!
//! Every object keeps the keys it does not model (`extra`), after the modelled ones. GraphQL
//! type references (`"[User!]!"`) are parsed into [`Type`] when read ([`GqlType`]) and printed
//! back in Hasura's canonical form.
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use super::{Extra, HeaderConf, QualifiedTable};
pub use graphedge_core::actions::Type;

fn is_false(b: &bool) -> bool {
    !*b
}
fn default_source() -> String {
    "default".to_string()
}

// ---------------------------------------------------------------------------------------------
// GraphQL type references

/// A GraphQL type reference (`String!`, `[User!]`), read from and written as its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GqlType(pub Type);

impl GqlType {
    pub fn parse(text: &str) -> Result<GqlType, String> {
        parse_type(text).map(GqlType)
    }
    /// The innermost named type.
    pub fn base(&self) -> &str {
        self.0.base()
    }
    /// Whether a list wraps the named type anywhere (`[T]`, `[T!]!`).
    pub fn is_list(&self) -> bool {
        fn list(t: &Type) -> bool {
            match t {
                Type::Named(_) => false,
                Type::List(_) => true,
                Type::NonNull(t) => list(t),
            }
        }
        list(&self.0)
    }
}

impl std::fmt::Display for GqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&type_text(&self.0))
    }
}

impl Serialize for GqlType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&type_text(&self.0))
    }
}

impl<'de> Deserialize<'de> for GqlType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        GqlType::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `[T!]!` → its text, Hasura's printing (no spaces).
pub fn type_text(t: &Type) -> String {
    match t {
        Type::Named(n) => n.clone(),
        Type::List(inner) => format!("[{}]", type_text(inner)),
        Type::NonNull(inner) => format!("{}!", type_text(inner)),
    }
}

/// Parses a GraphQL type reference (`Int`, `[String!]!`; whitespace and commas between tokens
/// are ignored, as GraphQL's lexer does). The error is Hasura's: `not a valid GraphQL type: …`.
pub fn parse_type(text: &str) -> Result<Type, String> {
    let err = || format!("not a valid GraphQL type: {text}");
    let mut p = TypeParser {
        s: text.as_bytes(),
        i: 0,
    };
    let t = p.ty(0).ok_or_else(err)?;
    p.skip();
    if p.i != p.s.len() {
        return Err(err());
    }
    Ok(t)
}

struct TypeParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl TypeParser<'_> {
    fn skip(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b','))
        {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `depth` bounds nested lists (a hostile `[[[[…` must not exhaust the stack).
    fn ty(&mut self, depth: usize) -> Option<Type> {
        if depth > 32 {
            return None;
        }
        let inner = if self.eat(b'[') {
            let t = self.ty(depth + 1)?;
            if !self.eat(b']') {
                return None;
            }
            Type::List(Box::new(t))
        } else {
            self.skip();
            let start = self.i;
            match self.s.get(self.i) {
                Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
                _ => return None,
            }
            while self
                .s
                .get(self.i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                self.i += 1;
            }
            Type::Named(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
        };
        Some(if self.eat(b'!') {
            Type::NonNull(Box::new(inner))
        } else {
            inner
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Custom types

/// `custom_types`: what `set_custom_types` takes (every list optional).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CustomTypes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_objects: Vec<InputObjectType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scalars: Vec<ScalarType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<EnumType>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl CustomTypes {
    /// No types at all (Hasura then omits `custom_types` from the export).
    pub fn is_empty(&self) -> bool {
        self == &CustomTypes::default()
    }

    /// Every type name, in the order Hasura checks them: scalars, enums, input objects, objects.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.scalars.iter().map(|t| t.name.as_str()).collect();
        out.extend(self.enums.iter().map(|t| t.name.as_str()));
        out.extend(self.input_objects.iter().map(|t| t.name.as_str()));
        out.extend(self.objects.iter().map(|t| t.name.as_str()));
        out
    }

    pub fn object(&self, name: &str) -> Option<&ObjectType> {
        self.objects.iter().find(|o| o.name == name)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InputObjectType {
    pub name: String,
    pub fields: Vec<InputField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InputField {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: GqlType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ObjectType {
    pub name: String,
    pub fields: Vec<ObjectField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<TypeRelationship>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ObjectField {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: GqlType,
    /// Kept as given; Hasura refuses object fields with arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `object` or `array`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RelType {
    Object,
    Array,
}

/// A relationship of an object type to a tracked table (`field_mapping`: object field →
/// column of `remote_table`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TypeRelationship {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RelType,
    #[serde(default = "default_source")]
    pub source: String,
    pub remote_table: QualifiedTable,
    pub field_mapping: IndexMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScalarType {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EnumType {
    pub name: String,
    pub values: Vec<EnumValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One value of an enum: Hasura always writes `description` and `is_deprecated` (null when
/// not given).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EnumValue {
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_deprecated: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Actions

/// One action (`actions[]`, `create_action`'s `{name, definition, comment}` plus permissions).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ActionMetadata {
    pub name: String,
    pub definition: ActionDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<ActionPermission>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ActionPermission {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `type`: `mutation` (the default) or `query`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    #[default]
    Mutation,
    Query,
}

/// `kind` of a mutation: `synchronous` (the default) or `asynchronous`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    #[default]
    Synchronous,
    Asynchronous,
}

/// Hasura's default action timeout, seconds (`defaultActionTimeoutSecs`).
pub const DEFAULT_TIMEOUT: u64 = 30;

fn is_default_timeout(t: &u64) -> bool {
    *t == DEFAULT_TIMEOUT
}

/// An action's definition, normalised as Hasura reads it: `type` defaults to `mutation`,
/// a mutation's `kind` to `synchronous` (a query has none), `timeout` to 30.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "DefinitionIn")]
pub struct ActionDefinition {
    pub handler: String,
    pub output_type: GqlType,
    #[serde(skip_serializing_if = "is_false")]
    pub forward_client_headers: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderConf>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<Argument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_transform: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_transform: Option<Json>,
    #[serde(rename = "type")]
    pub action_type: ActionType,
    /// `Some` exactly for mutations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ActionKind>,
    #[serde(skip_serializing_if = "is_default_timeout")]
    pub timeout: u64,
    /// Not in Hasura v2's export (kept when given; `None` = the default list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_client_headers: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ActionDefinition {
    /// The kind, `synchronous` for a query.
    pub fn kind(&self) -> ActionKind {
        self.kind.unwrap_or_default()
    }
    pub fn is_async(&self) -> bool {
        self.kind == Some(ActionKind::Asynchronous)
    }
}

/// A list that may be given as `null` (Hasura's parser takes `"arguments": null`).
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The input shape of a definition (every key optional but `handler` and `output_type`).
#[derive(Deserialize)]
struct DefinitionIn {
    handler: String,
    output_type: GqlType,
    #[serde(default)]
    forward_client_headers: bool,
    #[serde(default, deserialize_with = "null_as_empty")]
    headers: Vec<HeaderConf>,
    #[serde(default, deserialize_with = "null_as_empty")]
    arguments: Vec<Argument>,
    #[serde(default)]
    request_transform: Option<Json>,
    #[serde(default)]
    response_transform: Option<Json>,
    #[serde(default, rename = "type")]
    action_type: Option<String>,
    #[serde(default)]
    kind: Option<ActionKind>,
    #[serde(default)]
    timeout: Option<u64>,
    #[serde(default)]
    ignored_client_headers: Option<Vec<String>>,
    #[serde(flatten)]
    extra: Extra,
}

impl TryFrom<DefinitionIn> for ActionDefinition {
    type Error = String;
    fn try_from(d: DefinitionIn) -> Result<Self, String> {
        let action_type = match d.action_type.as_deref() {
            None | Some("mutation") => ActionType::Mutation,
            Some("query") => ActionType::Query,
            Some(t) => return Err(format!("expected mutation or query, but found {t}")),
        };
        for h in &d.headers {
            check_header(h)?;
        }
        Ok(ActionDefinition {
            handler: d.handler,
            output_type: d.output_type,
            forward_client_headers: d.forward_client_headers,
            headers: d.headers,
            arguments: d.arguments,
            request_transform: d.request_transform.filter(|t| !t.is_null()),
            response_transform: d.response_transform.filter(|t| !t.is_null()),
            action_type,
            kind: match action_type {
                ActionType::Mutation => Some(d.kind.unwrap_or_default()),
                ActionType::Query => None,
            },
            timeout: d.timeout.unwrap_or(DEFAULT_TIMEOUT),
            ignored_client_headers: d.ignored_client_headers,
            extra: d.extra,
        })
    }
}

/// Hasura's checks of one header (its `HeaderConf` parser): exactly one of `value` and
/// `value_from_env`, and no `HASURA_GRAPHQL_*` variable.
pub fn check_header(h: &HeaderConf) -> Result<(), String> {
    match (&h.value, &h.value_from_env) {
        (None, None) => Err("expecting value or value_from_env keys".into()),
        (Some(_), Some(_)) => Err("expecting only one of value or value_from_env keys".into()),
        (None, Some(env)) if env.starts_with("HASURA_GRAPHQL_") => Err(format!(
            "env variables starting with \"HASURA_GRAPHQL_\" are not allowed in value_from_env: {env}"
        )),
        _ => Ok(()),
    }
}

/// An argument of an action.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Argument {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: GqlType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Hasura's internal JSON (inconsistency definitions)

/// `custom_types` as Hasura's derived `ToJSON` writes it in an inconsistency's `definition`:
/// every key, nulls included.
pub fn custom_types_definition(ct: &CustomTypes) -> Json {
    use serde_json::json;
    json!({
        "input_objects": ct.input_objects.iter().map(|t| json!({
            "name": t.name,
            "description": t.description,
            "fields": t.fields.iter().map(|f| json!({
                "name": f.name, "description": f.description, "type": f.ty,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "objects": ct.objects.iter().map(|t| json!({
            "name": t.name,
            "description": t.description,
            "fields": t.fields.iter().map(|f| json!({
                "arguments": f.arguments, "name": f.name, "description": f.description,
                "type": f.ty,
            })).collect::<Vec<_>>(),
            "relationships": t.relationships.iter().map(|r| json!({
                "name": r.name, "type": r.kind, "source": r.source,
                "remote_table": r.remote_table, "field_mapping": r.field_mapping,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "scalars": ct.scalars.iter().map(|t| json!({
            "name": t.name, "description": t.description,
        })).collect::<Vec<_>>(),
        "enums": ct.enums.iter().map(|t| json!({
            "name": t.name,
            "description": t.description,
            "values": t.values.iter().map(|v| json!({
                "value": v.value, "description": v.description, "is_deprecated": v.is_deprecated,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// An action as Hasura's `CreateAction` `ToJSON` writes it in an inconsistency's
/// `definition`: `{name, definition, comment}`.
pub fn action_definition(a: &ActionMetadata) -> Json {
    use serde_json::json;
    let d = &a.definition;
    let mut def = json!({
        "arguments": d.arguments.iter().map(|x| json!({
            "name": x.name, "type": x.ty, "description": x.description,
        })).collect::<Vec<_>>(),
        "output_type": d.output_type,
        "headers": d.headers,
        "forward_client_headers": d.forward_client_headers,
        "handler": d.handler,
        "timeout": d.timeout,
    });
    if let Some(t) = &d.request_transform {
        def["request_transform"] = t.clone();
    }
    if let Some(t) = &d.response_transform {
        def["response_transform"] = t.clone();
    }
    def["type"] = json!(d.action_type);
    if let Some(k) = d.kind {
        def["kind"] = json!(k);
    }
    json!({"name": a.name, "definition": def, "comment": a.comment})
}

#[cfg(test)]
mod tests;
