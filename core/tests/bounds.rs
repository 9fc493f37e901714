//! Hostile documents: every recursive walk over request input is bounded and answers with a
//! Hasura error before the stack runs out. Each case runs in a thread with a 1 MB stack (a
//! Cloudflare Worker's) in this (debug) build, whose frames are the biggest, just under and
//! just over each bound; a stack overflow aborts the test binary, so passing is the proof.
//! One `check()` runs a table of cases; generators build the nested documents.
use graphedge_core::model::*;
use graphedge_core::{compile, Options, Request, Value};

mod common;
use common::*;

/// Hasura's answer expected for a case: the compile succeeds, or fails with this code, path
/// (any path when empty: paths deep in generated documents are long) and message (a prefix of
/// the message is enough).
#[derive(Debug, Clone)]
enum Expect {
    Ok,
    Err(&'static str, String, &'static str),
}
use Expect::*;

fn err(code: &'static str, path: impl Into<String>, message: &'static str) -> Expect {
    Err(code, path.into(), message)
}

const TOO_DEEP: &str = "the query is nested too deeply";
const NOT_VALID: &str = "not a valid graphql query";

/// The blog schema with self-referencing object relationships (`author.parent`,
/// `article.next`) so that relationship paths in `where` and `order_by` can nest at will.
fn schema() -> Schema {
    let mut s = blog_schema();
    for (t, name) in [(0, "parent"), (1, "next")] {
        s.tables[t].relationships.push(Relationship {
            name: name.into(),
            kind: RelKind::Object,
            target: t,
            mapping: vec![(0, 0)],
            comment: None,
            local_fk: true,
        });
    }
    s
}

/// Compiles `query` as `role` with `variables` on a 1 MB stack and compares the outcome.
fn check(name: &str, role: &str, query: &str, variables: Vec<(String, Value)>, want: Expect) {
    // An overflow aborts the process before the harness prints anything: this names the case
    // (visible with `--nocapture`).
    eprintln!("case: {name}");
    let (query, role) = (query.to_string(), role.to_string());
    let got = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let schema = schema();
            let session = user_session(&role, "1");
            let req = Request {
                query: &query,
                operation_name: None,
                variables: &variables,
            };
            let out = compile(&schema, &session, &req, &Options::default());
            // Binding walks the variables again (a cached plan is re-bound without compiling).
            let out = out.and_then(|plan| plan.bind(&variables, &session).map(|_| ()));
            // The deep values are dropped here too, on the small stack.
            drop(variables);
            out
        })
        .expect("spawn")
        .join()
        .expect("the compiler panicked");
    match (&want, &got) {
        (Ok, Result::Ok(())) => {}
        (Err(code, path, message), Result::Err(e))
            if e.code.as_str() == *code
                && (path.is_empty() || &e.path == path)
                && e.message.starts_with(message) => {}
        _ => panic!("{name}: expected {want:?}, got {got:?}"),
    }
}

/// `n` copies of `open`, then `inner`, then `n` copies of `close`.
fn nest(n: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{}{}", open.repeat(n), inner, close.repeat(n))
}

/// `{ author { articles { author { … { id } } } } }` with `levels` fields on the path.
fn relationships(levels: usize) -> String {
    let mut s = String::from("{ id }");
    for i in (0..levels).rev() {
        let f = if i % 2 == 0 { "author" } else { "articles" };
        s = format!("{{ {f} {s} }}");
    }
    s
}

/// The JSON path Hasura reports inside `relationships(n)` after `n` fields.
fn relationships_path(levels: usize) -> String {
    let mut p = String::from("$");
    for i in 0..levels {
        p.push_str(if i % 2 == 0 {
            ".selectionSet.author"
        } else {
            ".selectionSet.articles"
        });
    }
    p
}

/// Fragments `F0 … F{n-1}`, each selecting `parent` and spreading the next inside it.
fn fragment_chain(n: usize) -> String {
    let mut s = String::from("{ author { ...F0 } }\n");
    for i in 0..n {
        let next = if i + 1 < n {
            format!("...F{}", i + 1)
        } else {
            "id".into()
        };
        s.push_str(&format!(
            "fragment F{i} on author {{ parent {{ {next} }} }}\n"
        ));
    }
    s
}

/// `n` fragments, each spreading the next twice: 2^n fields once expanded.
fn fan_out(n: usize) -> String {
    let mut s = String::from("query { author { ...F0 } }\n");
    for i in 0..n {
        let body = if i + 1 < n {
            format!("id ...F{} ...F{}", i + 1, i + 1)
        } else {
            "id name".into()
        };
        s.push_str(&format!("fragment F{i} on author {{ {body} }}\n"));
    }
    s
}

