//! `set_api_limits` / `remove_api_limits` (Hasura's API limits, enforced by the edge), and
//! `set_graphql_schema_introspection_options` (`{disabled_for_roles}`: those roles' `__schema`
//! and `__type` are refused by the compiler; an empty list removes the setting).
//!
//! `set_api_limits` replaces the whole `api_limits` object with its `args` (every key optional,
//! `disabled` defaults to false); `remove_api_limits` (`args: {}`) removes every limit. Both
//! answer `{"message": "success"}`; export and `replace_metadata` keep the object.
use super::ops::parse;
use super::{success, Cx};
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::{ApiLimits, IntrospectionOptions};
use serde_json::Value as Json;

pub(crate) fn set_api_limits<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let limits: ApiLimits = parse(args)?;
    cx.md.api_limits = (!limits.is_empty()).then_some(limits);
    cx.check()?;
    Ok(success())
}

pub(crate) fn remove_api_limits<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    cx.md.api_limits = None;
    cx.check()?;
    Ok(success())
}

pub(crate) fn set_introspection_options<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let options: IntrospectionOptions = parse(args)?;
    cx.md.graphql_schema_introspection =
        (!options.disabled_for_roles.is_empty()).then_some(options);
    cx.check()?;
    Ok(success())
}
