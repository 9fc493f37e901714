//! Stage 3: computed fields (functions taking a table row) and tracked SQL functions (root
//! fields), looked up in the catalog.
use graphedge_core::model::{
    ComputedField, ExposedAs, Function, FunctionArg, FunctionReturn, QualifiedName,
};
use serde_json::json;

use super::{default_gql_name, field_conflict, is_graphql_name, table_txt, Cx};
use crate::introspect::{CatalogFunction, CatalogFunctionArg};
use crate::raw;

/// The one catalog function of that name (overloads are not supported, like Hasura).
fn lookup<'c>(
    cx: &Cx<'c>,
    f: &raw::QualifiedTable,
    missing: &str,
) -> Result<&'c CatalogFunction, String> {
    let mut found = cx.catalog.functions_named(&f.schema, &f.name).into_iter();
    let first = found
        .next()
        .ok_or_else(|| format!("{missing}: {:?}", table_txt(f)))?;
    if found.next().is_some() {
        return Err(format!(
            "function {:?} is overloaded. Overloaded functions are not supported",
            table_txt(f)
        ));
    }
    Ok(first)
}

fn core_args(f: &CatalogFunction) -> Vec<(FunctionArg, &CatalogFunctionArg)> {
    f.args
        .iter()
        .filter(|a| a.is_input())
        .map(|a| {
            (
                FunctionArg {
                    name: a.name.clone(),
                    pg_type: a.pg_type.to_pg_type(),
                    has_default: a.has_default,
                },
                a,
            )
        })
        .collect()
}

fn is_json(a: &CatalogFunctionArg) -> bool {
    a.pg_type.schema == "pg_catalog" && matches!(a.pg_type.udt.as_str(), "json" | "jsonb")
}

/// Index of the argument called `name` among the input arguments.
fn arg_index(args: &[(FunctionArg, &CatalogFunctionArg)], name: &str) -> Option<usize> {
    args.iter()
        .position(|(a, _)| a.name.as_deref() == Some(name))
}

fn returns(cx: &Cx<'_>, f: &CatalogFunction) -> Result<FunctionReturn, String> {
    if let Some(rt) = &f.return_table {
        let q = raw::QualifiedTable::new(rt.schema.clone(), rt.name.clone());
        let table = cx.table_id(&q).ok_or_else(|| {
            format!(
                "the function's return table {:?} is not tracked",
                table_txt(&q)
            )
        })?;
        return Ok(FunctionReturn::Table {
            table,
            set: f.returns_set,
        });
    }
    if f.return_type.kind == "p" {
        return Err(format!(
            "the function returns the pseudo type {:?}, which is not supported",
            f.return_type.udt
        ));
    }
    if f.returns_set {
        return Err("functions returning SETOF a base type are not supported".into());
    }
    Ok(FunctionReturn::Scalar(f.return_type.to_pg_type()))
}

pub(crate) fn resolve_computed_fields(cx: &mut Cx<'_>, source: &raw::Source) {
    for tid in 0..cx.schema.tables.len() {
        let tm = &source.tables[cx.tracked[tid]];
        for cf in &tm.computed_fields {
            let conflict = field_conflict(&cx.schema.tables[tid], &cf.name);
            let result = match &conflict {
                Some(c) => Err(c.clone()),
                None => build_computed_field(cx, tid, cf),
            };
            match result {
                Ok(c) => cx.schema.tables[tid].computed_fields.push(c),
                Err(reason) => {
                    let reason = match conflict {
                        Some(c) => c,
                        None => format!(
                            "in table {:?}: in computed field {:?}: {reason}",
                            table_txt(&tm.table),
                            cf.name
                        ),
                    };
                    let name = cx.table_child_name("computed_field", &cf.name, &tm.table);
                    let def = cx
                        .child_definition(serde_json::to_value(cf).unwrap_or_default(), &tm.table);
                    cx.report("computed_field", name, def, reason);
                }
            }
        }
    }
}

