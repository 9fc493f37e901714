use super::*;
use serde_json::json;

fn parse(c: Json) -> Result<Connection, (String, &'static str)> {
    Connection::parse(&json!({ "connection_info": c }))
}

#[test]
fn connection_info_shapes() {
    let env = |k: &str| (k == "PG_URL").then(|| "postgres://env/db".to_string());
    // (connection_info, resolved URL or error text)
    let cases: Vec<(Json, Result<&str, &str>)> = vec![
        (
            json!({"database_url": "postgres://a/b"}),
            Ok("postgres://a/b"),
        ),
        (
            json!({"database_url": {"from_env": "PG_URL"}}),
            Ok("postgres://env/db"),
        ),
        (
            json!({"database_url": {"from_env": "NOPE"}}),
            Err("environment variable 'NOPE' not set"),
        ),
        (
            json!({"database_url": {"connection_parameters": {
                "username": "u@x", "password": "p w", "database": "d", "host": "h", "port": 5433}}}),
            Ok("postgres://u%40x:p%20w@h:5433/d"),
        ),
        (
            json!({"database_url": {"connection_parameters": {
                "username": "u", "database": "d", "host": "::1", "port": "5432"}}}),
            Ok("postgres://u@[::1]:5432/d"),
        ),
        (json!({}), Err("key \"database_url\" not found")),
        (json!({"database_url": 5}), Err("expected a string")),
        (
            json!({"database_url": "x", "isolation_level": "dirty"}),
            Err("expected one of"),
        ),
    ];
    for (info, want) in cases {
        let got = parse(info.clone())
            .map_err(|e| e.0)
            .and_then(|c| c.url.resolve(&env));
        match (got, want) {
            (Ok(u), Ok(w)) => assert_eq!(u, w, "{info}"),
            (Err(e), Err(w)) => assert!(e.contains(w), "{info}: {e}"),
            (got, want) => panic!("{info}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn settings_and_keys() {
    let c = parse(json!({
        "database_url": {"from_env": "X"},
        "pool_settings": {"max_connections": 7},
        "isolation_level": "serializable",
        "use_prepared_statements": false
    }))
    .unwrap();
    assert_eq!(c.max_connections, Some(7));
    assert_eq!(c.isolation_level.as_deref(), Some("serializable"));
    assert_eq!(c.use_prepared_statements, Some(false));
    // Pool settings do not make another database.
    let d = parse(json!({"database_url": {"from_env": "X"}})).unwrap();
    assert_eq!(c.key, d.key);
    assert_ne!(c.key, parse(json!({"database_url": "X"})).unwrap().key);
}

#[test]
fn served_source() {
    let md = |names: &[&str]| Metadata {
        sources: names
            .iter()
            .map(|n| {
                Source::new(
                    *n,
                    json!({"connection_info": {"database_url": format!("postgres://h/{n}")}}),
                )
            })
            .collect(),
        ..Metadata::default()
    };
    assert!(served(&md(&[])).is_none());
    assert_eq!(served(&md(&["a", "default"])).unwrap().name, "default");
    assert_eq!(served(&md(&["a", "b"])).unwrap().name, "a");
    assert_eq!(
        served_connection(&md(&["b"])).unwrap().url,
        DatabaseUrl::Url("postgres://h/b".into())
    );
}
