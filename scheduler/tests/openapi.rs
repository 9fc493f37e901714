//! `GET /api/swagger/json` against the real binary and a throwaway Postgres:
//! * `openapi_document_describes_the_rest_endpoints` — path and query parameters, request
//!   bodies, declared components (uuid, enums, recursive input objects), response shapes; the
//!   document passes `@apidevtools/swagger-parser`'s validation (tests/openapi-validator,
//!   `npm ci` on first use; that part is skipped with a message only when npm/node are
//!   missing); only the admin may read it.
mod common;

use std::process::Command;

use common::{database, Server};
use serde_json::{json, Value};

const SECRET: &str = "openapi-secret";

const SCHEMA_SQL: &str = "
CREATE TABLE item (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  price numeric,
  parent_id uuid REFERENCES item (id)
);";

const QUERIES: &[(&str, &str)] = &[
    ("by_id", "query ($id: uuid!) { item_by_pk(id: $id) { id name price } }"),
    (
        "search",
        "query ($name: String = \"%\", $limit: Int) { item(where: {name: {_ilike: $name}}, limit: $limit) { id shown: name parent { name } } }",
    ),
    (
        "add",
        "mutation ($objects: [item_insert_input!]!) { insert_item(objects: $objects) { affected_rows returning { id } } }",
    ),
    (
        "rename",
        "mutation ($id: uuid!, $set: item_set_input) { update_item_by_pk(pk_columns: {id: $id}, _set: $set) { id } }",
    ),
    (
        "sorted",
        "query ($order: order_by!) { item(order_by: {name: $order}) { name } }",
    ),
];

const ENDPOINTS: &[(&str, &str, &[&str])] = &[
    ("by_id", "items/:id", &["GET"]),
    ("rename", "items/:id", &["PUT"]),
    ("search", "items", &["GET", "POST"]),
    ("add", "items/add", &["POST"]),
    ("sorted", "items/sorted", &["POST"]),
];

