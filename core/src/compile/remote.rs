//! Remote schema root fields: each is ONE request to its remote (Hasura's
//! `buildExecStepRemote`): a document with that field alone (its alias kept), fragments inlined
//! as inline fragments with their type conditions, and the definitions of the variables it uses
//! — see [`RemoteCall`]. A `root_fields_namespace` field is one request with every field under
//! it. Selections are checked against the remote's types as clients see them (Hasura's
//! customization: renamed types and fields) and printed with the remote's names; arguments the
//! remote's field does not have are refused here, with Hasura's message; values are checked by
//! the remote.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::normalize::Merged;
use super::Ctx;
use crate::error::{Error, Result};
use crate::parse::ast::{Directive, Field, Selection, Type};
use crate::plan::RemoteCall;
use crate::remote_schemas::{RemoteField, RemoteRoot, RemoteSchema, RemoteType, TypeKind};
use crate::value::Value;

/// The remote serving root field `name` (as clients see it) of the operation kind `root`
/// (`query` or `mutation`) for the session's role — unless a source serves that name at the
/// root (metadata refuses such clashes; introspection lets the source's field win too).
pub(super) fn remote_of<'a>(
    ctx: &Ctx<'a>,
    name: &str,
    root: &str,
) -> Option<(usize, RemoteRoot<'a>)> {
    if ctx.opts.relay || ctx.rql || ctx.schema.is_source_root_field(name) {
        return None;
    }
    crate::remote_schemas::root_field_of(
        ctx.schema,
        &ctx.session.role,
        ctx.opts.remote_schema_permissions,
        root,
        name,
    )
}

/// Whether a remote gives the session's role root fields of kind `root`.
pub(super) fn has_root(ctx: &Ctx<'_>, root: &str) -> bool {
    let role = ctx.session.role.as_str();
    !ctx.opts.relay
        && ctx
            .schema
            .remote_schemas
            .iter()
            .any(|r| r.allowed(role, ctx.opts.remote_schema_permissions) && r.root(root).is_some())
}

/// The innermost name of a type reference.
fn base(t: &Type) -> &str {
    let mut cur = t;
    loop {
        match cur {
            Type::Named(n) => return n,
            Type::List(inner) | Type::NonNull(inner) => cur = inner,
        }
    }
}

/// Whether a variable declared as `declared` may be used where `expected` is (GraphQL's
/// "All Variable Usages Are Allowed"; `defaulted`: the variable has a default value).
fn allowed_usage(declared: &Type, expected: &Type, defaulted: bool) -> bool {
    match (declared, expected) {
        (Type::NonNull(d), Type::NonNull(e)) => allowed_usage(d, e, false),
        (d, Type::NonNull(e)) => defaulted && allowed_usage(d, e, false),
        (Type::NonNull(d), e) => allowed_usage(d, e, false),
        (Type::List(d), Type::List(e)) => allowed_usage(d, e, false),
        (Type::Named(d), Type::Named(e)) => d == e,
        _ => false,
    }
}

