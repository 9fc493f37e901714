//! Whole-metadata operations: `export_metadata`, `replace_metadata` (with
//! `allow_inconsistent_metadata`), `reload_metadata`, `clear_metadata` and
//! `dump_internal_state`.
use super::remote_schemas::{self, Introspector};
use super::{collections, empty_metadata, scheduled, success, Cx};
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::{Metadata, Source};
use serde_json::{json, Value as Json};

pub(super) fn export_metadata<D: Database>(
    cx: &mut Cx<'_, D>,
    version: u64,
) -> Result<Json, ApiError> {
    let md =
        serde_json::to_value(cx.md.exported()).map_err(|e| ApiError::unexpected(e.to_string()))?;
    if version >= 2 {
        Ok(json!({ "resource_version": cx.resource_version, "metadata": md }))
    } else {
        Ok(md)
    }
}

/// Hasura's debugging dump of its schema cache; here what the engine holds: the metadata, its
/// resource version, the inconsistent objects and the database introspection it resolved.
pub(super) fn dump_internal_state<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    let md =
        serde_json::to_value(cx.md.exported()).map_err(|e| ApiError::unexpected(e.to_string()))?;
    let catalog = serde_json::to_value(&cx.catalog).unwrap_or(Json::Null);
    Ok(json!({
        "resource_version": cx.resource_version,
        "metadata": md,
        "inconsistent_objects": cx.baseline,
        "catalog": catalog,
    }))
}

pub(super) async fn replace_metadata<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    // `{metadata, allow_inconsistent_metadata?}` or the bare metadata.
    let wrapped = args
        .get("metadata")
        .filter(|m| m.is_object() && args.get("sources").is_none());
    let (doc, allow_inconsistent, path) = match wrapped {
        Some(m) => (
            m,
            args.get("allow_inconsistent_metadata")
                .and_then(|b| b.as_bool())
                .unwrap_or(false),
            "$.args.metadata",
        ),
        None => (args, false, "$.args"),
    };
    let default_config = cx
        .md
        .source("default")
        .map(|s| s.configuration.clone())
        .unwrap_or_else(super::default_source_configuration);
    let mut md = Metadata::from_json(doc, &default_config)
        .map_err(|e| ApiError::parse_failed(e).at(path))?;
    scheduled::check_all(&md, path)?;
    collections::check_allowlist(doc, path)?;
    scheduled::keep_unexported(&cx.md, &mut md);
    let enum_changed = super::enum_tables(&md) != super::enum_tables(&cx.md);
    cx.md = md;
    // A served source that is another database now is prepared and introspected.
    if !cx.follow_sources().await? && enum_changed {
        cx.reintrospect().await?;
    }
    // Every remote schema is introspected again (an unreachable one is inconsistent).
    remote_schemas::reload_all(cx, intro, None).await;
    let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    if let Some(e) = super::role_cycle_error(&now) {
        return Err(e.at("$"));
    }
    if !now.is_empty() && !allow_inconsistent {
        let mut e = ApiError::new("unexpected", "cannot continue due to inconsistent metadata");
        e.internal = serde_json::to_value(&now).ok();
        return Err(e);
    }
    cx.baseline = now.clone();
    cx.md_changed = true;
    // With `allow_inconsistent_metadata`, Hasura always reports the consistency.
    if allow_inconsistent {
        return Ok(json!({ "is_consistent": now.is_empty(), "inconsistent_objects": now }));
    }
    Ok(success())
}

/// Re-reads the stored metadata (another process may have written it), re-introspects the
/// database (tables created since are trackable) and the remote schemas
/// `reload_remote_schemas` names (`true`, the default: all; `false`: none; or a list).
pub(super) async fn reload_metadata<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    let remotes = remote_schemas::reload_spec(args)?;
    cx.reread().await?;
    cx.reintrospect().await?;
    if let Some(which) = remotes {
        remote_schemas::reload_all(cx, intro, which.as_deref()).await;
    }
    let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    // Hasura answers whether the reloaded metadata is consistent, with the inconsistent
    // objects when it is not.
    let mut answer = json!({"message": "success", "is_consistent": now.is_empty()});
    if !now.is_empty() {
        answer["inconsistent_objects"] = json!(now);
    }
    cx.baseline = now;
    cx.md_changed = true;
    Ok(answer)
}

pub(super) fn clear_metadata<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    let mut md = empty_metadata();
    // Keep the `default` source's connection settings, like Hasura (`runClearMetadata`); the
    // other sources go (and their databases' catalog with them).
    md.sources = cx
        .md
        .sources
        .iter()
        .filter(|s| s.name == "default")
        .map(|s| {
            let mut n = Source::new(s.name.clone(), s.configuration.clone());
            n.kind = s.kind.clone();
            n
        })
        .collect();
    if md.sources.is_empty() {
        md = super::empty_metadata_for(cx.db);
    }
    scheduled::keep_unexported(&cx.md, &mut md);
    cx.md = md;
    let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    cx.baseline = now;
    cx.md_changed = true;
    Ok(success())
}
