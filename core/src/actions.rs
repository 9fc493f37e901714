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

// ---------------------------------------------------------------------------------------------
// Running an action (pure parts): the handler's `input`, and its answer checked and shaped.

use crate::error::{Error, ErrorCode, Result};
use crate::plan::{ActionCall, OutField, OutKind};
use crate::value::Value;
use crate::Schema;
use alloc::format;

/// Built-in GraphQL scalars (custom and Postgres scalars accept any JSON value).
fn builtin(name: &str) -> bool {
    matches!(name, "Int" | "Float" | "String" | "Boolean" | "ID")
}

/// The `input` object of the handler's request: the call's arguments with the request's
/// variables substituted, checked against the arguments' types (GraphQL input coercion: fields
/// of input objects, enum values, built-in scalars; custom and Postgres scalars take any JSON).
/// Variables the request leaves out (without a default) leave their argument or field out.
pub fn input_json(
    schema: &Schema,
    call: &ActionCall,
    variables: &[(String, Value)],
) -> Result<String> {
    let action = schema
        .action(&call.action)
        .ok_or_else(|| Error::validation("$", format!("action '{}' not found", call.action)))?;
    let mut out = String::from("{");
    let mut first = true;
    for def in &action.arguments {
        let path = format!("$.selectionSet.{}.args.{}", call.key, def.name);
        let given = call
            .arguments
            .iter()
            .find(|(n, _)| *n == def.name)
            .and_then(|(_, v)| substitute(v, variables, &call.defaults, 0).transpose())
            .transpose()?;
        let Some(v) = given else {
            if matches!(def.ty, Type::NonNull(_)) {
                return Err(Error::validation(
                    format!("$.selectionSet.{}", call.key),
                    format!("missing required field '{}'", def.name),
                ));
            }
            continue;
        };
        coerce(schema, &v, &def.ty, &path, 0)?;
        if !first {
            out.push(',');
        }
        first = false;
        crate::encode::write_json_string(&mut out, &def.name);
        out.push(':');
        crate::encode::write_json(&mut out, &v);
    }
    out.push('}');
    Ok(out)
}

/// `v` with its variables replaced by their values; `None` for a variable the request does not
/// give (and has no default). Object fields whose variable is absent are left out.
fn substitute(
    v: &Value,
    variables: &[(String, Value)],
    defaults: &[(String, Value)],
    depth: usize,
) -> Result<Option<Value>> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(Error::validation("$", "the input is nested too deeply"));
    }
    Ok(Some(match v {
        Value::Variable(name) => {
            let found = variables
                .iter()
                .chain(defaults.iter())
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone());
            return Ok(found);
        }
        Value::List(items) => {
            let mut out = Vec::new();
            for item in items {
                out.push(substitute(item, variables, defaults, depth + 1)?.unwrap_or(Value::Null));
            }
            Value::List(out)
        }
        Value::Object(fields) => {
            let mut out = Vec::new();
            for (k, item) in fields {
                if let Some(v) = substitute(item, variables, defaults, depth + 1)? {
                    out.push((k.clone(), v));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }))
}

/// Checks an input value against its type.
fn coerce(schema: &Schema, v: &Value, ty: &Type, path: &str, depth: usize) -> Result<()> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(Error::validation(path, "the input is nested too deeply"));
    }
    match ty {
        Type::NonNull(inner) => {
            if v.is_null() {
                return Err(Error::validation(
                    path,
                    format!(
                        "null value found for non-nullable type: \"{}\"",
                        crate::encode::type_text(ty)
                    ),
                ));
            }
            coerce(schema, v, inner, path, depth + 1)
        }
        _ if v.is_null() => Ok(()),
        Type::List(inner) => match v {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    coerce(schema, item, inner, &format!("{}[{}]", path, i), depth + 1)?;
                }
                Ok(())
            }
            other => coerce(schema, other, inner, path, depth + 1),
        },
        Type::Named(name) => {
            if builtin(name) {
                return crate::encode::check_value(v, ty, path, false);
            }
            let types = &schema.custom_types;
            if let Some(e) = types.enum_type(name) {
                let ok = match v {
                    Value::Enum(s) | Value::String(s) => e.values.iter().any(|x| &x.value == s),
                    _ => false,
                };
                if !ok {
                    return Err(Error::validation(
                        path,
                        format!("expected one of the values of the enum \"{}\"", name),
                    ));
                }
                return Ok(());
            }
            if let Some(o) = types.input_object(name) {
                let Value::Object(fields) = v else {
                    return Err(Error::validation(
                        path,
                        format!(
                            "expected an object for type '{}', but found {}",
                            name,
                            crate::value::article(v.kind())
                        ),
                    ));
                };
                for (k, _) in fields {
                    if !o.fields.iter().any(|f| &f.name == k) {
                        return Err(Error::validation(
                            format!("{}.{}", path, k),
                            format!("field '{}' not found in type: '{}'", k, name),
                        ));
                    }
                }
                for f in &o.fields {
                    let sub = format!("{}.{}", path, f.name);
                    match fields.iter().find(|(k, _)| *k == f.name) {
                        Some((_, x)) => coerce(schema, x, &f.ty, &sub, depth + 1)?,
                        None if matches!(f.ty, Type::NonNull(_)) => {
                            return Err(Error::validation(
                                path,
                                format!("missing required field '{}'", f.name),
                            ))
                        }
                        None => {}
                    }
                }
                return Ok(());
            }
            // Custom and Postgres scalars: any JSON value.
            Ok(())
        }
    }
}

