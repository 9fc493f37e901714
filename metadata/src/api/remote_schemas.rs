//! Remote schemas: `add_remote_schema`, `update_remote_schema`, `remove_remote_schema`,
//! `reload_remote_schema`, `introspect_remote_schema`, `add_remote_schema_permissions`,
//! `drop_remote_schema_permissions` (Hasura's `RemoteSchema/MetadataAPI/{Core,Permission}.hs`,
//! with their messages), and the remote schemas' part of `reload_metadata` and
//! `replace_metadata`.
//!
//! This crate does no HTTP: the host passes an [`Introspector`] that sends
//! [`INTROSPECTION_QUERY`] to a remote ([`crate::execute_with`]). What it answers is stored in
//! the catalog ([`crate::introspect::Catalog::remote_schemas`], persisted with the metadata),
//! so loading never calls a remote; a remote whose introspection failed is an inconsistency
//! (type `remote_schema`), unless the operation was adding it (then the add is refused, like
//! Hasura's `addRemoteSchemaP2Setup`).
//!
//! Each change is accepted like Hasura's `buildSchemaCacheFor`: the touched remote's new
//! inconsistencies are the error (400 `invalid-configuration`, reasons with their
//! `Inconsistent object: ` prefix), anything else that broke gives "cannot continue due to new
//! inconsistent metadata" (400 `unexpected`). Two remotes with the same root field: Hasura
//! blames whichever its hash map visits last, which the harness sees as the generic error, so
//! that is the answer here too (the new remote is the one left out).
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::ops::{parse, qt_txt};
use super::{success, Cx};
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::actions::check_header;
use crate::raw::{remote_schemas as rr, HeaderConf, Metadata, RemoteSchemaMetadata};
use crate::resolve::{self, remote_schemas as res, Inconsistency, INHERITED_PERMISSION_KIND};
use crate::Endpoint;

/// The standard introspection query Hasura sends to a remote (`server/src-rsr/
/// introspection.json`), operation `IntrospectionQuery`.
pub const INTROSPECTION_QUERY: &str = "query IntrospectionQuery {
  __schema {
    queryType {
      name
    }
    mutationType {
      name
    }
    subscriptionType {
      name
    }
    types {
      ...FullType
    }
    directives {
      name
      description
      locations
      args {
        ...InputValue
      }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  fields(includeDeprecated: true) {
    name
    description
    args {
      ...InputValue
    }
    type {
      ...TypeRef
    }
    isDeprecated
    deprecationReason
  }
  inputFields {
    ...InputValue
  }
  interfaces {
    ...TypeRef
  }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes {
    ...TypeRef
  }
}

fragment InputValue on __InputValue {
  name
  description
  type {
    ...TypeRef
  }
  defaultValue
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
              }
            }
          }
        }
      }
    }
  }
}
";

/// The operation name of [`INTROSPECTION_QUERY`].
pub const INTROSPECTION_OPERATION: &str = "IntrospectionQuery";

/// The body Hasura POSTs to introspect a remote: `{query, variables: null, operationName}`.
pub fn introspection_request() -> Json {
    json!({
        "query": INTROSPECTION_QUERY,
        "variables": null,
        "operationName": INTROSPECTION_OPERATION,
    })
}

/// How a host introspects remote schemas (the metadata crate does no HTTP).
#[allow(async_fn_in_trait)]
pub trait Introspector {
    /// POSTs [`introspection_request`] to the remote schema `name` as admin and answers the
    /// response's `data` (`{"__schema": …}`; the whole response or the bare `__schema` are
    /// accepted too), or why it could not (Hasura's text for a transport failure: `HTTP
    /// exception occurred while sending the request to "<url as configured>"`).
    ///
    /// `definition` is the remote's `definition` as the metadata has it (`url` or
    /// `url_from_env`, `headers` with `value` / `value_from_env`, `timeout_seconds`,
    /// `forward_client_headers`, `customization`): the implementor resolves `{{ENV}}`
    /// templates and the `*_from_env` settings (an unset one: Hasura's `environment variable
    /// 'X' not set`, answered as `invalid-params`).
    async fn introspect(&self, name: &str, definition: &Json) -> Result<Json, String>;

