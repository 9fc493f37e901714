//! Introspection per role: SDL snapshots of a hand-built schema (admin, a role with partial
//! columns), the standard GraphiQL introspection query, the suite's enum-table introspection
//! fixture, and a sweep of odd selections that must never panic.
use std::collections::BTreeMap;

use graphedge_core::introspection::{self, TypeSystem};
use graphedge_core::model::*;
use graphedge_core::parse::{ast, parse};
use graphedge_core::{Options, Session, Value};

mod common;
use common::{root_fields, search_articles_fn};

// ------------------------------------------------------------------ fixtures

/// [`common::col`], nullable or not.
fn col(name: &str, udt: &str, nullable: bool) -> Column {
    Column {
        nullable,
        ..common::col(name, udt)
    }
}

fn array_col(name: &str, elem: &str) -> Column {
    let mut c = col(name, &format!("_{}", elem), true);
    c.pg_type.element = Some(elem.into());
    c
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: QualifiedName::new("public", name),
        gql_name: name.into(),
        root_fields: root_fields(name),
        columns,
        primary_key: vec![0],
        unique_constraints: vec![UniqueConstraint {
            name: format!("{name}_pkey"),
            columns: vec![0],
            is_primary: true,
        }],
        relationships: vec![],
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        computed_fields: vec![],
        permissions: BTreeMap::new(),
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    }
}

fn no_filter() -> Value {
    Value::Object(vec![])
}

/// `author(id, name, bio, rating)` ← `article(id, title, author_id, published, tags, meta)`.
fn blog() -> graphedge_core::Schema {
    let mut author = table(
        "author",
        vec![
            col("id", "int4", false),
            col("name", "text", false),
            col("bio", "text", true),
            col("rating", "numeric", true),
        ],
    );
    author.columns[0].has_default = true;
    author.description = Some("the authors".into());
    author.columns[1].description = Some("full name".into());
    author.relationships.push(Relationship {
        name: "articles".into(),
        kind: RelKind::Array,
        target: 1,
        mapping: vec![(0, 2)],
        comment: None,
        local_fk: false,
    });
    author.computed_fields.push(ComputedField {
        name: "name_upper".into(),
        function: QualifiedName::new("public", "author_name_upper"),
        args: vec![FunctionArg {
            name: Some("a".into()),
            pg_type: PgType::scalar("author"),
            has_default: false,
        }],
        table_argument: 0,
        session_argument: None,
        returns: FunctionReturn::Scalar(PgType::scalar("text")),
        comment: None,
    });
    let mut article = table(
        "article",
        vec![
            col("id", "int4", false),
            col("title", "text", false),
            col("author_id", "int4", false),
            col("published", "bool", false),
            array_col("tags", "text"),
            col("meta", "jsonb", true),
            col("created_at", "timestamptz", false),
        ],
    );
    article.relationships.push(Relationship {
        name: "author".into(),
        kind: RelKind::Object,
        target: 0,
        mapping: vec![(2, 0)],
        comment: None,
        local_fk: true,
    });

    // Role `user`: authors' id and name only, no aggregations; articles without `meta`, with
    // aggregations and a row filter; may insert articles (title, author_id) and update titles.
    author.permissions.insert(
        "user".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1],
                filter: no_filter(),
                allow_aggregations: false,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    article.permissions.insert(
        "user".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2, 3, 4, 6],
                filter: Value::Object(vec![(
                    "published".into(),
                    Value::Object(vec![("_eq".into(), Value::Boolean(true))]),
                )]),
                allow_aggregations: true,
                query_root_fields: Some(vec!["select".into(), "select_aggregate".into()]),
                ..Default::default()
            }),
            insert: Some(InsertPermission {
                check: no_filter(),
                columns: vec![1, 2],
                ..Default::default()
            }),
            update: Some(UpdatePermission {
                filter: no_filter(),
                columns: vec![1],
                ..Default::default()
            }),
            delete: None,
        },
    );
    let search = search_articles_fn();
    graphedge_core::Schema {
        tables: vec![author, article],
        functions: vec![search],
        ..Default::default()
    }
}

