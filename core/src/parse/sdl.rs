//! GraphQL type system documents (SDL): the role-based schemas of remote schema permissions
//! (`add_remote_schema_permissions`). Same lexer and bounds as executable documents; the
//! values of directives and defaults are constant values.
use alloc::string::String;
use alloc::vec::Vec;

use super::ast::{Directive, Pos, Type};
use super::lexer::{Lexer, Tok};
use super::{Parser, MAX_LEN};
use crate::error::{Error, ErrorCode, Result};
use crate::value::Value;

/// A type system document: its `schema { … }` definitions and its type definitions, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaDocument {
    /// Each `schema { query: Q … }` definition: its `(operation, type)` pairs.
    pub schema_definitions: Vec<Vec<(String, String)>>,
    pub types: Vec<TypeDefinition>,
}

/// The kinds of type definitions are those of remote schemas' types.
pub use crate::remote_schemas::TypeKind as TypeDefKind;

/// One type definition; the lists a kind does not have are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDefinition {
    pub kind: TypeDefKind,
    pub name: String,
    pub description: Option<String>,
    pub directives: Vec<Directive>,
    /// Objects and interfaces.
    pub fields: Vec<FieldDefinition>,
    /// Input objects.
    pub input_fields: Vec<InputValueDefinition>,
    /// Enums: each value and its directives.
    pub enum_values: Vec<(String, Vec<Directive>)>,
    /// Objects (and interfaces): `implements A & B`.
    pub interfaces: Vec<String>,
    /// Unions: `= A | B`.
    pub members: Vec<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<InputValueDefinition>,
    pub ty: Type,
    pub directives: Vec<Directive>,
}

/// An argument or an input object's field.
#[derive(Debug, Clone, PartialEq)]
pub struct InputValueDefinition {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub default: Option<Value>,
    pub directives: Vec<Directive>,
}

/// Parses a type system document. Directive definitions and `extend` are not accepted.
pub fn parse_sdl(src: &str) -> Result<SchemaDocument> {
    if src.len() > MAX_LEN {
        return Err(sdl_error("the document is too large", Pos::default()));
    }
    let mut p = Parser {
        lx: Lexer::new(src),
        depth: 0,
    };
    let mut doc = SchemaDocument::default();
    loop {
        let description = sdl_description(&mut p)?;
        let pos = p.lx.pos();
        let keyword = match p.next()? {
            Tok::Eof if description.is_none() => break,
            Tok::Name(k) => k,
            _ => return Err(sdl_error("expected a definition", pos)),
        };
        match keyword {
            "schema" => {
                p.directives_const()?;
                p.expect_punct('{')?;
                let mut roots = Vec::new();
                while !p.eat_punct('}')? {
                    let op = p.name()?;
                    p.expect_punct(':')?;
                    roots.push((op, p.name()?));
                }
                doc.schema_definitions.push(roots);
            }
            "scalar" | "type" | "interface" | "union" | "enum" | "input" => {
                let kind = match keyword {
                    "scalar" => TypeDefKind::Scalar,
                    "type" => TypeDefKind::Object,
                    "interface" => TypeDefKind::Interface,
                    "union" => TypeDefKind::Union,
                    "enum" => TypeDefKind::Enum,
                    _ => TypeDefKind::InputObject,
                };
                let name = p.name()?;
                let mut t = TypeDefinition {
                    kind,
                    name,
                    description,
                    directives: Vec::new(),
                    fields: Vec::new(),
                    input_fields: Vec::new(),
                    enum_values: Vec::new(),
                    interfaces: Vec::new(),
                    members: Vec::new(),
                    pos,
                };
                if matches!(kind, TypeDefKind::Object | TypeDefKind::Interface)
                    && p.peek()? == Tok::Name("implements")
                {
                    p.next()?;
                    p.eat_punct('&')?;
                    t.interfaces.push(p.name()?);
                    while p.eat_punct('&')? {
                        t.interfaces.push(p.name()?);
                    }
                }
                t.directives = p.directives_const()?;
                match kind {
                    TypeDefKind::Scalar => {}
                    TypeDefKind::Object | TypeDefKind::Interface => {
                        if p.eat_punct('{')? {
                            while !p.eat_punct('}')? {
                                t.fields.push(field_definition(&mut p)?);
                            }
                        }
                    }
                    TypeDefKind::InputObject => {
                        if p.eat_punct('{')? {
                            while !p.eat_punct('}')? {
                                t.input_fields.push(input_value(&mut p)?);
                            }
                        }
                    }
                    TypeDefKind::Enum => {
                        if p.eat_punct('{')? {
                            while !p.eat_punct('}')? {
                                sdl_description(&mut p)?;
                                let v = p.name()?;
                                let d = p.directives_const()?;
                                t.enum_values.push((v, d));
                            }
                        }
                    }
                    TypeDefKind::Union => {
                        if p.eat_punct('=')? {
                            p.eat_punct('|')?;
                            t.members.push(p.name()?);
                            while p.eat_punct('|')? {
                                t.members.push(p.name()?);
                            }
                        }
                    }
                }
                doc.types.push(t);
            }
            _ => return Err(sdl_error("expected a type definition", pos)),
        }
    }
    Ok(doc)
}

