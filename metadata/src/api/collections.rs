//! Query collections and the allowlist (`create_query_collection`, ...,
//! `add_collection_to_allowlist`), with Hasura's validation and messages.
use super::ops::{accepted, parse, remove_all};
use super::Cx;
use crate::db::Database;
use crate::error::ApiError;
use crate::raw;
use serde::Deserialize;
use serde_json::{json, Value as Json};

pub(super) fn collection_missing(name: &str) -> ApiError {
    ApiError::not_exists(format!(
        "query collection with name {name:?} does not exist"
    ))
}

fn collection_mut<'m>(
    md: &'m mut raw::Metadata,
    name: &str,
) -> Result<&'m mut raw::QueryCollection, ApiError> {
    md.query_collections
        .iter_mut()
        .find(|x| x.name == name)
        .ok_or_else(|| collection_missing(name))
}

pub(super) fn create_query_collection<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let c: raw::QueryCollection = parse(args)?;
    // Hasura's NonEmptyText names (and its path for this one).
    if c.name.is_empty() {
        return Err(ApiError::parse_failed("empty string not allowed").at("$.name"));
    }
    if let Some(i) = c.definition.queries.iter().position(|q| q.name.is_empty()) {
        return Err(ApiError::parse_failed("empty string not allowed")
            .at(format!("$.definition.queries[{i}].name")));
    }
    if cx.md.query_collections.iter().any(|x| x.name == c.name) {
        return Err(ApiError::already_exists(format!(
            "query collection with name {:?} already exists",
            c.name
        ))
        .at("$.args.name"));
    }
    let mut seen = Vec::new();
    let mut dups = Vec::new();
    for q in &c.definition.queries {
        if seen.contains(&&q.name) && !dups.contains(&format!("{:?}", q.name)) {
            dups.push(format!("{:?}", q.name));
        }
        seen.push(&q.name);
    }
    if !dups.is_empty() {
        return Err(ApiError::not_supported(format!(
            "found duplicate query names {}",
            dups.join(", ")
        ))
        .at("$.args.definition.queries"));
    }
    cx.md.query_collections.push(c);
    accepted(cx)
}

pub(super) fn drop_query_collection<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection: String,
        #[serde(default)]
        cascade: bool,
    }
    let a: A = parse(args)?;
    if !cx
        .md
        .query_collections
        .iter()
        .any(|x| x.name == a.collection)
    {
        return Err(collection_missing(&a.collection).at("$.args.collection"));
    }
    if cx.md.allowlist.iter().any(|x| x.collection == a.collection) {
        if !a.cascade {
            return Err(ApiError::new(
                "dependency-error",
                format!(
                    "query collection with name {:?} is present in the allowlist; cannot proceed to drop. \
                     please use cascade to confirm you wish to drop it from the allowlist as well",
                    a.collection
                ),
            ));
        }
        cx.md.allowlist.retain(|x| x.collection != a.collection);
    }
    cx.md.query_collections.retain(|x| x.name != a.collection);
    accepted(cx)
}

pub(super) fn rename_query_collection<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        name: String,
        new_name: String,
    }
    let a: A = parse(args)?;
    if cx.md.query_collections.iter().any(|x| x.name == a.new_name) {
        return Err(ApiError::already_exists(format!(
            "query collection with name {:?} already exists",
            a.new_name
        )));
    }
    let c = collection_mut(&mut cx.md, &a.name)?;
    c.name = a.new_name.clone();
    for e in &mut cx.md.allowlist {
        if e.collection == a.name {
            e.collection = a.new_name.clone();
        }
    }
    for e in &mut cx.md.rest_endpoints {
        if e.definition.query.collection_name == a.name {
            e.definition.query.collection_name = a.new_name.clone();
        }
    }
    accepted(cx)
}

pub(super) fn add_query_to_collection<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection_name: String,
        query_name: String,
        query: String,
    }
    let a: A = parse(args)?;
    let c = collection_mut(&mut cx.md, &a.collection_name)?;
    if c.definition.queries.iter().any(|q| q.name == a.query_name) {
        return Err(ApiError::already_exists(format!(
            "query with name {:?} already exists in collection {:?}",
            a.query_name, a.collection_name
        )));
    }
    c.definition.queries.push(raw::CollectionQuery {
        name: a.query_name,
        query: a.query,
    });
    accepted(cx)
}

pub(super) fn drop_query_from_collection<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection_name: String,
        query_name: String,
    }
    let a: A = parse(args)?;
    let c = collection_mut(&mut cx.md, &a.collection_name)?;
    if !remove_all(&mut c.definition.queries, |q| q.name == a.query_name) {
        return Err(ApiError::new(
            "not-found",
            format!(
                "query with name {:?} not found in collection {:?}",
                a.query_name, a.collection_name
            ),
        ));
    }
    accepted(cx)
}