/// The suite's `graphql_query/enums` schema: `colors` (enum table), `users.favorite_color`.
fn enums() -> graphedge_core::Schema {
    let mut colors = table(
        "colors",
        vec![col("value", "text", false), col("comment", "text", true)],
    );
    colors.is_enum = true;
    for (v, c) in [
        ("red", "#FF0000"),
        ("green", "#00FF00"),
        ("blue", "#0000FF"),
        ("orange", "#FFFF00"),
        ("yellow", "#00FFFF"),
        ("purple", "#FF00FF"),
    ] {
        colors.enum_values.push(EnumValue {
            value: v.into(),
            name: v.into(),
            comment: Some(c.into()),
        });
    }
    let mut users = table(
        "users",
        vec![
            col("id", "int4", false),
            col("name", "text", false),
            col("favorite_color", "text", false),
        ],
    );
    users.columns[2].enum_table = Some(0);
    users.relationships.push(Relationship {
        name: "color".into(),
        kind: RelKind::Object,
        target: 0,
        mapping: vec![(2, 0)],
        comment: None,
        local_fk: true,
    });
    users.permissions.insert(
        "anonymous".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2],
                filter: no_filter(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    graphedge_core::Schema {
        tables: vec![colors, users],
        ..Default::default()
    }
}

// ------------------------------------------------------------------ helpers

fn session(role: &str) -> Session {
    Session {
        role: role.into(),
        vars: BTreeMap::new(),
    }
}

/// Runs a whole document whose operation selects only introspection root fields; returns the
/// `data` object's JSON text.
fn run(
    schema: &graphedge_core::Schema,
    role: &str,
    query: &str,
    variables: &[(String, Value)],
) -> Result<String, String> {
    let doc = parse(query).map_err(|e| e.to_string())?;
    let op = &doc.operations[0];
    let mut out = String::from("{");
    let mut first = true;
    for sel in &op.selection_set {
        let ast::Selection::Field(f) = sel else {
            return Err("only fields at the root".into());
        };
        let v = introspection::resolve_root_field(
            schema,
            &session(role),
            &Options::default(),
            f,
            &doc.fragments,
            variables,
        )
        .map_err(|e| e.to_string())?;
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&format!("\"{}\":{}", f.response_key(), v));
    }
    out.push('}');
    Ok(out)
}

fn sdl(schema: &graphedge_core::Schema, role: &str) -> String {
    introspection::build(schema, role, &Options::default()).to_sdl()
}

fn ts(schema: &graphedge_core::Schema, role: &str) -> TypeSystem {
    introspection::build(schema, role, &Options::default())
}

/// graphql-js `getIntrospectionQuery()` as GraphiQL sends it.
const GRAPHIQL_QUERY: &str = r#"
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives { name description locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description
      fields(includeDeprecated: true) {
        name description
        args { ...InputValue }
        type { ...TypeRef }
        isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
    }
"#;

// ------------------------------------------------------------------ tests

#[test]
fn admin_sdl_snapshot() {
    insta::assert_snapshot!("admin_sdl", sdl(&blog(), "admin"));
}

#[test]
fn user_sdl_snapshot() {
    insta::assert_snapshot!("user_sdl", sdl(&blog(), "user"));
}

#[test]
fn role_without_permissions_sees_no_tables() {
    let t = ts(&blog(), "nobody");
    assert!(t.type_def("author").is_none());
    assert!(t.type_def("article").is_none());
    assert!(t.mutation_type.is_none());
    assert!(t.field("query_root", "no_queries_available").is_some());
}

#[test]
fn user_role_restrictions() {
    let t = ts(&blog(), "user");
    // Only permitted columns.
    let author = t.type_def("author").unwrap();
    let names: Vec<&str> = author.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["articles", "articles_aggregate", "id", "name"]);
    assert!(t.type_def("article").unwrap().field("meta").is_none());
    // No aggregations on author: no author_aggregate, and no articles_aggregate-free mistakes.
    assert!(t.field("query_root", "author_aggregate").is_none());
    assert!(t.field("author", "articles_aggregate").is_some());
    // query_root_fields restricts article's root fields (no by_pk) but not subscriptions.
    assert!(t.field("query_root", "article").is_some());
    assert!(t.field("query_root", "article_aggregate").is_some());
    assert!(t.field("query_root", "article_by_pk").is_none());
    assert!(t.field("subscription_root", "article_by_pk").is_some());
    assert!(t.field("subscription_root", "article_stream").is_some());
    // Mutations: insert (no upsert without... the role has an update permission → on_conflict).
    let ins = t.field("mutation_root", "insert_article").unwrap();
    assert!(ins.arg("on_conflict").is_some());
    let input = t.type_def("article_insert_input").unwrap();
    let names: Vec<&str> = input.input_fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["author_id", "title"]);
    assert!(t.field("mutation_root", "update_article").is_some());
    assert!(t.field("mutation_root", "delete_article").is_none());
    assert!(t.field("mutation_root", "insert_author").is_none());
    // Object relationship to a table the role sees unfiltered: non-null.
    assert_eq!(t.field("article", "author").unwrap().ty.to_sdl(), "author!");
    // Inferred function permission.
    assert!(t.field("query_root", "search_articles").is_some());
}