    /// Whether this host can reach remotes at all. When it cannot, reloads keep a remote's
    /// stored introspection as long as its definition did not change (instead of making it
    /// inconsistent).
    fn available(&self) -> bool {
        true
    }
}

/// The introspector of a host without outbound HTTP: every introspection fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIntrospection;

/// What [`NoIntrospection`] answers.
pub const NO_INTROSPECTION: &str = "this host cannot reach remote schemas";

impl Introspector for NoIntrospection {
    async fn introspect(&self, _name: &str, _definition: &Json) -> Result<Json, String> {
        Err(NO_INTROSPECTION.into())
    }
    fn available(&self) -> bool {
        false
    }
}

/// Where the request's arguments are in error paths (as for actions: `/v1/query` reports
/// argument parse errors from the root).
fn args_path<D: Database>(cx: &Cx<'_, D>) -> &'static str {
    match cx.endpoint {
        Endpoint::V1Query => "$",
        _ => "$.args",
    }
}

fn is_remote(i: &Inconsistency, name: &str) -> bool {
    i.kind == res::KIND && i.name == res::object_name(name)
}

/// An inconsistency of the remote schema `name` or of a role's permission on it.
fn is_remote_or_permission(i: &Inconsistency, name: &str) -> bool {
    is_remote(i, name)
        || (i.kind == res::PERMISSION_KIND
            && i.definition.get("remote_schema").and_then(Json::as_str) == Some(name))
}

/// Whether the remote schema `name` is part of the schema (Hasura's schema cache holds only
/// the consistent ones).
fn served<D: Database>(cx: &Cx<'_, D>, name: &str) -> bool {
    cx.md.remote_schema(name).is_some() && !cx.baseline.iter().any(|i| is_remote(i, name))
}

/// Accepts the change like Hasura's `buildSchemaCacheFor` (see the module documentation).
fn accepted_for<D: Database>(
    cx: &mut Cx<'_, D>,
    own: impl Fn(&Inconsistency) -> bool,
) -> Result<Json, ApiError> {
    // A duplicate root field alone is blamed on nobody (Hasura's blame depends on hash order).
    let blamed = |mine: &[&Inconsistency]| {
        !mine
            .iter()
            .all(|i| i.reason.contains("Duplicate remote field"))
    };
    super::accept_unless_inconsistent(
        cx,
        own,
        blamed,
        "cannot continue due to new inconsistent metadata",
    )
}

/// Accepts the change like Hasura's `withNewInconsistentObjsCheck`: anything newly
/// inconsistent is a 500.
fn accepted_if_no_new<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    let (_, now) = resolve::resolve(&cx.md, &cx.catalog, cx.config);
    let new: Vec<&Inconsistency> = now
        .iter()
        .filter(|i| !cx.baseline.contains(i) && i.kind != INHERITED_PERMISSION_KIND)
        .collect();
    if !new.is_empty() {
        let mut e =
            ApiError::unexpected("cannot continue due to newly found inconsistent metadata");
        e.internal = serde_json::to_value(&new).ok();
        return Err(e);
    }
    cx.baseline = now;
    cx.md_changed = true;
    Ok(success())
}

// ---------------------------------------------------------------------------------------------
// Introspecting and storing

/// The definition as handed to the [`Introspector`] (and remembered with its answer).
fn definition_json(def: &rr::RemoteSchemaDef) -> Json {
    serde_json::to_value(def).unwrap_or(Json::Null)
}

/// The remote's `__schema`, or why not (the introspector's error, or why its answer is not
/// an introspection).
async fn fetch(
    intro: &impl Introspector,
    name: &str,
    def: &rr::RemoteSchemaDef,
) -> Result<Json, String> {
    let answer = intro.introspect(name, &definition_json(def)).await?;
    res::schema_of(answer)
}

