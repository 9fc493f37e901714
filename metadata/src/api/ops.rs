//! The individual operations. Each takes the request's `args` and mutates the working copy
//! of the metadata (then calls [`Cx::check`]) or reads it.
use super::remote_schemas::{self, Introspector};
use super::{collections, rest_endpoints, scheduled, sql, success, Cx};
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::{self, Metadata, QualifiedTable, Source, TableMetadata};
use crate::Endpoint;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// Hasura's text form of a table in messages: `author` (schema public) or `s.author`.
pub(crate) fn qt_txt(t: &QualifiedTable) -> String {
    if t.schema == "public" {
        t.name.clone()
    } else {
        format!("{}.{}", t.schema, t.name)
    }
}

/// Parses `args` into `T`, with Hasura-like messages.
pub(crate) fn parse<T: DeserializeOwned>(args: &Json) -> Result<T, ApiError> {
    serde_json::from_value(args.clone()).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.strip_prefix("missing field `") {
            Some(rest) => format!("key {:?} not found", rest.split('`').next().unwrap_or("")),
            None => msg.split(" at line ").next().unwrap_or(&msg).to_string(),
        };
        ApiError::parse_failed(msg)
    })
}

fn source_name(args: &Json) -> String {
    args.get("source")
        .and_then(|s| s.as_str())
        .unwrap_or("default")
        .to_string()
}

fn source_mut<'m>(md: &'m mut Metadata, name: &str) -> Result<&'m mut Source, ApiError> {
    md.source_mut(name)
        .ok_or_else(|| ApiError::not_exists(format!("source with name {name:?} does not exist")))
}

/// The source the request's `args` name (`default` when they name none).
fn arg_source<'m>(md: &'m mut Metadata, args: &Json) -> Result<&'m mut Source, ApiError> {
    source_mut(md, &source_name(args))
}

/// Table `t` of the source the request's `args` name.
pub(super) fn arg_table<'m>(
    md: &'m mut Metadata,
    args: &Json,
    t: &QualifiedTable,
) -> Result<&'m mut TableMetadata, ApiError> {
    table_mut(arg_source(md, args)?, t)
}

/// Accepts the change (see [`Cx::check`]) and answers Hasura's `{"message": "success"}`.
pub(super) fn accepted<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    cx.check()?;
    Ok(success())
}

fn table_mut<'s>(
    src: &'s mut Source,
    t: &QualifiedTable,
) -> Result<&'s mut TableMetadata, ApiError> {
    let source = src.name.clone();
    src.table_mut(t).ok_or_else(|| {
        ApiError::not_exists(format!(
            "table {:?} does not exist in source: {source}",
            qt_txt(t)
        ))
    })
}

