//! The metadata API against a real Postgres: load, run_sql, bulk setup, legacy insert,
//! errors, export/replace, persistence across a reload, DDL dropping tracked objects.
mod common;

use graphedge_metadata::{execute, load, Config, Endpoint, MetadataState};
use serde_json::{json, Value as Json};

async fn call(
    state: &mut MetadataState,
    db: &common::PgDb,
    endpoint: Endpoint,
    body: Json,
) -> Result<Json, Json> {
    match execute(state, endpoint, &body, db, &Config::default()).await {
        Ok((v, new)) => {
            if let Some(n) = new {
                *state = n;
            }
            Ok(v)
        }
        Err(e) => Err(json!({"status": e.status, "body": e.to_json()})),
    }
}

const SCHEMA_SQL: &str = "
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, born date DEFAULT '2000-01-01');
CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author(id), tags jsonb);
";

#[tokio::test]
async fn metadata_api_end_to_end() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    let mut st = load(&db, &Config::default()).await.expect("load");
    assert_eq!(st.resource_version, 0);
    assert_eq!(st.metadata.sources.len(), 1);
    assert_eq!(st.metadata.sources[0].name, "default");

    // run_sql on /v2/query
    let r = call(
        &mut st,
        &db,
        Endpoint::V2Query,
        json!({"type": "run_sql", "args": {"sql": SCHEMA_SQL}}),
    )
    .await;
    assert_eq!(
        r.unwrap(),
        json!({"result_type": "CommandOk", "result": null})
    );
    let r = call(
        &mut st,
        &db,
        Endpoint::V2Query,
        json!({"type": "run_sql", "args": {"sql": "select 1 as a, null::text as b"}}),
    )
    .await;
    assert_eq!(
        r.unwrap(),
        json!({"result_type": "TuplesOk", "result": [["a", "b"], ["1", null]]})
    );
    let r = call(
        &mut st,
        &db,
        Endpoint::V2Query,
        json!({"type": "track_table", "args": {"table": "author"}}),
    )
    .await;
    assert_eq!(r.unwrap_err()["status"], 400);

    // Setup bulk on /v1/query with the legacy shapes.
    let bulk = json!({"type": "bulk", "args": [
        {"type": "track_table", "args": {"schema": "public", "name": "author"}},
        {"type": "track_table", "version": 2, "args": {"table": "article", "configuration": {"custom_root_fields": {"select": "articles"}}}},
        {"type": "create_object_relationship", "args": {"table": "article", "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}},
        {"type": "create_array_relationship", "args": {"table": "author", "name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}},
        {"type": "create_select_permission", "args": {"table": "author", "role": "user", "permission": {"columns": "*", "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}},
        {"type": "insert", "args": {"table": "author", "objects": [{"name": "A"}, {"name": "B", "born": "1990-05-05"}], "returning": ["id", "name"]}}
    ]});
    let r = call(&mut st, &db, Endpoint::V1Query, bulk)
        .await
        .expect("bulk");
    assert_eq!(r[0], json!({"message": "success"}));
    assert_eq!(r[4], json!({"message": "success"}));
    assert_eq!(r[5]["affected_rows"], 2);
    assert_eq!(r[5]["returning"].as_array().unwrap().len(), 2);
    assert!(st.inconsistencies.is_empty(), "{:?}", st.inconsistencies);
    assert_eq!(st.schema.tables.len(), 2);
    let v1 = st.resource_version;
    assert!(v1 >= 1);

    // Legacy insert with jsonb and defaults.
    let r = call(
        &mut st,
        &db,
        Endpoint::V1Query,
        json!({"type": "insert", "args": {"table": "article", "objects": [
        {"title": "t1", "author_id": 1, "tags": {"a": [1, 2]}}, {"title": "t2", "author_id": 2}]}}),
    )
    .await;
    assert_eq!(r.unwrap(), json!({"affected_rows": 2}));
    let r = call(
        &mut st,
        &db,
        Endpoint::V1Query,
        json!({"type": "insert", "args": {"table": "article", "objects": [{"author_id": 99}]}}),
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e["body"]["code"], "constraint-violation", "{e}");

    // A failing bulk changes nothing, and the path points into it.
    let before = st.metadata.clone();
    let r = call(&mut st, &db, Endpoint::V1Query, json!({"type": "bulk", "args": [
        {"type": "create_select_permission", "args": {"table": "article", "role": "user", "permission": {"columns": ["id"], "filter": {}}}},
        {"type": "create_select_permission", "args": {"table": "author", "role": "user", "permission": {"columns": ["id"], "filter": {}}}}
    ]})).await;
    let e = r.unwrap_err();
    assert_eq!(e["status"], 400);
    assert_eq!(
        e["body"],
        json!({"path": "$.args[1].args", "code": "already-exists",
        "error": "select permission already defined on table \"author\" with role \"user\""})
    );
    assert_eq!(st.metadata, before);

    // A permission on a missing column is an inconsistency the op introduces.
    let r = call(&mut st, &db, Endpoint::V1Metadata, json!({"type": "pg_create_select_permission", "args": {
        "source": "default", "table": "article", "role": "user", "permission": {"columns": ["nope"], "filter": {}}}})).await;
    let e = r.unwrap_err();
    assert_eq!(e["body"]["code"], "invalid-configuration", "{e}");

    // Query collections, with the fixture's messages.
    let ok = json!({"message": "success"});
    assert_eq!(call(&mut st, &db, Endpoint::V1Query, json!({"type": "create_query_collection", "args": {
        "name": "collection_1", "comment": "c", "definition": {"queries": [{"name": "query_1", "query": "query { author { id } }"}]}}})).await.unwrap(), ok);
    let e = call(&mut st, &db, Endpoint::V1Query, json!({"type": "add_query_to_collection", "args": {
        "collection_name": "collection_1", "query_name": "query_1", "query": "query { author { name } }"}})).await.unwrap_err();
    assert_eq!(
        e["body"],
        json!({"path": "$.args", "code": "already-exists",
        "error": "query with name \"query_1\" already exists in collection \"collection_1\""})
    );
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Query,
            json!({"type": "add_collection_to_allowlist", "args": {"collection": "collection_1"}})
        )
        .await
        .unwrap(),
        ok
    );
    assert_eq!(call(&mut st, &db, Endpoint::V1Metadata, json!({"type": "rename_query_collection", "args": {"name": "collection_1", "new_name": "c2"}})).await.unwrap(), ok);
    let e = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "add_query_to_collection", "args": {
        "collection_name": "collection_1", "query_name": "q", "query": "query { a }"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e["body"],
        json!({"path": "$.args", "code": "not-exists",
        "error": "query collection with name \"collection_1\" does not exist"})
    );
    assert_eq!(st.metadata.allowlist[0].collection, "c2");
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Query,
            json!({"type": "drop_query_collection", "args": {"collection": "c2", "cascade": true}})
        )
        .await
        .unwrap(),
        ok
    );
    assert!(st.metadata.allowlist.is_empty());

    // Inherited roles.
    assert_eq!(call(&mut st, &db, Endpoint::V1Metadata, json!({"type": "add_inherited_role", "args": {"role_name": "both", "role_set": ["user", "anon"]}})).await.unwrap(), ok);
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Metadata,
            json!({"type": "drop_inherited_role", "args": {"role_name": "both"}})
        )
        .await
        .unwrap(),
        ok
    );

    // export → replace round-trips; version 2 export carries the resource version.
    let exported = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "export_metadata", "args": {}}),
    )
    .await
    .unwrap();
    assert_eq!(exported["version"], 3);
    assert_eq!(
        exported["sources"][0]["tables"][0]["table"],
        json!({"schema": "public", "name": "author"})
    );
    let v2 = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "export_metadata", "version": 2, "args": {}}),
    )
    .await
    .unwrap();
    assert_eq!(v2["resource_version"], st.resource_version);
    assert_eq!(v2["metadata"], exported);
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Metadata,
            json!({"type": "replace_metadata", "args": exported.clone()})
        )
        .await
        .unwrap(),
        ok
    );
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Metadata,
            json!({"type": "export_metadata", "args": {}})
        )
        .await
        .unwrap(),
        exported
    );
    assert_eq!(call(&mut st, &db, Endpoint::V1Metadata, json!({"type": "replace_metadata", "args": {"metadata": exported.clone(), "allow_inconsistent_metadata": false}})).await.unwrap(), ok);

    // Persistence: a fresh load sees the same metadata and version, without introspecting.
    let again = load(&db, &Config::default()).await.expect("reload");
    assert_eq!(again.metadata, st.metadata);
    assert_eq!(again.resource_version, st.resource_version);
    assert_eq!(again.schema.tables.len(), 2);

    // Dropping a table through run_sql removes it and what points to it.
    let r = call(
        &mut st,
        &db,
        Endpoint::V1Query,
        json!({"type": "run_sql", "args": {"sql": "DROP TABLE article CASCADE", "cascade": true}}),
    )
    .await;
    assert_eq!(
        r.unwrap(),
        json!({"result_type": "CommandOk", "result": null})
    );
    let src = &st.metadata.sources[0];
    assert_eq!(src.tables.len(), 1, "{:?}", src.tables);
    assert!(src.tables[0].array_relationships.is_empty());
    let inc = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "get_inconsistent_metadata", "args": {}}),
    )
    .await
    .unwrap();
    assert_eq!(
        inc,
        json!({"is_consistent": true, "inconsistent_objects": []})
    );

    // A Postgres error in run_sql.
    let e = call(
        &mut st,
        &db,
        Endpoint::V2Query,
        json!({"type": "run_sql", "args": {"sql": "select * from nope"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e["body"]["code"], "postgres-error");

    // Column type change is picked up (catalog re-introspected).
    call(&mut st, &db, Endpoint::V1Query, json!({"type": "run_sql", "args": {"sql": "ALTER TABLE author ALTER COLUMN id SET DATA TYPE bigint"}})).await.unwrap();
    let cat = st.catalog.table("public", "author").unwrap();
    assert_eq!(cat.column("id").unwrap().pg_type.udt, "int8");

    // clear_metadata keeps the source.
    assert_eq!(
        call(
            &mut st,
            &db,
            Endpoint::V1Query,
            json!({"type": "clear_metadata", "args": {}})
        )
        .await
        .unwrap(),
        ok
    );
    assert_eq!(st.metadata.sources[0].tables.len(), 0);
    assert_eq!(st.metadata.sources[0].name, "default");

    // Unknown operation / malformed body.
    let e = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "frobnicate", "args": {}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e["status"], 400);
    let e = call(&mut st, &db, Endpoint::V1Metadata, json!({"args": {}}))
        .await
        .unwrap_err();
    assert_eq!(e["body"]["code"], "parse-failed");
}

/// `reload_metadata` answers Hasura's `is_consistent` (and the inconsistent objects when false);
/// so does `replace_metadata` with `allow_inconsistent_metadata`; without it, inconsistent
/// metadata is refused at `$.args`. `dump_internal_state` shows what the engine holds.
#[tokio::test]
async fn reload_metadata_reports_consistency() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    let mut st = load(&db, &Config::default()).await.expect("load");
    let reload = json!({"type": "reload_metadata", "args": {}});
    let r = call(&mut st, &db, Endpoint::V1Metadata, reload.clone()).await;
    assert_eq!(
        r.unwrap(),
        json!({"message": "success", "is_consistent": true})
    );
    let mut exported = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "export_metadata", "args": {}}),
    )
    .await
    .unwrap();
    let same = json!({"type": "replace_metadata", "version": 2,
        "args": {"metadata": exported.clone(), "allow_inconsistent_metadata": true}});
    let r = call(&mut st, &db, Endpoint::V1Metadata, same)
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"is_consistent": true, "inconsistent_objects": []})
    );
    exported["sources"][0]["tables"] = json!([{"table": {"schema": "public", "name": "nope"}}]);
    let refused = json!({"type": "replace_metadata", "args": {"metadata": exported.clone()}});
    let e = call(&mut st, &db, Endpoint::V1Metadata, refused)
        .await
        .unwrap_err();
    assert_eq!(e["body"]["path"], "$.args", "{e}");
    assert_eq!(
        e["body"]["error"],
        "cannot continue due to inconsistent metadata"
    );
    let replace = json!({"type": "replace_metadata", "args": {"metadata": exported, "allow_inconsistent_metadata": true}});
    let r = call(&mut st, &db, Endpoint::V1Metadata, replace)
        .await
        .unwrap();
    assert_eq!(r["is_consistent"], false, "{r}");
    let dump = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "dump_internal_state", "args": {}}),
    )
    .await
    .unwrap();
    assert_eq!(dump["inconsistent_objects"][0]["type"], "table", "{dump}");
    assert!(dump["metadata"]["sources"].is_array() && dump["resource_version"].is_number());
    let r = call(&mut st, &db, Endpoint::V1Metadata, reload)
        .await
        .unwrap();
    assert_eq!(r["message"], "success");
    assert_eq!(r["is_consistent"], false);
    assert_eq!(r["inconsistent_objects"][0]["type"], "table", "{r}");
}

