//! The allowlist and REST endpoint metadata API (both built on query collections) against a
//! real Postgres, with Hasura's answers: scope parsing, re-adding, dropping, exports,
//! `replace_metadata` validation; endpoint URL templates, queries and ambiguity; collection
//! queries checked against the schema; introspection options.
mod common;

use graphedge_metadata::{execute, load, Config, Endpoint, MetadataState};
use serde_json::{json, Value as Json};

/// Runs each `(request, answer)` in order: the answer is the success body, or
/// `{"status", "body"}` of the error (with `internal` when the expected body has it).
async fn check(st: &mut MetadataState, db: &common::PgDb, steps: &[(Json, Json)]) {
    for (req, want) in steps {
        let got = match execute(st, Endpoint::V1Metadata, req, db, &Config::default()).await {
            Ok((v, new)) => {
                if let Some(n) = new {
                    *st = n;
                }
                v
            }
            // `internal` is compared where the expected answer shows it.
            Err(e) if want["body"].get("internal").is_some() => {
                json!({"status": e.status, "body": e.to_json_with_internal()})
            }
            Err(e) => json!({"status": e.status, "body": e.to_json()}),
        };
        assert_eq!(&got, want, "request {req}");
    }
}

/// A throwaway Postgres, a connection and the loaded (empty) metadata; `None` (with a
/// message) without Postgres server binaries.
async fn start() -> Option<(common::TempPg, common::PgDb, MetadataState)> {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return None;
    };
    let db = pg.connect().await;
    let st = load(&db, &Config::default()).await.expect("load");
    Some((pg, db, st))
}

fn op(kind: &str, args: Json) -> Json {
    json!({"type": kind, "args": args})
}

fn err(code: &str, path: &str, error: &str) -> Json {
    json!({"status": 400, "body": {"code": code, "path": path, "error": error}})
}

