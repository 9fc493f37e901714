//! Remote schema root fields: each is ONE request to its remote (Hasura's
//! `buildExecStepRemote`): a document with that field alone (its alias kept), fragments inlined
//! as inline fragments with their type conditions, and the definitions of the variables it uses
//! — see [`RemoteCall`]. Arguments the remote's field does not have are refused here, with
//! Hasura's message; values are checked by the remote.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::normalize::Merged;
use super::Ctx;
use crate::error::{Error, Result};
use crate::parse::ast::{Directive, Selection};
use crate::plan::RemoteCall;
use crate::remote_schemas::RemoteField;
use crate::value::Value;

/// The remote serving root field `name` of the operation kind `root` (`query` or `mutation`)
/// for the session's role, with the field — unless a source serves that name at the root
/// (metadata refuses such clashes; introspection lets the source's field win too).
pub(super) fn remote_of<'a>(
    ctx: &Ctx<'a>,
    name: &str,
    root: &str,
) -> Option<(usize, &'a RemoteField)> {
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

/// The request of remote root field `f` (at `path`).
pub(super) fn call<'a>(
    ctx: &mut Ctx<'a>,
    remote: usize,
    field: &RemoteField,
    f: &Merged<'a>,
    path: &str,
    root: &str,
) -> Result<RemoteCall> {
    for (name, _) in &f.field.arguments {
        if !field.args.iter().any(|a| &a.name == name) {
            return Err(Error::validation(
                path,
                format!("'{}' has no argument named '{}'", f.name(), name),
            ));
        }
    }
    let mut p = Printer {
        fragments: ctx.fragments,
        out: String::new(),
        variables: Vec::new(),
    };
    // The field with the selections of every merged occurrence.
    let field = f.field;
    if let Some(alias) = &field.alias {
        p.out.push_str(alias);
        p.out.push_str(": ");
    }
    p.out.push_str(&field.name);
    p.arguments(&field.arguments, 0)?;
    p.directives(&field.directives, 0)?;
    let sets: Vec<&[Selection]> = f.selection_sets();
    if sets.iter().any(|s| !s.is_empty()) {
        p.out.push_str(" {");
        for set in sets {
            p.selections(set, 1)?;
        }
        p.out.push_str(" }");
    }
    let mut definitions = Vec::new();
    for name in &p.variables {
        let Some(def) = ctx.var_defs.iter().find(|d| &d.name == name) else {
            return Err(Error::validation(
                path,
                format!("unbound variable \"{}\"", name),
            ));
        };
        let mut d = format!("${}: {}", name, crate::encode::type_text(&def.ty));
        if let Some(v) = &def.default {
            d.push_str(" = ");
            let mut text = String::new();
            write_value(&mut text, v, &mut Vec::new(), 0)?;
            d.push_str(&text);
        }
        definitions.push(d);
    }
    let mut header = String::from(root);
    if let Some(name) = ctx.operation_name {
        header.push(' ');
        header.push_str(name);
    }
    if !definitions.is_empty() {
        header = format!("{} ({})", header, definitions.join(", "));
    }
    Ok(RemoteCall {
        remote: ctx.schema.remote_schemas[remote].name.clone(),
        key: f.key().to_owned(),
        query: format!("{} {{ {} }}", header, p.out),
        variables: p.variables,
        operation_name: ctx.operation_name.map(String::from),
    })
}

struct Printer<'a> {
    fragments: &'a [crate::parse::ast::Fragment],
    out: String,
    variables: Vec<String>,
}

impl Printer<'_> {
    fn selections(&mut self, set: &[Selection], depth: usize) -> Result<()> {
        if depth > super::MAX_ARGUMENT_NESTING * 4 {
            return Err(Error::validation("$", "the query is nested too deeply"));
        }
        for sel in set {
            self.out.push(' ');
            match sel {
                Selection::Field(f) => {
                    if let Some(alias) = &f.alias {
                        self.out.push_str(alias);
                        self.out.push_str(": ");
                    }
                    self.out.push_str(&f.name);
                    self.arguments(&f.arguments, depth)?;
                    self.directives(&f.directives, depth)?;
                    if !f.selection_set.is_empty() {
                        self.out.push_str(" {");
                        self.selections(&f.selection_set, depth + 1)?;
                        self.out.push_str(" }");
                    }
                }
                Selection::InlineFragment(i) => {
                    self.out.push_str("...");
                    if let Some(t) = &i.type_condition {
                        self.out.push_str(" on ");
                        self.out.push_str(t);
                    }
                    self.directives(&i.directives, depth)?;
                    self.out.push_str(" {");
                    self.selections(&i.selection_set, depth + 1)?;
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
                    self.out.push_str("... on ");
                    self.out.push_str(&frag.type_condition);
                    self.directives(&s.directives, depth)?;
                    self.out.push_str(" {");
                    self.selections(&frag.selection_set, depth + 1)?;
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

    fn directives(&mut self, directives: &[Directive], depth: usize) -> Result<()> {
        for d in directives {
            self.out.push_str(" @");
            self.out.push_str(&d.name);
            self.arguments(&d.arguments, depth)?;
        }
        Ok(())
    }
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