/// Records an introspection's outcome in the catalog.
fn store<D: Database>(
    cx: &mut Cx<'_, D>,
    name: &str,
    def: &rr::RemoteSchemaDef,
    got: Result<Json, String>,
) {
    let c = &mut cx.catalog;
    match got {
        Ok(schema) => {
            c.remote_schemas.insert(name.to_string(), schema);
            c.remote_schema_errors.remove(name);
        }
        Err(e) => {
            c.remote_schemas.remove(name);
            c.remote_schema_errors.insert(name.to_string(), e);
        }
    }
    c.remote_schema_definitions
        .insert(name.to_string(), definition_json(def));
    cx.catalog_changed = true;
}

/// Whether the catalog holds a good introspection of `name` made with this definition.
fn stored_for<D: Database>(cx: &Cx<'_, D>, name: &str, def: &rr::RemoteSchemaDef) -> bool {
    let c = &cx.catalog;
    c.remote_schemas.contains_key(name)
        && !c.remote_schema_errors.contains_key(name)
        && c.remote_schema_definitions.get(name) == Some(&definition_json(def))
}

/// Introspects `name` again and stores the outcome; a host that cannot reach remotes keeps a
/// stored introspection made with the same definition.
async fn refresh<D: Database>(
    cx: &mut Cx<'_, D>,
    intro: &impl Introspector,
    name: &str,
    def: &rr::RemoteSchemaDef,
) {
    if !intro.available() && stored_for(cx, name, def) {
        return;
    }
    let got = fetch(intro, name, def).await;
    store(cx, name, def, got);
}

/// The error of an introspection that refuses an operation: Hasura's `remote-schema-error`
/// (`invalid-params` for an unset setting, as its `getUrlFromEnv`).
fn introspection_error(message: String, path: &str) -> ApiError {
    let code = if message.starts_with("environment variable ") {
        "invalid-params"
    } else {
        "remote-schema-error"
    };
    ApiError::new(code, message).at(path)
}

/// Re-introspects the remote schemas `which` names (all when `None`) after the metadata was
/// replaced or reloaded. Failures become inconsistencies.
pub(crate) async fn reload_all<D: Database>(
    cx: &mut Cx<'_, D>,
    intro: &impl Introspector,
    which: Option<&[String]>,
) {
    let list: Vec<(String, rr::RemoteSchemaDef)> = cx
        .md
        .remote_schemas
        .iter()
        .filter(|r| which.is_none_or(|w| w.contains(&r.name)))
        .map(|r| (r.name.clone(), r.definition.clone()))
        .collect();
    for (name, def) in list {
        refresh(cx, intro, &name, &def).await;
    }
}

