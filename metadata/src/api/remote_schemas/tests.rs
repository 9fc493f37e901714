//! The remote schema operations through [`crate::execute_with`] (dispatch, `bulk`, the
//! consistency check, persistence of the introspections) against an in-memory database and a
//! fake [`Introspector`] answering canned introspections by URL; the answers and errors are
//! the harness's (`test_schema_stitching.py`, `test_remote_schema_permissions.py`,
//! `queries/remote_schemas/**`) and Hasura's `RemoteSchema/MetadataAPI`.
use super::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::db::{DbError, Rows, SqlResult, Statement};
use crate::introspect::Catalog;
use crate::resolve::remote_schemas::tests::{field, hello, named, object, scalar, schema};
use crate::{Config, MetadataState};

/// The metadata database: the stored row (version, metadata, catalog) that writes replace and
/// reads return, and the served source's catalog for introspection.
struct Memory {
    version: Cell<i64>,
    stored: RefCell<Option<(Json, Json)>>,
    catalog: Json,
}

impl Database for Memory {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        if stmt.sql.contains("json_build_object('resource_version'") {
            return Ok(self.stored.borrow().as_ref().map(|(md, cat)| {
                json!({"resource_version": self.version.get(), "metadata": md, "catalog": cat})
                    .to_string()
            }));
        }
        if stmt.sql.contains("resource_version::text") {
            return Ok(Some(self.version.get().to_string()));
        }
        if stmt.sql == crate::introspect::INTROSPECTION_SQL {
            return Ok(Some(self.catalog.to_string()));
        }
        Err(DbError {
            message: format!("unexpected statement: {}", stmt.sql),
            ..Default::default()
        })
    }
    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        for s in stmts {
            if s.sql.contains("INSERT INTO graphedge.metadata") {
                let p = |i: usize| -> Json {
                    serde_json::from_str(s.params[i].as_deref().unwrap_or("null")).unwrap()
                };
                *self.stored.borrow_mut() = Some((p(1), p(2)));
            }
        }
        self.version.set(self.version.get() + 1);
        Ok(stmts.iter().map(|_| Rows::default()).collect())
    }
    async fn run_sql(&self, _sql: &str) -> Result<Vec<SqlResult>, DbError> {
        Err(DbError {
            message: "no SQL here".into(),
            ..Default::default()
        })
    }
}

/// Answers by URL (`url`, or `url_from_env`'s name); unknown URLs are unreachable.
#[derive(Default)]
struct Fake {
    answers: RefCell<BTreeMap<String, Result<Json, String>>>,
    calls: Cell<usize>,
}

impl Fake {
    fn answer(&self, url: &str, with: Result<Json, String>) {
        self.answers.borrow_mut().insert(url.into(), with);
    }
}

impl Introspector for Fake {
    async fn introspect(&self, _name: &str, definition: &Json) -> Result<Json, String> {
        self.calls.set(self.calls.get() + 1);
        let url = definition
            .get("url")
            .or_else(|| definition.get("url_from_env"))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        self.answers.borrow().get(&url).cloned().unwrap_or_else(|| {
            Err(format!(
                "HTTP exception occurred while sending the request to {url:?}"
            ))
        })
    }
}

fn col(name: &str, udt: &str, nullable: bool) -> Json {
    json!({"name": name, "type": {"udt": udt, "schema": "pg_catalog", "kind": "b"},
           "nullable": nullable, "has_default": false, "is_generated": false})
}

/// The source `default` with tables `authors` (tracked) and `country` (not tracked yet).
fn state(db_catalog: &Json) -> MetadataState {
    let catalog: Catalog = serde_json::from_value(db_catalog.clone()).unwrap();
    let metadata: Metadata = serde_json::from_value(json!({"version": 3, "sources": [
        {"name": "default", "kind": "postgres", "configuration": {}, "tables": [{"table": "authors"}]}]}))
    .unwrap();
    let (schema, inconsistencies) = resolve::resolve(&metadata, &catalog, &Config::default());
    assert!(inconsistencies.is_empty(), "{inconsistencies:?}");
    MetadataState {
        metadata,
        schema: Arc::new(schema),
        inconsistencies,
        resource_version: 0,
        catalog: Arc::new(catalog),
    }
}

