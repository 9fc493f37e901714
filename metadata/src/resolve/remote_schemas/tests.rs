//! Remote schemas from stored introspections: reading `__schema` (Hasura's parse errors),
//! the structural checks (the harness's `add_remote_schema_*err*` fixtures), customization,
//! and the conflicts with sources and other remotes.
use super::*;
use serde_json::json;

use crate::introspect::Catalog;
use crate::Config;

// ---------------------------------------------------------------------------------------------
// Canned introspections (shared with the API tests)

pub(crate) fn named(kind: &str, name: &str) -> Json {
    json!({"kind": kind, "name": name, "ofType": null})
}
pub(crate) fn nn(t: Json) -> Json {
    json!({"kind": "NON_NULL", "name": null, "ofType": t})
}
pub(crate) fn list(t: Json) -> Json {
    json!({"kind": "LIST", "name": null, "ofType": t})
}
pub(crate) fn arg(name: &str, ty: Json) -> Json {
    json!({"name": name, "description": null, "type": ty, "defaultValue": null})
}
pub(crate) fn field(name: &str, ty: Json, args: Vec<Json>) -> Json {
    json!({"name": name, "description": null, "args": args, "type": ty,
           "isDeprecated": false, "deprecationReason": null})
}
pub(crate) fn scalar(name: &str) -> Json {
    json!({"kind": "SCALAR", "name": name, "description": null, "fields": null,
           "inputFields": null, "interfaces": null, "enumValues": null, "possibleTypes": null})
}
pub(crate) fn object(name: &str, fields: Vec<Json>, interfaces: &[&str]) -> Json {
    json!({"kind": "OBJECT", "name": name, "description": null, "fields": fields,
           "inputFields": null,
           "interfaces": interfaces.iter().map(|i| named("INTERFACE", i)).collect::<Vec<_>>(),
           "enumValues": null, "possibleTypes": null})
}
pub(crate) fn schema(query: &str, mutation: Option<&str>, types: Vec<Json>) -> Json {
    json!({"queryType": {"name": query},
           "mutationType": mutation.map(|m| json!({"name": m})),
           "subscriptionType": null, "types": types, "directives": []})
}

/// `type Hello { hello: String, user(id: Int!): User }`, `type User { id: Int!, name: String }`,
/// `type Mutation { setName(name: String!): User }` (found by its default name).
pub(crate) fn hello() -> Json {
    schema(
        "Hello",
        None,
        vec![
            object(
                "Hello",
                vec![
                    field("hello", named("SCALAR", "String"), vec![]),
                    field(
                        "user",
                        named("OBJECT", "User"),
                        vec![arg("id", nn(named("SCALAR", "Int")))],
                    ),
                ],
                &[],
            ),
            object(
                "User",
                vec![
                    field("id", nn(named("SCALAR", "Int")), vec![]),
                    field("name", named("SCALAR", "String"), vec![]),
                ],
                &[],
            ),
            object(
                "Mutation",
                vec![field(
                    "setName",
                    named("OBJECT", "User"),
                    vec![arg("name", nn(named("SCALAR", "String")))],
                )],
                &[],
            ),
            scalar("String"),
            scalar("Int"),
            scalar("Boolean"),
        ],
    )
}

/// The harness's character schema (`graphql_server.py`): interface `Character`, objects
/// `Human` (with a `droid` field) and `Droid`, union `CharacterSearchResult`.
fn characters() -> Json {
    let character_fields = || {
        vec![
            field("id", nn(named("SCALAR", "ID")), vec![]),
            field("name", nn(named("SCALAR", "String")), vec![]),
        ]
    };
    let mut human = character_fields();
    human.push(field("homePlanet", named("SCALAR", "String"), vec![]));
    human.push(field("droid", named("OBJECT", "Droid"), vec![]));
    let mut droid = character_fields();
    droid.push(field("primaryFunction", named("SCALAR", "String"), vec![]));
    schema(
        "Query",
        None,
        vec![
            object(
                "Query",
                vec![
                    field(
                        "hero",
                        named("INTERFACE", "Character"),
                        vec![arg("episode", nn(named("SCALAR", "Int")))],
                    ),
                    field(
                        "search",
                        named("UNION", "CharacterSearchResult"),
                        vec![arg("episode", nn(named("SCALAR", "Int")))],
                    ),
                ],
                &[],
            ),
            json!({"kind": "UNION", "name": "CharacterSearchResult", "description": null,
                   "fields": null, "inputFields": null, "interfaces": null, "enumValues": null,
                   "possibleTypes": [named("OBJECT", "Human"), named("OBJECT", "Droid")]}),
            json!({"kind": "INTERFACE", "name": "Character", "description": null,
                   "fields": character_fields(), "inputFields": null, "interfaces": null,
                   "enumValues": null,
                   "possibleTypes": [named("OBJECT", "Human"), named("OBJECT", "Droid")]}),
            object("Human", human, &["Character"]),
            object("Droid", droid, &["Character"]),
            scalar("ID"),
            scalar("String"),
            scalar("Int"),
        ],
    )
}