fn get(server: &Server, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = ureq::get(&format!("{}/api/swagger/json", server.base));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET /api/swagger/json: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn metadata(server: &Server, body: Value) {
    let (status, out) = server.post(
        "/v1/metadata",
        &[("x-hasura-admin-secret", SECRET)],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{body}: {out}");
}

#[test]
fn openapi_document_describes_the_rest_endpoints() {
    let (_pg, url) = database();
    let server = Server::start_with(&url, &["--admin-secret", SECRET]);
    let (status, out) = server.post(
        "/v2/query",
        &[("x-hasura-admin-secret", SECRET)],
        &json!({"type": "run_sql", "args": {"sql": SCHEMA_SQL}}).to_string(),
    );
    assert_eq!(status, 200, "{out}");
    metadata(
        &server,
        json!({"type": "pg_track_table", "args": {"table": "item"}}),
    );
    metadata(
        &server,
        json!({"type": "pg_create_object_relationship", "args": {
            "table": "item", "name": "parent", "using": {"foreign_key_constraint_on": "parent_id"}}}),
    );
    let queries: Vec<Value> = QUERIES
        .iter()
        .map(|(name, query)| json!({"name": name, "query": query}))
        .collect();
    metadata(
        &server,
        json!({"type": "create_query_collection", "args": {
            "name": "api", "definition": {"queries": queries}}}),
    );
    for (name, url, methods) in ENDPOINTS {
        metadata(
            &server,
            json!({"type": "create_rest_endpoint", "args": {
                "name": name, "url": url, "methods": methods, "comment": format!("{name}. "),
                "definition": {"query": {"collection_name": "api", "query_name": name}}}}),
        );
    }

    // Only the admin reads it.
    assert_eq!(get(&server, &[]).0, 401);
    let (status, out) = get(
        &server,
        &[("x-hasura-admin-secret", SECRET), ("x-hasura-role", "user")],
    );
    assert_eq!(status, 400, "{out}");
    let (status, doc) = get(&server, &[("x-hasura-admin-secret", SECRET)]);
    assert_eq!(status, 200, "{doc}");

    let paths = &doc["paths"];
    let mut urls: Vec<&String> = paths.as_object().unwrap().keys().collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            "/api/rest/items",
            "/api/rest/items/add",
            "/api/rest/items/sorted",
            "/api/rest/items/{id}"
        ]
    );
    // Two endpoints on one path: one operation per method.
    let by_id = &paths["/api/rest/items/{id}"]["get"];
    assert_eq!(by_id["summary"], "by_id");
    assert!(by_id["description"].as_str().unwrap().starts_with(
        "by_id. ***\nThe GraphQl query for this endpoint is:\n``` graphql\nquery ($id: uuid!)"
    ));
    assert_eq!(
        by_id["parameters"][1],
        json!({"name": "id", "in": "path", "required": true,
               "description": "_\"id\" is required as part of the path_",
               "schema": {"type": "string", "pattern": by_id["parameters"][1]["schema"]["pattern"]}})
    );
    assert!(by_id.get("requestBody").is_none(), "GET has no body");
    let item = &by_id["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
        ["item_by_pk"];
    assert_eq!(item["title"], "item");
    assert_eq!(item["nullable"], true);
    assert_eq!(
        item["properties"]["id"],
        json!({"$ref": "#/components/schemas/uuid!"})
    );
    assert_eq!(
        item["properties"]["name"],
        json!({"title": "String", "type": "string", "nullable": false})
    );
    assert_eq!(
        item["properties"]["price"],
        json!({"$ref": "#/components/schemas/numeric"})
    );
    let rename = &paths["/api/rest/items/{id}"]["put"];
    assert_eq!(
        rename["requestBody"]["content"]["application/json"]["schema"]["properties"]["set"],
        json!({"$ref": "#/components/schemas/item_set_input"})
    );
    assert_eq!(rename["requestBody"]["required"], false);

    // Query parameters: optional, with the default; aliases and relationships in the answer.
    let search = &paths["/api/rest/items"]["post"];
    assert_eq!(
        search["parameters"],
        json!([
            search["parameters"][0],
            {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer"}},
            {"name": "name", "in": "query", "required": false, "schema": {"type": "string", "default": "%"}},
        ])
    );
    assert_eq!(
        search["requestBody"]["content"]["application/json"]["schema"]["properties"]["name"]
            ["default"],
        "%"
    );
    let rows =
        &search["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["item"];
    assert_eq!(rows["type"], "array");
    assert_eq!(rows["items"]["properties"]["shown"]["title"], "String");
    assert_eq!(
        rows["items"]["properties"]["parent"]["properties"]["name"]["type"],
        "string"
    );
    assert!(paths["/api/rest/items"]["get"].is_object());

    // Input objects (recursive through the relationship) and enums are components.
    let add = &paths["/api/rest/items/add"]["post"];
    assert_eq!(add["requestBody"]["required"], true);
    let schemas = &doc["components"]["schemas"];
    let insert = &schemas["item_insert_input!"];
    assert_eq!(insert["type"], "object");
    assert_eq!(
        insert["properties"]["parent"],
        json!({"$ref": "#/components/schemas/item_obj_rel_insert_input"})
    );
    assert_eq!(
        schemas["item_obj_rel_insert_input"]["properties"]["data"],
        json!({"$ref": "#/components/schemas/item_insert_input!"})
    );
    assert!(schemas["order_by!"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("asc")));
    // A stored query that no longer fits the schema (kept with allow_inconsistent_metadata):
    // its endpoint is still described, and the missing field reported.
    let (status, mut md) = server.post(
        "/v1/metadata",
        &[("x-hasura-admin-secret", SECRET)],
        &json!({"type": "export_metadata", "args": {}}).to_string(),
    );
    assert_eq!(status, 200, "{md}");
    md["query_collections"][0]["definition"]["queries"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "broken", "query": "query { item { name nope } }"}));
    md["rest_endpoints"].as_array_mut().unwrap().push(json!({
        "name": "broken", "url": "items/broken", "methods": ["GET"],
        "definition": {"query": {"collection_name": "api", "query_name": "broken"}}}));
    metadata(
        &server,
        json!({"type": "replace_metadata", "version": 2,
            "args": {"allow_inconsistent_metadata": true, "metadata": md}}),
    );
    let (status, doc) = get(&server, &[("x-hasura-admin-secret", SECRET)]);
    assert_eq!(status, 200, "{doc}");
    assert!(
        doc["info"]["description"].as_str().unwrap().ends_with(
            "\n\nEndpoint \"broken\":\n- ⚠️ $.item.nope: field 'nope' not found in object 'item'"
        ),
        "{}",
        doc["info"]["description"]
    );
    assert!(doc["paths"]["/api/rest/items/broken"]["get"].is_object());

    // A real OpenAPI validator accepts it (and resolves every $ref).
    let Some(dir) = common::npm_project(
        "openapi-validator",
        "@apidevtools/swagger-parser",
        "the OpenAPI validation",
    ) else {
        return;
    };
    let file = std::env::temp_dir().join(format!("graphedge-openapi-{}.json", std::process::id()));
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = Command::new("node")
        .arg("validate.mjs")
        .arg(&file)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "swagger-parser rejected the document:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid: 5 paths"), "{stdout}");
}
