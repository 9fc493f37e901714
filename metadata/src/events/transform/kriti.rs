//! Kriti, Hasura's JSON templating language (https://github.com/hasura/kriti-lang): lexer,
//! parser and evaluator.
//!
//! A template is a superset of JSON: literals, arrays, objects, strings with `{{ }}`
//! interpolation, and expressions — bound variables (`$body`), local variables, path lookups
//! (`.field`, `['field']`, `[0]`, `[expr]`, optional `?.field` / `?[...]`), function
//! application by juxtaposition (`toUpper($body.name)`, `not x`), the operators `==`, `!=`, `>`,
//! `<`, `>=`, `<=`, `&&`, `||`, `in`, `??`, `{{ if c }} … {{ elif c }} … {{ else }} … {{ end }}`
//! and `{{ range i, x := list }} … {{ end }}` (`_` for an unused index; the loop is the array of
//! its body's values). Conditions must be booleans (Kriti has no truthiness). Interpolation
//! templates (URLs, headers, query parameters, form fields) are the inside of a string literal.
//!
//! Beyond Kriti (all of Kriti's valid templates mean the same): operator precedence
//! (`||` < `&&` < comparisons < `??` < application) instead of one operator per parenthesis, any
//! expression inside `{{ }}`, `elif`, an optional `else` (null), JSON escapes in strings,
//! interpolation in object keys.
//!
//! Errors are Kriti's: `error_code`, `message` and `source_position` (lines from 0, columns from
//! 1, the end exclusive). As in Kriti (whose parser reads a fully lexed template), a parse error
//! names the offending token but is placed at the template's last lexeme.
use serde_json::{json, Value as Json};
use std::fmt;

mod eval;
mod functions;
mod lex;
mod parse;

pub use eval::{eval, json_eq, Env};
pub use functions::escape_uri;
pub use parse::{parse, Expr, Op};

/// A source position: `line` from 0, `col` from 1 (Kriti's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A source span, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub(crate) fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// A parse or evaluation error, as Kriti reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct KritiError {
    /// `Parse Error`, `Lex Error`, `Type Error`, `Attribute Error`, `Index Error`,
    /// `Name Error`, `Function Error`, `Range Error`.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
}

impl KritiError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        KritiError {
            code,
            message: message.into(),
            span,
        }
    }

    /// `{"error_code", "message", "source_position": {start_line, start_column, end_line,
    /// end_column}}`.
    pub fn to_json(&self) -> Json {
        json!({
            "error_code": self.code,
            "message": self.message,
            "source_position": {
                "start_line": self.span.start.line,
                "start_column": self.span.start.col,
                "end_line": self.span.end.line,
                "end_column": self.span.end.col,
            },
        })
    }
}

