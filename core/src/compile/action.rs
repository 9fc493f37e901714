//! Action root fields: what the host needs to call the handler and shape its answer
//! ([`ActionCall`]): the arguments as given, the selection of the output object, and one
//! keyed statement per relationship of the output to a table (a [`crate::RemoteJoin`] whose
//! keys are the mapped fields' values of the handler's answer).
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::vec::Vec;

use super::normalize::{self, Merged};
use super::{select, sub, Ctx};
use crate::actions::{Action, ActionKind, ActionRoot, Type};
use crate::error::{Error, ErrorCode, Result};
use crate::plan::{ActionCall, CallMode, OutField, OutKind};

/// The action a root field of `root` names, when the session's role may call it.
pub(super) fn action_of<'a>(ctx: &Ctx<'a>, name: &str, root: ActionRoot) -> Option<&'a Action> {
    if ctx.opts.relay || ctx.rql {
        return None;
    }
    let action = ctx.schema.action(name)?;
    (action.root == root && action.allowed(&ctx.session.role)).then_some(action)
}

/// The asynchronous action whose result field (on the query root) is `name`, when the
/// session's role may call it.
pub(super) fn async_result_of<'a>(ctx: &Ctx<'a>, name: &str) -> Option<&'a Action> {
    if ctx.opts.relay || ctx.rql {
        return None;
    }
    let action = ctx.schema.action(name)?;
    (action.kind == ActionKind::Asynchronous
        && action.root == ActionRoot::Mutation
        && action.allowed(&ctx.session.role))
    .then_some(action)
}

/// The result field of asynchronous action `action` (`<action>(id: uuid!)`).
pub(super) fn result_call<'a>(
    ctx: &mut Ctx<'a>,
    action: &'a Action,
    f: &Merged<'a>,
    path: &str,
) -> Result<ActionCall> {
    for (name, _) in &f.field.arguments {
        if name != "id" {
            return Err(Error::validation(
                path,
                format!("'{}' has no argument named '{}'", f.name(), name),
            ));
        }
    }
    if !f.field.arguments.iter().any(|(n, _)| n == "id") {
        return Err(Error::validation(path, "missing required field 'id'"));
    }
    if !f.all.iter().any(|x| !x.selection_set.is_empty()) {
        return Err(Error::validation(
            path,
            format!("missing selection set for '{}'", action.name),
        ));
    }
    let mut joins = Vec::new();
    let fields = normalize::collect(ctx, &f.selection_sets(), &action.name)?;
    let mut output = Vec::new();
    for g in &fields {
        let gpath = sub(&format!("{}.selectionSet", path), g.key());
        let kind = match g.name() {
            "__typename" => OutKind::Typename(action.name.clone()),
            "id" | "created_at" | "errors" => {
                if g.all.iter().any(|x| !x.selection_set.is_empty()) {
                    return Err(Error::validation(
                        &gpath,
                        format!(
                            "unexpected subselection set for non-object field '{}'",
                            g.name()
                        ),
                    ));
                }
                OutKind::Field {
                    name: g.name().to_owned(),
                    nested: Vec::new(),
                }
            }
            "output" => OutKind::Field {
                name: "output".to_owned(),
                nested: selection(ctx, &action.output_type, g, &gpath, &mut joins, 0)?,
            },
            other => return Err(select::not_found(&gpath, other, &action.name)),
        };
        output.push(OutField {
            key: g.key().to_owned(),
            kind,
        });
    }
    Ok(ActionCall {
        action: action.name.clone(),
        key: f.key().to_owned(),
        arguments: f.field.arguments.clone(),
        defaults: defaults(ctx),
        output,
        joins,
        mode: CallMode::AsyncResult,
    })
}

fn defaults(ctx: &Ctx<'_>) -> Vec<(alloc::string::String, crate::value::Value)> {
    ctx.var_defs
        .iter()
        .filter_map(|d| Some((d.name.clone(), d.default.clone()?)))
        .collect()
}

/// Whether the role can call any action of `root` (then the root type exists for it).
pub(super) fn any_for_role(ctx: &Ctx<'_>, root: ActionRoot) -> bool {
    !ctx.opts.relay
        && ctx
            .schema
            .actions
            .iter()
            .any(|a| a.root == root && a.allowed(&ctx.session.role))
}