/// A variable value nested `n` objects deep (`{"_and": {"_and": … {"id": {"_eq": 1}}}}`).
fn deep_and_value(n: usize) -> Value {
    let mut v = obj(&[("id", obj(&[("_eq", Value::Number("1".into()))]))]);
    for _ in 0..n {
        v = obj(&[("_and", v)]);
    }
    v
}

/// A list nested `n` deep around `1`.
fn deep_list_value(n: usize) -> Value {
    let mut v = Value::Number("1".into());
    for _ in 0..n {
        v = Value::List(vec![v]);
    }
    v
}

fn vars(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    owned_vars(pairs)
}

#[test]
fn fragments_like_hasura() {
    let cycle = "query { author { ...A } }
        fragment A on author { id articles { ...B } }
        fragment B on article { title author { ...A } }";
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "two-fragment cycle",
            cycle.into(),
            err(
                "validation-failed",
                "$.selectionSet.author.selectionSet.A.selectionSet.articles.selectionSet.B.selectionSet.author.selectionSet",
                "the fragment definition(s) A and B form a cycle",
            ),
        ),
        (
            "three-fragment cycle",
            "{ author { ...A } } fragment A on author { ...B } fragment B on author { ...C }
             fragment C on author { ...A }"
                .into(),
            err(
                "validation-failed",
                "$.selectionSet.author.selectionSet.A.selectionSet.B.selectionSet.C.selectionSet",
                "the fragment definition(s) A, B, and C form a cycle",
            ),
        ),
        (
            "self cycle",
            "{ author { ...A } } fragment A on author { id ...A }".into(),
            err(
                "validation-failed",
                "$.selectionSet.author.selectionSet.A.selectionSet",
                "the fragment definition(s) A form a cycle",
            ),
        ),
        (
            "cycle inside a skipped spread",
            "{ author { ...A @skip(if: true) } } fragment A on author { ...A }".into(),
            err(
                "validation-failed",
                "$.selectionSet.author.selectionSet.A.selectionSet",
                "the fragment definition(s) A form a cycle",
            ),
        ),
        (
            "cycle under introspection",
            "{ __schema { ...S } } fragment S on __Schema { types { ...T } }
             fragment T on __Type { ofType { ...T } }"
                .into(),
            err(
                "validation-failed",
                "$.selectionSet.__schema.selectionSet.S.selectionSet.types.selectionSet.T.selectionSet.ofType.selectionSet",
                "the fragment definition(s) T form a cycle",
            ),
        ),
        // Hasura inlines only the fragments the operation uses.
        (
            "unused cyclic fragments",
            "{ author { id } } fragment A on author { ...B } fragment B on author { ...A }".into(),
            Ok,
        ),
        (
            "undefined fragment",
            "{ author { id articles { ...Nope } } }".into(),
            err(
                "validation-failed",
                "$.selectionSet.author.selectionSet.articles.selectionSet",
                "reference to undefined fragment \"Nope\"",
            ),
        ),
        (
            "a fragment used many times is fine",
            "{ a: author { ...A } b: author { ...A articles { author { ...A } } } }
             fragment A on author { id name }"
                .into(),
            Ok,
        ),
        ("fan-out of 10", fan_out(10), Ok),
        (
            "fan-out of 30",
            fan_out(30),
            err(
                "validation-failed",
                "$",
                "the query has more than 200000 fields once its fragments are expanded",
            ),
        ),
        (
            "fan-out of 100",
            fan_out(100),
            err("validation-failed", "$", "the query has more than"),
        ),
    ];
    for (name, query, want) in cases {
        check(name, "user", &query, vec![], want);
    }
}