/// Inherited roles forming a cycle are refused with Hasura's 400 `cyclic-dependency`, the cycle
/// written as a list whose first role is repeated at the end; also by `replace_metadata`.
#[tokio::test]
async fn inherited_role_cycles_are_refused() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    let mut st = load(&db, &Config::default()).await.expect("load");
    let add = |name: &str, set: &[&str]| json!({"type": "add_inherited_role", "args": {"role_name": name, "role_set": set}});
    for (name, set) in [("b", ["a", "user"]), ("a", ["b", "user"])] {
        let r = call(&mut st, &db, Endpoint::V1Metadata, add(name, &set)).await;
        if name == "b" {
            r.unwrap();
            continue;
        }
        let e = r.unwrap_err();
        assert_eq!(e["status"], 400, "{e}");
        assert_eq!(e["body"]["code"], "cyclic-dependency", "{e}");
        assert_eq!(
            e["body"]["error"],
            r#"found cycle(s) in roles: ["a","b","a"]"#
        );
    }
    let mut exported = call(
        &mut st,
        &db,
        Endpoint::V1Metadata,
        json!({"type": "export_metadata", "args": {}}),
    )
    .await
    .unwrap();
    exported["inherited_roles"] = json!([
        {"role_name": "c", "role_set": ["e", "x"]},
        {"role_name": "d", "role_set": ["c", "y"]},
        {"role_name": "e", "role_set": ["d", "z"]}
    ]);
    for allow in [false, true] {
        let replace = json!({"type": "replace_metadata", "args": {"metadata": exported.clone(), "allow_inconsistent_metadata": allow}});
        let e = call(&mut st, &db, Endpoint::V1Metadata, replace)
            .await
            .unwrap_err();
        assert_eq!(e["body"]["code"], "cyclic-dependency", "{e}");
        assert_eq!(
            e["body"]["error"],
            r#"found cycle(s) in roles: ["c","e","d","c"]"#
        );
    }
}

