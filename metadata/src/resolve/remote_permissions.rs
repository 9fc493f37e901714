//! Remote schema permissions: a role's SDL checked against the remote's schema and turned into
//! the role's view of it (Hasura's `RemoteSchema/SchemaCache/Permission.hs`
//! `resolveRoleBasedRemoteSchema`), with Hasura's messages.
//!
//! The SDL must be a subset of the remote: every type exists upstream with the same kind;
//! fields, arguments, input fields, enum values and union members exist upstream with the same
//! types and default values; every non-nullable argument upstream is kept. `@preset(value: …,
//! static: …)` on an argument or input field gives the value sent for it (checked against the
//! type, `"x-hasura-…"` strings read from the session unless `static: true`); the role does not
//! see it, and an input object all of whose fields are preset disappears with the arguments of
//! its type (always sent with the presets).
//!
//! Errors are collected like Hasura's `MonadValidate`: each type, field and argument is checked
//! on its own and reports what it finds; within one, some errors end its check (`refute`) and
//! others let it go on (`dispute`). One error reads "… failed because <it>", several "… failed
//! for the following reasons:\n • <each>\n".
use graphedge_core::parse::sdl::{
    self, FieldDefinition, InputValueDefinition, SchemaDocument, TypeDefKind, TypeDefinition,
};
use graphedge_core::remote_schemas::{
    InputValue, Preset, RemoteField, RemoteSchema, RemoteType, Type, TypeKind, BUILT_IN_SCALARS,
};
use graphedge_core::Value;

/// Why a role's SDL was refused: a document that does not parse, or Hasura's validation
/// message.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleSchemaError {
    Parse(String),
    Invalid(String),
}

impl RoleSchemaError {
    pub fn message(&self) -> &str {
        match self {
            RoleSchemaError::Parse(m) | RoleSchemaError::Invalid(m) => m,
        }
    }
}

/// The view of `remote` (as introspected) that the SDL `schema` gives a role.
pub fn role_view(remote: &RemoteSchema, schema: &str) -> Result<RemoteSchema, RoleSchemaError> {
    let doc = sdl::parse_sdl(schema).map_err(|e| RoleSchemaError::Parse(e.message.clone()))?;
    let mut v = Validation {
        remote,
        doc: &doc,
        errors: Vec::new(),
    };
    let checked = v.document();
    if !v.errors.is_empty() {
        return Err(RoleSchemaError::Invalid(show(&v.errors)));
    }
    let Some((types, roots)) = checked else {
        return Err(RoleSchemaError::Invalid(show(&v.errors)));
    };
    Ok(build_view(remote, types, roots))
}

fn show(errors: &[String]) -> String {
    match errors {
        [one] => format!("validation for the given role-based schema failed because {one}"),
        _ => {
            let mut s = String::from(
                "validation for the given role-based schema failed for the following reasons:\n",
            );
            for e in errors {
                s.push_str(" • ");
                s.push_str(e);
                s.push('\n');
            }
            s
        }
    }
}

/// `a`, `a and b`, `a, b and c`, each quoted.
fn english_list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        n => format!("{} and {}", q[..n - 1].join(", "), q[n - 1]),
    }
}

/// Items of `a` that are not in `b`, each once, in order.
fn difference(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in a {
        if !b.contains(x) && !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// Names that occur more than once, each once, in order.
fn duplicates<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let all: Vec<&String> = names.collect();
    let mut out: Vec<String> = Vec::new();
    for (i, n) in all.iter().enumerate() {
        if all[..i].contains(n) && !out.contains(n) {
            out.push((*n).clone());
        }
    }
    out
}

fn kind_label(k: TypeDefKind) -> &'static str {
    match k {
        TypeDefKind::Scalar => "Scalar",
        TypeDefKind::Object => "Object",
        TypeDefKind::Interface => "Interface",
        TypeDefKind::Union => "Union",
        TypeDefKind::Enum => "Enum",
        TypeDefKind::InputObject => "Input object",
    }
}

/// A check that ended (`refute`): its error is already recorded.
struct Refuted;

