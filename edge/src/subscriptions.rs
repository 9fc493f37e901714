//! The host-independent pieces of subscriptions (the pollers are the native host's:
//! `scheduler/src/subscriptions.rs`): which requests are subscriptions, their plans, the
//! parameter of a multiplexed statement, its answer, and the variables `explain` shows.
use std::sync::Arc;

use graphedge_core::parse::ast::OperationKind;
use graphedge_core::{encode, ParamSpec, Plan, PlanKind, Session};
use serde_json::value::RawValue;
use serde_json::{json, Value as Json};

use crate::error::EdgeError;
use crate::graphql::GqlRequest;
use crate::{Engine, Loaded};

/// Whether the operation `req` would run is a subscription (a document that does not parse,
/// or names no operation it has, is not: running it reports why).
pub fn is_subscription(req: &GqlRequest) -> bool {
    let Ok(doc) = graphedge_core::parse::parse(&req.query) else {
        return false;
    };
    let op = match &req.operation_name {
        Some(n) => doc.operations.iter().find(|o| o.name.as_deref() == Some(n)),
        None if doc.operations.len() == 1 => doc.operations.first(),
        None => None,
    };
    matches!(op, Some(o) if o.kind == OperationKind::Subscription)
}

/// A subscription request, ready to run.
pub enum Prepared {
    /// A live query or stream: its multiplexed plan and the request's bound parameters (the
    /// cohort's key).
    Multiplexed(Arc<Plan>, Vec<Option<String>>),
    /// An asynchronous action's result ([`PlanKind::ActionSubscription`]): polled alone with
    /// [`crate::actions::poll_result`].
    ActionResult(Arc<Plan>),
}

/// The plan of a subscription request for `session` (allow list, limits and the plan cache
/// as for a query).
pub fn prepare(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    req: &GqlRequest,
) -> Result<Prepared, EdgeError> {
    crate::graphql::admit(engine, loaded, session, req)?;
    let plan = crate::graphql::plan_for(engine, loaded, session, req, None)?;
    match plan.kind {
        PlanKind::Subscription { .. } => {
            let bound = plan.bind(&req.variables, session)?;
            Ok(Prepared::Multiplexed(plan, bound))
        }
        PlanKind::ActionSubscription(_) => {
            graphedge_core::encode::check_variables(&plan.variable_types, &req.variables)?;
            Ok(Prepared::ActionResult(plan))
        }
        _ => Err(EdgeError::new(
            400,
            "unexpected",
            "the operation is not a subscription",
        )),
    }
}

/// The JSON array of one cohort's parameters (strings and nulls).
pub fn cohort_json(out: &mut String, bound: &[Option<String>]) {
    out.push('[');
    for (i, p) in bound.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match p {
            Some(text) => encode::write_json_string(out, text),
            None => out.push_str("null"),
        }
    }
    out.push(']');
}

/// `$1` of a multiplexed statement: the JSON array of the cohorts' parameters, in order.
pub fn batch_param(cohorts: &[&[Option<String>]]) -> String {
    let mut out = String::from("[");
    for (i, c) in cohorts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cohort_json(&mut out, c);
    }
    out.push(']');
    out
}

/// One cohort's part of a multiplexed statement's answer.
#[derive(Debug)]
pub struct CohortAnswer {
    /// The cohort's position in the batch (0-based).
    pub index: usize,
    /// The JSON of its `data` object, as Postgres wrote it.
    pub data: Box<RawValue>,
    /// A stream's next cursor value (`None`: the batch was empty, or a live query).
    pub cursor: Option<String>,
}

/// Reads a multiplexed statement's answer (`[[i, data, cursor], …]`, `i` 1-based).
pub fn parse_answer(text: &str) -> Result<Vec<CohortAnswer>, EdgeError> {
    let rows: Vec<(usize, Box<RawValue>, Option<String>)> =
        serde_json::from_str(text).map_err(|e| {
            EdgeError::new(
                500,
                "unexpected",
                format!("a subscription's answer is not what was expected: {e}"),
            )
        })?;
    Ok(rows
        .into_iter()
        .map(|(i, data, cursor)| CohortAnswer {
            index: i.saturating_sub(1),
            data,
            cursor,
        })
        .collect())
}

/// The digest a cohort keeps of its last answer (Hasura keeps a BLAKE2b-256 of the bytes):
/// an answer is pushed again only when this changes.
pub fn answer_digest(data: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data.as_bytes()).into()
}

/// Hasura's cohort variables for `explain`: `{query, session, synthetic, cursor}` from the
/// plan's parameters and one cohort's bound values.
pub fn cohort_variables(plan: &Plan, bound: &[Option<String>]) -> Json {
    let (mut session, mut synthetic, mut cursor) =
        (serde_json::Map::new(), Vec::new(), serde_json::Map::new());
    let stream = match plan.kind {
        PlanKind::Subscription { stream, .. } => stream,
        _ => None,
    };
    for (i, (spec, value)) in plan.params.iter().zip(bound).enumerate() {
        let v = value.clone().map_or(Json::Null, Json::String);
        match spec {
            _ if Some(i) == stream => {
                cursor.insert("value".into(), v);
            }
            // As in Hasura (since its issue 3689), the query's scalar values, literal or from
            // variables, are "synthetic" parameters, in order.
            ParamSpec::Const(_) | ParamSpec::Variable { .. } => synthetic.push(v),
            ParamSpec::Session(name) => {
                session.insert(name.clone(), v);
            }
            ParamSpec::SessionJson => {}
        }
    }
    // `query` stays empty: Hasura lists the query's values as `synthetic` too.
    json!({"query": {}, "session": session, "synthetic": synthetic, "cursor": cursor})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_answers() {
        let a = [Some("1".to_string()), None];
        let b = [Some("a\"b".to_string()), Some("x".to_string())];
        assert_eq!(batch_param(&[&a, &b]), r#"[["1",null],["a\"b","x"]]"#);
        let got = parse_answer(r#"[[1, {"t": []}, null], [2, {"t": [{"id": 3}]}, "3"]]"#).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].index, 1);
        assert_eq!(got[1].data.get(), r#"{"t": [{"id": 3}]}"#);
        assert_eq!(got[1].cursor.as_deref(), Some("3"));
        assert!(parse_answer("{}").is_err());
    }
}