/// `reload_metadata`'s `reload_remote_schemas`: `true` (Hasura's default) / `false` / a list
/// of names.
pub(crate) fn reload_spec(args: &Json) -> Result<Option<Option<Vec<String>>>, ApiError> {
    match args.get("reload_remote_schemas") {
        None | Some(Json::Null) | Some(Json::Bool(true)) => Ok(Some(None)),
        Some(Json::Bool(false)) => Ok(None),
        Some(v @ Json::Array(_)) => parse::<Vec<String>>(v)
            .map(|l| Some(Some(l)))
            .map_err(|e| e.at("$.args.reload_remote_schemas")),
        Some(_) => Err(ApiError::parse_failed(
            "expected a boolean or a list of remote schema names",
        )
        .at("$.args.reload_remote_schemas")),
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

/// `{name, definition, comment?}` of `add_remote_schema` / `update_remote_schema`.
#[derive(Deserialize)]
struct AddArgs {
    name: String,
    definition: Json,
    #[serde(default)]
    comment: Option<String>,
}

/// Parses the arguments: the name, the headers (Hasura's header parser), the definition, the
/// customization's shape.
fn add_args<D: Database>(
    cx: &Cx<'_, D>,
    args: &Json,
) -> Result<(String, rr::RemoteSchemaDef, Option<String>), ApiError> {
    let root = args_path(cx);
    let a: AddArgs = parse(args).map_err(|e| e.at(root))?;
    if a.name.is_empty() {
        return Err(ApiError::parse_failed("empty string not allowed").at(format!("{root}.name")));
    }
    if let Some(Json::Array(headers)) = a.definition.get("headers") {
        for (i, h) in headers.iter().enumerate() {
            let path = format!("{root}.definition.headers[{i}]");
            let h: HeaderConf = parse(h).map_err(|e| e.at(path.clone()))?;
            check_header(&h).map_err(|m| ApiError::parse_failed(m).at(path))?;
        }
    }
    let def: rr::RemoteSchemaDef =
        parse(&a.definition).map_err(|e| e.at(format!("{root}.definition")))?;
    res::parse_customization(def.customization.as_ref()).map_err(|(m, p)| {
        ApiError::parse_failed(m).at(format!("{root}.definition.customization{p}"))
    })?;
    Ok((a.name, def, a.comment))
}

fn check_url(def: &rr::RemoteSchemaDef) -> Result<(), ApiError> {
    def.check_url()
        .map_err(|m| ApiError::new("invalid-params", m).at("$.args"))?;
    check_reserved(def)
}

/// Hasura's `validateRemoteSchemaCustomization`: a `field_names` mapping may not rename a
/// reserved (`__…`) field.
fn check_reserved(def: &rr::RemoteSchemaDef) -> Result<(), ApiError> {
    let entries = def
        .customization
        .as_ref()
        .and_then(|c| c.get("field_names"))
        .and_then(Json::as_array);
    for entry in entries.into_iter().flatten() {
        let mapping = entry.get("mapping").and_then(Json::as_object);
        for name in mapping.into_iter().flat_map(|m| m.keys()) {
            if name.starts_with("__") {
                return Err(ApiError::new(
                    "invalid-params",
                    format!("attempt to customize reserved field name {name:?}"),
                )
                .at("$.args"));
            }
        }
    }
    Ok(())
}

pub(super) async fn add_remote_schema<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    let (name, def, comment) = add_args(cx, args)?;
    if cx.md.remote_schema(&name).is_some() {
        return Err(ApiError::already_exists(format!(
            "remote schema with name {name:?} already exists"
        )));
    }
    check_url(&def)?;
    let schema = fetch(intro, &name, &def)
        .await
        .map_err(|m| introspection_error(m, "$.args"))?;
    let md = RemoteSchemaMetadata {
        name: name.clone(),
        definition: def.clone(),
        comment,
        permissions: Vec::new(),
        remote_relationships: Vec::new(),
        extra: Default::default(),
    };
    res::build(&md, &schema).map_err(|m| ApiError::new("remote-schema-error", m))?;
    store(cx, &name, &def, Ok(schema));
    cx.md.remote_schemas.push(md);
    accepted_for(cx, |i| is_remote_or_permission(i, &name))
}

/// Replaces the definition and the comment, keeping the permissions and the remote
/// relationships (Hasura also drops the remote's relationships here). The remote is
/// introspected again; when its URL changed, a failure refuses the update (Hasura only
/// fetches then), otherwise it makes the remote inconsistent, which refuses it too.
pub(super) async fn update_remote_schema<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    let (name, def, comment) = add_args(cx, args)?;
    let Some(old) = cx.md.remote_schema(&name) else {
        return Err(ApiError::not_exists(format!(
            "remote schema with name {name:?} doesn't exist"
        )));
    };
    check_url(&def)?;
    let url_changed = !old.definition.same_url(&def);
    let mut updated = old.clone();
    updated.definition = def.clone();
    updated.comment = comment;
    let got = if !intro.available() && stored_for(cx, &name, &def) {
        None
    } else {
        Some(fetch(intro, &name, &def).await)
    };
    if url_changed {
        match &got {
            Some(Err(m)) => return Err(introspection_error(m.clone(), "$.args")),
            Some(Ok(schema)) => {
                res::build(&updated, schema)
                    .map_err(|m| ApiError::new("remote-schema-error", m))?;
            }
            None => {}
        }
    }
    if let Some(got) = got {
        store(cx, &name, &def, got);
    }
    if let Some(r) = cx.md.remote_schema_mut(&name) {
        *r = updated;
    }
    accepted_for(cx, |i| is_remote_or_permission(i, &name))
}