type Checked<T> = Result<T, Refuted>;

struct Validation<'a> {
    remote: &'a RemoteSchema,
    doc: &'a SchemaDocument,
    errors: Vec<String>,
}

/// Where a directive stands (what `@preset` may and may not be on).
#[derive(Clone, Copy, PartialEq)]
enum Location {
    Type,
    Field,
    InputValue,
}

/// The root type names of the SDL's `schema` (Hasura: `Query` when absent; no mutation or
/// subscription root without a `schema` definition naming them).
type Roots = (String, Option<String>, Option<String>);

impl<'a> Validation<'a> {
    fn refute<T>(&mut self, e: String) -> Checked<T> {
        self.errors.push(e);
        Err(Refuted)
    }

    fn dispute(&mut self, e: String) {
        self.errors.push(e);
    }

    /// Checks each item on its own (Hasura's applicative `for`): all report their errors.
    fn each<T, U>(
        &mut self,
        items: &[T],
        mut check: impl FnMut(&mut Self, &T) -> Checked<U>,
    ) -> Checked<Vec<U>> {
        let mut out = Vec::new();
        let mut failed = false;
        for x in items {
            match check(self, x) {
                Ok(u) => out.push(u),
                Err(Refuted) => failed = true,
            }
        }
        if failed {
            Err(Refuted)
        } else {
            Ok(out)
        }
    }

    fn document(&mut self) -> Option<(Vec<RemoteType>, Roots)> {
        let dups = duplicates(self.doc.types.iter().map(|t| &t.name));
        if !dups.is_empty() {
            let _ = self.refute::<()>(format!(
                "duplicate type names found: {}",
                english_list(&dups)
            ));
            return None;
        }
        let roots = match self.doc.schema_definitions.as_slice() {
            [] => ("Query".to_string(), None, None),
            [one] => {
                let get = |op: &str| one.iter().find(|(o, _)| o == op).map(|(_, t)| t.clone());
                (
                    get("query").unwrap_or_else(|| "Query".into()),
                    get("mutation"),
                    get("subscription"),
                )
            }
            _ => {
                let _ = self.refute::<()>("multiple schema definitions found".into());
                return None;
            }
        };
        let declared_interfaces: Vec<String> = self
            .doc
            .types
            .iter()
            .filter(|t| t.kind == TypeDefKind::Interface)
            .map(|t| t.name.clone())
            .collect();
        let mut types = Vec::new();
        let mut failed = false;
        for t in &self.doc.types {
            match self.type_definition(t, &declared_interfaces) {
                Ok(Some(rt)) => types.push(rt),
                Ok(None) => {}
                Err(Refuted) => failed = true,
            }
        }
        (!failed).then_some((types, roots))
    }

