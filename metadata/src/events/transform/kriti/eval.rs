//! Kriti's evaluation of a parsed template against its variables.
use super::functions::call;
use super::parse::{Expr, Op};
use super::{KritiError, Span};
use serde_json::{Map, Number, Value as Json};
use std::cmp::Ordering;

type PResult<T> = Result<T, KritiError>;

/// What a template sees: its variables (`$body`, …) and the session variables
/// (`getSessionVariable`).
pub struct Env<'a> {
    pub vars: Vec<(&'a str, &'a Json)>,
    pub session: &'a Json,
}

struct Eval<'a> {
    env: &'a Env<'a>,
    locals: Vec<(String, Json)>,
}

pub(super) fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Object(_) => "Object",
        Json::Array(_) => "Array",
        Json::String(_) => "String",
        Json::Number(_) => "Number",
        Json::Bool(_) => "Boolean",
        Json::Null => "Null",
    }
}

/// Equality of JSON values, numbers by value (`1 == 1.0`).
pub fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => num_cmp(x, y) == Ordering::Equal,
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num_cmp(x: &Number, y: &Number) -> Ordering {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => x
                .as_f64()
                .unwrap_or(f64::NAN)
                .partial_cmp(&y.as_f64().unwrap_or(f64::NAN))
                .unwrap_or(Ordering::Equal),
        },
    }
}

/// Aeson's order of values: by kind (object < array < string < number < boolean < null), then
/// by content.
fn json_cmp(a: &Json, b: &Json) -> Ordering {
    let rank = |v: &Json| match v {
        Json::Object(_) => 0,
        Json::Array(_) => 1,
        Json::String(_) => 2,
        Json::Number(_) => 3,
        Json::Bool(_) => 4,
        Json::Null => 5,
    };
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => num_cmp(x, y),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Array(x), Json::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(a, b)| json_cmp(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        (Json::Object(x), Json::Object(y)) => {
            let mut x: Vec<_> = x.iter().collect();
            let mut y: Vec<_> = y.iter().collect();
            x.sort_by(|a, b| a.0.cmp(b.0));
            y.sort_by(|a, b| a.0.cmp(b.0));
            x.iter()
                .zip(&y)
                .map(|((k, v), (l, w))| k.cmp(l).then_with(|| json_cmp(v, w)))
                .find(|o| o.is_ne())
                .unwrap_or(x.len().cmp(&y.len()))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A value's text in a string: a string's own text, anything else its JSON.
fn text_of(v: Json) -> String {
    match v {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

fn not_boolean(v: &Json, span: Span) -> KritiError {
    KritiError::new("Type Error", format!("'{v}' is not a boolean."), span)
}

impl Eval<'_> {
    fn eval(&mut self, e: &Expr) -> PResult<Json> {
        Ok(self.eval_opt(e)?.unwrap_or(Json::Null))
    }

    /// `None`: an optional lookup (`?.`) found nothing, which ends the whole path as null.
    fn eval_opt(&mut self, e: &Expr) -> PResult<Option<Json>> {
        Ok(Some(match e {
            Expr::Str(s, _) => Json::String(s.clone()),
            Expr::StrTem(pieces, _) => {
                let mut out = String::new();
                for p in pieces {
                    out.push_str(&text_of(self.eval(p)?));
                }
                Json::String(out)
            }
            Expr::Num(n, _) => Json::Number(n.clone()),
            Expr::Bool(b, _) => Json::Bool(*b),
            Expr::Null(_) => Json::Null,
            Expr::Array(items, _) => {
                Json::Array(items.iter().map(|x| self.eval(x)).collect::<PResult<_>>()?)
            }
            Expr::Object(fields, _) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    let k = text_of(self.eval(k)?);
                    m.insert(k, self.eval(v)?);
                }
                Json::Object(m)
            }
            Expr::Var(name, span) => {
                if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| n == name) {
                    v.clone()
                } else if let Some((_, v)) = self.env.vars.iter().find(|(n, _)| n == name) {
                    (*v).clone()
                } else {
                    return Err(KritiError::new(
                        "Name Error",
                        format!("Variable '{name}' not in scope"),
                        *span,
                    ));
                }
            }
            Expr::Field {
                obj,
                key,
                optional,
                span,
            } => {
                let Some(o) = self.eval_opt(obj)? else {
                    return Ok(None);
                };
                let k = self.eval(key)?;
                return lookup(o, k, *optional, *span);
            }
            Expr::App(f, arg, span) => {
                let v = self.eval(arg)?;
                let Expr::Var(name, fspan) = &**f else {
                    return Err(KritiError::new(
                        "Type Error",
                        "Only a function can be applied.",
                        *span,
                    ));
                };
                match call(name, v, self.env.session) {
                    None => {
                        return Err(KritiError::new(
                            "Name Error",
                            format!("Variable '{name}' not in scope"),
                            *fspan,
                        ))
                    }
                    Some(Err(m)) => return Err(KritiError::new("Function Error", m, arg.span())),
                    Some(Ok(v)) => v,
                }
            }
            Expr::Bin(Op::Default, l, r, _) => match self.eval(l)? {
                Json::Null => self.eval(r)?,
                v => v,
            },
            Expr::Bin(op, l, r, span) => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                match op {
                    Op::Eq => Json::Bool(json_eq(&a, &b)),
                    Op::Ne => Json::Bool(!json_eq(&a, &b)),
                    Op::Gt => Json::Bool(json_cmp(&a, &b).is_gt()),
                    Op::Lt => Json::Bool(json_cmp(&a, &b).is_lt()),
                    Op::Ge => Json::Bool(json_cmp(&a, &b).is_ge()),
                    Op::Le => Json::Bool(json_cmp(&a, &b).is_le()),
                    Op::And | Op::Or => match (&a, &b) {
                        (Json::Bool(p), Json::Bool(q)) => {
                            Json::Bool(if *op == Op::And { *p && *q } else { *p || *q })
                        }
                        (_, Json::Bool(_)) => return Err(not_boolean(&a, *span)),
                        _ => return Err(not_boolean(&b, *span)),
                    },
                    Op::In => match (&a, &b) {
                        (Json::String(k), Json::Object(m)) => Json::Bool(m.contains_key(k)),
                        (_, Json::Object(_)) => {
                            return Err(KritiError::new(
                                "Type Error",
                                format!("{a} is not a String."),
                                *span,
                            ))
                        }
                        (_, Json::Array(xs)) => Json::Bool(xs.iter().any(|x| json_eq(x, &a))),
                        _ => {
                            return Err(KritiError::new(
                                "Type Error",
                                format!("{b} is not an Object or Array."),
                                *span,
                            ))
                        }
                    },
                    Op::Default => unreachable!("handled above"),
                }
            }
            Expr::If(branches, otherwise, span) => {
                for (cond, body) in branches {
                    match self.eval(cond)? {
                        Json::Bool(true) => return self.eval_opt(body),
                        Json::Bool(false) => {}
                        other => return Err(not_boolean(&other, *span)),
                    }
                }
                match otherwise {
                    Some(body) => return self.eval_opt(body),
                    None => Json::Null,
                }
            }
            Expr::Range {
                index,
                binder,
                list,
                body,
                span,
            } => {
                let Json::Array(items) = self.eval(list)? else {
                    return Err(KritiError::new(
                        "Range Error",
                        "Can only range over an array",
                        *span,
                    ));
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let depth = self.locals.len();
                    if let Some(index) = index {
                        self.locals.push((index.clone(), Json::from(i)));
                    }
                    self.locals.push((binder.clone(), item));
                    let v = self.eval(body);
                    self.locals.truncate(depth);
                    out.push(v?);
                }
                Json::Array(out)
            }
        }))
    }
}