/// Runs one (non-bulk) operation.
pub(crate) async fn run<D: Database>(
    cx: &mut Cx<'_, D>,
    op: &str,
    args: &Json,
    version: u64,
    intro: &impl Introspector,
) -> Result<Json, ApiError> {
    let name = normalize(cx.endpoint, op)?;
    match name {
        "run_sql" => sql::run_sql(cx, args).await,
        "insert" => sql::insert(cx, args).await,
        "track_table" | "add_existing_table_or_view" => track_table(cx, args, version).await,
        "untrack_table" => untrack_table(cx, args),
        "set_table_is_enum" => set_table_is_enum(cx, args).await,
        "set_apollo_federation_config" => set_apollo_federation_config(cx, args),
        "set_table_customization" => set_table_customization(cx, args),
        "set_table_custom_fields" => set_table_custom_fields(cx, args),
        "create_object_relationship" => create_relationship(cx, args, true),
        "create_remote_relationship" => super::remote_relationships::create(cx, args),
        "update_remote_relationship" => super::remote_relationships::update(cx, args),
        "delete_remote_relationship" => super::remote_relationships::delete(cx, args),
        "create_array_relationship" => create_relationship(cx, args, false),
        "drop_relationship" => drop_relationship(cx, args),
        "rename_relationship" => rename_relationship(cx, args),
        "set_relationship_comment" => set_relationship_comment(cx, args),
        "create_select_permission" => create_permission(cx, args, Perm::Select),
        "create_insert_permission" => create_permission(cx, args, Perm::Insert),
        "create_update_permission" => create_permission(cx, args, Perm::Update),
        "create_delete_permission" => create_permission(cx, args, Perm::Delete),
        "drop_select_permission" => drop_permission(cx, args, Perm::Select),
        "drop_insert_permission" => drop_permission(cx, args, Perm::Insert),
        "drop_update_permission" => drop_permission(cx, args, Perm::Update),
        "drop_delete_permission" => drop_permission(cx, args, Perm::Delete),
        "add_computed_field" => add_computed_field(cx, args),
        "drop_computed_field" => drop_computed_field(cx, args),
        "track_function" => track_function(cx, args, version).await,
        "untrack_function" => untrack_function(cx, args),
        "set_function_customization" => set_function_customization(cx, args),
        "create_function_permission" => function_permission(cx, args, true),
        "drop_function_permission" => function_permission(cx, args, false),
        "add_inherited_role" => add_inherited_role(cx, args),
        "drop_inherited_role" => drop_inherited_role(cx, args),
        "create_rest_endpoint" => rest_endpoints::create_rest_endpoint(cx, args),
        "drop_rest_endpoint" => rest_endpoints::drop_rest_endpoint(cx, args),
        "create_query_collection" => collections::create_query_collection(cx, args),
        "drop_query_collection" => collections::drop_query_collection(cx, args),
        "rename_query_collection" => collections::rename_query_collection(cx, args),
        "add_query_to_collection" => collections::add_query_to_collection(cx, args),
        "drop_query_from_collection" => collections::drop_query_from_collection(cx, args),
        "add_collection_to_allowlist" => collections::add_collection_to_allowlist(cx, args),
        "drop_collection_from_allowlist" => collections::drop_collection_from_allowlist(cx, args),
        "update_scope_of_collection_in_allowlist" => collections::update_allowlist_scope(cx, args),
        "test_webhook_transform" => crate::events::test_webhook_transform(args),
        "create_cron_trigger" => scheduled::create_cron_trigger(cx, args),
        "delete_cron_trigger" => scheduled::delete_cron_trigger(cx, args),
        "get_cron_triggers" => scheduled::get_cron_triggers(cx),
        "create_scheduled_event" => scheduled::create_scheduled_event(cx, args).await,
        "delete_scheduled_event" => scheduled::delete_scheduled_event(cx, args).await,
        "get_scheduled_events" => scheduled::get_scheduled_events(cx, args).await,
        "get_scheduled_event_invocations" => {
            scheduled::get_scheduled_event_invocations(cx, args).await
        }
        "set_custom_types" => super::actions::set_custom_types(cx, args),
        "create_action" => super::actions::create_action(cx, args),
        "update_action" => super::actions::update_action(cx, args),
        "drop_action" => {
            let answer = super::actions::drop_action(cx, args)?;
            super::actions::clear_action_log(cx, args).await?;
            Ok(answer)
        }
        "create_action_permission" => super::actions::create_action_permission(cx, args),
        "drop_action_permission" => super::actions::drop_action_permission(cx, args),
        "add_remote_schema" => remote_schemas::add_remote_schema(cx, args, intro).await,
        "update_remote_schema" => remote_schemas::update_remote_schema(cx, args, intro).await,
        "remove_remote_schema" => remote_schemas::remove_remote_schema(cx, args),
        "reload_remote_schema" => remote_schemas::reload_remote_schema(cx, args, intro).await,
        "introspect_remote_schema" => remote_schemas::introspect_remote_schema(cx, args),
        "add_remote_schema_permissions" => remote_schemas::add_remote_schema_permissions(cx, args),
        "drop_remote_schema_permissions" => {
            remote_schemas::drop_remote_schema_permissions(cx, args)
        }
        "create_remote_schema_remote_relationship" => {
            remote_schemas::remote_type_relationship(cx, args, remote_schemas::Change::Create)
        }
        "update_remote_schema_remote_relationship" => {
            remote_schemas::remote_type_relationship(cx, args, remote_schemas::Change::Update)
        }
        "delete_remote_schema_remote_relationship" => {
            remote_schemas::remote_type_relationship(cx, args, remote_schemas::Change::Delete)
        }
        "set_api_limits" => super::limits::set_api_limits(cx, args),
        "remove_api_limits" => super::limits::remove_api_limits(cx),
        "set_opentelemetry_config" => super::opentelemetry::set_opentelemetry_config(cx, args),
        "set_opentelemetry_status" => super::opentelemetry::set_opentelemetry_status(cx, args),
        "set_graphql_schema_introspection_options" => {
            super::limits::set_introspection_options(cx, args)
        }
        "export_metadata" => super::whole::export_metadata(cx, version),
        "dump_internal_state" => super::whole::dump_internal_state(cx),
        "replace_metadata" => super::whole::replace_metadata(cx, args, intro).await,
        "reload_metadata" => {
            cx.reinstall_event_triggers = true;
            super::whole::reload_metadata(cx, args, intro).await
        }
        "clear_metadata" => super::whole::clear_metadata(cx),
        "get_inconsistent_metadata" => Ok(inconsistent_json(cx)),
        "graphedge_permission_matrix" => {
            let (schema, _) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
            crate::audit::matrix(&schema, args)
        }
        "drop_inconsistent_metadata" => drop_inconsistent_metadata(cx),
        op if crate::sources::ops::handles(op) => crate::sources::ops::run(cx, op, args).await,
        op if crate::events::ops::handles(op) => crate::events::ops::run(cx, op, args).await,
        _ => Err(ApiError::not_supported(format!("unknown operation {op:?}")).at("$.type")),
    }
}

