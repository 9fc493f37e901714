//! Table selections → SQL scalar subqueries that produce JSON: lists (`json_agg`), single rows
//! (`_by_pk`, object relationships), aggregates, computed fields and tracked functions.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::boolexp::{self, Mode, Scope};
use super::normalize::{self, Merged};
use super::order::{self, OrderItem};
use super::values;
use super::{sql, sub, Ctx, Perm};
use crate::error::{Error, Result};
use crate::model::{
    ComputedField, Function, FunctionArg, FunctionReturn, PgType, RelKind, TableId,
};
use crate::parse::ast::Selection;
use crate::plan::{Encoding, ParamSpec};
use crate::value::Value;

/// An object relationship takes no arguments.
fn no_arguments(f: &Merged<'_>, path: &str) -> Result<()> {
    match f.field.arguments.first() {
        Some((a, _)) => Err(Error::validation(
            path,
            format!("'{}' has no argument named '{}'", f.name(), a),
        )),
        None => Ok(()),
    }
}

pub(super) fn not_found(path: &str, name: &str, type_name: &str) -> Error {
    Error::validation(
        path,
        format!("field '{}' not found in type: '{}'", name, type_name),
    )
}

/// What rows come from: a table, or a function call returning rows of a table.
#[derive(Clone)]
pub(super) enum Source {
    Table(TableId),
    Call(String, TableId),
}

impl Source {
    pub(super) fn table(&self) -> TableId {
        match self {
            Source::Table(t) | Source::Call(_, t) => *t,
        }
    }
    pub(super) fn from_sql(&self, ctx: &Ctx<'_>, alias: &str) -> String {
        match self {
            Source::Table(t) => format!(
                "{} AS {}",
                sql::qualified(&ctx.schema.tables[*t].name),
                sql::ident(alias)
            ),
            Source::Call(call, _) => format!("{} AS {}", call, sql::ident(alias)),
        }
    }
}

/// A `<t>_stream` root field of `subscription_root`: a SELECT yielding one row with the
/// columns `"value"` (the field's JSON) and `"cursor"` (the next cursor's text, NULL when the
/// batch is empty), with the index in `ctx.params` of the cursor's parameter. `None`: `f`
/// is not a stream field.
pub fn stream_root_field<'a>(
    ctx: &mut Ctx<'a>,
    f: &Merged<'a>,
    path: &str,
) -> Result<Option<(String, usize)>> {
    super::stream::root_field(ctx, f, path)
}

/// A root field of `query_root`.
pub fn root_field<'a>(ctx: &mut Ctx<'a>, f: &Merged<'a>, path: &str) -> Result<String> {
    let name = f.name();
    let schema = ctx.schema;
    if name == "_entities" && schema.apollo_federation.is_some() && !ctx.multiplexed {
        return super::federation::entities(ctx, f, path);
    }
    for (t, table) in schema.tables.iter().enumerate() {
        if !schema.table_in_scope(t, ctx.scope) {
            continue;
        }
        let rf = &table.root_fields;
        let kind = if rf.select == name {
            "select"
        } else if rf.select_by_pk == name && !table.primary_key.is_empty() {
            "select_by_pk"
        } else if rf.select_aggregate == name {
            "select_aggregate"
        } else {
            continue;
        };
        let Some(perm) = ctx.perm(t) else { continue };
        let allowed = if ctx.multiplexed {
            perm.subscription_root_field(kind)
        } else {
            perm.root_field(kind)
        };
        if !allowed {
            continue;
        }
        return match kind {
            "select" => rows(ctx, Source::Table(t), f, path, Vec::new(), Shape::Many),
            "select_by_pk" => {
                if !table.primary_key.iter().all(|c| perm.column(*c)) {
                    break;
                }
                by_pk(ctx, t, f, path)
            }
            _ => {
                if !perm.aggregations() {
                    break;
                }
                aggregate(ctx, Source::Table(t), f, path, Vec::new(), &[])
            }
        };
    }
    for (i, func) in schema.functions.iter().enumerate() {
        if func.exposed_as != crate::model::ExposedAs::Query
            || !schema.function_in_scope(i, ctx.scope)
        {
            continue;
        }
        let is_agg = func.gql_aggregate_name == name;
        if func.gql_name != name && !is_agg {
            continue;
        }
        let FunctionReturn::Table { table: t, set } = func.returns else {
            continue;
        };
        if !function_allowed(ctx, func, t) {
            continue;
        }
        let Some(perm) = ctx.perm(t) else { continue };
        let (call, _) = function_call(ctx, func, f, path)?;
        if is_agg {
            if !perm.aggregations() {
                continue;
            }
            return aggregate(ctx, Source::Call(call, t), f, path, Vec::new(), &["args"]);
        }
        let shape = if set { Shape::Many } else { Shape::One };
        return rows(ctx, Source::Call(call, t), f, path, Vec::new(), shape);
    }
    let root = if ctx.multiplexed {
        "subscription_root"
    } else {
        "query_root"
    };
    Err(not_found(path, name, root))
}