/// An error in the handler's answer: `unexpected`, as Hasura reports them.
fn unexpected(message: String) -> Error {
    Error::new(ErrorCode::Unexpected, "$", message)
}

/// The handler's answer checked against the action's output type and cut to the selection:
/// the JSON of the field's value, with each relationship's join key in its place (see
/// [`OutKind::Join`]). The whole answer is checked against the type (every field of an
/// object type, selected or not), as Hasura does; fields the type does not have are ignored.
pub fn shape_output(schema: &Schema, call: &ActionCall, answer: &Value) -> Result<String> {
    let action = schema
        .action(&call.action)
        .ok_or_else(|| Error::validation("$", format!("action '{}' not found", call.action)))?;
    check_answer(schema, action, answer)?;
    select_output(call, answer)
}

/// Checks a handler's answer against the action's output type (see [`shape_output`]).
pub fn check_answer(schema: &Schema, action: &Action, answer: &Value) -> Result<()> {
    check_output(schema, answer, &action.output_type, None, 0)
}

/// The selected part of a value already checked (an asynchronous action's result object).
pub fn select_output(call: &ActionCall, value: &Value) -> Result<String> {
    let mut out = String::new();
    write_output(&mut out, value, &call.output, 0)?;
    Ok(out)
}

/// The `id` argument of an asynchronous action's result field, bound to the request's
/// variables: a UUID's text.
pub fn result_id(call: &ActionCall, variables: &[(String, Value)]) -> Result<String> {
    let path = format!("$.selectionSet.{}.args.id", call.key);
    let given = call
        .arguments
        .iter()
        .find(|(n, _)| n == "id")
        .and_then(|(_, v)| substitute(v, variables, &call.defaults, 0).transpose())
        .transpose()?;
    let Some(Value::String(id)) = given else {
        return Err(Error::validation(path, "expected a uuid for the action id"));
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let parts: Vec<&str> = id.split('-').collect();
    let ok = parts.len() == 5
        && hex(parts[0], 8)
        && hex(parts[1], 4)
        && hex(parts[2], 4)
        && hex(parts[3], 4)
        && hex(parts[4], 12);
    if !ok {
        return Err(Error::validation(path, format!("invalid uuid: {:?}", id)));
    }
    Ok(id)
}

/// The value's kind as Hasura names it in these messages.
fn got(v: &Value) -> String {
    match v {
        Value::Null => String::from("null"),
        Value::List(_) => String::from("array"),
        Value::Object(_) => String::from("object"),
        Value::Boolean(_) => String::from("scalar Boolean"),
        Value::Number(_) => String::from("scalar Number"),
        _ => String::from("scalar String"),
    }
}

fn check_output(
    schema: &Schema,
    v: &Value,
    ty: &Type,
    field: Option<&str>,
    depth: usize,
) -> Result<()> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(unexpected(String::from(
            "the action webhook response is nested too deeply",
        )));
    }
    let (nullable, inner) = match ty {
        Type::NonNull(t) => (false, &**t),
        t => (true, t),
    };
    if v.is_null() {
        if nullable {
            return Ok(());
        }
        return Err(unexpected(match field {
            Some(f) => format!("expecting not null value for field \"{}\"", f),
            None => String::from("got null for the action webhook response"),
        }));
    }
    match inner {
        Type::List(item) => match v {
            Value::List(items) => {
                for x in items {
                    check_output(schema, x, item, field, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(unexpected(String::from(
                "expecting array for the action webhook response",
            ))),
        },
        Type::Named(name) => {
            if let Some(o) = schema.custom_types.object(name) {
                let Value::Object(fields) = v else {
                    return Err(unexpected(format!(
                        "got {} for the action webhook response, expecting {}",
                        got(v),
                        name
                    )));
                };
                for f in &o.fields {
                    match fields.iter().find(|(k, _)| *k == f.name) {
                        Some((_, x)) => check_output(schema, x, &f.ty, Some(&f.name), depth + 1)?,
                        None if matches!(f.ty, Type::NonNull(_)) => {
                            return Err(unexpected(format!(
                                "field \"{}\" expected in webhook response, but not found",
                                f.name
                            )))
                        }
                        None => {}
                    }
                }
                return Ok(());
            }
            let ok = match name.as_str() {
                "Int" => matches!(v, Value::Number(n) if !n.contains(['.', 'e', 'E'])),
                "Float" => matches!(v, Value::Number(_)),
                "String" | "ID" => matches!(v, Value::String(_) | Value::Number(_)),
                "Boolean" => matches!(v, Value::Boolean(_)),
                _ => match schema.custom_types.enum_type(name) {
                    Some(e) => {
                        matches!(v, Value::String(s) if e.values.iter().any(|x| &x.value == s))
                    }
                    // Custom and Postgres scalars: any JSON value.
                    None => true,
                },
            };
            let ok = ok && !(name == "String" && matches!(v, Value::Number(_)));
            if ok {
                return Ok(());
            }
            Err(unexpected(format!(
                "got {} for the action webhook response, expecting {}",
                got(v),
                name
            )))
        }
        Type::NonNull(_) => check_output(schema, v, inner, field, depth + 1),
    }
}

/// Writes the selected part of a checked value.
fn write_output(out: &mut String, v: &Value, sel: &[OutField], depth: usize) -> Result<()> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(unexpected(String::from(
            "the action webhook response is nested too deeply",
        )));
    }
    match v {
        Value::List(items) if !sel.is_empty() => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_output(out, x, sel, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(fields) if !sel.is_empty() => {
            let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            out.push('{');
            let mut first = true;
            for f in sel {
                // An object-typed field the answer leaves out is left out (Hasura's answers
                // do so); a scalar one is null.
                if let OutKind::Field { name, nested } = &f.kind {
                    if !nested.is_empty() && get(name).is_none() {
                        continue;
                    }
                }
                if !first {
                    out.push(',');
                }
                first = false;
                crate::encode::write_json_string(out, &f.key);
                out.push(':');
                match &f.kind {
                    OutKind::Typename(t) => crate::encode::write_json_string(out, t),
                    OutKind::Field { name, nested } => match get(name) {
                        Some(x) => write_output(out, x, nested, depth + 1)?,
                        None => out.push_str("null"),
                    },
                    OutKind::Join { fields } => {
                        let key: Vec<&Value> = fields.iter().filter_map(|n| get(n)).collect();
                        if key.len() != fields.len() || key.iter().any(|k| k.is_null()) {
                            out.push_str("null");
                        } else {
                            out.push('[');
                            for (j, k) in key.iter().enumerate() {
                                if j > 0 {
                                    out.push(',');
                                }
                                crate::encode::write_json(out, k);
                            }
                            out.push(']');
                        }
                    }
                }
            }
            out.push('}');
        }
        other => crate::encode::write_json(out, other),
    }
    Ok(())
}
