//! Remote relationships to another source's table ([`RemoteJoin`]): the query's statement
//! answered with, wherever such a field is, the JSON array of the row's join columns; here the
//! distinct keys go to the target source's statement in one call per relationship (never one
//! per row), and each key is replaced by the value answered for it.
//!
//! The answer is walked as text (`RawValue`) along the join's path of response keys — numbers
//! and strings are copied as Postgres wrote them, never re-encoded — and only at that path, so
//! data (a json column) cannot pass for a key.
use std::collections::HashMap;

use graphedge_core::{Plan, RemoteJoin, Session, Value, REMOTE_KEYS_VARIABLE};
use indexmap::IndexMap;
use serde_json::value::RawValue;

use crate::error::EdgeError;
use crate::md::Database;
use crate::reqlog::RequestLog;
use crate::{Engine, Loaded};

type Raw = Box<RawValue>;

fn bad_answer() -> EdgeError {
    EdgeError::new(
        500,
        "unexpected",
        "a remote relationship's answer is not valid JSON",
    )
}

/// The values at `path` (response keys; lists are walked through) of `value`.
fn collect<'v>(
    value: &'v RawValue,
    path: &[String],
    out: &mut Vec<&'v RawValue>,
) -> Result<(), EdgeError> {
    let text = value.get().trim_start();
    let Some(key) = path.first() else {
        out.push(value);
        return Ok(());
    };
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(value.get()).map_err(|_| bad_answer())?;
        for item in items {
            collect(item, path, out)?;
        }
    } else if text.starts_with('{') {
        let fields: IndexMap<&str, &RawValue> =
            serde_json::from_str(value.get()).map_err(|_| bad_answer())?;
        if let Some(v) = fields.get(key.as_str()) {
            collect(v, &path[1..], out)?;
        }
    }
    Ok(())
}

/// `value` with every value at `path` replaced by `with(it)`.
fn replace(
    value: &RawValue,
    path: &[String],
    with: &dyn Fn(&RawValue) -> Raw,
) -> Result<Raw, EdgeError> {
    let text = value.get().trim_start();
    let Some(key) = path.first() else {
        return Ok(with(value));
    };
    let out = if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(value.get()).map_err(|_| bad_answer())?;
        let items = items
            .into_iter()
            .map(|i| replace(i, path, with))
            .collect::<Result<Vec<Raw>, _>>()?;
        serde_json::to_string(&items)
    } else if text.starts_with('{') {
        let mut fields: IndexMap<&str, Raw> =
            serde_json::from_str(value.get()).map_err(|_| bad_answer())?;
        if let Some(v) = fields.get_mut(key.as_str()) {
            *v = replace(v, &path[1..], with)?;
        }
        serde_json::to_string(&fields)
    } else {
        return Ok(value.to_owned());
    };
    out.map_err(|_| bad_answer())
        .and_then(|t| RawValue::from_string(t).map_err(|_| bad_answer()))
}

/// The answer `data` (JSON text) of `plan` with its remote relationships filled in.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    plan: &Plan,
    variables: &[(String, Value)],
    outbound: &crate::actions::Outbound<'_, impl crate::http::HttpClient>,
    data: String,
    log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    apply_joins(
        engine,
        loaded,
        db,
        session,
        &plan.remote_joins,
        variables,
        outbound,
        data,
        log,
    )
    .await
}

/// A root field's value (JSON text) under its response `key` with the keys of `joins` (paths
/// from `key`) replaced by their answers: an action's output, a remote schema's field.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_under_key(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    key: &str,
    value: String,
    joins: &[RemoteJoin],
    variables: &[(String, Value)],
    outbound: &crate::actions::Outbound<'_, impl crate::http::HttpClient>,
    log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    if joins.is_empty() {
        return Ok(value);
    }
    let mut wrapped = String::from("{");
    graphedge_core::encode::write_json_string(&mut wrapped, key);
    wrapped.push(':');
    wrapped.push_str(&value);
    wrapped.push('}');
    let joined = apply_joins(
        engine, loaded, db, session, joins, variables, outbound, wrapped, log,
    )
    .await?;
    let fields: IndexMap<String, Raw> = serde_json::from_str(&joined).map_err(|_| bad_answer())?;
    Ok(fields
        .get(key)
        .map_or_else(|| "null".to_string(), |v| v.get().to_string()))
}