pub(super) fn function_allowed(ctx: &Ctx<'_>, func: &Function, t: TableId) -> bool {
    if ctx.is_admin() {
        return true;
    }
    if func.permissions.iter().any(|r| r == &ctx.session.role) {
        return true;
    }
    ctx.opts.infer_function_permissions && ctx.perm(t).is_some()
}

/// `"s"."f"(args)` for a tracked function root field (with its `args` argument).
pub(super) fn function_call<'a>(
    ctx: &mut Ctx<'a>,
    func: &Function,
    f: &Merged<'a>,
    path: &str,
) -> Result<(String, ())> {
    let args_v = f.field.argument("args").cloned();
    let call = call_sql(
        ctx,
        &func.name,
        &func.args,
        None,
        func.session_argument,
        args_v.as_ref(),
        &sub(path, "args"),
        &func.gql_name,
    )?;
    Ok((call, ()))
}

/// Builds a function call. `row` = (index of the table argument, SQL of the row).
#[allow(clippy::too_many_arguments)]
fn call_sql(
    ctx: &mut Ctx<'_>,
    name: &crate::model::QualifiedName,
    args: &[FunctionArg],
    row: Option<(usize, &str)>,
    session_arg: Option<usize>,
    given: Option<&Value>,
    path: &str,
    owner: &str,
) -> Result<String> {
    ctx.calls_functions = true;
    let given = match given {
        Some(v) => values::object(ctx, v, &format!("{}_args", owner), path)?,
        None => Vec::new(),
    };
    let mut parts: Vec<String> = Vec::new();
    let mut named = false;
    let mut used = 0usize;
    for (i, arg) in args.iter().enumerate() {
        let arg_name = arg.name.clone().unwrap_or_else(|| format!("arg_{}", i + 1));
        let value_sql = if row.is_some_and(|(ri, _)| ri == i) {
            Some(String::from(row.map(|(_, r)| r).unwrap_or_default()))
        } else if session_arg == Some(i) {
            Some(format!("{}::json", ctx.param(ParamSpec::SessionJson)))
        } else if let Some((_, v)) = given.iter().find(|(n, _)| n == &arg_name) {
            used += 1;
            Some(values::typed(
                ctx,
                v,
                &arg.pg_type,
                None,
                &sub(path, &arg_name),
            )?)
        } else if arg.has_default {
            None
        } else {
            // Hasura passes NULL for a missing argument without a default.
            Some(format!("NULL::{}", sql::type_name(&arg.pg_type)))
        };
        match value_sql {
            Some(v) if named => match &arg.name {
                Some(n) => parts.push(format!("{} => {}", sql::ident(n), v)),
                None => {
                    return Err(Error::validation(
                        path,
                        "cannot skip an unnamed function argument",
                    ))
                }
            },
            Some(v) => parts.push(v),
            None => named = true,
        }
    }
    if used < given.len() {
        if let Some((n, _)) = given.iter().find(|(n, _)| {
            !args
                .iter()
                .enumerate()
                .any(|(i, a)| &a.name.clone().unwrap_or_else(|| format!("arg_{}", i + 1)) == n)
        }) {
            return Err(not_found(&sub(path, n), n, &format!("{}_args", owner)));
        }
    }
    Ok(format!("{}({})", sql::qualified(name), parts.join(", ")))
}

