//! Response comparison, RUNNER_SPEC §7.
//!
//! * Numbers compare by value, strings/booleans/null exactly, arrays element-wise.
//! * Objects compare as key sets plus values, key order ignored — except inside GraphQL `data`
//!   along the selection set of the request's first definition, where every object reached must
//!   have the same keys in the same order as the expected one. If that walk cannot be done
//!   (aliases, fragments, `data` null/missing, unparsable query, batch, non-GraphQL body) the
//!   whole body is compared without key order.
//! * Two verdicts: `strict` (the rules above) and `hasura` (as strict, but an error response
//!   expected and an error response received pass, as do batches whose common prefix matches;
//!   this is what Hasura's own harness reports).
//!
//! Every comparison returns `Err(description of the first difference)` on mismatch.

use crate::plan::value_to_header;
use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet};
use serde_json::{Number, Value};

/// The verdicts for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub strict: bool,
    pub hasura: bool,
    /// Why the strict verdict failed (status, header or first body difference).
    pub reason: Option<String>,
}

impl Outcome {
    fn pass() -> Outcome {
        Outcome {
            strict: true,
            hasura: true,
            reason: None,
        }
    }
    fn fail(reason: String) -> Outcome {
        Outcome {
            strict: false,
            hasura: false,
            reason: Some(reason),
        }
    }
}

/// Judges one case item (§7) given the actual HTTP status, response headers and body
/// (`Err(text)` when the body is not JSON).
pub fn judge_item(
    item: &Value,
    status: u16,
    headers: &[(String, String)],
    body: &Result<Value, String>,
) -> Outcome {
    let expected_status = item.get("status").and_then(Value::as_u64);
    if let Some(s) = expected_status {
        if u64::from(status) != s {
            return Outcome::fail(format!("status: expected {s}, got {status}"));
        }
    }
    let request = item.get("query").unwrap_or(&Value::Null);
    if let Some(Value::Array(allowed)) = item.get("allowed_responses") {
        let mut reasons = Vec::new();
        for entry in allowed {
            let h = check_headers(entry.get("resp_headers"), headers);
            let b = match (entry.get("response"), body) {
                (Some(exp), Ok(act)) => body_equal(exp, act, request),
                (None, _) => Ok(()),
                (Some(_), Err(text)) => Err(format!("body is not JSON: {}", clip(text, 200))),
            };
            match h.and(b) {
                Ok(()) => return Outcome::pass(),
                Err(e) => reasons.push(e),
            }
        }
        return Outcome::fail(format!(
            "no allowed response matched: {}",
            reasons.join(" | ")
        ));
    }
    let expected = match item.get("response") {
        Some(v) if truthy(v) => v,
        _ => return Outcome::pass(),
    };
    if let Err(e) = check_headers(item.get("resp_headers"), headers) {
        return Outcome::fail(e);
    }
    let actual = match body {
        Ok(v) => v,
        Err(text) => return Outcome::fail(format!("body is not JSON: {}", clip(text, 200))),
    };
    match body_equal(expected, actual, request) {
        Ok(()) => Outcome::pass(),
        Err(e) => Outcome {
            strict: false,
            hasura: hasura_lenient(expected, actual),
            reason: Some(e),
        },
    }
}

/// Python truthiness of a YAML/JSON value (an empty or falsy `response` is not checked).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Every expected header present (name case-insensitive) with exactly the expected value.
fn check_headers(expected: Option<&Value>, actual: &[(String, String)]) -> Result<(), String> {
    let Some(Value::Object(exp)) = expected else {
        return Ok(());
    };
    for (name, v) in exp {
        let want = value_to_header(v);
        let got: Vec<&str> = actual
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if !got.contains(&want.as_str()) {
            return Err(format!("header {name}: expected {want:?}, got {got:?}"));
        }
    }
    Ok(())
}

/// An error response: an object with a non-empty `errors` or `error` key.
pub fn is_error_response(v: &Value) -> bool {
    match v {
        Value::Object(o) => ["errors", "error"]
            .iter()
            .any(|k| o.get(*k).is_some_and(truthy)),
        _ => false,
    }
}

/// Hasura's leniency (§7.6) for a body that differs strictly.
pub fn hasura_lenient(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            for (x, y) in e.iter().zip(a) {
                if json_eq(x, y).is_err() {
                    return is_error_response(x) && is_error_response(y);
                }
            }
            true // common prefix equal, only lengths differ
        }
        _ => is_error_response(expected) && is_error_response(actual),
    }
}

/// Body equality (§7.5): ordered along the GraphQL selection set when possible.
pub fn body_equal(expected: &Value, actual: &Value, request: &Value) -> Result<(), String> {
    if let Some(result) = ordered_equal(expected, actual, request) {
        return result;
    }
    json_eq(expected, actual)
}

