//! The metadata API: one request body of `/v1/query`, `/v1/metadata` or `/v2/query`.
//!
//! Every operation works on a *copy* of the raw metadata. After an operation that changes it,
//! the copy is re-resolved against the catalog and any inconsistency the operation introduced
//! fails the request (like Hasura's consistency check), so a failed request — including any
//! element of a `bulk` — leaves the served metadata untouched. Only when the whole request
//! succeeds is the new metadata persisted (`graphedge.metadata`) and returned as a new state.
//!
//! Exception: `run_sql` statements are executed when reached; a later failure in the same
//! `bulk` does not undo them (Hasura runs a bulk in one transaction).
//!
//! Several processes may serve one database: a request first reloads metadata another process
//! stored, and its write is a compare-and-set on `resource_version` (see [`execute`]).
mod actions;
mod collections;
mod limits;
pub mod opentelemetry;
mod ops;
mod remote_relationships;
pub mod remote_schemas;
mod rest_endpoints;
pub mod scheduled;
mod sql;
mod sql_deps;
mod sql_renames;
mod whole;

pub(crate) use ops::parse;
pub use remote_schemas::{Introspector, NoIntrospection, INTROSPECTION_QUERY};

use crate::db::{Database, DbError, On, Rows, SqlResult, Statement, Target};
use crate::error::ApiError;
use crate::introspect::{self, Catalog};
use crate::raw::{self, Metadata};
use crate::resolve::{self, Inconsistency};
use crate::sources::{self, Connection};
use crate::{store, Config, Endpoint, MetadataState};
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Hasura's `{"message": "success"}`.
pub(crate) fn success() -> Json {
    json!({ "message": "success" })
}

/// The connection configuration of the source Hasura creates from `HASURA_GRAPHQL_DATABASE_URL`.
pub fn default_source_configuration() -> Json {
    json!({
        "connection_info": {
            "database_url": { "from_env": "HASURA_GRAPHQL_DATABASE_URL" },
            "isolation_level": "read-committed",
            "pool_settings": {
                "connection_lifetime": 600,
                "idle_timeout": 180,
                "max_connections": 50,
                "retries": 1
            },
            "use_prepared_statements": true
        }
    })
}

/// Empty metadata: with the source `default` when the host has a default database
/// ([`Database::has_default_database`]), without sources otherwise.
pub(crate) fn empty_metadata_for(db: &impl Database) -> Metadata {
    if db.has_default_database() {
        empty_metadata()
    } else {
        Metadata::default()
    }
}

/// Empty metadata with the source `default` (what a fresh Hasura exports).
pub fn empty_metadata() -> Metadata {
    Metadata {
        sources: vec![raw::Source::new("default", default_source_configuration())],
        ..Metadata::default()
    }
}

/// Tables marked `is_enum` (their rows are introspected).
pub(crate) fn enum_tables(md: &Metadata) -> Vec<raw::QualifiedTable> {
    md.sources
        .iter()
        .flat_map(|s| s.tables.iter())
        .filter(|t| t.is_enum)
        .map(|t| t.table.clone())
        .collect()
}

fn db_err(e: crate::db::DbError) -> ApiError {
    ApiError::postgres(&e, None).at("$")
}

/// Loads the persisted metadata (creating our catalog schema `graphedge` and its table in the
/// metadata database if missing, and our catalog in the served source's), introspects the
/// served source when no catalog is stored, resolves. Empty metadata (with the source
/// `default` when the host has a default database) if none is stored.
pub async fn load(db: &impl Database, config: &Config) -> Result<MetadataState, ApiError> {
    store::ensure(db).await.map_err(db_err)?;
    let stored = store::read(db).await.map_err(db_err)?;
    let state = from_stored(db, config, stored).await?;
    if let Some(c) = sources::served_connection(&state.metadata) {
        store::ensure_source(db, &c).await.map_err(db_err)?;
    }
    // The other sources' catalogs (mutations call `graphedge.check_violation` there too);
    // an unreachable one is an inconsistent source, not a failed start.
    for (_, c) in other_connections(&state.metadata) {
        let _ = store::ensure_source(db, &c).await;
    }
    Ok(state)
}