    /// One type of the SDL against the remote's (`None`: a built-in scalar, kept as it is).
    fn type_definition(
        &mut self,
        t: &TypeDefinition,
        declared_interfaces: &[String],
    ) -> Checked<Option<RemoteType>> {
        if t.kind == TypeDefKind::Scalar && BUILT_IN_SCALARS.contains(&t.name.as_str()) {
            return Ok(None);
        }
        let upstream = self
            .remote
            .types
            .iter()
            .find(|u| u.name == t.name && u.kind == t.kind);
        let Some(upstream) = upstream else {
            return self.refute(format!(
                "\"{}\": \"{}\" does not exist in the upstream remote schema",
                kind_label(t.kind),
                t.name
            ));
        };
        self.directives(&t.directives, Location::Type, kind_label(t.kind), &t.name)?;
        let mut out = RemoteType {
            kind: upstream.kind,
            name: t.name.clone(),
            description: t.description.clone(),
            fields: Vec::new(),
            input_fields: Vec::new(),
            enum_values: Vec::new(),
            interfaces: Vec::new(),
            possible_types: Vec::new(),
        };
        match t.kind {
            TypeDefKind::Scalar => {}
            TypeDefKind::Enum => {
                let names: Vec<String> = t.enum_values.iter().map(|(n, _)| n.clone()).collect();
                let dups = duplicates(names.iter());
                if !dups.is_empty() {
                    return self.refute(format!(
                        "duplicate enum values: {} found in the \"{}\" enum",
                        english_list(&dups),
                        t.name
                    ));
                }
                let upstream_names: Vec<String> = upstream
                    .enum_values
                    .iter()
                    .map(|(n, _, _)| n.clone())
                    .collect();
                let missing = difference(&names, &upstream_names);
                if !missing.is_empty() {
                    self.dispute(format!(
                        "enum \"{}\" contains the following enum values that do not exist in the corresponding upstream remote enum: {}",
                        t.name,
                        english_list(&missing)
                    ));
                }
                out.enum_values = upstream
                    .enum_values
                    .iter()
                    .filter(|(n, _, _)| names.contains(n))
                    .cloned()
                    .collect();
            }
            TypeDefKind::Union => {
                let missing = difference(&t.members, &upstream.possible_types);
                if !missing.is_empty() {
                    return self.refute(format!(
                        "union \"{}\" contains members which do not exist in the members of the remote schema union :{}",
                        t.name,
                        english_list(&missing)
                    ));
                }
                out.possible_types = t.members.clone();
            }
            TypeDefKind::Interface => {
                out.fields = self.fields(&t.fields, &upstream.fields, "Interface", &t.name)?;
            }
            TypeDefKind::Object => {
                let extra = difference(&t.interfaces, &upstream.interfaces);
                let custom: Vec<String> = extra
                    .iter()
                    .filter(|i| declared_interfaces.contains(i))
                    .cloned()
                    .collect();
                if !custom.is_empty() {
                    self.dispute(format!(
                        "custom interfaces are not supported. Object\"{}\" implements the following custom interfaces: {}",
                        t.name,
                        english_list(&custom)
                    ));
                }
                out.interfaces = t
                    .interfaces
                    .iter()
                    .filter(|i| upstream.interfaces.contains(i))
                    .cloned()
                    .collect();
                out.fields = self.fields(&t.fields, &upstream.fields, "Object", &t.name)?;
            }
            TypeDefKind::InputObject => {
                out.input_fields =
                    self.arguments(&t.input_fields, &upstream.input_fields, &t.name)?;
            }
        }
        Ok(Some(out))
    }