#[derive(Deserialize)]
struct NameArgs {
    name: String,
}

/// The table remote relationships that use the remote schema `name` (Hasura's dependent
/// objects): `remote relationship <table>.<name> in source "<source>"`, sorted.
fn dependents(md: &Metadata, name: &str) -> Vec<String> {
    let uses = |r: &Json| {
        let d = r.get("definition").unwrap_or(r);
        let target = d
            .get("to_remote_schema")
            .and_then(|t| t.get("remote_schema"))
            .or_else(|| d.get("remote_schema"))
            .or_else(|| r.get("remote_schema"));
        target.and_then(Json::as_str) == Some(name)
    };
    let mut out: Vec<String> = Vec::new();
    for s in &md.sources {
        for t in &s.tables {
            for r in t.remote_relationships.iter().filter(|r| uses(r)) {
                let rel = r.get("name").and_then(Json::as_str).unwrap_or_default();
                out.push(format!(
                    "remote relationship {}.{rel} in source {:?}",
                    qt_txt(&t.table),
                    s.name
                ));
            }
        }
    }
    out.sort();
    out
}

pub(super) fn remove_remote_schema<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a: NameArgs = parse(args).map_err(|e| e.at(args_path(cx)))?;
    if cx.md.remote_schema(&a.name).is_none() {
        return Err(ApiError::not_exists("no such remote schema"));
    }
    let deps = dependents(&cx.md, &a.name);
    if !deps.is_empty() {
        return Err(ApiError::new(
            "dependency-error",
            format!(
                "cannot drop due to the following dependent objects : {}",
                deps.join(", ")
            ),
        ));
    }
    cx.md.remote_schemas.retain(|r| r.name != a.name);
    if cx.catalog.retain_remote_schemas(|n| n != a.name) {
        cx.catalog_changed = true;
    }
    accepted_if_no_new(cx)
}

pub(super) async fn reload_remote_schema<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    let a: NameArgs = parse(args).map_err(|e| e.at(args_path(cx)))?;
    let Some(def) = cx.md.remote_schema(&a.name).map(|r| r.definition.clone()) else {
        return Err(ApiError::not_exists(format!(
            "remote schema with name {:?} does not exist",
            a.name
        )));
    };
    refresh(cx, intro, &a.name, &def).await;
    accepted_if_no_new(cx)
}

/// The stored introspection as Hasura answers it: `{"data": {"__schema": …}}`. Only for a
/// remote that is part of the schema.
pub(super) fn introspect_remote_schema<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a: NameArgs = parse(args).map_err(|e| e.at(args_path(cx)))?;
    let not_found = || ApiError::not_exists(format!("remote schema: {:?} not found", a.name));
    if cx.md.remote_schema(&a.name).is_none() || cx.baseline.iter().any(|i| is_remote(i, &a.name)) {
        return Err(not_found());
    }
    let schema = cx
        .catalog
        .remote_schemas
        .get(&a.name)
        .ok_or_else(not_found)?;
    Ok(json!({"data": {"__schema": schema}}))
}

#[derive(Deserialize)]
struct PermissionArgs {
    remote_schema: String,
    role: String,
    #[serde(default)]
    definition: Option<Json>,
    #[serde(default)]
    comment: Option<String>,
}

fn permission_exists(md: &Metadata, remote: &str, role: &str) -> bool {
    md.remote_schema(remote)
        .is_some_and(|r| r.permissions.iter().any(|p| p.role == role))
}