fn build_computed_field(
    cx: &Cx<'_>,
    tid: usize,
    cf: &raw::ComputedField,
) -> Result<ComputedField, String> {
    let table = &cx.schema.tables[tid];
    if table.relationship(&cf.name).is_some() || table.computed_field(&cf.name).is_some() {
        return Err(format!(
            "field {:?} of table {:?} already exists",
            cf.name,
            if table.name.schema == "public" {
                table.name.name.clone()
            } else {
                format!("{}.{}", table.name.schema, table.name.name)
            }
        ));
    }
    let fname = &cf.definition.function;
    let f = lookup(cx, fname, "no such function exists")?;
    let fail = |why: String| {
        format!(
            "the computed field {:?} cannot be added to table {:?} {why}",
            cf.name, table.name.name
        )
    };
    if f.volatility == "v" {
        return Err(fail(
            "because function of type \"VOLATILE\" is not supported now".into(),
        ));
    }
    let args = core_args(f);
    let table_argument = match &cf.definition.table_argument {
        Some(n) => arg_index(&args, n).ok_or_else(|| {
            fail(format!(
                "because the table argument {n:?} is not an input argument of the function {:?}",
                table_txt(fname)
            ))
        })?,
        None => 0,
    };
    let Some((_, targ)) = args.get(table_argument) else {
        return Err(fail(format!(
            "because the function {:?} has no input arguments",
            table_txt(fname)
        )));
    };
    if !(targ.pg_type.udt == table.name.name && targ.pg_type.schema == table.name.schema) {
        return Err(fail(format!(
            "because the table argument of the function {:?} is not of type {:?}",
            table_txt(fname),
            table.name.name
        )));
    }
    let session_argument = match &cf.definition.session_argument {
        Some(n) => {
            let i = arg_index(&args, n).ok_or_else(|| {
                fail(format!(
                    "because the session argument {n:?} is not an input argument of the function"
                ))
            })?;
            if !is_json(args[i].1) {
                return Err(fail(format!(
                    "because the session argument {n:?} is not of type json"
                )));
            }
            Some(i)
        }
        None => None,
    };
    let returns = returns(cx, f).map_err(|e| fail(format!("because {e}")))?;
    Ok(ComputedField {
        name: cf.name.clone(),
        function: QualifiedName::new(fname.schema.clone(), fname.name.clone()),
        args: args.into_iter().map(|(a, _)| a).collect(),
        table_argument,
        session_argument,
        returns,
        comment: cf.comment.clone().or_else(|| f.comment.clone()),
    })
}

pub(crate) fn resolve_functions(cx: &mut Cx<'_>, source: &raw::Source) {
    for fm in &source.functions {
        if cx
            .schema
            .functions
            .iter()
            .any(|f| f.name.schema == fm.function.schema && f.name.name == fm.function.name)
        {
            continue;
        }
        match build_function(cx, fm) {
            Ok(f) => cx.schema.functions.push(f),
            Err(reason) => {
                let name = format!(
                    "function {} in source {}",
                    table_txt(&fm.function),
                    cx.source_name
                );
                let mut def = serde_json::to_value(fm).unwrap_or_default();
                if let Some(obj) = def.as_object_mut() {
                    obj.insert("source".into(), json!(cx.source_name));
                }
                cx.report(
                    "function",
                    name,
                    def,
                    format!("in function {:?}: {reason}", table_txt(&fm.function)),
                );
            }
        }
    }
}

fn build_function(cx: &Cx<'_>, fm: &raw::FunctionMetadata) -> Result<Function, String> {
    let fname = &fm.function;
    let f = lookup(cx, fname, "no such function exists in source")?;
    let fail = |why: String| {
        format!(
            "the function {:?} cannot be tracked because {why}",
            table_txt(fname)
        )
    };
    let config = &fm.configuration;
    let args = core_args(f);
    let session_argument = match &config.session_argument {
        Some(n) => {
            let i = arg_index(&args, n)
                .ok_or_else(|| fail(format!("{n:?} is not an input argument of the function")))?;
            if !is_json(args[i].1) {
                return Err(fail(format!(
                    "the session argument {n:?} is not of type json"
                )));
            }
            Some(i)
        }
        None => None,
    };
    if f.return_table.is_none() {
        return Err(fail(
            "the function does not return a \"COMPOSITE\" type".into(),
        ));
    }
    let returns = returns(cx, f).map_err(fail)?;
    let exposed_as = match config.exposed_as.as_deref() {
        Some("mutation") => ExposedAs::Mutation,
        Some("query") => ExposedAs::Query,
        Some(other) => return Err(fail(format!("unknown exposed_as {other:?}"))),
        None if f.volatility == "v" => ExposedAs::Mutation,
        None => ExposedAs::Query,
    };
    let gql_name = config
        .custom_root_fields
        .function
        .clone()
        .or_else(|| config.custom_name.clone())
        .unwrap_or_else(|| default_gql_name(&fname.schema, &fname.name));
    if !is_graphql_name(&gql_name) {
        return Err(fail(format!("{gql_name:?} is not a valid GraphQL name")));
    }
    let gql_aggregate_name = config
        .custom_root_fields
        .function_aggregate
        .clone()
        .unwrap_or_else(|| {
            format!(
                "{}_aggregate",
                config
                    .custom_name
                    .clone()
                    .unwrap_or_else(|| default_gql_name(&fname.schema, &fname.name))
            )
        });
    let mut permissions: Vec<String> = Vec::new();
    for p in &fm.permissions {
        if !permissions.contains(&p.role) {
            permissions.push(p.role.clone());
        }
    }
    Ok(Function {
        name: QualifiedName::new(fname.schema.clone(), fname.name.clone()),
        gql_name,
        gql_aggregate_name,
        args: args.into_iter().map(|(a, _)| a).collect(),
        session_argument,
        returns,
        exposed_as,
        volatility: f.volatility.chars().next().unwrap_or('v'),
        permissions,
        comment: fm.comment.clone().or_else(|| f.comment.clone()),
    })
}