fn remote(name: &str, definition: Json) -> rr::RemoteSchemaMetadata {
    serde_json::from_value(json!({"name": name, "definition": definition})).unwrap()
}

fn build_err(s: &Json) -> String {
    build(&remote("r", json!({"url": "http://r"})), s).unwrap_err()
}

/// The `types[]` entry named `name`.
fn ty<'a>(s: &'a mut Json, name: &str) -> &'a mut Json {
    s["types"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["name"] == name)
        .unwrap()
}

fn fld<'a>(t: &'a mut Json, name: &str) -> &'a mut Json {
    t["fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == name)
        .unwrap()
}

fn col(name: &str, udt: &str, nullable: bool) -> Json {
    json!({"name": name, "type": {"udt": udt, "schema": "pg_catalog", "kind": "b"},
           "nullable": nullable, "has_default": false, "is_generated": false})
}

/// Table `user(id int4 pk, name text)` and `person(id int4 pk not null, name text)`.
fn catalog() -> Catalog {
    serde_json::from_value(json!({"tables": [
        {"schema": "public", "name": "user", "kind": "r",
         "columns": [col("id", "int4", false), col("name", "text", true)],
         "primary_key": {"name": "user_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "person", "kind": "r",
         "columns": [col("id", "int4", false), col("name", "text", true)],
         "primary_key": {"name": "person_pkey", "columns": ["id"]}}
    ]}))
    .unwrap()
}

/// Resolves `tables` (tracked) and the remotes (`(name, definition, stored)`).
fn resolve_with(
    tables: &[&str],
    remotes: &[(&str, Json, Option<Json>)],
) -> (Schema, Vec<Inconsistency>) {
    let mut catalog = catalog();
    for (name, _, stored) in remotes {
        if let Some(s) = stored {
            catalog.remote_schemas.insert(name.to_string(), s.clone());
        }
    }
    let md: raw::Metadata = serde_json::from_value(json!({"version": 3,
        "sources": [{"name": "default", "kind": "postgres", "configuration": {},
                     "tables": tables.iter().map(|t| json!({"table": t})).collect::<Vec<_>>()}],
        "remote_schemas": remotes.iter().map(|(n, d, _)| json!({"name": n, "definition": d}))
            .collect::<Vec<_>>(),
        "inherited_roles": [{"role_name": "both", "role_set": ["user", "editor"]}]}))
    .unwrap();
    crate::resolve::resolve(&md, &catalog, &Config::default())
}

fn reasons(found: &[Inconsistency]) -> Vec<String> {
    found.iter().map(|i| i.reason.clone()).collect()
}

#[test]
fn check() {
    // --- A good schema: roots (the default `Mutation`), fields, arguments, headers.
    let md = remote(
        "hello",
        json!({"url": "{{BASE}}/hello", "headers": [{"name": "a", "value": "1"},
               {"name": "b", "value_from_env": "B"}], "timeout_seconds": 5,
               "forward_client_headers": true}),
    );
    let r = build(&md, &hello()).unwrap();
    assert_eq!(r.query_type.as_deref(), Some("Hello"));
    assert_eq!(r.mutation_type.as_deref(), Some("Mutation"));
    assert_eq!(r.subscription_type, None);
    assert_eq!(r.url, RemoteUrl::Url("{{BASE}}/hello".into()));
    assert_eq!(
        r.headers,
        vec![
            ("a".to_string(), HeaderValue::Value("1".into())),
            ("b".to_string(), HeaderValue::FromEnv("B".into()))
        ]
    );
    assert_eq!((r.timeout_seconds, r.forward_client_headers), (5, true));
    let user = r.root("query").unwrap().field("user").unwrap();
    assert_eq!(user.ty, Type::Named("User".into()));
    assert_eq!(
        user.args[0].ty,
        Type::NonNull(Box::new(Type::Named("Int".into())))
    );
    assert_eq!(r.exposed_root_fields("query"), ["hello", "user"]);
    assert_eq!(r.exposed_root_fields("mutation"), ["setName"]);
    // The whole response, its `data`, or `__schema` itself.
    let s = hello();
    assert_eq!(schema_of(json!({"data": {"__schema": s}})).unwrap(), s);
    assert_eq!(schema_of(json!({"__schema": s})).unwrap(), s);
    assert_eq!(schema_of(s.clone()).unwrap(), s);
    assert_eq!(
        schema_of(json!({"data": null, "errors": [{"message": "nope"}]})).unwrap_err(),
        "the remote schema answered the introspection query with errors: nope"
    );
    assert_eq!(
        schema_of(json!([1])).unwrap_err(),
        "Error in $: parsing SchemaDocument failed, expected Object, but encountered Array"
    );

    // --- Reading errors, with aeson's paths (the union is `types[1]`, as in the fixture).
    let mut wrapped = characters();
    for p in ty(&mut wrapped, "CharacterSearchResult")["possibleTypes"]
        .as_array_mut()
        .unwrap()
    {
        *p = nn(p.clone());
    }
    assert_eq!(
        build_err(&wrapped),
        "Error in $.types[1].possibleTypes[0].name: parsing Name failed, expected String, but encountered Null"
    );
    let mut no_query = hello();
    no_query.as_object_mut().unwrap().remove("queryType");
    assert_eq!(
        build_err(&no_query),
        "Error in $: key \"queryType\" not found"
    );
    let mut bad_kind = hello();
    ty(&mut bad_kind, "User")["kind"] = json!("THING");
    assert_eq!(
        build_err(&bad_kind),
        "Error in $.types[1]: unknown kind: THING"
    );
    let mut no_of = hello();
    fld(ty(&mut no_of, "User"), "id")["type"]["ofType"] = Json::Null;
    assert_eq!(
        build_err(&no_of),
        "Error in $.types[1].fields[0].type: NON_NULL should have `ofType`"
    );
    let mut no_args = hello();
    fld(ty(&mut no_args, "User"), "id")
        .as_object_mut()
        .unwrap()
        .remove("args");
    assert_eq!(
        build_err(&no_args),
        "Error in $.types[1].fields[0]: key \"args\" not found"
    );
    // `ofType` chains are bounded.
    let mut deep = named("SCALAR", "Int");
    for _ in 0..40 {
        deep = list(deep);
    }
    let mut too_deep = hello();
    fld(ty(&mut too_deep, "User"), "id")["type"] = deep;
    assert!(build_err(&too_deep).ends_with("type reference nested too deeply"));
    let mut not_object = hello();
    not_object["queryType"]["name"] = json!("String");
    assert_eq!(
        build_err(&not_object),
        "\"String\" has to be an object type"
    );
    assert_eq!(
        build(&remote("r", json!({})), &hello()).unwrap_err(),
        "both `url` and `url_from_env` can't be empty"
    );

    // --- The structural checks: the harness's fixtures, one mutation of the schema each.
    type Change = Box<dyn Fn(&mut Json)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "List of fields cannot be empty for interface 'Character'",
            Box::new(|s| ty(s, "Character")["fields"] = json!([])),
        ),
        (
            "Could not find interface 'UnknownIFace' implemented by Object type 'Droid'",
            Box::new(|s| ty(s, "Droid")["interfaces"][0]["name"] = json!("UnknownIFace")),
        ),
        (
            "The type of Object field 'Droid'.\"id\" (String!) is not the same type/sub type of Interface field 'Character'.\"id\" (ID!)",
            Box::new(|s| {
                fld(ty(s, "Droid"), "id")["type"]["ofType"]["name"] = json!("String")
            }),
        ),
        (
            "Interface field 'Character'.\"id\" expected, but 'Droid' does not provide it",
            Box::new(|s| {
                ty(s, "Droid")["fields"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|f| f["name"] != "id")
            }),
        ),
        (
            "Interface field argument 'Character'.\"id\"(\"ifaceArg\":) required, but Object field 'Droid'.\"id\" does not provide it",
            Box::new(|s| {
                fld(ty(s, "Character"), "id")["args"] =
                    json!([arg("ifaceArg", nn(named("SCALAR", "Int")))])
            }),
        ),
        (
            "Interface field argument 'Character'.\"id\"(\"ifaceArg\":) expects type Int!, but 'Human'.\"id\"(\"ifaceArg\":) has type String!",
            Box::new(|s| {
                let a = |t: &str| json!([arg("ifaceArg", nn(named("SCALAR", t)))]);
                fld(ty(s, "Character"), "id")["args"] = a("Int");
                fld(ty(s, "Droid"), "id")["args"] = a("Int");
                fld(ty(s, "Human"), "id")["args"] = a("String");
            }),
        ),
        (
            "Object field argument 'Droid'.\"id\"(\"extraArg\":) is of required type Int!, but is not provided by Interface field 'Character'.\"id\"",
            Box::new(|s| {
                fld(ty(s, "Droid"), "id")["args"] =
                    json!([arg("extraArg", nn(named("SCALAR", "Int")))])
            }),
        ),
        (
            "Union type 'CharacterSearchResult' can only include object types. It cannot include 'Character'",
            Box::new(|s| {
                for p in ty(s, "CharacterSearchResult")["possibleTypes"]
                    .as_array_mut()
                    .unwrap()
                {
                    p["name"] = json!("Character");
                }
            }),
        ),
        (
            "List of member types cannot be empty for union type 'CharacterSearchResult'",
            Box::new(|s| ty(s, "CharacterSearchResult")["possibleTypes"] = json!([])),
        ),
        (
            "Could not find type 'Unknown0', which is defined as a member type of Union 'CharacterSearchResult'",
            Box::new(|s| {
                ty(s, "CharacterSearchResult")["possibleTypes"][0]["name"] = json!("Unknown0")
            }),
        ),
        (
            "Could not find type with name \"Missing\"",
            Box::new(|s| fld(ty(s, "Human"), "homePlanet")["type"]["name"] = json!("Missing")),
        ),
        (
            "expected input type, but got output type",
            Box::new(|s| fld(ty(s, "Query"), "hero")["args"][0]["type"] = named("OBJECT", "Human")),
        ),
    ];
    assert!(build(&remote("r", json!({"url": "u"})), &characters()).is_ok());
    for (want, change) in cases {
        let mut s = characters();
        change(&mut s);
        assert_eq!(build_err(&s), want);
    }
    // A type nobody reaches is not checked (as Hasura builds parsers from the roots only).
    let mut unreachable = hello();
    unreachable["types"].as_array_mut().unwrap().push(object(
        "Lost",
        vec![field("x", named("OBJECT", "Nowhere"), vec![])],
        &[],
    ));
    assert!(build(&remote("r", json!({"url": "u"})), &unreachable).is_ok());

    // --- Customization.
    let custom = |c: Json| remote("r", json!({"url": "u", "customization": c}));
    let r = build(
        &custom(json!({"type_names": {"prefix": "Foo", "mapping": {"String": "MyString"}},
                       "field_names": [{"parent_type": "Hello", "prefix": "my_", "mapping": {"user": "person"}}]})),
        &hello(),
    )
    .unwrap();
    assert_eq!(r.exposed_root_fields("query"), ["my_hello", "person"]);
    assert_eq!(r.type_name("User"), "FooUser");
    assert_eq!(r.type_name("String"), "MyString");
    assert_eq!(r.type_name("Int"), "Int");
    assert_eq!(r.type_name("Hello"), "Hello");
    assert_eq!(r.field_name("User", "id"), "id");
    let r = build(
        &custom(json!({"root_fields_namespace": "ns", "type_names": {"suffix": "_t"}})),
        &hello(),
    )
    .unwrap();
    assert_eq!(r.exposed_root_fields("query"), ["ns"]);
    assert_eq!(r.exposed_root_fields("mutation"), ["ns"]);
    assert_eq!(r.type_name("Hello"), "nsHello");
    assert_eq!(r.type_name("User"), "User_t");
    assert_eq!(
        build(
            &custom(json!({"type_names": {"mapping": {"String": "Foo", "Hello": "Foo"}}})),
            &hello()
        )
        .unwrap_err(),
        "Type name mappings are not distinct; the following types appear more than once: \"Foo\""
    );
    assert_eq!(
        build(&custom(json!({"field_names": [{"parent_type": "User", "mapping": {"id": "name"}}]})), &hello())
            .unwrap_err(),
        "Field name mappings for object type \"User\" are not distinct; the following fields appear more than once: \"name\""
    );
    assert_eq!(
        build(&custom(json!({"field_names": [{"parent_type": "Droid", "prefix": "d_"}]})), &characters())
            .unwrap_err(),
        "Remote schema customization inconsistency: field name mapping for field \"id\" of interface \"Character\" is inconsistent with mapping for type \"Droid\". Interface field name maps to \"id\". Type field name maps to \"d_id\"."
    );
    assert_eq!(
        parse_customization(Some(&json!({"type_names": {"prefix": 3}}))).unwrap_err(),
        (
            "parsing Name failed, expected String, but encountered Number".to_string(),
            ".type_names.prefix".to_string()
        )
    );
    assert_eq!(
        parse_customization(Some(&json!({"field_names": [{"prefix": "p"}]}))).unwrap_err(),
        (
            "key \"parent_type\" not found".to_string(),
            ".field_names[0]".to_string()
        )
    );

    // --- In the schema: conflicts, one inconsistency per reason, the others served.
    let url = json!({"url": "http://h"});
    let (schema, found) = resolve_with(&[], &[("one", url.clone(), Some(hello()))]);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(schema.remote_schemas[0].name, "one");
    // A second remote with the same root fields.
    let (schema, found) = resolve_with(
        &[],
        &[
            ("one", url.clone(), Some(hello())),
            ("two", url.clone(), Some(hello())),
        ],
    );
    assert_eq!(
        reasons(&found),
        [
            "Inconsistent object: Duplicate remote field 'hello'",
            "Inconsistent object: Duplicate remote field 'user'",
            "Inconsistent object: Duplicate remote field 'setName'"
        ]
    );
    assert_eq!(found[0].name, "remote_schema two");
    assert_eq!(found[0].kind, "remote_schema");
    assert_eq!(
        found[0].definition,
        json!({"name": "two", "definition": {"url": "http://h", "forward_client_headers": false},
               "comment": null, "permissions": [], "remote_relationships": []})
    );
    assert_eq!(schema.remote_schemas.len(), 1);
    // A table's root field (`user`), and the table's type `user` differing from the remote's.
    let mut lower = hello();
    ty(&mut lower, "User")["name"] = json!("user");
    fld(ty(&mut lower, "Hello"), "user")["type"]["name"] = json!("user");
    fld(ty(&mut lower, "Mutation"), "setName")["type"]["name"] = json!("user");
    fld(ty(&mut lower, "user"), "id")["name"] = json!("ident");
    let (schema, found) = resolve_with(&["user"], &[("one", url.clone(), Some(lower.clone()))]);
    assert_eq!(
        reasons(&found),
        [
            "Inconsistent object: Field cannot be overwritten by remote field 'user'",
            "Inconsistent object: Found conflicting definitions for GraphQL type 'user'.  The definition at user differs from the definitions at [user]."
        ]
    );
    assert!(schema.remote_schemas.is_empty());
    assert_eq!(schema.tables.len(), 1);
    // The same structure (descriptions aside) and the built-in scalars are shared; a namespace
    // moves the root fields out of the way.
    let mut same = lower.clone();
    fld(ty(&mut same, "user"), "ident")["name"] = json!("id");
    fld(ty(&mut same, "Hello"), "user")["name"] = json!("someone");
    let (_, found) = resolve_with(&["user"], &[("one", url.clone(), Some(same))]);
    assert!(found.is_empty(), "{found:?}");
    let namespaced = json!({"url": "http://h", "customization": {"root_fields_namespace": "remote",
        "type_names": {"prefix": "R_"}}});
    let (schema, found) = resolve_with(&["user"], &[("one", namespaced, Some(lower))]);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(schema.remote_schemas.len(), 1);
    // Not introspected / failed introspections are inconsistencies, never failures.
    let (schema, found) = resolve_with(&["person"], &[("gone", url.clone(), None)]);
    assert_eq!(
        reasons(&found),
        [format!("Inconsistent object: {}", not_introspected("gone"))]
    );
    assert_eq!((schema.tables.len(), schema.remote_schemas.len()), (1, 0));
    // Permissions: the roles with one, inherited roles through their parents.
    let mut md = remote("p", url.clone());
    md.permissions = serde_json::from_value(json!([
        {"role": "user", "definition": {"schema": "type Hello { hello: String } schema { query: Hello }"}}
    ]))
    .unwrap();
    let inherited: Vec<raw::InheritedRole> = serde_json::from_value(json!([
        {"role_name": "both", "role_set": ["user", "editor"]},
        {"role_name": "top", "role_set": ["both"]},
        {"role_name": "other", "role_set": ["editor"]}
    ]))
    .unwrap();
    let built = build(&md, &hello()).unwrap();
    let mut found = Vec::new();
    let views = role_views(&md, &built, &inherited, &mut found);
    let roles: Vec<&str> = views.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "both", "top"], "{found:?}");
}