struct Run {
    db: Memory,
    state: MetadataState,
    config: Config,
}

impl Run {
    fn new() -> Run {
        let catalog = json!({"tables": [
            {"schema": "public", "name": "authors", "kind": "r",
             "columns": [col("id", "int4", false), col("name", "text", true)],
             "primary_key": {"name": "authors_pkey", "columns": ["id"]}},
            {"schema": "public", "name": "country", "kind": "r",
             "columns": [col("id", "int4", false)],
             "primary_key": {"name": "country_pkey", "columns": ["id"]}}
        ]});
        Run {
            state: state(&catalog),
            db: Memory {
                version: Cell::new(0),
                stored: RefCell::new(None),
                catalog,
            },
            config: Config::default(),
        }
    }

    /// One request on `/v1/query` (`/v1/metadata` when `metadata`): the answer, or
    /// `{status, code, error, path}`.
    async fn send(
        &mut self,
        intro: &impl Introspector,
        metadata: bool,
        body: Json,
    ) -> Result<Json, Json> {
        let endpoint = if metadata {
            Endpoint::V1Metadata
        } else {
            Endpoint::V1Query
        };
        match crate::execute_with(&self.state, endpoint, &body, &self.db, &self.config, intro).await
        {
            Ok((out, new)) => {
                if let Some(n) = new {
                    self.state = n;
                }
                Ok(out)
            }
            Err(e) => {
                Err(json!({"status": e.status, "code": e.code, "error": e.error, "path": e.path}))
            }
        }
    }

    async fn q(&mut self, intro: &impl Introspector, body: Json) -> Result<Json, Json> {
        self.send(intro, false, body).await
    }
}

fn ok() -> Result<Json, Json> {
    Ok(json!({"message": "success"}))
}

fn err(status: u16, code: &str, error: &str, path: &str) -> Result<Json, Json> {
    Err(json!({"status": status, "code": code, "error": error, "path": path}))
}

/// The harness's `mk_add_remote_q` / `mk_update_remote_q` (nulls for what is not given).
fn add(kind: &str, name: &str, url: &str, extra: Json) -> Json {
    let mut definition = json!({"url": url, "headers": null, "forward_client_headers": false,
                                "timeout_seconds": null, "customization": null});
    if let (Json::Object(d), Json::Object(e)) = (&mut definition, extra) {
        d.extend(e);
    }
    json!({"type": kind, "args": {"name": name, "comment": format!("testing {name}"),
                                  "definition": definition}})
}

fn named_args(kind: &str, name: &str) -> Json {
    json!({"type": kind, "args": {"name": name}})
}

const HELLO: &str = "http://remote/hello-graphql";
const USERS: &str = "http://remote/country-graphql";

/// `type Query { country: Country, hello_world: String }` (no `Mutation`).
fn users() -> Json {
    schema(
        "Query",
        None,
        vec![
            object(
                "Query",
                vec![
                    field("country", named("OBJECT", "Country"), vec![]),
                    field("hello_world", named("SCALAR", "String"), vec![]),
                ],
                &[],
            ),
            object(
                "Country",
                vec![field("name", named("SCALAR", "String"), vec![])],
                &[],
            ),
            scalar("String"),
        ],
    )
}

