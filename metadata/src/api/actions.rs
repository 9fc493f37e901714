//! Actions and custom types: `set_custom_types`, `create_action`, `update_action`,
//! `drop_action`, `create_action_permission`, `drop_action_permission` (Hasura's
//! `RQL/DDL/Action.hs` and `CustomTypes.hs`, with their messages).
//!
//! Each works on the request's copy of the metadata and is accepted like Hasura's
//! `buildSchemaCacheFor`: when the object the operation touched became inconsistent, its
//! reasons are the error (400 `invalid-configuration`, the `Inconsistent object: ` prefix
//! kept); when something else did (an action whose type `set_custom_types` removed), the
//! generic "cannot continue due to newly found inconsistent metadata".
use serde::Deserialize;
use serde_json::Value as Json;

use super::ops::parse;
use super::Cx;
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::actions::{self as ra, ActionDefinition, ActionMetadata, ActionPermission};
use crate::raw::{self, Extra, HeaderConf, Metadata};
use crate::resolve::Inconsistency;
use crate::Endpoint;

/// Where the request's arguments are in error paths: `/v1/query` reports argument parse
/// errors from the root (`$.definition.headers[0]`), `/v1/metadata` under `$.args`.
fn args_path<D: Database>(cx: &Cx<'_, D>) -> &'static str {
    match cx.endpoint {
        Endpoint::V1Query => "$",
        _ => "$.args",
    }
}

/// Accepts the change unless it made something inconsistent (see the module documentation);
/// `own` says which inconsistencies are the touched object's.
fn accepted_for<D: Database>(
    cx: &mut Cx<'_, D>,
    own: impl Fn(&Inconsistency) -> bool,
) -> Result<Json, ApiError> {
    super::accept_unless_inconsistent(
        cx,
        own,
        |_| true,
        "cannot continue due to newly found inconsistent metadata",
    )
}

fn is_action(i: &Inconsistency, name: &str) -> bool {
    i.kind == "action" && i.name == format!("action {name}")
}

fn action_not_exists(name: &str) -> ApiError {
    ApiError::not_exists(format!("action with name {name:?} does not exist"))
}

// ---------------------------------------------------------------------------------------------
// Custom types

pub(super) fn set_custom_types<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let types: ra::CustomTypes = match args {
        Json::Null => ra::CustomTypes::default(),
        _ => parse(args).map_err(|e| e.at(args_path(cx)))?,
    };
    check_non_empty(&types)
        .map_err(|(m, p)| ApiError::parse_failed(m).at(format!("{}{p}", args_path(cx))))?;
    cx.md.custom_types = types;
    accepted_for(cx, |i| i.kind == "custom_types")
}

/// Hasura's types hold their fields and enum values as non-empty lists: an empty one fails
/// to parse. `Err` is the message and the path below the arguments.
fn check_non_empty(types: &ra::CustomTypes) -> Result<(), (String, String)> {
    const MSG: &str = "parsing NonEmpty failed, unexpected empty list";
    let empty =
        |kind: &str, i: usize, key: &str| Err((MSG.to_string(), format!(".{kind}[{i}].{key}")));
    for (i, t) in types.input_objects.iter().enumerate() {
        if t.fields.is_empty() {
            return empty("input_objects", i, "fields");
        }
    }
    for (i, t) in types.objects.iter().enumerate() {
        if t.fields.is_empty() {
            return empty("objects", i, "fields");
        }
    }
    for (i, t) in types.enums.iter().enumerate() {
        if t.values.is_empty() {
            return empty("enums", i, "values");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Actions

/// `{name, definition, comment?}` of `create_action` / `update_action`.
#[derive(Deserialize)]
struct ActionArgs {
    name: String,
    definition: Json,
    #[serde(default)]
    comment: Option<String>,
}

/// Parses the arguments of `create_action` / `update_action`: the headers first (Hasura's
/// header parser, with its path), then the definition.
fn action_args<D: Database>(
    cx: &Cx<'_, D>,
    args: &Json,
) -> Result<(String, ActionDefinition, Option<String>), ApiError> {
    let root = args_path(cx);
    let a: ActionArgs = parse(args).map_err(|e| e.at(root))?;
    if let Some(Json::Array(headers)) = a.definition.get("headers") {
        for (i, h) in headers.iter().enumerate() {
            let path = format!("{root}.definition.headers[{i}]");
            let h: HeaderConf = parse(h).map_err(|e| e.at(path.clone()))?;
            ra::check_header(&h).map_err(|m| ApiError::parse_failed(m).at(path))?;
        }
    }
    let definition: ActionDefinition =
        parse(&a.definition).map_err(|e| e.at(format!("{root}.definition")))?;
    Ok((a.name, definition, a.comment))
}

pub(super) fn create_action<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let (name, definition, comment) = action_args(cx, args)?;
    if cx.md.action(&name).is_some() {
        return Err(ApiError::already_exists(format!(
            "action with name {name:?} already exists"
        )));
    }
    cx.md.actions.push(ActionMetadata {
        name: name.clone(),
        definition,
        comment,
        permissions: Vec::new(),
        extra: Extra::new(),
    });
    accepted_for(cx, |i| is_action(i, &name))
}

/// Replaces the definition and the comment (absent: none).
pub(super) fn update_action<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let (name, definition, comment) = action_args(cx, args)?;
    let action = cx
        .md
        .action_mut(&name)
        .ok_or_else(|| action_not_exists(&name))?;
    action.definition = definition;
    action.comment = comment;
    accepted_for(cx, |i| is_action(i, &name))
}

pub(super) fn drop_action<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        name: String,
        /// Hasura's default: the action's async log rows are deleted too (see
        /// [`clear_action_log`]).
        #[serde(default)]
        #[allow(dead_code)]
        clear_data: Option<bool>,
    }
    let a: A = parse(args).map_err(|e| e.at(args_path(cx)))?;
    if cx.md.action(&a.name).is_none() {
        return Err(action_not_exists(&a.name));
    }
    cx.md.actions.retain(|x| x.name != a.name);
    accepted_for(cx, |_| false)
}

