//! Snapshot tests of mutation plans (modification steps + final statement) per role. One
//! `check()` renders a plan; the schema is a small author/article model like the fixtures'
//! (`author(id serial pk, name text unique, bio text, is_registered bool default false)`,
//! `article(id serial pk, title, content, author_id → author, is_published bool)`).
//!
//! With `MUTATION_SQL_DIR` set, every case also writes a psql script (PREPARE/EXECUTE per
//! statement in one transaction) there, to run the plans by hand against real Postgres.
use graphedge_core::{compile, Options, Plan, PlanKind, Request, Session, Value};

mod common;
use common::authors::{s, schema};
use common::*;

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
                    let mut out = render_steps(&plan, &vars, &session);
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