#[tokio::test]
async fn check() {
    let fake = Fake::default();
    fake.answer(HELLO, Ok(json!({"data": {"__schema": hello()}})));
    fake.answer(USERS, Ok(json!({"__schema": users()})));
    let mut run = Run::new();

    // --- add_remote_schema
    assert_eq!(
        run.q(
            &fake,
            add("add_remote_schema", "simple 1", HELLO, json!({}))
        )
        .await,
        ok()
    );
    let exported = run
        .q(&fake, json!({"type": "export_metadata", "args": {}}))
        .await
        .unwrap();
    assert_eq!(
        exported["remote_schemas"],
        json!([{"name": "simple 1", "definition": {"url": HELLO}, "comment": "testing simple 1"}])
    );
    assert_eq!(run.state.catalog.remote_schemas["simple 1"], hello());
    assert_eq!(run.state.schema.remote_schemas[0].name, "simple 1");
    // Persisted with the metadata: a cold start (no introspector) serves it.
    let loaded = crate::load_existing(&run.db, &Config::default())
        .await
        .unwrap();
    assert_eq!(loaded.schema.remote_schemas.len(), 1);
    assert!(loaded.inconsistencies.is_empty());
    assert_eq!(
        run.q(
            &fake,
            add("add_remote_schema", "simple 1", HELLO, json!({}))
        )
        .await,
        err(
            400,
            "already-exists",
            "remote schema with name \"simple 1\" already exists",
            "$.args"
        )
    );
    // Same root fields as `simple 1` (the harness's `test_add_schema_conflicts`).
    assert_eq!(
        run.q(
            &fake,
            add("add_remote_schema", "simple 2", HELLO, json!({}))
        )
        .await,
        err(
            400,
            "unexpected",
            "cannot continue due to new inconsistent metadata",
            "$.args"
        )
    );
    // Unreachable, unset setting, both URLs, a broken schema.
    assert_eq!(
        run.q(
            &fake,
            add("add_remote_schema", "down", "http://down", json!({}))
        )
        .await,
        err(
            400,
            "remote-schema-error",
            "HTTP exception occurred while sending the request to \"http://down\"",
            "$.args"
        )
    );
    fake.answer(
        "MISSING_URL",
        Err("environment variable 'MISSING_URL' not set".into()),
    );
    assert_eq!(
        run.q(
            &fake,
            json!({"type": "add_remote_schema", "args": {"name": "env",
            "definition": {"url_from_env": "MISSING_URL"}}})
        )
        .await,
        err(
            400,
            "invalid-params",
            "environment variable 'MISSING_URL' not set",
            "$.args"
        )
    );
    assert_eq!(
        run.q(
            &fake,
            add(
                "add_remote_schema",
                "both",
                HELLO,
                json!({"url_from_env": "U"})
            )
        )
        .await,
        err(
            400,
            "invalid-params",
            "both `url` and `url_from_env` can't be present",
            "$.args"
        )
    );
    let mut broken = users();
    broken["types"][1]["fields"][0]["type"]["name"] = json!("Nope");
    fake.answer("http://broken", Ok(broken));
    assert_eq!(
        run.q(
            &fake,
            add("add_remote_schema", "broken", "http://broken", json!({}))
        )
        .await,
        err(
            400,
            "remote-schema-error",
            "Could not find type with name \"Nope\"",
            "$.args"
        )
    );
    assert_eq!(
        run.q(
            &fake,
            add(
                "add_remote_schema",
                "h",
                HELLO,
                json!({"headers": [{"name": "x", "value": "1", "value_from_env": "X"}]})
            )
        )
        .await,
        err(
            400,
            "parse-failed",
            "expecting only one of value or value_from_env keys",
            "$.definition.headers[0]"
        )
    );
    assert_eq!(
        run.send(
            &fake,
            true,
            add(
                "add_remote_schema",
                "c",
                HELLO,
                json!({"customization": {"type_names": {"prefix": 1}}})
            )
        )
        .await,
        err(
            400,
            "parse-failed",
            "parsing Name failed, expected String, but encountered Number",
            "$.args.definition.customization.type_names.prefix"
        )
    );
    // A remote whose root field `authors` is the table `authors`' (`test_add_schema_conflicts_with_tables`).
    let conflict = run
        .q(&fake, add("add_remote_schema", "simple2", USERS, json!({})))
        .await;
    assert_eq!(conflict, ok());
    let clash = hello_table_clash();
    fake.answer("http://clash", Ok(clash));
    let e = run
        .q(
            &fake,
            add("add_remote_schema", "clash", "http://clash", json!({})),
        )
        .await
        .unwrap_err();
    assert_eq!(e["code"], "invalid-configuration");
    assert_eq!(
        e["error"],
        "Inconsistent object: Field cannot be overwritten by remote field 'authors'"
    );
    assert!(run.state.metadata.remote_schema("clash").is_none());

    // --- track_table of a table whose name is a remote's root field.
    assert_eq!(
        run.q(
            &fake,
            json!({"type": "track_table", "args": {"schema": "public", "name": "country"}})
        )
        .await,
        err(
            400,
            "remote-schema-conflicts",
            "node country already exists in current graphql schema",
            "$.args"
        )
    );

    // --- update_remote_schema
    assert_eq!(
        run.q(&fake, add("update_remote_schema", "nope", HELLO, json!({})))
            .await,
        err(
            400,
            "not-exists",
            "remote schema with name \"nope\" doesn't exist",
            "$.args"
        )
    );
    let bad =
        json!({"customization": {"type_names": {"mapping": {"String": "Foo", "Hello": "Foo"}}}});
    let e = run
        .q(&fake, add("update_remote_schema", "simple 1", HELLO, bad))
        .await
        .unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["error"].as_str()),
        (Some("invalid-configuration"), Some("Inconsistent object: Type name mappings are not distinct; the following types appear more than once: \"Foo\""))
    );
    // Hasura's `validateRemoteSchemaCustomization`: reserved field names stay.
    let reserved = json!({"customization": {"field_names": [
        {"parent_type": "Hello", "mapping": {"__typename": "my_typename"}}
    ]}});
    for (op, name) in [
        ("add_remote_schema", "simple 9"),
        ("update_remote_schema", "simple 1"),
    ] {
        assert_eq!(
            run.q(&fake, add(op, name, HELLO, reserved.clone())).await,
            err(
                400,
                "invalid-params",
                "attempt to customize reserved field name \"__typename\"",
                "$.args"
            )
        );
    }
    assert_eq!(
        run.q(
            &fake,
            add(
                "update_remote_schema",
                "simple 1",
                HELLO,
                json!({"forward_client_headers": true, "timeout_seconds": 120})
            )
        )
        .await,
        ok()
    );
    let exported = run
        .q(&fake, json!({"type": "export_metadata", "args": {}}))
        .await
        .unwrap();
    assert_eq!(
        exported["remote_schemas"][0],
        json!({"name": "simple 1", "definition": {"url": HELLO, "timeout_seconds": 120,
               "forward_client_headers": true}, "comment": "testing simple 1"})
    );
    // A new URL that cannot be reached refuses the update.
    assert_eq!(
        run.q(
            &fake,
            add("update_remote_schema", "simple 1", "http://down", json!({}))
        )
        .await,
        err(
            400,
            "remote-schema-error",
            "HTTP exception occurred while sending the request to \"http://down\"",
            "$.args"
        )
    );

    // --- introspect_remote_schema
    assert_eq!(
        run.q(&fake, named_args("introspect_remote_schema", "simple 1"))
            .await,
        Ok(json!({"data": {"__schema": hello()}}))
    );
    assert_eq!(
        run.q(&fake, named_args("introspect_remote_schema", "nope"))
            .await,
        err(
            400,
            "not-exists",
            "remote schema: \"nope\" not found",
            "$.args"
        )
    );

    // --- reload_remote_schema / reload_metadata (`TestRemoteSchemaReload`)
    assert_eq!(
        run.q(&fake, named_args("reload_remote_schema", "nope"))
            .await,
        err(
            400,
            "not-exists",
            "remote schema with name \"nope\" does not exist",
            "$.args"
        )
    );
    let calls = fake.calls.get();
    assert_eq!(
        run.q(&fake, named_args("reload_remote_schema", "simple 1"))
            .await,
        ok()
    );
    assert_eq!(fake.calls.get(), calls + 1);
    fake.answer(
        HELLO,
        Err(
            "HTTP exception occurred while sending the request to \"http://remote/hello-graphql\""
                .into(),
        ),
    );
    let e = run
        .q(&fake, named_args("reload_remote_schema", "simple 1"))
        .await
        .unwrap_err();
    assert_eq!(
        (
            e["status"].as_u64(),
            e["code"].as_str(),
            e["error"].as_str()
        ),
        (
            Some(500),
            Some("unexpected"),
            Some("cannot continue due to newly found inconsistent metadata")
        )
    );
    let reloaded = run
        .q(
            &fake,
            json!({"type": "reload_metadata", "args": {"reload_remote_schemas": true}}),
        )
        .await
        .unwrap();
    assert_eq!(reloaded["is_consistent"], false);
    assert_eq!(reloaded["inconsistent_objects"][0]["type"], "remote_schema");
    assert_eq!(
        reloaded["inconsistent_objects"][0]["name"],
        "remote_schema simple 1"
    );
    assert_eq!(
        reloaded["inconsistent_objects"][0]["reason"],
        "Inconsistent object: HTTP exception occurred while sending the request to \"http://remote/hello-graphql\""
    );
    assert!(run
        .state
        .schema
        .remote_schemas
        .iter()
        .all(|r| r.name != "simple 1"));
    // Inconsistent: not introspectable; the rest (`simple2`) still served.
    assert_eq!(
        run.q(&fake, named_args("introspect_remote_schema", "simple 1"))
            .await,
        err(
            400,
            "not-exists",
            "remote schema: \"simple 1\" not found",
            "$.args"
        )
    );
    assert_eq!(run.state.schema.remote_schemas.len(), 1);
    fake.answer(HELLO, Ok(hello()));
    assert_eq!(
        run.q(&fake, named_args("reload_remote_schema", "simple 1"))
            .await,
        ok()
    );
    assert_eq!(
        run.q(
            &fake,
            json!({"type": "get_inconsistent_metadata", "args": {}})
        )
        .await,
        Ok(json!({"is_consistent": true, "inconsistent_objects": []}))
    );
    // `reload_remote_schemas: false` / a list.
    let calls = fake.calls.get();
    run.q(
        &fake,
        json!({"type": "reload_metadata", "args": {"reload_remote_schemas": false}}),
    )
    .await
    .unwrap();
    assert_eq!(fake.calls.get(), calls);
    run.q(
        &fake,
        json!({"type": "reload_metadata", "args": {"reload_remote_schemas": ["simple2"]}}),
    )
    .await
    .unwrap();
    assert_eq!(fake.calls.get(), calls + 1);

    // --- A host without HTTP keeps what is stored, and cannot add.
    assert_eq!(
        run.q(
            &NoIntrospection,
            json!({"type": "reload_metadata", "args": {}})
        )
        .await,
        Ok(json!({"message": "success", "is_consistent": true}))
    );
    assert_eq!(
        run.q(
            &NoIntrospection,
            named_args("reload_remote_schema", "simple 1")
        )
        .await,
        ok()
    );
    assert_eq!(
        run.q(
            &NoIntrospection,
            add("add_remote_schema", "x", USERS, json!({}))
        )
        .await,
        err(400, "remote-schema-error", NO_INTROSPECTION, "$.args")
    );

    // --- Permissions (`HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS`).
    let perm = |role: &str| {
        json!({"type": "add_remote_schema_permissions", "args": {
        "remote_schema": "simple 1", "role": role,
        "definition": {"schema": "type Hello { hello: String }"}}})
    };
    assert_eq!(
        run.send(&fake, true, perm("user")).await,
        err(400, "constraint-violation", "remote schema permissions can only be added when remote schema permissions are enabled in the graphql-engine", "$.args")
    );
    run.config.remote_schema_permissions = true;
    assert_eq!(run.send(&fake, true, perm("user")).await, ok());
    assert_eq!(run.send(&fake, true, perm("editor")).await, ok());
    assert_eq!(
        run.send(&fake, true, perm("user")).await,
        err(
            400,
            "already-exists",
            "permissions for role: \"user\" for remote schema:\"simple 1\" already exists",
            "$.args"
        )
    );
    let served = |run: &Run| {
        run.state
            .schema
            .remote_schemas
            .iter()
            .find(|r| r.name == "simple 1")
            .map(|r| r.permissions.clone())
    };
    assert_eq!(
        served(&run),
        Some(vec!["editor".to_string(), "user".to_string()])
    );
    let exported = run
        .q(&fake, json!({"type": "export_metadata", "args": {}}))
        .await
        .unwrap();
    assert_eq!(
        exported["remote_schemas"][0]["permissions"][1],
        json!({"role": "user", "definition": {"schema": "type Hello { hello: String }"}})
    );
    let drop = |schema: &str, role: &str| {
        json!({"type": "drop_remote_schema_permissions",
        "args": {"remote_schema": schema, "role": role}})
    };
    assert_eq!(
        run.send(&fake, true, drop("simple 1", "editor")).await,
        ok()
    );
    assert_eq!(
        run.send(&fake, true, drop("simple 1", "editor")).await,
        err(
            400,
            "not-exists",
            "permissions for role: \"editor\" for remote schema:\"simple 1\" doesn't exist",
            "$.args"
        )
    );
    assert_eq!(
        run.send(&fake, true, drop("nope", "editor")).await,
        err(
            400,
            "not-exists",
            "remote schema \"nope\" doesn't exist",
            "$.args"
        )
    );
    assert_eq!(served(&run), Some(vec!["user".to_string()]));

    // --- remove_remote_schema: dependents, then gone (its introspection too).
    let mut md = run.state.metadata.clone();
    md.sources[0].tables[0]
        .remote_relationships
        .push(json!({"name": "messages",
        "definition": {"to_remote_schema": {"remote_schema": "simple2", "lhs_fields": ["id"],
                       "remote_field": {"country": {"arguments": {}}}}}}));
    let mut with_rel = run.state.clone();
    with_rel.metadata = md;
    let mut other = Run {
        state: with_rel,
        db: Memory {
            version: Cell::new(run.db.version.get()),
            stored: RefCell::new(run.db.stored.borrow().clone()),
            catalog: run.db.catalog.clone(),
        },
        config: Config::default(),
    };
    assert_eq!(
        other.q(&fake, named_args("remove_remote_schema", "simple2")).await,
        err(400, "dependency-error", "cannot drop due to the following dependent objects : remote relationship authors.messages in source \"default\"", "$.args")
    );
    assert_eq!(
        run.q(&fake, named_args("remove_remote_schema", "random name"))
            .await,
        err(400, "not-exists", "no such remote schema", "$.args")
    );
    // `basic_bulk_remove_add.yaml`: remove and add again in one bulk.
    assert_eq!(
        run.q(
            &fake,
            json!({"type": "bulk", "args": [
                named_args("remove_remote_schema", "simple 1"),
                {"type": "add_remote_schema", "args": {"name": "simple 2", "comment": "testing",
                 "definition": {"url": HELLO, "forward_client_headers": false}}}
            ]})
        )
        .await,
        Ok(json!([{"message": "success"}, {"message": "success"}]))
    );
    assert!(!run.state.catalog.remote_schemas.contains_key("simple 1"));
    assert!(run.state.catalog.remote_schemas.contains_key("simple 2"));

    // --- replace_metadata introspects every remote; an unreachable one refuses it, unless
    // inconsistencies are allowed; drop_inconsistent_metadata removes it.
    let mut doc = run
        .q(&fake, json!({"type": "export_metadata", "args": {}}))
        .await
        .unwrap();
    doc["remote_schemas"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "gone",
        "definition": {"url": "http://gone"}}));
    let e = run
        .q(
            &fake,
            json!({"type": "replace_metadata", "args": doc.clone()}),
        )
        .await
        .unwrap_err();
    assert_eq!(e["error"], "cannot continue due to inconsistent metadata");
    let allowed = run
        .send(
            &fake,
            true,
            json!({"type": "replace_metadata", "args": {
        "allow_inconsistent_metadata": true, "metadata": doc}}),
        )
        .await
        .unwrap();
    assert_eq!(allowed["is_consistent"], false);
    assert_eq!(
        allowed["inconsistent_objects"][0]["name"],
        "remote_schema gone"
    );
    assert_eq!(
        run.q(
            &fake,
            json!({"type": "drop_inconsistent_metadata", "args": {}})
        )
        .await,
        ok()
    );
    assert!(run.state.metadata.remote_schema("gone").is_none());
    assert!(run.state.inconsistencies.is_empty());
    // clear_metadata forgets them all.
    assert_eq!(
        run.q(&fake, json!({"type": "clear_metadata", "args": {}}))
            .await,
        ok()
    );
    assert!(run.state.catalog.remote_schemas.is_empty());
    assert!(run.state.schema.remote_schemas.is_empty());
}

/// `type Query { authors: String }`: the table `authors`' root field.
fn hello_table_clash() -> Json {
    schema(
        "Query",
        None,
        vec![
            object(
                "Query",
                vec![field("authors", named("SCALAR", "String"), vec![])],
                &[],
            ),
            scalar("String"),
        ],
    )
}