/// The request of remote root field `f` (at `path`): a field of the remote's root type, or
/// its `root_fields_namespace` field (the fields under it in one document; `__typename`
/// under it is known here).
pub(super) fn call<'a>(
    ctx: &mut Ctx<'a>,
    remote: usize,
    target: RemoteRoot<'a>,
    f: &Merged<'a>,
    path: &str,
    root: &str,
) -> Result<RemoteCall> {
    let r = ctx.schema.remote_schemas[remote]
        .for_role(&ctx.session.role, ctx.opts.remote_schema_permissions)
        .ok_or_else(|| {
            Error::validation(path, "the remote schema is not available to this role")
        })?;
    let Some(root_type) = r.root(root) else {
        return Err(Error::validation(
            path,
            "the remote schema has no such root",
        ));
    };
    let mut p = Printer::new(r, ctx);
    let mut namespace = None;
    match target {
        RemoteRoot::Field(field) => {
            p.field(f.field, field, &f.selection_sets(), path, 0)?;
        }
        RemoteRoot::Namespace => {
            let mut entries: Vec<(String, Option<String>)> = Vec::new();
            let ns_type = r.type_name(&root_type.name);
            for set in f.selection_sets() {
                for sel in set {
                    let Selection::Field(inner) = sel else {
                        return Err(Error::new(
                            crate::error::ErrorCode::NotSupported,
                            path,
                            "fragments in a remote schema's namespace are not supported",
                        ));
                    };
                    let key = inner.response_key();
                    let at = format!("{path}.selectionSet.{key}");
                    if inner.name == "__typename" {
                        if !entries.iter().any(|(k, _)| k == key) {
                            entries.push((key.to_owned(), Some(ns_type.clone())));
                        }
                        continue;
                    }
                    let Some(field) = r
                        .field_by_client_name(root_type, &inner.name)
                        .filter(|x| crate::remote_schemas::usable(x))
                    else {
                        return Err(Error::validation(
                            at,
                            format!("field '{}' not found in type: '{}'", inner.name, ns_type),
                        ));
                    };
                    if !entries.iter().any(|(k, _)| k == key) {
                        entries.push((key.to_owned(), None));
                    }
                    p.out.push(' ');
                    let sets = [inner.selection_set.as_slice()];
                    p.field(inner, field, &sets, &at, 0)?;
                }
            }
            namespace = Some(entries);
        }
    }
    let mut definitions = Vec::new();
    for name in &p.variables {
        let Some(def) = ctx.var_defs.iter().find(|d| &d.name == name) else {
            return Err(Error::validation(
                path,
                format!("unbound variable \"{}\"", name),
            ));
        };
        let mut d = format!(
            "${}: {}",
            name,
            crate::encode::type_text(&r.remote_type(&def.ty))
        );
        if let Some(v) = &def.default {
            d.push_str(" = ");
            let mut text = String::new();
            write_value(&mut text, v, &mut Vec::new(), 0)?;
            d.push_str(&text);
        }
        definitions.push(d);
    }
    for (preset, declared) in p.presets.iter().zip(&p.preset_types) {
        definitions.push(format!("${}: {}", preset.variable, declared));
    }
    for name in core::mem::take(&mut p.shaping) {
        if !ctx.shaping.contains(&name) {
            ctx.shaping.push(name);
        }
    }
    let (phantoms, joins) = table_joins(ctx, core::mem::take(&mut p.joins))?;
    let mut header = String::from(root);
    if let Some(name) = ctx.operation_name {
        header.push(' ');
        header.push_str(name);
    }
    if !definitions.is_empty() {
        header = format!("{} ({})", header, definitions.join(", "));
    }
    let query = if p.out.trim().is_empty() {
        String::new() // only `__typename` under a namespace: nothing to ask
    } else {
        format!("{} {{ {} }}", header, p.out.trim_start())
    };
    let type_renames = if p.typename_paths.is_empty() {
        Vec::new()
    } else {
        object_renames(r)
    };
    let typename_paths = if type_renames.is_empty() {
        Vec::new()
    } else {
        p.typename_paths
    };
    Ok(RemoteCall {
        remote: r.name.clone(),
        key: f.key().to_owned(),
        query,
        variables: p.variables,
        operation_name: ctx.operation_name.map(String::from),
        namespace,
        typename_paths,
        type_renames,
        session_presets: p.presets,
        phantoms,
        joins,
    })
}

struct Printer<'a> {
    remote: &'a RemoteSchema,
    var_defs: &'a [crate::parse::ast::VariableDefinition],
    /// The request's variable values (substituted where a preset is injected into them).
    values: &'a [(String, Value)],
    fragments: &'a [crate::parse::ast::Fragment],
    out: String,
    /// Variables whose values were written into the document (they shape the plan).
    shaping: Vec<String>,
    /// The session variable presets written as variables, and their declared types.
    presets: Vec<crate::plan::SessionPreset>,
    preset_types: Vec<String>,
    variables: Vec<String>,
    /// The response keys from the answer's `data` to the field being printed.
    keys: Vec<String>,
    /// The response paths (from `data`) of the `__typename` fields.
    typename_paths: Vec<Vec<String>>,
    /// Relationships from the remote's types to tables met in the selection.
    joins: Vec<PendingJoin<'a>>,
}