/// What depends on a table or a computed field blocks dropping it (Hasura's
/// `dependency-error`) unless `cascade`; a table and a function cannot share a name; a
/// table-returning computed field's select permissions are derived, never listed. Each step:
/// the `/v1/query` body and the error message it gets (`None`: success).
#[tokio::test]
async fn dependents_and_name_clashes() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipping: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    let mut st = load(&db, &Config::default()).await.expect("load");
    let sql = format!(
        "{SCHEMA_SQL}
         CREATE FUNCTION author_name(a author) RETURNS text AS $$ SELECT a.name $$ LANGUAGE sql STABLE;
         CREATE FUNCTION author_articles(a author) RETURNS SETOF article
           AS $$ SELECT * FROM article WHERE author_id = a.id $$ LANGUAGE sql STABLE;
         CREATE FUNCTION article(x int) RETURNS SETOF author AS $$ SELECT * FROM author $$ LANGUAGE sql STABLE;"
    );
    let deps = "cannot drop due to the following dependent objects: ";
    let steps: Vec<(Json, Option<String>)> = vec![
        (json!({"type": "run_sql", "args": {"sql": sql}}), None),
        (
            json!({"type": "track_table", "args": {"name": "author"}}),
            None,
        ),
        (
            json!({"type": "track_function", "args": {"name": "article"}}),
            None,
        ),
        (
            json!({"type": "track_table", "args": {"name": "article"}}),
            Some("function with name \"article\" already exists".into()),
        ),
        (
            json!({"type": "untrack_function", "args": {"name": "article"}}),
            None,
        ),
        (
            json!({"type": "track_table", "args": {"name": "article"}}),
            None,
        ),
        (
            json!({"type": "track_function", "args": {"name": "article"}}),
            Some("table with name \"article\" already exists".into()),
        ),
        (
            json!({"type": "create_object_relationship", "args": {"table": "article",
                "name": "author", "using": {"foreign_key_constraint_on": "author_id"}}}),
            None,
        ),
        (
            json!({"type": "untrack_table", "args": {"table": "author"}}),
            Some(format!(
                "{deps}relationship article.author in source \"default\""
            )),
        ),
        (
            json!({"type": "add_computed_field", "args": {"table": "author", "name": "full",
                "definition": {"function": "author_name"}}}),
            None,
        ),
        (
            json!({"type": "add_computed_field", "args": {"table": "author", "name": "writes",
                "definition": {"function": "author_articles"}}}),
            None,
        ),
        (
            json!({"type": "create_select_permission", "args": {"table": "author", "role": "user",
                "permission": {"columns": "*", "computed_fields": ["writes"], "filter": {}}}}),
            Some(
                "select permissions on computed field \"writes\" are auto-derived from the \
                 permissions on its returning table \"article\" and cannot be specified manually"
                    .into(),
            ),
        ),
        (
            json!({"type": "create_select_permission", "args": {"table": "author", "role": "user",
                "permission": {"columns": "*", "computed_fields": ["full"], "filter": {}}}}),
            None,
        ),
        (
            json!({"type": "drop_computed_field", "args": {"table": "author", "name": "full"}}),
            Some(format!(
                "{deps}permission author.user.select in source \"default\""
            )),
        ),
        (
            json!({"type": "drop_computed_field", "args": {"table": "author", "name": "full",
                "cascade": true}}),
            None,
        ),
        (
            json!({"type": "untrack_table", "args": {"table": "author", "cascade": true}}),
            None,
        ),
    ];
    for (body, want) in steps {
        let got = call(&mut st, &db, Endpoint::V1Query, body.clone()).await;
        match (&got, &want) {
            (Ok(_), None) => {}
            (Err(e), Some(msg)) => {
                assert_eq!(e["status"], 400, "{body}: {e}");
                assert!(
                    e["body"]["error"]
                        .as_str()
                        .is_some_and(|m| m.contains(msg.as_str())),
                    "{body}: {e}"
                );
            }
            _ => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }
    let author = &st.metadata.sources[0];
    assert!(author.tables.iter().all(|t| t.table.name != "author"));
    let article = author.tables.iter().find(|t| t.table.name == "article");
    assert!(article.unwrap().object_relationships.is_empty());
}