/// [`load`] for cold starts at the edge: one round trip when the catalog exists (no DDL); falls
/// back to [`load`] when our schema or table is missing.
pub async fn load_existing(db: &impl Database, config: &Config) -> Result<MetadataState, ApiError> {
    match store::read(db).await {
        Ok(stored) => from_stored(db, config, stored).await,
        Err(e) if store::is_missing_catalog(&e) => load(db, config).await,
        Err(e) => Err(db_err(e)),
    }
}

async fn from_stored(
    db: &impl Database,
    config: &Config,
    stored: Option<store::Stored>,
) -> Result<MetadataState, ApiError> {
    let (metadata, catalog, version) = match stored {
        Some(s) => {
            let md =
                Metadata::from_json(&s.metadata, &default_source_configuration()).map_err(|e| {
                    ApiError::unexpected(format!("stored metadata is invalid: {e}")).at("$")
                })?;
            let catalog: Option<Catalog> = s.catalog.and_then(|c| serde_json::from_value(c).ok());
            (md, catalog, s.resource_version)
        }
        None => (empty_metadata_for(db), None, 0),
    };
    let (mut metadata, mut catalog) = (metadata, catalog);
    if metadata.sources.is_empty() && db.has_default_database() {
        // Hasura adds the database of `--database-url` as `default` when there is none.
        metadata.sources = empty_metadata().sources;
        catalog = None;
    }
    let mut catalog = match catalog {
        Some(c) => c,
        None => introspect_served(db, &metadata).await.map_err(db_err)?,
    };
    // Other sources stored before they were served (an upgraded catalog) are introspected now.
    for (name, _) in other_connections(&metadata) {
        if catalog.other(&name).is_none() {
            if let Some(source) = metadata.source(&name) {
                let found = introspect_other(db, &metadata, source).await;
                catalog.others.push(found);
            }
        }
    }
    let (mut schema, inconsistencies) = resolve::resolve(&metadata, &catalog, config);
    schema.version = version.max(0) as u64;
    Ok(MetadataState {
        metadata,
        schema: Arc::new(schema),
        inconsistencies,
        resource_version: version,
        catalog: Arc::new(catalog),
    })
}

/// Introspects the served source's database (an empty catalog without a source), then each
/// other source's into [`Catalog::others`].
async fn introspect_served(db: &impl Database, md: &Metadata) -> Result<Catalog, DbError> {
    let mut catalog = match sources::served_connection(md) {
        Some(c) => introspect::introspect(&On::source(db, Some(&c)), &enum_tables(md)).await?,
        None if md.sources.is_empty() => Catalog::default(),
        None => introspect::introspect(db, &enum_tables(md)).await?,
    };
    for source in &md.sources {
        if sources::served(md).is_some_and(|s| s.name == source.name) {
            continue;
        }
        catalog.others.push(introspect_other(db, md, source).await);
    }
    Ok(catalog)
}

/// The catalog of a source other than the served one (its error when it cannot be read).
async fn introspect_other(
    db: &impl Database,
    md: &Metadata,
    source: &raw::Source,
) -> introspect::SourceCatalog {
    let mut out = introspect::SourceCatalog {
        source: source.name.clone(),
        ..Default::default()
    };
    let c = match Connection::parse(&source.configuration) {
        Ok(c) => c,
        Err((m, _)) => {
            out.error = Some(m);
            return out;
        }
    };
    out.key = c.key.clone();
    let enums: Vec<raw::QualifiedTable> = md
        .source(&source.name)
        .map(|s| {
            s.tables
                .iter()
                .filter(|t| t.is_enum)
                .map(|t| t.table.clone())
                .collect()
        })
        .unwrap_or_default();
    match introspect::introspect(&On::source(db, Some(&c)), &enums).await {
        Ok(cat) => out.catalog = cat,
        Err(e) => out.error = Some(e.message),
    }
    out
}

