//! The metadata database and the sources, with the real binary: started exactly as Hasura's
//! test harness starts Hasura (`graphedge --metadata-database-url M serve --enable-telemetry=false
//! ...`, a stripped environment), the `default` source added by `replace_metadata` on another
//! database (`from_env`), the source operations, and an existing single-database graphedge
//! database started the old way and the new way.
mod common;

use std::process::Command;

use common::{free_port, Server};
use graphedge_metadata::db::{Database, Statement};
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

/// A cluster with the databases `names`, and their URLs.
fn cluster(names: &[&str]) -> (TempPostgres, Vec<String>) {
    let pg = TempPostgres::start().expect("start a throwaway postgres");
    let urls = names
        .iter()
        .map(|n| {
            pg.create_database(n).unwrap();
            pg.url(n)
        })
        .collect();
    (pg, urls)
}

/// `graphedge <global> serve <serve>` with only PATH and `env` in the environment, as
/// Hasura's harness starts the engine.
fn start_like_hasura(global: &[&str], serve: &[&str], env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .args(global)
        .arg("serve")
        .args([
            "--enable-telemetry=false",
            "--server-port",
            &port.to_string(),
        ])
        .arg("--stringify-numeric-types")
        .args(serve);
    Server::spawn(cmd, port)
}

/// One value straight from the database at `url` (`SELECT ...::text`).
fn sql_value(url: &str, sql: &str) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = PgDatabase::connect(url, 1).unwrap();
        db.query_one(&Statement {
            sql: sql.into(),
            params: vec![],
        })
        .await
        .unwrap()
    })
}

/// Whether the database at `url` has the table `name` (`schema.table`).
fn has_table(url: &str, name: &str) -> bool {
    sql_value(url, &format!("SELECT to_regclass('{name}') IS NOT NULL")).as_deref() == Some("t")
}

fn source(name: &str, database_url: Value) -> Value {
    json!({"name": name, "kind": "postgres", "tables": [],
           "configuration": {"connection_info": {"database_url": database_url}}})
}

/// `/v1/metadata` `body`: (status, answer).
fn meta(s: &Server, body: Value) -> (u16, Value) {
    s.post_json("/v1/metadata", body)
}

fn run_sql_on(s: &Server, source: &str, sql: &str) -> (u16, Value) {
    s.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"source": source, "sql": sql}}),
    )
}