#[test]
fn admin_types_follow_hasura_names() {
    let t = ts(&blog(), "admin");
    let q = |ty: &str, f: &str| t.field(ty, f).map(|f| f.ty.to_sdl());
    assert_eq!(q("query_root", "author").as_deref(), Some("[author!]!"));
    assert_eq!(q("query_root", "author_by_pk").as_deref(), Some("author"));
    assert_eq!(
        q("query_root", "author_aggregate").as_deref(),
        Some("author_aggregate!")
    );
    assert_eq!(q("author", "articles").as_deref(), Some("[article!]!"));
    assert_eq!(
        q("author", "articles_aggregate").as_deref(),
        Some("article_aggregate!")
    );
    assert_eq!(q("author", "rating").as_deref(), Some("numeric"));
    assert_eq!(q("author", "name_upper").as_deref(), Some("String"));
    assert_eq!(q("article", "tags").as_deref(), Some("[String!]"));
    assert_eq!(q("article", "created_at").as_deref(), Some("timestamptz!"));
    assert_eq!(
        q("article_aggregate_fields", "count").as_deref(),
        Some("Int!")
    );
    assert_eq!(q("article_sum_fields", "id").as_deref(), Some("Int"));
    assert_eq!(q("article_avg_fields", "id").as_deref(), Some("Float"));
    assert_eq!(
        q("article_max_fields", "created_at").as_deref(),
        Some("timestamptz")
    );
    assert!(t.field("article_max_fields", "published").is_none());
    assert!(t.field("article_sum_fields", "title").is_none());
    assert_eq!(
        q("mutation_root", "update_article_many").as_deref(),
        Some("[article_mutation_response]")
    );
    let order_by = t.type_def("order_by").unwrap();
    let vals: Vec<&str> = order_by
        .enum_values
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(
        vals,
        [
            "asc",
            "asc_nulls_first",
            "asc_nulls_last",
            "desc",
            "desc_nulls_first",
            "desc_nulls_last"
        ]
    );
    let s = t.type_def("String_comparison_exp").unwrap();
    for op in [
        "_eq",
        "_ilike",
        "_iregex",
        "_like",
        "_nilike",
        "_niregex",
        "_nlike",
        "_nregex",
        "_nsimilar",
        "_regex",
        "_similar",
    ] {
        assert!(s.input_field(op).is_some(), "{op}");
    }
    let j = t.type_def("jsonb_comparison_exp").unwrap();
    for op in [
        "_cast",
        "_contained_in",
        "_contains",
        "_has_key",
        "_has_keys_all",
        "_has_keys_any",
    ] {
        assert!(j.input_field(op).is_some(), "{op}");
    }
    assert!(t.type_def("String_array_comparison_exp").is_some());
    assert!(t.type_def("article_aggregate_bool_exp_bool_and").is_some());
    assert_eq!(
        t.field("query_root", "author")
            .unwrap()
            .description
            .as_deref(),
        Some("fetch data from the table: \"author\"")
    );
    assert_eq!(
        t.type_def("article").unwrap().description.as_deref(),
        Some("columns and relationships of \"article\"")
    );
    assert!(
        t.directive("include").is_some()
            && t.directive("skip").is_some()
            && t.directive("cached").is_some()
    );
}