/// The canonical (legacy, unprefixed) name of an operation, if the endpoint accepts it.
fn normalize(endpoint: Endpoint, op: &str) -> Result<&str, ApiError> {
    let unknown =
        || ApiError::parse_failed(format!("unknown metadata command {op:?}")).at("$.type");
    match endpoint {
        Endpoint::V2Query => match op {
            "run_sql" => Ok("run_sql"),
            _ => Err(ApiError::parse_failed(format!(
                "unknown query type {op:?}; only run_sql is supported on /v2/query"
            ))
            .at("$.type")),
        },
        Endpoint::V1Metadata => {
            if let Some(rest) = op.strip_prefix("pg_") {
                return Ok(rest);
            }
            for other in ["mssql_", "citus_", "bigquery_", "cockroach_", "mysql_"] {
                if op.starts_with(other) {
                    return Err(ApiError::not_supported(format!(
                        "backend of {op:?} is not supported"
                    ))
                    .at("$.type"));
                }
            }
            match op {
                "insert" => Err(unknown()),
                _ => Ok(op),
            }
        }
        Endpoint::V1Query => Ok(op.strip_prefix("pg_").unwrap_or(op)),
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

async fn track_table<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    version: u64,
) -> Result<Json, ApiError> {
    // Shapes: "name" | {schema, name, is_enum?} | {table, configuration?, is_enum?, source?}.
    let (table, configuration, is_enum) = match args {
        Json::Object(m) if m.contains_key("table") => {
            let table: QualifiedTable = parse(&m["table"]).map_err(|e| e.at("$.args.table"))?;
            let configuration: raw::TableConfig = match m.get("configuration") {
                Some(c) if !c.is_null() => parse(c).map_err(|e| e.at("$.args.configuration"))?,
                _ => Default::default(),
            };
            (
                table,
                configuration,
                m.get("is_enum").and_then(|b| b.as_bool()).unwrap_or(false),
            )
        }
        _ => {
            let table: QualifiedTable = parse(args)?;
            (
                table,
                Default::default(),
                args.get("is_enum")
                    .and_then(|b| b.as_bool())
                    .unwrap_or(false),
            )
        }
    };
    let _ = version;
    let elsewhere = cx.catalog_elsewhere(args).await?;
    let mut exists = match &elsewhere {
        Some(c) => c.table(&table.schema, &table.name).is_some(),
        None => cx.catalog.table(&table.schema, &table.name).is_some(),
    };
    if !exists && elsewhere.is_none() {
        // Created since the last introspection (by another client or process)?
        cx.reintrospect().await?;
        exists = cx.catalog.table(&table.schema, &table.name).is_some();
    }
    let src = arg_source(&mut cx.md, args)?;
    if src.table(&table).is_some() {
        return Err(ApiError::new(
            "already-tracked",
            format!("view/table already tracked: {:?}", qt_txt(&table)),
        ));
    }
    if src.function(&table).is_some() {
        return Err(ApiError::new(
            "not-supported",
            format!("function with name {:?} already exists", qt_txt(&table)),
        ));
    }
    if !exists {
        return Err(ApiError::not_exists(format!(
            "no such table/view exists in source: {:?}",
            qt_txt(&table)
        )));
    }
    let gql_name = configuration
        .custom_name
        .clone()
        .unwrap_or_else(|| crate::resolve::default_gql_name(&table.schema, &table.name));
    remote_schemas::check_new_root_field(cx, &gql_name)?;
    let src = arg_source(&mut cx.md, args)?;
    let mut tm = TableMetadata::new(table);
    tm.configuration = configuration;
    tm.is_enum = is_enum;
    if let Some(c) = args
        .get("apollo_federation_config")
        .filter(|c| !c.is_null())
    {
        tm.extra
            .insert("apollo_federation_config".into(), federation_config(c)?);
    }
    src.tables.push(tm);
    if is_enum {
        // Enum values are read by introspection (of the source the table is in).
        match elsewhere {
            None => cx.reintrospect().await?,
            Some(_) => {
                cx.catalog_elsewhere(args).await?;
            }
        }
    }
    accepted(cx)
}

fn untrack_table<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let table: QualifiedTable = match args.get("table") {
        Some(t) => parse(t).map_err(|e| e.at("$.args.table"))?,
        None => parse(args)?,
    };
    let cascade = args
        .get("cascade")
        .and_then(|b| b.as_bool())
        .unwrap_or(false);
    let src = arg_source(&mut cx.md, args)?;
    if src.table(&table).is_none() {
        return Err(ApiError::new(
            "already-untracked",
            format!("view/table already untracked: {:?}", qt_txt(&table)),
        ));
    }
    // The source's catalog: a relationship on a local foreign key targets what the key
    // references.
    let name = src.name.clone();
    let served = crate::sources::served(&cx.md).is_some_and(|s| s.name == name);
    let catalog = match served {
        true => Some(&cx.catalog),
        false => cx
            .catalog
            .others
            .iter()
            .find(|o| o.source == name)
            .map(|o| &o.catalog),
    };
    let src = arg_source(&mut cx.md, args)?;
    // Dependents: relationships of other tables to this one.
    let mut deps = Vec::new();
    for t in &src.tables {
        if t.table == table {
            continue;
        }
        for r in t.object_relationships.iter().chain(&t.array_relationships) {
            if rel_target(&r.using, &t.table, catalog).as_ref() == Some(&table) {
                deps.push(format!(
                    "relationship {}.{} in source {:?}",
                    qt_txt(&t.table),
                    r.name,
                    src.name
                ));
            }
        }
    }
    if !deps.is_empty() && !cascade {
        return Err(ApiError::new(
            "dependency-error",
            format!(
                "cannot drop due to the following dependent objects: {}",
                deps.join(", ")
            ),
        ));
    }
    src.tables.retain(|t| t.table != table);
    for t in &mut src.tables {
        let owner = t.table.clone();
        t.object_relationships
            .retain(|r| rel_target(&r.using, &owner, catalog).as_ref() != Some(&table));
        t.array_relationships
            .retain(|r| rel_target(&r.using, &owner, catalog).as_ref() != Some(&table));
    }
    drop_new_inconsistencies(cx);
    accepted(cx)
}

