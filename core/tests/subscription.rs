//! Snapshot tests of subscriptions' multiplexed SQL per role: live queries and `<t>_stream`
//! fields (Hasura v2's streaming subscriptions). One `check()` is the only caller of the API.
use graphedge_core::{compile, Options, PlanKind, Request, Session, Value};

mod common;
use common::*;

/// The blog schema with `article.title` exposed as `headline` (a custom column name) and the
/// `user` role's article rows limited to 3.
fn schema() -> graphedge_core::Schema {
    let mut schema = blog_schema();
    let article = &mut schema.tables[1];
    article.columns[1].gql_name = "headline".into();
    if let Some(select) = article
        .permissions
        .get_mut("user")
        .and_then(|p| p.select.as_mut())
    {
        select.limit = Some(3);
    }
    schema
}

/// A `role` session with `x-hasura-user-id` 1 and an `x-hasura-org-id` no permission uses.
fn session(role: &str) -> Session {
    let mut s = user_session(role, "1");
    s.vars.insert("x-hasura-org-id".into(), "9".into());
    s
}

/// Compiles `query` as `role` and renders the plan (SQL, parameters, one cohort's bound
/// values, shaping variables, the stream cursor's parameter) or the error.
fn check(role: &str, query: &str, variables: &[(&str, Value)]) -> String {
    let schema = schema();
    let session = session(role);
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
            PlanKind::Subscription { stream, .. } => format!(
                "{}\nparams: {:?}\nbound: {:?}\nshaping: {:?}\nstream cursor: {:?}",
                plan.sql,
                plan.params,
                plan.bind(&vars, &session),
                plan.shaping_variables,
                stream
            ),
            other => format!("not a subscription plan: {other:?}"),
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

// Live queries: literals are parameters; the role's session variable is one, unused ones are not.
snap!(
    live_admin,
    "admin",
    "subscription { author(where: {name: {_eq: \"x\"}}, limit: 5) { id name articles { headline } } }"
);
snap!(
    live_user,
    "user",
    "subscription { author { id name articles(where: {rating: {_gt: 2}}) { id } } }"
);
snap!(
    live_variable,
    "user",
    "subscription s($id: Int!) { article_by_pk(id: $id) { id headline } }",
    &[("id", Value::Number("7".into()))]
);

// Streams.
snap!(
    stream_asc,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { id headline author { name } __typename } }"
);
snap!(
    stream_desc_where,
    "admin",
    "subscription { article_stream(batch_size: 10, cursor: [{initial_value: {rating: \"100\"}, ordering: DESC}], where: {author_id: {_eq: 1}}) { id rating } }"
);
snap!(
    stream_variables,
    "admin",
    "subscription s($c: Int!, $n: Int!) { article_stream(batch_size: $n, cursor: {initial_value: {id: $c}, ordering: ASC}) { id } }",
    &[("c", Value::Number("41".into())), ("n", Value::Number("5".into()))]
);
snap!(
    stream_non_unique_cursor,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {rating: 0}}) { id rating } }"
);
snap!(
    stream_custom_column_name,
    "admin",
    "subscription { article_stream(batch_size: 1, cursor: {initial_value: {headline: \"m\"}}) { headline } }"
);
snap!(
    stream_permission_filter_and_limit,
    "user",
    "subscription { article_stream(batch_size: 10, cursor: {initial_value: {id: 5}}, where: {headline: {_like: \"%a%\"}}) { id author { id } } }"
);
snap!(
    stream_permission_session_variable,
    "user",
    "subscription { author_stream(batch_size: 20, cursor: [null, {initial_value: {name: \"a\"}}]) { id name } }"
);
snap!(
    stream_aliased,
    "admin",
    "subscription { s: article_stream(batch_size: 3, cursor: {initial_value: {id: 1}}) { i: id } }"
);

// Errors.
snap!(
    two_root_fields,
    "admin",
    "subscription { author { id } article { id } }"
);
snap!(
    multiple_top_level_fields,
    "user",
    "subscription @_multiple_top_level_fields { author { id } a: article(limit: 1) { id } }"
);
snap!(
    stream_with_live_field,
    "admin",
    "subscription @_multiple_top_level_fields { author { id } article_stream(batch_size: 1, cursor: {initial_value: {id: 0}}) { id } }"
);
snap!(
    two_streams,
    "admin",
    "subscription @_multiple_top_level_fields { a: article_stream(batch_size: 1, cursor: {initial_value: {id: 0}}) { id } b: article_stream(batch_size: 1, cursor: {initial_value: {id: 0}}) { id } }"
);
snap!(
    introspection_at_root,
    "admin",
    "subscription { __schema { queryType { name } } }"
);
snap!(typename_at_root, "admin", "subscription { __typename }");
snap!(
    stream_no_cursor_column,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {}}) { id } }"
);
snap!(
    stream_empty_cursor_list,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: []) { id } }"
);
snap!(
    stream_two_cursor_columns,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 1, rating: 2}}) { id } }"
);
snap!(
    stream_two_cursors,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: [{initial_value: {id: 1}}, {initial_value: {rating: 2}}]) { id } }"
);
snap!(
    stream_negative_batch_size,
    "admin",
    "subscription { article_stream(batch_size: -1, cursor: {initial_value: {id: 1}}) { id } }"
);
snap!(
    stream_missing_batch_size,
    "admin",
    "subscription { article_stream(cursor: {initial_value: {id: 1}}) { id } }"
);
snap!(
    stream_unknown_argument,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 1}}, limit: 3) { id } }"
);
snap!(
    stream_hidden_cursor_column,
    "user",
    "subscription { author_stream(batch_size: 2, cursor: {initial_value: {secret: \"s\"}}) { id } }"
);
snap!(
    stream_postgres_column_name,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {title: \"s\"}}) { id } }"
);
snap!(
    stream_bad_initial_value,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: \"abc\"}}) { id } }"
);
snap!(
    stream_bad_ordering,
    "admin",
    "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 1}, ordering: UP}) { id } }"
);
