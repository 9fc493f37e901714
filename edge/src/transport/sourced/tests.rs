//! Where each target's statements go: the connection string, endpoint and token of the
//! database `Sourced` opens for it, from the host's settings. One `check()` over the cases.
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use graphedge_metadata::sources::Connection;
use serde_json::{json, Value};

use super::{neon_config, Place, Sourced};
use crate::transport::neon::NeonConfig;

/// A database that is only its Neon configuration: these tests look at the routing, nothing
/// is sent.
struct Opened(NeonConfig);

impl Database for Opened {
    async fn query_one(&self, _: &Statement) -> Result<Option<String>, DbError> {
        Err(DbError::connection("not sent"))
    }

    async fn transaction(&self, _: &[Statement]) -> Result<Vec<Rows>, DbError> {
        Err(DbError::connection("not sent"))
    }

    async fn run_sql(&self, _: &str) -> Result<Vec<SqlResult>, DbError> {
        Err(DbError::connection("not sent"))
    }
}

const DB: &str = "postgres://app:pw@db.internal:5432/app";
const DB2: &str = "postgres://app:pw@db.internal:5432/sales";
const NEON: &str = "postgres://u:pw@ep-cool-1.us-east-2.aws.neon.tech/neondb";
const GW: &str = "http://gw:8080/sql";
const GW2: &str = "http://gw2:8080/sql";

/// What a target reaches: (connection string, endpoint, token, isolation level).
type Reached = (String, String, Option<String>, Option<String>);

fn reached(c: &NeonConfig) -> Reached {
    (
        c.connection_string.clone(),
        c.endpoint.clone(),
        c.auth_token.clone(),
        c.isolation_level.clone(),
    )
}

fn r(url: &str, endpoint: &str, token: Option<&str>) -> Result<Reached, String> {
    Ok((url.into(), endpoint.into(), token.map(Into::into), None))
}

