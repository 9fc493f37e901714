//! `create_rest_endpoint` and `drop_rest_endpoint` (the model and its rules: [`crate::rest`]).
use super::ops::{accepted, parse, remove_all};
use super::Cx;
use crate::db::Database;
use crate::error::ApiError;
use crate::raw;
use serde::Deserialize;
use serde_json::{json, Value as Json};

pub(super) fn create_rest_endpoint<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let e: raw::RestEndpoint = parse(args)?;
    if e.url.is_empty() {
        return Err(ApiError::parse_failed("empty string not allowed").at("$.url"));
    }
    if cx.md.rest_endpoints.iter().any(|x| x.name == e.name) {
        return Err(ApiError::already_exists(format!(
            "Endpoint with name {} already exists",
            e.name
        )));
    }
    let conflicts = crate::rest::ambiguous(&cx.md, &e);
    if !conflicts.is_empty() {
        let urls: Vec<&str> = conflicts.iter().filter_map(|c| c["url"].as_str()).collect();
        let reason = format!("Ambiguous URL paths: {}", urls.join(", "));
        let mut err = ApiError::new("invalid-configuration", reason.clone());
        err.internal = Some(json!([{"reason": reason, "conflicts": conflicts}]));
        return Err(err);
    }
    cx.md.rest_endpoints.push(e);
    accepted(cx)
}

pub(super) fn drop_rest_endpoint<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        name: String,
    }
    let a: A = parse(args)?;
    if !remove_all(&mut cx.md.rest_endpoints, |x| x.name == a.name) {
        return Err(
            ApiError::not_exists(format!("endpoint with name {} does not exist", a.name))
                .at("$.args.name"),
        );
    }
    accepted(cx)
}