#[tokio::test]
async fn allowlist_operations() {
    let Some((_pg, db, mut st)) = start().await else {
        return;
    };
    let ok = json!({"message": "success"});
    let again = |c: &str| {
        json!({"message": format!("collection {c:?} already exists in the allowlist, scope ignored; \
            to change scope, use update_scope_of_collection_in_allowlist")})
    };
    let coll = |name: &str| {
        op(
            "create_query_collection",
            json!({"name": name, "definition": {"queries": [{"name": "q", "query": "query { __typename }"}]}}),
        )
    };
    let add = |args: Json| op("add_collection_to_allowlist", args);
    let update = |args: Json| op("update_scope_of_collection_in_allowlist", args);
    let drop = |args: Json| op("drop_collection_from_allowlist", args);
    let roles = json!({"global": false, "roles": ["foo"]});
    check(
        &mut st,
        &db,
        &[
            (coll("c1"), ok.clone()),
            (coll("c2"), ok.clone()),
            (
                add(json!({"scope": {"global": true}})),
                err("parse-failed", "$.args", "key \"collection\" not found"),
            ),
            (
                add(json!({"collection": "c1", "scope": {"global": false}})),
                err("parse-failed", "$.args.scope", "key \"roles\" not found"),
            ),
            (
                add(json!({"collection": "c1", "scope": {"global": false, "roles": []}})),
                err(
                    "parse-failed",
                    "$.args.scope.roles",
                    "parsing NonEmpty failed, unexpected empty list",
                ),
            ),
            (
                add(json!({"collection": "c1", "scope": {"global": true, "roles": ["a"]}})),
                err(
                    "parse-failed",
                    "$.args.scope",
                    "roles are not allowed when global is true",
                ),
            ),
            (
                add(json!({"collection": "c1", "scope": {}})),
                err("parse-failed", "$.args.scope", "key \"global\" not found"),
            ),
            (
                update(json!({"collection": "c1"})),
                err("parse-failed", "$.args", "key \"scope\" not found"),
            ),
            (
                drop(json!({})),
                err(
                    "parse-failed",
                    "$.args",
                    "parsing Hasura.RQL.Types.Allowlist.DropCollectionFromAllowlist\
                     (DropCollectionFromAllowlist) failed, key \"collection\" not found",
                ),
            ),
            (
                drop(json!({"collection": "c1"})),
                err(
                    "not-found",
                    "$.args",
                    "collection \"c1\" doesn't exist in the allowlist",
                ),
            ),
            (
                update(json!({"collection": "c1", "scope": {"global": true}})),
                err(
                    "not-found",
                    "$.args",
                    "collection \"c1\" doesn't exist in the allowlist",
                ),
            ),
            // No scope means global; adding again changes nothing, whatever the scope.
            (add(json!({"collection": "c1"})), ok.clone()),
            (
                add(json!({"collection": "c1", "scope": roles})),
                again("c1"),
            ),
            (add(json!({"collection": "c2", "scope": roles})), ok.clone()),
            (add(json!({"collection": "c2"})), again("c2")),
        ],
    )
    .await;
    let exported = json!([
        {"collection": "c1", "scope": {"global": true}},
        {"collection": "c2", "scope": {"global": false, "roles": ["foo"]}}
    ]);
    let md = &st.metadata;
    assert_eq!(serde_json::to_value(&md.allowlist).unwrap(), exported);

    // replace_metadata: entries without scope are global; a collection at most once.
    let mut doc = serde_json::to_value(md.exported()).unwrap();
    doc["allowlist"] =
        json!([{"collection": "c1"}, {"collection": "c1", "scope": {"global": true}}]);
    let mut bad_scope = doc.clone();
    bad_scope["allowlist"] = json!([{"collection": "c1", "scope": {"global": false}}]);
    let mut good = doc.clone();
    good["allowlist"] = json!([{"collection": "c2"}]);
    check(
        &mut st,
        &db,
        &[
            (
                op("replace_metadata", json!({"metadata": doc})),
                err(
                    "parse-failed",
                    "$.args.metadata",
                    "multiple declarations exist for the following allowlist entries: c1",
                ),
            ),
            (
                op("replace_metadata", json!({"metadata": bad_scope})),
                err(
                    "parse-failed",
                    "$.args.metadata.allowlist[0].scope",
                    "key \"roles\" not found",
                ),
            ),
            (
                op("replace_metadata", json!({"metadata": good})),
                ok.clone(),
            ),
            (
                update(json!({"collection": "c2", "scope": roles})),
                ok.clone(),
            ),
        ],
    )
    .await;
    assert_eq!(
        serde_json::to_value(&st.metadata.allowlist).unwrap(),
        json!([{"collection": "c2", "scope": roles}])
    );
}