/// Field nesting is bounded by `Options::max_depth` (64), also through fragments; every kind
/// of nesting the parser allows in one definition fits.
#[test]
fn nesting_of_selections() {
    let max = Options::default().max_depth;
    let chain_path = {
        let mut p = String::from("$.selectionSet.author");
        for i in 0..max {
            p.push_str(&format!(".selectionSet.F{i}.selectionSet.parent"));
        }
        p
    };
    let cases: Vec<(&str, String, Expect)> = vec![
        ("relationships at the bound", relationships(max), Ok),
        (
            "relationships over the bound",
            relationships(max + 1),
            err("validation-failed", relationships_path(max + 1), TOO_DEEP),
        ),
        (
            "relationships far over the bound",
            relationships(126),
            err("validation-failed", relationships_path(max + 1), TOO_DEEP),
        ),
        (
            "relationships beyond the parser",
            relationships(200),
            err("validation-failed", "$.query", NOT_VALID),
        ),
        ("fragment chain at the bound", fragment_chain(max - 1), Ok),
        (
            "fragment chain over the bound",
            fragment_chain(max),
            err("validation-failed", chain_path, TOO_DEEP),
        ),
        (
            "fragment chain of 5000",
            fragment_chain(5000),
            err("validation-failed", "", TOO_DEEP),
        ),
        (
            "inline fragments as deep as the parser allows",
            format!("{{ author {{ {} }} }}", nest(124, "... { ", "id", " }")),
            Ok,
        ),
        (
            "introspection ofType at the bound",
            format!(
                "{{ __type(name: \"author\") {} }}",
                nest(max - 1, "{ ofType ", "{ name }", " }")
            ),
            Ok,
        ),
        (
            "introspection ofType over the bound",
            format!(
                "{{ __type(name: \"author\") {} }}",
                nest(120, "{ ofType ", "{ name }", " }")
            ),
            err("validation-failed", "", TOO_DEEP),
        ),
        (
            "introspection fields and types",
            format!(
                "{{ __schema {{ types {} }} }}",
                nest(3, "{ fields { type ", "{ name }", " } }")
            ),
            Ok,
        ),
    ];
    for (name, query, want) in cases {
        check(name, "user", &query, vec![], want);
    }
}

/// A case with variables: name, query, variables, expected answer.
type ArgCase = (&'static str, String, Vec<(String, Value)>, Expect);

/// Arguments: boolean-expression nesting, relationship paths in `where` and `order_by`, lists,
/// as literals (bounded by the parser) and as variables (bounded before the compiler walks
/// them), for a role with permissions and for admin.
#[test]
fn nesting_of_arguments() {
    let var_deep = "$.variableValues.w";
    let cases: Vec<ArgCase> = vec![
        (
            "_and objects as deep as the parser allows",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(120, "{_and: ", "{id: {_eq: 1}}", "}")
            ),
            vec![],
            Ok,
        ),
        (
            "_and objects beyond the parser",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(200, "{_and: ", "{id: {_eq: 1}}", "}")
            ),
            vec![],
            err("validation-failed", "$.query", NOT_VALID),
        ),
        (
            "_or lists as deep as the parser allows",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(60, "{_or: [", "{id: {_eq: 1}}", "]}")
            ),
            vec![],
            Ok,
        ),
        (
            "_not as deep as the parser allows",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(120, "{_not: ", "{id: {_eq: 1}}", "}")
            ),
            vec![],
            Ok,
        ),
        (
            "where relationship path as deep as the parser allows",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(120, "{parent: ", "{id: {_eq: 1}}", "}")
            ),
            vec![],
            Ok,
        ),
        (
            "where array relationship path as deep as the parser allows",
            format!(
                "{{ author(where: {}) {{ id }} }}",
                nest(60, "{articles: {author: ", "{id: {_eq: 1}}", "}}")
            ),
            vec![],
            Ok,
        ),
        (
            "order_by relationship path as deep as the parser allows",
            format!(
                "{{ author(order_by: {}) {{ id }} }}",
                nest(120, "{parent: ", "{id: asc}", "}")
            ),
            vec![],
            Ok,
        ),
        (
            "_in list nested as deep as the parser allows",
            format!(
                "{{ author(where: {{id: {{_in: {}}}}}) {{ id }} }}",
                nest(120, "[", "1", "]")
            ),
            vec![],
            Ok,
        ),
        (
            "where variable at the bound",
            "query($w: author_bool_exp) { author(where: $w) { id } }".into(),
            vars(&[("w", deep_and_value(126))]),
            Ok,
        ),
        (
            "where variable over the bound",
            "query($w: author_bool_exp) { author(where: $w) { id } }".into(),
            vars(&[("w", deep_and_value(127))]),
            err(
                "validation-failed",
                var_deep,
                "the value is nested too deeply",
            ),
        ),
        (
            "where variable 1000 deep",
            "query($w: author_bool_exp) { author(where: $w) { id } }".into(),
            vars(&[("w", deep_and_value(1_000))]),
            err(
                "validation-failed",
                var_deep,
                "the value is nested too deeply",
            ),
        ),
        (
            "where variable at the bound inside a literal as deep as the parser allows",
            format!(
                "query($w: author_bool_exp) {{ author(where: {}) {{ id }} }}",
                nest(120, "{_and: ", "$w", "}")
            ),
            vars(&[("w", deep_and_value(126))]),
            err("validation-failed", "", "the argument is nested too deeply"),
        ),
        (
            "order_by variable inside a literal, both as deep as allowed",
            format!(
                "query($o: author_order_by) {{ author(order_by: {}) {{ id }} }}",
                nest(120, "{parent: ", "$o", "}")
            ),
            vars(&[("o", {
                let mut v = obj(&[("id", Value::Enum("asc".into()))]);
                for _ in 0..127 {
                    v = obj(&[("parent", v)]);
                }
                v
            })]),
            err("validation-failed", "", "the argument is nested too deeply"),
        ),
        (
            "list variable over the bound",
            "query($w: [Int!]) { author(where: {id: {_in: $w}}) { id } }".into(),
            vars(&[("w", deep_list_value(129))]),
            err(
                "validation-failed",
                var_deep,
                "the value is nested too deeply",
            ),
        ),
        (
            "unused variable 1000 deep",
            "{ author { id } }".into(),
            vars(&[("w", deep_list_value(1_000))]),
            err(
                "validation-failed",
                var_deep,
                "the value is nested too deeply",
            ),
        ),
    ];
    for role in ["user", "admin"] {
        for (name, query, variables, want) in cases.clone() {
            check(&format!("{role}: {name}"), role, &query, variables, want);
        }
    }
}

