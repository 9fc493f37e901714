//! Apollo federation per role (`_service`, `_entities`), one `check()` rendering a plan:
//! the static `_service` answer (whether the SDL keys the entity), `_entities`' statement
//! (one keyed select per representation, the role's filter applied) and Hasura's errors.
//! `author` is an entity; `article` is not.
use graphedge_core::{compile, Options, PlanKind, Request, Value};

mod common;
use common::authors::{s, schema};
use common::*;

fn check(role: &str, federation: bool, query: &str, variables: &[(&str, Value)]) -> String {
    let mut schema = schema();
    schema.apollo_federation = federation.then(|| vec![0]);
    let session = user_session(role, "1");
    let vars = owned_vars(variables);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    match compile(&schema, &session, &req, &Options::default()) {
        Ok(plan) => match plan.kind {
            PlanKind::Static(json) => {
                let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                let Some(sdl) = v["_service"]["sdl"].as_str() else {
                    return format!("static: {json}");
                };
                format!(
                    "static, sdl keys author: {}, sdl has article: {}, sdl length > 1000: {}, __typename: {}",
                    sdl.contains("type author @key(fields: \"id\") {"),
                    sdl.contains("type article "),
                    sdl.len() > 1000,
                    v["_service"]["__typename"]
                )
            }
            _ => format!(
                "{}\nparams: {:?}\nbound: {:?}\nshaping: {:?}",
                plan.sql,
                plan.params,
                plan.bind(&vars, &session),
                plan.shaping_variables
            ),
        },
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

/// The query root's fields and the `_Entity` union's members the role's introspection shows.
fn introspect(role: &str, federation: bool) -> String {
    let q = "{ __schema { queryType { fields { name } } } __type(name: \"_Entity\") { possibleTypes { name } } }";
    check(role, federation, q, &[])
}

fn representations(items: serde_json::Value) -> Value {
    fn conv(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(*b),
            serde_json::Value::Number(n) => Value::Number(n.to_string()),
            serde_json::Value::String(t) => s(t),
            serde_json::Value::Array(a) => Value::List(a.iter().map(conv).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), conv(v))).collect())
            }
        }
    }
    conv(&items)
}

const ENTITIES: &str = "query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on author { id name } } }";

#[test]
fn service_and_introspection() {
    insta::assert_snapshot!([
        introspect("admin", true),
        introspect("user", true),
        introspect("admin", false),
        check("admin", true, "{ _service { sdl __typename } }", &[]),
        check("user", true, "{ _service { sdl } }", &[]),
        check("admin", false, "{ _service { sdl } }", &[]),
        check("admin", true, "{ _service }", &[]),
    ]
    .join("\n---\n"));
}

#[test]
fn entities() {
    let r = |v: serde_json::Value| [("r", representations(v))];
    insta::assert_snapshot!(
        [
            check(
                "user",
                true,
                ENTITIES,
                &r(serde_json::json!([{"__typename": "author", "id": 1}, {"__typename": "author", "id": 2}]))
            ),
            check("admin", true, ENTITIES, &r(serde_json::json!([]))),
            check("admin", true, ENTITIES, &r(serde_json::json!([{"__typename": "author"}]))),
            check("admin", true, ENTITIES, &r(serde_json::json!([{"__typename": "article", "id": 1}]))),
            check("admin", true, ENTITIES, &r(serde_json::json!([{"id": 1}]))),
            check("admin", true, ENTITIES, &r(serde_json::json!([1]))),
            check("admin", false, ENTITIES, &r(serde_json::json!([]))),
        ]
        .join("\n---\n")
    );
}