fn sdl_error(what: &str, pos: Pos) -> Error {
    Error::new(
        ErrorCode::ParseFailed,
        "$",
        alloc::format!(
            "not a valid GraphQL schema document: {what} at line {}, column {}",
            pos.line,
            pos.column
        ),
    )
}

/// Re-reports a syntax error of the shared parser with its position.
fn located<T>(p: &mut Parser<'_>, r: Result<T>) -> Result<T> {
    r.map_err(|_| {
        let pos = p.lx.pos();
        sdl_error("unexpected token", pos)
    })
}

fn sdl_description(p: &mut Parser<'_>) -> Result<Option<String>> {
    if let Tok::Str(_) = p.peek()? {
        if let Tok::Str(s) = p.next()? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

fn field_definition(p: &mut Parser<'_>) -> Result<FieldDefinition> {
    let description = sdl_description(p)?;
    let r = (|| {
        let name = p.name()?;
        let mut args = Vec::new();
        if p.eat_punct('(')? {
            while !p.eat_punct(')')? {
                args.push(input_value(p)?);
            }
        }
        p.expect_punct(':')?;
        let ty = p.ty()?;
        let directives = p.directives_const()?;
        Ok(FieldDefinition {
            name,
            description,
            args,
            ty,
            directives,
        })
    })();
    located(p, r)
}

fn input_value(p: &mut Parser<'_>) -> Result<InputValueDefinition> {
    let description = sdl_description(p)?;
    let r = input_value_rest(p, description);
    located(p, r)
}

fn input_value_rest(
    p: &mut Parser<'_>,
    description: Option<String>,
) -> Result<InputValueDefinition> {
    let name = p.name()?;
    p.expect_punct(':')?;
    let ty = p.ty()?;
    let default = if p.eat_punct('=')? {
        Some(p.value(true)?)
    } else {
        None
    };
    let directives = p.directives_const()?;
    Ok(InputValueDefinition {
        name,
        description,
        ty,
        default,
        directives,
    })
}

impl Parser<'_> {
    /// Directives with constant arguments.
    fn directives_const(&mut self) -> Result<Vec<Directive>> {
        let mut out = Vec::new();
        while self.peek()? == Tok::Punct('@') {
            let pos = self.lx.pos();
            self.next()?;
            let name = self.name()?;
            let mut arguments = Vec::new();
            if self.eat_punct('(')? {
                while !self.eat_punct(')')? {
                    let n = self.name()?;
                    self.expect_punct(':')?;
                    arguments.push((n, self.value(true)?));
                }
            }
            out.push(Directive {
                name,
                arguments,
                pos,
            });
        }
        Ok(out)
    }
}

/// A type reference as GraphQL writes it (`[Int!]!`).
pub fn type_text(t: &Type) -> String {
    crate::encode::type_text(t)
}

/// A constant value as GraphQL text (`{id: {eq: 1}}`), as sent to remote schemas.
pub fn value_text(v: &Value) -> String {
    let mut out = String::new();
    // Constant values of a parsed document are within the parser's depth bound.
    let _ = crate::compile::remote_value_text(&mut out, v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_with_presets() {
        let doc = parse_sdl(
            r#"
            "a user" type User implements Node & Named { id: Int! name(upper: Boolean = false): String }
            interface Node { id: Int! }
            union R = | User | Photo
            enum E { A B @deprecated }
            scalar Time
            input W { id: Int @preset(value: {eq: 2}, static: true) name: [String] = ["x"] }
            type Query { user(id: Int! @preset(value: "x-hasura-user-id")): User }
            schema { query: Query }
            "#,
        )
        .unwrap();
        assert_eq!(doc.types.len(), 7);
        assert_eq!(doc.schema_definitions, [[("query".into(), "Query".into())]]);
        let user = &doc.types[0];
        assert_eq!(user.description.as_deref(), Some("a user"));
        assert_eq!(user.interfaces, ["Node", "Named"]);
        assert_eq!(user.fields[1].args[0].default, Some(Value::Boolean(false)));
        assert_eq!(doc.types[2].members, ["User", "Photo"]);
        assert_eq!(doc.types[3].enum_values.len(), 2);
        let w = &doc.types[5];
        assert_eq!(w.input_fields[0].directives[0].name, "preset");
        assert_eq!(crate::encode::type_text(&w.input_fields[1].ty), "[String]");
        assert!(parse_sdl("type Query { a: }").is_err());
        assert!(parse_sdl("directive @x on FIELD").is_err());
        assert!(parse_sdl(&"input A { a: ".repeat(1)).is_err());
    }
}