    /// Directives other than `@preset` do not exist upstream (an introspection has none);
    /// `@preset` only on arguments and input fields, at most one. The preset, if any.
    fn directives<'d>(
        &mut self,
        directives: &'d [graphedge_core::parse::ast::Directive],
        at: Location,
        parent_kind: &str,
        parent: &str,
    ) -> Checked<Option<&'d graphedge_core::parse::ast::Directive>> {
        let others: Vec<String> = directives
            .iter()
            .filter(|d| d.name != "preset")
            .map(|d| d.name.clone())
            .collect();
        let dups = duplicates(others.iter());
        if !dups.is_empty() {
            return self.refute(format!(
                "duplicate directives: {}found in the \"{parent_kind}\" \"{parent}\"",
                english_list(&dups)
            ));
        }
        if let Some(d) = others.first() {
            return self.refute(format!(
                "\"Directive\": \"{d}\" does not exist in the upstream remote schema"
            ));
        }
        let presets: Vec<_> = directives.iter().filter(|d| d.name == "preset").collect();
        match presets.as_slice() {
            [] => Ok(None),
            [one] => {
                if at != Location::InputValue {
                    self.dispute(
                        "Preset directives can be defined only on INPUT_FIELD_DEFINITION or ARGUMENT_DEFINITION"
                            .into(),
                    );
                }
                Ok(Some(one))
            }
            _ => self.refute(format!(
                "found multiple preset directives at \"{parent_kind}\" \"{parent}\""
            )),
        }
    }

    fn fields(
        &mut self,
        provided: &[FieldDefinition],
        upstream: &[RemoteField],
        parent_kind: &str,
        parent: &str,
    ) -> Checked<Vec<RemoteField>> {
        let dups = duplicates(provided.iter().map(|f| &f.name));
        if !dups.is_empty() {
            return self.refute(format!(
                "duplicate fields: {}found in the \"{parent_kind}\" \"{parent}\"",
                english_list(&dups)
            ));
        }
        self.each(provided, |v, f| v.field(f, upstream, parent_kind, parent))
    }

    fn field(
        &mut self,
        f: &FieldDefinition,
        upstream: &[RemoteField],
        parent_kind: &str,
        parent: &str,
    ) -> Checked<RemoteField> {
        let Some(u) = upstream.iter().find(|u| u.name == f.name) else {
            return self.refute(format!(
                "field \"{}\" does not exist in the \"{parent_kind}\": \"{parent}\"",
                f.name
            ));
        };
        self.directives(
            &f.directives,
            Location::Field,
            &format!("{parent_kind} field"),
            parent,
        )?;
        if f.ty != u.ty {
            self.dispute(format!(
                "expected type of \"{}\"(\"{parent_kind} field\") to be {} but received {}",
                f.name,
                sdl::type_text(&u.ty),
                sdl::type_text(&f.ty)
            ));
        }
        let args = self.arguments(&f.args, &u.args, &f.name)?;
        Ok(RemoteField {
            name: f.name.clone(),
            description: f.description.clone(),
            args,
            ty: f.ty.clone(),
            deprecation: u.deprecation.clone(),
        })
    }

    fn arguments(
        &mut self,
        provided: &[InputValueDefinition],
        upstream: &[InputValue],
        parent: &str,
    ) -> Checked<Vec<InputValue>> {
        let dups = duplicates(provided.iter().map(|a| &a.name));
        if !dups.is_empty() {
            return self.refute(format!(
                "duplicate arguments: {}found in the field: \"{parent}\"",
                english_list(&dups)
            ));
        }
        let non_null = |names: Vec<&String>| names.into_iter().cloned().collect::<Vec<String>>();
        let upstream_required = non_null(
            upstream
                .iter()
                .filter(|a| matches!(a.ty, Type::NonNull(_)))
                .map(|a| &a.name)
                .collect(),
        );
        let provided_required = non_null(
            provided
                .iter()
                .filter(|a| matches!(a.ty, Type::NonNull(_)))
                .map(|a| &a.name)
                .collect(),
        );
        let missing = difference(&upstream_required, &provided_required);
        if !missing.is_empty() {
            return self.refute(format!(
                "field: \"{parent}\" expects the following non nullable arguments to be present: {}",
                english_list(&missing)
            ));
        }
        self.each(provided, |v, a| v.argument(a, upstream, parent))
    }

    fn argument(
        &mut self,
        a: &InputValueDefinition,
        upstream: &[InputValue],
        parent: &str,
    ) -> Checked<InputValue> {
        let Some(u) = upstream.iter().find(|u| u.name == a.name) else {
            return self.refute(format!(
                "input argument \"{}\" does not exist in the input object:\"{parent}\"",
                a.name
            ));
        };
        let preset = self.directives(
            &a.directives,
            Location::InputValue,
            "Input object argument",
            parent,
        )?;
        if a.ty != u.ty {
            self.dispute(format!(
                "expected type of \"{}\"(\"Input object argument\") to be {} but received {}",
                a.name,
                sdl::type_text(&u.ty),
                sdl::type_text(&a.ty)
            ));
        }
        let provided_default = a.default.as_ref().map(sdl::value_text);
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        if provided_default.as_deref().map(squeeze) != u.default_value.as_deref().map(squeeze) {
            self.dispute(format!(
                "expected default value of input value: \"{}\"of input object \"{parent}\" to be {} but received {}",
                a.name,
                u.default_value.as_deref().unwrap_or(""),
                provided_default.as_deref().unwrap_or("")
            ));
        }
        let preset = match preset {
            Some(d) => Some(self.preset_directive(&a.ty, &a.name, d)?),
            None => None,
        };
        Ok(InputValue {
            name: a.name.clone(),
            description: a.description.clone(),
            ty: a.ty.clone(),
            default_value: u.default_value.clone(),
            preset,
        })
    }

    fn preset_directive(
        &mut self,
        ty: &Type,
        arg: &str,
        d: &graphedge_core::parse::ast::Directive,
    ) -> Checked<Preset> {
        if d.arguments.is_empty() {
            return self.refute("no arguments found in the preset directive".into());
        }
        let Some((_, value)) = d.arguments.iter().find(|(k, _)| k == "value") else {
            return self.refute(format!("preset argument \"value\" not found at \"{arg}\""));
        };
        let is_static = match d.arguments.iter().find(|(k, _)| k == "static") {
            None => false,
            Some((_, Value::Boolean(b))) => *b,
            Some(_) => {
                return self.refute("expected preset static value to be a Boolean value".into())
            }
        };
        let p = self.preset_value(ty, arg, is_static, value, 0)?;
        Ok(simplify(p))
    }

    /// The SDL's input type `name` (built-in scalars included).
    fn input_type(&self, name: &str) -> Option<InputTypeInfo<'a>> {
        if BUILT_IN_SCALARS.contains(&name) {
            return Some(InputTypeInfo::Scalar);
        }
        let t = self.doc.types.iter().find(|t| t.name == name)?;
        match t.kind {
            TypeDefKind::Scalar => Some(InputTypeInfo::Scalar),
            TypeDefKind::Enum => Some(InputTypeInfo::Enum(
                t.enum_values.iter().map(|(n, _)| n.clone()).collect(),
            )),
            TypeDefKind::InputObject => Some(InputTypeInfo::Object(&t.input_fields)),
            _ => None,
        }
    }

    fn preset_value(
        &mut self,
        ty: &Type,
        arg: &str,
        is_static: bool,
        value: &Value,
        depth: usize,
    ) -> Checked<Preset> {
        if depth > graphedge_core::parse::MAX_DEPTH {
            return self.refute(format!(
                "the preset value at \"{arg}\" is nested too deeply"
            ));
        }
        let shown = || format!("\"{}\"", sdl::value_text(value));
        match ty {
            Type::NonNull(inner) => {
                // A session variable's place keeps its non-null type (its variable's type).
                let mut p = self.preset_value(inner, arg, is_static, value, depth + 1)?;
                if let Preset::Session { ty: t, .. } = &mut p {
                    *t = Type::NonNull(Box::new(t.clone()));
                }
                Ok(p)
            }
            Type::List(inner) => match value {
                Value::List(items) => {
                    let mut out = Vec::new();
                    for x in items {
                        out.push(self.preset_value(inner, arg, is_static, x, depth + 1)?);
                    }
                    Ok(Preset::List(out))
                }
                Value::String(s) if is_session_variable(s) => self.refute(format!(
                    "illegal preset value at \"{arg}\". Session arguments can only be set for singleton values"
                )),
                v => self.preset_value(inner, arg, is_static, v, depth + 1),
            },
            Type::Named(name) => match self.input_type(name) {
                None => self.refute(format!(
                    "expected \"{name}\" to be an input type, but it's an output type"
                )),
                Some(InputTypeInfo::Scalar) => match value {
                    Value::Enum(_) | Value::List(_) | Value::Object(_) => self.refute(format!(
                        "expected preset value {} of type \"{name}\" to be a scalar value",
                        shown()
                    )),
                    Value::String(s) if is_session_variable(s) && !is_static => Ok(Preset::Session {
                        var: s.to_ascii_lowercase(),
                        ty: ty.clone(),
                        enum_values: None,
                    }),
                    v => Ok(Preset::Value(v.clone())),
                },
                Some(InputTypeInfo::Enum(values)) => match value {
                    Value::Enum(e) if values.contains(e) => Ok(Preset::Value(value.clone())),
                    Value::Enum(e) => {
                        self.refute(format!("\"{e}\" not found in the enum: \"{name}\""))
                    }
                    Value::String(s) if is_session_variable(s) => Ok(Preset::Session {
                        var: s.to_ascii_lowercase(),
                        ty: ty.clone(),
                        enum_values: Some(values),
                    }),
                    _ => self.refute(format!(
                        "expected preset value {} of type \"{name}\" to be an enum value",
                        shown()
                    )),
                },
                Some(InputTypeInfo::Object(fields)) => match value {
                    Value::Object(entries) => {
                        let mut out = Vec::new();
                        for (k, v) in entries {
                            let Some(f) = fields.iter().find(|f| &f.name == k) else {
                                return self.refute(format!(
                                    "\"{k}\" does not exist in the input object \"{name}\""
                                ));
                            };
                            out.push((k.clone(), self.preset_value(&f.ty, k, is_static, v, depth + 1)?));
                        }
                        Ok(Preset::Object(out))
                    }
                    _ => self.refute(format!(
                        "expected preset value {} of type \"{name}\" to be an input object value",
                        shown()
                    )),
                },
            },
        }
    }
}

