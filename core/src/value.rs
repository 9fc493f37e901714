//! A GraphQL/JSON value that keeps every distinction core needs: *absent* is `Option::None`
//! at the use site, `Null` is an explicit null, enums are apart from strings, numbers keep
//! their source text (so bigint/numeric never lose precision).
use alloc::string::String;
use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    /// A number as written (JSON or GraphQL literal), e.g. `42`, `-1.5e3`.
    Number(String),
    String(String),
    /// A GraphQL enum literal (`asc`, `desc_nulls_last`); from JSON variables enums arrive as `String`.
    Enum(String),
    List(Vec<Value>),
    /// Fields in source order.
    Object(Vec<(String, Value)>),
    /// `$name` in a GraphQL document, before variables are substituted.
    Variable(String),
}

/// "a string", "an integer": a value kind with its indefinite article, for messages.
pub fn article(kind: &str) -> String {
    match kind.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => alloc::format!("an {}", kind),
        _ => alloc::format!("a {}", kind),
    }
}

/// The default is the empty object: as a boolean expression, "no condition".
impl Default for Value {
    fn default() -> Self {
        Value::Object(Vec::new())
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The field of an object value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// Short name of the kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Number(n) if n.contains(['.', 'e', 'E']) => "float",
            Value::Number(_) => "integer",
            Value::String(_) => "string",
            Value::Enum(_) => "enum",
            Value::List(_) => "list",
            Value::Object(_) => "object",
            Value::Variable(_) => "variable",
        }
    }
}