/// `o[k]`: a field of an object by a string, an element of an array by an integer.
fn lookup(o: Json, k: Json, optional: bool, span: Span) -> PResult<Option<Json>> {
    let missing = |message: String, code| {
        if optional {
            Ok(None)
        } else {
            Err(KritiError::new(code, message, span))
        }
    };
    match (o, k) {
        (Json::Object(mut m), Json::String(k)) => match m.remove(&k) {
            Some(v) => Ok(Some(v)),
            None => missing(
                format!("'Object' has no attribute '{k}'."),
                "Attribute Error",
            ),
        },
        (Json::Array(mut xs), Json::Number(n)) => {
            let Some(i) = n.as_i64() else {
                return Err(KritiError::new(
                    "Type Error",
                    format!("Unexpected Float '{n}', expected an integer."),
                    span,
                ));
            };
            match usize::try_from(i).ok().filter(|&i| i < xs.len()) {
                Some(i) => Ok(Some(xs.swap_remove(i))),
                None => missing(format!("Index {i} out of range."), "Index Error"),
            }
        }
        (Json::Null, _) if optional => Ok(None),
        (o, Json::String(k)) if !o.is_object() => missing(
            format!("'{}' has no attribute '{k}'.", type_name(&o)),
            "Attribute Error",
        ),
        (o @ (Json::Object(_) | Json::Array(_)), k) => Err(KritiError::new(
            "Type Error",
            format!(
                "Unexpected type '{}', expected {}.",
                type_name(&k),
                if o.is_object() {
                    "a string"
                } else {
                    "an integer"
                }
            ),
            span,
        )),
        (o, _) => Err(KritiError::new(
            "Type Error",
            format!(
                "Unexpected type '{}' expected an Object or an Array.",
                type_name(&o)
            ),
            span,
        )),
    }
}

/// Evaluates a parsed template.
pub fn eval(e: &Expr, env: &Env) -> Result<Json, KritiError> {
    Eval {
        env,
        locals: Vec::new(),
    }
    .eval(e)
}
