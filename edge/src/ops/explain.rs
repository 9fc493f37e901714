//! `POST /v1/graphql/explain` (and `/v1alpha1/graphql/explain`): Hasura's request
//! `{"query": {"query", "variables", "operationName"}, "user": {session variables}}`, admin
//! only, answered with `[{"field", "sql", "plan"}]` per root field.
//!
//! The query is compiled for the session `user` describes (`x-hasura-role`, default `admin`,
//! and its variables), so the SQL carries that role's permissions, and `EXPLAIN` runs on the
//! statement with its parameters bound in one read-only transaction. One statement answers
//! every root field, so each root field's entry shows that statement and its plan;
//! introspection fields have `sql` and `plan` `null`. A query over several sources has one
//! statement per source, each explained on its source's database. Only queries can be
//! explained.
use serde_json::{json, Value as Json};

use graphedge_core::{PlanKind, Session, Slot};

use crate::error::{db_error, EdgeError};
use crate::graphql::GqlRequest;
use crate::md::{json_to_value, Database, Statement};
use crate::Engine;

/// Decodes the body and explains it.
pub async fn explain(engine: &Engine, db: &impl Database, body: &Json) -> Result<Json, EdgeError> {
    let (req, session) = decode(body)?;
    if req.query.trim_start().starts_with("mutation") {
        return Err(EdgeError::new(
            400,
            "invalid-params",
            "only queries can be explained",
        ));
    }
    let loaded = engine.loaded();
    let plan = crate::graphql::plan_for(engine, &loaded, &session, &req, None)?;
    let fields = crate::reqlog::root_fields(&req.query, req.operation_name.as_deref());
    let (sql, plan_lines) = match &plan.kind {
        // No SQL: an asynchronous action's result is read from the action log.
        PlanKind::Static(_) | PlanKind::ActionSubscription(_) => (Json::Null, Json::Null),
        PlanKind::Subscription { .. } => {
            // Hasura's answer for a subscription: the multiplexed statement, its plan for
            // one cohort, and that cohort's variables.
            let bound = plan.bind(&req.variables, &session)?;
            let batch = crate::subscriptions::batch_param(&[bound.as_slice()]);
            let lines = explain_lines(db, &loaded, &plan, vec![Some(batch)]).await?;
            return Ok(json!({
                "sql": plan.sql,
                "plan": lines,
                "variables": crate::subscriptions::cohort_variables(&plan, &bound),
            }));
        }
        PlanKind::Sources { parts, slots, .. } => {
            // Root fields of several sources: each source's statement explained on its own
            // database; a root field's entry shows its source's statement (actions, remote
            // schemas and introspection have none).
            let mut explained = Vec::with_capacity(parts.len());
            for part in parts {
                explained.push(match part.kind {
                    PlanKind::Query => {
                        let params = part.bind(&req.variables, &session)?;
                        let lines = explain_lines(db, &loaded, part, params).await?;
                        (Json::String(part.sql.clone()), lines)
                    }
                    _ => (Json::Null, Json::Null),
                });
            }
            return Ok(Json::Array(
                slots
                    .iter()
                    .map(|(key, slot)| {
                        let (sql, lines) = match slot {
                            Slot::Part(p, _) => explained.get(*p).cloned(),
                            _ => None,
                        }
                        .unwrap_or((Json::Null, Json::Null));
                        json!({"field": key, "sql": sql, "plan": lines})
                    })
                    .collect(),
            ));
        }
        PlanKind::Mutation => {
            return Err(EdgeError::new(
                400,
                "invalid-params",
                "only queries can be explained",
            ))
        }
        PlanKind::Query => {
            let params = plan.bind(&req.variables, &session)?;
            let lines = explain_lines(db, &loaded, &plan, params).await?;
            (Json::String(plan.sql.clone()), lines)
        }
    };
    Ok(Json::Array(
        fields
            .into_iter()
            .map(|f| json!({"field": f, "sql": sql, "plan": plan_lines}))
            .collect(),
    ))
}

/// `EXPLAIN` of the plan's statement with `params`, in a read-only transaction on its source.
async fn explain_lines(
    db: &impl Database,
    loaded: &crate::Loaded,
    plan: &graphedge_core::Plan,
    params: Vec<Option<String>>,
) -> Result<Json, EdgeError> {
    let stmts = [
        Statement {
            sql: "SET TRANSACTION READ ONLY".into(),
            params: Vec::new(),
        },
        Statement {
            sql: format!("EXPLAIN {}", plan.sql),
            params,
        },
    ];
    let db = crate::md::On::source(db, loaded.source_target(plan.source));
    let rows = db.transaction(&stmts).await.map_err(|e| db_error(&e))?;
    Ok(Json::Array(
        rows.last()
            .map(|r| {
                r.rows
                    .iter()
                    .filter_map(|row| row.first().cloned().flatten())
                    .map(Json::String)
                    .collect()
            })
            .unwrap_or_default(),
    ))
}

/// The GraphQL request and the session of Hasura's `GQLExplain`.
fn decode(body: &Json) -> Result<(GqlRequest, Session), EdgeError> {
    let fail = |m: &str| EdgeError::parse_failed(m.to_string());
    let q = body
        .get("query")
        .ok_or_else(|| fail("key \"query\" not found"))?;
    let query = q
        .get("query")
        .and_then(Json::as_str)
        .ok_or_else(|| fail("key \"query\" not found").at("$.query"))?
        .to_string();
    let operation_name = q
        .get("operationName")
        .and_then(Json::as_str)
        .map(str::to_string);
    let variables = match q.get("variables") {
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
        _ => Vec::new(),
    };
    let mut session = Session::admin();
    if let Some(Json::Object(user)) = body.get("user") {
        for (k, v) in user {
            let k = k.to_ascii_lowercase();
            let v = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            if k == "x-hasura-role" {
                session.role = v;
            } else if k.starts_with("x-hasura-") {
                session.vars.insert(k, v);
            }
        }
    }
    Ok((
        GqlRequest {
            query,
            operation_name,
            variables,
            relay: false,
        },
        session,
    ))
}