#[test]
fn graphiql_introspection_query_works_for_every_role() {
    for role in ["admin", "user", "nobody"] {
        let out = run(&blog(), role, GRAPHIQL_QUERY, &[]).unwrap();
        let v = Json::parse(&out).unwrap_or_else(|e| panic!("{role}: invalid JSON ({e}): {out}"));
        let schema = v.get("__schema").unwrap();
        assert_eq!(
            schema
                .get("queryType")
                .unwrap()
                .get("name")
                .unwrap()
                .as_str(),
            Some("query_root")
        );
        let types = schema.get("types").unwrap().as_array().unwrap();
        let names: Vec<&str> = types
            .iter()
            .map(|t| t.get("name").unwrap().as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "types are sorted");
        assert!(
            names.contains(&"__Type") && names.contains(&"Boolean") && names.contains(&"String")
        );
        // Every referenced named type is listed.
        fn refs<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
            if let Some(n) = v.get("name").and_then(|n| n.as_str()) {
                if v.get("kind").is_some() && v.get("ofType").is_some() {
                    out.push(n);
                }
            }
            match v {
                Json::Array(items) => items.iter().for_each(|i| refs(i, out)),
                Json::Object(fields) => fields.iter().for_each(|(_, i)| refs(i, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(schema, &mut all);
        for n in all {
            assert!(names.contains(&n), "{role}: {n} referenced but not listed");
        }
        if role == "admin" {
            assert_eq!(
                schema
                    .get("mutationType")
                    .unwrap()
                    .get("name")
                    .unwrap()
                    .as_str(),
                Some("mutation_root")
            );
        }
    }
}

#[test]
fn introspection_output_snapshot_of_one_type() {
    let out = run(
        &blog(),
        "user",
        r#"{ __type(name: "author") { kind name description fields { name description args { name defaultValue type { kind name ofType { kind name } } } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }"#,
        &[],
    )
    .unwrap();
    insta::assert_snapshot!("user_author_type", Json::parse(&out).unwrap().pretty());
}

#[test]
fn enum_table_introspection_matches_the_suite() {
    let q = r#"{
      colors: __type(name: "colors_enum") { name kind enumValues { name description } }
      users: __type(name: "users") { fields { name type { ofType { name } } } }
    }"#;
    let expected = r##"{"colors":{"name":"colors_enum","kind":"ENUM","enumValues":[{"name":"blue","description":"#0000FF"},{"name":"green","description":"#00FF00"},{"name":"orange","description":"#FFFF00"},{"name":"purple","description":"#FF00FF"},{"name":"red","description":"#FF0000"},{"name":"yellow","description":"#00FFFF"}]},"users":{"fields":[{"name":"color","type":{"ofType":{"name":"colors"}}},{"name":"favorite_color","type":{"ofType":{"name":"colors_enum"}}},{"name":"id","type":{"ofType":{"name":"Int"}}},{"name":"name","type":{"ofType":{"name":"String"}}}]}}"##;
    assert_eq!(run(&enums(), "admin", q, &[]).unwrap(), expected);
    // Restricted role: the enum table is hidden, its enum type is not.
    let q = r#"{ table: __type(name: "colors") { name kind } enum: __type(name: "colors_enum") { name kind } }"#;
    assert_eq!(
        run(&enums(), "anonymous", q, &[]).unwrap(),
        r#"{"table":null,"enum":{"name":"colors_enum","kind":"ENUM"}}"#
    );
}

#[test]
fn aliases_typename_fragments_and_directives() {
    let q = r#"query ($yes: Boolean!, $t: String!) {
      s: __schema { __typename q: queryType { ...N } mutationType @skip(if: $yes) { name } }
      t: __type(name: $t) { ... on __Type { kind } ... @include(if: $yes) { name } name @skip(if: true) }
    }
    fragment N on __Type { name n2: name __typename }"#;
    let vars = vec![
        ("yes".to_string(), Value::Boolean(true)),
        ("t".to_string(), Value::String("order_by".into())),
    ];
    assert_eq!(
        run(&blog(), "admin", q, &vars).unwrap(),
        r#"{"s":{"__typename":"__Schema","q":{"name":"query_root","n2":"query_root","__typename":"__Type"}},"t":{"kind":"ENUM","name":"order_by"}}"#
    );
    // Unknown type → null.
    assert_eq!(
        run(
            &blog(),
            "admin",
            r#"{ __type(name: "nope") { name } }"#,
            &[]
        )
        .unwrap(),
        r#"{"__type":null}"#
    );
}

#[test]
fn bad_selections_are_errors_not_panics() {
    let cases = [
        "{ __schema { nope } }",
        "{ __schema }",
        "{ __schema { types } }",
        "{ __schema { types { name { x } } } }",
        "{ __type { name } }",
        "{ __type(name: 1) { name } }",
        "{ __type(name: $missing) { name } }",
        "{ __schema(x: 1) { types { name } } }",
        "{ __schema { types { fields(includeDeprecated: 3) { name } } } }",
        "{ __schema { ...Missing } }",
        "{ __schema { ...A } } fragment A on __Schema { ...B } fragment B on __Schema { ...A }",
        "{ __schema { types { ...T } } } fragment T on __Type { ofType { ...T } }",
        "{ __schema { queryType { name @skip(if: \"x\") } } }",
        "{ __schema { queryType { name @include } } }",
        "{ __schema { queryType { a: name a: kind } } }",
        "{ __nope { a } }",
    ];
    for q in cases {
        let r = run(&blog(), "admin", q, &[]);
        assert!(r.is_err(), "{q} → {r:?}");
    }
}

#[test]
fn pseudo_random_selections_never_panic() {
    // A tiny deterministic generator of selection sets over the meta fields.
    const FIELDS: [&str; 24] = [
        "__typename",
        "types",
        "queryType",
        "mutationType",
        "subscriptionType",
        "directives",
        "kind",
        "name",
        "description",
        "fields",
        "interfaces",
        "possibleTypes",
        "enumValues",
        "inputFields",
        "ofType",
        "args",
        "type",
        "defaultValue",
        "isDeprecated",
        "deprecationReason",
        "locations",
        "isRepeatable",
        "specifiedByURL",
        "bogus",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    fn gen(next: &mut dyn FnMut() -> u64, depth: usize, out: &mut String) {
        out.push('{');
        let n = 1 + (next() % 4) as usize;
        for _ in 0..n {
            let r = next() % 10;
            if r == 0 && depth < 6 {
                out.push_str(" ... on __Type ");
                gen(next, depth + 1, out);
                continue;
            }
            out.push(' ');
            out.push_str(FIELDS[(next() % FIELDS.len() as u64) as usize]);
            if r == 1 {
                out.push_str("(includeDeprecated: true)");
            }
            if r == 2 {
                out.push_str(" @skip(if: false)");
            }
            if depth < 6 && next().is_multiple_of(2) {
                gen(next, depth + 1, out);
            }
        }
        out.push_str(" }");
    }
    let schema = blog();
    for i in 0..400 {
        let mut sel = String::new();
        gen(&mut next, 0, &mut sel);
        let q = if i % 2 == 0 {
            format!("{{ __schema {sel} }}")
        } else {
            format!("{{ __type(name: \"author\") {sel} }}")
        };
        let role = ["admin", "user", "nobody"][i % 3];
        if let Ok(out) = run(&schema, role, &q, &[]) {
            assert!(Json::parse(&out).is_ok(), "invalid JSON for {q}");
        }
    }
}

// ------------------------------------------------------------------ a minimal JSON reader

/// Just enough JSON to check the output is well-formed and to look values up.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let v = Self::value(b, &mut i)?;
        Self::ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing data at {i}"));
        }
        Ok(v)
    }
    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn value(b: &[u8], i: &mut usize) -> Result<Json, String> {
        Self::ws(b, i);
        match b.get(*i) {
            Some(b'n') if b[*i..].starts_with(b"null") => {
                *i += 4;
                Ok(Json::Null)
            }
            Some(b't') if b[*i..].starts_with(b"true") => {
                *i += 4;
                Ok(Json::Bool(true))
            }
            Some(b'f') if b[*i..].starts_with(b"false") => {
                *i += 5;
                Ok(Json::Bool(false))
            }
            Some(b'"') => Self::string(b, i).map(Json::Str),
            Some(b'[') => {
                *i += 1;
                let mut items = Vec::new();
                Self::ws(b, i);
                if b.get(*i) == Some(&b']') {
                    *i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(Self::value(b, i)?);
                    Self::ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b']') => {
                            *i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected , or ] at {i}")),
                    }
                }
            }
            Some(b'{') => {
                *i += 1;
                let mut fields = Vec::new();
                Self::ws(b, i);
                if b.get(*i) == Some(&b'}') {
                    *i += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    Self::ws(b, i);
                    let k = Self::string(b, i)?;
                    Self::ws(b, i);
                    if b.get(*i) != Some(&b':') {
                        return Err(format!("expected : at {i}"));
                    }
                    *i += 1;
                    let v = Self::value(b, i)?;
                    if fields.iter().any(|(f, _): &(String, Json)| f == &k) {
                        return Err(format!("duplicate key {k}"));
                    }
                    fields.push((k, v));
                    Self::ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return Err(format!("expected , or }} at {i}")),
                    }
                }
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = *i;
                while *i < b.len() && (b[*i].is_ascii_digit() || b"+-.eE".contains(&b[*i])) {
                    *i += 1;
                }
                Ok(Json::Num(
                    String::from_utf8_lossy(&b[start..*i]).into_owned(),
                ))
            }
            _ => Err(format!("unexpected input at {i}")),
        }
    }
    fn string(b: &[u8], i: &mut usize) -> Result<String, String> {
        if b.get(*i) != Some(&b'"') {
            return Err(format!("expected string at {i}"));
        }
        *i += 1;
        let mut out = Vec::new();
        while let Some(&c) = b.get(*i) {
            *i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *b.get(*i).ok_or("bad escape")?;
                    *i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(b.get(*i..*i + 4).ok_or("bad \\u")?)
                                .map_err(|e| e.to_string())?;
                            let n = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            *i += 4;
                            let ch = char::from_u32(n).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return Err(format!("bad escape at {i}")),
                    }
                }
                c if c < 0x20 => return Err(format!("control character in string at {i}")),
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(f) => f.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }
    /// Indented rendering, for snapshots.
    fn pretty(&self) -> String {
        fn go(v: &Json, ind: usize, out: &mut String) {
            let pad = "  ".repeat(ind);
            match v {
                Json::Null => out.push_str("null"),
                Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Json::Num(n) => out.push_str(n),
                Json::Str(s) => out.push_str(&format!("{s:?}")),
                Json::Array(items) if items.is_empty() => out.push_str("[]"),
                Json::Array(items) => {
                    out.push_str("[\n");
                    for (i, it) in items.iter().enumerate() {
                        out.push_str(&pad);
                        out.push_str("  ");
                        go(it, ind + 1, out);
                        out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                    }
                    out.push_str(&pad);
                    out.push(']');
                }
                Json::Object(fields) => {
                    out.push_str("{\n");
                    for (i, (k, it)) in fields.iter().enumerate() {
                        out.push_str(&format!("{pad}  {k:?}: "));
                        go(it, ind + 1, out);
                        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                    }
                    out.push_str(&pad);
                    out.push('}');
                }
            }
        }
        let mut s = String::new();
        go(self, 0, &mut s);
        s
    }
}