#[test]
fn metadata_database_apart_from_the_sources() {
    let (_pg, urls) = cluster(&["meta", "src", "other"]);
    let (meta_url, src_url, other_url) = (&urls[0], &urls[1], &urls[2]);
    let env = [("HASURA_GRAPHQL_PG_SOURCE_URL_1", src_url.as_str())];
    let s = start_like_hasura(&["--metadata-database-url", meta_url], &[], &env);

    // No source yet: an empty schema, the metadata stored in the metadata database.
    let (_, md) = meta(&s, json!({"type": "export_metadata", "args": {}}));
    assert_eq!(md["sources"], json!([]), "{md}");
    assert_eq!(
        s.graphql(&[], "{ __typename }").1,
        json!({"data": {"__typename": "query_root"}})
    );
    assert!(has_table(meta_url, "graphedge.metadata"));
    let (status, body) = run_sql_on(&s, "default", "SELECT 1");
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("not-exists")),
        "{body}"
    );

    // The harness's way: export, append `default` from the environment, replace.
    let mut md = md;
    md["sources"] = json!([source(
        "default",
        json!({"from_env": "HASURA_GRAPHQL_PG_SOURCE_URL_1"})
    )]);
    let (status, body) = meta(&s, json!({"type": "replace_metadata", "args": md}));
    assert_eq!(status, 200, "{body}");
    s.run_sql("CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL)");
    s.track("author");
    let (_, body) = s.graphql(
        &[],
        r#"mutation { insert_author_one(object: {name: "Ann"}) { id } }"#,
    );
    assert_eq!(body, json!({"data": {"insert_author_one": {"id": 1}}}));
    let (_, body) = s.graphql(&[], "{ author { name } }");
    assert_eq!(body, json!({"data": {"author": [{"name": "Ann"}]}}));
    // The table is in the source, the metadata in the metadata database.
    assert!(has_table(src_url, "public.author") && !has_table(meta_url, "public.author"));
    assert!(!has_table(src_url, "graphedge.metadata"));
    let tracked = sql_value(
        meta_url,
        "SELECT metadata->'sources'->0->'tables'->0->'table'->>'name' FROM graphedge.metadata",
    );
    assert_eq!(tracked.as_deref(), Some("author"));

    // A second source, by connection parameters; run_sql names it.
    let pg_params = other_url.strip_prefix("postgres://").unwrap_or(other_url);
    let (user_host, database) = pg_params.split_once('/').unwrap();
    let (user, hostport) = user_host.split_once('@').unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap();
    let params = json!({"connection_parameters": {"username": user, "database": database.split('?').next().unwrap(), "host": host, "port": port.parse::<u16>().unwrap()}});
    let add = json!({"type": "pg_add_source", "args": {"name": "other", "configuration": {"connection_info": {"database_url": params, "pool_settings": {"max_connections": 5}, "isolation_level": "read-committed", "use_prepared_statements": true}}}});
    // (operation, expected status, expected code)
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (add.clone(), 200, None),
        (add, 400, Some("already-exists")),
        (
            json!({"type": "pg_add_source", "args": {"name": "bad", "configuration": {"connection_info": {}}}}),
            400,
            Some("parse-failed"),
        ),
        (
            json!({"type": "pg_update_source", "args": {"name": "nope", "configuration": {"connection_info": {"database_url": "x"}}}}),
            400,
            Some("not-exists"),
        ),
        (
            json!({"type": "rename_source", "args": {"name": "other", "new_name": "default"}}),
            400,
            Some("already-exists"),
        ),
        (
            json!({"type": "rename_source", "args": {"name": "other", "new_name": "second"}}),
            200,
            None,
        ),
        (
            json!({"type": "pg_update_source", "args": {"name": "second", "customization": {"root_fields": {"namespace": "two"}}}}),
            200,
            None,
        ),
    ];
    for (op, status, code) in cases {
        let (got, body) = meta(&s, op.clone());
        assert_eq!(got, status, "{op}: {body}");
        if let Some(code) = code {
            assert_eq!(body["code"], code, "{op}: {body}");
        }
    }
    let (status, body) = run_sql_on(&s, "second", "CREATE TABLE only_there (x int)");
    assert_eq!(status, 200, "{body}");
    assert!(has_table(other_url, "public.only_there") && !has_table(src_url, "public.only_there"));
    // Tracked in the source that has it (introspected there), not in the served one.
    for (table, status) in [("only_there", 200), ("author", 400)] {
        let track = json!({"type": "pg_track_table", "args": {"source": "second", "table": table}});
        assert_eq!(meta(&s, track).0, status, "{table}");
    }
    let (status, body) = meta(
        &s,
        json!({"type": "pg_drop_source", "args": {"name": "second", "cascade": true}}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = meta(
        &s,
        json!({"type": "pg_drop_source", "args": {"name": "second"}}),
    );
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("not-exists")),
        "{body}"
    );

    // A restart serves the stored metadata from the metadata database.
    drop(s);
    let s = start_like_hasura(&["--metadata-database-url", meta_url], &[], &env);
    let (_, body) = s.graphql(&[], "{ author { name } }");
    assert_eq!(body, json!({"data": {"author": [{"name": "Ann"}]}}));

    // The source moves to another database: introspected there, served from there.
    let (_, mut md) = meta(&s, json!({"type": "export_metadata", "args": {}}));
    md["sources"][0]["configuration"]["connection_info"]["database_url"] = json!(other_url);
    md["sources"][0]["tables"] = json!([]);
    let (status, body) = meta(&s, json!({"type": "replace_metadata", "args": md}));
    assert_eq!(status, 200, "{body}");
    s.track("only_there");
    let (_, body) = s.graphql(&[], "{ only_there { x } }");
    assert_eq!(body, json!({"data": {"only_there": []}}));
}