#[tokio::test]
async fn rest_endpoint_operations() {
    let Some((_pg, db, mut st)) = start().await else {
        return;
    };
    let ok = json!({"message": "success"});
    let endpoint = |name: &str, url: &str, methods: &[&str], query: &str| {
        op(
            "create_rest_endpoint",
            json!({"name": name, "url": url, "methods": methods,
                "definition": {"query": {"collection_name": "c", "query_name": query}}}),
        )
    };
    let invalid = |error: &str| err("invalid-configuration", "$.args", error);
    check(
        &mut st,
        &db,
        &[
            (
                op(
                    "create_query_collection",
                    json!({"name": "c", "definition": {"queries": [
                        {"name": "q", "query": "query { __typename }"},
                        {"name": "s", "query": "subscription { __typename }"}]}}),
                ),
                ok.clone(),
            ),
            (endpoint("simple", "simple", &["GET"], "q"), ok.clone()),
            (endpoint("post", "other", &["POST"], "q"), ok.clone()),
            (endpoint("deep", "a/:id", &["GET"], "q"), ok.clone()),
            (
                endpoint("simple", "elsewhere", &["GET"], "q"),
                err(
                    "already-exists",
                    "$.args",
                    "Endpoint with name simple already exists",
                ),
            ),
            (
                endpoint("e", "", &["GET"], "q"),
                err("parse-failed", "$.url", "empty string not allowed"),
            ),
            (
                endpoint("e", "foo/", &["GET"], "q"),
                invalid("Empty segments or unnamed variables are not allowed: foo/"),
            ),
            (
                endpoint("e", "foo/:/bar", &["GET"], "q"),
                invalid("Empty segments or unnamed variables are not allowed: foo/:/bar"),
            ),
            (
                endpoint("e", "foo/:id/bar/:id", &["GET"], "q"),
                invalid("Duplicate variables found in endpoint path: foo/:id/bar/:id"),
            ),
            (
                endpoint("e", "sub", &["GET"], "s"),
                invalid("Inconsistent object: in endpoint e: query with name s is a subscription"),
            ),
            (
                endpoint("e", "missing", &["GET"], "nope"),
                invalid(
                    "Inconsistent object: in endpoint e: query with name nope not found in \
                     collection c",
                ),
            ),
            // `:x` could be `simple` (GET): ambiguous; `other` is POST only.
            (
                endpoint("e", ":x", &["GET"], "q"),
                invalid("Ambiguous URL paths: :x, simple"),
            ),
            (endpoint("e", ":x", &["PUT"], "q"), ok.clone()),
            (
                op("drop_rest_endpoint", json!({"name": "nope"})),
                err(
                    "not-exists",
                    "$.args.name",
                    "endpoint with name nope does not exist",
                ),
            ),
            (op("drop_rest_endpoint", json!({"name": "e"})), ok.clone()),
        ],
    )
    .await;
    // The ambiguity lists the endpoints with their queries, as Hasura does.
    let run = |st: &MetadataState, req: Json| {
        let (st, db) = (st.clone(), &db);
        async move { execute(&st, Endpoint::V1Metadata, &req, db, &Config::default()).await }
    };
    let e = run(&st, endpoint("e", ":x", &["GET"], "q"))
        .await
        .unwrap_err();
    assert_eq!(
        e.internal,
        Some(
            json!([{"reason": "Ambiguous URL paths: :x, simple", "conflicts": [
                {"definition": {"query": "query { __typename }"}, "url": ":x", "methods": ["GET"], "name": "e",
                 "comment": null},
                {"definition": {"query": "query { __typename }"}, "url": "simple", "methods": ["GET"],
                 "name": "simple", "comment": null},
            ]}])
        )
    );
    // Renaming the collection follows; dropping it would leave the endpoints without their
    // query.
    let rename = op(
        "rename_query_collection",
        json!({"name": "c", "new_name": "d"}),
    );
    check(&mut st, &db, &[(rename, ok.clone())]).await;
    let exported = serde_json::to_value(&st.metadata).unwrap();
    let endpoints = exported["rest_endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 3);
    assert_eq!(endpoints[0]["definition"]["query"]["collection_name"], "d");
    let drop = op("drop_query_collection", json!({"collection": "d"}));
    let e = run(&st, drop).await.unwrap_err();
    assert_eq!(e.code, "invalid-configuration", "{e:?}");
}

/// Query collections are checked against the admin's schema after every change (Hasura's
/// `query_collections` inconsistencies): a change that breaks a stored query is refused with
/// 500 and the broken queries, naming the REST endpoints that serve them.
#[tokio::test]
async fn query_collections_are_checked_against_the_schema() {
    let Some((_pg, db, mut st)) = start().await else {
        return;
    };
    let ok = json!({"message": "success"});
    let untrack = op("pg_untrack_table", json!({"table": "t"}));
    let broken = |endpoints: &str| {
        json!({"status": 500, "body": {
            "code": "unexpected", "path": "$.args",
            "error": "cannot continue due to newly found inconsistent metadata",
            "internal": [{
                "definition": {"name": "q", "query": "query { t { id } n: t { name } }"},
                "reason": format!("Inconsistent object: In query collection \"c\" the query \"q\" is invalid \
                    with the following error(s): \"$.t: field 't' not found in object 'query_root'\", \
                    \"$.n: field 't' not found in object 'query_root'\"{endpoints}"),
                "name": "query_collections q in c",
                "type": "query_collections",
            }],
        }})
    };
    check(
        &mut st,
        &db,
        &[
            (
                op("run_sql", json!({"sql": "CREATE TABLE t (id int PRIMARY KEY, name text)"})),
                json!({"result_type": "CommandOk", "result": null}),
            ),
            (op("pg_track_table", json!({"table": "t"})), ok.clone()),
            (
                op(
                    "create_query_collection",
                    json!({"name": "", "definition": {"queries": []}}),
                ),
                err("parse-failed", "$.name", "empty string not allowed"),
            ),
            (
                op(
                    "create_query_collection",
                    json!({"name": "c", "definition": {"queries": [{"name": "", "query": "{ t { id } }"}]}}),
                ),
                err(
                    "parse-failed",
                    "$.definition.queries[0].name",
                    "empty string not allowed",
                ),
            ),
            (
                op(
                    "create_query_collection",
                    json!({"name": "c", "definition": {"queries": [
                        {"name": "q", "query": "query { t { id } n: t { name } }"}]}}),
                ),
                ok.clone(),
            ),
            (
                op(
                    "create_rest_endpoint",
                    json!({"name": "e", "url": "e", "methods": ["GET"],
                        "definition": {"query": {"collection_name": "c", "query_name": "q"}}}),
                ),
                ok.clone(),
            ),
            (
                untrack.clone(),
                broken(". This query is being used in the following REST endpoint(s): \"e\""),
            ),
            (op("drop_rest_endpoint", json!({"name": "e"})), ok.clone()),
            (untrack.clone(), broken("")),
            (
                op("add_collection_to_allowlist", json!({"collection": "c"})),
                ok.clone(),
            ),
            (untrack.clone(), broken(". This query is in allowlist.")),
            (
                op(
                    "add_query_to_collection",
                    json!({"collection_name": "c", "query_name": "bad", "query": "query { t { nope } }"}),
                ),
                json!({"status": 500, "body": {
                    "code": "unexpected", "path": "$.args",
                    "error": "cannot continue due to newly found inconsistent metadata",
                    "internal": [{
                        "definition": {"name": "bad", "query": "query { t { nope } }"},
                        "reason": "Inconsistent object: In query collection \"c\" the query \"bad\" is \
                            invalid with the following error(s): \"$.t.nope: field 'nope' not found in \
                            object 't'\". This query is in allowlist.",
                        "name": "query_collections bad in c",
                        "type": "query_collections",
                    }],
                }}),
            ),
            (op("drop_query_collection", json!({"collection": "c", "cascade": true})), ok.clone()),
            (untrack, ok),
        ],
    )
    .await;
}

/// `set_graphql_schema_introspection_options`: stored, exported, resolved into the schema;
/// an empty list removes it.
#[tokio::test]
async fn introspection_options_are_stored_and_exported() {
    let Some((_pg, db, mut st)) = start().await else {
        return;
    };
    let set = |roles: Json| {
        op(
            "set_graphql_schema_introspection_options",
            json!({ "disabled_for_roles": roles }),
        )
    };
    let ok = json!({"message": "success"});
    check(&mut st, &db, &[(set(json!(["user", "guest"])), ok.clone())]).await;
    assert_eq!(st.schema.introspection_disabled, ["user", "guest"]);
    assert_eq!(
        serde_json::to_value(&st.metadata).unwrap()["graphql_schema_introspection"],
        json!({"disabled_for_roles": ["user", "guest"]})
    );
    check(&mut st, &db, &[(set(json!([])), ok)]).await;
    assert!(st.schema.introspection_disabled.is_empty());
    assert!(serde_json::to_value(&st.metadata).unwrap()["graphql_schema_introspection"].is_null());
}
