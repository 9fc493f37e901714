//! The allowlist metadata API against a real Postgres, with Hasura's answers: scope parsing,
//! re-adding, dropping, exports, `replace_metadata` validation.
mod common;

use graphedge_metadata::{execute, load, Config, Endpoint, MetadataState};
use serde_json::{json, Value as Json};

/// Runs each `(request, answer)` in order: the answer is the success body, or
/// `{"status", "body"}` of the error.
async fn check(st: &mut MetadataState, db: &common::PgDb, steps: &[(Json, Json)]) {
    for (req, want) in steps {
        let got = match execute(st, Endpoint::V1Metadata, req, db, &Config::default()).await {
            Ok((v, new)) => {
                if let Some(n) = new {
                    *st = n;
                }
                v
            }
            Err(e) => json!({"status": e.status, "body": e.to_json()}),
        };
        assert_eq!(&got, want, "request {req}");
    }
}

fn op(kind: &str, args: Json) -> Json {
    json!({"type": kind, "args": args})
}

fn err(code: &str, path: &str, error: &str) -> Json {
    json!({"status": 400, "body": {"code": code, "path": path, "error": error}})
}

#[tokio::test]
async fn allowlist_operations() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    let mut st = load(&db, &Config::default()).await.expect("load");
    let ok = json!({"message": "success"});
    let again = |c: &str| {
        json!({"message": format!("collection {c:?} already exists in the allowlist, scope ignored; \
            to change scope, use update_scope_of_collection_in_allowlist")})
    };
    let coll = |name: &str| {
        op(
            "create_query_collection",
            json!({"name": name, "definition": {"queries": [{"name": "q", "query": "query { a }"}]}}),
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