/// The connections of the sources other than the served one, by name.
fn other_connections(md: &Metadata) -> Vec<(String, Connection)> {
    let served = sources::served(md).map(|s| s.name.clone());
    md.sources
        .iter()
        .filter(|s| Some(&s.name) != served.as_ref())
        .filter_map(|s| Some((s.name.clone(), Connection::parse(&s.configuration).ok()?)))
        .collect()
}

/// The [`Database`] of one request's operations: it remembers whether an operation sent
/// anything to the database itself (`run_sql`, scheduled events, ...), after which the request
/// cannot be re-run on newer metadata. Introspection goes to [`Tracked::inner`], unrecorded.
pub(crate) struct Tracked<'a, D> {
    pub inner: &'a D,
    used: AtomicBool,
}

impl<D: Database> Database for Tracked<'_, D> {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.query_one(stmt).await
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.transaction(stmts).await
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.run_sql(sql).await
    }

    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.query_one_on(target, stmt).await
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.transaction_on(target, stmts).await
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.used.store(true, Ordering::Relaxed);
        self.inner.run_sql_on(target, sql).await
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        self.inner.same_database(a, b)
    }

    fn has_default_database(&self) -> bool {
        self.inner.has_default_database()
    }
}

/// Working state of one request.
pub(crate) struct Cx<'a, D> {
    pub db: &'a Tracked<'a, D>,
    pub config: &'a Config,
    pub endpoint: Endpoint,
    pub md: Metadata,
    pub catalog: Catalog,
    /// Inconsistencies of `md` against `catalog` as of the last accepted step.
    pub baseline: Vec<Inconsistency>,
    pub md_changed: bool,
    pub catalog_changed: bool,
    /// The stored version `md` was read at (the expected version of the write).
    pub resource_version: i64,
    /// `reload_metadata`: reinstall every event trigger's Postgres triggers.
    pub reinstall_event_triggers: bool,
    /// The connection of the source `catalog` was introspected from (the served one).
    pub connection: Option<Connection>,
}

/// Accepts the change made to `cx.md` unless it made something newly inconsistent: the touched
/// object's own new inconsistencies (`own`) are refused as `invalid-configuration` with their
/// reasons when `blamed` says so, any other new one with `cannot_continue` (`unexpected`).
/// Shared by the operations of actions and remote schemas.
pub(crate) fn accept_unless_inconsistent<D: Database>(
    cx: &mut Cx<'_, D>,
    own: impl Fn(&Inconsistency) -> bool,
    blamed: impl Fn(&[&Inconsistency]) -> bool,
    cannot_continue: &str,
) -> Result<Json, ApiError> {
    let (schema, now) = crate::resolve::resolve(&cx.md, &cx.catalog, cx.config);
    refuse_root_field_conflicts(&cx.md, &schema)?;
    let new: Vec<&Inconsistency> = now
        .iter()
        .filter(|i| !cx.baseline.contains(i) && i.kind != crate::resolve::INHERITED_PERMISSION_KIND)
        .collect();
    let mine: Vec<&Inconsistency> = new.iter().copied().filter(|i| own(i)).collect();
    if !mine.is_empty() && blamed(&mine) {
        let reasons: Vec<&str> = mine.iter().map(|i| i.reason.as_str()).collect();
        let mut e = ApiError::new("invalid-configuration", reasons.join(", "));
        e.internal = serde_json::to_value(&mine).ok();
        return Err(e);
    }
    if !new.is_empty() {
        let mut e = ApiError::new("unexpected", cannot_continue);
        e.internal = serde_json::to_value(&new).ok();
        return Err(e);
    }
    cx.baseline = now;
    cx.md_changed = true;
    Ok(success())
}

