//! GraphQL executable-document parser: text → [`ast::Document`]. Hand-written, no_std, never
//! panics, bounded nesting depth (deeply nested documents are rejected, not overflowed).
//!
//! Errors are Hasura's: code `validation-failed`, path `$.query`, message
//! `not a valid graphql query` (the position is appended for humans).
pub mod ast;
mod lexer;
pub mod sdl;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode, Result};
use crate::value::Value;
use ast::*;
use lexer::{Lexer, Tok};

/// Maximum nesting of selection sets, values and types.
pub const MAX_DEPTH: usize = 128;
/// Maximum length of a query document in bytes.
pub const MAX_LEN: usize = 4 * 1024 * 1024;

/// Parses an executable GraphQL document (operations and fragments).
pub fn parse(src: &str) -> Result<Document> {
    if src.len() > MAX_LEN {
        return Err(syntax_error("query document is too large", Pos::default()));
    }
    let mut p = Parser {
        lx: Lexer::new(src),
        depth: 0,
    };
    p.document()
}

pub(crate) fn syntax_error(what: &str, pos: Pos) -> Error {
    let _ = (what, pos);
    Error::new(
        ErrorCode::ValidationFailed,
        "$.query",
        String::from("not a valid graphql query"),
    )
}

struct Parser<'a> {
    lx: Lexer<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&mut self, what: &str) -> Result<T> {
        let pos = self.lx.pos();
        Err(syntax_error(what, pos))
    }

    fn peek(&mut self) -> Result<Tok<'a>> {
        self.lx.peek()
    }

    fn next(&mut self) -> Result<Tok<'a>> {
        self.lx.next()
    }

    fn expect_punct(&mut self, c: char) -> Result<()> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            _ => self.err(&format!("expected '{}'", c)),
        }
    }

    fn eat_punct(&mut self, c: char) -> Result<bool> {
        if self.peek()? == Tok::Punct(c) {
            self.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn name(&mut self) -> Result<String> {
        match self.next()? {
            Tok::Name(n) => Ok(String::from(n)),
            _ => self.err("expected a name"),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("document nested too deeply");
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn document(&mut self) -> Result<Document> {
        let mut doc = Document::default();
        loop {
            let pos = self.lx.pos();
            match self.peek()? {
                Tok::Eof => break,
                Tok::Punct('{') => {
                    let selection_set = self.selection_set()?;
                    doc.operations.push(Operation {
                        kind: OperationKind::Query,
                        name: None,
                        variables: Vec::new(),
                        directives: Vec::new(),
                        selection_set,
                        pos,
                    });
                }
                Tok::Name("query") | Tok::Name("mutation") | Tok::Name("subscription") => {
                    let kind = match self.next()? {
                        Tok::Name("query") => OperationKind::Query,
                        Tok::Name("mutation") => OperationKind::Mutation,
                        _ => OperationKind::Subscription,
                    };
                    let name = match self.peek()? {
                        Tok::Name(_) => Some(self.name()?),
                        _ => None,
                    };
                    let variables = if self.peek()? == Tok::Punct('(') {
                        self.variable_definitions()?
                    } else {
                        Vec::new()
                    };
                    let directives = self.directives()?;
                    let selection_set = self.selection_set()?;
                    doc.operations.push(Operation {
                        kind,
                        name,
                        variables,
                        directives,
                        selection_set,
                        pos,
                    });
                }
                Tok::Name("fragment") => {
                    self.next()?;
                    let name = self.name()?;
                    if name == "on" {
                        return self.err("a fragment cannot be named 'on'");
                    }
                    match self.next()? {
                        Tok::Name("on") => {}
                        _ => return self.err("expected 'on'"),
                    }
                    let type_condition = self.name()?;
                    let directives = self.directives()?;
                    let selection_set = self.selection_set()?;
                    doc.fragments.push(Fragment {
                        name,
                        type_condition,
                        directives,
                        selection_set,
                        pos,
                    });
                }
                _ => return self.err("expected an operation or a fragment"),
            }
        }
        if doc.operations.is_empty() && doc.fragments.is_empty() {
            return self.err("empty document");
        }
        Ok(doc)
    }

    fn variable_definitions(&mut self) -> Result<Vec<VariableDefinition>> {
        self.expect_punct('(')?;
        let mut defs = Vec::new();
        while !self.eat_punct(')')? {
            let pos = self.lx.pos();
            self.expect_punct('$')?;
            let name = self.name()?;
            self.expect_punct(':')?;
            let ty = self.ty()?;
            let default = if self.eat_punct('=')? {
                Some(self.value(true)?)
            } else {
                None
            };
            // Directives on variable definitions are allowed by the spec; parse and drop them.
            let _ = self.directives()?;
            defs.push(VariableDefinition {
                name,
                ty,
                default,
                pos,
            });
        }
        if defs.is_empty() {
            return self.err("empty variable definitions");
        }
        Ok(defs)
    }

    fn ty(&mut self) -> Result<Type> {
        self.enter()?;
        let t = if self.eat_punct('[')? {
            let inner = self.ty()?;
            self.expect_punct(']')?;
            Type::List(Box::new(inner))
        } else {
            Type::Named(self.name()?)
        };
        let t = if self.eat_punct('!')? {
            Type::NonNull(Box::new(t))
        } else {
            t
        };
        self.leave();
        Ok(t)
    }

    fn directives(&mut self) -> Result<Vec<Directive>> {
        let mut out = Vec::new();
        while self.peek()? == Tok::Punct('@') {
            let pos = self.lx.pos();
            self.next()?;
            let name = self.name()?;
            let arguments = if self.peek()? == Tok::Punct('(') {
                self.arguments()?
            } else {
                Vec::new()
            };
            out.push(Directive {
                name,
                arguments,
                pos,
            });
        }
        Ok(out)
    }

    fn arguments(&mut self) -> Result<Vec<(String, Value)>> {
        self.expect_punct('(')?;
        let mut args = Vec::new();
        while !self.eat_punct(')')? {
            let name = self.name()?;
            self.expect_punct(':')?;
            let v = self.value(false)?;
            args.push((name, v));
        }
        if args.is_empty() {
            return self.err("empty arguments");
        }
        Ok(args)
    }

    // The recursive functions below (`selection_set` → `selection` → `selection_set`, and
    // `value`) keep their own frames small — the bulky parts are `#[inline(never)]` helpers
    // that return before the recursion — so that [`MAX_DEPTH`] levels fit a 1 MB stack (a
    // Worker's) even in a debug build (`core/tests/bounds.rs`).

    fn selection_set(&mut self) -> Result<Vec<Selection>> {
        self.enter()?;
        self.expect_punct('{')?;
        let mut sels = Vec::new();
        while !self.eat_punct('}')? {
            sels.push(self.selection()?);
        }
        if sels.is_empty() {
            return self.err("empty selection set");
        }
        self.leave();
        Ok(sels)
    }

    fn selection(&mut self) -> Result<Selection> {
        Ok(match self.selection_head()? {
            Head::Spread(s) => Selection::FragmentSpread(s),
            Head::Inline(mut i) => {
                i.selection_set = self.selection_set()?;
                Selection::InlineFragment(i)
            }
            Head::Field(mut f, has_set) => {
                if has_set {
                    f.selection_set = self.selection_set()?;
                }
                Selection::Field(f)
            }
        })
    }

    /// Everything of a selection before its selection set.
    #[inline(never)]
    fn selection_head(&mut self) -> Result<Head> {
        let pos = self.lx.pos();
        if self.peek()? == Tok::Punct('.') {
            // `...` is lexed as one '.' token.
            self.next()?;
            return match self.peek()? {
                Tok::Name("on") => {
                    self.next()?;
                    let tc = self.name()?;
                    let directives = self.directives()?;
                    Ok(Head::Inline(InlineFragment {
                        type_condition: Some(tc),
                        directives,
                        selection_set: Vec::new(),
                        pos,
                    }))
                }
                Tok::Name(_) => {
                    let name = self.name()?;
                    let directives = self.directives()?;
                    Ok(Head::Spread(FragmentSpread {
                        name,
                        directives,
                        pos,
                    }))
                }
                _ => {
                    let directives = self.directives()?;
                    Ok(Head::Inline(InlineFragment {
                        type_condition: None,
                        directives,
                        selection_set: Vec::new(),
                        pos,
                    }))
                }
            };
        }
        let first = self.name()?;
        let (alias, name) = if self.eat_punct(':')? {
            (Some(first), self.name()?)
        } else {
            (None, first)
        };
        let arguments = if self.peek()? == Tok::Punct('(') {
            self.arguments()?
        } else {
            Vec::new()
        };
        let directives = self.directives()?;
        let has_set = self.peek()? == Tok::Punct('{');
        Ok(Head::Field(
            Field {
                alias,
                name,
                arguments,
                directives,
                selection_set: Vec::new(),
                pos,
            },
            has_set,
        ))
    }

    fn value(&mut self, constant: bool) -> Result<Value> {
        self.enter()?;
        let v = match self.value_head(constant)? {
            Err(v) => v,
            Ok(true) => {
                let mut items = Vec::new();
                while !self.eat_punct(']')? {
                    items.push(self.value(constant)?);
                }
                Value::List(items)
            }
            Ok(false) => {
                let mut fields: Vec<(String, Value)> = Vec::new();
                while let Some(k) = self.object_key()? {
                    let v = self.value(constant)?;
                    fields.push((k, v));
                }
                Value::Object(fields)
            }
        };
        self.leave();
        Ok(v)
    }

    /// The start of a value: `Ok(true)` a list, `Ok(false)` an object follows; `Err(v)` a
    /// complete scalar (or variable).
    #[inline(never)]
    fn value_head(&mut self, constant: bool) -> Result<core::result::Result<bool, Value>> {
        Ok(Err(match self.next()? {
            Tok::Punct('$') if !constant => Value::Variable(self.name()?),
            Tok::Int(s) | Tok::Float(s) => Value::Number(String::from(s)),
            Tok::Str(s) => Value::String(s),
            Tok::Name("true") => Value::Boolean(true),
            Tok::Name("false") => Value::Boolean(false),
            Tok::Name("null") => Value::Null,
            Tok::Name(n) => Value::Enum(String::from(n)),
            Tok::Punct('[') => return Ok(Ok(true)),
            Tok::Punct('{') => return Ok(Ok(false)),
            _ => return self.err("expected a value"),
        }))
    }

    /// The next `name:` of an object value, `None` at its `}`.
    #[inline(never)]
    fn object_key(&mut self) -> Result<Option<String>> {
        if self.eat_punct('}')? {
            return Ok(None);
        }
        let k = self.name()?;
        self.expect_punct(':')?;
        Ok(Some(k))
    }
}

/// A selection without its selection set (see [`Parser::selection_head`]); a field says
/// whether one follows.
enum Head {
    Field(Field, bool),
    Spread(FragmentSpread),
    Inline(InlineFragment),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_query_with_everything() {
        let doc = parse(
            r#"query Q($id: Int! = 3, $w: [author_bool_exp!]) @cached {
                a: author(where: {id: {_eq: $id}}, order_by: [{name: desc_nulls_last}], limit: 10) {
                  id name @include(if: true) ...F
                  ... on author { __typename }
                  ... @skip(if: false) { x }
                  s: f(x: "a\nb\u00e9", y: """ block
                     string """, z: -1.5e3, n: null)
                }
              }
              fragment F on author { articles { title } }"#,
        )
        .unwrap();
        assert_eq!(doc.operations.len(), 1);
        assert_eq!(doc.fragments.len(), 1);
        let op = &doc.operations[0];
        assert_eq!(op.name.as_deref(), Some("Q"));
        assert_eq!(op.variables[0].default, Some(Value::Number("3".into())));
        let Selection::Field(f) = &op.selection_set[0] else {
            panic!()
        };
        assert_eq!(f.response_key(), "a");
        assert_eq!(f.selection_set.len(), 6);
        let Selection::Field(s) = &f.selection_set[5] else {
            panic!()
        };
        assert_eq!(s.argument("x"), Some(&Value::String("a\nbé".into())));
        assert_eq!(
            s.argument("y"),
            Some(&Value::String(" block\nstring ".into()))
        );
    }

    #[test]
    fn rejects_bad_documents_without_panicking() {
        for src in [
            "",
            "{",
            "}",
            "{ a",
            "query { }",
            "{ a(: 1) }",
            "{ a(x: ) }",
            "{ a(x: $) }",
            "\"unterminated",
            "{ a(x: \"\\u12\") }",
            "{ a(x: 1.) }",
            "{ a(x: 01) }",
            "{ ...  }",
            "fragment on on x { a }",
            "query ($a) { a }",
            "{ a(x: {b 1}) }",
            "{ a(x: [1, 2) }",
            "\u{0}",
            "{ a }}",
            "{ a(x: 1e) }",
            "query Q($a: Int = $b) { a }",
        ] {
            assert!(parse(src).is_err(), "{:?} parsed", src);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut src = String::new();
        for _ in 0..10_000 {
            src.push_str("{a");
        }
        assert!(parse(&src).is_err());
        let mut v = String::from("{ a(x: ");
        for _ in 0..10_000 {
            v.push('[');
        }
        assert!(parse(&v).is_err());
    }
}