#[test]
fn existing_single_database_keeps_working() {
    let (_pg, urls) = cluster(&["app"]);
    let url = &urls[0];
    // Today's README usage: one HASURA_GRAPHQL_DATABASE_URL holds metadata and data.
    let s = start_like_hasura(&[], &[], &[("HASURA_GRAPHQL_DATABASE_URL", url)]);
    s.run_sql(
        "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note VALUES (1, 'kept')",
    );
    s.track("note");
    drop(s);
    let query = "{ note { body } }";
    let want = json!({"data": {"note": [{"body": "kept"}]}});
    // The same database again, then named as Hasura v2 names it: the metadata database and
    // the `default` source both, then only the metadata database.
    type Start<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let starts: Vec<Start> = vec![
        (vec![], vec![("HASURA_GRAPHQL_DATABASE_URL", url)]),
        (
            vec!["--metadata-database-url", url, "--database-url", url],
            vec![],
        ),
        (
            vec!["--metadata-database-url", url],
            vec![("HASURA_GRAPHQL_DATABASE_URL", url)],
        ),
        (
            vec![],
            vec![
                ("HASURA_GRAPHQL_METADATA_DATABASE_URL", url),
                ("HASURA_GRAPHQL_DATABASE_URL", url),
            ],
        ),
    ];
    for (global, env) in starts {
        let s = start_like_hasura(&global, &[], &env);
        assert_eq!(s.graphql(&[], query).1, want, "{global:?} {env:?}");
        let (_, md) = meta(&s, json!({"type": "export_metadata", "args": {}}));
        assert_eq!(
            md["sources"][0]["configuration"]["connection_info"]["database_url"],
            json!({"from_env": "HASURA_GRAPHQL_DATABASE_URL"}),
            "{md}"
        );
    }
    // Metadata naming a variable this deployment never set (a Hasura project's
    // `PG_DATABASE_URL`) is still served from the default database, as before sources.
    let s = start_like_hasura(&[], &[], &[("HASURA_GRAPHQL_DATABASE_URL", url)]);
    let (_, mut md) = meta(&s, json!({"type": "export_metadata", "args": {}}));
    md["sources"][0]["configuration"]["connection_info"]["database_url"] =
        json!({"from_env": "PG_DATABASE_URL"});
    let (status, body) = meta(&s, json!({"type": "replace_metadata", "args": md}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.graphql(&[], query).1, want);
}

#[test]
fn unknown_flags_still_refused_hasura_flags_accepted() {
    let (_pg, urls) = cluster(&["app"]);
    let url = &urls[0];
    // Every flag of Hasura's harness and a few more Hasura flags graphedge ignores.
    let s = start_like_hasura(
        &["--database-url", url],
        &[
            "--enable-telemetry",
            "false",
            "--cors-domain",
            "*",
            "--log-level",
            "warn",
            "--disable-cors",
        ],
        &[],
    );
    assert_eq!(s.graphql(&[], "{ __typename }").0, 200);
    let out = Command::new(env!("CARGO_BIN_EXE_graphedge"))
        .args(["serve", "--no-such-flag"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}

/// Two Postgres sources served side by side in one schema: root fields of both, a query and a
/// mutation spanning both (one statement / transaction per source, merged in the request's
/// field order), and a root field both would have reported as an inconsistency.
/// The environment of two databases: the default source's (`HASURA_GRAPHQL_DATABASE_URL`)
/// and the one `HASURA_GRAPHQL_PG_SOURCE_URL_2` names.
fn two_sources_env(urls: &[String]) -> [(&'static str, &str); 2] {
    [
        ("HASURA_GRAPHQL_DATABASE_URL", urls[0].as_str()),
        ("HASURA_GRAPHQL_PG_SOURCE_URL_2", urls[1].as_str()),
    ]
}

/// Adds the second database as source `pg2`.
fn add_second_source(s: &Server) {
    let add = json!({"type": "pg_add_source", "args": {"name": "pg2", "configuration":
        {"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_PG_SOURCE_URL_2"}}}}});
    assert_eq!(meta(s, add).0, 200);
}

#[test]
fn several_sources_in_one_schema() {
    let (_pg, urls) = cluster(&["one", "two"]);
    let env = two_sources_env(&urls);
    let s = start_like_hasura(&[], &[], &env);
    add_second_source(&s);
    s.run_sql("CREATE TABLE author (id serial PRIMARY KEY, name text); INSERT INTO author (name) VALUES ('Ann')");
    s.track("author");
    let (status, body) = run_sql_on(
        &s,
        "pg2",
        "CREATE TABLE article (id serial PRIMARY KEY, title text); INSERT INTO article (title) VALUES ('On two')",
    );
    assert_eq!(status, 200, "{body}");
    let track = |source: &str, table: &str| {
        meta(
            &s,
            json!({"type": "pg_track_table", "args": {"source": source, "table": table}}),
        )
    };
    assert_eq!(track("pg2", "article").0, 200);
    // (request, expected answer; key order checked too)
    let cases = [
        (
            "{ article { title } t: __typename author { name } }",
            json!({"data": {"article": [{"title": "On two"}], "t": "query_root", "author": [{"name": "Ann"}]}}),
        ),
        (
            r#"mutation { a: insert_author_one(object: {name: "Bo"}) { id } insert_article(objects: [{title: "Two"}]) { affected_rows } __typename }"#,
            json!({"data": {"a": {"id": 2}, "insert_article": {"affected_rows": 1}, "__typename": "mutation_root"}}),
        ),
        (
            "{ author_aggregate { aggregate { count } } article(order_by: {id: desc}, limit: 1) { title } }",
            json!({"data": {"author_aggregate": {"aggregate": {"count": 2}}, "article": [{"title": "Two"}]}}),
        ),
        (
            "{ __type(name: \"article\") { name } author_by_pk(id: 1) { name } }",
            json!({"data": {"__type": {"name": "article"}, "author_by_pk": {"name": "Ann"}}}),
        ),
    ];
    for (query, want) in cases {
        let (status, got) = s.graphql(&[], query);
        assert_eq!((status, &got), (200, &want), "{query}");
        let keys = |v: &Value| -> Vec<String> {
            v["data"]
                .as_object()
                .map_or(vec![], |o| o.keys().cloned().collect())
        };
        assert_eq!(keys(&got), keys(&want), "{query}");
    }
    // Explain: each root field shows its own source's statement and plan.
    let (status, explained) = s.post_json(
        "/v1/graphql/explain",
        json!({"query": {"query": "{ a: article { title } author { name } }"}}),
    );
    assert_eq!(status, 200, "{explained}");
    for (i, (field, table)) in [("a", "article"), ("author", "author")].iter().enumerate() {
        let e = &explained[i];
        assert_eq!(e["field"], json!(field), "{explained}");
        let sql = e["sql"].as_str().unwrap_or("");
        assert!(sql.contains(&format!("\"{table}\"")), "{explained}");
        assert!(
            e["plan"].as_array().is_some_and(|p| !p.is_empty()),
            "{explained}"
        );
    }
    // Each part ran on its own database.
    assert_eq!(
        sql_value(&urls[1], "SELECT count(*) FROM article").as_deref(),
        Some("2")
    );
    assert!(!has_table(&urls[0], "public.article"));
    // A table whose root fields the other source already has: an inconsistency, refused.
    let (status, _) = run_sql_on(&s, "pg2", "CREATE TABLE author (id int PRIMARY KEY)");
    assert_eq!(status, 200);
    let (status, body) = track("pg2", "author");
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("already-exists")),
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("already exists in source \"default\""),
        "{body}"
    );
    // `/v1/query` data operations work on the served source, whose `author` this is.
    let select = json!({"type": "select", "args": {"table": "author", "columns": ["name"], "order_by": ["id"], "limit": 1}});
    assert_eq!(
        s.post_json("/v1/query", select),
        (200, json!([{"name": "Ann"}]))
    );
    // A restart serves both sources from the stored metadata.
    drop(s);
    let s = start_like_hasura(&[], &[], &env);
    let (_, got) = s.graphql(
        &[],
        "{ article(limit: 1) { title } author(limit: 1) { name } }",
    );
    assert_eq!(
        got,
        json!({"data": {"article": [{"title": "On two"}], "author": [{"name": "Ann"}]}})
    );
}

