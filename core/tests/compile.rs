//! Snapshot tests of the emitted SQL per role. One `check()` is the only caller of the API;
//! each test is a query and a role. The schema is a small author/article model built by hand.
use graphedge_core::{compile, Options, PlanKind, Request, Value};

mod common;
use common::*;

/// Compiles `query` as `role` and renders the plan (SQL and parameters) or the error.
fn check(role: &str, query: &str, variables: &[(&str, Value)]) -> String {
    let schema = blog_schema();
    let session = user_session(role, "1");
    let vars = owned_vars(variables);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    let opts = Options {
        stringify_numeric: true,
        ..Default::default()
    };
    match compile(&schema, &session, &req, &opts) {
        Ok(plan) => match plan.kind {
            PlanKind::Static(json) => format!("static: {json}"),
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

macro_rules! snap {
    ($name:ident, $role:expr, $query:expr) => {
        snap!($name, $role, $query, &[]);
    };
    ($name:ident, $role:expr, $query:expr, $vars:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check($role, $query, $vars));
        }
    };
}

snap!(admin_list_with_args, "admin", "{ author(where: {name: {_ilike: \"%a%\"}}, order_by: {name: desc}, limit: 5, offset: 1) { id name } }");
snap!(
    admin_nested_relationships,
    "admin",
    "{ author { name articles(where: {rating: {_gt: 2}}) { title author { name } } } }"
);
snap!(
    admin_by_pk_variable,
    "admin",
    "query q($id: Int!) { author_by_pk(id: $id) { id } }",
    &[("id", Value::Number("7".into()))]
);
snap!(admin_aggregate, "admin", "{ article_aggregate(where: {author_id: {_in: [1, 2]}}) { aggregate { count sum { rating } max { title } } nodes { id } } }");
snap!(
    user_permissions,
    "user",
    "{ author { id name articles { title } } article_aggregate { aggregate { count } } }"
);
snap!(user_hidden_column, "user", "{ author { secret } }");
snap!(
    user_no_aggregation,
    "user",
    "{ author_aggregate { aggregate { count } } }"
);
snap!(typename_only, "admin", "{ __typename }");
snap!(order_by_relationship_and_aggregate, "admin", "{ article(order_by: [{author: {name: asc}}, {id: desc_nulls_last}]) { id } author(order_by: {articles_aggregate: {count: desc}}) { id } }");
snap!(
    distinct_on_mismatch,
    "admin",
    "{ article(distinct_on: [title], order_by: {id: asc}) { id } }"
);
snap!(
    fragments_and_directives,
    "admin",
    "query($s: Boolean!) { author { ...F name @skip(if: $s) } } fragment F on author { id }",
    &[("s", Value::Boolean(true))]
);
snap!(unknown_root_field, "admin", "{ nope { id } }");
snap!(parse_error, "admin", "{ author { id }");
snap!(negative_limit, "admin", "{ author(limit: -1) { id } }");
snap!(where_relationship_and_or, "user", "{ article(where: {_or: [{author: {name: {_eq: \"x\"}}}, {_not: {title: {_is_null: true}}}]}) { id } }");
snap!(
    variable_of_wrong_type,
    "admin",
    "query q($id: Int!) { author_by_pk(id: $id) { id } }",
    &[("id", Value::String("abc".into()))]
);
snap!(
    variable_explicit_null_for_non_null,
    "admin",
    "query q($l: Int!) { author(limit: $l) { id } }",
    &[("l", Value::Null)]
);

/// The blog schema where role `user` may read at most 2 articles (aggregations allowed).
fn limited_schema() -> graphedge_core::Schema {
    let mut schema = blog_schema();
    for t in &mut schema.tables {
        if t.gql_name == "article" {
            if let Some(select) = t
                .permissions
                .get_mut("user")
                .and_then(|p| p.select.as_mut())
            {
                select.limit = Some(2);
            }
        }
    }
    schema
}

/// The permission's row limit wherever `user` gets article rows: `nodes` keep at most 2 rows
/// while `aggregate` counts every visible one (Hasura), and plain lists are limited.
#[test]
fn permission_limit_bounds_every_row_list() {
    let schema = limited_schema();
    let session = user_session("user", "1");
    let vars = owned_vars(&[]);
    let opts = Options {
        stringify_numeric: true,
        ..Default::default()
    };
    let sql = |query: &str| {
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        match compile(&schema, &session, &req, &opts) {
            Ok(plan) => plan.sql,
            Err(e) => format!("error: {}", e.message),
        }
    };
    let cases = [
        "{ article_aggregate { aggregate { count } nodes { id } } }",
        "{ article_aggregate { nodes { id } } }",
        "{ article_aggregate(limit: 5) { aggregate { count } nodes { id } } }",
        "{ article_aggregate(limit: 1) { aggregate { count } nodes { id } } }",
        "{ article(limit: 5) { id } }",
        "{ author { articles { id } articles_aggregate { aggregate { count } nodes { id } } } }",
    ];
    let rendered: Vec<String> = cases.iter().map(|q| format!("{q}\n{}\n", sql(q))).collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

// Pages: an offset from a variable is a parameter (one plan for every page), and the rows are
// chosen (where, order, limit, offset, distinct_on) in a subquery before nested JSON is built.
snap!(
    paged_offset_variable,
    "admin",
    "query q($o: Int!) { author(order_by: {id: asc}, limit: 10, offset: $o) { name articles { title } } }",
    &[("o", Value::Number("9990".into()))]
);
snap!(
    paged_nested_distinct_on,
    "admin",
    "{ author { articles(distinct_on: author_id, order_by: {author_id: asc}, offset: 1) { title author { name } } } }"
);
snap!(
    paged_aggregate_nodes,
    "user",
    "query q($o: Int) { article_aggregate(order_by: {id: asc}, offset: $o) { aggregate { count } nodes { title author { name } } } }",
    &[("o", Value::Number("3".into()))]
);

/// Numbers in exponent notation are bound as plain decimals (`money` and integer input read no
/// exponent: Hasura's `_inc: {money_col: -2E-2}`), exactly; other text is unchanged.
#[test]
fn exponent_numbers_bind_as_plain_decimals() {
    use graphedge_core::encode::{plain_decimal, scalar_text};
    for (n, want) in [
        ("-2E-2", Some("-0.02")),
        ("1.5e3", Some("1500")),
        ("12.345E1", Some("123.45")),
        ("+7e0", Some("7")),
        ("0.000e5", Some("0")),
        (
            "123456789012345678901234567890e-30",
            Some("0.12345678901234567890123456789"),
        ),
        ("1e-3", Some("0.001")),
        ("42", None),
        ("1.5", None),
        ("1e99999", None),
        ("e5", None),
        ("1x2e3", None),
    ] {
        assert_eq!(plain_decimal(n).as_deref(), want, "{n}");
    }
    assert_eq!(scalar_text(&Value::Number("-2E-2".into())), "-0.02");
    assert_eq!(scalar_text(&Value::Number("3.25".into())), "3.25");
}

/// PostGIS operator arguments in a permission may be session variables, every one of them
/// (Hasura's `$st_d_within: {distance: X-Hasura-Geom-Dist, from: X-Hasura-Geom-Val}`).
#[test]
fn session_variables_as_postgis_arguments() {
    use graphedge_core::ParamSpec;
    let mut schema = blog_schema();
    let author = &mut schema.tables[0];
    author.columns.push(col("geom", "geometry"));
    let within = obj(&[
        ("distance", Value::String("X-Hasura-Geom-Dist".into())),
        ("from", Value::String("X-Hasura-Geom-Val".into())),
        ("use_spheroid", Value::String("X-Hasura-Spheroid".into())),
    ]);
    let select = author.permissions.get_mut("user").unwrap().select.as_mut();
    select.unwrap().filter = obj(&[("geom", obj(&[("$st_d_within", within)]))]);
    let mut session = user_session("user", "1");
    for (k, v) in [
        ("x-hasura-geom-dist", "2.5"),
        (
            "x-hasura-geom-val",
            r#"{"type":"Point","coordinates":[0,0]}"#,
        ),
    ] {
        session.vars.insert(k.into(), v.into());
    }
    let vars = owned_vars(&[]);
    let req = Request {
        query: "{ author { id } }",
        operation_name: None,
        variables: &vars,
    };
    let plan = compile(&schema, &session, &req, &Options::default()).unwrap();
    assert!(plan.sql.contains("ST_DWithin("), "{}", plan.sql);
    for var in ["x-hasura-geom-dist", "x-hasura-geom-val"] {
        assert!(
            plan.params.contains(&ParamSpec::Session(var.into())),
            "{var}: {:?}",
            plan.params
        );
    }
    // `use_spheroid` only applies to geography.
    assert!(!plan
        .params
        .contains(&ParamSpec::Session("x-hasura-spheroid".into())));
    let bound = plan.bind(&vars, &session).unwrap();
    assert!(bound.contains(&Some("2.5".into())), "{bound:?}");
}

/// The `path` argument of json/jsonb columns: Hasura's JSON path, applied with `#>`.
#[test]
fn json_column_path_argument() {
    let mut schema = blog_schema();
    schema.tables[0].columns.push(col("meta", "jsonb"));
    let session = user_session("admin", "1");
    let run = |query: &str, variables: &[(&str, Value)]| {
        let vars = owned_vars(variables);
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        compile(&schema, &session, &req, &Options::default())
            .map(|plan| (plan.sql.clone(), plan.bind(&vars, &session).unwrap()))
            .map_err(|e| format!("{} {} {}", e.code.as_str(), e.path, e.message))
    };
    let (sql, bound) = run(r#"{ author { meta(path: "$.a['b c'][0]") } }"#, &[]).unwrap();
    assert!(sql.contains(r#""meta" #> $1::text[])"#), "{sql}");
    assert_eq!(bound, [Some(r#"{"a","b c","0"}"#.to_string())]);
    let q = "query($p: String) { author { meta(path: $p) } }";
    let (_, bound) = run(q, &[("p", Value::String("x.y".into()))]).unwrap();
    assert_eq!(bound, [Some(r#"{"x","y"}"#.to_string())]);
    let (sql, _) = run(q, &[]).unwrap();
    assert!(!sql.contains("#>"), "{sql}");
    let e = run(r#"{ author { meta(path: "$.1") } }"#, &[]).unwrap_err();
    assert!(
        e.starts_with("validation-failed $.selectionSet.author.selectionSet.meta.args.path parse json path error: $.1."),
        "{e}"
    );
    let e = run(r#"{ author { name(path: "$.a") } }"#, &[]).unwrap_err();
    assert_eq!(
        e,
        "validation-failed $.selectionSet.author.selectionSet.name 'name' has no argument named 'path'"
    );
}

/// A variable given for a column value must be declared with the column's scalar type
/// (GraphQL's "all variable usages are allowed"; Hasura: input coercion is not variable
/// coercion, `Int` is refused where `Float` is expected).
#[test]
fn variables_for_column_values_have_the_column_type() {
    let schema = blog_schema();
    let session = user_session("admin", "1");
    let run = |query: &str| {
        let vars = owned_vars(&[("v", Value::Number("1".into()))]);
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        compile(&schema, &session, &req, &Options::default())
            .map(|_| ())
            .map_err(|e| format!("{} {}", e.path, e.message))
    };
    let cases = [
        ("mutation($v: String!) { insert_author_one(object: {name: $v}) { id } }", None),
        (
            "mutation($v: Int) { insert_author_one(object: {name: $v}) { id } }",
            Some("$.selectionSet.insert_author_one.args.object.name variable 'v' is declared as 'Int', but used where 'String' is expected"),
        ),
        (
            "mutation($v: Float!) { update_author(where: {}, _inc: {id: $v}) { affected_rows } }",
            Some("$.selectionSet.update_author.args._inc.id variable 'v' is declared as 'Float!', but used where 'Int' is expected"),
        ),
        ("mutation($v: Int!) { update_author(where: {}, _inc: {id: $v}) { affected_rows } }", None),
        (
            "query($v: String) { author_by_pk(id: $v) { id } }",
            Some("$.selectionSet.author_by_pk.args.id variable 'v' is declared as 'String', but used where 'Int' is expected"),
        ),
        // A nullable variable where the argument is non-null (insert objects).
        (
            "mutation($v: author_insert_input) { insert_author_one(object: $v) { id } }",
            Some("$.selectionSet.insert_author_one.args.object variable 'v' is declared as 'author_insert_input', but used where 'author_insert_input!' is expected"),
        ),
        (
            "mutation($v: [author_insert_input!]) { insert_author(objects: $v) { affected_rows } }",
            Some("$.selectionSet.insert_author.args.objects variable 'v' is declared as '[author_insert_input!]', but used where '[author_insert_input!]!' is expected"),
        ),
    ];
    for (query, want) in cases {
        assert_eq!(run(query).err().as_deref(), want, "{query}");
    }
}

/// A nullable variable where a non-null input is expected (allowed with a non-null default), and
/// a null comparison operand in a `where` (Hasura v2: an error; `null_collapse`: no condition).
#[test]
fn non_null_locations_and_null_operands() {
    let schema = blog_schema();
    let session = user_session("admin", "1");
    let run = |query: &str, v: Value, collapse: bool| {
        let vars = owned_vars(&[("v", v)]);
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        let opts = Options {
            null_collapse: collapse,
            ..Options::default()
        };
        compile(&schema, &session, &req, &opts)
            .map(|_| ())
            .map_err(|e| format!("{} {}", e.path, e.message))
    };
    let obj = || Value::Object(vec![("name".into(), Value::String("a".into()))]);
    let cases: Vec<(&str, Value, bool, Option<&str>)> = vec![
        (
            "mutation($v: author_insert_input) { insert_author_one(object: $v) { id } }",
            obj(),
            false,
            Some("$.selectionSet.insert_author_one.args.object variable 'v' is declared as 'author_insert_input', but used where 'author_insert_input!' is expected"),
        ),
        (
            "mutation($v: author_insert_input = null) { insert_author_one(object: $v) { id } }",
            obj(),
            false,
            Some("$.selectionSet.insert_author_one.args.object variable 'v' is declared as 'author_insert_input', but used where 'author_insert_input!' is expected"),
        ),
        (
            r#"mutation($v: author_insert_input = {name: "d"}) { insert_author_one(object: $v) { id } }"#,
            obj(),
            false,
            None,
        ),
        ("mutation($v: author_insert_input!) { insert_author_one(object: $v) { id } }", obj(), false, None),
        (
            "mutation($v: [author_insert_input!]) { insert_author(objects: $v) { affected_rows } }",
            Value::List(vec![obj()]),
            false,
            Some("$.selectionSet.insert_author.args.objects variable 'v' is declared as '[author_insert_input!]', but used where '[author_insert_input!]!' is expected"),
        ),
        (
            "query($v: Int) { author(where: {id: {_eq: $v}}) { id } }",
            Value::Null,
            false,
            Some("$.selectionSet.author.args.where.id._eq unexpected null value for type 'Int'"),
        ),
        (
            "query { author(where: {id: {_in: null}}) { id } }",
            Value::Null,
            false,
            Some("$.selectionSet.author.args.where.id._in unexpected null value for type '[Int!]'"),
        ),
        ("query($v: Int) { author(where: {id: {_eq: $v}}) { id } }", Value::Null, true, None),
        ("query($v: Int) { author(where: {id: {_eq: $v}}) { id } }", Value::Number("1".into()), false, None),
        ("query { author(where: {id: {_is_null: null}}) { id } }", Value::Null, false, None),
    ];
    for (query, v, collapse, want) in cases {
        assert_eq!(run(query, v, collapse).err().as_deref(), want, "{query}");
    }
}

/// `where` of an update or delete is required (`<table>_bool_exp!`): a literal null is an error.
#[test]
fn null_where_of_update_and_delete() {
    let schema = blog_schema();
    let session = user_session("admin", "1");
    let vars = owned_vars(&[]);
    for (field, query) in [
        (
            "update_author",
            r#"mutation { update_author(where: null, _set: {name: ""}) { affected_rows } }"#,
        ),
        (
            "delete_author",
            "mutation { delete_author(where: null) { affected_rows } }",
        ),
    ] {
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        let e = compile(&schema, &session, &req, &Options::default()).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.path.as_str(), e.message.as_str()),
            (
                "validation-failed",
                format!("$.selectionSet.{field}.args.where").as_str(),
                "expected an object for type 'author_bool_exp', but found null"
            )
        );
    }
}