/// The SQL call of a computed field for the row `alias` of table `t`.
pub fn computed_call(
    ctx: &mut Ctx<'_>,
    t: TableId,
    alias: &str,
    cf: &ComputedField,
    given: Option<&Value>,
    path: &str,
) -> Result<String> {
    let owner = format!("{}_{}", ctx.schema.tables[t].gql_name, cf.name);
    let row = sql::ident(alias);
    call_sql(
        ctx,
        &cf.function,
        &cf.args,
        Some((cf.table_argument, &row)),
        cf.session_argument,
        given,
        &sub(path, "args"),
        &owner,
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Many,
    One,
}

/// Common list arguments.
pub(super) struct ListArgs {
    pub(super) conds: Vec<String>,
    pub(super) order: Vec<OrderItem>,
    /// The row limit: the `limit` argument bounded by the permission's limit.
    pub(super) limit: Option<u64>,
    /// The `limit` argument alone (aggregates are computed over it, not the permission's limit).
    pub(super) user_limit: Option<u64>,
    /// SQL of the offset: a literal, or a bind parameter when it came from a variable.
    pub(super) offset: Option<String>,
    pub(super) distinct: Vec<String>,
    /// `FETCH FIRST <limit> ROWS WITH TIES` instead of `LIMIT` (a stream's batch).
    pub(super) with_ties: bool,
}

pub(super) fn list_args<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    alias: &str,
    perm: Perm<'_>,
    f: &Merged<'a>,
    path: &str,
    extra_allowed: &[&str],
) -> Result<ListArgs> {
    let table = &ctx.schema.tables[t];
    let mut a = ListArgs {
        conds: Vec::new(),
        order: Vec::new(),
        limit: perm.limit(),
        user_limit: None,
        offset: None,
        distinct: Vec::new(),
        with_ties: false,
    };
    let mut distinct_cols: Vec<usize> = Vec::new();
    let args_path = sub(path, "args");
    for (name, v) in &f.field.arguments {
        let p = sub(&args_path, name);
        match ctx.canon(t, name).as_ref() {
            "where" => {
                if let Some(c) = boolexp::compile(ctx, &Scope::new(t, alias), v, &p, Mode::User)? {
                    a.conds.push(c);
                }
            }
            "order_by" => a.order = order::order_by(ctx, t, alias, v, &p)?,
            "limit" => {
                if let Some(l) = values::non_negative_int(ctx, v, &p)? {
                    a.limit = Some(a.limit.map_or(l, |pl| pl.min(l)));
                    a.user_limit = Some(l);
                }
            }
            "offset" => a.offset = ctx.offset_sql(v, &p)?,
            "distinct_on" => {
                for item in values::list(ctx, v)? {
                    let (Value::Enum(s) | Value::String(s)) = &item else {
                        return Err(Error::validation(
                            &p,
                            "expected an enum value for distinct_on",
                        ));
                    };
                    let Some(c) = table.column_by_gql(s).filter(|c| perm.column(*c)) else {
                        return Err(Error::validation(
                            &p,
                            format!(
                                "expected one of the values of '{}_select_column', but found '{}'",
                                table.gql_name, s
                            ),
                        ));
                    };
                    distinct_cols.push(c);
                }
            }
            other if extra_allowed.contains(&other) => {}
            _ => {
                return Err(Error::validation(
                    &p,
                    format!("'{}' has no argument named '{}'", f.name(), name),
                ));
            }
        }
    }
    if !distinct_cols.is_empty() {
        let exprs: Vec<String> = distinct_cols
            .iter()
            .map(|c| {
                format!(
                    "{}.{}",
                    sql::ident(alias),
                    sql::ident(&table.columns[*c].name)
                )
            })
            .collect();
        if a.order.is_empty() {
            for (c, e) in distinct_cols.iter().zip(exprs.iter()) {
                a.order.push(OrderItem {
                    expr: e.clone(),
                    dir: "ASC NULLS LAST",
                    column: Some(*c),
                    path: alloc::vec![table.columns[*c].name.clone()],
                });
            }
        } else {
            let n = distinct_cols.len();
            let initial: Vec<Option<usize>> = a.order.iter().take(n).map(|o| o.column).collect();
            let ok =
                initial.len() == n && distinct_cols.iter().all(|c| initial.contains(&Some(*c)));
            if !ok {
                return Err(Error::validation(
                    &args_path,
                    "\"distinct_on\" columns must match initial \"order_by\" columns",
                ));
            }
        }
        a.distinct = exprs;
    }
    if let Some(c) = boolexp::permission_filter(ctx, perm, t, alias)? {
        a.conds.insert(0, c);
    }
    Ok(a)
}

/// `FROM ... WHERE ... ORDER BY ... LIMIT ... OFFSET ...` (+ the DISTINCT ON prefix).
pub(super) fn tail(
    ctx: &Ctx<'_>,
    source: &Source,
    alias: &str,
    a: &ListArgs,
    join: Vec<String>,
) -> (String, String) {
    let mut conds = join;
    conds.extend(a.conds.iter().cloned());
    let mut s = format!(" FROM {}", source.from_sql(ctx, alias));
    if let Some(w) = boolexp::and(conds) {
        s.push_str(" WHERE ");
        s.push_str(&w);
    }
    if !a.order.is_empty() {
        let keys: Vec<String> = a
            .order
            .iter()
            .map(|o| format!("{} {}", o.expr, o.dir))
            .collect();
        s.push_str(" ORDER BY ");
        s.push_str(&keys.join(", "));
    }
    match a.limit {
        Some(l) if a.with_ties => s.push_str(&format!(" FETCH FIRST {} ROWS WITH TIES", l)),
        Some(l) => s.push_str(&format!(" LIMIT {}", l)),
        None => {}
    }
    if let Some(o) = &a.offset {
        s.push_str(" OFFSET ");
        s.push_str(o);
    }
    let distinct = if a.distinct.is_empty() {
        String::new()
    } else {
        format!("DISTINCT ON ({}) ", a.distinct.join(", "))
    };
    // Rows skipped by OFFSET or dropped by DISTINCT ON still go through the select list of the
    // query they belong to, so the nested JSON (relationships, aggregates) would be built for
    // each of them: the rows are chosen in a subquery first, under the same alias, and the
    // caller's select list runs only over the rows that remain (as Hasura does). Postgres keeps
    // the subquery's order; its cost no longer grows with the offset.
    if a.offset.is_some() || !distinct.is_empty() {
        let a = sql::ident(alias);
        return (
            String::new(),
            format!(" FROM (SELECT {distinct}{a}.*{s}) AS {a}"),
        );
    }
    (distinct, s)
}