/// The remote table of a relationship of `owner` (its `using`): the one it names, or the one
/// the local foreign key on its column(s) references (in `catalog`, the source's).
fn rel_target(
    using: &raw::RelUsing,
    owner: &QualifiedTable,
    catalog: Option<&crate::introspect::Catalog>,
) -> Option<QualifiedTable> {
    if let Some(m) = &using.manual_configuration {
        return Some(m.remote_table.clone());
    }
    let columns = match using.foreign_key_constraint_on.as_ref()? {
        raw::FkOn::Remote(r) => return Some(r.table.clone()),
        raw::FkOn::Column(c) => core::slice::from_ref(c),
        raw::FkOn::Columns(cs) => cs.as_slice(),
    };
    let fk = catalog?
        .table(&owner.schema, &owner.name)?
        .foreign_keys
        .iter()
        .find(|fk| fk.columns == columns)?;
    Some(QualifiedTable {
        schema: fk.ref_schema.clone(),
        name: fk.ref_table.clone(),
    })
}

async fn set_table_is_enum<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        is_enum: bool,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    t.is_enum = a.is_enum;
    cx.reintrospect().await?;
    accepted(cx)
}

/// `pg_set_apollo_federation_config`: `{table, apollo_federation_config}` (null: off).
fn set_apollo_federation_config<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
    }
    let a: A = parse(args)?;
    let config = match args.get("apollo_federation_config") {
        Some(c) if !c.is_null() => Some(federation_config(c)?),
        _ => None,
    };
    let t = arg_table(&mut cx.md, args, &a.table)?;
    match config {
        Some(c) => {
            t.extra.insert("apollo_federation_config".into(), c);
        }
        None => {
            t.extra.shift_remove("apollo_federation_config");
        }
    }
    accepted(cx)
}

/// An `apollo_federation_config` (`{"enable": "v1"}`), checked.
fn federation_config(c: &Json) -> Result<Json, ApiError> {
    match c.get("enable").and_then(Json::as_str) {
        Some("v1") => Ok(serde_json::json!({"enable": "v1"})),
        _ => Err(
            ApiError::parse_failed("apollo_federation_config.enable: expected \"v1\"")
                .at("$.args.apollo_federation_config"),
        ),
    }
}

