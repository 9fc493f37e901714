//! Executes the selection set of `__schema` / `__type(name:)` over a [`TypeSystem`], writing
//! the JSON value directly. Supports aliases, `__typename`, named and inline fragments on the
//! meta types, field merging, and `@skip`/`@include` with literals or variables.
//!
//! Never panics and always terminates: fragment cycles, undefined fragments and oversized
//! expansions are rejected up front (`compile::normalize::check_operation`), nesting is bounded
//! by `Options::max_depth`, and the output by [`MAX_OUTPUT`] (fragment "bombs").
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::types::{
    DirectiveDef, EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem,
};
use crate::encode::write_json_string;
use crate::error::{Error, ErrorCode, Result};
use crate::parse::ast::{Directive, Field, Fragment, Selection};
use crate::value::Value;
use crate::Options;

/// Upper bound of one introspection field's JSON (bytes).
pub const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// A `__Type` value: a named type or a wrapper (`LIST`/`NON_NULL`) around a type reference.
#[derive(Clone, Copy)]
enum TypeView<'a> {
    Named(&'a TypeDef),
    Wrapped(&'a TypeRef),
}

/// An object of the introspection schema.
#[derive(Clone, Copy)]
enum Obj<'a> {
    Schema,
    Type(TypeView<'a>),
    Field(&'a FieldDef),
    InputValue(&'a InputValue),
    EnumValue(&'a EnumValueDef),
    Directive(&'a DirectiveDef),
}

impl Obj<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Obj::Schema => "__Schema",
            Obj::Type(_) => "__Type",
            Obj::Field(_) => "__Field",
            Obj::InputValue(_) => "__InputValue",
            Obj::EnumValue(_) => "__EnumValue",
            Obj::Directive(_) => "__Directive",
        }
    }
}

struct Exec<'a> {
    ts: &'a TypeSystem,
    fragments: &'a [Fragment],
    variables: &'a [(String, Value)],
    max_depth: usize,
}

/// Resolves one root introspection field (`__schema` or `__type`) against a built type system.
pub fn resolve_in(
    ts: &TypeSystem,
    options: &Options,
    field: &Field,
    fragments: &[Fragment],
    variables: &[(String, Value)],
) -> Result<String> {
    let root = format!("$.selectionSet.{}", field.name);
    crate::compile::normalize::check_operation(
        fragments,
        &field.selection_set,
        &root,
        options.max_depth.max(4),
    )?;
    let ex = Exec {
        ts,
        fragments,
        variables,
        max_depth: options.max_depth.max(4),
    };
    let path = format!("$.selectionSet.{}", field.response_key());
    let mut out = String::new();
    match field.name.as_str() {
        "__schema" => {
            ex.no_args(field, &path, &[])?;
            ex.object(
                Obj::Schema,
                &[field.selection_set.as_slice()],
                &path,
                1,
                &mut out,
            )?;
        }
        "__type" => {
            ex.no_args(field, &path, &["name"])?;
            let name = match field.argument("name").map(|v| ex.resolve_var(v)) {
                Some(Some(Value::String(s))) => s.clone(),
                Some(Some(other)) => {
                    return Err(Error::validation(
                        format!("{}.args.name", path),
                        format!(
                            "expected a string for type 'String', but found {}",
                            other.kind()
                        ),
                    ))
                }
                _ => {
                    return Err(Error::validation(
                        format!("{}.args", path),
                        "missing required field 'name'",
                    ))
                }
            };
            match ts.type_def(&name) {
                Some(def) => ex.object(
                    Obj::Type(TypeView::Named(def)),
                    &[field.selection_set.as_slice()],
                    &path,
                    1,
                    &mut out,
                )?,
                None => {
                    ex.require_selection(field.selection_set.is_empty(), "__Type", &path)?;
                    out.push_str("null");
                }
            }
        }
        other => {
            return Err(Error::validation(
                path,
                format!("field '{}' not found in type: '{}'", other, ts.query_type),
            ))
        }
    }
    Ok(out)
}

impl<'a> Exec<'a> {
    fn resolve_var<'v>(&'v self, v: &'v Value) -> Option<&'v Value> {
        match v {
            Value::Variable(n) => self.variables.iter().find(|(k, _)| k == n).map(|(_, v)| v),
            other => Some(other),
        }
    }

    fn no_args(&self, field: &Field, path: &str, allowed: &[&str]) -> Result<()> {
        for (name, _) in &field.arguments {
            if !allowed.contains(&name.as_str()) {
                return Err(Error::validation(
                    format!("{}.args.{}", path, name),
                    format!("'{}' has no argument named '{}'", field.name, name),
                ));
            }
        }
        Ok(())
    }

    fn require_selection(&self, empty: bool, ty: &str, path: &str) -> Result<()> {
        if empty {
            return Err(Error::validation(
                path,
                format!("missing selection set for field of type '{}'", ty),
            ));
        }
        Ok(())
    }

    /// Whether `@skip`/`@include` keep a selection.
    fn included(&self, directives: &[Directive], path: &str) -> Result<bool> {
        for d in directives {
            let keep_if = match d.name.as_str() {
                "skip" => false,
                "include" => true,
                _ => continue,
            };
            let cond = d
                .arguments
                .iter()
                .find(|(n, _)| n == "if")
                .map(|(_, v)| self.resolve_var(v));
            let b = match cond {
                Some(Some(Value::Boolean(b))) => *b,
                Some(Some(other)) => {
                    return Err(Error::validation(
                        format!("{}.directives.{}.args.if", path, d.name),
                        format!(
                            "expected a boolean for type 'Boolean', but found {}",
                            other.kind()
                        ),
                    ))
                }
                _ => {
                    return Err(Error::validation(
                        format!("{}.directives.{}", path, d.name),
                        format!("missing required field 'if' in directive '{}'", d.name),
                    ))
                }
            };
            if b != keep_if {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Groups the fields of `sels` that apply to `type_name` by response key, in order.
    fn collect<'s>(
        &self,
        type_name: &str,
        sels: &'s [Selection],
        groups: &mut Vec<(&'s str, Vec<&'s Field>)>,
        index: &mut BTreeMap<&'s str, usize>,
        path: &str,
        depth: usize,
    ) -> Result<()>
    where
        'a: 's,
    {
        if depth > self.max_depth {
            return Err(Error::validation(path, "the query is nested too deeply"));
        }
        for s in sels {
            match s {
                Selection::Field(f) => {
                    if !self.included(&f.directives, path)? {
                        continue;
                    }
                    let key = f.response_key();
                    match index.get(key).and_then(|&i| groups.get_mut(i)) {
                        Some((_, fs)) => {
                            if fs[0].name != f.name {
                                return Err(Error::validation(
                                    path,
                                    format!(
                                        "cannot merge different fields '{}' and '{}' under the same name '{}'",
                                        fs[0].name, f.name, key
                                    ),
                                ));
                            }
                            fs.push(f)
                        }
                        None => {
                            index.insert(key, groups.len());
                            groups.push((key, Vec::from([f])))
                        }
                    }
                }
                Selection::FragmentSpread(fs) => {
                    if !self.included(&fs.directives, path)? {
                        continue;
                    }
                    let Some(frag) = self.fragments.iter().find(|f| f.name == fs.name) else {
                        return Err(Error::validation(
                            path,
                            format!("reference to undefined fragment \"{}\"", fs.name),
                        ));
                    };
                    if frag.type_condition == type_name {
                        self.collect(
                            type_name,
                            &frag.selection_set,
                            groups,
                            index,
                            path,
                            depth + 1,
                        )?;
                    }
                }
                Selection::InlineFragment(i) => {
                    if !self.included(&i.directives, path)? {
                        continue;
                    }
                    if i.type_condition.as_deref().is_none_or(|t| t == type_name) {
                        self.collect(type_name, &i.selection_set, groups, index, path, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes an object: the selection sets `sels` (merged) applied to `obj`.
    fn object(
        &self,
        obj: Obj<'a>,
        sels: &[&[Selection]],
        path: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        if depth > self.max_depth {
            return Err(Error::validation(path, "the query is nested too deeply"));
        }
        if out.len() > MAX_OUTPUT {
            return Err(Error::new(
                ErrorCode::ValidationFailed,
                path,
                "the introspection result is too large",
            ));
        }
        let type_name = obj.type_name();
        let mut groups: Vec<(&str, Vec<&Field>)> = Vec::new();
        let mut index = BTreeMap::new();
        for s in sels {
            self.collect(type_name, s, &mut groups, &mut index, path, depth)?;
        }
        if groups.is_empty() {
            return Err(Error::validation(
                path,
                format!("missing selection set for field of type '{}'", type_name),
            ));
        }
        out.push('{');
        for (i, (key, fields)) in groups.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(out, key);
            out.push(':');
            let f = fields[0];
            let sub: Vec<&[Selection]> =
                fields.iter().map(|f| f.selection_set.as_slice()).collect();
            let fpath = format!("{}.selectionSet.{}", path, key);
            self.field(obj, f, &sub, &fpath, depth, out)?;
        }
        out.push('}');
        Ok(())
    }

    fn leaf(&self, f: &Field, sub: &[&[Selection]], path: &str) -> Result<()> {
        if sub.iter().any(|s| !s.is_empty()) {
            return Err(Error::validation(
                path,
                format!(
                    "unexpected subselection set for non-object field '{}'",
                    f.name
                ),
            ));
        }
        Ok(())
    }

    fn str_opt(out: &mut String, s: Option<&str>) {
        match s {
            Some(s) => write_json_string(out, s),
            None => out.push_str("null"),
        }
    }

    fn list<T: Copy>(
        &self,
        items: impl Iterator<Item = T>,
        to_obj: impl Fn(T) -> Obj<'a>,
        sub: &[&[Selection]],
        path: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        out.push('[');
        for (i, it) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.object(to_obj(it), sub, path, depth + 1, out)?;
        }
        out.push(']');
        Ok(())
    }

    fn type_view(&self, r: &'a TypeRef) -> Option<TypeView<'a>> {
        match r {
            TypeRef::Named(n) => self.ts.type_def(n).map(TypeView::Named),
            wrapped => Some(TypeView::Wrapped(wrapped)),
        }
    }

    fn type_obj(
        &self,
        r: &'a TypeRef,
        sub: &[&[Selection]],
        path: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        match self.type_view(r) {
            Some(v) => self.object(Obj::Type(v), sub, path, depth + 1, out),
            None => {
                out.push_str("null");
                Ok(())
            }
        }
    }

    fn check_args(&self, f: &Field, allowed: &[&str], path: &str) -> Result<()> {
        for (name, v) in &f.arguments {
            if !allowed.contains(&name.as_str()) {
                return Err(Error::validation(
                    format!("{}.args.{}", path, name),
                    format!("'{}' has no argument named '{}'", f.name, name),
                ));
            }
            match self.resolve_var(v) {
                None | Some(Value::Boolean(_)) | Some(Value::Null) => {}
                Some(other) => {
                    return Err(Error::validation(
                        format!("{}.args.{}", path, name),
                        format!(
                            "expected a boolean for type 'Boolean', but found {}",
                            other.kind()
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    fn not_found(&self, obj: &Obj<'_>, f: &Field, path: &str) -> Error {
        Error::validation(
            path,
            format!(
                "field '{}' not found in type: '{}'",
                f.name,
                obj.type_name()
            ),
        )
    }

    /// Writes the value of one field of a meta object.
    fn field(
        &self,
        obj: Obj<'a>,
        f: &Field,
        sub: &[&[Selection]],
        path: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        let name = f.name.as_str();
        if name == "__typename" {
            self.leaf(f, sub, path)?;
            self.check_args(f, &[], path)?;
            write_json_string(out, obj.type_name());
            return Ok(());
        }
        // Fields taking `includeDeprecated`; every other field takes no argument.
        let with_deprecated = matches!(
            (&obj, name),
            (Obj::Type(_), "fields" | "enumValues" | "inputFields")
                | (Obj::Field(_), "args")
                | (Obj::Directive(_), "args")
        );
        self.check_args(
            f,
            if with_deprecated {
                &["includeDeprecated"]
            } else {
                &[]
            },
            path,
        )?;
        let ts = self.ts;
        // Object-valued fields.
        let object_field = matches!(
            (&obj, name),
            (
                Obj::Schema,
                "types" | "queryType" | "mutationType" | "subscriptionType" | "directives"
            ) | (
                Obj::Type(_),
                "fields" | "interfaces" | "possibleTypes" | "enumValues" | "inputFields" | "ofType"
            ) | (Obj::Field(_), "args" | "type")
                | (Obj::InputValue(_), "type")
                | (Obj::Directive(_), "args")
        );
        if object_field {
            if sub.iter().all(|s| s.is_empty()) {
                return Err(Error::validation(
                    path,
                    format!(
                        "missing selection set for field '{}' of type '{}'",
                        name,
                        obj.type_name()
                    ),
                ));
            }
        } else {
            self.leaf(f, sub, path)?;
        }
        match obj {
            Obj::Schema => match name {
                "description" => out.push_str("null"),
                "types" => self.list(
                    ts.types.values(),
                    |d| Obj::Type(TypeView::Named(d)),
                    sub,
                    path,
                    depth,
                    out,
                )?,
                "queryType" | "mutationType" | "subscriptionType" => {
                    let n = match name {
                        "queryType" => Some(ts.query_type.as_str()),
                        "mutationType" => ts.mutation_type.as_deref(),
                        _ => ts.subscription_type.as_deref(),
                    };
                    match n.and_then(|n| ts.type_def(n)) {
                        Some(d) => {
                            self.object(Obj::Type(TypeView::Named(d)), sub, path, depth + 1, out)?
                        }
                        None => out.push_str("null"),
                    }
                }
                "directives" => {
                    self.list(ts.directives.iter(), Obj::Directive, sub, path, depth, out)?
                }
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::Type(TypeView::Named(d)) => match name {
                "kind" => write_json_string(out, d.kind.as_str()),
                "name" => write_json_string(out, &d.name),
                "description" => Self::str_opt(out, d.description.as_deref()),
                "specifiedByURL" => out.push_str("null"),
                "fields" if matches!(d.kind, TypeKind::Object | TypeKind::Interface) => {
                    self.list(d.fields.iter(), Obj::Field, sub, path, depth, out)?
                }
                "interfaces" | "possibleTypes"
                    if (name == "interfaces" && d.kind == TypeKind::Object)
                        || (name == "possibleTypes"
                            && matches!(d.kind, TypeKind::Interface | TypeKind::Union)) =>
                {
                    let refs = if name == "interfaces" {
                        &d.interfaces
                    } else {
                        &d.possible_types
                    };
                    out.push('[');
                    for (i, r) in refs.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        self.type_obj(r, sub, path, depth, out)?;
                    }
                    out.push(']');
                }
                "enumValues" if d.kind == TypeKind::Enum => {
                    self.list(d.enum_values.iter(), Obj::EnumValue, sub, path, depth, out)?
                }
                "inputFields" if d.kind == TypeKind::InputObject => self.list(
                    d.input_fields.iter(),
                    Obj::InputValue,
                    sub,
                    path,
                    depth,
                    out,
                )?,
                "fields" | "interfaces" | "enumValues" | "inputFields" | "possibleTypes"
                | "ofType" => out.push_str("null"),
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::Type(TypeView::Wrapped(r)) => match name {
                "kind" => write_json_string(out, if r.is_non_null() { "NON_NULL" } else { "LIST" }),
                "name" | "description" | "specifiedByURL" => out.push_str("null"),
                "fields" | "interfaces" | "enumValues" | "inputFields" | "possibleTypes" => {
                    out.push_str("null")
                }
                "ofType" => match r {
                    TypeRef::List(inner) | TypeRef::NonNull(inner) => {
                        self.type_obj(inner, sub, path, depth, out)?
                    }
                    TypeRef::Named(_) => out.push_str("null"),
                },
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::Field(fd) => match name {
                "name" => write_json_string(out, &fd.name),
                "description" => Self::str_opt(out, fd.description.as_deref()),
                "args" => self.list(fd.args.iter(), Obj::InputValue, sub, path, depth, out)?,
                "type" => self.type_obj(&fd.ty, sub, path, depth, out)?,
                "isDeprecated" => out.push_str("false"),
                "deprecationReason" => out.push_str("null"),
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::InputValue(iv) => match name {
                "name" => write_json_string(out, &iv.name),
                "description" => Self::str_opt(out, iv.description.as_deref()),
                "type" => self.type_obj(&iv.ty, sub, path, depth, out)?,
                "defaultValue" => Self::str_opt(out, iv.default_value.as_deref()),
                "isDeprecated" => out.push_str("false"),
                "deprecationReason" => out.push_str("null"),
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::EnumValue(ev) => match name {
                "name" => write_json_string(out, &ev.name),
                "description" => Self::str_opt(out, ev.description.as_deref()),
                "isDeprecated" => out.push_str("false"),
                "deprecationReason" => out.push_str("null"),
                _ => return Err(self.not_found(&obj, f, path)),
            },
            Obj::Directive(dd) => match name {
                "name" => write_json_string(out, &dd.name),
                "description" => Self::str_opt(out, dd.description.as_deref()),
                "isRepeatable" => out.push_str(if dd.is_repeatable { "true" } else { "false" }),
                "locations" => {
                    out.push('[');
                    for (i, l) in dd.locations.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_json_string(out, l);
                    }
                    out.push(']');
                }
                "args" => self.list(dd.args.iter(), Obj::InputValue, sub, path, depth, out)?,
                _ => return Err(self.not_found(&obj, f, path)),
            },
        }
        Ok(())
    }
}
