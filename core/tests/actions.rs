//! Action root fields: the call a plan holds (arguments, selection, relationship statements
//! per role), the handler's `input` bound to variables, and the handler's answer checked and
//! shaped. One `check()` renders all three for each case.
use graphedge_core::actions::*;
use graphedge_core::model::RelKind;
use graphedge_core::{compile, Options, PlanKind, Request, Session, Slot, Value};

mod common;
use common::*;

fn named(n: &str) -> Type {
    Type::Named(n.into())
}
fn non_null(t: Type) -> Type {
    Type::NonNull(Box::new(t))
}
fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}
fn field(name: &str, ty: Type) -> FieldDef {
    FieldDef {
        name: name.into(),
        ty,
        description: None,
    }
}

fn action(name: &str, root: ActionRoot, arguments: Vec<FieldDef>, output: Type) -> Action {
    Action {
        name: name.into(),
        comment: None,
        kind: ActionKind::Synchronous,
        root,
        arguments,
        output_type: output,
        handler: "http://handler/{{PATH}}".into(),
        headers: vec![],
        forward_client_headers: false,
        ignored_client_headers: None,
        timeout: 30,
        request_transform: None,
        response_transform: None,
        permissions: vec!["user".into()],
    }
}

/// The blog schema (author, article; role `user` reads its own author row) with custom types
/// `AuthorInput`, `Mood`, `AuthorOut` (relationships `author` and `articles`) and the actions
/// `create_author` (mutation), `ids` (query, `[Int!]!`), `lookup` (query) and `admin_only`.
fn schema() -> graphedge_core::Schema {
    let mut schema = blog_schema();
    schema.custom_types = CustomTypes {
        scalars: vec![CustomScalar {
            name: "Blob".into(),
            description: None,
        }],
        enums: vec![CustomEnum {
            name: "Mood".into(),
            description: None,
            values: ["happy", "sad"]
                .iter()
                .map(|v| CustomEnumValue {
                    value: (*v).into(),
                    description: None,
                    is_deprecated: false,
                })
                .collect(),
        }],
        input_objects: vec![InputObject {
            name: "AuthorInput".into(),
            description: None,
            fields: vec![
                field("name", non_null(named("String"))),
                field("rating", named("Int")),
                field("mood", named("Mood")),
                field("parent", named("AuthorInput")),
                field("extra", named("Blob")),
            ],
        }],
        objects: vec![ObjectType {
            name: "AuthorOut".into(),
            description: None,
            fields: vec![
                field("id", non_null(named("Int"))),
                field("name", named("String")),
                field("mood", named("Mood")),
                field("child", named("AuthorOut")),
                field("tags", list(non_null(named("String")))),
            ],
            relationships: vec![
                ObjectRelationship {
                    name: "author".into(),
                    kind: RelKind::Object,
                    target: 0,
                    mapping: vec![("id".into(), 0)],
                },
                ObjectRelationship {
                    name: "articles".into(),
                    kind: RelKind::Array,
                    target: 1,
                    mapping: vec![("id".into(), 3)],
                },
            ],
        }],
    };
    let mut admin_only = action(
        "admin_only",
        ActionRoot::Query,
        vec![],
        non_null(named("String")),
    );
    admin_only.permissions.clear();
    schema.actions = vec![
        action(
            "create_author",
            ActionRoot::Mutation,
            vec![field("author", non_null(named("AuthorInput")))],
            named("AuthorOut"),
        ),
        action(
            "ids",
            ActionRoot::Query,
            vec![field("first", named("Int"))],
            non_null(list(non_null(named("Int")))),
        ),
        action(
            "lookup",
            ActionRoot::Query,
            vec![field("id", non_null(named("Int")))],
            non_null(list(named("AuthorOut"))),
        ),
        admin_only,
        Action {
            kind: ActionKind::Asynchronous,
            ..action(
                "place_order",
                ActionRoot::Mutation,
                vec![field("item", non_null(named("String")))],
                named("AuthorOut"),
            )
        },
    ];
    schema
}