/// A list (or single row) of a table's rows as JSON.
pub(super) fn rows<'a>(
    ctx: &mut Ctx<'a>,
    source: Source,
    f: &Merged<'a>,
    path: &str,
    join_on: boolexp::ParentJoin,
    shape: Shape,
) -> Result<String> {
    let t = source.table();
    let Some(perm) = ctx.perm(t) else {
        return Err(not_found(path, f.name(), "query_root"));
    };
    let alias = ctx.alias();
    let join = boolexp::parent_join_conds(ctx, &join_on, t, &alias);
    let mut a = list_args(ctx, t, &alias, perm, f, path, &["args"])?;
    if shape == Shape::One {
        a.limit = Some(1);
    }
    let obj = row_json(ctx, t, &alias, perm, &f.selection_sets(), path)?;
    let (distinct, tail) = tail(ctx, &source, &alias, &a, join);
    Ok(match shape {
        Shape::Many => {
            let e = ctx.alias();
            format!(
                "(SELECT coalesce(json_agg({e}.\"j\"), '[]'::json) FROM (SELECT {distinct}{obj} AS \"j\"{tail}) AS {e})",
                e = sql::ident(&e)
            )
        }
        Shape::One => format!("(SELECT {distinct}{obj}{tail})"),
    })
}

fn by_pk<'a>(ctx: &mut Ctx<'a>, t: TableId, f: &Merged<'a>, path: &str) -> Result<String> {
    let Some(perm) = ctx.perm(t) else {
        return Err(not_found(path, f.name(), "query_root"));
    };
    let table = &ctx.schema.tables[t];
    let args_path = sub(path, "args");
    for (name, _) in &f.field.arguments {
        let is_pk = table
            .primary_key
            .iter()
            .any(|c| &table.columns[*c].gql_name == name);
        if !is_pk {
            return Err(Error::validation(
                &sub(&args_path, name),
                format!("'{}' has no argument named '{}'", f.name(), name),
            ));
        }
    }
    let key = |name: &str| {
        f.field.argument(name).ok_or_else(|| {
            Error::validation(&args_path, format!("missing required field '{}'", name))
        })
    };
    row_by_key(ctx, t, perm, key, &args_path, &f.selection_sets(), path)
}

/// The row of table `t` whose primary key columns equal `key(<column's GraphQL name>)`
/// (values at `args_path`), within the role's filter, as the JSON of the selection `sets`;
/// null when there is none. `_by_pk` fields and Apollo federation's entities.
pub(super) fn row_by_key<'a, 'v>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    perm: Perm<'_>,
    key: impl Fn(&str) -> Result<&'v Value>,
    args_path: &str,
    sets: &[&'a [Selection]],
    path: &str,
) -> Result<String> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let alias = ctx.alias();
    let mut conds = Vec::new();
    for c in &table.primary_key {
        let col = &table.columns[*c];
        let v = key(&col.gql_name)?;
        let r = values::column_value(ctx, v, col, &sub(args_path, &col.gql_name))?;
        conds.push(format!(
            "{}.{} = {}",
            sql::ident(&alias),
            sql::ident(&col.name),
            r
        ));
    }
    conds.extend(boolexp::permission_filter(ctx, perm, t, &alias)?);
    let obj = row_json(ctx, t, &alias, perm, sets, path)?;
    Ok(format!(
        "(SELECT {} FROM {} AS {} WHERE {} LIMIT 1)",
        obj,
        sql::qualified(&table.name),
        sql::ident(&alias),
        boolexp::and_or_true(conds)
    ))
}