/// `settings` are the host's; `source` a source's `connection_info` (`None`: the metadata
/// database). `want`: what the target reaches (`Err`: the message's start); `same`: whether it
/// is the database plain statements go to (the default one).
fn check(
    name: &str,
    settings: &[(&str, &str)],
    source: Option<Value>,
    want: Result<Reached, String>,
    same: bool,
) {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = move |k: &str| {
        settings
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let open = |p: &Place| neon_config(p).map(Opened);
    let sourced = match Sourced::from_settings(Box::new(get), Box::new(open)) {
        Ok(s) => s,
        Err(e) => {
            let got: Result<Reached, String> = Err(e);
            assert!(
                matches!((&got, &want), (Err(g), Err(w)) if g.starts_with(w.as_str())),
                "{name}: {got:?}, want {want:?}"
            );
            return;
        }
    };
    let connection = source.map(|c| Connection::parse(&json!({ "connection_info": c })).unwrap());
    let target = match &connection {
        Some(c) => Target::Source(c),
        None => Target::Metadata,
    };
    let got = sourced
        .database(target)
        .map(|db| reached(&db.0))
        .map_err(|e| e.message);
    match (&got, &want) {
        (Err(g), Err(w)) => assert!(g.starts_with(w.as_str()), "{name}: {g}, want {w}"),
        _ => assert_eq!(got, want, "{name}"),
    }
    if let Ok(got) = &got {
        assert_eq!(*got == reached(&sourced.primary().0), same, "{name}: plain");
        // One transaction spans the target and the metadata database when they are one.
        let metadata = reached(&sourced.database(Target::Metadata).unwrap().0);
        assert_eq!(
            sourced.same_database(target, Target::Metadata),
            *got == metadata,
            "{name}: same_database"
        );
    }
}

#[test]
fn routes_each_target_to_its_database() {
    let today = [
        ("HASURA_GRAPHQL_DATABASE_URL", DB),
        ("GRAPHEDGE_SQL_ENDPOINT", GW),
        ("GRAPHEDGE_SQL_AUTH_TOKEN", "t"),
    ];
    let from_env = |v: &str| Some(json!({"database_url": {"from_env": v}}));
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut s = today.to_vec();
        s.extend_from_slice(extra);
        s
    };
    // Today's settings: everything on the one database, as before sources.
    check("metadata, today", &today, None, r(DB, GW, Some("t")), true);
    check(
        "default source",
        &today,
        from_env("HASURA_GRAPHQL_DATABASE_URL"),
        r(DB, GW, Some("t")),
        true,
    );
    check(
        "a literal URL equal to the default",
        &today,
        Some(json!({"database_url": DB})),
        r(DB, GW, Some("t")),
        true,
    );
    check(
        "unset from_env: the default database",
        &today,
        from_env("NOT_SET"),
        r(DB, GW, Some("t")),
        true,
    );
    // Another database: the fallback endpoint and token, or its variable's own.
    check(
        "from_env, shared gateway",
        &with(&[("SALES_URL", DB2)]),
        from_env("SALES_URL"),
        r(DB2, GW, Some("t")),
        false,
    );
    check(
        "from_env, its own endpoint and token",
        &with(&[
            ("SALES_URL", DB2),
            ("GRAPHEDGE_SQL_ENDPOINT_SALES_URL", GW2),
            ("GRAPHEDGE_SQL_AUTH_TOKEN_SALES_URL", "t2"),
        ]),
        from_env("SALES_URL"),
        r(DB2, GW2, Some("t2")),
        false,
    );
    check(
        "an empty own endpoint falls back",
        &with(&[
            ("SALES_URL", DB2),
            ("GRAPHEDGE_SQL_ENDPOINT_SALES_URL", " "),
        ]),
        from_env("SALES_URL"),
        r(DB2, GW, Some("t")),
        false,
    );
    check(
        "the default's variable has its own endpoint too",
        &with(&[("GRAPHEDGE_SQL_ENDPOINT_HASURA_GRAPHQL_DATABASE_URL", GW2)]),
        from_env("HASURA_GRAPHQL_DATABASE_URL"),
        r(DB, GW2, Some("t")),
        true,
    );
    check(
        "connection_parameters",
        &today,
        Some(json!({"database_url": {"connection_parameters": {
            "username": "app", "password": "p w", "database": "sales", "host": "db.internal", "port": 5432}}})),
        r("postgres://app:p%20w@db.internal:5432/sales", GW, Some("t")),
        false,
    );
    check(
        "isolation level",
        &with(&[("SALES_URL", DB2)]),
        Some(json!({"database_url": {"from_env": "SALES_URL"}, "isolation_level": "serializable"})),
        Ok((
            DB2.into(),
            GW.into(),
            Some("t".into()),
            Some("Serializable".into()),
        )),
        false,
    );
    // Neon: no endpoint set = Neon's for each connection string's host.
    check(
        "Neon, derived endpoint",
        &[("HASURA_GRAPHQL_DATABASE_URL", DB), ("SALES_URL", NEON)],
        from_env("SALES_URL"),
        r(NEON, "https://api.us-east-2.aws.neon.tech/sql", None),
        false,
    );
    check(
        "no host, no endpoint",
        &[
            ("HASURA_GRAPHQL_DATABASE_URL", NEON),
            ("SALES_URL", "postgres:///sales"),
        ],
        from_env("SALES_URL"),
        Err("SALES_URL: the connection string has no host".into()),
        false,
    );
    // The metadata database.
    check(
        "metadata database of its own",
        &with(&[
            ("HASURA_GRAPHQL_METADATA_DATABASE_URL", DB2),
            (
                "GRAPHEDGE_SQL_ENDPOINT_HASURA_GRAPHQL_METADATA_DATABASE_URL",
                GW2,
            ),
        ]),
        None,
        r(DB2, GW2, Some("t")),
        false,
    );
    check(
        "a source on the metadata database",
        &with(&[
            ("HASURA_GRAPHQL_METADATA_DATABASE_URL", DB2),
            ("SALES_URL", DB2),
        ]),
        from_env("SALES_URL"),
        r(DB2, GW, Some("t")),
        false,
    );
    check(
        "metadata URL equal to the default",
        &with(&[("HASURA_GRAPHQL_METADATA_DATABASE_URL", DB)]),
        None,
        r(DB, GW, Some("t")),
        true,
    );
    // Only a metadata database: no default one, an unresolved source fails.
    let only_metadata = [
        ("HASURA_GRAPHQL_METADATA_DATABASE_URL", DB),
        ("GRAPHEDGE_SQL_ENDPOINT", GW),
    ];
    check(
        "only a metadata database",
        &only_metadata,
        None,
        r(DB, GW, None),
        true,
    );
    check(
        "only a metadata database, unset from_env",
        &only_metadata,
        from_env("NOT_SET"),
        Err("environment variable 'NOT_SET' not set".into()),
        false,
    );
    check(
        "no database at all",
        &[("GRAPHEDGE_SQL_ENDPOINT", GW)],
        None,
        Err("HASURA_GRAPHQL_DATABASE_URL is not set".into()),
        false,
    );
}

#[test]
fn without_a_default_database() {
    let get = |k: &str| (k == "HASURA_GRAPHQL_METADATA_DATABASE_URL").then(|| DB.to_string());
    let open = |p: &Place| {
        neon_config(&Place {
            endpoint: Some(GW.into()),
            ..p.clone()
        })
        .map(Opened)
    };
    let sourced = Sourced::from_settings(Box::new(get), Box::new(open)).unwrap();
    assert!(!sourced.has_default_database());
    let get = |k: &str| (k == "HASURA_GRAPHQL_DATABASE_URL").then(|| DB.to_string());
    let open = |p: &Place| {
        neon_config(&Place {
            endpoint: Some(GW.into()),
            ..p.clone()
        })
        .map(Opened)
    };
    let sourced = Sourced::from_settings(Box::new(get), Box::new(open)).unwrap();
    assert!(sourced.has_default_database());
}