/// Compiles `query` as `role` (`x-hasura-user-id` 1) and renders each action call (input
/// bound to `variables`, `answer` shaped, relationship statements), the other root fields'
/// slots, or the error.
fn check(role: &str, query: &str, variables: &[(&str, Value)], answer: &str) -> String {
    let schema = schema();
    let session: Session = user_session(role, "1");
    let vars = owned_vars(variables);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    let plan = match compile(&schema, &session, &req, &Options::default()) {
        Ok(plan) => plan,
        Err(e) => return format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    };
    let (parts, slots, actions) = match &plan.kind {
        PlanKind::Sources {
            parts,
            slots,
            actions,
            ..
        } => (parts.as_slice(), format!("{slots:?}"), actions.clone()),
        PlanKind::ActionSubscription(call) => (
            &[][..],
            "(a subscription)".to_string(),
            vec![(**call).clone()],
        ),
        other => return format!("not an action plan: {other:?}"),
    };
    let answer = parse_json(answer);
    let mut out = format!("slots: {slots}\nparts: {}\n", parts.len());
    for p in parts {
        out.push_str(&format!("part sql: {}\n", p.sql));
    }
    for call in &actions {
        let (input, answer) = match call.mode {
            graphedge_core::CallMode::AsyncResult => (
                render(result_id(call, &vars)),
                render(select_output(call, &answer)),
            ),
            graphedge_core::CallMode::AsyncStart => (
                render(input_json(&schema, call, &vars)),
                "(the logged call's id)".to_string(),
            ),
            graphedge_core::CallMode::Sync => (
                render(input_json(&schema, call, &vars)),
                render(shape_output(&schema, call, &answer)),
            ),
        };
        out.push_str(&format!(
            "\naction {} as {} ({:?})\ninput: {}\noutput: {:?}\nanswer: {}\n",
            call.action, call.key, call.mode, input, call.output, answer,
        ));
        for j in &call.joins {
            out.push_str(&format!(
                "join at {:?} on source {}: {}\nparams: {:?}\n",
                j.path, j.plan.source, j.plan.sql, j.plan.params
            ));
        }
    }
    let _ = Slot::Static(String::new());
    out
}

fn render(r: Result<String, graphedge_core::Error>) -> String {
    match r {
        Ok(s) => s,
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

/// A small JSON reader for the answers (numbers kept as written).
fn parse_json(text: &str) -> Value {
    fn value(s: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Value {
        while s.peek().is_some_and(|c| c.is_whitespace()) {
            s.next();
        }
        match s.peek().copied() {
            Some('{') => {
                s.next();
                let mut fields = Vec::new();
                loop {
                    while s.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                        s.next();
                    }
                    if s.peek() == Some(&'}') {
                        s.next();
                        return Value::Object(fields);
                    }
                    let Value::String(k) = value(s) else {
                        panic!("object key")
                    };
                    while s.peek().is_some_and(|c| c.is_whitespace() || *c == ':') {
                        s.next();
                    }
                    fields.push((k, value(s)));
                }
            }
            Some('[') => {
                s.next();
                let mut items = Vec::new();
                loop {
                    while s.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                        s.next();
                    }
                    if s.peek() == Some(&']') {
                        s.next();
                        return Value::List(items);
                    }
                    items.push(value(s));
                }
            }
            Some('"') => {
                s.next();
                let mut out = String::new();
                for c in s.by_ref() {
                    if c == '"' {
                        break;
                    }
                    out.push(c);
                }
                Value::String(out)
            }
            _ => {
                let mut word = String::new();
                while s
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '+'))
                {
                    word.push(s.next().unwrap());
                }
                match word.as_str() {
                    "null" => Value::Null,
                    "true" => Value::Boolean(true),
                    "false" => Value::Boolean(false),
                    _ => Value::Number(word),
                }
            }
        }
    }
    value(&mut text.chars().peekable())
}

macro_rules! snap {
    ($name:ident, $role:expr, $query:expr, $vars:expr, $answer:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check($role, $query, $vars, $answer));
        }
    };
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