impl fmt::Display for KritiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (line {}, column {})",
            self.code, self.message, self.span.start.line, self.span.start.col
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `template` (`interp`: an interpolation template) with `$body` = `body`; `want`
    /// is the value or the error's JSON.
    fn check(template: &str, interp: bool, body: Json, want: Result<Json, Json>) {
        let session = json!({"x-hasura-role": "admin", "X-Hasura-User-Id": "7"});
        let env = Env {
            vars: vec![("$body", &body), ("$session_variables", &session)],
            session: &session,
        };
        let got = parse(template, interp)
            .and_then(|e| eval(&e, &env))
            .map_err(|e| e.to_json());
        assert_eq!(got, want, "{template}");
    }

    fn err(code: &str, message: &str, pos: [usize; 4]) -> Result<Json, Json> {
        Err(
            json!({"error_code": code, "message": message, "source_position": {
            "start_line": pos[0], "start_column": pos[1], "end_line": pos[2], "end_column": pos[3]}}),
        )
    }

    #[test]
    fn values_and_paths() {
        let b = json!({"hello": "world", "n": 3, "a": [{"city": "Paris", "my key": 1}, {"city": "Rome"}],
            "user_id": {"id": 5}, "nil": null});
        for (t, want) in [
            (
                "{\"a\": 1, \"b\": [true, null, -2.5], \"c\": {}}",
                json!({"a": 1, "b": [true, null, -2.5], "c": {}}),
            ),
            ("{{ $body.hello }}", json!("world")),
            ("$body.hello", json!("world")),
            ("\"hello_{{ $body.hello }}\"", json!("hello_world")),
            (
                "\"n={{$body.n}} {{$body.user_id}} {x}\"",
                json!("n=3 {\"id\":5} {x}"),
            ),
            ("{\"uid\": {{ $body.user_id.id }}}", json!({"uid": 5})),
            ("{{ $body.a[0].city }}", json!("Paris")),
            ("{{ $body.a[0]['my key'] }}", json!(1)),
            ("{{ $body['a'][1]['city'] }}", json!("Rome")),
            ("{{ $body?.missing.deeper }}", json!(null)),
            ("{{ $body.a?[5] }}", json!(null)),
            ("{{ $body.nil?.x }}", json!(null)),
            ("{{ $body?.missing ?? \"dflt\" }}", json!("dflt")),
            ("{{ $body.n ?? 0 }}", json!(3)),
            ("{{ $session_variables['x-hasura-role'] }}", json!("admin")),
            ("\"a \\\"q\\\" \\n\"", json!("a \"q\" \n")),
            ("# comment\n[1, # two\n 2]", json!([1, 2])),
        ] {
            check(t, false, b.clone(), Ok(want));
        }
    }

    #[test]
    fn control_flow() {
        let b = json!({"result_ids": [1, 2], "user_id": {"id": 9},
            "addresses": [{"city": "A", "country": "X"}, {"city": "B", "country": "Y"}, {"city": "C", "country": "Z"}],
            "matrix": [[1, 2], [3]], "flag": true, "n": 3});
        for (t, want) in [
            (
                "{{ range i, x := $body.result_ids }}\n  {\n    \"id\": {{ x }}\n  }\n{{ end }}\n",
                json!([{"id": 1}, {"id": 2}]),
            ),
            (
                "{\n  \"uid\": {{ $body.user_id.id }},\n  \"other_addresses\":\n    {{ range i, x := $body.addresses }}\n      {{ if i > 0 }}\n        { \"city\": {{ x.city }}, \"country\": {{ x.country }} }\n      {{ else }}\n        null\n      {{ end }}\n    {{ end }}\n}\n",
                json!({"uid": 9, "other_addresses": [null, {"city": "B", "country": "Y"}, {"city": "C", "country": "Z"}]}),
            ),
            ("{{ range _, x := $body.result_ids }} \"n{{x}}\" {{ end }}", json!(["n1", "n2"])),
            (
                "{{ range i, row := $body.matrix }}{{ range j, v := row }}[{{i}}, {{j}}, {{v}}]{{ end }}{{ end }}",
                json!([[[0, 0, 1], [0, 1, 2]], [[1, 0, 3]]]),
            ),
            ("{{ if $body.flag }} 1 {{ else }} 2 {{ end }}", json!(1)),
            ("{{ if not($body.flag) }} 1 {{ else }} 2 {{ end }}", json!(2)),
            ("{{ if $body.n == 1 }} \"one\" {{ elif $body.n == 3 }} \"three\" {{ else }} \"many\" {{ end }}", json!("three")),
            ("{{ if $body.n < 2 }} 1 {{ end }}", json!(null)),
            ("{{ if $body.n >= 3 && ($body.n <= 4 || false) }} true {{ else }} false {{ end }}", json!(true)),
            ("{{ if $body.n != 3 || $body.flag }} \"y\" {{ else }} \"n\" {{ end }}", json!("y")),
            ("[{{ 2 in $body.result_ids }}, {{ \"n\" in $body }}, {{ \"a\" < \"b\" }}, {{ 1 == 1.0 }}]", json!([true, true, true, true])),
        ] {
            check(t, false, b.clone(), Ok(want));
        }
    }

    #[test]
    fn functions() {
        let b = json!({"s": "Hello World", "a": [1, null, 2], "o": {"k": "v"}, "u": "a b/ü"});
        for (t, want) in [
            ("{{ toUpper($body.s) }}", json!("HELLO WORLD")),
            ("{{ toLower($body.s) }}", json!("hello world")),
            ("{{ toCaseFold($body.s) }}", json!("hello world")),
            ("{{ toTitle(\"hello wORLD\") }}", json!("Hello World")),
            ("{{ escapeUri($body.u) }}", json!("a%20b%2F%C3%BC")),
            ("{{ escapeUri $body.u }}", json!("a%20b%2F%C3%BC")),
            ("[{{ empty($body.a) }}, {{ empty(\"  \") }}, {{ empty(null) }}, {{ empty({}) }}]", json!([false, true, true, true])),
            ("[{{ length($body.a) }}, {{ size($body.s) }}, {{ length($body.o) }}]", json!([3, 11, 1])),
            ("[{{ inverse($body.a) }}, {{ inverse(\"abc\") }}, {{ inverse(true) }}]", json!([[2, null, 1], "cba", false])),
            ("[{{ head($body.a) }}, {{ tail($body.a) }}, {{ head(\"xy\") }}, {{ tail(\"xy\") }}]", json!([1, [null, 2], "x", "y"])),
            ("{{ removeNulls($body.a) }}", json!([1, 2])),
            ("{{ toPairs($body.o) }}", json!([["k", "v"]])),
            ("{{ fromPairs([[\"a\", 1], [\"b\", 2]]) }}", json!({"a": 1, "b": 2})),
            ("[{{ concat([[1], [2, 3]]) }}, {{ concat([\"a\", \"b\"]) }}, {{ concat([{\"a\": 1}, {\"a\": 2, \"b\": 3}]) }}]", json!([[1, 2, 3], "ab", {"a": 2, "b": 3}])),
            ("{{ getSessionVariable(\"X-Hasura-Role\") }}", json!("admin")),
            ("\"u{{ getSessionVariable(\"x-hasura-user-id\") }}\"", json!("u7")),
        ] {
            check(t, false, b.clone(), Ok(want));
        }
    }

    #[test]
    fn interpolation() {
        let b = json!({"id": 7, "name": "a\"b", "o": {"x": [1]}});
        for (t, want) in [
            ("http://h/{{$body.id}}", json!("http://h/7")),
            ("{{$body.name}}", json!("a\"b")),
            (
                "plain \"quoted\" \\ {text}",
                json!("plain \"quoted\" \\ {text}"),
            ),
            ("{{ $body.o }}-{{ null }}", json!("{\"x\":[1]}-null")),
            ("", json!("")),
            (
                "{{ getSessionVariable(\"x-hasura-role\") }}",
                json!("admin"),
            ),
        ] {
            check(t, true, b.clone(), Ok(want));
        }
    }

    #[test]
    fn errors() {
        let b = json!({"hello": "world", "n": 1, "a": [1]});
        for (t, interp, want) in [
            // Hasura's test_webhook_transform_bad_parse / _bad_eval / _custom_functions.
            (
                "$body.hello }}",
                false,
                err("Parse Error", "Unexpected token '}'.", [0, 14, 0, 15]),
            ),
            (
                "{{ $body.world }}",
                false,
                err(
                    "Attribute Error",
                    "'Object' has no attribute 'world'.",
                    [0, 4, 0, 15],
                ),
            ),
            (
                "{{ getSessionVariable(\"this_variable_doesnt_exist\") }}",
                false,
                err(
                    "Function Error",
                    "Session variable \"this_variable_doesnt_exist\" not found",
                    [0, 23, 0, 51],
                ),
            ),
            (
                "{{ fooFunction(\"x-hasura-my-variable\") }}",
                false,
                err(
                    "Name Error",
                    "Variable 'fooFunction' not in scope",
                    [0, 4, 0, 15],
                ),
            ),
            (
                "{\"a\": 1",
                false,
                err("Parse Error", "Unexpected end of input.", [0, 7, 0, 8]),
            ),
            (
                "{\"a\": 1,\n}\n",
                false,
                err("Parse Error", "Unexpected token '}'.", [1, 2, 2, 1]),
            ),
            (
                "",
                false,
                err("Parse Error", "Unexpected end of input.", [0, 1, 0, 1]),
            ),
            (
                "{{ $body @ }}",
                false,
                err("Lex Error", "Invalid Lexeme: '@ }}'", [0, 10, 0, 14]),
            ),
            (
                "x{{ $body.hello.x }}",
                true,
                err(
                    "Attribute Error",
                    "'String' has no attribute 'x'.",
                    [0, 6, 0, 19],
                ),
            ),
            (
                "{{ $body.a[3] }}",
                false,
                err("Index Error", "Index 3 out of range.", [0, 4, 0, 14]),
            ),
            (
                "{{ $nope }}",
                false,
                err("Name Error", "Variable '$nope' not in scope", [0, 4, 0, 9]),
            ),
            (
                "{{ if $body.n }} 1 {{ else }} 2 {{ end }}",
                false,
                err("Type Error", "'1' is not a boolean.", [0, 1, 0, 42]),
            ),
            (
                "{{ range i, x := $body.n }} 1 {{ end }}",
                false,
                err("Range Error", "Can only range over an array", [0, 1, 0, 40]),
            ),
            (
                "{{ toUpper($body.n) }}",
                false,
                err(
                    "Function Error",
                    "parsing String failed, expected String, but encountered Number",
                    [0, 12, 0, 19],
                ),
            ),
            (
                "{{ if true }} 1 {{ else }} 2",
                false,
                err("Parse Error", "Unexpected end of input.", [0, 28, 0, 29]),
            ),
            (
                "{{ range x := $body.a }} 1 {{ end }}",
                false,
                err("Parse Error", "Unexpected token ':='.", [0, 35, 0, 37]),
            ),
        ] {
            check(t, interp, b.clone(), want);
        }
    }
}