/// The `path` argument of a json/jsonb column (Hasura's JSON path, e.g. `$.a[0]`) as the
/// parameter of a `text[]` for `#>`; `None` when null.
fn json_path_arg(ctx: &mut Ctx<'_>, v: &Value, path: &str) -> Result<Option<String>> {
    let text = match ctx.shaping_value(v)? {
        Value::Null => return Ok(None),
        Value::String(s) => s,
        _ => return Err(Error::validation(path, "expected a string for path")),
    };
    let steps = crate::jsonpath::parse(&text).ok_or_else(|| {
        Error::validation(
            path,
            format!(
                "parse json path error: {}. Accept letters, digits, underscore (_) or hyphen (-) only. Use quotes enclosed in bracket ([\"...\"]) if there is any special character",
                text
            ),
        )
    })?;
    let items = steps
        .into_iter()
        .map(|s| match s {
            crate::jsonpath::Seg::Key(k) => Value::String(k),
            crate::jsonpath::Seg::Index(i) => Value::String(i.to_string()),
        })
        .collect();
    let array = crate::encode::encode(&Value::List(items), Encoding::PgArray)?;
    Ok(Some(ctx.param(ParamSpec::Const(array))))
}

/// Output expression of a column value (stringified numbers, GeoJSON, inherited-role cells).
fn output(ctx: &Ctx<'_>, expr: String, ty: &PgType) -> String {
    if ty.is_geo() {
        // 15 digits, long CRS (`urn:ogc:def:crs:EPSG::4326`) as Hasura emits.
        return format!("ST_AsGeoJSON({}, 15, 4)::json", expr);
    }
    if ty.is_big_number() && ctx.opts.stringify_numeric {
        return format!("({})::text", expr);
    }
    if ty.udt == "money" {
        return format!("({})::numeric", expr);
    }
    expr
}

/// The JSON object of one row: the selected fields in selection order.
/// A remote relationship's field: here the JSON array of the row's join columns; the field's
/// value comes from a statement of its own on the target's source (a [`crate::RemoteJoin`]):
/// for each key of `$1` (a JSON array of keys), in order, the relationship from a parent row
/// made of that key's values (cast to the target columns' types, since the statement runs on
/// the target's database), compiled like a relationship of the same source — the role's
/// permissions on the target apply.
fn remote_join<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    alias: &str,
    rel: &crate::model::Relationship,
    f: &Merged<'a>,
    path: &str,
) -> Result<String> {
    let parent = &ctx.schema.tables[t];
    let key: Vec<String> = rel
        .mapping
        .iter()
        .map(|(pc, _)| {
            format!(
                "{}.{}",
                sql::ident(alias),
                sql::ident(&parent.columns[*pc].name)
            )
        })
        .collect();
    let joins = keyed_join(ctx, t, &rel.mapping, rel.target, rel.kind, false, f, path)?;
    ctx.remote_joins.extend(joins);
    Ok(format!("json_build_array({})", key.join(", ")))
}