/// `None` when the ordered walk is not possible (then compare without order).
fn ordered_equal(expected: &Value, actual: &Value, request: &Value) -> Option<Result<(), String>> {
    let query = request.as_object()?.get("query")?.as_str()?;
    let doc = graphql_parser::parse_query::<&str>(query).ok()?;
    let selset = match doc.definitions.first()? {
        Definition::Operation(op) => match op {
            OperationDefinition::SelectionSet(s) => s,
            OperationDefinition::Query(q) => &q.selection_set,
            OperationDefinition::Mutation(m) => &m.selection_set,
            OperationDefinition::Subscription(s) => &s.selection_set,
        },
        Definition::Fragment(f) => &f.selection_set,
    };
    let (eo, ao) = (expected.as_object()?, actual.as_object()?);
    let exp_data = eo.get("data").filter(|d| d.is_object())?;
    let act_data = ao.get("data").filter(|d| d.is_object())?;
    let exp_tree = collapse(exp_data, Some(selset))?;
    let act_tree = collapse(act_data, Some(selset))?;
    // Top level: key sets, order ignored; `data` ordered, the rest unordered.
    let r = (|| {
        same_key_set(eo, ao, "$")?;
        for (k, ev) in eo {
            if k == "data" {
                tree_eq(&exp_tree, &act_tree, "$.data")?;
            } else {
                json_eq_at(ev, &ao[k], &format!("$.{k}"))?;
            }
        }
        Ok(())
    })();
    Some(r)
}

/// A response node after the selection-set walk.
enum Tree<'a> {
    /// An object reached along the selection set: its keys in response order, each with its
    /// sub-tree (selected fields with a sub-selection) or plain value.
    Ordered(Vec<(&'a str, Tree<'a>)>),
    List(Vec<Tree<'a>>),
    Plain(&'a Value),
}

/// Walks `node` along `selset`; `None` when the walk fails (fragments, alias keys missing).
fn collapse<'a, 'r, 'q>(
    node: &'a Value,
    selset: Option<&'r SelectionSet<'q, &'q str>>,
) -> Option<Tree<'a>> {
    match (node, selset) {
        (Value::Object(obj), Some(ss)) => {
            let mut sub: Vec<(&'q str, Option<&'r SelectionSet<'q, &'q str>>)> = Vec::new();
            for sel in &ss.items {
                let Selection::Field(f) = sel else {
                    return None;
                };
                // Looked up by field name, not alias: an alias makes the walk fail.
                obj.get(f.name)?;
                let s = (!f.selection_set.items.is_empty()).then_some(&f.selection_set);
                sub.push((f.name, s));
            }
            let mut out = Vec::with_capacity(obj.len());
            for (k, v) in obj {
                let child = match sub.iter().find(|(n, _)| *n == k.as_str()) {
                    Some((_, Some(s))) => collapse(v, Some(s))?,
                    _ => Tree::Plain(v),
                };
                out.push((k.as_str(), child));
            }
            Some(Tree::Ordered(out))
        }
        (Value::Array(items), Some(_)) => Some(Tree::List(
            items
                .iter()
                .map(|i| collapse(i, selset))
                .collect::<Option<_>>()?,
        )),
        (v, _) => Some(Tree::Plain(v)),
    }
}

