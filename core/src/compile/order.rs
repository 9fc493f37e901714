//! `order_by` arguments → SQL sort keys (columns, object relationships, array-relationship
//! aggregates, scalar computed fields).
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::boolexp::{self, Scope};
use super::values::{self, article};
use super::{sql, sub, Ctx};
use crate::error::{Error, Result};
use crate::model::{ColumnId, FunctionReturn, RelKind, TableId};
use crate::value::Value;

pub struct OrderItem {
    pub expr: String,
    pub dir: &'static str,
    /// Set when the key is a plain column of the table (for `distinct_on` checks).
    pub column: Option<ColumnId>,
    /// The key's path in a Relay cursor (`["author", "name"]`, `["articles_aggregate", "count"]`).
    pub path: Vec<String>,
}

fn direction(ctx: &mut Ctx<'_>, t: TableId, v: &Value, path: &str) -> Result<Option<&'static str>> {
    let v = ctx.resolve(v)?;
    let s = match &v {
        Value::Null => return Ok(None),
        Value::Enum(s) | Value::String(s) => s.as_str(),
        other => {
            return Err(Error::validation(
                path,
                format!(
                    "expected an enum value for type 'order_by', but found {}",
                    article(other.kind())
                ),
            ))
        }
    };
    Ok(Some(match ctx.canon(t, s).as_ref() {
        "asc" | "asc_nulls_last" => "ASC NULLS LAST",
        "asc_nulls_first" => "ASC NULLS FIRST",
        "desc" | "desc_nulls_first" => "DESC NULLS FIRST",
        "desc_nulls_last" => "DESC NULLS LAST",
        _ => {
            return Err(Error::validation(
                path,
                format!(
                    "expected one of the values ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'] for type 'order_by', but found '{}'",
                    s
                ),
            ))
        }
    }))
}

/// Parses `order_by` (an object or a list of objects) for table `t` under `alias`.
pub fn order_by(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    v: &Value,
    path: &str,
) -> Result<Vec<OrderItem>> {
    let mut out = Vec::new();
    let items = match ctx.resolve(v)? {
        Value::List(items) => items,
        Value::Null => Vec::new(),
        other => alloc::vec![other],
    };
    let many = items.len() > 1;
    for (i, item) in items.iter().enumerate() {
        let p = if many {
            format!("{}[{}]", path, i)
        } else {
            String::from(path)
        };
        object_keys(ctx, t, alias, item, &p, &mut out)?;
    }
    Ok(out)
}

fn object_keys(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    v: &Value,
    path: &str,
    out: &mut Vec<OrderItem>,
) -> Result<()> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let type_name = format!("{}_order_by", table.gql_name);
    let fields = values::object(ctx, v, &type_name, path)?;
    let Some(perm) = ctx.perm(t) else {
        return Err(Error::validation(path, "no permission"));
    };
    for (key, val) in &fields {
        let p = sub(path, key);
        if ctx.resolve(val)?.is_null() {
            continue;
        }
        // Object relationships recurse: this loop stays small, the other keys are compiled by
        // `other_key` (see `object_relationship`).
        let rel = match table.column_by_gql(key) {
            Some(_) => None,
            None => table
                .relationship(key)
                .filter(|r| r.kind == RelKind::Object),
        };
        match rel {
            Some(rel) => {
                ctx.enter(&p)?;
                let r = object_relationship(ctx, t, alias, rel, key, val, &p, out);
                ctx.leave();
                r?
            }
            None => other_key(ctx, t, alias, perm, &type_name, key, val, &p, out)?,
        }
    }
    Ok(())
}

/// An `order_by` key the type does not have (or the role may not see).
fn key_not_found(p: &str, key: &str, type_name: &str) -> Error {
    Error::validation(
        p,
        format!("field '{}' not found in type: '{}'", key, type_name),
    )
}