enum InputTypeInfo<'a> {
    Scalar,
    Enum(Vec<String>),
    Object(&'a [InputValueDefinition]),
}

/// Hasura's `isSessionVariable`: `x-hasura-…`, any case.
fn is_session_variable(s: &str) -> bool {
    s.len() >= 9 && s[..9].eq_ignore_ascii_case("x-hasura-")
}

/// A preset without session variables becomes one constant.
fn simplify(p: Preset) -> Preset {
    fn constant(p: &Preset) -> Option<Value> {
        match p {
            Preset::Value(v) => Some(v.clone()),
            Preset::Session { .. } => None,
            Preset::List(items) => items
                .iter()
                .map(constant)
                .collect::<Option<Vec<_>>>()
                .map(Value::List),
            Preset::Object(fields) => fields
                .iter()
                .map(|(k, v)| constant(v).map(|v| (k.clone(), v)))
                .collect::<Option<Vec<_>>>()
                .map(Value::Object),
        }
    }
    match constant(&p) {
        Some(v) => Preset::Value(v),
        None => p,
    }
}

/// The role's view: the remote's connection settings with the SDL's types; interfaces' possible
/// types from the objects that implement them; an argument or input field whose input object
/// type has every field preset is preset to those values, and that type is dropped.
fn build_view(remote: &RemoteSchema, mut types: Vec<RemoteType>, roots: Roots) -> RemoteSchema {
    let implementors: Vec<(String, String)> = types
        .iter()
        .filter(|t| t.kind == TypeKind::Object)
        .flat_map(|t| t.interfaces.iter().map(|i| (i.clone(), t.name.clone())))
        .collect();
    for t in types.iter_mut().filter(|t| t.kind == TypeKind::Interface) {
        t.possible_types = implementors
            .iter()
            .filter(|(i, _)| i == &t.name)
            .map(|(_, o)| o.clone())
            .collect();
    }
    // Fully preset input objects, to a fixed point (each round presets at least one more).
    for _ in 0..=types.len() {
        let full: Vec<(String, Preset)> = types
            .iter()
            .filter(|t| {
                t.kind == TypeKind::InputObject
                    && !t.input_fields.is_empty()
                    && t.input_fields.iter().all(|f| f.preset.is_some())
            })
            .map(|t| {
                let fields = t
                    .input_fields
                    .iter()
                    .filter_map(|f| f.preset.clone().map(|p| (f.name.clone(), p)))
                    .collect();
                (t.name.clone(), simplify(Preset::Object(fields)))
            })
            .collect();
        let mut changed = false;
        let mut preset_where = |iv: &mut InputValue| {
            let direct = match &iv.ty {
                Type::Named(n) => Some(n),
                Type::NonNull(inner) => match &**inner {
                    Type::Named(n) => Some(n),
                    _ => None,
                },
                Type::List(_) => None,
            };
            if let (None, Some(base)) = (&iv.preset, direct) {
                if let Some((_, p)) = full.iter().find(|(n, _)| n == base) {
                    iv.preset = Some(p.clone());
                    changed = true;
                }
            }
        };
        for t in types.iter_mut() {
            for f in t.fields.iter_mut() {
                f.args.iter_mut().for_each(&mut preset_where);
            }
            t.input_fields.iter_mut().for_each(&mut preset_where);
        }
        if !changed {
            let gone: Vec<String> = full.into_iter().map(|(n, _)| n).collect();
            types.retain(|t| !gone.contains(&t.name));
            break;
        }
    }
    // The relationships of the types the role sees, when it sees their join fields.
    let relationships = remote
        .relationships
        .iter()
        .filter(|r| {
            types.iter().any(|t| {
                t.name == r.type_name
                    && r.mapping
                        .iter()
                        .all(|(f, _)| t.fields.iter().any(|x| &x.name == f))
            })
        })
        .cloned()
        .collect();
    RemoteSchema {
        name: remote.name.clone(),
        url: remote.url.clone(),
        headers: remote.headers.clone(),
        forward_client_headers: remote.forward_client_headers,
        timeout_seconds: remote.timeout_seconds,
        types,
        query_type: Some(roots.0),
        mutation_type: roots.1,
        subscription_type: roots.2,
        permissions: Vec::new(),
        customization: remote.customization.clone(),
        role_schemas: Vec::new(),
        relationships,
    }
}