/// The [`crate::RemoteJoin`] of a relationship answered from join keys: for each key of `$1`
/// (a JSON array of keys), in order, the relationship to `target` from a parent row of table
/// `parent` made of that key's values (one per `mapping` pair, cast to the target columns'
/// types, since the statement runs on the target's database), compiled like a relationship of
/// the same source — the role's permissions on the target apply. `path` is the field's JSON
/// path (`$.selectionSet.a.selectionSet.b`): its response keys are where the keys are.
/// `aggregate`: the array relationship's `<rel>_aggregate` field. The joins inside the
/// target's selection follow it: their keys are in its answer, so they run after it.
#[allow(clippy::too_many_arguments)]
pub(super) fn keyed_join<'a>(
    ctx: &mut Ctx<'a>,
    parent: TableId,
    mapping: &[(crate::model::ColumnId, crate::model::ColumnId)],
    target_id: TableId,
    kind: RelKind,
    aggregate_field: bool,
    f: &Merged<'a>,
    path: &str,
) -> Result<Vec<crate::RemoteJoin>> {
    let schema = ctx.schema;
    let (parent_t, target) = (&schema.tables[parent], &schema.tables[target_id]);
    // The target's statement: parameters and function calls of its own.
    let outer_params = core::mem::take(&mut ctx.params);
    let outer_calls = core::mem::replace(&mut ctx.calls_functions, false);
    let outer_joins = core::mem::take(&mut ctx.remote_joins);
    let keys = ctx.param(ParamSpec::Variable {
        name: String::from(crate::REMOTE_KEYS_VARIABLE),
        path: Vec::new(),
        encoding: Encoding::Scalar,
    });
    let (k, row) = (ctx.alias(), ctx.alias());
    let columns: Vec<String> = mapping
        .iter()
        .enumerate()
        .map(|(i, (pc, tc))| {
            format!(
                "({}.\"key\" ->> {})::{} AS {}",
                sql::ident(&k),
                i,
                sql::type_name(&target.columns[*tc].pg_type),
                sql::ident(&parent_t.columns[*pc].name)
            )
        })
        .collect();
    let join = alloc::vec![(parent, row.clone(), mapping.to_vec())];
    let shape = match kind {
        RelKind::Object => {
            no_arguments(f, path)?;
            Shape::One
        }
        RelKind::Array => Shape::Many,
    };
    let value = if aggregate_field {
        aggregate(ctx, Source::Table(target_id), f, path, join, &[])
    } else {
        rows(ctx, Source::Table(target_id), f, path, join, shape)
    };
    let nested = core::mem::replace(&mut ctx.remote_joins, outer_joins);
    let params = core::mem::replace(&mut ctx.params, outer_params);
    let calls = core::mem::replace(&mut ctx.calls_functions, outer_calls);
    let value = value?;
    let sql = format!(
        "SELECT coalesce(json_agg({value} ORDER BY {k}.\"ord\"), '[]'::json) AS \"data\" \
         FROM jsonb_array_elements({keys}::jsonb) WITH ORDINALITY AS {k}(\"key\", \"ord\") \
         CROSS JOIN LATERAL (SELECT {}) AS {row}",
        columns.join(", "),
        k = sql::ident(&k),
        row = sql::ident(&row),
    );
    let response_path: Vec<String> = path
        .split(".selectionSet.")
        .skip(1)
        .map(String::from)
        .collect();
    let mut plan = crate::Plan::without_sql(crate::PlanKind::Query, Vec::new(), Vec::new());
    plan.source = schema.source_of_table(target_id);
    plan.sql = sql;
    plan.params = params;
    plan.calls_functions = calls;
    let mut joins = alloc::vec![crate::RemoteJoin {
        path: response_path,
        plan,
        remote: None,
    }];
    joins.extend(nested);
    Ok(joins)
}

pub(super) fn row_json<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    alias: &str,
    perm: Perm<'_>,
    sets: &[&'a [Selection]],
    path: &str,
) -> Result<String> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let type_name = ctx.type_name(t, table.gql_name.clone());
    let type_name = type_name.as_str();
    let fields = normalize::collect(ctx, sets, type_name)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for f in &fields {
        let name = f.name();
        let p = sub(&sub(path, "selectionSet"), f.key());
        let relay = if ctx.opts.relay {
            super::relay::row_field(ctx, t, alias, f, &p)?
        } else {
            None
        };
        let expr = if let Some(e) = relay {
            e
        } else if name == "__typename" {
            format!("{}::text", sql::literal(type_name))
        } else if let Some(c) = table.column_by_gql(name).filter(|c| perm.column(*c)) {
            let col = &table.columns[c];
            let mut json_path = None;
            for (a, v) in &f.field.arguments {
                if a != "path" || !matches!(col.pg_type.udt.as_str(), "json" | "jsonb") {
                    return Err(Error::validation(
                        &p,
                        format!("'{}' has no argument named '{}'", name, a),
                    ));
                }
                json_path = json_path_arg(ctx, v, &sub(&sub(&p, "args"), "path"))?;
            }
            let mut value = format!("{}.{}", sql::ident(alias), sql::ident(&col.name));
            if let Some(steps) = json_path {
                value = format!("({} #> {}::text[])", value, steps);
            }
            if col
                .enum_table
                .is_some_and(|et| ctx.schema.tables[et].enum_values_renamed())
            {
                // The enum value's GraphQL name (`graphql-default`: upper-cased, ASCII).
                value = format!("upper(({}) COLLATE \"C\")", value);
            }
            let mut e = output(ctx, value, &col.pg_type);
            if let Some(cf) = perm.column_filter(c) {
                if let Some(cond) =
                    boolexp::compile(ctx, &Scope::new(t, alias), cf, "$", Mode::Permission)?
                {
                    e = format!("CASE WHEN {} THEN {} ELSE NULL END", cond, e);
                }
            }
            e
        } else if let Some(rel) = table
            .relationship(name)
            .filter(|r| ctx.perm(r.target).is_some())
        {
            let join = alloc::vec![(t, alias.to_owned(), rel.mapping.clone())];
            match rel.kind {
                RelKind::Object => {
                    no_arguments(f, &p)?;
                    rows(ctx, Source::Table(rel.target), f, &p, join, Shape::One)?
                }
                RelKind::Array => rows(ctx, Source::Table(rel.target), f, &p, join, Shape::Many)?,
            }
        } else if let Some(rel) = table
            .remote_relationship(name)
            .filter(|r| ctx.perm(r.target).is_some())
        {
            remote_join(ctx, t, alias, rel, f, &p)?
        } else if let Some(rel) = table
            .remote_schema_relationship(name)
            .filter(|r| {
                r.lhs.iter().all(|f| match f {
                    crate::model::JoinField::Column(c) => perm.column(*c),
                    crate::model::JoinField::Computed(n) => perm.computed(n),
                })
            })
            .filter(|r| super::remote::join_remote(ctx, r).is_some())
        {
            super::remote::schema_join(ctx, t, alias, rel, f, &p)?
        } else if let Some(rel) = ctx
            .rel_aggregate(t, name)
            .and_then(|r| table.relationship(r))
            .filter(|r| {
                r.kind == RelKind::Array && ctx.perm(r.target).is_some_and(|p| p.aggregations())
            })
        {
            let join = alloc::vec![(t, alias.to_owned(), rel.mapping.clone())];
            aggregate(ctx, Source::Table(rel.target), f, &p, join, &[])?
        } else if let Some(cf) = table.computed_field(name).filter(|_| perm.computed(name)) {
            let given = f.field.argument("args").cloned();
            let call = computed_call(ctx, t, alias, cf, given.as_ref(), &p)?;
            match &cf.returns {
                FunctionReturn::Scalar(ty) => {
                    let e = output(ctx, call, ty);
                    match perm.computed_filter(name) {
                        Some(cf) => match boolexp::compile(
                            ctx,
                            &Scope::new(t, alias),
                            cf,
                            "$",
                            Mode::Permission,
                        )? {
                            Some(cond) => format!("CASE WHEN {} THEN {} ELSE NULL END", cond, e),
                            None => e,
                        },
                        None => e,
                    }
                }
                FunctionReturn::Table { table: target, set } => {
                    if ctx.perm(*target).is_none() {
                        return Err(not_found(&p, name, type_name));
                    }
                    let shape = if *set { Shape::Many } else { Shape::One };
                    rows(ctx, Source::Call(call, *target), f, &p, Vec::new(), shape)?
                }
            }
        } else {
            return Err(not_found(&p, name, type_name));
        };
        pairs.push((f.key().to_owned(), expr));
    }
    Ok(sql::json_object(&pairs))
}