/// Stores the role's SDL (checking it against the remote's schema is not done yet); Hasura
/// puts the new permission first.
pub(super) fn add_remote_schema_permissions<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let root = args_path(cx);
    let a: PermissionArgs = parse(args).map_err(|e| e.at(root))?;
    if !cx.config.remote_schema_permissions {
        return Err(ApiError::new(
            "constraint-violation",
            "remote schema permissions can only be added when remote schema permissions are enabled in the graphql-engine",
        ));
    }
    let definition: rr::RemoteSchemaPermissionDef = match &a.definition {
        Some(d) => parse(d).map_err(|e| e.at(format!("{root}.definition")))?,
        None => return Err(ApiError::parse_failed("key \"definition\" not found").at(root)),
    };
    if !served(cx, &a.remote_schema) {
        return Err(ApiError::not_exists(format!(
            "remote schema {:?} doesn't exist",
            a.remote_schema
        )));
    }
    if permission_exists(&cx.md, &a.remote_schema, &a.role) {
        return Err(ApiError::already_exists(format!(
            "permissions for role: {:?} for remote schema:{:?} already exists",
            a.role, a.remote_schema
        )));
    }
    if a.role == "admin" {
        return Err(ApiError::new(
            "constraint-violation",
            "cannot define permission for admin role",
        ));
    }
    // The role's SDL against the remote as served (Hasura's `resolveRoleBasedRemoteSchema`).
    let (schema, _) = resolve::resolve(&cx.md, &cx.catalog, cx.config);
    if let Some(remote) = schema
        .remote_schemas
        .iter()
        .find(|r| r.name == a.remote_schema)
    {
        use crate::resolve::remote_permissions::{role_view, RoleSchemaError};
        match role_view(remote, &definition.schema) {
            Ok(_) => {}
            Err(RoleSchemaError::Invalid(m)) => {
                return Err(ApiError::new("validation-failed", m).at(root))
            }
            Err(RoleSchemaError::Parse(m)) => {
                return Err(ApiError::parse_failed(m).at(format!("{root}.definition.schema")))
            }
        }
    }
    if let Some(r) = cx.md.remote_schema_mut(&a.remote_schema) {
        r.permissions.insert(
            0,
            rr::RemoteSchemaPermission {
                role: a.role,
                definition,
                comment: a.comment,
                extra: Default::default(),
            },
        );
    }
    let name = a.remote_schema;
    accepted_for(cx, |i| is_remote_or_permission(i, &name))
}

pub(super) fn drop_remote_schema_permissions<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a: PermissionArgs = parse(args).map_err(|e| e.at(args_path(cx)))?;
    if !served(cx, &a.remote_schema) {
        return Err(ApiError::not_exists(format!(
            "remote schema {:?} doesn't exist",
            a.remote_schema
        )));
    }
    if !permission_exists(&cx.md, &a.remote_schema, &a.role) {
        return Err(ApiError::not_exists(format!(
            "permissions for role: {:?} for remote schema:{:?} doesn't exist",
            a.role, a.remote_schema
        )));
    }
    if let Some(r) = cx.md.remote_schema_mut(&a.remote_schema) {
        r.permissions.retain(|p| p.role != a.role);
    }
    let name = a.remote_schema;
    accepted_for(cx, |i| is_remote_or_permission(i, &name))
}

/// What a `*_remote_schema_remote_relationship` operation does.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Change {
    Create,
    Update,
    Delete,
}

#[derive(Deserialize)]
struct TypeRelationshipArgs {
    remote_schema: String,
    name: String,
    #[serde(default, alias = "type")]
    type_name: Option<String>,
    #[serde(default)]
    definition: Option<Json>,
}