/// A column, aggregate or computed-field key of `order_by`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn other_key(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    perm: super::Perm<'_>,
    type_name: &str,
    key: &str,
    val: &Value,
    p: &str,
    out: &mut Vec<OrderItem>,
) -> Result<()> {
    let table = &ctx.schema.tables[t];
    let not_found = || key_not_found(p, key, type_name);
    if let Some(c) = table.column_by_gql(key) {
        if !perm.column(c) {
            return Err(not_found());
        }
        column_key(ctx, t, alias, c, val, p, out)
    } else if let Some((target, from_item)) = aggregate_source(ctx, t, alias, key, &perm, p)? {
        aggregate_keys(ctx, t, alias, target, from_item, key, val, p, out)
    } else if let Some(cf) = table.computed_field(key) {
        if !perm.computed(key) || !computed_key(ctx, t, alias, cf, key, val, p, out)? {
            return Err(not_found());
        }
        Ok(())
    } else {
        Err(not_found())
    }
}

/// `order_by: {<column>: <direction>}`.
#[inline(never)]
fn column_key(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    c: crate::model::ColumnId,
    val: &Value,
    p: &str,
    out: &mut Vec<OrderItem>,
) -> Result<()> {
    if let Some(dir) = direction(ctx, t, val, p)? {
        let name = &ctx.schema.tables[t].columns[c].name;
        out.push(OrderItem {
            expr: format!("{}.{}", sql::ident(alias), sql::ident(name)),
            dir,
            column: Some(c),
            path: alloc::vec![name.clone()],
        });
    }
    Ok(())
}

/// `order_by: {<scalar computed field>: <direction>}`; `false` for a set-returning one (no
/// such key).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn computed_key(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    cf: &crate::model::ComputedField,
    key: &str,
    val: &Value,
    p: &str,
    out: &mut Vec<OrderItem>,
) -> Result<bool> {
    match &cf.returns {
        FunctionReturn::Scalar(_) => {
            let call = super::select::computed_call(ctx, t, alias, cf, None, p)?;
            if let Some(dir) = direction(ctx, t, val, p)? {
                out.push(OrderItem {
                    expr: call,
                    dir,
                    column: None,
                    path: alloc::vec![String::from(key)],
                });
            }
            Ok(true)
        }
        FunctionReturn::Table { .. } => Ok(false),
    }
}

/// `order_by: {<object relationship>: {…}}`: the nested keys, each as a correlated subquery.
/// Not inlined: the recursion `object_keys` → here → `object_keys` keeps two small frames per
/// level (relationship paths nest as deep as the value, see `core/tests/bounds.rs`).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn object_relationship(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    rel: &crate::model::Relationship,
    key: &str,
    val: &Value,
    p: &str,
    out: &mut Vec<OrderItem>,
) -> Result<()> {
    let schema = ctx.schema;
    let not_found = || {
        let type_name = format!("{}_order_by", schema.tables[t].gql_name);
        key_not_found(p, key, &type_name)
    };
    let Some(target_perm) = ctx.perm(rel.target) else {
        return Err(not_found());
    };
    let target = rel.target;
    let mapping = rel.mapping.clone();
    let inner_alias = ctx.alias();
    let mut nested = Vec::new();
    object_keys(ctx, target, &inner_alias, val, p, &mut nested)?;
    let mut conds = boolexp::join_conds(ctx, &Scope::new(t, alias), target, &inner_alias, &mapping);
    conds.extend(boolexp::permission_filter(
        ctx,
        target_perm,
        target,
        &inner_alias,
    )?);
    let from = format!(
        "{} AS {}",
        sql::qualified(&schema.tables[target].name),
        sql::ident(&inner_alias)
    );
    let where_ = boolexp::and_or_true(conds);
    for n in nested {
        let mut path = alloc::vec![String::from(key)];
        path.extend(n.path);
        out.push(OrderItem {
            expr: format!("(SELECT {} FROM {} WHERE {} LIMIT 1)", n.expr, from, where_),
            dir: n.dir,
            column: None,
            path,
        });
    }
    Ok(())
}

