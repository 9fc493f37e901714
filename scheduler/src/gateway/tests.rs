//! The gateway's pure helpers: parameters, commands, settings, database names.
use super::*;

#[test]
fn params_and_commands() {
    assert_eq!(param_text(&json!(null)), None);
    assert_eq!(param_text(&json!("a")).as_deref(), Some("a"));
    assert_eq!(param_text(&json!(1.5)).as_deref(), Some("1.5"));
    assert_eq!(param_text(&json!(true)).as_deref(), Some("true"));
    assert_eq!(param_text(&json!({"a": 1})).as_deref(), Some("{\"a\":1}"));
    assert_eq!(
        param_text(&json!([1, null, "x\"y", [2, 3]])).as_deref(),
        Some("{\"1\",NULL,\"x\\\"y\",{\"2\",\"3\"}}")
    );
    assert_eq!(command_of("  -- c\n /* x */ insert into t"), "INSERT");
    assert_eq!(command_of("with x as (select 1) select 1"), "SELECT");
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

#[test]
fn config_needs_credentials() {
    let none = |_: &str| None;
    assert!(GatewayConfig::from_lookup("postgres://u@h/db", &none).is_err());
    let c = GatewayConfig::from_lookup("postgres://u:pw@h/db", &none).unwrap();
    assert_eq!(c.password.as_deref(), Some("pw"));
    assert!(!format!("{c:?}").contains("pw\""));
    let env = |k: &str| match k {
        "GRAPHEDGE_GATEWAY_SECRET" => Some("s".to_string()),
        "GRAPHEDGE_GATEWAY_STATEMENT_TIMEOUT" => Some("5".to_string()),
        _ => None,
    };
    let c = GatewayConfig::from_lookup("postgres://u@h/db", &env).unwrap();
    assert_eq!(c.statement_timeout, Duration::from_secs(5));
    let bad = |k: &str| (k == "GRAPHEDGE_GATEWAY_MAX_REQUEST_BYTES").then(|| "x".to_string());
    assert!(GatewayConfig::from_lookup("postgres://u:p@h/db", &bad).is_err());
    assert_eq!(random_secret().len(), 64);
    let names = [
        ("postgres://u:p@h/db", Some("db")),
        ("postgres://u:p@h", Some("u")),
        ("postgres:///db?host=/run/postgresql", Some("db")),
        ("host=h dbname=x user=u", Some("x")),
        ("not a url", None),
    ];
    for (url, want) in names {
        assert_eq!(database_name(url).as_deref(), want, "{url}");
    }
}
