//! Snapshot tests of mutation plans (modification steps + final statement) per role. One
//! `check()` renders a plan; the schema is a small author/article model like the fixtures'
//! (`author(id serial pk, name text unique, bio text, is_registered bool default false)`,
//! `article(id serial pk, title, content, author_id → author, is_published bool)`).
//!
//! With `MUTATION_SQL_DIR` set, every case also writes a psql script (PREPARE/EXECUTE per
//! statement in one transaction) there, to run the plans by hand against real Postgres.
use graphedge_core::model::*;
use graphedge_core::{compile, Options, Plan, PlanKind, Request, Session, Value};
use std::collections::BTreeMap;

mod common;
use common::*;

/// [`common::col`] with or without a default.
fn col(name: &str, udt: &str, has_default: bool) -> Column {
    Column {
        has_default,
        ..common::col(name, udt)
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn uc(name: &str, columns: Vec<usize>, is_primary: bool) -> UniqueConstraint {
    UniqueConstraint {
        name: name.into(),
        columns,
        is_primary,
    }
}

fn schema() -> Schema {
    let mut author_perms = BTreeMap::new();
    author_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 3],
                filter: obj(&[("id", s("X-Hasura-User-Id"))]),
                ..Default::default()
            }),
            insert: Some(InsertPermission {
                check: obj(&[(
                    "$and",
                    Value::List(vec![
                        obj(&[("id", s("X-HASURA-USER-ID"))]),
                        obj(&[("is_registered", Value::Boolean(false))]),
                    ]),
                )]),
                columns: vec![0, 1, 2, 3],
                ..Default::default()
            }),
            update: Some(UpdatePermission {
                filter: obj(&[("id", s("X-Hasura-User-Id"))]),
                check: None,
                columns: vec![1, 2],
                set: vec![],
                backend_only: false,
            }),
            ..Default::default()
        },
    );
    let mut article_perms = BTreeMap::new();
    article_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2, 3, 4],
                filter: obj(&[(
                    "$or",
                    Value::List(vec![
                        obj(&[("author_id", s("X-HASURA-USER-ID"))]),
                        obj(&[("is_published", Value::Boolean(true))]),
                    ]),
                )]),
                ..Default::default()
            }),
            insert: Some(InsertPermission {
                check: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                columns: vec![0, 1, 2, 3],
                set: vec![(4, Value::Boolean(false))],
                backend_only: false,
            }),
            update: Some(UpdatePermission {
                filter: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                check: Some(obj(&[("is_published", Value::Boolean(false))])),
                columns: vec![1, 2, 4],
                set: vec![],
                backend_only: false,
            }),
            delete: Some(DeletePermission {
                filter: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                backend_only: false,
            }),
        },
    );
    let author = Table {
        name: QualifiedName::new("public", "author"),
        gql_name: "author".into(),
        root_fields: root_fields("author"),
        columns: vec![
            col("id", "int4", true),
            col("name", "text", false),
            col("bio", "text", false),
            col("is_registered", "bool", true),
        ],
        primary_key: vec![0],
        unique_constraints: vec![
            uc("author_pkey", vec![0], true),
            uc("author_name_key", vec![1], false),
        ],
        relationships: vec![Relationship {
            name: "articles".into(),
            kind: RelKind::Array,
            target: 1,
            mapping: vec![(0, 3)],
            comment: None,
            local_fk: false,
        }],
        computed_fields: vec![],
        permissions: author_perms,
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    };
    let article = Table {
        name: QualifiedName::new("public", "article"),
        gql_name: "article".into(),
        root_fields: root_fields("article"),
        columns: vec![
            col("id", "int4", true),
            col("title", "text", false),
            col("content", "text", false),
            col("author_id", "int4", false),
            col("is_published", "bool", false),
        ],
        primary_key: vec![0],
        unique_constraints: vec![uc("article_pkey", vec![0], true)],
        relationships: vec![Relationship {
            name: "author".into(),
            kind: RelKind::Object,
            target: 0,
            mapping: vec![(3, 0)],
            comment: None,
            local_fk: true,
        }],
        computed_fields: vec![],
        permissions: article_perms,
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    };
    let publish = Function {
        name: QualifiedName::new("public", "publish_articles"),
        gql_name: "publish_articles".into(),
        gql_aggregate_name: "publish_articles_aggregate".into(),
        args: vec![FunctionArg {
            name: Some("author".into()),
            pg_type: PgType::scalar("int4"),
            has_default: false,
        }],
        session_argument: None,
        returns: FunctionReturn::Table {
            table: 1,
            set: true,
        },
        exposed_as: ExposedAs::Mutation,
        volatility: 'v',
        permissions: vec![],
        comment: None,
    };
    Schema {
        tables: vec![author, article],
        functions: vec![publish],
        ..Default::default()
    }
}