/// After `drop_action`: with `clear_data` (default true), the action's calls are deleted from
/// the asynchronous action log (`graphedge.hdb_action_log`, on the metadata database).
pub(super) async fn clear_action_log<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<(), ApiError> {
    let name = args.get("name").and_then(Json::as_str).unwrap_or_default();
    let clear = args
        .get("clear_data")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    if !clear {
        return Ok(());
    }
    let stmt = crate::db::Statement {
        sql: "WITH d AS (DELETE FROM graphedge.hdb_action_log WHERE action_name = $1::text \
              RETURNING 1) SELECT count(*)::text FROM d"
            .into(),
        params: vec![Some(name.to_string())],
    };
    cx.meta()
        .query_one(&stmt)
        .await
        .map_err(|e| ApiError::postgres(&e, Some(&stmt.sql)))?;
    Ok(())
}

pub(super) fn create_action_permission<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        action: String,
        role: String,
        /// Accepted and ignored, like Hasura.
        #[serde(default)]
        #[allow(dead_code)]
        definition: Option<Json>,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args).map_err(|e| e.at(args_path(cx)))?;
    let action = cx
        .md
        .action_mut(&a.action)
        .ok_or_else(|| action_not_exists(&a.action))?;
    if action.permissions.iter().any(|p| p.role == a.role) {
        return Err(ApiError::already_exists(format!(
            "permission for role {:?} is already defined on {:?}",
            a.role, a.action
        )));
    }
    // Hasura prepends the new permission.
    action.permissions.insert(
        0,
        ActionPermission {
            role: a.role,
            comment: a.comment,
            extra: Extra::new(),
        },
    );
    let name = a.action;
    accepted_for(cx, |i| is_action(i, &name))
}

/// `{action, role}` (the docs' table says `name`: accepted too).
pub(super) fn drop_action_permission<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        #[serde(alias = "name")]
        action: String,
        role: String,
    }
    let a: A = parse(args).map_err(|e| e.at(args_path(cx)))?;
    let removed = cx.md.action_mut(&a.action).is_some_and(|x| {
        let before = x.permissions.len();
        x.permissions.retain(|p| p.role != a.role);
        before != x.permissions.len()
    });
    if !removed {
        return Err(ApiError::not_exists(format!(
            "permission for role: {:?} is not defined on {:?}",
            a.role, a.action
        )));
    }
    let name = a.action;
    accepted_for(cx, |i| is_action(i, &name))
}

/// `drop_inconsistent_metadata`: removes the inconsistent actions and clears inconsistent
/// custom types (Hasura's purge of `MOAction` / `MOCustomTypes`). Whether anything changed.
pub(crate) fn drop_inconsistent(md: &mut Metadata, list: &[Inconsistency]) -> bool {
    let mut changed = false;
    for i in list {
        match i.kind.as_str() {
            "custom_types" if !md.custom_types.is_empty() => {
                md.custom_types = raw::CustomTypes::default();
                changed = true;
            }
            "action" => {
                if let Some(name) = i.definition.get("name").and_then(Json::as_str) {
                    let before = md.actions.len();
                    md.actions.retain(|a| a.name != name);
                    changed |= before != md.actions.len();
                }
            }
            _ => {}
        }
    }
    changed
}

#[cfg(test)]
mod tests;
