//! Prints a [`TypeSystem`] as GraphQL SDL (schema definition language): used for snapshot
//! tests and schema export. Introspection types (`__*`) and built-in scalars are left out, as
//! graphql-js `printSchema` does.
use alloc::string::String;

use super::types::{InputValue, TypeDef, TypeKind, TypeSystem};

fn is_builtin_scalar(name: &str) -> bool {
    matches!(name, "Int" | "Float" | "String" | "Boolean" | "ID")
}

fn description(out: &mut String, desc: Option<&str>, indent: &str) {
    let Some(d) = desc else { return };
    // Block strings cannot contain `"""`; escape it.
    let d = d.replace("\"\"\"", "\\\"\"\"");
    out.push_str(indent);
    out.push_str("\"\"\"");
    if d.ends_with('"') || d.ends_with('\\') || d.contains('\n') {
        // Multi-line form, as graphql-js prints it when the text would touch the delimiter.
        out.push('\n');
        for line in d.lines() {
            out.push_str(indent);
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(indent);
    } else {
        out.push_str(&d);
    }
    out.push_str("\"\"\"\n");
}

fn input_value(out: &mut String, v: &InputValue) {
    out.push_str(&v.name);
    out.push_str(": ");
    v.ty.write(out);
    if let Some(d) = &v.default_value {
        out.push_str(" = ");
        out.push_str(d);
    }
}

fn type_def(out: &mut String, t: &TypeDef) {
    description(out, t.description.as_deref(), "");
    match t.kind {
        TypeKind::Scalar => {
            out.push_str("scalar ");
            out.push_str(&t.name);
            out.push('\n');
        }
        TypeKind::Object | TypeKind::Interface => {
            out.push_str(if t.kind == TypeKind::Object {
                "type "
            } else {
                "interface "
            });
            out.push_str(&t.name);
            if !t.interfaces.is_empty() {
                let names: alloc::vec::Vec<&str> = t.interfaces.iter().map(|i| i.base()).collect();
                out.push_str(" implements ");
                out.push_str(&names.join(" & "));
            }
            out.push_str(" {\n");
            for f in &t.fields {
                description(out, f.description.as_deref(), "  ");
                out.push_str("  ");
                out.push_str(&f.name);
                if !f.args.is_empty() {
                    out.push('(');
                    for (i, a) in f.args.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        input_value(out, a);
                    }
                    out.push(')');
                }
                out.push_str(": ");
                f.ty.write(out);
                out.push('\n');
            }
            out.push_str("}\n");
        }
        TypeKind::Union => {
            out.push_str("union ");
            out.push_str(&t.name);
            let names: alloc::vec::Vec<&str> = t.possible_types.iter().map(|i| i.base()).collect();
            if !names.is_empty() {
                out.push_str(" = ");
                out.push_str(&names.join(" | "));
            }
            out.push('\n');
        }
        TypeKind::InputObject => {
            out.push_str("input ");
            out.push_str(&t.name);
            out.push_str(" {\n");
            for f in &t.input_fields {
                description(out, f.description.as_deref(), "  ");
                out.push_str("  ");
                input_value(out, f);
                out.push('\n');
            }
            out.push_str("}\n");
        }
        TypeKind::Enum => {
            out.push_str("enum ");
            out.push_str(&t.name);
            out.push_str(" {\n");
            for v in &t.enum_values {
                description(out, v.description.as_deref(), "  ");
                out.push_str("  ");
                out.push_str(&v.name);
                out.push('\n');
            }
            out.push_str("}\n");
        }
    }
}

/// The SDL of a type system: the `schema { … }` block, then every type sorted by name.
pub fn to_sdl(ts: &TypeSystem) -> String {
    let mut out = String::from("schema {\n  query: ");
    out.push_str(&ts.query_type);
    out.push('\n');
    if let Some(m) = &ts.mutation_type {
        out.push_str("  mutation: ");
        out.push_str(m);
        out.push('\n');
    }
    if let Some(s) = &ts.subscription_type {
        out.push_str("  subscription: ");
        out.push_str(s);
        out.push('\n');
    }
    out.push_str("}\n");
    for t in ts.types.values() {
        if t.name.starts_with("__") || (t.kind == TypeKind::Scalar && is_builtin_scalar(&t.name)) {
            continue;
        }
        out.push('\n');
        type_def(&mut out, t);
    }
    out
}

impl TypeSystem {
    /// See [`to_sdl`].
    pub fn to_sdl(&self) -> String {
        to_sdl(self)
    }
}