fn set_table_customization<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        #[serde(default)]
        configuration: raw::TableConfig,
    }
    let a: A = parse(args)?;
    arg_table(&mut cx.md, args, &a.table)?.configuration = a.configuration;
    accepted(cx)
}

fn set_table_custom_fields<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        #[serde(default)]
        custom_root_fields: raw::CustomRootFields,
        #[serde(default)]
        custom_column_names: indexmap::IndexMap<String, String>,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    t.configuration.custom_root_fields = a.custom_root_fields;
    t.configuration.custom_column_names = a.custom_column_names;
    accepted(cx)
}

// ---------------------------------------------------------------------------------------------
// Relationships

fn create_relationship<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    object: bool,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        name: String,
        using: raw::RelUsing,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args)?;
    match (
        &a.using.foreign_key_constraint_on,
        &a.using.manual_configuration,
    ) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => {
            return Err(ApiError::parse_failed(
                "exactly one of foreign_key_constraint_on/manual_configuration is expected",
            )
            .at("$.args.using"))
        }
    }
    if !object {
        if let Some(fk) = &a.using.foreign_key_constraint_on {
            if !matches!(fk, raw::FkOn::Remote(_)) {
                return Err(ApiError::parse_failed(
                    "expected an object with keys \"table\" and \"column\" or \"columns\"",
                )
                .at("$.args.using.foreign_key_constraint_on"));
            }
        }
    }
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if t.object_relationships
        .iter()
        .chain(&t.array_relationships)
        .any(|r| r.name == a.name)
    {
        return Err(ApiError::already_exists(format!(
            "relationship with name {:?} already exists on table {:?}",
            a.name,
            qt_txt(&a.table)
        )));
    }
    let rel = raw::Relationship {
        name: a.name,
        using: a.using,
        comment: a.comment,
    };
    if object {
        t.object_relationships.push(rel);
    } else {
        t.array_relationships.push(rel);
    }
    accepted(cx)
}

/// Finds a relationship by name (object first, then array).
fn find_rel<'t>(t: &'t mut TableMetadata, name: &str) -> Option<&'t mut raw::Relationship> {
    if let Some(i) = t.object_relationships.iter().position(|r| r.name == name) {
        return t.object_relationships.get_mut(i);
    }
    t.array_relationships.iter_mut().find(|r| r.name == name)
}

fn rel_not_exists(name: &str, t: &QualifiedTable) -> ApiError {
    ApiError::not_exists(format!(
        "relationship {name:?} does not exist on table {:?}",
        qt_txt(t)
    ))
}

fn drop_relationship<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        relationship: String,
        #[serde(default)]
        cascade: bool,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    let object = remove_all(&mut t.object_relationships, |r| r.name == a.relationship);
    let array = remove_all(&mut t.array_relationships, |r| r.name == a.relationship);
    if !object && !array {
        return Err(rel_not_exists(&a.relationship, &a.table));
    }
    // Permissions that used the relationship become inconsistent: drop them with cascade,
    // otherwise refuse like Hasura.
    let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    let introduced: Vec<_> = now
        .iter()
        .filter(|i| !cx.baseline.contains(i))
        .cloned()
        .collect();
    if !introduced.is_empty() {
        if !a.cascade {
            return Err(ApiError::new(
                "dependency-error",
                format!(
                    "cannot drop due to the following dependent objects : {}",
                    introduced
                        .iter()
                        .map(|i| i.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        drop_new_inconsistencies(cx);
    }
    accepted(cx)
}

fn rename_relationship<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        name: String,
        new_name: String,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if t.object_relationships
        .iter()
        .chain(&t.array_relationships)
        .any(|r| r.name == a.new_name)
    {
        return Err(ApiError::already_exists(format!(
            "relationship with name {:?} already exists on table {:?}",
            a.new_name,
            qt_txt(&a.table)
        )));
    }
    let r = find_rel(t, &a.name).ok_or_else(|| rel_not_exists(&a.name, &a.table))?;
    r.name = a.new_name;
    accepted(cx)
}

fn set_relationship_comment<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        name: String,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    find_rel(t, &a.name)
        .ok_or_else(|| rel_not_exists(&a.name, &a.table))?
        .comment = a.comment;
    accepted(cx)
}

// ---------------------------------------------------------------------------------------------
// Permissions

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Perm {
    Select,
    Insert,
    Update,
    Delete,
}

impl Perm {
    fn name(self) -> &'static str {
        match self {
            Perm::Select => "select",
            Perm::Insert => "insert",
            Perm::Update => "update",
            Perm::Delete => "delete",
        }
    }
}

fn has_role<P>(list: &[raw::PermissionEntry<P>], role: &str) -> bool {
    list.iter().any(|p| p.role == role)
}

fn create_permission<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    kind: Perm,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        role: String,
        permission: Json,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args)?;
    if a.role == "admin" {
        return Err(ApiError::new(
            "constraint-violation",
            "cannot define permission for admin role",
        )
        .at("$.args.role"));
    }
    let t = arg_table(&mut cx.md, args, &a.table)?;
    let exists = match kind {
        Perm::Select => has_role(&t.select_permissions, &a.role),
        Perm::Insert => has_role(&t.insert_permissions, &a.role),
        Perm::Update => has_role(&t.update_permissions, &a.role),
        Perm::Delete => has_role(&t.delete_permissions, &a.role),
    };
    if exists {
        return Err(ApiError::already_exists(format!(
            "{} permission already defined on table {:?} with role {:?}",
            kind.name(),
            qt_txt(&a.table),
            a.role
        )));
    }
    let (role, permission, comment) = (a.role, &a.permission, a.comment);
    match kind {
        Perm::Select => push_entry(&mut t.select_permissions, role, permission, comment)?,
        Perm::Insert => push_entry(&mut t.insert_permissions, role, permission, comment)?,
        Perm::Update => push_entry(&mut t.update_permissions, role, permission, comment)?,
        Perm::Delete => push_entry(&mut t.delete_permissions, role, permission, comment)?,
    }
    accepted(cx)
}