pub(super) fn add_collection_to_allowlist<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection: String,
        scope: Option<Json>,
    }
    let a: A = parse(args)?;
    let scope = match &a.scope {
        Some(s) => parse_scope(s, "$.args.scope")?,
        None => raw::AllowlistScope::default(),
    };
    if !cx
        .md
        .query_collections
        .iter()
        .any(|x| x.name == a.collection)
    {
        return Err(collection_missing(&a.collection).at("$.args.collection"));
    }
    if cx.md.allowlist.iter().any(|x| x.collection == a.collection) {
        // Hasura: adding an existing collection again changes nothing, whatever the scope.
        return Ok(json!({
            "message": format!(
                "collection {:?} already exists in the allowlist, scope ignored; \
                 to change scope, use update_scope_of_collection_in_allowlist",
                a.collection
            )
        }));
    }
    cx.md.allowlist.push(raw::AllowlistEntry {
        collection: a.collection,
        scope,
    });
    accepted(cx)
}

/// Parses an allowlist scope as Hasura does: `global` is required; `roles`, a non-empty list,
/// is required when `global` is false and refused when it is true.
pub(crate) fn parse_scope(v: &Json, path: &str) -> Result<raw::AllowlistScope, ApiError> {
    let fail = |msg: &str, at: String| ApiError::parse_failed(msg).at(at);
    let Some(o) = v.as_object() else {
        return Err(fail(
            "parsing AllowlistScope failed, expected Object",
            path.into(),
        ));
    };
    let global = match o.get("global") {
        None => return Err(fail("key \"global\" not found", path.into())),
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            return Err(fail(
                "parsing Bool failed, expected Boolean",
                format!("{path}.global"),
            ))
        }
    };
    let roles = o.get("roles");
    if global {
        return match roles {
            Some(_) => Err(fail(
                "roles are not allowed when global is true",
                path.into(),
            )),
            None => Ok(raw::AllowlistScope::default()),
        };
    }
    let roles_path = format!("{path}.roles");
    let roles: Vec<String> = match roles {
        None => return Err(fail("key \"roles\" not found", path.into())),
        Some(r) => serde_json::from_value(r.clone()).map_err(|_| {
            fail(
                "parsing [RoleName] failed, expected an array of role names",
                roles_path.clone(),
            )
        })?,
    };
    if roles.is_empty() {
        return Err(fail(
            "parsing NonEmpty failed, unexpected empty list",
            roles_path,
        ));
    }
    Ok(raw::AllowlistScope {
        global: false,
        roles: Some(roles),
    })
}

/// The allowlist of a `replace_metadata` document (at `path`): every scope as
/// [`parse_scope`] wants it, and each collection at most once.
pub(crate) fn check_allowlist(doc: &Json, path: &str) -> Result<(), ApiError> {
    let entries = doc.get("allowlist").and_then(Json::as_array);
    let mut seen: Vec<&str> = Vec::new();
    let mut dups: Vec<&str> = Vec::new();
    for (i, e) in entries.into_iter().flatten().enumerate() {
        if let Some(s) = e.get("scope") {
            parse_scope(s, &format!("{path}.allowlist[{i}].scope"))?;
        }
        let Some(c) = e.get("collection").and_then(Json::as_str) else {
            continue;
        };
        if seen.contains(&c) && !dups.contains(&c) {
            dups.push(c);
        }
        seen.push(c);
    }
    if !dups.is_empty() {
        return Err(ApiError::parse_failed(format!(
            "multiple declarations exist for the following allowlist entries: {}",
            dups.join(", ")
        ))
        .at(path));
    }
    Ok(())
}

fn not_in_allowlist(collection: &str) -> ApiError {
    ApiError::new(
        "not-found",
        format!("collection {collection:?} doesn't exist in the allowlist"),
    )
}

pub(super) fn drop_collection_from_allowlist<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection: String,
    }
    let a: A = parse(args).map_err(|mut e| {
        // Hasura names the type it failed to parse here.
        e.error = format!(
            "parsing Hasura.RQL.Types.Allowlist.DropCollectionFromAllowlist\
             (DropCollectionFromAllowlist) failed, {}",
            e.error
        );
        e
    })?;
    if !remove_all(&mut cx.md.allowlist, |x| x.collection == a.collection) {
        return Err(not_in_allowlist(&a.collection));
    }
    accepted(cx)
}

pub(super) fn update_allowlist_scope<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        collection: String,
        scope: Json,
    }
    let a: A = parse(args)?;
    let scope = parse_scope(&a.scope, "$.args.scope")?;
    let e = cx
        .md
        .allowlist
        .iter_mut()
        .find(|x| x.collection == a.collection)
        .ok_or_else(|| not_in_allowlist(&a.collection))?;
    e.scope = scope;
    accepted(cx)
}