/// A relationship field of a remote object type to a table, met while printing.
struct PendingJoin<'a> {
    /// Response keys from the answer's `data` to the objects holding it.
    objects: Vec<String>,
    key: String,
    phantoms: Vec<String>,
    field: &'a Field,
    rel: &'a crate::remote_schemas::RemoteTypeRelationship,
    /// The field's JSON path.
    path: String,
}

impl<'a> Printer<'a> {
    /// A printer of documents for the remote (as the session's role sees it) `remote`.
    fn new(remote: &'a RemoteSchema, ctx: &Ctx<'a>) -> Printer<'a> {
        Printer {
            remote,
            var_defs: ctx.var_defs,
            values: ctx.variables,
            fragments: ctx.fragments,
            out: String::new(),
            variables: Vec::new(),
            keys: Vec::new(),
            typename_paths: Vec::new(),
            shaping: Vec::new(),
            presets: Vec::new(),
            preset_types: Vec::new(),
            joins: Vec::new(),
        }
    }

    /// A field `f` (client names; `sets`: its merged selection sets) of the remote type
    /// `parent`, which is the remote's `field`, printed with the remote's names under the
    /// client's response key; `path` is the field's JSON path in messages.
    fn field(
        &mut self,
        f: &'a Field,
        field: &'a RemoteField,
        sets: &[&'a [Selection]],
        path: &str,
        depth: usize,
    ) -> Result<()> {
        for (name, v) in &f.arguments {
            let Some(arg) = field.args.iter().find(|a| &a.name == name && a.visible()) else {
                return Err(Error::validation(
                    path,
                    format!("'{}' has no argument named '{}'", f.name, name),
                ));
            };
            if let Value::Variable(var) = v {
                if let Some(def) = self.var_defs.iter().find(|d| &d.name == var) {
                    let expected = self.remote.client_type(&arg.ty);
                    if !allowed_usage(&def.ty, &expected, def.default.is_some()) {
                        return Err(Error::validation(
                            format!("{path}.args.{name}"),
                            format!(
                                "variable '{}' is declared as '{}', but used where '{}' is expected",
                                var,
                                crate::encode::type_text(&def.ty),
                                crate::encode::type_text(&expected)
                            ),
                        ));
                    }
                }
            }
        }
        let key = f.response_key();
        if f.alias.is_some() || f.name != field.name {
            self.out.push_str(key);
            self.out.push_str(": ");
        }
        self.out.push_str(&field.name);
        self.field_arguments(&f.arguments, field, depth)?;
        self.directives(&f.directives, depth)?;
        let child = self.remote.type_named(base(&field.ty));
        if sets.iter().any(|s| !s.is_empty()) {
            self.out.push_str(" {");
            self.keys.push(key.to_owned());
            for set in sets {
                match child {
                    Some(t) => self.selections(set, t, path, depth + 1)?,
                    None => {
                        return Err(Error::validation(
                            path,
                            format!("field '{}' of a scalar has no selection set", f.name),
                        ))
                    }
                }
            }
            self.keys.pop();
            self.out.push_str(" }");
        }
        Ok(())
    }

    /// The client type name a missing field is reported on: an object's, or the first of an
    /// interface's or union's possible types lacking it (as Hasura parses them).
    fn missing_on(&self, parent: &RemoteType, client: &str) -> String {
        if parent.kind != TypeKind::Object {
            for name in &parent.possible_types {
                if let Some(t) = self.remote.type_named(name) {
                    if self.remote.field_by_client_name(t, client).is_none() {
                        return self.remote.type_name(name);
                    }
                }
            }
        }
        self.remote.type_name(&parent.name)
    }

    fn selections(
        &mut self,
        set: &'a [Selection],
        parent: &'a RemoteType,
        path: &str,
        depth: usize,
    ) -> Result<()> {
        if depth > super::MAX_ARGUMENT_NESTING * 4 {
            return Err(Error::validation("$", "the query is nested too deeply"));
        }
        for sel in set {
            match sel {
                Selection::Field(f) => {
                    let key = f.response_key();
                    let at = format!("{path}.selectionSet.{key}");
                    if f.name == "__typename" {
                        self.out.push(' ');
                        if let Some(alias) = &f.alias {
                            self.out.push_str(alias);
                            self.out.push_str(": ");
                        }
                        self.out.push_str("__typename");
                        self.directives(&f.directives, depth)?;
                        let mut p = self.keys.clone();
                        p.push(key.to_owned());
                        if !self.typename_paths.contains(&p) {
                            self.typename_paths.push(p);
                        }
                        continue;
                    }
                    if let Some(rel) = self.remote.type_relationship(&parent.name, &f.name) {
                        // A relationship to a table: the join fields under phantom aliases,
                        // the table's part compiled once the document is printed.
                        let mut phantoms = Vec::new();
                        for (i, (remote_field, _)) in rel.mapping.iter().enumerate() {
                            let alias = format!("__hasura_phantom_{key}_{i}");
                            self.out.push(' ');
                            self.out.push_str(&alias);
                            self.out.push_str(": ");
                            self.out.push_str(remote_field);
                            phantoms.push(alias);
                        }
                        self.joins.push(PendingJoin {
                            objects: self.keys.clone(),
                            key: key.to_owned(),
                            phantoms,
                            field: f,
                            rel,
                            path: at,
                        });
                        continue;
                    }
                    let Some(field) = self
                        .remote
                        .field_by_client_name(parent, &f.name)
                        .filter(|x| crate::remote_schemas::usable(x))
                    else {
                        return Err(Error::validation(
                            at,
                            format!(
                                "field '{}' not found in type: '{}'",
                                f.name,
                                self.missing_on(parent, &f.name)
                            ),
                        ));
                    };
                    self.out.push(' ');
                    let sets = [f.selection_set.as_slice()];
                    self.field(f, field, &sets, &at, depth)?;
                }
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        // A type this remote does not have (by the client's names): Hasura
                        // leaves the fragment out.
                        Some(t) => match self.remote.type_by_client_name(t) {
                            Some(on) => on,
                            None => continue,
                        },
                        None => parent,
                    };
                    self.out.push_str(" ...");
                    if i.type_condition.is_some() {
                        self.out.push_str(" on ");
                        self.out.push_str(&on.name);
                    }
                    self.directives(&i.directives, depth)?;
                    self.out.push_str(" {");
                    self.selections(&i.selection_set, on, path, depth + 1)?;
                    self.out.push_str(" }");
                }
                Selection::FragmentSpread(s) => {
                    let fragments = self.fragments;
                    let Some(frag) = fragments.iter().find(|x| x.name == s.name) else {
                        return Err(Error::validation(
                            "$",
                            format!("fragment {} is not defined", s.name),
                        ));
                    };
                    let Some(on) = self.remote.type_by_client_name(&frag.type_condition) else {
                        continue;
                    };
                    self.out.push_str(" ... on ");
                    self.out.push_str(&on.name);
                    self.directives(&s.directives, depth)?;
                    self.out.push_str(" {");
                    self.selections(&frag.selection_set, on, path, depth + 1)?;
                    self.out.push_str(" }");
                }
            }
        }
        Ok(())
    }

    fn arguments(&mut self, args: &[(String, Value)], depth: usize) -> Result<()> {
        if args.is_empty() {
            return Ok(());
        }
        self.out.push('(');
        for (i, (name, v)) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(name);
            self.out.push_str(": ");
            write_value(&mut self.out, v, &mut self.variables, depth)?;
        }
        self.out.push(')');
        Ok(())
    }

    /// A field's arguments: the client's, with the presets of the role's view injected into
    /// the input objects they reach (a variable there is written out as its value), then the
    /// preset arguments.
    fn field_arguments(
        &mut self,
        args: &[(String, Value)],
        field: &'a RemoteField,
        depth: usize,
    ) -> Result<()> {
        let preset: Vec<&'a crate::remote_schemas::InputValue> =
            field.args.iter().filter(|a| !a.visible()).collect();
        if args.is_empty() && preset.is_empty() {
            return Ok(());
        }
        self.out.push('(');
        let mut first = true;
        for (name, v) in args {
            let Some(arg) = field.args.iter().find(|a| &a.name == name) else {
                continue;
            };
            if !first {
                self.out.push_str(", ");
            }
            first = false;
            self.out.push_str(name);
            self.out.push_str(": ");
            self.input(v, &arg.ty, depth)?;
        }
        for arg in preset {
            if !first {
                self.out.push_str(", ");
            }
            first = false;
            self.out.push_str(&arg.name);
            self.out.push_str(": ");
            if let Some(p) = &arg.preset {
                self.preset(p, depth)?;
            }
        }
        self.out.push(')');
        Ok(())
    }

    /// Whether values of type `t` reach an input field with a preset.
    fn has_presets(&self, t: &Type) -> bool {
        let mut seen: Vec<&str> = Vec::new();
        let mut todo: Vec<&str> = alloc::vec![base(t)];
        while let Some(name) = todo.pop() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let Some(ty) = self.remote.type_named(name) else {
                continue;
            };
            for f in &ty.input_fields {
                if !f.visible() {
                    return true;
                }
                todo.push(base(&f.ty));
            }
        }
        false
    }

    /// A client's input value of the remote type `t`, presets injected.
    fn input(&mut self, v: &Value, t: &Type, depth: usize) -> Result<()> {
        if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
            return Err(Error::validation("$", "the query is nested too deeply"));
        }
        if !self.has_presets(t) {
            return write_value(&mut self.out, v, &mut self.variables, depth);
        }
        let inner = match t {
            Type::NonNull(inner) => inner.as_ref(),
            other => other,
        };
        match (v, inner) {
            (Value::Variable(name), _) => {
                if !self.shaping.contains(name) {
                    self.shaping.push(name.clone());
                }
                let given = self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                let default = || {
                    self.var_defs
                        .iter()
                        .find(|d| &d.name == name)
                        .and_then(|d| d.default.as_ref())
                };
                match given.or_else(default) {
                    Some(x) => self.input(x, t, depth + 1),
                    None => {
                        self.out.push_str("null");
                        Ok(())
                    }
                }
            }
            (Value::List(items), Type::List(item_type)) => {
                self.out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.input(x, item_type, depth + 1)?;
                }
                self.out.push(']');
                Ok(())
            }
            (x, Type::List(item_type)) => self.input(x, item_type, depth + 1),
            (Value::Object(entries), _) => {
                let Some(ty) = self.remote.type_named(base(inner)) else {
                    return write_value(&mut self.out, v, &mut self.variables, depth);
                };
                self.out.push('{');
                let mut first = true;
                for (k, x) in entries {
                    let Some(f) = ty.input_fields.iter().find(|f| &f.name == k && f.visible())
                    else {
                        continue;
                    };
                    if !first {
                        self.out.push_str(", ");
                    }
                    first = false;
                    self.out.push_str(k);
                    self.out.push_str(": ");
                    self.input(x, &f.ty, depth + 1)?;
                }
                for f in ty.input_fields.iter().filter(|f| !f.visible()) {
                    if !first {
                        self.out.push_str(", ");
                    }
                    first = false;
                    self.out.push_str(&f.name);
                    self.out.push_str(": ");
                    if let Some(p) = &f.preset {
                        self.preset(p, depth + 1)?;
                    }
                }
                self.out.push('}');
                Ok(())
            }
            (x, _) => write_value(&mut self.out, x, &mut self.variables, depth),
        }
    }

    /// A preset as a value: a session variable becomes a variable of the document.
    fn preset_value(&mut self, p: &crate::remote_schemas::Preset, depth: usize) -> Result<Value> {
        use crate::remote_schemas::Preset;
        if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
            return Err(Error::validation("$", "the query is nested too deeply"));
        }
        Ok(match p {
            Preset::Value(v) => v.clone(),
            Preset::Session {
                var,
                ty,
                enum_values,
            } => {
                let variable = format!("hasura_session_preset_{}", self.presets.len() + 1);
                self.presets.push(crate::plan::SessionPreset {
                    variable: variable.clone(),
                    session_var: var.clone(),
                    type_name: String::from(base(ty)),
                    enum_values: enum_values.clone(),
                });
                self.preset_types.push(crate::encode::type_text(ty));
                Value::Variable(variable)
            }
            Preset::List(items) => Value::List(
                items
                    .iter()
                    .map(|x| self.preset_value(x, depth + 1))
                    .collect::<Result<_>>()?,
            ),
            Preset::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, x)| Ok((k.clone(), self.preset_value(x, depth + 1)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// A preset's value; a session variable becomes a variable of the document.
    fn preset(&mut self, p: &crate::remote_schemas::Preset, depth: usize) -> Result<()> {
        let v = self.preset_value(p, depth)?;
        let mut ignored = Vec::new();
        write_value(&mut self.out, &v, &mut ignored, depth)
    }

    fn directives(&mut self, directives: &[Directive], depth: usize) -> Result<()> {
        for d in directives {
            self.out.push_str(" @");
            self.out.push_str(&d.name);
            self.arguments(&d.arguments, depth)?;
        }
        Ok(())
    }
}

/// A value as GraphQL text (variables as `$name`).
pub(crate) fn value_text(out: &mut String, v: &Value) -> Result<()> {
    write_value(out, v, &mut Vec::new(), 0)
}

/// A value as GraphQL text; the variables it uses are added to `variables`.
fn write_value(
    out: &mut String,
    v: &Value,
    variables: &mut Vec<String>,
    depth: usize,
) -> Result<()> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(Error::validation("$", "the query is nested too deeply"));
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => crate::encode::write_json_string(out, s),
        Value::Enum(e) => out.push_str(e),
        Value::Variable(name) => {
            out.push('$');
            out.push_str(name);
            if !variables.contains(name) {
                variables.push(name.clone());
            }
        }
        Value::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, x, variables, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, x)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_value(out, x, variables, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// The table parts of the relationships from remote types met in a remote field: where their
/// keys are made from the phantom fields, and the joins answering them (see
/// [`crate::RemoteCall::phantoms`]).
fn table_joins<'a>(
    ctx: &mut Ctx<'a>,
    pending: Vec<PendingJoin<'a>>,
) -> Result<(Vec<crate::plan::PhantomKey>, Vec<crate::RemoteJoin>)> {
    let mut phantoms = Vec::new();
    let mut joins = Vec::new();
    for j in pending {
        if ctx.perm(j.rel.target).is_none() {
            return Err(Error::validation(
                j.path,
                format!(
                    "field '{}' not found in type: '{}'",
                    j.field.name, j.rel.type_name
                ),
            ));
        }
        let mapping: Vec<(usize, usize)> = j.rel.mapping.iter().map(|(_, c)| (*c, *c)).collect();
        let merged = super::normalize::Merged {
            field: j.field,
            all: alloc::vec![j.field],
        };
        joins.extend(super::select::keyed_join(
            ctx,
            j.rel.target,
            &mapping,
            j.rel.target,
            j.rel.kind,
            false,
            &merged,
            &j.path,
        )?);
        phantoms.push(crate::plan::PhantomKey {
            objects: j.objects,
            key: j.key,
            fields: j.phantoms,
        });
    }
    Ok((phantoms, joins))
}

/// What the session's role sees of the remote schema of a relationship (`None`: nothing, or
/// not the relationship's path: the field is not in its schema).
pub(super) fn join_remote<'a>(
    ctx: &Ctx<'a>,
    rel: &crate::model::RemoteSchemaRelationship,
) -> Option<&'a RemoteSchema> {
    if ctx.opts.relay {
        return None;
    }
    let r = ctx
        .schema
        .remote_schemas
        .iter()
        .find(|r| r.name == rel.remote)?
        .for_role(&ctx.session.role, ctx.opts.remote_schema_permissions)?;
    r.relationship_leaf(rel).map(|_| r)
}