fn tree_eq(e: &Tree<'_>, a: &Tree<'_>, path: &str) -> Result<(), String> {
    match (e, a) {
        (Tree::Ordered(ek), Tree::Ordered(ak)) => {
            let en: Vec<&str> = ek.iter().map(|(k, _)| *k).collect();
            let an: Vec<&str> = ak.iter().map(|(k, _)| *k).collect();
            if en != an {
                return Err(format!(
                    "{path}: keys differ (in order): expected {en:?}, got {an:?}"
                ));
            }
            for ((k, ev), (_, av)) in ek.iter().zip(ak) {
                tree_eq(ev, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Tree::List(el), Tree::List(al)) => {
            if el.len() != al.len() {
                return Err(format!(
                    "{path}: expected {} elements, got {}",
                    el.len(),
                    al.len()
                ));
            }
            for (i, (x, y)) in el.iter().zip(al).enumerate() {
                tree_eq(x, y, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Tree::Plain(x), Tree::Plain(y)) => json_eq_at(x, y, path),
        (x, y) => Err(format!(
            "{path}: expected {}, got {}",
            show_tree(x),
            show_tree(y)
        )),
    }
}

fn show_tree(t: &Tree<'_>) -> String {
    match t {
        Tree::Ordered(_) => "an object".into(),
        Tree::List(_) => "a list".into(),
        Tree::Plain(v) => clip(&v.to_string(), 120),
    }
}

/// JSON equality with key order ignored everywhere and numbers by value.
pub fn json_eq(e: &Value, a: &Value) -> Result<(), String> {
    json_eq_at(e, a, "$")
}

fn json_eq_at(e: &Value, a: &Value, path: &str) -> Result<(), String> {
    match (e, a) {
        (Value::Number(x), Value::Number(y)) if num_eq(x, y) => Ok(()),
        (Value::Null, Value::Null) => Ok(()),
        (Value::Bool(x), Value::Bool(y)) if x == y => Ok(()),
        (Value::String(x), Value::String(y)) if x == y => Ok(()),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!(
                    "{path}: expected {} elements, got {}",
                    x.len(),
                    y.len()
                ));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_eq_at(p, q, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Object(x), Value::Object(y)) => {
            same_key_set(x, y, path)?;
            for (k, v) in x {
                json_eq_at(v, &y[k], &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        _ => Err(format!(
            "{path}: expected {}, got {}",
            clip(&e.to_string(), 160),
            clip(&a.to_string(), 160)
        )),
    }
}

fn same_key_set(
    x: &serde_json::Map<String, Value>,
    y: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    let missing: Vec<&String> = x.keys().filter(|k| !y.contains_key(*k)).collect();
    let extra: Vec<&String> = y.keys().filter(|k| !x.contains_key(*k)).collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut msg = format!("{path}:");
    if !missing.is_empty() {
        msg.push_str(&format!(" missing keys {missing:?}"));
    }
    if !extra.is_empty() {
        msg.push_str(&format!(" unexpected keys {extra:?}"));
    }
    if let Some(k) = extra.first() {
        let got = clip(&y[k.as_str()].to_string(), 200);
        msg.push_str(&format!(" (got {k} = {got})"));
    }
    if let Some(k) = missing.first() {
        let want = clip(&x[k.as_str()].to_string(), 200);
        msg.push_str(&format!(" (expected {k} = {want})"));
    }
    Err(msg)
}

fn num_eq(x: &Number, y: &Number) -> bool {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a == b;
    }
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// At most `n` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gql(q: &str) -> Value {
        json!({ "query": q })
    }

    fn item(query: Value, response: Value) -> Value {
        json!({"url": "/v1/graphql", "status": 200, "query": query, "response": response})
    }

    fn judge(item: &Value, body: Value) -> Outcome {
        judge_item(item, 200, &[], &Ok(body))
    }

    #[test]
    fn numbers_by_value_and_unordered_objects() {
        assert!(json_eq(
            &json!({"a": 1, "b": [1.0, "x"]}),
            &json!({"b": [1, "x"], "a": 1.0})
        )
        .is_ok());
        assert!(json_eq(&json!(1), &json!("1")).is_err());
        assert!(json_eq(&json!([1, 2]), &json!([2, 1])).is_err());
        assert!(json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})).is_err());
        assert!(json_eq(&json!(null), &json!(false)).is_err());
        assert!(json_eq(&json!(9007199254740993u64), &json!(9007199254740993u64)).is_ok());
    }

    #[test]
    fn ordered_along_selection_set() {
        let q = gql("query { author { id name articles { title id } } }");
        let exp = json!({"data": {"author": [{"id": 1, "name": "a", "articles": [{"title": "t", "id": 2}]}]}});
        // Same order passes; top-level key order and leaf order do not matter.
        assert!(judge(&item(q.clone(), exp.clone()), exp.clone()).strict);
        // Wrong order of selected fields fails, also in nested lists.
        let bad = json!({"data": {"author": [{"name": "a", "id": 1, "articles": [{"title": "t", "id": 2}]}]}});
        let o = judge(&item(q.clone(), exp.clone()), bad);
        assert!(!o.strict && !o.hasura);
        let bad2 = json!({"data": {"author": [{"id": 1, "name": "a", "articles": [{"id": 2, "title": "t"}]}]}});
        assert!(!judge(&item(q.clone(), exp.clone()), bad2).strict);
    }

    #[test]
    fn leaf_objects_are_unordered() {
        let q = gql("{ t { id data } }");
        let exp = json!({"data": {"t": [{"id": 1, "data": {"x": 1, "y": 2}}]}});
        let act = json!({"data": {"t": [{"id": 1, "data": {"y": 2, "x": 1}}]}});
        assert!(judge(&item(q, exp), act).strict);
    }

    #[test]
    fn walk_failure_falls_back_to_unordered() {
        let exp = json!({"data": {"a": {"x": 1, "y": 2}}});
        let act = json!({"data": {"a": {"y": 2, "x": 1}}});
        // Alias: key `a` is not the field name `t`.
        assert!(judge(&item(gql("{ a: t { x y } }"), exp.clone()), act.clone()).strict);
        // Fragment spread / inline fragment.
        assert!(
            judge(
                &item(gql("{ a { ...F } } fragment F on T { x y }"), exp.clone()),
                act.clone()
            )
            .strict
        );
        assert!(
            judge(
                &item(gql("{ a { ... on T { x y } } }"), exp.clone()),
                act.clone()
            )
            .strict
        );
        // Unparsable query, batch, non-GraphQL.
        assert!(judge(&item(gql("{ a { x y "), exp.clone()), act.clone()).strict);
        assert!(
            judge(
                &item(json!([{"query": "{ a { x y } }"}]), exp.clone()),
                act.clone()
            )
            .strict
        );
        assert!(judge(&item(json!({"type": "run_sql"}), exp.clone()), act.clone()).strict);
        // But values must still match.
        let other = json!({"data": {"a": {"y": 3, "x": 1}}});
        assert!(!judge(&item(gql("{ a: t { x y } }"), exp), other).strict);
    }

    #[test]
    fn an_alias_anywhere_makes_the_whole_body_unordered() {
        // The misordered `b` object would fail the ordered walk, but a sibling alias aborts it.
        let q = gql("{ b { x y } c: d }");
        let exp = json!({"data": {"b": {"x": 1, "y": 2}, "c": 3}});
        let act = json!({"data": {"b": {"y": 2, "x": 1}, "c": 3}});
        assert!(judge(&item(q, exp), act).strict);
    }

    #[test]
    fn status_and_headers() {
        let it = json!({"url": "/v1/graphql", "status": 200, "query": gql("{a}"), "response": {"data": {"a": 1}},
                        "resp_headers": {"X-Test": "yes"}});
        let body = Ok(json!({"data": {"a": 1}}));
        assert!(!judge_item(&it, 400, &[], &body).strict);
        assert!(!judge_item(&it, 200, &[], &body).strict);
        assert!(judge_item(&it, 200, &[("x-test".into(), "yes".into())], &body).strict);
        assert!(!judge_item(&it, 200, &[("x-test".into(), "no".into())], &body).strict);
    }

    #[test]
    fn empty_response_checks_status_only() {
        let it = json!({"url": "/v1/query", "status": 200, "query": {}, "response": null});
        assert!(judge_item(&it, 200, &[], &Err("garbage".into())).strict);
        assert!(!judge_item(&it, 500, &[], &Err("garbage".into())).strict);
        let it = json!({"url": "/v1/query", "status": 200, "query": {}});
        assert!(judge_item(&it, 200, &[], &Ok(json!({"x": 1}))).strict);
    }

    #[test]
    fn non_json_body_fails() {
        let it = item(gql("{a}"), json!({"data": {"a": 1}}));
        let o = judge_item(&it, 200, &[], &Err("<html>".into()));
        assert!(!o.strict && !o.hasura);
    }

    #[test]
    fn hasura_leniency_for_error_vs_error() {
        let it = item(
            gql("{a}"),
            json!({"errors": [{"message": "x", "extensions": {"code": "c"}}]}),
        );
        let o = judge(
            &it,
            json!({"errors": [{"message": "y", "extensions": {"code": "d"}}]}),
        );
        assert!(!o.strict && o.hasura);
        let o = judge(&it, json!({"data": {"a": 1}}));
        assert!(!o.strict && !o.hasura);
        // `error` (metadata API shape) counts too.
        let it = json!({"url": "/v1/query", "status": 400, "query": {}, "response": {"path": "$", "error": "a", "code": "x"}});
        let r = judge_item(
            &it,
            400,
            &[],
            &Ok(json!({"path": "$.args", "error": "b", "code": "y"})),
        );
        assert!(!r.strict && r.hasura);
        // Empty `errors` is not an error response.
        assert!(!is_error_response(&json!({"errors": []})));
    }

    #[test]
    fn hasura_leniency_for_batches() {
        let q = json!([{"query": "{a}"}, {"query": "{b}"}]);
        let exp = json!([{"data": {"a": 1}}, {"errors": [{"message": "x"}]}]);
        let it = item(q, exp);
        let o = judge(
            &it,
            json!([{"data": {"a": 1}}, {"errors": [{"message": "y"}]}]),
        );
        assert!(!o.strict && o.hasura);
        let o = judge(&it, json!([{"data": {"a": 1}}]));
        assert!(!o.strict && o.hasura, "prefix match");
        let o = judge(
            &it,
            json!([{"data": {"a": 2}}, {"errors": [{"message": "x"}]}]),
        );
        assert!(!o.strict && !o.hasura);
    }

    #[test]
    fn allowed_responses() {
        let it = json!({"url": "/v1/graphql", "status": 200, "query": gql("{a}"),
            "allowed_responses": [{"response": {"data": {"a": 1}}}, {"response": {"data": {"a": 2}}}]});
        assert!(judge(&it, json!({"data": {"a": 2}})).strict);
        assert!(!judge(&it, json!({"data": {"a": 3}})).strict);
    }
}