// A mutation action: the input object bound from a variable and literals; the relationships
// to tables are keyed statements (the role's permission filter on `author` applies).
snap!(
    mutation_with_relationships,
    "user",
    "mutation ($n: String!) { create_author(author: {name: $n, mood: happy, rating: 3}) { id name __typename author { name } articles(limit: 2) { title } } }",
    &[("n", s("Ann"))],
    r#"{"id": 7, "name": "Ann", "unknown": 1, "tags": ["a"]}"#
);
// The input checked against its type at bind time: a required field missing in a variable.
snap!(
    input_missing_required_field,
    "admin",
    "mutation ($a: AuthorInput!) { create_author(author: $a) { id } }",
    &[("a", obj(&[("rating", Value::Number("1".into()))]))],
    r#"{"id": 1}"#
);
snap!(
    input_unknown_field_and_bad_enum,
    "admin",
    "mutation { create_author(author: {name: \"x\", mood: angry}) { id } }",
    &[],
    r#"{"id": 1}"#
);
// A variable left out leaves its field out of the input.
snap!(
    input_absent_variable_is_left_out,
    "admin",
    "mutation ($r: Int) { create_author(author: {name: \"x\", rating: $r, parent: {name: \"p\"}}) { id child { id name } } }",
    &[],
    r#"{"id": 1, "child": {"id": 2, "name": null, "child": null}}"#
);
// The answer against the output type: a missing non-null field, a null in one, wrong kinds.
snap!(
    answer_missing_field,
    "admin",
    "mutation { create_author(author: {name: \"x\"}) { name } }",
    &[],
    r#"{"name": "Ann"}"#
);
snap!(
    answer_nested_null_for_non_null,
    "admin",
    "query { lookup(id: 1) { id child { id } } }",
    &[],
    r#"[{"id": 1, "child": {"id": null}}]"#
);
snap!(
    answer_array_for_object,
    "admin",
    "mutation { create_author(author: {name: \"x\"}) { id } }",
    &[],
    r#"[{"id": 1}]"#
);
snap!(
    answer_object_for_list,
    "admin",
    "query { lookup(id: 1) { id } }",
    &[],
    r#"{"id": 1}"#
);
snap!(
    answer_string_for_int,
    "admin",
    "query { ids }",
    &[],
    r#"[1, "2"]"#
);
snap!(
    answer_null_for_non_null,
    "admin",
    "query { ids }",
    &[],
    r#"null"#
);
snap!(
    answer_bad_enum,
    "admin",
    "query { lookup(id: 1) { mood } }",
    &[],
    r#"[{"id": 1, "mood": "angry"}]"#
);
// Scalar outputs take no selection; object outputs need one.
snap!(
    scalar_output_with_selection,
    "admin",
    "query { ids { x } }",
    &[],
    "[]"
);
snap!(
    object_output_without_selection,
    "admin",
    "query { lookup(id: 1) }",
    &[],
    "[]"
);
// Arguments: unknown, missing required.
snap!(
    unknown_argument,
    "admin",
    "query { lookup(id: 1, limit: 2) { id } }",
    &[],
    "[]"
);
snap!(
    missing_argument,
    "admin",
    "query { lookup { id } }",
    &[],
    "[]"
);
// Permissions: a role without the action's permission does not see it; admin does.
snap!(
    role_without_permission,
    "user",
    "query { admin_only }",
    &[],
    "\"x\""
);
snap!(
    admin_calls_any_action,
    "admin",
    "query { admin_only }",
    &[],
    "\"x\""
);
// Actions beside table fields and __typename: one part for the source, slots in order.
snap!(
    beside_table_fields,
    "user",
    "query { a: ids(first: 2) __typename author { name } b: lookup(id: 1) { __typename id } }",
    &[],
    r#"[{"id": 3, "name": "n"}]"#
);

// Asynchronous actions: the mutation answers the call's id (no selection); the result field
// on the query root selects `id`, `created_at`, `errors` and `output` (with relationships).
snap!(
    async_mutation,
    "user",
    "mutation { place_order(item: \"book\") }",
    &[],
    "\"0b5f3c9e-0000-4000-8000-000000000001\""
);
snap!(
    async_mutation_takes_no_selection,
    "user",
    "mutation { place_order(item: \"book\") { id } }",
    &[],
    "null"
);
snap!(
    async_result,
    "user",
    "query ($id: uuid!) { r: place_order(id: $id) { __typename id errors output { id author { name } } } }",
    &[("id", s("0b5f3c9e-0000-4000-8000-000000000001"))],
    r#"{"id": "0b5f3c9e-0000-4000-8000-000000000001", "created_at": "2026-12-04T00:00:00+00:00", "errors": null, "output": {"id": 1, "name": "n"}}"#
);
// The result as a subscription (polled by the host); query actions cannot be subscribed to,
// and a result is its subscription's only field.
snap!(
    async_result_subscription,
    "user",
    "subscription ($id: uuid!) { r: place_order(id: $id) { id output { id author { name } } } }",
    &[("id", s("0b5f3c9e-0000-4000-8000-000000000001"))],
    r#"{"id": "0b5f3c9e-0000-4000-8000-000000000001", "created_at": "2026-12-04T00:00:00+00:00", "errors": null, "output": {"id": 1, "name": "n"}}"#
);
snap!(
    query_action_subscription,
    "admin",
    "subscription { lookup(id: 1) { id } }",
    &[],
    "[]"
);
snap!(
    async_result_subscription_with_another_field,
    "admin",
    "subscription @_multiple_top_level_fields { place_order(id: \"x\") { id } __typename }",
    &[],
    "null"
);
snap!(
    async_result_bad_id,
    "user",
    "query { place_order(id: \"nope\") { id } }",
    &[],
    "null"
);