/// A relationship to a remote schema's field: here the JSON array of the row's join columns;
/// the value comes from one call to the remote for all distinct keys (a
/// [`crate::RemoteJoin`] with a [`crate::RemoteSchemaJoin`]). The client's arguments of the
/// field are merged into the relationship's (the relationship's values win) and its selection
/// is printed like a remote root field's.
pub(super) fn schema_join<'a>(
    ctx: &mut Ctx<'a>,
    t: crate::model::TableId,
    alias: &str,
    rel: &crate::model::RemoteSchemaRelationship,
    f: &Merged<'a>,
    path: &str,
) -> Result<String> {
    let Some(r) = join_remote(ctx, rel) else {
        return Err(Error::validation(
            path,
            "the remote schema is not available",
        ));
    };
    let Some(leaf) = r.relationship_leaf(rel) else {
        return Err(Error::validation(path, "the remote field is not available"));
    };
    let table = &ctx.schema.tables[t];
    let mut key: Vec<String> = Vec::new();
    for field in &rel.lhs {
        key.push(match field {
            crate::model::JoinField::Column(c) => format!(
                "{}.{}",
                super::sql::ident(alias),
                super::sql::ident(&table.columns[*c].name)
            ),
            crate::model::JoinField::Computed(name) => {
                let Some(cf) = table.computed_field(name) else {
                    return Err(Error::validation(path, "the join field is not available"));
                };
                super::select::computed_call(ctx, t, alias, cf, None, path)?
            }
        });
    }
    let mut p = Printer::new(r, ctx);
    // The client's arguments: known to the field (and not set by the relationship).
    let fixed = rel.path.last().map(|(_, a)| a.as_slice()).unwrap_or(&[]);
    let mut args: Vec<(String, Value)> = fixed.to_vec();
    for (name, v) in &f.field.arguments {
        if !leaf.args.iter().any(|a| &a.name == name && a.visible()) {
            return Err(Error::validation(
                path,
                format!("'{}' has no argument named '{}'", f.field.name, name),
            ));
        }
        match args.iter_mut().find(|(n, _)| n == name) {
            Some((_, mine)) => merge_into(mine, v),
            None => args.push((name.clone(), v.clone())),
        }
        collect_variables(v, &mut p.variables);
    }
    // The role's presets (remote schema permissions) for the arguments the relationship does
    // not set (its join values win, as in Hasura).
    for a in leaf
        .args
        .iter()
        .filter(|a| !a.visible() && !fixed.iter().any(|(n, _)| n == &a.name))
    {
        if let Some(preset) = &a.preset {
            args.retain(|(n, _)| n != &a.name);
            let v = p.preset_value(preset, 0)?;
            args.push((a.name.clone(), v));
        }
    }
    let sets = f.selection_sets();
    if sets.iter().any(|s| !s.is_empty()) {
        let Some(child) = r.type_named(base(&leaf.ty)) else {
            return Err(Error::validation(
                path,
                format!("field '{}' of a scalar has no selection set", f.field.name),
            ));
        };
        p.out.push_str(" {");
        for set in &sets {
            p.selections(set, child, path, 1)?;
        }
        p.out.push_str(" }");
    }
    if !p.joins.is_empty() {
        return Err(Error::new(
            crate::error::ErrorCode::NotSupported,
            path,
            "a relationship of a remote type inside a table's relationship to a remote schema is not supported",
        ));
    }
    let mut definitions = Vec::new();
    for name in &p.variables {
        let Some(def) = ctx.var_defs.iter().find(|d| &d.name == name) else {
            return Err(Error::validation(
                path,
                format!("unbound variable \"{}\"", name),
            ));
        };
        definitions.push(format!(
            "${}: {}",
            name,
            crate::encode::type_text(&r.remote_type(&def.ty))
        ));
    }
    for (preset, declared) in p.presets.iter().zip(&p.preset_types) {
        definitions.push(format!("${}: {}", preset.variable, declared));
    }
    let mut fields = rel.path.clone();
    if let Some(last) = fields.last_mut() {
        last.1 = args;
    }
    let response_path: Vec<String> = path
        .split(".selectionSet.")
        .skip(1)
        .map(String::from)
        .collect();
    let type_renames = if p.typename_paths.is_empty() {
        Vec::new()
    } else {
        object_renames(r)
    };
    let typename_paths = if type_renames.is_empty() {
        Vec::new()
    } else {
        core::mem::take(&mut p.typename_paths)
    };
    ctx.remote_joins.push(crate::RemoteJoin {
        path: response_path,
        plan: crate::Plan::without_sql(crate::PlanKind::Query, Vec::new(), Vec::new()),
        remote: Some(crate::RemoteSchemaJoin {
            remote: r.name.clone(),
            fields,
            selection: p.out,
            variables: p.variables,
            definitions,
            session_presets: p.presets,
            typename_paths,
            type_renames,
        }),
    });
    if key.is_empty() {
        return Ok(String::from("json_build_array()"));
    }
    // A null join column: no remote call, the field is null (Hasura).
    let nulls: Vec<String> = key.iter().map(|k| format!("{k} IS NULL")).collect();
    Ok(format!(
        "CASE WHEN {} THEN NULL ELSE json_build_array({}) END",
        nulls.join(" OR "),
        key.join(", ")
    ))
}