/// `<t>_aggregate { aggregate { count sum {..} ... } nodes { .. } }`.
fn aggregate<'a>(
    ctx: &mut Ctx<'a>,
    source: Source,
    f: &Merged<'a>,
    path: &str,
    join_on: boolexp::ParentJoin,
    extra_args: &[&str],
) -> Result<String> {
    let t = source.table();
    let Some(perm) = ctx.perm(t) else {
        return Err(not_found(path, f.name(), "query_root"));
    };
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let alias = ctx.alias();
    let join = boolexp::parent_join_conds(ctx, &join_on, t, &alias);
    let mut a = list_args(ctx, t, &alias, perm, f, path, extra_args)?;
    let e = ctx.alias();
    let agg_type = ctx.type_name(t, format!("{}_aggregate", table.gql_name));
    let fields = normalize::collect(ctx, &f.selection_sets(), &agg_type)?;
    // Hasura's permission limit under aggregates: `aggregate { .. }` is computed over every
    // visible row (bounded by the `limit` argument only), while `nodes` still returns at most the
    // permission's limit of them (in order). Without aggregate fields, the rows themselves are
    // bounded as in a plain select.
    let nodes_limit = match perm.limit() {
        Some(pl) if fields.iter().any(|af| af.name() == "aggregate") => {
            a.limit = a.user_limit;
            Some(pl)
        }
        _ => None,
    };
    let mut pairs = Vec::new();
    let mut nodes_json: Option<String> = None;
    for af in &fields {
        let p = sub(&sub(path, "selectionSet"), af.key());
        let expr = match af.name() {
            "__typename" => format!("{}::text", sql::literal(&agg_type)),
            "nodes" => {
                let obj = row_json(ctx, t, &alias, perm, &af.selection_sets(), &p)?;
                let col = format!("__n{}", pairs.len());
                nodes_json = Some(match nodes_json {
                    None => format!("{} AS {}", obj, sql::ident(&col)),
                    Some(prev) => format!("{}, {} AS {}", prev, obj, sql::ident(&col)),
                });
                let node = format!("{}.{}", sql::ident(&e), sql::ident(&col));
                match nodes_limit {
                    None => format!("coalesce(json_agg({}), '[]'::json)", node),
                    Some(l) => format!(
                        "coalesce(array_to_json((array_agg({}))[1:{}]), '[]'::json)",
                        node, l
                    ),
                }
            }
            "aggregate" => aggregate_fields(ctx, t, &e, perm, af, &p)?,
            other => return Err(not_found(&p, other, &agg_type)),
        };
        pairs.push((af.key().to_owned(), expr));
    }
    let (distinct, tail) = tail(ctx, &source, &alias, &a, join);
    let inner_cols = match nodes_json {
        Some(n) => format!("{}.*, {}", sql::ident(&alias), n),
        None => format!("{}.*", sql::ident(&alias)),
    };
    Ok(format!(
        "(SELECT {} FROM (SELECT {}{}{}) AS {})",
        sql::json_object(&pairs),
        distinct,
        inner_cols,
        tail,
        sql::ident(&e)
    ))
}

