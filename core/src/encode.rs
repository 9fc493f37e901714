//! Turning values into bind-parameter text.
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode, Result};
use crate::plan::{Encoding, ParamSpec};
use crate::session::Session;
use crate::value::Value;

pub fn bind_param(
    p: &ParamSpec,
    variables: &[(String, Value)],
    session: &Session,
) -> Result<Option<String>> {
    match p {
        ParamSpec::Const(c) => Ok(c.clone()),
        ParamSpec::Session(name) => match session.var(name) {
            Some(v) => Ok(Some(v.to_string())),
            None => Err(Error::new(
                ErrorCode::NotFound,
                "$",
                format!("missing session variable: \"{}\"", name),
            )),
        },
        ParamSpec::SessionJson => Ok(Some(session_json(session))),
        ParamSpec::Variable {
            name,
            path,
            encoding,
        } => {
            let mut v = variables
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .unwrap_or(&Value::Null);
            for key in path {
                v = v.get(key).unwrap_or(&Value::Null);
            }
            encode(v, *encoding)
        }
    }
}

/// The session as a JSON object (`{"x-hasura-role":"user",...}`).
pub fn session_json(session: &Session) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let mut push = |k: &str, v: &str, out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
        write_json_string(out, k);
        out.push(':');
        write_json_string(out, v);
    };
    if session.var("x-hasura-role").is_none() {
        push("x-hasura-role", &session.role, &mut out);
    }
    for (k, v) in &session.vars {
        push(k, v, &mut out);
    }
    out.push('}');
    out
}

pub fn encode(v: &Value, encoding: Encoding) -> Result<Option<String>> {
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(match encoding {
        Encoding::Scalar => scalar_text(v),
        Encoding::Json => {
            let mut s = String::new();
            write_json(&mut s, v);
            s
        }
        Encoding::PgArray => {
            let mut s = String::new();
            write_pg_array(&mut s, v);
            s
        }
    }))
}

/// Text of a scalar for Postgres input; lists and objects become JSON text.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Boolean(b) => if *b { "true" } else { "false" }.to_string(),
        Value::Number(n) => plain_decimal(n).unwrap_or_else(|| n.clone()),
        Value::String(s) | Value::Enum(s) => s.clone(),
        Value::Variable(n) => n.clone(),
        Value::List(_) | Value::Object(_) => {
            let mut s = String::new();
            write_json(&mut s, v);
            s
        }
    }
}

/// A Postgres array literal: `{1,2,"a \"b\""}`; nested lists become nested arrays.
/// Largest exponent [`plain_decimal`] expands (beyond it the number is out of range for every
/// Postgres numeric type anyway, and the text would only grow).
const MAX_EXPANDED_EXPONENT: i64 = 1000;

/// A number in exponent notation (`-2E-2`) as plain decimal text (`-0.02`), exactly, digit by
/// digit: Postgres' `money` (and integer) input does not read exponents, `numeric` and `float`
/// read both. `None` when `n` has no exponent or is not a number.
pub fn plain_decimal(n: &str) -> Option<String> {
    let (mantissa, exp) = n.split_once(['e', 'E'])?;
    let exp: i64 = exp.parse().ok()?;
    if exp.abs() > MAX_EXPANDED_EXPONENT {
        return None;
    }
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp;
    let len = digits.len() as i64;
    let (int, frac) = if point <= 0 {
        (String::new(), "0".repeat((-point) as usize) + &digits)
    } else if point >= len {
        (digits + &"0".repeat((point - len) as usize), String::new())
    } else {
        let (i, f) = digits.split_at(point as usize);
        (i.to_string(), f.to_string())
    };
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// Whether a number's text is a plain JSON number (digits, sign, point, exponent).
fn is_plain_number(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// `text` as one element of a Postgres array literal: in double quotes, `"` and `\` escaped,
/// so it is read as exactly that text (never as `NULL`, never split).
pub fn write_array_element(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}

pub fn write_pg_array(out: &mut String, v: &Value) {
    match v {
        Value::List(items) => {
            out.push('{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    Value::Null => out.push_str("NULL"),
                    Value::List(_) => write_pg_array(out, item),
                    // Numbers and booleans need no quotes (their text has none of `{},"\` or
                    // spaces): `{1,2,3}`, as Hasura writes them.
                    Value::Number(_) if is_plain_number(&scalar_text(item)) => {
                        out.push_str(&scalar_text(item))
                    }
                    Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
                    other => write_array_element(out, &scalar_text(other)),
                }
            }
            out.push('}');
        }
        // A single value where a list is expected: GraphQL input coercion wraps it.
        other => write_pg_array(out, &Value::List(Vec::from([other.clone()]))),
    }
}

pub fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) | Value::Enum(s) | Value::Variable(s) => write_json_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

pub fn write_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs without escapes are copied whole; every escaped character is ASCII, so the
    // indices below are character boundaries.
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A number the `limit`/`offset` arguments accept: a non-negative 32-bit integer literal.
pub fn is_page_int(n: &str) -> bool {
    !n.contains(['.', 'e', 'E'])
        && matches!(n.parse::<i64>(), Ok(i) if (0..=i32::MAX as i64).contains(&i))
}