/// `data` (JSON text) with the keys of `joins` replaced by their answers (also used for the
/// relationships of an action's output).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_joins(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    joins: &[RemoteJoin],
    variables: &[(String, Value)],
    outbound: &crate::actions::Outbound<'_, impl crate::http::HttpClient>,
    data: String,
    mut log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    let mut data: Raw = RawValue::from_string(data).map_err(|_| bad_answer())?;
    for join in joins {
        let RemoteJoin {
            path,
            plan: target,
            remote,
        } = join;
        let mut found = Vec::new();
        collect(&data, path, &mut found)?;
        // Distinct keys, in order of appearance; a null key (no parent row) stays null.
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut keys: Vec<&str> = Vec::new();
        for k in found.iter().map(|k| k.get()).filter(|k| *k != "null") {
            index.entry(k).or_insert_with(|| {
                keys.push(k);
                keys.len() - 1
            });
        }
        if keys.is_empty() {
            continue;
        }
        let values: Vec<Raw> = match remote {
            Some(call) => {
                let keys: Vec<Vec<Value>> = keys
                    .iter()
                    .map(|k| {
                        let items: Vec<serde_json::Value> =
                            serde_json::from_str(k).map_err(|_| bad_answer())?;
                        Ok(items.iter().map(crate::md::json_to_value).collect())
                    })
                    .collect::<Result<_, EdgeError>>()?;
                let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
                crate::remote_schemas::run_join(
                    engine, loaded, session, outbound, call, &keys, variables, log,
                )
                .await?
            }
            None => {
                run_source_join(
                    engine, loaded, db, session, target, variables, &keys, &mut log,
                )
                .await?
            }
        };
        if values.len() != keys.len() {
            return Err(bad_answer());
        }
        let index: HashMap<String, usize> =
            index.into_iter().map(|(k, i)| (k.to_string(), i)).collect();
        let null = || RawValue::from_string("null".into()).unwrap_or_default();
        data = replace(&data, path, &|key| {
            index
                .get(key.get())
                .and_then(|i| values.get(*i))
                .cloned()
                .unwrap_or_else(null)
        })?;
    }
    Ok(data.get().to_string())
}

/// The values of a relationship to another source's table for `keys`, in order.
async fn run_source_join(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    target: &Plan,
    variables: &[(String, Value)],
    keys: &[&str],
    log: &mut Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<Vec<Raw>, EdgeError> {
    {
        let mut vars = variables.to_vec();
        vars.push((
            REMOTE_KEYS_VARIABLE.to_string(),
            Value::String(format!("[{}]", keys.join(","))),
        ));
        let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let text = Box::pin(crate::graphql::run_plan(
            engine,
            loaded,
            db,
            session,
            target,
            &vars,
            &crate::actions::Outbound {
                http: &crate::http::NoHttp,
                client_headers: &[],
                query: "",
            },
            log,
        ))
        .await?;
        serde_json::from_str(&text).map_err(|_| bad_answer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_are_found_and_replaced_at_their_path_only() {
        let data = RawValue::from_string(
            r#"{"a":[{"id":1,"r":[1],"j":{"r":[9]}},{"id":12345678901234567890,"r":[2]},{"r":null}],"b":{"r":[3]}}"#
                .into(),
        )
        .unwrap();
        let mut found = Vec::new();
        collect(&data, &path(&["a", "r"]), &mut found).unwrap();
        let keys: Vec<&str> = found.iter().map(|k| k.get()).collect();
        assert_eq!(keys, ["[1]", "[2]", "null"]);
        let out = replace(&data, &path(&["a", "r"]), &|k| {
            RawValue::from_string(format!("{{\"for\":{}}}", k.get())).unwrap()
        })
        .unwrap();
        assert_eq!(
            out.get(),
            r#"{"a":[{"id":1,"r":{"for":[1]},"j":{"r":[9]}},{"id":12345678901234567890,"r":{"for":[2]}},{"r":{"for":null}}],"b":{"r":[3]}}"#
        );
    }
}