/// Adds `role`'s entry to `list`, its permission parsed from `permission`.
fn push_entry<P: DeserializeOwned>(
    list: &mut Vec<raw::PermissionEntry<P>>,
    role: String,
    permission: &Json,
    comment: Option<String>,
) -> Result<(), ApiError> {
    list.push(raw::PermissionEntry {
        role,
        permission: parse(permission).map_err(|e| e.at("$.args.permission"))?,
        comment,
    });
    Ok(())
}

fn drop_permission<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    kind: Perm,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        role: String,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    let removed = match kind {
        Perm::Select => remove_role(&mut t.select_permissions, &a.role),
        Perm::Insert => remove_role(&mut t.insert_permissions, &a.role),
        Perm::Update => remove_role(&mut t.update_permissions, &a.role),
        Perm::Delete => remove_role(&mut t.delete_permissions, &a.role),
    };
    if !removed {
        return Err(ApiError::not_exists(format!(
            "{} permission on {:?} for role {:?} does not exist",
            kind.name(),
            qt_txt(&a.table),
            a.role
        )));
    }
    accepted(cx)
}

fn remove_role<P>(list: &mut Vec<raw::PermissionEntry<P>>, role: &str) -> bool {
    remove_all(list, |p| p.role == role)
}

/// Removes every element that matches; whether anything was removed.
pub(super) fn remove_all<T>(list: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> bool {
    let before = list.len();
    list.retain(|x| !matches(x));
    before != list.len()
}

// ---------------------------------------------------------------------------------------------
// Computed fields and functions

fn add_computed_field<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        name: String,
        definition: raw::ComputedFieldDefinition,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args)?;
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if t.computed_fields.iter().any(|c| c.name == a.name) {
        return Err(ApiError::already_exists(format!(
            "computed field with name {:?} already exists on table {:?}",
            a.name,
            qt_txt(&a.table)
        )));
    }
    t.computed_fields.push(raw::ComputedField {
        name: a.name,
        definition: a.definition,
        comment: a.comment,
    });
    accepted(cx)
}

fn drop_computed_field<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        table: QualifiedTable,
        name: String,
        #[serde(default)]
        cascade: bool,
    }
    let a: A = parse(args)?;
    let source = arg_source(&mut cx.md, args)?.name.clone();
    let t = arg_table(&mut cx.md, args, &a.table)?;
    if !t.computed_fields.iter().any(|c| c.name == a.name) {
        return Err(ApiError::not_exists(format!(
            "computed field {:?} does not exist on table {:?}",
            a.name,
            qt_txt(&a.table)
        )));
    }
    // Dependents: the select permissions that list it (dropped with `cascade`, as Hasura).
    let uses = |p: &raw::PermissionEntry<raw::SelectPermission>| {
        p.permission.computed_fields.contains(&a.name)
    };
    let deps: Vec<String> = t
        .select_permissions
        .iter()
        .filter(|p| uses(p))
        .map(|p| {
            format!(
                "permission {}.{}.select in source {source:?}",
                qt_txt(&a.table),
                p.role
            )
        })
        .collect();
    if !deps.is_empty() && !a.cascade {
        return Err(ApiError::new(
            "dependency-error",
            format!(
                "cannot drop due to the following dependent objects: {}",
                deps.join(", ")
            ),
        ));
    }
    t.select_permissions.retain(|p| !uses(p));
    remove_all(&mut t.computed_fields, |c| c.name == a.name);
    drop_new_inconsistencies(cx);
    accepted(cx)
}