/// The remote's object type names that clients see under other names: `(remote, client)`.
fn object_renames(r: &RemoteSchema) -> Vec<(String, String)> {
    r.types
        .iter()
        .filter(|t| t.kind == TypeKind::Object)
        .map(|t| (t.name.clone(), r.type_name(&t.name)))
        .filter(|(a, b)| a != b)
        .collect()
}

/// Merges a client's argument value into the relationship's: objects key by key, the
/// relationship's values winning.
fn merge_into(mine: &mut Value, theirs: &Value) {
    merge_rec(mine, theirs, 0);
}

fn merge_rec(mine: &mut Value, theirs: &Value, depth: usize) {
    if depth > crate::encode::MAX_VALUE_DEPTH {
        return;
    }
    if let (Value::Object(m), Value::Object(t)) = (&mut *mine, theirs) {
        for (k, v) in t {
            match m.iter_mut().find(|(mk, _)| mk == k) {
                Some((_, mv)) => merge_rec(mv, v, depth + 1),
                None => m.push((k.clone(), v.clone())),
            }
        }
    }
}

/// The request variables a value uses.
fn collect_variables(v: &Value, out: &mut Vec<String>) {
    let mut todo = alloc::vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Value::Variable(n) => {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            Value::List(items) => todo.extend(items.iter()),
            Value::Object(fields) => todo.extend(fields.iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}

impl crate::RemoteSchemaJoin {
    /// The document asking the remote for `keys` (each the values of the join columns, in
    /// order): `query (defs) { f0: a(args) { b(args) <selection> } f1: … }`.
    pub fn document(&self, keys: &[Vec<Value>]) -> Result<String> {
        let mut out = String::from("query");
        if !self.definitions.is_empty() {
            out.push_str(" (");
            out.push_str(&self.definitions.join(", "));
            out.push(')');
        }
        out.push_str(" {");
        for (i, key) in keys.iter().enumerate() {
            out.push_str(&format!(" f{i}: "));
            for (depth, (name, args)) in self.fields.iter().enumerate() {
                if depth > 0 {
                    out.push_str(" { ");
                }
                out.push_str(name);
                if !args.is_empty() {
                    out.push('(');
                    for (j, (a, v)) in args.iter().enumerate() {
                        if j > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(a);
                        out.push_str(": ");
                        write_join_value(&mut out, v, key, 0)?;
                    }
                    out.push(')');
                }
            }
            out.push_str(&self.selection);
            for _ in 1..self.fields.len() {
                out.push_str(" }");
            }
        }
        out.push_str(" }");
        Ok(out)
    }
}

/// A relationship argument's value with the join key's values in place of their names.
fn write_join_value(out: &mut String, v: &Value, key: &[Value], depth: usize) -> Result<()> {
    if depth > crate::encode::MAX_VALUE_DEPTH * 2 {
        return Err(Error::validation("$", "the query is nested too deeply"));
    }
    match v {
        Value::Variable(name) if name.starts_with('\u{0}') => {
            let i: Option<usize> = name.strip_prefix("\u{0}key").and_then(|n| n.parse().ok());
            match i.and_then(|i| key.get(i)) {
                Some(x) => write_value(out, x, &mut Vec::new(), depth),
                None => {
                    out.push_str("null");
                    Ok(())
                }
            }
        }
        Value::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_join_value(out, x, key, depth + 1)?;
            }
            out.push(']');
            Ok(())
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, x)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_join_value(out, x, key, depth + 1)?;
            }
            out.push('}');
            Ok(())
        }
        other => write_value(out, other, &mut Vec::new(), depth),
    }
}