/// A psql script running the plan's statements in one transaction (PREPARE/EXECUTE, all
/// parameters text, as every host binds them).
fn psql_script(plan: &Plan, vars: &[(String, Value)], session: &Session) -> String {
    let lit = |p: &Option<String>| match p {
        None => "NULL".to_string(),
        Some(t) => format!("'{}'", t.replace('\'', "''")),
    };
    let mut out = String::from("BEGIN;\n");
    out.push_str(&format!(
        "SELECT set_config('hasura.user', {}, true);\n",
        lit(&Some(graphedge_core::encode::session_json(session)))
    ));
    let mut stmts: Vec<(String, Vec<Option<String>>)> = Vec::new();
    for i in 0..plan.steps.len() {
        let b = plan.bind_step(i, vars, session).unwrap_or_default();
        stmts.push((plan.steps[i].sql.clone(), b));
    }
    stmts.push((
        plan.sql.clone(),
        plan.bind(vars, session).unwrap_or_default(),
    ));
    for (i, (sql, params)) in stmts.iter().enumerate() {
        let types = vec!["text"; params.len()].join(",");
        let args: Vec<String> = params.iter().map(lit).collect();
        if params.is_empty() {
            out.push_str(&format!("PREPARE s{i} AS {sql};\nEXECUTE s{i};\n"));
        } else {
            out.push_str(&format!(
                "PREPARE s{i}({types}) AS {sql};\nEXECUTE s{i}({});\n",
                args.join(", ")
            ));
        }
    }
    out.push_str("ROLLBACK;\n");
    out
}

/// Compiles `query` as `role` and renders the plan (steps, SQL, parameters) or the error.
fn check(name: &str, role: &str, query: &str, variables: &[(&str, Value)]) -> String {
    let schema = schema();
    let session = user_session(role, "1");
    let vars = owned_vars(variables);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    match compile(&schema, &session, &req, &Options::default()) {
        Ok(plan) => {
            if let Ok(dir) = std::env::var("MUTATION_SQL_DIR") {
                let _ = std::fs::write(
                    format!("{dir}/{name}.sql"),
                    psql_script(&plan, &vars, &session),
                );
            }
            match &plan.kind {
                PlanKind::Static(json) => format!("static: {json}"),
                _ => {
                    let mut out = String::new();
                    for (i, st) in plan.steps.iter().enumerate() {
                        out.push_str(&format!(
                            "step {i}: {}\nparams: {:?}\nbound: {:?}\n\n",
                            st.sql,
                            st.params,
                            plan.bind_step(i, &vars, &session)
                        ));
                    }
                    out.push_str(&format!(
                        "final: {}\nparams: {:?}\nshaping: {:?}",
                        plan.sql, plan.params, plan.shaping_variables
                    ));
                    out
                }
            }
        }
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
            insta::assert_snapshot!(check(stringify!($name), $role, $query, $vars));
        }
    };
}