/// `{function, configuration?, comment?}` (v2) or `{schema, name}` / `"name"` (v1).
fn function_args(
    args: &Json,
) -> Result<(QualifiedTable, raw::FunctionConfig, Option<String>), ApiError> {
    match args {
        Json::Object(m) if m.contains_key("function") => {
            let f: QualifiedTable = parse(&m["function"]).map_err(|e| e.at("$.args.function"))?;
            let c: raw::FunctionConfig = match m.get("configuration") {
                Some(c) if !c.is_null() => parse(c).map_err(|e| e.at("$.args.configuration"))?,
                _ => Default::default(),
            };
            let comment = m.get("comment").and_then(|c| c.as_str()).map(String::from);
            Ok((f, c, comment))
        }
        _ => Ok((parse(args)?, Default::default(), None)),
    }
}

async fn track_function<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    _version: u64,
) -> Result<Json, ApiError> {
    let (f, configuration, comment) = function_args(args)?;
    let exists = match cx.catalog_elsewhere(args).await? {
        Some(c) => !c.functions_named(&f.schema, &f.name).is_empty(),
        None => !cx.catalog.functions_named(&f.schema, &f.name).is_empty(),
    };
    let src = arg_source(&mut cx.md, args)?;
    if src.function(&f).is_some() {
        return Err(ApiError::new(
            "already-tracked",
            format!("function already tracked: {:?}", qt_txt(&f)),
        ));
    }
    if src.table(&f).is_some() {
        return Err(ApiError::new(
            "not-supported",
            format!("table with name {:?} already exists", qt_txt(&f)),
        ));
    }
    if !exists {
        return Err(ApiError::not_exists(format!(
            "function not found in postgres: {:?}",
            qt_txt(&f)
        )));
    }
    let mut fm = raw::FunctionMetadata::new(f);
    fm.configuration = configuration;
    fm.comment = comment;
    src.functions.push(fm);
    accepted(cx)
}

fn untrack_function<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let (f, _, _) = function_args(args)?;
    let src = arg_source(&mut cx.md, args)?;
    if src.function(&f).is_none() {
        return Err(ApiError::new(
            "already-untracked",
            format!("function not found in metadata: {:?}", qt_txt(&f)),
        ));
    }
    src.functions.retain(|x| x.function != f);
    accepted(cx)
}

fn set_function_customization<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let (f, configuration, _) = function_args(args)?;
    let src = arg_source(&mut cx.md, args)?;
    let fm = src.function_mut(&f).ok_or_else(|| {
        ApiError::not_exists(format!("function not found in metadata: {:?}", qt_txt(&f)))
    })?;
    fm.configuration = configuration;
    accepted(cx)
}

fn function_permission<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
    create: bool,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        function: QualifiedTable,
        role: String,
    }
    let a: A = parse(args)?;
    let src_name = source_name(args);
    let src = source_mut(&mut cx.md, &src_name)?;
    let fm = src.function_mut(&a.function).ok_or_else(|| {
        ApiError::not_exists(format!("function {:?} is not tracked", qt_txt(&a.function)))
    })?;
    let has = fm.permissions.iter().any(|p| p.role == a.role);
    if create {
        if has {
            return Err(ApiError::already_exists(format!(
                "permission of role {:?} already exists for function {:?} in source: {src_name}",
                a.role,
                qt_txt(&a.function)
            )));
        }
        fm.permissions
            .push(raw::FunctionPermission { role: a.role });
    } else {
        if !has {
            return Err(ApiError::not_exists(format!(
                "permission of role {:?} does not exist for function {:?} in source: {src_name}",
                a.role,
                qt_txt(&a.function)
            )));
        }
        fm.permissions.retain(|p| p.role != a.role);
    }
    accepted(cx)
}

// ---------------------------------------------------------------------------------------------
// Inherited roles