/// Hasura's refusal of a schema with a root field defined twice (500, see
/// [`resolve::root_fields`]).
fn refuse_root_field_conflicts(
    md: &Metadata,
    schema: &graphedge_core::Schema,
) -> Result<(), ApiError> {
    let served = crate::sources::served(md).map_or("default", |s| s.name.as_str());
    match resolve::root_fields::conflict(schema, served) {
        Some(conflict) => Err(ApiError::unexpected(conflict).at("$.args")),
        None => Ok(()),
    }
}

/// Hasura refuses metadata whose inherited roles form a cycle outright (400
/// `cyclic-dependency`), even where inconsistencies are allowed.
pub(crate) const ROLE_CYCLE: &str = "found cycle(s) in roles: ";

/// The error for the inherited-role cycles among `inconsistencies`, if any.
pub(crate) fn role_cycle_error(inconsistencies: &[Inconsistency]) -> Option<ApiError> {
    let cycles: Vec<&str> = inconsistencies
        .iter()
        .filter_map(|i| Some(&i.reason[i.reason.find(ROLE_CYCLE)? + ROLE_CYCLE.len()..]))
        .collect();
    if cycles.is_empty() {
        return None;
    }
    let mut unique: Vec<&str> = Vec::new();
    for c in cycles {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    Some(ApiError::new(
        "cyclic-dependency",
        format!("{ROLE_CYCLE}{}", unique.join(", ")),
    ))
}

impl<D: Database> Cx<'_, D> {
    /// Accepts the metadata change just made, or fails with the first inconsistency it
    /// introduced.
    pub fn check(&mut self) -> Result<(), ApiError> {
        let (schema, now) = resolve::resolve(&self.md, &self.catalog, self.config);
        refuse_root_field_conflicts(&self.md, &schema)?;
        // Conflicting parent permissions of an inherited role do not reject a change: Hasura
        // records them as inconsistencies and leaves the role without that permission.
        let new: Vec<&Inconsistency> = now
            .iter()
            .filter(|i| {
                !self.baseline.contains(i) && i.kind != "inherited role permission inconsistency"
            })
            .collect();
        // Only queries of collections broke: Hasura's generic check, after the change was
        // applied, answers 500 with all of them.
        if !new.is_empty() && new.iter().all(|i| i.kind == "query_collections") {
            let mut e =
                ApiError::unexpected("cannot continue due to newly found inconsistent metadata");
            e.internal = serde_json::to_value(&new).ok();
            return Err(e);
        }
        if let Some(new) = new.into_iter().find(|i| i.kind != "query_collections") {
            let code = if new.reason.contains(ROLE_CYCLE) {
                "cyclic-dependency"
            } else if new.reason.contains("already defined")
                || new.reason.contains("already exists")
            {
                "already-exists"
            } else {
                "invalid-configuration"
            };
            // Hasura keeps the prefix in the message of an inconsistent REST endpoint.
            let reason = match new.kind.as_str() {
                "rest_endpoint" => &new.reason,
                _ => new
                    .reason
                    .strip_prefix("Inconsistent object: ")
                    .unwrap_or(&new.reason),
            };
            let mut e = ApiError::new(code, reason.to_string());
            e.internal = serde_json::to_value(vec![new]).ok();
            return Err(e);
        }
        self.baseline = now;
        self.md_changed = true;
        Ok(())
    }

    /// The served source's database.
    pub fn src(&self) -> On<'_, Tracked<'_, D>> {
        On::source(self.db, self.connection.as_ref())
    }

    /// The connection of the source named `name` (`default` when `None`): the served one's
    /// unless `name` names another source.
    pub fn connection_of(&self, name: Option<&str>) -> Result<Option<Connection>, ApiError> {
        let name = name.unwrap_or("default");
        if self.md.sources.is_empty() {
            return Err(
                ApiError::not_exists(format!("source with name {name:?} does not exist"))
                    .at("$.args.source"),
            );
        }
        let served = sources::served(&self.md).map(|s| s.name.as_str());
        if served == Some(name) || (served.is_none() && name == "default") {
            return Ok(self.connection.clone());
        }
        let source = self.md.source(name).ok_or_else(|| {
            ApiError::not_exists(format!("source with name {name:?} does not exist"))
                .at("$.args.source")
        })?;
        Connection::parse(&source.configuration)
            .map(Some)
            .map_err(|(m, p)| ApiError::parse_failed(m).at(format!("$.args.source{p}")))
    }

    /// The catalog of the source `args.source` names when that is a source other than the
    /// served one (introspected now: its objects are tracked but not served); `None` for the
    /// served source or an unknown one.
    pub async fn catalog_elsewhere(&mut self, args: &Json) -> Result<Option<Catalog>, ApiError> {
        let name = args
            .get("source")
            .and_then(Json::as_str)
            .unwrap_or("default");
        let served = sources::served(&self.md).map(|s| s.name.as_str());
        if served == Some(name) || self.md.source(name).is_none() {
            return Ok(None);
        }
        self.connection_of(Some(name))?;
        // Introspected now (objects created since are trackable) and kept: that source is
        // served too.
        let Some(source) = self.md.source(name).cloned() else {
            return Ok(None);
        };
        let fresh = introspect_other(self.db.inner, &self.md, &source).await;
        if let Some(e) = &fresh.error {
            return Err(ApiError::new("unexpected", e.clone()).at("$.args.source"));
        }
        let catalog = fresh.catalog.clone();
        match self.catalog.others.iter_mut().find(|o| o.source == name) {
            Some(o) if *o == fresh => {}
            Some(o) => {
                *o = fresh;
                self.catalog_changed = true;
            }
            None => {
                self.catalog.others.push(fresh);
                self.catalog_changed = true;
            }
        }
        Ok(Some(catalog))
    }

    /// Hasura's metadata database (cron and scheduled events).
    pub fn meta(&self) -> On<'_, Tracked<'_, D>> {
        On::metadata(self.db)
    }

    /// Re-introspects after DDL.
    pub async fn reintrospect(&mut self) -> Result<(), ApiError> {
        let mut fresh = introspect_served(self.db.inner, &self.md)
            .await
            .map_err(db_err)?;
        // The remote schemas' introspections are not the database's.
        fresh.keep_remote_schemas(&mut self.catalog);
        self.catalog = fresh;
        self.catalog_changed = true;
        Ok(())
    }

    /// After the sources changed (`replace_metadata`, source operations): when the served
    /// source is another database now, prepares it and introspects it. Returns whether it did.
    pub async fn follow_sources(&mut self) -> Result<bool, ApiError> {
        let now = sources::served_connection(&self.md);
        let others: Vec<(String, String)> = other_connections(&self.md)
            .into_iter()
            .map(|(n, c)| (n, c.key))
            .collect();
        let known: Vec<(String, String)> = self
            .catalog
            .others
            .iter()
            .map(|o| (o.source.clone(), o.key.clone()))
            .collect();
        let served_same = now.as_ref().map(|c| &c.key) == self.connection.as_ref().map(|c| &c.key);
        if served_same && others == known {
            return Ok(false);
        }
        if !served_same {
            if let Some(c) = &now {
                store::ensure_source(self.db.inner, c)
                    .await
                    .map_err(|e| ApiError::postgres(&e, None).at("$.args"))?;
            }
        }
        for (name, c) in other_connections(&self.md) {
            if !known.iter().any(|(n, k)| *n == name && *k == c.key) {
                // Unreachable: the source is inconsistent (its introspection fails too).
                let _ = store::ensure_source(self.db.inner, &c).await;
            }
        }
        self.connection = now;
        self.reintrospect().await?;
        Ok(true)
    }

    /// Re-reads the stored metadata into `md` (`reload_metadata`); a conflict when another
    /// process stored a newer version since this request started (the request is re-run).
    pub async fn reread(&mut self) -> Result<(), ApiError> {
        let stored = store::read(self.db.inner).await.map_err(db_err)?;
        let version = stored.as_ref().map_or(0, |s| s.resource_version);
        if version != self.resource_version {
            return Err(conflict(self.resource_version));
        }
        if let Some(s) = stored {
            self.md =
                Metadata::from_json(&s.metadata, &default_source_configuration()).map_err(|e| {
                    ApiError::unexpected(format!("stored metadata is invalid: {e}")).at("$")
                })?;
            self.connection = sources::served_connection(&self.md);
        }
        Ok(())
    }
}