/// An inherited role's view: the union of its parents' views (`None` without any). A type,
/// field, argument or enum value any parent sees, it sees; an argument one parent may set is
/// not preset.
pub fn union_of(parents: &[&RemoteSchema]) -> Option<RemoteSchema> {
    let (first, rest) = parents.split_first()?;
    let mut out = (*first).clone();
    for p in rest {
        for t in &p.types {
            let Some(mine) = out.types.iter_mut().find(|x| x.name == t.name) else {
                out.types.push(t.clone());
                continue;
            };
            for f in &t.fields {
                match mine.fields.iter_mut().find(|x| x.name == f.name) {
                    Some(m) => merge_inputs(&mut m.args, &f.args),
                    None => mine.fields.push(f.clone()),
                }
            }
            merge_inputs(&mut mine.input_fields, &t.input_fields);
            for v in &t.enum_values {
                if !mine.enum_values.iter().any(|x| x.0 == v.0) {
                    mine.enum_values.push(v.clone());
                }
            }
            for n in &t.possible_types {
                if !mine.possible_types.contains(n) {
                    mine.possible_types.push(n.clone());
                }
            }
            for n in &t.interfaces {
                if !mine.interfaces.contains(n) {
                    mine.interfaces.push(n.clone());
                }
            }
        }
        if out.mutation_type.is_none() {
            out.mutation_type = p.mutation_type.clone();
        }
        if out.subscription_type.is_none() {
            out.subscription_type = p.subscription_type.clone();
        }
    }
    Some(out)
}

/// Whether two parents preset one argument or input field to different values: Hasura cannot
/// inherit such a permission (the inherited role gets none; an inconsistency).
pub fn presets_conflict(parents: &[&RemoteSchema]) -> bool {
    let differ = |a: &[InputValue], b: &[InputValue]| {
        a.iter().any(|x| {
            b.iter().any(|y| {
                x.name == y.name && matches!((&x.preset, &y.preset), (Some(p), Some(q)) if p != q)
            })
        })
    };
    parents.iter().enumerate().any(|(i, a)| {
        parents[i + 1..].iter().any(|b| {
            a.types.iter().any(|t| {
                b.types.iter().filter(|u| u.name == t.name).any(|u| {
                    differ(&t.input_fields, &u.input_fields)
                        || t.fields.iter().any(|f| {
                            u.fields
                                .iter()
                                .any(|g| g.name == f.name && differ(&f.args, &g.args))
                        })
                })
            })
        })
    })
}

fn merge_inputs(mine: &mut Vec<InputValue>, theirs: &[InputValue]) {
    for a in theirs {
        match mine.iter_mut().find(|x| x.name == a.name) {
            Some(m) if a.preset.is_none() => m.preset = None,
            Some(_) => {}
            None => mine.push(a.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