/// `order_by: {<x>_aggregate: {count: …, <func>: {<column>: …}}}`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn aggregate_keys(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    target: TableId,
    from_item: Option<String>,
    key: &str,
    val: &Value,
    p: &str,
    out: &mut Vec<OrderItem>,
) -> Result<()> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let not_found = || key_not_found(p, key, &format!("{}_order_by", table.gql_name));
    let Some(target_perm) = ctx.perm(target) else {
        return Err(not_found());
    };
    let inner_alias = ctx.alias();
    let from_item = from_item.unwrap_or_else(|| sql::qualified(&schema.tables[target].name));
    let mut conds = Vec::new();
    if let Some(mapping) = ctx
        .rel_aggregate(t, key)
        .and_then(|r| table.relationship(r))
        .map(|r| r.mapping.clone())
    {
        conds.extend(boolexp::join_conds(
            ctx,
            &Scope::new(t, alias),
            target,
            &inner_alias,
            &mapping,
        ));
    }
    conds.extend(boolexp::permission_filter(
        ctx,
        target_perm,
        target,
        &inner_alias,
    )?);
    let from = format!("{} AS {}", from_item, sql::ident(&inner_alias));
    let where_ = boolexp::and_or_true(conds);
    let agg_type = format!("{}_aggregate_order_by", schema.tables[target].gql_name);
    let aggs = values::object(ctx, val, &agg_type, p)?;
    for (given, spec) in &aggs {
        let ap = sub(p, given);
        let func = &ctx.canon(t, given).into_owned();
        if func == "count" {
            if let Some(dir) = direction(ctx, target, spec, &ap)? {
                out.push(OrderItem {
                    expr: format!("(SELECT count(*) FROM {} WHERE {})", from, where_),
                    dir,
                    column: None,
                    path: alloc::vec![String::from(key), func.clone()],
                });
            }
            continue;
        }
        if !matches!(
            func.as_str(),
            "sum"
                | "avg"
                | "max"
                | "min"
                | "stddev"
                | "stddev_pop"
                | "stddev_samp"
                | "var_pop"
                | "var_samp"
                | "variance"
        ) {
            return Err(Error::validation(
                &ap,
                format!("field '{}' not found in type: '{}'", given, agg_type),
            ));
        }
        let cols = values::object(ctx, spec, func, &ap)?;
        for (col, d) in &cols {
            let cp = sub(&ap, col);
            let tt = &schema.tables[target];
            let Some(c) = tt.column_by_gql(col).filter(|c| target_perm.column(*c)) else {
                return Err(Error::validation(
                    &cp,
                    format!("field '{}' not found in type: '{}'", col, func),
                ));
            };
            if let Some(dir) = direction(ctx, target, d, &cp)? {
                out.push(OrderItem {
                    expr: format!(
                        "(SELECT {}({}.{}) FROM {} WHERE {})",
                        func,
                        sql::ident(&inner_alias),
                        sql::ident(&tt.columns[c].name),
                        from,
                        where_
                    ),
                    dir,
                    column: None,
                    path: alloc::vec![String::from(key), func.clone(), tt.columns[c].name.clone()],
                });
            }
        }
    }
    Ok(())
}

/// For an `<x>_aggregate` order key: the aggregated table and, for a set-returning computed
/// field, its call (instead of the table). `None` when the key is no such aggregate.
fn aggregate_source(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    key: &str,
    perm: &super::Perm<'_>,
    path: &str,
) -> Result<Option<(TableId, Option<String>)>> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let Some(base) = ctx.rel_aggregate(t, key) else {
        return Ok(None);
    };
    if let Some(rel) = table
        .relationship(base)
        .filter(|r| r.kind == RelKind::Array)
    {
        return Ok(Some((rel.target, None)));
    }
    if let Some(cf) = table.computed_field(base) {
        if let FunctionReturn::Table {
            table: target,
            set: true,
        } = cf.returns
        {
            if !perm.computed(base) {
                return Ok(None);
            }
            let call = super::select::computed_call(ctx, t, alias, cf, None, path)?;
            return Ok(Some((target, Some(call))));
        }
    }
    Ok(None)
}