/// Checks the request's variables against the operation's definitions (GraphQL input coercion
/// for the built-in scalars): a missing non-null variable, or a value of the wrong kind for
/// `Int`, `Float`, `Boolean`, `String` or `ID`, is a `validation-failed` error at
/// `$.variableValues.<name>`. Other types (Postgres scalars, input objects) are checked where
/// they are used.
pub fn check_variables(
    defs: &[(String, crate::parse::ast::Type)],
    variables: &[(String, Value)],
) -> Result<()> {
    check_depths(variables)?;
    for (name, ty) in defs {
        let v = variables.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let path = format!("$.variableValues.{}", name);
        check_value(v.unwrap_or(&Value::Null), ty, &path, v.is_none())?;
    }
    Ok(())
}

/// Most lists and objects nested in one variable's value: the parser's bound for literals, and
/// what the edge's JSON decoder accepts. Every walk over values (validation, boolean
/// expressions, encoding, cloning) recurses at most this deep.
pub const MAX_VALUE_DEPTH: usize = crate::parse::MAX_DEPTH;

/// Rejects variable values nested deeper than [`MAX_VALUE_DEPTH`] (checked without recursion),
/// before anything else walks them: `validation-failed` at `$.variableValues.<name>`.
pub fn check_depths(variables: &[(String, Value)]) -> Result<()> {
    for (name, v) in variables {
        let mut stack: Vec<(&Value, usize)> = Vec::from([(v, 0)]);
        while let Some((v, depth)) = stack.pop() {
            let items: &mut dyn Iterator<Item = &Value> = match v {
                Value::List(items) => &mut items.iter(),
                Value::Object(fields) => &mut fields.iter().map(|(_, v)| v),
                _ => continue,
            };
            if depth >= MAX_VALUE_DEPTH {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    format!("$.variableValues.{}", name),
                    format!(
                        "the value is nested too deeply (more than {} levels of lists and objects)",
                        MAX_VALUE_DEPTH
                    ),
                ));
            }
            stack.extend(items.map(|i| (i, depth + 1)));
        }
    }
    Ok(())
}

pub(crate) fn check_value(
    v: &Value,
    ty: &crate::parse::ast::Type,
    path: &str,
    absent: bool,
) -> Result<()> {
    use crate::parse::ast::Type;
    match ty {
        Type::NonNull(inner) => {
            if v.is_null() {
                // An absent variable may still have a default in its definition (checked at
                // compile time); an explicit null for a non-null type is an error.
                if absent {
                    return Ok(());
                }
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    path,
                    format!(
                        "null value found for non-nullable type: \"{}\"",
                        type_text(ty)
                    ),
                ));
            }
            check_value(v, inner, path, false)
        }
        _ if v.is_null() => Ok(()),
        Type::List(inner) => match v {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_value(item, inner, &format!("{}[{}]", path, i), false)?;
                }
                Ok(())
            }
            // Input coercion: a single value stands for a list of one.
            other => check_value(other, inner, path, false),
        },
        Type::Named(name) => {
            let (ok, expected) = match name.as_str() {
                "Int" => (
                    matches!(v, Value::Number(n) if !n.contains(['.', 'e', 'E']) && n.parse::<i32>().is_ok()),
                    "a 32-bit integer",
                ),
                "Float" => (matches!(v, Value::Number(_)), "a float"),
                "Boolean" => (matches!(v, Value::Boolean(_)), "a boolean"),
                "String" => (matches!(v, Value::String(_)), "a string"),
                "ID" => (
                    matches!(v, Value::String(_) | Value::Number(_)),
                    "a String or a 32-bit integer",
                ),
                _ => return Ok(()),
            };
            if ok {
                return Ok(());
            }
            Err(Error::new(
                ErrorCode::ValidationFailed,
                path,
                format!(
                    "expected {} for type '{}', but found {}",
                    expected,
                    name,
                    crate::value::article(v.kind())
                ),
            ))
        }
    }
}

pub(crate) fn type_text(ty: &crate::parse::ast::Type) -> String {
    use crate::parse::ast::Type;
    match ty {
        Type::Named(n) => n.clone(),
        Type::List(t) => format!("[{}]", type_text(t)),
        Type::NonNull(t) => format!("{}!", type_text(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::write_json_string;
    use alloc::string::String;

    /// The written string is JSON text that reads back as the string, escaped as before
    /// (`\uXXXX` only for the other control characters, lower-case hex).
    #[test]
    fn json_strings_read_back() {
        for s in [
            "",
            "plain",
            "a\"b\\c\nd\re\tf",
            "\u{0}\u{1f}\u{7f}é€😀",
            "\u{1b}[0m",
            "\\",
        ] {
            let mut out = String::new();
            write_json_string(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s, "{out}");
        }
        let mut out = String::new();
        write_json_string(&mut out, "x\u{1}\u{1f}y\"é");
        assert_eq!(out, "\"x\\u0001\\u001fy\\\"é\"");
    }

    proptest::proptest! {
        #[test]
        fn any_string_reads_back(s in ".*") {
            let mut out = String::new();
            write_json_string(&mut out, &s);
            proptest::prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }
}
