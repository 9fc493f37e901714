//! The operational API through the whole `handle`: enabled APIs, `/healthz`, `/v1/version`,
//! `/v1alpha1/config`, `/dev/*`, explain, CORS, gzip, and what the request log records.
mod common;

use common::*;
use graphedge_edge::http::NoHttp;
use graphedge_edge::md::DbError;
use graphedge_edge::reqlog::{HttpInfo, LogSettings};
use graphedge_edge::{handle_logged, Config, Engine};
use graphedge_metadata::Inconsistency;
use serde_json::{json, Value as Json};

/// A configuration read from these environment variables (plus an admin secret `s`).
fn config(env: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vec![("HASURA_GRAPHQL_ADMIN_SECRET".into(), "s".into())];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_env(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap()
}

const ADMIN: (&str, &str) = ("x-hasura-admin-secret", "s");

/// One case: a request and what its answer must be.
struct Case<'a> {
    env: &'a [(&'a str, &'a str)],
    method: &'a str,
    path: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a str,
    status: u16,
    /// The body, as JSON (a string: the body's text).
    expect: Option<Json>,
}

fn check(cases: &[Case<'_>]) {
    for c in cases {
        let e = engine(config(c.env));
        let r = send(
            &e,
            &FakeDb::default(),
            req(c.method, c.path, c.headers, c.body),
        );
        let what = format!("{} {} {:?}", c.method, c.path, c.env);
        assert_eq!(r.status, c.status, "{what}: {:?}", body_json(&r));
        if let Some(expect) = &c.expect {
            assert_eq!(&body_json(&r), expect, "{what}");
        }
    }
}

fn case<'a>(method: &'a str, path: &'a str, headers: &'a [(&'a str, &'a str)]) -> Case<'a> {
    Case {
        env: &[],
        method,
        path,
        headers,
        body: "",
        status: 200,
        expect: None,
    }
}

#[test]
fn endpoints_and_enabled_apis() {
    let not_found = json!({"path": "$", "error": "resource does not exist", "code": "not-found"});
    let admin_only = json!({"path": "$", "error": "You have to be an admin to access this endpoint", "code": "access-denied"});
    let graphql_only = &[("HASURA_GRAPHQL_ENABLED_APIS", "graphql")];
    let developer = &[(
        "HASURA_GRAPHQL_ENABLED_APIS",
        "metadata,graphql,developer,config",
    )];
    check(&[
        Case {
            expect: Some(json!({"version": env!("CARGO_PKG_VERSION"), "server_type": "ce"})),
            ..case("GET", "/v1/version", &[])
        },
        Case {
            expect: Some(json!("OK")),
            ..case("GET", "/healthz", &[])
        },
        Case {
            expect: Some(json!("OK")),
            ..case("GET", "/hasura/healthz", &[])
        },
        Case {
            status: 401,
            ..case("GET", "/v1alpha1/config", &[])
        },
        Case {
            status: 400,
            expect: Some(admin_only.clone()),
            ..case(
                "GET",
                "/v1alpha1/config",
                &[ADMIN, ("x-hasura-role", "user")],
            )
        },
        Case {
            env: graphql_only,
            status: 404,
            expect: Some(not_found.clone()),
            body: "{}",
            ..case("POST", "/v1/query", &[ADMIN])
        },
        Case {
            env: graphql_only,
            status: 404,
            expect: Some(not_found.clone()),
            body: "{}",
            ..case("POST", "/v1/graphql/explain", &[ADMIN])
        },
        Case {
            env: graphql_only,
            status: 404,
            expect: Some(not_found.clone()),
            ..case("GET", "/v1alpha1/config", &[ADMIN])
        },
        Case {
            env: &[("HASURA_GRAPHQL_ENABLED_APIS", "metadata")],
            status: 404,
            expect: Some(not_found.clone()),
            body: "{}",
            ..case("POST", "/v1/graphql", &[ADMIN])
        },
        Case {
            status: 404,
            expect: Some(not_found.clone()),
            ..case("GET", "/dev/ekg", &[ADMIN])
        },
        Case {
            env: developer,
            ..case("GET", "/dev/ekg", &[ADMIN])
        },
        Case {
            env: developer,
            expect: Some(Json::Null),
            ..case("GET", "/dev/plan_cache", &[ADMIN])
        },
        Case {
            env: developer,
            expect: Some(json!([])),
            ..case("GET", "/dev/subscriptions/extended", &[ADMIN])
        },
        Case {
            env: developer,
            status: 400,
            expect: Some(admin_only),
            ..case(
                "GET",
                "/dev/subscriptions",
                &[ADMIN, ("x-hasura-role", "user")],
            )
        },
        Case {
            env: &[("HASURA_GRAPHQL_DEV_MODE", "true")],
            ..case("GET", "/dev/ekg", &[ADMIN])
        },
        Case {
            status: 400,
            expect: Some(json!({"path": "$.source", "code": "not-exists",
                "error": "source with name \"default\" does not exist"})),
            body: r#"{"opts": ["--schema-only"], "clean_output": true}"#,
            ..case("POST", "/v1alpha1/pg_dump", &[ADMIN])
        },
    ]);
}

