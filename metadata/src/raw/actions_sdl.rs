//! The Hasura CLI's split of actions and custom types over two files of the metadata
//! directory:
//!
//! - `actions.graphql`, SDL: each action's signature as a field of `type Mutation { … }` or
//!   `type Query { … }` (one block per action, its arguments one per line), then the custom
//!   types (`input`, `type`, `scalar`, `enum`, in that order) with their fields; descriptions
//!   as `"""…"""` (or a quoted string when the text needs escapes), an enum value's
//!   `is_deprecated` as `@deprecated`;
//! - `actions.yaml`: `actions: [{name, definition: {kind, handler, forward_client_headers?,
//!   headers?, timeout?, request_transform?, response_transform?}, permissions?, comment?}]`
//!   (`kind: ""` for a query, as the CLI writes it) and `custom_types: {enums, input_objects,
//!   objects, scalars}` with each type's `name`, `description`, enum `values` and object
//!   `relationships` — no fields, arguments or output types: those are the SDL's.
//!
//! Reading merges them like `hasura metadata apply`: the SDL gives the actions and types (in
//! its order) with their arguments, output types and fields; `actions.yaml` gives the rest of
//! each definition, permissions, comments, type descriptions and relationships. An action or
//! type of `actions.yaml` the SDL does not define is an error (the CLI's). Without an
//! `actions.graphql`, `actions.yaml` is read as complete metadata.
//!
//! What the SDL cannot hold is lost through a directory: unknown keys of arguments and fields,
//! and an object field's `arguments` (which Hasura refuses anyway).
use serde_json::{json, Map, Value as Json};

use super::actions::{
    ActionMetadata, ActionType, Argument, CustomTypes, EnumType, EnumValue, GqlType, InputField,
    InputObjectType, ObjectField, ObjectType, ScalarType, Type,
};
use super::Extra;

/// The SDL file's name.
pub const SDL_FILE: &str = "actions.graphql";

/// What an `actions.graphql` defines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sdl {
    pub actions: Vec<SdlAction>,
    /// The types with their fields (no relationships: those live in `actions.yaml`).
    pub types: CustomTypes,
}