fn add_inherited_role<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let role: raw::InheritedRole = parse(args)?;
    if cx
        .md
        .inherited_roles
        .iter()
        .any(|r| r.role_name == role.role_name)
    {
        return Err(ApiError::already_exists(format!(
            "inherited role {:?} already exists",
            role.role_name
        )));
    }
    cx.md.inherited_roles.push(role);
    accepted(cx)
}

fn drop_inherited_role<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        role_name: String,
    }
    let a: A = parse(args)?;
    if !remove_all(&mut cx.md.inherited_roles, |r| r.role_name == a.role_name) {
        return Err(ApiError::not_exists(format!(
            "inherited role {:?} does not exist",
            a.role_name
        )));
    }
    accepted(cx)
}

pub(crate) fn inconsistent_json<D: Database>(cx: &Cx<'_, D>) -> Json {
    json!({
        "is_consistent": cx.baseline.is_empty(),
        "inconsistent_objects": cx.baseline,
    })
}

fn drop_inconsistent_metadata<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    let all = cx.baseline.clone();
    drop_objects(&mut cx.md, &all);
    super::actions::drop_inconsistent(&mut cx.md, &all);
    remote_schemas::drop_inconsistent(&mut cx.md, &all);
    // Dropping may expose dependents (permissions using a dropped relationship): repeat.
    for _ in 0..8 {
        let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
        let tables = drop_objects(&mut cx.md, &now);
        let actions = super::actions::drop_inconsistent(&mut cx.md, &now);
        if !remote_schemas::drop_inconsistent(&mut cx.md, &now) && !actions && !tables {
            break;
        }
    }
    let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    cx.baseline = now;
    cx.md_changed = true;
    Ok(success())
}

/// Drops every object that became inconsistent relative to the baseline (used for cascades
/// and after DDL), repeating while dropping exposes more.
pub(crate) fn drop_new_inconsistencies<D: Database>(cx: &mut Cx<'_, D>) {
    for _ in 0..8 {
        let (_, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
        let new: Vec<_> = now
            .into_iter()
            .filter(|i| !cx.baseline.contains(i))
            .collect();
        if new.is_empty() || !drop_objects(&mut cx.md, &new) {
            break;
        }
    }
}

/// Removes the metadata objects the inconsistencies name. Returns whether anything was removed.
pub(crate) fn drop_objects(md: &mut Metadata, list: &[crate::Inconsistency]) -> bool {
    let mut changed = false;
    for inc in list {
        let def = &inc.definition;
        let source = def
            .get("source")
            .and_then(|s| s.as_str())
            .unwrap_or("default")
            .to_string();
        let table: Option<QualifiedTable> = def
            .get("table")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        let kind = inc.kind.as_str();
        match kind {
            "table" => {
                if let Ok(t) = serde_json::from_value::<QualifiedTable>(def.clone()) {
                    for s in &mut md.sources {
                        changed |= remove_all(&mut s.tables, |x| x.table == t);
                    }
                }
            }
            "function" => {
                if let Some(f) = def
                    .get("function")
                    .and_then(|f| serde_json::from_value::<QualifiedTable>(f.clone()).ok())
                {
                    for s in &mut md.sources {
                        changed |= remove_all(&mut s.functions, |x| x.function == f);
                    }
                }
            }
            "inherited_role" => {
                if let Some(r) = def.get("role_name").and_then(|r| r.as_str()) {
                    changed |= remove_all(&mut md.inherited_roles, |x| x.role_name == r);
                }
            }
            _ => {
                let (Some(t), Some(src)) = (table, md.source_mut(&source)) else {
                    continue;
                };
                let Some(tm) = src.table_mut(&t) else {
                    continue;
                };
                let name = def.get("name").and_then(|n| n.as_str()).unwrap_or("");
                let role = def.get("role").and_then(|n| n.as_str()).unwrap_or("");
                let before = serde_json::to_value(&*tm).ok();
                match kind {
                    "object_relation" => tm.object_relationships.retain(|r| r.name != name),
                    "array_relation" => tm.array_relationships.retain(|r| r.name != name),
                    "computed_field" => tm.computed_fields.retain(|r| r.name != name),
                    "select_permission" => tm.select_permissions.retain(|p| p.role != role),
                    "insert_permission" => tm.insert_permissions.retain(|p| p.role != role),
                    "update_permission" => tm.update_permissions.retain(|p| p.role != role),
                    "delete_permission" => tm.delete_permissions.retain(|p| p.role != role),
                    _ => {}
                }
                changed |= before != serde_json::to_value(&*tm).ok();
            }
        }
    }
    changed
}