/// The call of action field `f` (at `path`, `$.selectionSet.<key>`).
pub(super) fn call<'a>(
    ctx: &mut Ctx<'a>,
    action: &'a Action,
    f: &Merged<'a>,
    path: &str,
) -> Result<ActionCall> {
    let asynchronous = action.kind == ActionKind::Asynchronous;
    if asynchronous && action.root == ActionRoot::Query {
        return Err(Error::new(
            ErrorCode::NotSupported,
            path,
            "query actions are always synchronous",
        ));
    }
    for (name, _) in &f.field.arguments {
        if !action.arguments.iter().any(|a| &a.name == name) {
            return Err(Error::validation(
                path,
                format!("'{}' has no argument named '{}'", f.name(), name),
            ));
        }
    }
    for a in &action.arguments {
        if matches!(a.ty, Type::NonNull(_)) && !f.field.arguments.iter().any(|(n, _)| *n == a.name)
        {
            return Err(Error::validation(
                path,
                format!("missing required field '{}'", a.name),
            ));
        }
    }
    let mut joins = Vec::new();
    let output = if asynchronous {
        // The mutation answers the call's id (`uuid!`).
        if f.all.iter().any(|x| !x.selection_set.is_empty()) {
            return Err(Error::validation(
                path,
                format!(
                    "unexpected subselection set for non-object field '{}'",
                    f.name()
                ),
            ));
        }
        Vec::new()
    } else {
        selection(ctx, &action.output_type, f, path, &mut joins, 0)?
    };
    Ok(ActionCall {
        action: action.name.clone(),
        key: f.key().to_owned(),
        arguments: f.field.arguments.clone(),
        defaults: defaults(ctx),
        output,
        joins,
        mode: if asynchronous {
            CallMode::AsyncStart
        } else {
            CallMode::Sync
        },
    })
}

/// The relationship of `object` a field named `name` selects, when the role can read its
/// table: `rel`, or `<rel>_aggregate` of an array relationship (`true`) when the role may
/// aggregate the table.
fn relationship<'a>(
    ctx: &Ctx<'a>,
    object: &'a crate::actions::ObjectType,
    name: &str,
) -> Option<(&'a crate::actions::ObjectRelationship, bool)> {
    if let Some(rel) = object.relationships.iter().find(|r| r.name == name) {
        return ctx.perm(rel.target).is_some().then_some((rel, false));
    }
    let base = name.strip_suffix("_aggregate")?;
    let rel = object.relationships.iter().find(|r| r.name == base)?;
    (rel.kind == crate::model::RelKind::Array
        && ctx.perm(rel.target).is_some_and(|p| p.aggregations()))
    .then_some((rel, true))
}

/// The selection of a field of type `ty`: empty for scalars and enums (which take none).
fn selection<'a>(
    ctx: &mut Ctx<'a>,
    ty: &Type,
    f: &Merged<'a>,
    path: &str,
    joins: &mut Vec<crate::RemoteJoin>,
    depth: usize,
) -> Result<Vec<OutField>> {
    let has_selection = f.all.iter().any(|x| !x.selection_set.is_empty());
    let schema = ctx.schema;
    let Some(object) = schema.custom_types.object(ty.base()) else {
        if has_selection {
            return Err(Error::validation(
                path,
                format!(
                    "unexpected subselection set for non-object field '{}'",
                    f.name()
                ),
            ));
        }
        return Ok(Vec::new());
    };
    if !has_selection {
        return Err(Error::validation(
            path,
            format!("missing selection set for '{}'", object.name),
        ));
    }
    if depth > super::MAX_ARGUMENT_NESTING {
        return Err(Error::validation(path, "the query is nested too deeply"));
    }
    let fields = normalize::collect(ctx, &f.selection_sets(), &object.name)?;
    let mut out = Vec::new();
    for g in &fields {
        let gpath = sub(&format!("{}.selectionSet", path), g.key());
        let kind = if g.name() == "__typename" {
            OutKind::Typename(object.name.clone())
        } else if let Some(def) = object.fields.iter().find(|d| d.name == g.name()) {
            let nested = selection(ctx, &def.ty, g, &gpath, joins, depth + 1)?;
            OutKind::Field {
                name: def.name.clone(),
                nested,
            }
        } else if let Some((rel, aggregate)) = relationship(ctx, object, g.name()) {
            let mapping: Vec<(usize, usize)> = rel.mapping.iter().map(|(_, c)| (*c, *c)).collect();
            let found = select::keyed_join(
                ctx, rel.target, &mapping, rel.target, rel.kind, aggregate, g, &gpath,
            )?;
            joins.extend(found);
            OutKind::Join {
                fields: rel.mapping.iter().map(|(n, _)| n.clone()).collect(),
            }
        } else {
            return Err(select::not_found(&gpath, g.name(), &object.name));
        };
        out.push(OutField {
            key: g.key().to_owned(),
            kind,
        });
    }
    Ok(out)
}