/// Nested inserts (two per `level`: an array then an object relationship): as deep as the
/// parser allows in a literal, and with a variable at the bottom of a literal, up to 64 nested
/// inserts and beyond, as admin.
#[test]
fn nested_inserts() {
    let level = |inner: &str| {
        format!("{{name: \"a\", articles: {{data: {{title: \"t\", author: {{data: {inner}}}}}}}}}")
    };
    let literal = |levels: usize, bottom: &str| {
        (0..levels).fold(String::from(bottom), |inner, _| level(&inner))
    };
    let variable = |levels: usize| {
        let mut v = obj(&[("name", Value::String("a".into()))]);
        for _ in 0..levels {
            let author = obj(&[("data", v)]);
            let article = obj(&[("title", Value::String("t".into())), ("author", author)]);
            v = obj(&[
                ("name", Value::String("a".into())),
                ("articles", obj(&[("data", article)])),
            ]);
        }
        vars(&[("o", v)])
    };
    let insert = |objects: String| {
        format!(
            "mutation($o: author_insert_input) {{ insert_author(objects: {objects}) {{ affected_rows }} }}"
        )
    };
    let too_deep = err("validation-failed", "", "the argument is nested too deeply");
    let cases: Vec<ArgCase> = vec![
        (
            "60 nested inserts",
            insert(literal(30, "{name: \"a\"}")),
            vec![],
            Ok,
        ),
        (
            "4 + 60 nested inserts",
            insert(literal(2, "$o")),
            variable(30),
            Ok,
        ),
        (
            "4 + 62 nested inserts",
            insert(literal(2, "$o")),
            variable(31),
            too_deep.clone(),
        ),
        (
            "60 + 62 nested inserts",
            insert(literal(30, "$o")),
            variable(31),
            too_deep,
        ),
    ];
    for (name, query, variables, want) in cases {
        check(name, "admin", &query, variables, want);
    }
}

/// Aliases repeating a large introspection field (~90 KB each here): the output is bounded
/// across the operation (64 MB), not only within one field.
#[test]
fn repeated_introspection() {
    let field = |i: usize| {
        format!(
            "s{i}: __schema {{ types {{ name description fields {{ name description args {{ name \
             type {{ name kind ofType {{ name kind ofType {{ name }} }} }} }} type {{ name kind \
             fields {{ name description type {{ name kind fields {{ name type {{ name kind }} }} }} }} \
             ofType {{ name }} }} }} inputFields {{ name type {{ name kind ofType {{ name }} }} }} }} }}"
        )
    };
    let query = |n: usize| format!("{{ {} }}", (0..n).map(field).collect::<Vec<_>>().join(" "));
    check("a few", "admin", &query(3), vec![], Ok);
    check(
        "800",
        "admin",
        &query(800),
        vec![],
        err(
            "validation-failed",
            "",
            "the introspection result is too large",
        ),
    );
}