fn aggregate_fields<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    e: &str,
    perm: Perm<'_>,
    af: &Merged<'a>,
    path: &str,
) -> Result<String> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let type_name = ctx.type_name(t, format!("{}_aggregate_fields", table.gql_name));
    let fields = normalize::collect(ctx, &af.selection_sets(), &type_name)?;
    let mut pairs = Vec::new();
    for g in &fields {
        let p = sub(&sub(path, "selectionSet"), g.key());
        let expr = match ctx.canon(t, g.name()).as_ref() {
            "__typename" => format!("{}::text", sql::literal(&type_name)),
            "count" => {
                let mut cols = Vec::new();
                let mut distinct = false;
                for (n, v) in &g.field.arguments {
                    match n.as_str() {
                        "columns" => {
                            for item in values::list(ctx, v)? {
                                let (Value::Enum(s) | Value::String(s)) = &item else {
                                    return Err(Error::validation(&p, "expected column names"));
                                };
                                let Some(c) = table.column_by_gql(s).filter(|c| perm.column(*c))
                                else {
                                    return Err(Error::validation(
                                        &sub(&sub(&p, "args"), "columns"),
                                        format!("expected one of the values of '{}_select_column', but found '{}'", table.gql_name, s),
                                    ));
                                };
                                cols.push(format!(
                                    "{}.{}",
                                    sql::ident(e),
                                    sql::ident(&table.columns[c].name)
                                ));
                            }
                        }
                        "distinct" => distinct = matches!(ctx.resolve(v)?, Value::Boolean(true)),
                        other => {
                            return Err(Error::validation(
                                &p,
                                format!("'count' has no argument named '{}'", other),
                            ))
                        }
                    }
                }
                match (cols.len(), distinct) {
                    (0, _) => String::from("count(*)"),
                    (1, true) => format!("count(DISTINCT {})", cols[0]),
                    (1, false) => format!("count({})", cols[0]),
                    (_, true) => format!("count(DISTINCT ({}))", cols.join(", ")),
                    (_, false) => format!("count(({}))", cols.join(", ")),
                }
            }
            func @ ("sum" | "avg" | "max" | "min" | "stddev" | "stddev_pop" | "stddev_samp"
            | "variance" | "var_pop" | "var_samp") => {
                let sub_type = ctx.type_name(t, format!("{}_{}_fields", table.gql_name, func));
                let cols = normalize::collect(ctx, &g.selection_sets(), &sub_type)?;
                let mut inner = Vec::new();
                for c in &cols {
                    let cp = sub(&sub(&p, "selectionSet"), c.key());
                    let ex = if c.name() == "__typename" {
                        format!("{}::text", sql::literal(&sub_type))
                    } else {
                        let Some(ci) = table.column_by_gql(c.name()).filter(|ci| perm.column(*ci))
                        else {
                            return Err(not_found(&cp, c.name(), &sub_type));
                        };
                        let col = &table.columns[ci];
                        let numeric_only = !matches!(func, "max" | "min");
                        if numeric_only && !col.pg_type.is_numeric() {
                            return Err(not_found(&cp, c.name(), &sub_type));
                        }
                        let mut arg = format!("{}.{}", sql::ident(e), sql::ident(&col.name));
                        if let Some(cf) = perm.column_filter(ci) {
                            let scope = Scope::new(t, e);
                            if let Some(cond) =
                                boolexp::compile(ctx, &scope, cf, "$", Mode::Permission)?
                            {
                                arg = format!("CASE WHEN {} THEN {} ELSE NULL END", cond, arg);
                            }
                        }
                        let call = format!("{}({})", func, arg);
                        // Hasura stringifies an aggregate when the *column* is a big-number type
                        // (avg over a numeric column is a string, avg over an integer is not).
                        output(ctx, call, &col.pg_type)
                    };
                    inner.push((c.key().to_owned(), ex));
                }
                sql::json_object(&inner)
            }
            _ => return Err(not_found(&p, g.name(), &type_name)),
        };
        pairs.push((g.key().to_owned(), expr));
    }
    Ok(sql::json_object(&pairs))
}