/// One action's signature.
#[derive(Debug, Clone, PartialEq)]
pub struct SdlAction {
    pub name: String,
    pub action_type: ActionType,
    pub arguments: Vec<Argument>,
    pub output_type: GqlType,
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Writing

/// The `actions.graphql` of these actions and types.
pub fn print(actions: &[ActionMetadata], types: &CustomTypes) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for a in actions {
        let root = match a.definition.action_type {
            ActionType::Query => "Query",
            ActionType::Mutation => "Mutation",
        };
        let mut field = String::new();
        field.push_str(&a.name);
        if !a.definition.arguments.is_empty() {
            field.push_str("(\n");
            for arg in &a.definition.arguments {
                push_description(&mut field, arg.description.as_deref(), "    ");
                field.push_str(&format!("    {}: {}\n", arg.name, arg.ty));
            }
            field.push_str("  )");
        }
        blocks.push(format!(
            "type {root} {{\n  {field}: {}\n}}",
            a.definition.output_type
        ));
    }
    for t in &types.input_objects {
        let mut b = String::new();
        push_description(&mut b, t.description.as_deref(), "");
        b.push_str(&format!("input {} {{\n", t.name));
        for f in &t.fields {
            push_description(&mut b, f.description.as_deref(), "  ");
            b.push_str(&format!("  {}: {}\n", f.name, f.ty));
        }
        b.push('}');
        blocks.push(b);
    }
    for t in &types.objects {
        let mut b = String::new();
        push_description(&mut b, t.description.as_deref(), "");
        b.push_str(&format!("type {} {{\n", t.name));
        for f in &t.fields {
            push_description(&mut b, f.description.as_deref(), "  ");
            b.push_str(&format!("  {}: {}\n", f.name, f.ty));
        }
        b.push('}');
        blocks.push(b);
    }
    for t in &types.scalars {
        let mut b = String::new();
        push_description(&mut b, t.description.as_deref(), "");
        b.push_str(&format!("scalar {}", t.name));
        blocks.push(b);
    }
    for t in &types.enums {
        let mut b = String::new();
        push_description(&mut b, t.description.as_deref(), "");
        b.push_str(&format!("enum {} {{\n", t.name));
        for v in &t.values {
            push_description(&mut b, v.description.as_deref(), "  ");
            let deprecated = if v.is_deprecated == Some(true) {
                " @deprecated"
            } else {
                ""
            };
            b.push_str(&format!("  {}{deprecated}\n", v.value));
        }
        b.push('}');
        blocks.push(b);
    }
    if blocks.is_empty() {
        return String::new();
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

/// Writes `description` on a line of its own: `"""text"""` when that reads back exactly,
/// else a quoted string with escapes.
fn push_description(out: &mut String, description: Option<&str>, indent: &str) {
    let Some(d) = description else { return };
    out.push_str(indent);
    let block_safe = !d.is_empty()
        && d.trim() == d
        && !d.contains(['\n', '\r'])
        && !d.contains("\"\"\"")
        && !d.ends_with('"')
        && !d.chars().any(|c| c.is_control());
    if block_safe {
        out.push_str("\"\"\"");
        out.push_str(d);
        out.push_str("\"\"\"");
    } else {
        out.push('"');
        for c in d.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('\n');
}

/// `actions.yaml` as the CLI writes it (see the module documentation), from export-shaped
/// metadata.
pub fn yaml_document(actions: &[ActionMetadata], types: &CustomTypes) -> Json {
    let mut list = Vec::new();
    for a in actions {
        let full = serde_json::to_value(a).unwrap_or(Json::Null);
        let Json::Object(mut full) = full else {
            continue;
        };
        let Some(Json::Object(mut def)) = full.shift_remove("definition") else {
            continue;
        };
        let mut d = Map::new();
        let kind = def.shift_remove("kind").unwrap_or_else(|| json!(""));
        d.insert("kind".into(), kind);
        if let Some(h) = def.shift_remove("handler") {
            d.insert("handler".into(), h);
        }
        for key in ["arguments", "output_type", "type"] {
            def.shift_remove(key);
        }
        for key in [
            "forward_client_headers",
            "headers",
            "timeout",
            "request_transform",
            "response_transform",
        ] {
            if let Some(v) = def.shift_remove(key) {
                d.insert(key.into(), v);
            }
        }
        d.extend(def);
        let mut entry = Map::new();
        entry.insert(
            "name".into(),
            full.shift_remove("name").unwrap_or(Json::Null),
        );
        entry.insert("definition".into(), Json::Object(d));
        for key in ["permissions", "comment"] {
            if let Some(v) = full.shift_remove(key) {
                entry.insert(key.into(), v);
            }
        }
        entry.extend(full);
        list.push(Json::Object(entry));
    }
    // The CLI's key order: name, description, values, relationships (then anything else).
    let strip = |v: Json, drop: &[&str]| -> Json {
        match v {
            Json::Object(mut m) => {
                for k in drop {
                    m.shift_remove(*k);
                }
                let mut out = Map::new();
                for k in ["name", "description", "values", "relationships"] {
                    if let Some(v) = m.shift_remove(k) {
                        out.insert(k.into(), v);
                    }
                }
                out.extend(m);
                Json::Object(out)
            }
            other => other,
        }
    };
    let each = |items: Json, drop: &[&str]| -> Json {
        match items {
            Json::Array(a) => Json::Array(a.into_iter().map(|t| strip(t, drop)).collect()),
            _ => Json::Array(vec![]),
        }
    };
    let mut ct = Map::new();
    ct.insert("enums".into(), each(to_json(&types.enums), &[]));
    ct.insert(
        "input_objects".into(),
        each(to_json(&types.input_objects), &["fields"]),
    );
    ct.insert("objects".into(), each(to_json(&types.objects), &["fields"]));
    ct.insert("scalars".into(), each(to_json(&types.scalars), &[]));
    for (k, v) in &types.extra {
        ct.insert(k.clone(), v.clone());
    }
    json!({ "actions": list, "custom_types": Json::Object(ct) })
}

fn to_json(v: &impl serde::Serialize) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

// ---------------------------------------------------------------------------------------------
// Reading: merging actions.yaml with actions.graphql

/// `actions` and `custom_types` (JSON, for [`super::Metadata::from_json`]) from the
/// `actions.yaml` document and the text of `actions.graphql`.
pub fn merge(yaml: &Json, sdl_text: &str) -> Result<(Json, Json), String> {
    let sdl = parse(sdl_text)?;
    let yaml_actions: Vec<&Map<String, Json>> = yaml
        .get("actions")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_object).collect())
        .unwrap_or_default();
    for y in &yaml_actions {
        let name = y.get("name").and_then(Json::as_str).unwrap_or("");
        if !sdl.actions.iter().any(|a| a.name == name) {
            return Err(format!("action {name} is not present in {SDL_FILE}"));
        }
    }
    let mut actions = Vec::new();
    for a in &sdl.actions {
        let y = yaml_actions
            .iter()
            .find(|y| y.get("name").and_then(Json::as_str) == Some(a.name.as_str()));
        let mut entry = Map::new();
        entry.insert("name".into(), json!(a.name));
        let mut def = Map::new();
        if let Some(Json::Object(yd)) = y.and_then(|y| y.get("definition")) {
            for (k, v) in yd {
                match k.as_str() {
                    "arguments" | "output_type" | "type" => {}
                    "kind" if v.as_str() == Some("") || v.is_null() => {}
                    _ => {
                        def.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        // The CLI sends an empty handler for an action actions.yaml does not configure.
        if !def.contains_key("handler") {
            def.insert("handler".into(), json!(""));
        }
        def.insert("type".into(), json!(a.action_type));
        if a.action_type == ActionType::Query {
            def.shift_remove("kind");
        }
        def.insert("arguments".into(), json!(a.arguments));
        def.insert("output_type".into(), json!(a.output_type));
        entry.insert("definition".into(), Json::Object(def));
        if let Some(y) = y {
            for (k, v) in y.iter() {
                if k != "name" && k != "definition" {
                    entry.insert(k.clone(), v.clone());
                }
            }
        }
        if entry.get("comment").is_none_or(Json::is_null) {
            if let Some(d) = &a.description {
                entry.insert("comment".into(), json!(d));
            }
        }
        actions.push(Json::Object(entry));
    }

    let yaml_types = yaml.get("custom_types").and_then(Json::as_object);
    let mut ct = Map::new();
    for kind in ["input_objects", "objects", "scalars", "enums"] {
        let from_sdl = match kind {
            "input_objects" => json!(sdl.types.input_objects),
            "objects" => json!(sdl.types.objects),
            "scalars" => json!(sdl.types.scalars),
            _ => json!(sdl.types.enums),
        };
        let from_yaml: Vec<&Map<String, Json>> = yaml_types
            .and_then(|t| t.get(kind))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_object).collect())
            .unwrap_or_default();
        let sdl_list = from_sdl.as_array().cloned().unwrap_or_default();
        for y in &from_yaml {
            let name = y.get("name").and_then(Json::as_str).unwrap_or("");
            if !sdl_list
                .iter()
                .any(|t| t.get("name").and_then(Json::as_str) == Some(name))
            {
                return Err(format!("custom type {name} is not present in {SDL_FILE}"));
            }
        }
        let mut merged = Vec::new();
        for t in sdl_list {
            let Json::Object(mut t) = t else { continue };
            let name = t
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(y) = from_yaml
                .iter()
                .find(|y| y.get("name").and_then(Json::as_str) == Some(name.as_str()))
            {
                for (k, v) in y.iter() {
                    match k.as_str() {
                        "name" | "fields" => {}
                        "description" if v.is_null() => {}
                        "values" => merge_enum_values(&mut t, v),
                        _ => {
                            t.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            merged.push(Json::Object(t));
        }
        ct.insert(kind.into(), Json::Array(merged));
    }
    if let Some(t) = yaml_types {
        for (k, v) in t {
            if !ct.contains_key(k) {
                ct.insert(k.clone(), v.clone());
            }
        }
    }
    Ok((Json::Array(actions), Json::Object(ct)))
}

/// An enum's values are the SDL's; `actions.yaml`'s (the CLI keeps them) fill in what the
/// SDL does not say (`is_deprecated: false`, a description).
fn merge_enum_values(t: &mut Map<String, Json>, yaml_values: &Json) {
    let Some(Json::Array(values)) = t.get_mut("values") else {
        return;
    };
    let Some(yaml_values) = yaml_values.as_array() else {
        return;
    };
    for v in values.iter_mut() {
        let Some(name) = v.get("value").and_then(Json::as_str).map(str::to_string) else {
            continue;
        };
        let Some(Json::Object(y)) = yaml_values
            .iter()
            .find(|y| y.get("value").and_then(Json::as_str) == Some(name.as_str()))
        else {
            continue;
        };
        let Json::Object(v) = v else { continue };
        for (k, yv) in y {
            match v.get(k.as_str()) {
                Some(Json::Null) | None => {
                    v.insert(k.clone(), yv.clone());
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: the SDL

/// Parses an `actions.graphql`: `type Query`/`type Mutation` (also `extend type …`) define
/// actions, every other `type`, `input`, `enum` and `scalar` a custom type. Schema,
/// interface, union and directive definitions are refused.
pub fn parse(text: &str) -> Result<Sdl, String> {
    let mut p = Parser {
        lx: Lexer::new(text),
        depth: 0,
    };
    let mut out = Sdl::default();
    loop {
        let description = p.description()?;
        let tok = p.lx.next()?;
        let word = match tok {
            Tok::End => break,
            Tok::Name(w) => w,
            other => return Err(p.err(&format!("expected a definition, found {}", other.show()))),
        };
        let word = if word == "extend" {
            match p.lx.next()? {
                Tok::Name(w) => w,
                other => {
                    return Err(p.err(&format!(
                        "expected a type after \"extend\", found {}",
                        other.show()
                    )))
                }
            }
        } else {
            word
        };
        match word.as_str() {
            "type" => {
                let name = p.name()?;
                p.skip_implements()?;
                p.directives()?;
                let root = match name.as_str() {
                    "Query" => Some(ActionType::Query),
                    "Mutation" => Some(ActionType::Mutation),
                    _ => None,
                };
                let fields = p.fields()?;
                match root {
                    Some(action_type) => {
                        for f in fields {
                            out.actions.push(SdlAction {
                                name: f.name,
                                action_type,
                                arguments: f.arguments,
                                output_type: f.ty,
                                description: f.description,
                            });
                        }
                    }
                    None => out.types.objects.push(ObjectType {
                        name,
                        fields: fields
                            .into_iter()
                            .map(|f| ObjectField {
                                name: f.name,
                                ty: f.ty,
                                arguments: None,
                                description: f.description,
                                extra: Extra::new(),
                            })
                            .collect(),
                        description,
                        relationships: Vec::new(),
                        extra: Extra::new(),
                    }),
                }
            }
            "input" => {
                let name = p.name()?;
                p.directives()?;
                let fields = p.input_fields()?;
                out.types.input_objects.push(InputObjectType {
                    name,
                    fields,
                    description,
                    extra: Extra::new(),
                });
            }
            "enum" => {
                let name = p.name()?;
                p.directives()?;
                let values = p.enum_values()?;
                out.types.enums.push(EnumType {
                    name,
                    values,
                    description,
                    extra: Extra::new(),
                });
            }
            "scalar" => {
                let name = p.name()?;
                p.directives()?;
                out.types.scalars.push(ScalarType {
                    name,
                    description,
                    extra: Extra::new(),
                });
            }
            "schema" => {
                return Err(p.err("schema definitions are not allowed in action/type definitions"))
            }
            "interface" => return Err(p.err("interface types are not supported")),
            "union" => return Err(p.err("union types are not supported")),
            other => return Err(p.err(&format!("unexpected {other:?}"))),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(char),
    Name(String),
    Str(String),
    /// A number or another literal token (default values are skipped).
    Other(String),
    End,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Punct(c) => format!("\"{c}\""),
            Tok::Name(n) => format!("{n:?}"),
            Tok::Str(_) => "a string".into(),
            Tok::Other(o) => format!("{o:?}"),
            Tok::End => "the end of the file".into(),
        }
    }
}

struct Lexer<'a> {
    s: &'a str,
    i: usize,
    line: usize,
    peeked: Option<(Tok, usize)>,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer {
            s,
            i: 0,
            line: 1,
            peeked: None,
        }
    }

    fn peek(&mut self) -> Result<&Tok, String> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some((t, self.line));
        }
        Ok(&self.peeked.as_ref().expect("peeked").0)
    }

    fn next(&mut self) -> Result<Tok, String> {
        match self.peeked.take() {
            Some((t, _)) => Ok(t),
            None => self.lex(),
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.s[self.i..].chars().next()?;
        self.i += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn lex(&mut self) -> Result<Tok, String> {
        loop {
            let rest = &self.s[self.i..];
            let Some(c) = rest.chars().next() else {
                return Ok(Tok::End);
            };
            match c {
                ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => {
                    self.bump();
                }
                '#' => {
                    while let Some(c) = self.s[self.i..].chars().next() {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                        self.bump();
                    }
                }
                '"' if rest.starts_with("\"\"\"") => return self.block_string(),
                '"' => return self.string(),
                '{' | '}' | '(' | ')' | '[' | ']' | ':' | '!' | '=' | '@' | '|' | '&' | '$' => {
                    self.bump();
                    return Ok(Tok::Punct(c));
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let start = self.i;
                    while self.s[self.i..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        self.bump();
                    }
                    return Ok(Tok::Name(self.s[start..self.i].to_string()));
                }
                c if c.is_ascii_digit() || c == '-' || c == '.' => {
                    let start = self.i;
                    while self.s[self.i..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'))
                    {
                        self.bump();
                    }
                    return Ok(Tok::Other(self.s[start..self.i].to_string()));
                }
                other => {
                    return Err(format!(
                        "line {}: unexpected character {other:?}",
                        self.line
                    ))
                }
            }
        }
    }

    fn string(&mut self) -> Result<Tok, String> {
        let line = self.line;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') | Some('\r') => {
                    return Err(format!("line {line}: unterminated string"))
                }
                Some('"') => return Ok(Tok::Str(out)),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("line {line}: bad escape \\u{hex}"))?;
                        out.push(c);
                    }
                    other => {
                        return Err(format!(
                            "line {line}: bad escape \\{}",
                            other.map(String::from).unwrap_or_default()
                        ))
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A block string: its value as GraphQL defines it (common indentation and blank first
    /// and last lines removed), trimmed.
    fn block_string(&mut self) -> Result<Tok, String> {
        let line = self.line;
        for _ in 0..3 {
            self.bump();
        }
        let mut raw = String::new();
        loop {
            let rest = &self.s[self.i..];
            if rest.starts_with("\"\"\"") {
                for _ in 0..3 {
                    self.bump();
                }
                // Trimmed, as the console and the CLI read descriptions (they write
                // `""" text """`); a quoted string keeps its text exactly.
                return Ok(Tok::Str(block_value(&raw).trim().to_string()));
            }
            if rest.starts_with("\\\"\"\"") {
                for _ in 0..4 {
                    self.bump();
                }
                raw.push_str("\"\"\"");
                continue;
            }
            match self.bump() {
                Some(c) => raw.push(c),
                None => return Err(format!("line {line}: unterminated block string")),
            }
        }
    }
}

/// GraphQL's `BlockStringValue`.
fn block_value(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .split("\r\n")
        .flat_map(|l| l.split(['\n', '\r']))
        .collect();
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let common = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim_matches([' ', '\t']).is_empty())
        .map(|l| indent(l))
        .min();
    let mut out: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match common {
            Some(n) if i > 0 => l.get(n.min(l.len())..).unwrap_or(""),
            _ => l,
        })
        .collect();
    while out
        .first()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.remove(0);
    }
    while out
        .last()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.pop();
    }
    out.join("\n")
}

struct Parser<'a> {
    lx: Lexer<'a>,
    depth: usize,
}

/// A field of a `type` (or an action).
struct FieldSdl {
    name: String,
    arguments: Vec<Argument>,
    ty: GqlType,
    description: Option<String>,
}

/// Bounds nested lists in types and values.
const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn err(&self, msg: &str) -> String {
        format!("line {}: {msg}", self.lx.line)
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.lx.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            other => Err(self.err(&format!("expected \"{c}\", found {}", other.show()))),
        }
    }

    fn eat(&mut self, c: char) -> Result<bool, String> {
        if self.lx.peek()? == &Tok::Punct(c) {
            self.lx.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn name(&mut self) -> Result<String, String> {
        match self.lx.next()? {
            Tok::Name(n) => Ok(n),
            other => Err(self.err(&format!("expected a name, found {}", other.show()))),
        }
    }

    fn description(&mut self) -> Result<Option<String>, String> {
        if let Tok::Str(_) = self.lx.peek()? {
            if let Tok::Str(s) = self.lx.next()? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn ty(&mut self) -> Result<GqlType, String> {
        fn go(p: &mut Parser<'_>, depth: usize) -> Result<Type, String> {
            if depth > MAX_DEPTH {
                return Err(p.err("type nested too deeply"));
            }
            let inner = if p.eat('[')? {
                let t = go(p, depth + 1)?;
                p.expect(']')?;
                Type::List(Box::new(t))
            } else {
                Type::Named(p.name()?)
            };
            Ok(if p.eat('!')? {
                Type::NonNull(Box::new(inner))
            } else {
                inner
            })
        }
        go(self, 0).map(GqlType)
    }

    /// `implements A & B` (ignored).
    fn skip_implements(&mut self) -> Result<(), String> {
        if self.lx.peek()? == &Tok::Name("implements".into()) {
            self.lx.next()?;
            self.eat('&')?;
            self.name()?;
            while self.eat('&')? {
                self.name()?;
            }
        }
        Ok(())
    }

    /// Directives; whether `@deprecated` was among them.
    fn directives(&mut self) -> Result<bool, String> {
        let mut deprecated = false;
        while self.eat('@')? {
            let name = self.name()?;
            deprecated |= name == "deprecated";
            if self.eat('(')? {
                while !self.eat(')')? {
                    self.name()?;
                    self.expect(':')?;
                    self.value()?;
                }
            }
        }
        Ok(deprecated)
    }

    /// Skips one value (default values and directive arguments).
    fn value(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("value nested too deeply"));
        }
        let r = match self.lx.next()? {
            Tok::Punct('[') => {
                while !self.eat(']')? {
                    self.value()?;
                }
                Ok(())
            }
            Tok::Punct('{') => {
                while !self.eat('}')? {
                    self.name()?;
                    self.expect(':')?;
                    self.value()?;
                }
                Ok(())
            }
            Tok::Punct('$') => self.name().map(|_| ()),
            Tok::Name(_) | Tok::Str(_) | Tok::Other(_) => Ok(()),
            other => Err(self.err(&format!("expected a value, found {}", other.show()))),
        };
        self.depth -= 1;
        r
    }

    /// `{ field(args): Type … }` (empty braces or none allowed).
    fn fields(&mut self) -> Result<Vec<FieldSdl>, String> {
        let mut out = Vec::new();
        if !self.eat('{')? {
            return Ok(out);
        }
        while !self.eat('}')? {
            let description = self.description()?;
            let name = self.name()?;
            let mut arguments = Vec::new();
            if self.eat('(')? {
                while !self.eat(')')? {
                    let description = self.description()?;
                    let name = self.name()?;
                    self.expect(':')?;
                    let ty = self.ty()?;
                    if self.eat('=')? {
                        self.value()?;
                    }
                    self.directives()?;
                    arguments.push(Argument {
                        name,
                        ty,
                        description,
                        extra: Extra::new(),
                    });
                }
            }
            self.expect(':')?;
            let ty = self.ty()?;
            self.directives()?;
            out.push(FieldSdl {
                name,
                arguments,
                ty,
                description,
            });
        }
        Ok(out)
    }

    fn input_fields(&mut self) -> Result<Vec<InputField>, String> {
        let mut out = Vec::new();
        if !self.eat('{')? {
            return Ok(out);
        }
        while !self.eat('}')? {
            let description = self.description()?;
            let name = self.name()?;
            self.expect(':')?;
            let ty = self.ty()?;
            if self.eat('=')? {
                self.value()?;
            }
            self.directives()?;
            out.push(InputField {
                name,
                ty,
                description,
                extra: Extra::new(),
            });
        }
        Ok(out)
    }

    fn enum_values(&mut self) -> Result<Vec<EnumValue>, String> {
        let mut out = Vec::new();
        if !self.eat('{')? {
            return Ok(out);
        }
        while !self.eat('}')? {
            let description = self.description()?;
            let value = self.name()?;
            let deprecated = self.directives()?;
            out.push(EnumValue {
                value,
                description,
                is_deprecated: deprecated.then_some(true),
                extra: Extra::new(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
