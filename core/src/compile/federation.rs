//! Apollo federation's root fields (Hasura's `ApolloFederation.hs`): `_service { sdl }`, a
//! static answer, and `_entities(representations: [_Any!]!)`, one row per representation
//! (`{__typename, <primary key>}`) of a table whose `apollo_federation_config` enables it,
//! in order, each read like a `_by_pk` field with the role's filter. The representations are
//! shaping (the statement has one select per item).
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::normalize::{self, Merged};
use super::{select, sub, Ctx};
use crate::error::{Error, Result};
use crate::value::Value;

/// The value of `_service` (JSON text).
pub(super) fn service<'a>(ctx: &mut Ctx<'a>, f: &Merged<'a>, path: &str) -> Result<String> {
    if !f.all.iter().any(|x| !x.selection_set.is_empty()) {
        return Err(Error::validation(
            path,
            "missing selection set for '_service'",
        ));
    }
    let fields = normalize::collect(ctx, &f.selection_sets(), "_Service")?;
    let mut out = String::from("{");
    let mut sdl = None;
    for (i, g) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::encode::write_json_string(&mut out, g.key());
        out.push(':');
        match g.name() {
            "__typename" => out.push_str("\"_Service\""),
            "sdl" => {
                let text = sdl.get_or_insert_with(|| {
                    crate::introspection::federation_sdl(ctx.schema, &ctx.session.role, ctx.opts)
                });
                crate::encode::write_json_string(&mut out, text);
            }
            other => {
                let gpath = sub(&format!("{path}.selectionSet"), g.key());
                return Err(select::not_found(&gpath, other, "_Service"));
            }
        }
    }
    out.push('}');
    Ok(out)
}

/// The SQL of `_entities` (a JSON array).
pub(super) fn entities<'a>(ctx: &mut Ctx<'a>, f: &Merged<'a>, path: &str) -> Result<String> {
    let args_path = sub(path, "args");
    for (name, _) in &f.field.arguments {
        if name != "representations" {
            return Err(Error::validation(
                sub(&args_path, name),
                format!("'_entities' has no argument named '{name}'"),
            ));
        }
    }
    let Some(given) = f.field.argument("representations") else {
        return Err(Error::validation(
            &args_path,
            "missing required field 'representations'",
        ));
    };
    let items = match ctx.resolve(given)? {
        Value::List(items) => items,
        Value::Null => {
            return Err(Error::validation(
                sub(&args_path, "representations"),
                "null value found for non-nullable type: \"[_Any!]!\"",
            ))
        }
        // Input coercion: one value for a list.
        one => alloc::vec![one],
    };
    let entities =
        crate::introspection::federation_entities(ctx.schema, &ctx.session.role, ctx.opts);
    let mut exprs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let rpath = format!("{args_path}.representations[{i}]");
        let Value::Object(fields) = item else {
            return Err(Error::validation(
                &rpath,
                "representations is expecting a list of objects only",
            ));
        };
        let typename = match fields.iter().find(|(k, _)| k == "__typename") {
            Some((_, Value::String(s))) => s,
            Some(_) => {
                return Err(Error::validation(
                    &rpath,
                    "__typename can only be a string value",
                ))
            }
            None => return Err(Error::validation(&rpath, "__typename key not found")),
        };
        let found = entities.iter().find(|(_, name, _)| name == typename);
        let Some(perm) = found.and_then(|(t, _, _)| ctx.perm(*t)) else {
            return Err(Error::validation(
                &rpath,
                format!(
                    "{typename} is not found in selection set or apollo federation is not enabled for the type"
                ),
            ));
        };
        let t = found.map_or(0, |(t, _, _)| *t);
        let key = |col: &str| {
            fields
                .iter()
                .find(|(k, _)| k == col)
                .map(|(_, v)| v)
                .ok_or_else(|| Error::validation(&rpath, format!("cannot find {col} in _Any type")))
        };
        let sets = f.selection_sets();
        exprs.push(select::row_by_key(ctx, t, perm, key, &rpath, &sets, path)?);
    }
    Ok(if exprs.is_empty() {
        "'[]'::json".to_owned()
    } else {
        format!("json_build_array({})", exprs.join(", "))
    })
}