/// `naming_convention: graphql-default` applies only with the `naming_convention`
/// experimental feature (as in Hasura): camelCase root fields and columns, PascalCase types,
/// custom names kept; `HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION` for sources naming none.
#[test]
fn naming_conventions() {
    let (_pg, urls) = cluster(&["app"]);
    let url = urls[0].as_str();
    let feature = ("HASURA_GRAPHQL_EXPERIMENTAL_FEATURES", "naming_convention");
    let by_default = (
        "HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION",
        "graphql-default",
    );
    let camel_query = "{ authorLocal { authorId __typename } authorLocalAggregate { __typename aggregate { __typename count } } w: authorDetail(author_id: 1) { __typename author_id } }";
    let camel_answer = json!({"data": {"authorLocal": [{"authorId": 1, "__typename": "AuthorLocal"}],
        "authorLocalAggregate": {"__typename": "AuthorLocalAggregate", "aggregate": {"__typename": "AuthorLocalAggregateFields", "count": 1}},
        "w": {"__typename": "authorDetails", "author_id": 1}}});
    let default_query = "{ author_local { author_id __typename } }";
    let default_answer =
        json!({"data": {"author_local": [{"author_id": 1, "__typename": "author_local"}]}});
    // (environment, the source's convention, query, answer)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Option<&'a str>, &'a str, Value);
    let cases: Vec<Case> = vec![
        (
            vec![feature],
            Some("graphql-default"),
            camel_query,
            camel_answer.clone(),
        ),
        (vec![feature, by_default], None, camel_query, camel_answer),
        (
            vec![feature],
            Some("hasura-default"),
            default_query,
            default_answer.clone(),
        ),
        (
            vec![],
            Some("graphql-default"),
            default_query,
            default_answer,
        ),
    ];
    for (i, (env, convention, query, want)) in cases.into_iter().enumerate() {
        let mut env = env;
        env.push(("HASURA_GRAPHQL_DATABASE_URL", url));
        let s = start_like_hasura(&[], &[], &env);
        if i == 0 {
            s.run_sql("CREATE TABLE author_local (author_id int PRIMARY KEY); INSERT INTO author_local VALUES (1); CREATE TABLE author_details (author_id int PRIMARY KEY); INSERT INTO author_details VALUES (1)");
            s.track("author_local");
            let track = json!({"type": "pg_track_table", "args": {"table": "author_details", "configuration": {
                "custom_name": "authorDetails", "custom_root_fields": {"select_by_pk": "authorDetail"},
                "column_config": {"author_id": {"custom_name": "author_id"}}}}});
            assert_eq!(meta(&s, track).0, 200);
        }
        let customization = match convention {
            Some(c) => json!({"naming_convention": c}),
            None => json!({}),
        };
        let update = json!({"type": "pg_update_source", "args": {"name": "default", "customization": customization}});
        let (status, body) = meta(&s, update);
        assert_eq!(status, 200, "{body}");
        assert_eq!(s.graphql(&[], query).1, want, "{env:?} {convention:?}");
        if i == 0 {
            // Arguments, operators and generated fields in camelCase; the default spelling
            // is not part of this schema.
            let q = r#"{ authorLocal(orderBy: {authorId: DESC}, where: {authorId: {_isNull: false}}, distinctOn: [authorId]) { authorId } }"#;
            assert_eq!(
                s.graphql(&[], q).1,
                json!({"data": {"authorLocal": [{"authorId": 1}]}})
            );
            let m = r#"mutation { updateAuthorLocalByPk(pkColumns: {authorId: 1}, _set: {authorId: 1}) { authorId } deleteAuthorLocal(where: {authorId: {_eq: 9}}) { affectedRows } }"#;
            assert_eq!(
                s.graphql(&[], m).1,
                json!({"data": {"updateAuthorLocalByPk": {"authorId": 1}, "deleteAuthorLocal": {"affectedRows": 0}}})
            );
            let (_, refused) = s.graphql(
                &[],
                "{ authorLocal(order_by: {authorId: DESC}) { authorId } }",
            );
            assert!(
                refused["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("has no argument named 'order_by'")),
                "{refused}"
            );
        }
    }
}

/// Remote relationships to another source's table (`pg_create_remote_relationship` with
/// `to_source`): object and array, arguments on the array side, the role's permissions on the
/// target, values copied exactly (a bigint beyond 2^53), a refusal (a missing column), a mutation's
/// answer (answered once it committed), the definition exported as stored, and deletion.
#[test]
fn remote_relationships_across_sources() {
    let (_pg, urls) = cluster(&["one", "two"]);
    let env = two_sources_env(&urls);
    let s = start_like_hasura(&[], &[], &env);
    add_second_source(&s);
    s.run_sql(
        "CREATE TABLE author (id bigint PRIMARY KEY, name text);
         INSERT INTO author VALUES (1, 'Ann'), (9007199254740993, 'Big'), (3, 'None');",
    );
    s.track("author");
    let (status, body) = run_sql_on(
        &s,
        "pg2",
        "CREATE TABLE bio (author_id bigint PRIMARY KEY, text text);
         INSERT INTO bio VALUES (1, 'about Ann'), (9007199254740993, 'about Big');
         CREATE TABLE post (id int PRIMARY KEY, author_id bigint, title text, public bool);
         INSERT INTO post VALUES (1, 1, 'a1', true), (2, 1, 'a2', false), (3, 9007199254740993, 'b1', true);",
    );
    assert_eq!(status, 200, "{body}");
    for t in ["bio", "post"] {
        let track = json!({"type": "pg_track_table", "args": {"source": "pg2", "table": t}});
        assert_eq!(meta(&s, track).0, 200);
    }
    let remote = |name: &str, kind: &str, table: &str, mapping: Value| {
        json!({"type": "pg_create_remote_relationship", "args": {"name": name, "table": "author",
            "definition": {"to_source": {"relationship_type": kind, "source": "pg2",
                                         "table": table, "field_mapping": mapping}}}})
    };
    assert_eq!(
        meta(
            &s,
            remote("bio", "object", "bio", json!({"id": "author_id"}))
        )
        .0,
        200
    );
    assert_eq!(
        meta(
            &s,
            remote("posts", "array", "post", json!({"id": "author_id"}))
        )
        .0,
        200
    );
    let (status, body) = meta(&s, remote("bad", "object", "bio", json!({"id": "nope"})));
    assert_eq!(status, 400, "{body}");
    let query = "{ author(order_by: {id: asc}) { id name bio { text } \
                 posts(order_by: {id: desc}, where: {title: {_like: \"%1\"}}) { title } } }";
    let (_, got) = s.graphql(&[], query);
    assert_eq!(
        got,
        json!({"data": {"author": [
            {"id": "1", "name": "Ann", "bio": {"text": "about Ann"}, "posts": [{"title": "a1"}]},
            {"id": "3", "name": "None", "bio": null, "posts": []},
            {"id": "9007199254740993", "name": "Big", "bio": {"text": "about Big"},
             "posts": [{"title": "b1"}]},
        ]}}),
        "{query}"
    );
    // A role sees the relationship only with a select permission on the target, whose filter
    // applies.
    for (table, filter) in [
        ("author", json!({})),
        ("post", json!({"public": {"_eq": true}})),
    ] {
        let source = if table == "author" { "default" } else { "pg2" };
        let perm = json!({"type": "pg_create_select_permission", "args": {"source": source,
            "table": table, "role": "user", "permission": {"columns": "*", "filter": filter}}});
        assert_eq!(meta(&s, perm).0, 200);
    }
    let (_, got) = s.graphql(
        &[("x-hasura-role", "user")],
        "{ author(where: {id: {_eq: 1}}) { posts { title } } }",
    );
    assert_eq!(
        got,
        json!({"data": {"author": [{"posts": [{"title": "a1"}]}]}})
    );
    let (_, got) = s.graphql(&[("x-hasura-role", "user")], "{ author { bio { text } } }");
    assert_eq!(
        got["errors"][0]["message"], "field 'bio' not found in type: 'author'",
        "{got}"
    );
    // In a mutation's answer, answered once the mutation committed (author 5 has no bio).
    let (_, got) = s.graphql(
        &[],
        "mutation { insert_author_one(object: {id: 5, name: \"E\"}) { name bio { text } } }",
    );
    assert_eq!(
        got,
        json!({"data": {"insert_author_one": {"name": "E", "bio": null}}})
    );
    // Exported as stored; deleted.
    let (_, md) = meta(&s, json!({"type": "export_metadata", "args": {}}));
    let tables = md["sources"][0]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let author = tables
        .iter()
        .find(|t| t["table"]["name"] == "author")
        .unwrap();
    assert_eq!(author["remote_relationships"][0]["name"], "bio", "{author}");
    assert_eq!(
        author["remote_relationships"][0]["definition"]["to_source"]["field_mapping"],
        json!({"id": "author_id"})
    );
    let delete = json!({"type": "pg_delete_remote_relationship",
        "args": {"name": "bio", "table": "author"}});
    assert_eq!(meta(&s, delete.clone()).0, 200);
    assert_eq!(meta(&s, delete).0, 400);
    let (_, got) = s.graphql(&[], "{ author(limit: 1) { bio { text } } }");
    assert!(got["errors"].is_array(), "{got}");
}