#[test]
fn config_api_reports_the_settings() {
    let e = engine(config(&[
        (
            "HASURA_GRAPHQL_JWT_SECRET",
            r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef","claims_format":"stringified_json"}"#,
        ),
        ("HASURA_GRAPHQL_ENABLE_ALLOWLIST", "true"),
    ]));
    let r = send(
        &e,
        &FakeDb::default(),
        req("GET", "/v1alpha1/config", &[ADMIN], ""),
    );
    let v = body_json(&r);
    assert_eq!(r.status, 200, "{v}");
    for (key, value) in [
        ("is_admin_secret_set", json!(true)),
        ("is_auth_hook_set", json!(false)),
        ("is_jwt_set", json!(true)),
        (
            "jwt",
            json!([{"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "stringified_json", "claims_map": null}]),
        ),
        ("is_allow_list_enabled", json!(true)),
        (
            "live_queries",
            json!({"batch_size": 100, "refetch_delay": 1}),
        ),
        ("console_assets_dir", Json::Null),
        ("experimental_features", json!([])),
        ("default_naming_convention", json!("hasura-default")),
        ("is_prometheus_metrics_enabled", json!(true)),
    ] {
        assert_eq!(v[key], value, "{key} in {v}");
    }
}

#[test]
fn healthz_reports_inconsistencies_and_the_database() {
    let mut state = empty_state();
    state.inconsistencies.push(Inconsistency {
        definition: json!({}),
        reason: "gone".into(),
        name: "table t".into(),
        kind: "table".into(),
    });
    let e = Engine::from_state(Config::new(), state).with_compiler(fake_compile);
    let db = FakeDb::default();
    for (path, status, text) in [
        ("/healthz", 200, "WARN: inconsistent objects in schema"),
        (
            "/healthz?strict=true",
            500,
            "ERROR: inconsistent objects in schema",
        ),
        (
            "/healthz?strict=false",
            200,
            "WARN: inconsistent objects in schema",
        ),
    ] {
        let r = send(&e, &db, req("GET", path, &[], ""));
        assert_eq!(
            (r.status, String::from_utf8_lossy(&r.body).as_ref()),
            (status, text)
        );
    }
    db.answer(Err(DbError::connection("down")));
    let r = send(&e, &db, req("GET", "/healthz", &[], ""));
    assert_eq!((r.status, r.body.as_slice()), (500, b"ERROR".as_slice()));
}

#[test]
fn explain_compiles_for_the_given_session() {
    let (e, db) = (engine(config(&[])), FakeDb::default());
    db.answer(Ok(Some("Seq Scan on author".into())));
    let body = json!({
        "query": {"query": "query { author { id } }", "variables": {"id": 3}},
        "user": {"x-hasura-role": "user", "x-hasura-user-id": "42"},
    });
    let r = send(
        &e,
        &db,
        req("POST", "/v1/graphql/explain", &[ADMIN], &body.to_string()),
    );
    assert_eq!(r.status, 200, "{:?}", body_json(&r));
    assert_eq!(
        body_json(&r),
        json!([{"field": "author", "sql": "SQL[query { author { id } }]", "plan": ["Seq Scan on author"]}])
    );
    let stmts = db.statements.borrow();
    assert_eq!(
        stmts.last().unwrap().sql,
        "EXPLAIN SQL[query { author { id } }]"
    );
    // The fake compiler binds the variable, then the session's user id.
    assert_eq!(
        stmts.last().unwrap().params,
        vec![Some("3".to_string()), Some("42".to_string())]
    );
    drop(stmts);
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql/explain",
            &[ADMIN, ("x-hasura-role", "user")],
            &body.to_string(),
        ),
    );
    assert_eq!(r.status, 400);
    let body = json!({"query": {"query": "mutation { m }"}, "user": {}});
    let r = send(
        &e,
        &db,
        req("POST", "/v1/graphql/explain", &[ADMIN], &body.to_string()),
    );
    assert_eq!(body_json(&r)["error"], "only queries can be explained");
}

#[test]
fn cors_and_gzip_through_handle() {
    let list = [(
        "HASURA_GRAPHQL_CORS_DOMAIN",
        "http://*.localhost, http://localhost:3000",
    )];
    for (env, origin, allowed) in [
        (&list[..], "http://app.localhost", true),
        (&list[..], "https://example.com", false),
        (&[][..], "https://example.com", true),
        (
            &[("HASURA_GRAPHQL_DISABLE_CORS", "true")][..],
            "https://example.com",
            false,
        ),
    ] {
        let e = engine(config(env));
        let r = send(
            &e,
            &FakeDb::default(),
            req("GET", "/v1/version", &[("Origin", origin)], ""),
        );
        assert_eq!(
            r.header("access-control-allow-origin").is_some(),
            allowed,
            "{env:?} {origin}"
        );
        let pre = send(
            &e,
            &FakeDb::default(),
            req("OPTIONS", "/v1/graphql", &[("Origin", origin)], ""),
        );
        assert_eq!(pre.status == 204, allowed, "{env:?} {origin} preflight");
    }
    let e = engine(config(&[]));
    let db = FakeDb::default();
    let big = format!("{{\"author\":[{{\"name\":\"{}\"}}]}}", "x".repeat(1000));
    for (accept, data, gzipped) in [
        ("gzip", big.as_str(), true),
        ("gzip", "{\"a\":1}", false),
        ("br", big.as_str(), false),
    ] {
        db.answer(Ok(Some(data.into())));
        let body = json!({"query": "query { author { id } }"}).to_string();
        let r = send(
            &e,
            &db,
            req(
                "POST",
                "/v1/graphql",
                &[ADMIN, ("Accept-Encoding", accept)],
                &body,
            ),
        );
        assert_eq!(
            r.header("content-encoding") == Some("gzip"),
            gzipped,
            "{accept} {}",
            data.len()
        );
    }
    // Errors and /v1/version are never compressed.
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql",
            &[("Accept-Encoding", "gzip, identity;q=0")],
            "{}",
        ),
    );
    assert_eq!(r.header("content-encoding"), None);
}