snap!(
    insert_bulk_admin,
    "admin",
    "mutation { insert_author(objects: [{name: \"A\"}, {name: \"B\", bio: \"b\"}]) { affected_rows returning { id name articles { id } } } }"
);
snap!(
    insert_one_user_check_and_preset,
    "user",
    "mutation { insert_article_one(object: {title: \"T\", author_id: 1}) { id title is_published author { name } } }"
);
snap!(
    insert_nested_object,
    "admin",
    "mutation { insert_article(objects: [{title: \"a1\", author: {data: {name: \"N1\"}}}, {title: \"a2\", author: {data: {name: \"N2\"}}}]) { affected_rows returning { id title author { id name } } } }"
);
snap!(
    insert_nested_array,
    "admin",
    "mutation { insert_author(objects: [{name: \"N3\", articles: {data: [{title: \"x\"}, {title: \"y\"}]}}]) { affected_rows returning { id name articles { title } } } }"
);
snap!(
    insert_nested_fk_determined,
    "admin",
    "mutation { insert_author(objects: [{name: \"N3\", articles: {data: [{title: \"x\", author_id: 2}]}}]) { affected_rows } }"
);
snap!(
    insert_object_rel_fk_given,
    "admin",
    "mutation { insert_article(objects: [{title: \"x\", author_id: 1, author: {data: {name: \"z\"}}}]) { affected_rows } }"
);
snap!(
    insert_on_conflict_update,
    "admin",
    "mutation { insert_author(objects: [{id: 1, name: \"A\"}], on_conflict: {constraint: author_pkey, update_columns: [name], where: {bio: {_is_null: true}}}) { affected_rows returning { id name } } }"
);
snap!(
    insert_on_conflict_bad_constraint,
    "admin",
    "mutation { insert_author(objects: [{id: 1, name: \"A\"}], on_conflict: {constraint: nope, update_columns: [name]}) { affected_rows } }"
);
snap!(
    insert_unknown_column,
    "user",
    "mutation { insert_article(objects: [{title: \"x\", foo: 1}]) { affected_rows } }"
);
snap!(
    insert_variables,
    "admin",
    "mutation m($objs: [author_insert_input!]!) { insert_author(objects: $objs) { affected_rows } }",
    &[(
        "objs",
        Value::List(vec![obj(&[("name", s("V1"))]), obj(&[("name", s("V2"))])])
    )]
);
snap!(
    update_user_set_inc_check,
    "user",
    "mutation { update_article(where: {id: {_eq: 1}}, _set: {title: \"new\"}) { affected_rows returning { id title } } }"
);
snap!(
    update_inc_on_text,
    "admin",
    "mutation { update_author(where: {}, _inc: {name: 1}) { affected_rows } }"
);
snap!(
    update_multiple_operators,
    "admin",
    "mutation { update_article(where: {}, _set: {id: 1, author_id: 2}, _inc: {id: 1, author_id: 1}) { affected_rows } }"
);
snap!(
    update_by_pk,
    "admin",
    "mutation { update_author_by_pk(pk_columns: {id: 1}, _set: {bio: \"x\"}) { id bio } }"
);
snap!(
    update_many,
    "admin",
    "mutation { update_author_many(updates: [{where: {id: {_eq: 1}}, _set: {bio: \"a\"}}, {where: {id: {_eq: 2}}, _set: {bio: \"b\"}}]) { affected_rows returning { id } } }"
);
snap!(
    update_empty_set,
    "admin",
    "mutation { update_author(where: {id: {_eq: 1}}, _set: {}) { affected_rows returning { id } } }"
);
snap!(
    delete_user,
    "user",
    "mutation { delete_article(where: {title: {_eq: \"x\"}}) { affected_rows returning { id author { name } } } }"
);
snap!(
    delete_by_pk,
    "admin",
    "mutation { delete_article_by_pk(id: 1) { id title } }"
);
snap!(
    two_fields_in_order,
    "admin",
    "mutation { a: insert_author_one(object: {name: \"Q\"}) { id } b: update_author(where: {name: {_eq: \"Q\"}}, _set: {bio: \"seen\"}) { affected_rows returning { bio } } __typename }"
);
snap!(
    no_such_mutation,
    "user",
    "mutation { delete_author(where: {}) { affected_rows } }"
);
snap!(
    insert_check_fails,
    "user",
    "mutation { insert_article(objects: [{title: \"T\", author_id: 2}]) { affected_rows } }"
);
snap!(
    update_check_fails,
    "user",
    "mutation { update_article(where: {id: {_eq: 1}}, _set: {is_published: true}) { affected_rows } }"
);
snap!(
    upsert_user_update_check,
    "user",
    "mutation { insert_article(objects: [{id: 1, title: \"up\", author_id: 1}], on_conflict: {constraint: article_pkey, update_columns: [title]}) { affected_rows returning { id title } } }"
);
snap!(
    on_conflict_placeholder,
    "user",
    "mutation { insert_article(objects: [{id: 1, author_id: 1}], on_conflict: {constraint: article_pkey, update_columns: [_PLACEHOLDER]}) { affected_rows } }"
);
snap!(
    function_mutation,
    "user",
    "mutation { publish_articles(args: {author: 1}, where: {title: {_is_null: false}}) { id author { name } } }"
);