/// Hasura's nullability of object relationships (non-null only through a foreign key of this
/// table whose columns are NOT NULL) and descriptions from comments (`""`: none).
#[test]
fn object_relationship_nullability_and_comments() {
    let mut s = blog();
    let rel = |name: &str, target: usize, mapping: (usize, usize), local_fk: bool| Relationship {
        name: name.into(),
        kind: RelKind::Object,
        target,
        mapping: vec![mapping],
        comment: None,
        local_fk,
    };
    // author.id → article.author_id (NOT NULL): a reverse foreign key, nullable;
    // article.id → author.id: a manual mapping, nullable.
    s.tables[0]
        .relationships
        .push(rel("some_article", 1, (0, 2), false));
    s.tables[1]
        .relationships
        .push(rel("same_id_author", 0, (0, 0), false));
    let rf = &mut s.tables[0].root_fields;
    rf.comments
        .insert("select".into(), "Authors, all of them".into());
    rf.comments.insert("select_by_pk".into(), String::new());
    s.tables[0].columns[1].description = Some(String::new());
    let t = ts(&s, "admin");
    let q = |ty: &str, f: &str| t.field(ty, f).map(|f| f.ty.to_sdl());
    assert_eq!(q("article", "author").as_deref(), Some("author!"));
    assert_eq!(q("author", "some_article").as_deref(), Some("article"));
    assert_eq!(q("article", "same_id_author").as_deref(), Some("author"));
    let desc = |ty: &str, f: &str| t.field(ty, f).unwrap().description.clone();
    assert_eq!(
        desc("query_root", "author").as_deref(),
        Some("Authors, all of them")
    );
    assert_eq!(desc("query_root", "author_by_pk"), None);
    assert_eq!(desc("author", "name"), None);
    assert_eq!(
        desc("query_root", "author_aggregate").as_deref(),
        Some("fetch aggregated fields from the table: \"author\"")
    );
}

