//! Kriti's basic functions and Hasura's `getSessionVariable`.
use super::eval::type_name;
use serde_json::{Map, Number, Value as Json};

fn mismatch(expected: &str, v: &Json) -> String {
    format!(
        "parsing {expected} failed, expected {expected}, but encountered {}",
        type_name(v)
    )
}

fn string_fn(v: Json, f: impl Fn(&str) -> String) -> Result<Json, String> {
    match v {
        Json::String(s) => Ok(Json::String(f(&s))),
        other => Err(mismatch("String", &other)),
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters (UTF-8 bytes, upper-case hex).
pub fn escape_uri(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn title_case(s: &str) -> String {
    let mut out = String::new();
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = c.is_alphanumeric() || c == '\'';
        }
    }
    out
}

/// Calls the function `name` (`None`: there is none).
pub(super) fn call(name: &str, v: Json, session: &Json) -> Option<Result<Json, String>> {
    Some(match name {
        "empty" => match v {
            Json::Object(m) => Ok(Json::Bool(m.is_empty())),
            Json::Array(a) => Ok(Json::Bool(a.is_empty())),
            Json::String(s) => Ok(Json::Bool(s.trim().is_empty())),
            Json::Number(n) => Ok(Json::Bool(n.as_f64() == Some(0.0))),
            Json::Bool(_) => Err("Cannot define emptiness for a boolean".into()),
            Json::Null => Ok(Json::Bool(true)),
        },
        "size" | "length" => Ok(match v {
            Json::Object(m) => Json::from(m.len()),
            Json::Array(a) => Json::from(a.len()),
            Json::String(s) => Json::from(s.chars().count()),
            Json::Number(n) => Json::Number(n),
            Json::Bool(b) => Json::from(u8::from(b)),
            Json::Null => Json::from(0),
        }),
        "inverse" => match v {
            Json::Array(mut a) => {
                a.reverse();
                Ok(Json::Array(a))
            }
            Json::String(s) => Ok(Json::String(s.chars().rev().collect())),
            Json::Number(n) => match n.as_f64() {
                Some(x) if x != 0.0 => {
                    Ok(Number::from_f64(1.0 / x).map_or(Json::Null, Json::Number))
                }
                _ => Err("Cannot invert 0".into()),
            },
            Json::Bool(b) => Ok(Json::Bool(!b)),
            other => Ok(other),
        },
        "head" => match v {
            Json::Array(a) => a.into_iter().next().ok_or_else(|| "Empty array".into()),
            Json::String(s) => s
                .chars()
                .next()
                .map(|c| Json::String(c.to_string()))
                .ok_or_else(|| "Empty string".into()),
            _ => Err("Expected an array or string".into()),
        },
        "tail" => match v {
            Json::Array(a) => Ok(Json::Array(a.into_iter().skip(1).collect())),
            Json::String(s) => Ok(Json::String(s.chars().skip(1).collect())),
            _ => Err("Expected an array or string".into()),
        },
        "toCaseFold" => string_fn(v, |s| s.to_lowercase().replace('ß', "ss")),
        "toLower" => string_fn(v, str::to_lowercase),
        "toUpper" => string_fn(v, str::to_uppercase),
        "toTitle" => string_fn(v, title_case),
        "escapeUri" => string_fn(v, escape_uri),
        "not" => match v {
            Json::Bool(b) => Ok(Json::Bool(!b)),
            other => Err(mismatch("Bool", &other)),
        },
        "toPairs" => match v {
            Json::Object(m) => Ok(Json::Array(
                m.into_iter()
                    .map(|(k, v)| Json::Array(vec![Json::String(k), v]))
                    .collect(),
            )),
            other => Err(mismatch("Object", &other)),
        },
        "fromPairs" => match v {
            Json::Array(pairs) => {
                let mut m = Map::new();
                for p in pairs {
                    match p {
                        Json::Array(kv) if kv.len() == 2 && kv[0].is_string() => {
                            let mut kv = kv.into_iter();
                            if let (Some(Json::String(k)), Some(v)) = (kv.next(), kv.next()) {
                                m.insert(k, v);
                            }
                        }
                        _ => {
                            return Some(Err("Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys.".into()))
                        }
                    }
                }
                Ok(Json::Object(m))
            }
            other => Err(mismatch("Nested Arrays", &other)),
        },
        "removeNulls" => match v {
            Json::Array(a) => Ok(Json::Array(
                a.into_iter().filter(|x| !x.is_null()).collect(),
            )),
            other => Err(mismatch("Array", &other)),
        },
        "concat" => match v {
            Json::Array(items) => {
                if items.iter().all(Json::is_array) {
                    Ok(Json::Array(
                        items
                            .into_iter()
                            .flat_map(|x| match x {
                                Json::Array(a) => a,
                                _ => Vec::new(),
                            })
                            .collect(),
                    ))
                } else if items.iter().all(Json::is_string) {
                    Ok(Json::String(
                        items.iter().filter_map(Json::as_str).collect(),
                    ))
                } else if items.iter().all(Json::is_object) {
                    let mut m = Map::new();
                    for x in items {
                        if let Json::Object(o) = x {
                            m.extend(o);
                        }
                    }
                    Ok(Json::Object(m))
                } else {
                    let bad = items.iter().find(|x| !x.is_object()).unwrap_or(&Json::Null);
                    Err(mismatch("Nested Object", bad).replacen(
                        "expected Nested Object",
                        "expected Object",
                        1,
                    ))
                }
            }
            other => Err(mismatch("Array", &other)),
        },
        "getSessionVariable" => match v {
            Json::String(name) => session
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(&name)))
                .map(|(_, v)| match v {
                    Json::String(_) => v.clone(),
                    other => Json::String(other.to_string()),
                })
                .ok_or_else(|| format!("Session variable \"{name}\" not found")),
            _ => Err("Session variable name should be a string".into()),
        },
        _ => return None,
    })
}