/// `create/update/delete_remote_schema_remote_relationship`: a relationship from one of the
/// remote's object types, kept in its `remote_relationships` as Hasura stores them
/// (`{type_name, relationships: [{name, definition}]}`); checked when the schema is built.
pub(super) fn remote_type_relationship<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    change: Change,
) -> Result<Json, ApiError> {
    let root = args_path(cx);
    let a: TypeRelationshipArgs = parse(args).map_err(|e| e.at(root))?;
    let Some(type_name) = a.type_name else {
        return Err(ApiError::parse_failed("key \"type_name\" not found").at(root));
    };
    if !served(cx, &a.remote_schema) {
        return Err(ApiError::not_exists(format!(
            "remote schema {:?} doesn't exist",
            a.remote_schema
        )));
    }
    let definition = match (change, a.definition) {
        (Change::Delete, _) => Json::Null,
        (_, Some(d)) if d.get("to_source").is_some() || d.get("to_remote_schema").is_some() => d,
        _ => {
            return Err(
                ApiError::parse_failed("definition needs to_source or to_remote_schema")
                    .at(format!("{root}.definition")),
            )
        }
    };
    let Some(r) = cx.md.remote_schema_mut(&a.remote_schema) else {
        return Err(ApiError::not_exists("remote schema not found"));
    };
    let pos = r
        .remote_relationships
        .iter()
        .position(|e| e.get("type_name").and_then(Json::as_str) == Some(type_name.as_str()));
    let exists = pos.is_some_and(|i| {
        r.remote_relationships[i]["relationships"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["name"] == a.name.as_str()))
    });
    match (change, exists) {
        (Change::Create, true) => {
            return Err(ApiError::already_exists(format!(
                "remote relationship {:?} already exists on type {type_name:?}",
                a.name
            )))
        }
        (Change::Update | Change::Delete, false) => {
            return Err(ApiError::not_exists(format!(
                "remote relationship {:?} does not exist on type {type_name:?}",
                a.name
            )))
        }
        _ => {}
    }
    let i = match pos {
        Some(i) => i,
        None => {
            r.remote_relationships
                .push(serde_json::json!({"type_name": type_name, "relationships": []}));
            r.remote_relationships.len() - 1
        }
    };
    if let Some(list) = r.remote_relationships[i]["relationships"].as_array_mut() {
        list.retain(|x| x["name"] != a.name.as_str());
        if change != Change::Delete {
            list.push(serde_json::json!({"name": a.name, "definition": definition}));
        }
        if list.is_empty() {
            r.remote_relationships.remove(i);
        }
    }
    let name = a.remote_schema;
    accepted_for(cx, |i| {
        is_remote_or_permission(i, &name)
            || (i.kind == "remote_relationship"
                && i.definition.get("remote_schema").and_then(Json::as_str) == Some(name.as_str()))
    })
}

/// `track_table` next to a remote schema: Hasura refuses a table whose GraphQL name is a root
/// field the schema already has (`remote-schema-conflicts`, "node x already exists in
/// current graphql schema"); here the consistent remotes' root fields are checked.
pub(crate) fn check_new_root_field<D: Database>(
    cx: &Cx<'_, D>,
    gql_name: &str,
) -> Result<(), ApiError> {
    if cx.md.remote_schemas.is_empty() {
        return Ok(());
    }
    let (schema, _) = resolve::resolve(&cx.md, &cx.catalog, cx.config);
    let taken = schema
        .remote_schemas
        .iter()
        .any(|r| r.exposed_root_fields("query").iter().any(|f| f == gql_name));
    if taken {
        return Err(ApiError::new(
            "remote-schema-conflicts",
            format!("node {gql_name} already exists in current graphql schema"),
        ));
    }
    Ok(())
}

/// `drop_inconsistent_metadata`: removes the inconsistent remote schemas. Whether anything
/// changed.
pub(crate) fn drop_inconsistent(md: &mut Metadata, list: &[Inconsistency]) -> bool {
    let mut changed = false;
    for i in list.iter().filter(|i| i.kind == res::PERMISSION_KIND) {
        let at = |k: &str| {
            i.definition
                .get(k)
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        if let (Some(remote), Some(role)) = (at("remote_schema"), at("role")) {
            if let Some(r) = md.remote_schema_mut(&remote) {
                let before = r.permissions.len();
                r.permissions.retain(|p| p.role != role);
                changed |= before != r.permissions.len();
            }
        }
    }
    for i in list.iter().filter(|i| i.kind == res::KIND) {
        if let Some(name) = i.definition.get("name").and_then(Json::as_str) {
            let before = md.remote_schemas.len();
            md.remote_schemas.retain(|r| r.name != name);
            changed |= before != md.remote_schemas.len();
        }
    }
    changed
}

#[cfg(test)]
mod tests;