/// What the `http-log` line of one request carries.
fn http_log(env: &[(&str, &str)], r: graphedge_edge::Request) -> Json {
    let c = config(env);
    let settings: LogSettings = c.ops.log.clone();
    let e = engine(c);
    let url = r.path.clone();
    let (resp, log) = block_on(handle_logged(&e, &FakeDb::default(), &NoHttp, r));
    let info = HttpInfo {
        status: resp.status,
        method: "POST",
        url: &url,
        ip: "127.0.0.1",
        http_version: "HTTP/1.1",
        gzipped: false,
        response_size: resp.body.len(),
        uncompressed_response_size: resp.body.len(),
        request_read_time: 0.0,
        query_execution_time: 0.001,
    };
    serde_json::from_str(&log.http_log(&settings, &info).1).unwrap()
}

#[test]
fn request_log_follows_hasuras_rules() {
    let query_log = &[(
        "HASURA_GRAPHQL_ENABLED_LOG_TYPES",
        "startup,http-log,query-log",
    )];
    let ok = json!({"query": "query { author { id } }"}).to_string();
    let id = ("x-request-id", "r1");
    // Success, query-log on: the request itself, the session.
    let v = http_log(query_log, req("POST", "/v1/graphql", &[ADMIN, id], &ok));
    let op = &v["operation"];
    assert_eq!(op["query"], json!({"query": "query { author { id } }"}));
    assert_eq!(op["user_vars"], json!({"x-hasura-role": "admin"}));
    assert_eq!(
        (op["request_id"].as_str(), op.get("raw_query")),
        (Some("r1"), None)
    );
    assert_eq!(v["http_info"]["status"], 200);
    // Unauthorised: never parsed, so no query but the raw body.
    let op = http_log(query_log, req("POST", "/v1/graphql", &[id], &ok))["operation"].clone();
    assert_eq!(
        (op.get("query"), op["raw_query"].as_str()),
        (None, Some(ok.as_str()))
    );
    assert_eq!(op["error"]["code"], "access-denied");
    // A body that is no GraphQL request: parse-failed.
    let op = http_log(
        query_log,
        req("POST", "/v1/graphql", &[ADMIN], r#"{"quer":"x"}"#),
    )["operation"]
        .clone();
    assert_eq!(op["error"]["code"], "parse-failed");
    // Metadata paths show only the request's type (unless metadata query logging is on).
    let md = json!({"type": "run_sql", "args": {"sql": "select 1"}}).to_string();
    let op = http_log(query_log, req("POST", "/v1/query", &[], &md))["operation"].clone();
    assert_eq!(
        (op["query"].clone(), op.get("raw_query")),
        (json!({"type": null}), None)
    );
    let op = http_log(query_log, req("POST", "/v1/query", &[ADMIN], &md))["operation"].clone();
    assert_eq!(op["query"], json!({"type": "run_sql"}));
    let op = http_log(query_log, req("POST", "/v2/query", &[ADMIN], &md))["operation"].clone();
    assert_eq!(op["query"]["args"]["sql"], "select 1");
    // Without query-log, no request is logged.
    let op = http_log(&[], req("POST", "/v1/graphql", &[ADMIN], &ok))["operation"].clone();
    assert_eq!(op["query"], json!({"type": null}));
    // query-log: the statement with its arguments, keyed by root field.
    let e = engine(config(query_log));
    let (_, log) = block_on(handle_logged(
        &e,
        &FakeDb::default(),
        &NoHttp,
        req("POST", "/v1/graphql", &[ADMIN, id], &ok),
    ));
    let lines = log.query_logs();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "database");
    assert_eq!(
        lines[0]["generated_sql"]["author"]["query"],
        "SQL[query { author { id } }]"
    );
}