/// Hasura's answer to a metadata write whose `resource_version` is not the stored one.
fn conflict(referenced: i64) -> ApiError {
    ApiError::new(
        "conflict",
        format!(
            "metadata resource version referenced ({referenced}) did not match current version"
        ),
    )
    .status(409)
    .at("$")
}

fn is_conflict(e: &ApiError) -> bool {
    e.status == 409 && e.code == "conflict"
}

/// How often a request is run at most when its write keeps losing races (no
/// `resource_version` given, nothing sent to the database by its operations). Each lost race
/// is another write that succeeded, so this bounds the waiting only under heavy contention.
const MAX_ATTEMPTS: usize = 20;

/// Executes one request body of /v1/query, /v1/metadata or /v2/query (incl. `bulk`) on a
/// host that cannot reach remote schemas: [`execute_with`] and [`NoIntrospection`].
pub async fn execute(
    state: &MetadataState,
    endpoint: Endpoint,
    body: &Json,
    db: &impl Database,
    config: &Config,
) -> Result<(Json, Option<MetadataState>), ApiError> {
    execute_with(state, endpoint, body, db, config, &NoIntrospection).await
}

/// Executes one request body of /v1/query, /v1/metadata or /v2/query (incl. `bulk`). Returns
/// the response JSON and, when the served state is outdated (metadata or the database schema
/// changed, here or in another process), the new state (already persisted). Remote schemas
/// are introspected through `introspector` (`add_remote_schema`, `update_remote_schema`,
/// `reload_remote_schema`, `reload_metadata`, `replace_metadata`).
///
/// Every request works on the stored metadata: when another process stored a newer version
/// than `state`, it is reloaded first. The write is a compare-and-set on the version the
/// request worked on ([`store::write_statements`]), so newer metadata is never overwritten: a
/// request that lost the race is re-run on the newest metadata when that is safe, else it gets
/// Hasura's 409 `conflict`, as does a request whose top-level `resource_version` is not the
/// stored one.
pub async fn execute_with(
    state: &MetadataState,
    endpoint: Endpoint,
    body: &Json,
    db: &impl Database,
    config: &Config,
    introspector: &impl Introspector,
) -> Result<(Json, Option<MetadataState>), ApiError> {
    let requested = match body.get("resource_version") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::parse_failed("expected Int64").at("$.resource_version"))?,
        ),
    };
    let mut fresh = refreshed(state, db, config).await?;
    let mut attempt = 1;
    loop {
        let base = fresh.as_ref().unwrap_or(state);
        let tracked = Tracked {
            inner: db,
            used: AtomicBool::new(false),
        };
        match execute_on(
            base,
            endpoint,
            body,
            &tracked,
            config,
            requested,
            introspector,
        )
        .await
        {
            Ok((out, Some(new))) => return Ok((out, Some(new))),
            Ok((out, None)) => return Ok((out, fresh)),
            Err(e)
                if is_conflict(&e)
                    && requested.is_none()
                    && !tracked.used.load(Ordering::Relaxed)
                    && attempt < MAX_ATTEMPTS =>
            {
                attempt += 1;
                fresh = Some(load_existing(db, config).await?);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The stored state when it is newer than `state` (another process changed it).
async fn refreshed(
    state: &MetadataState,
    db: &impl Database,
    config: &Config,
) -> Result<Option<MetadataState>, ApiError> {
    match store::version(db).await {
        Ok(v) if v.unwrap_or(0) == state.resource_version => Ok(None),
        Ok(_) => load_existing(db, config).await.map(Some),
        Err(e) if store::is_missing_catalog(&e) => load(db, config).await.map(Some),
        Err(e) => Err(db_err(e)),
    }
}

/// One run of the request on `state`, persisted with a compare-and-set on its version.
async fn execute_on<D: Database>(
    state: &MetadataState,
    endpoint: Endpoint,
    body: &Json,
    db: &Tracked<'_, D>,
    config: &Config,
    requested: Option<i64>,
    introspector: &impl Introspector,
) -> Result<(Json, Option<MetadataState>), ApiError> {
    let mut cx = Cx {
        db,
        config,
        endpoint,
        md: state.metadata.clone(),
        catalog: (*state.catalog).clone(),
        baseline: state.inconsistencies.clone(),
        md_changed: false,
        catalog_changed: false,
        resource_version: state.resource_version,
        reinstall_event_triggers: false,
        connection: sources::served_connection(&state.metadata),
    };
    let (op, args, version) = split_request(body)?;
    let result = if op == "bulk" {
        let Json::Array(items) = args else {
            return Err(ApiError::parse_failed("expecting an array for bulk").at("$.args"));
        };
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("$.args[{i}]");
            let (op, args, version) = split_request(item).map_err(|e| rebase(e, &prefix))?;
            if op == "bulk" {
                return Err(ApiError::not_supported("nested bulk is not supported")
                    .at(format!("{prefix}.type")));
            }
            let r = ops::run(&mut cx, &op, args, version, introspector)
                .await
                .map_err(|e| rebase(e, &prefix))?;
            results.push(r);
        }
        Json::Array(results)
    } else {
        ops::run(&mut cx, &op, args, version, introspector).await?
    };
    if !cx.md_changed && !cx.catalog_changed {
        return Ok((result, None));
    }
    if let Some(r) = requested.filter(|r| *r != cx.resource_version) {
        return Err(conflict(r));
    }
    let db = db.inner;
    // Introspections of remote schemas the metadata no longer has are forgotten.
    let names: Vec<&str> = cx
        .md
        .remote_schemas
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    cx.catalog.retain_remote_schemas(|n| names.contains(&n));
    let (mut schema, inconsistencies) = resolve::resolve(&cx.md, &cx.catalog, config);
    let resource_version = cx.resource_version + 1;
    schema.version = resource_version as u64;
    let md_json =
        serde_json::to_value(&cx.md).map_err(|e| ApiError::unexpected(e.to_string()).at("$"))?;
    let cat_json = serde_json::to_value(&cx.catalog)
        .map_err(|e| ApiError::unexpected(e.to_string()).at("$"))?;
    // The compare-and-set first: its row lock orders concurrent writers before any DDL.
    let mut stmts =
        store::write_statements(cx.resource_version, &md_json, Some(&cat_json)).to_vec();
    // Event triggers' Postgres triggers change in the transaction that persists the metadata
    // (on a served source that is another database now, all of them are installed there).
    let served_before = sources::served_connection(&state.metadata);
    let moved = served_before.map(|c| c.key) != cx.connection.as_ref().map(|c| c.key.clone());
    let before = if moved {
        Metadata::default()
    } else {
        state.metadata.clone()
    };
    let triggers = crate::events::reconcile(
        &before,
        &cx.md,
        &cx.catalog,
        cx.reinstall_event_triggers || moved,
        cx.config.stringify_numeric,
    )
    .map_err(|(m, p)| ApiError::parse_failed(m).at(p))?;
    // Cron triggers' events follow the triggers in the same transaction.
    stmts.extend(scheduled::reconcile(&On::metadata(db), &state.metadata, &cx.md).await?);
    let to_err = |e: DbError| {
        if store::is_conflict(&e) {
            conflict(cx.resource_version)
        } else {
            db_err(e)
        }
    };
    // Each source's trigger DDL on its database: a source apart from the metadata database
    // first, in its own transaction; the others in the metadata write's transaction.
    let mut by_source: Vec<(String, Vec<Statement>)> = Vec::new();
    for (source, stmt) in triggers {
        match by_source.iter_mut().find(|(s, _)| *s == source) {
            Some((_, list)) => list.push(stmt),
            None => by_source.push((source, vec![stmt])),
        }
    }
    for (source, list) in &mut by_source {
        // A source that has event triggers has Hasura's name of the event log.
        if has_triggers(cx.md.source(source)) {
            list.insert(
                0,
                Statement {
                    sql: crate::events::EVENT_LOG_VIEW_SQL.into(),
                    params: vec![],
                },
            );
        }
    }
    for (source, list) in by_source {
        let served = sources::served(&cx.md).is_some_and(|s| s.name == source);
        let connection = if served {
            cx.connection.clone()
        } else {
            cx.md
                .source(&source)
                .or_else(|| state.metadata.source(&source))
                .and_then(|s| sources::Connection::parse(&s.configuration).ok())
        };
        match &connection {
            Some(c) if !db.same_database(Target::Metadata, Target::Source(c)) => {
                db.transaction_on(Target::Source(c), &list)
                    .await
                    .map_err(to_err)?;
            }
            _ => stmts.extend(list),
        }
    }
    db.transaction_on(Target::Metadata, &stmts)
        .await
        .map_err(to_err)?;
    drop_unused_event_log_views(db, &state.metadata, &cx.md).await;
    Ok((
        result,
        Some(MetadataState {
            metadata: cx.md,
            schema: Arc::new(schema),
            inconsistencies,
            resource_version,
            catalog: Arc::new(cx.catalog),
        }),
    ))
}

/// Whether a source has event triggers.
fn has_triggers(source: Option<&crate::raw::Source>) -> bool {
    source.is_some_and(|s| s.tables.iter().any(|t| !t.event_triggers.is_empty()))
}

/// Hasura drops a source's event catalog once it has no event triggers (`clear_metadata`, a
/// dropped source): the `hdb_catalog.event_log` view goes from the database of each source that
/// had event triggers and has none now (never from the metadata database, nor from a database
/// where another source still has triggers). Best effort: a removed source's database may be
/// gone already.
async fn drop_unused_event_log_views<D: Database>(db: &D, old: &Metadata, new: &Metadata) {
    let connection = |s: &crate::raw::Source| sources::Connection::parse(&s.configuration).ok();
    let in_use: Vec<String> = new
        .sources
        .iter()
        .filter(|s| has_triggers(Some(s)))
        .filter_map(|s| connection(s).map(|c| c.key))
        .collect();
    for s in old.sources.iter().filter(|s| has_triggers(Some(s))) {
        let Some(c) = connection(s) else { continue };
        if in_use.contains(&c.key) || db.same_database(Target::Metadata, Target::Source(&c)) {
            continue;
        }
        let drop = Statement {
            sql: crate::events::DROP_EVENT_LOG_VIEW_SQL.into(),
            params: vec![],
        };
        let _ = db.transaction_on(Target::Source(&c), &[drop]).await;
    }
}

/// `$.args` → `$.args[3].args` for an element of a bulk.
fn rebase(mut e: ApiError, prefix: &str) -> ApiError {
    e.path = format!("{prefix}{}", e.path.strip_prefix('$').unwrap_or(&e.path));
    e
}

/// `{"type", "args", "version"?}` of a request body.
fn split_request(body: &Json) -> Result<(String, &Json, u64), ApiError> {
    static NULL: Json = Json::Null;
    let Json::Object(m) = body else {
        return Err(
            ApiError::parse_failed("expected an object with \"type\" and \"args\"").at("$"),
        );
    };
    let op = match m.get("type") {
        Some(Json::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::parse_failed("expected a string").at("$.type")),
        None => return Err(ApiError::parse_failed("key \"type\" not found").at("$")),
    };
    // Hasura's operations have versions 1 and 2.
    let version = match m.get("version") {
        None | Some(Json::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n @ (1 | 2)) => n,
            _ => {
                return Err(
                    ApiError::parse_failed(format!("expected 1 or 2, encountered {v}"))
                        .at("$.version"),
                )
            }
        },
    };
    Ok((op, m.get("args").unwrap_or(&NULL), version))
}