/// `graphql_schema_introspection.disabled_for_roles`: those roles' `__schema` and `__type`
/// are refused with Hasura's error; `__typename` and other roles are unaffected.
#[test]
fn introspection_can_be_disabled_per_role() {
    let mut schema = blog();
    schema.introspection_disabled = vec!["user".into()];
    let compile = |role: &str, query: &str| {
        let req = graphedge_core::Request {
            query,
            operation_name: None,
            variables: &[],
        };
        graphedge_core::compile(&schema, &session(role), &req, &Options::default())
            .map(|_| ())
            .map_err(|e| (e.code.as_str(), e.path.clone(), e.message.clone()))
    };
    let refused = Err((
        "not-supported",
        "$".to_string(),
        "introspection is disabled for role: \"user\"".to_string(),
    ));
    assert_eq!(compile("user", "{ __schema { types { name } } }"), refused);
    assert_eq!(
        compile("user", "{ x: __type(name: \"author\") { name } }"),
        refused
    );
    assert_eq!(compile("user", "{ __typename }"), Ok(()));
    assert_eq!(compile("admin", "{ __schema { types { name } } }"), Ok(()));
}

/// An introspection answer is computed at compile time from the variables' values, so every
/// variable of the operation shapes the plan: the plan cache keeps one plan per value of
/// `$name` (`__type(name: $name)`) and of `$deep` (`@include(if: $deep)` inside).
#[test]
fn introspection_with_variables_shapes_the_plan() {
    let schema = blog();
    let query = "query T($name: String!, $deep: Boolean!) {
        __type(name: $name) { name fields @include(if: $deep) { name } } }";
    let compile = |name: &str| {
        let vars = vec![
            ("name".to_string(), Value::String(name.into())),
            ("deep".to_string(), Value::Boolean(false)),
        ];
        let req = graphedge_core::Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        graphedge_core::compile(&schema, &session("admin"), &req, &Options::default()).unwrap()
    };
    let plan = compile("author");
    assert_eq!(plan.shaping_variables, ["name", "deep"]);
    let graphedge_core::PlanKind::Static(json) = &compile("article").kind else {
        panic!("a static plan");
    };
    assert!(json.contains("\"article\""), "{json}");
}

/// `graphql-default` upper-cases enum table values: introspection lists the names, inputs
/// (literals, variables, lists) are bound as the rows' values, outputs are upper-cased, and a
/// permission's value stays the row's value.
#[test]
fn renamed_enum_values_map_to_the_rows() {
    let mut schema = enums();
    for v in &mut schema.tables[0].enum_values {
        v.name = v.value.to_ascii_uppercase();
    }
    schema.tables[1].permissions.insert(
        "fan".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 2],
                filter: Value::Object(vec![(
                    "favorite_color".into(),
                    Value::Object(vec![("_eq".into(), Value::String("red".into()))]),
                )]),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let names = run(
        &schema,
        "admin",
        "{ __type(name: \"colors_enum\") { enumValues { name } } }",
        &[],
    )
    .unwrap();
    assert!(
        names.contains("\"RED\"") && !names.contains("\"red\""),
        "{names}"
    );
    let compile = |role: &str, query: &str, vars: Vec<(String, Value)>| {
        let req = graphedge_core::Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        let plan = graphedge_core::compile(&schema, &session(role), &req, &Options::default())
            .map_err(|e| e.message)?;
        let bound = plan.bind(&vars, &session(role)).map_err(|e| e.message)?;
        Ok::<_, String>((plan.sql.clone(), bound, plan.shaping_variables.clone()))
    };
    let (sql, bound, _) = compile(
        "anonymous",
        "{ users(where: {favorite_color: {_in: [RED, BLUE]}}) { favorite_color } }",
        vec![],
    )
    .unwrap();
    assert!(
        sql.contains("upper((\"_1\".\"favorite_color\") COLLATE \"C\")"),
        "{sql}"
    );
    assert_eq!(format!("{bound:?}"), r#"[Some("{\"red\",\"blue\"}")]"#);
    let (_, bound, shaping) = compile(
        "anonymous",
        "query Q($c: colors_enum) { users(where: {favorite_color: {_eq: $c}}) { id } }",
        vec![("c".into(), Value::String("GREEN".into()))],
    )
    .unwrap();
    assert_eq!(format!("{bound:?}"), "[Some(\"green\")]");
    assert_eq!(shaping, ["c"]);
    let e = compile(
        "anonymous",
        "{ users(where: {favorite_color: {_eq: red}}) { id } }",
        vec![],
    );
    assert!(e.unwrap_err().contains("'BLUE', 'GREEN'"));
    let (_, bound, _) = compile("fan", "{ users { id } }", vec![]).unwrap();
    assert_eq!(format!("{bound:?}"), "[Some(\"red\")]");
}
