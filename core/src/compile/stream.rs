//! `<t>_stream` root fields of `subscription_root` (Hasura v2's streaming subscriptions).
//!
//! `<t>_stream(batch_size: Int!, cursor: [<t>_stream_cursor_input]!, where: <t>_bool_exp)`
//! selects the next batch of rows after the cursor: `col > cursor` (`ASC`, the default) or
//! `col < cursor` (`DESC`), the `where` argument and the role's filter, ordered by the cursor
//! column, the first `batch_size` rows (capped by the permission's `limit`) *with ties*, so rows
//! sharing the last cursor value are never split between two batches. The rows are chosen and
//! rendered by the list select's own machinery ([`select::list_args`], [`select::row_json`],
//! [`select::tail`]); one scan yields both the JSON array and the batch's last cursor value as
//! text, which the host binds to the cursor's parameter (never shared: see [`Ctx::own_param`])
//! for the next run.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::normalize::Merged;
use super::select::{self, Source};
use super::values::{self, article};
use super::{sql, sub, Ctx, Perm};
use crate::error::{Error, Result};
use crate::model::{ColumnId, TableId};
use crate::plan::{Encoding, ParamSpec};
use crate::value::Value;

/// The arguments a stream field takes (`where` is handled by [`select::list_args`]).
const ARGUMENTS: [&str; 3] = ["batch_size", "cursor", "where"];

/// See [`select::stream_root_field`]: `Some((select, cursor_param))` for a `<t>_stream` field
/// of a table the role may stream, `None` for any other field.
pub(super) fn root_field<'a>(
    ctx: &mut Ctx<'a>,
    f: &Merged<'a>,
    path: &str,
) -> Result<Option<(String, usize)>> {
    let Some((t, perm)) = stream_table(ctx, f.name()) else {
        return Ok(None);
    };
    let table = &ctx.schema.tables[t];
    let args_path = sub(path, "args");
    for (name, _) in &f.field.arguments {
        if !ARGUMENTS.contains(&ctx.canon(t, name).as_ref()) {
            return Err(Error::validation(
                sub(&args_path, name),
                format!("'{}' has no argument named '{}'", f.name(), name),
            ));
        }
    }
    let batch = batch_size(ctx, t, f, &args_path)?;
    let cursor = cursor(ctx, t, perm, f, &args_path)?;
    let col = &table.columns[cursor.column];

    let alias = ctx.alias();
    let mut a = select::list_args(ctx, t, &alias, perm, f, path, &["batch_size", "cursor"])?;
    let column = format!("{}.{}", sql::ident(&alias), sql::ident(&col.name));
    let (param, placeholder) = ctx.own_param(cursor.spec);
    let (op, dir, last) = if cursor.descending {
        ("<", "DESC", "ASC")
    } else {
        (">", "ASC", "DESC")
    };
    a.conds.push(format!(
        "({} {} {}::{})",
        column,
        op,
        placeholder,
        sql::type_name(&col.pg_type)
    ));
    a.order = alloc::vec![super::order::OrderItem {
        expr: column.clone(),
        dir,
        column: Some(cursor.column),
        path: alloc::vec![col.name.clone()],
    }];
    // Hasura: the batch is capped by the permission's row limit.
    a.limit = Some(a.limit.map_or(batch, |pl| pl.min(batch)));
    a.with_ties = true;
    let obj = select::row_json(ctx, t, &alias, perm, &f.selection_sets(), path)?;
    let (distinct, tail) = select::tail(ctx, &Source::Table(t), &alias, &a, Vec::new());
    let e = sql::ident(&ctx.alias());
    // The next cursor is the batch's last value in cursor order (`max` / `min`, which not
    // every orderable type has: uuid, boolean); the batch holds no NULL cursor values.
    Ok(Some((
        format!(
            "SELECT coalesce(json_agg({e}.\"j\" ORDER BY {e}.\"c\" {dir}), '[]'::json) AS \"value\", \
             (array_agg({e}.\"c\" ORDER BY {e}.\"c\" {last}))[1]::text AS \"cursor\" \
             FROM (SELECT {distinct}{obj} AS \"j\", {column} AS \"c\"{tail}) AS {e}"
        ),
        param,
    )))
}

/// The table whose `<select>_stream` root field `name` is, visible in the current scope, with
/// the role's permission on it, when the role may stream it (the `select_stream` subscription
/// root field, at least one column: as introspection advertises it).
fn stream_table<'a>(ctx: &Ctx<'a>, name: &str) -> Option<(TableId, Perm<'a>)> {
    let base = name.strip_suffix("_stream")?;
    let schema = ctx.schema;
    for (t, table) in schema.tables.iter().enumerate() {
        if table.root_fields.select != base || !schema.table_in_scope(t, ctx.scope) {
            continue;
        }
        let Some(perm) = ctx.perm(t) else { continue };
        let allowed = match perm {
            Perm::Admin => !table.columns.is_empty(),
            Perm::Role(p) => {
                !p.columns.is_empty()
                    && p.subscription_root_fields
                        .as_ref()
                        .is_none_or(|l| l.iter().any(|k| k == "select_stream"))
            }
        };
        if allowed {
            return Some((t, perm));
        }
    }
    None
}

/// `batch_size: Int!`: a non-negative 32-bit integer (a variable's value makes the plan
/// shaping on it, as `limit` does).
fn batch_size(ctx: &mut Ctx<'_>, t: TableId, f: &Merged<'_>, args_path: &str) -> Result<u64> {
    let name = ctx.spelled(t, "batch_size");
    let p = sub(args_path, &name);
    let Some(v) = f.field.argument(&name) else {
        return Err(Error::validation(
            args_path,
            format!("missing required field '{name}'"),
        ));
    };
    values::non_null_location(ctx, v, "Int!", &p)?;
    match values::non_negative_int(ctx, v, &p)? {
        Some(n) => Ok(n),
        None => Err(Error::validation(
            &p,
            "unexpected null value for type 'Int'",
        )),
    }
}

/// The one cursor of a stream field.
struct Cursor {
    column: ColumnId,
    descending: bool,
    /// The initial value's parameter.
    spec: ParamSpec,
}

/// `cursor: [<t>_stream_cursor_input]!`: null elements are skipped (a single object is a
/// one-element list); every `initial_value` names columns; exactly one column in all.
fn cursor(
    ctx: &mut Ctx<'_>,
    t: TableId,
    perm: Perm<'_>,
    f: &Merged<'_>,
    args_path: &str,
) -> Result<Cursor> {
    let table = &ctx.schema.tables[t];
    let g = &table.gql_name;
    let p = sub(args_path, "cursor");
    let Some(v) = f.field.argument("cursor") else {
        return Err(Error::validation(
            args_path,
            "missing required field 'cursor'",
        ));
    };
    let input_type = format!("{}_stream_cursor_input", g);
    values::non_null_location(ctx, v, &format!("[{}]!", input_type), &p)?;
    let is_list = matches!(ctx.resolve(v)?, Value::List(_));
    let mut found: Vec<(ColumnId, bool, Value, String)> = Vec::new();
    for (i, item) in values::list(ctx, v)?.iter().enumerate() {
        let ip = if is_list {
            format!("{}[{}]", p, i)
        } else {
            p.clone()
        };
        if ctx.resolve(item)?.is_null() {
            continue;
        }
        let fields = values::object(ctx, item, &input_type, &ip)?;
        let mut descending = false;
        let mut initial = None;
        for (k, val) in &fields {
            let kp = sub(&ip, k);
            match ctx.canon(t, k).as_ref() {
                "ordering" => descending = ordering(ctx, val, &kp)?,
                "initial_value" => initial = Some((val, kp)),
                _ => return Err(select::not_found(&kp, k, &input_type)),
            }
        }
        let Some((initial, vp)) = initial else {
            return Err(Error::validation(
                &ip,
                format!(
                    "missing required field '{}'",
                    ctx.spelled(t, "initial_value")
                ),
            ));
        };
        let value_type = format!("{}_stream_cursor_value_input", g);
        for (name, cv) in values::object(ctx, initial, &value_type, &vp)? {
            let cp = sub(&vp, &name);
            let Some(c) = table.column_by_gql(&name).filter(|c| perm.column(*c)) else {
                return Err(select::not_found(&cp, &name, &value_type));
            };
            found.push((c, descending, cv, cp));
        }
    }
    if found.len() != 1 {
        let message = if found.is_empty() {
            "one streaming column field is expected"
        } else {
            "multiple column cursors are not supported yet"
        };
        return Err(Error::validation(&p, message));
    }
    let Some((column, descending, value, vp)) = found.pop() else {
        return Err(Error::validation(
            &p,
            "one streaming column field is expected",
        ));
    };
    let spec = initial_param(ctx, t, column, &value, &vp)?;
    Ok(Cursor {
        column,
        descending,
        spec,
    })
}

/// `ordering: cursor_ordering` (`ASC`, the default, or `DESC`): whether descending.
fn ordering(ctx: &mut Ctx<'_>, v: &Value, path: &str) -> Result<bool> {
    match ctx.resolve(v)? {
        Value::Null => Ok(false),
        Value::Enum(s) | Value::String(s) if s == "ASC" => Ok(false),
        Value::Enum(s) | Value::String(s) if s == "DESC" => Ok(true),
        Value::Enum(s) => Err(Error::validation(
            path,
            format!(
                "expected one of the values ['ASC', 'DESC'] for type 'cursor_ordering', but found '{}'",
                s
            ),
        )),
        other => Err(Error::validation(
            path,
            format!(
                "expected an enum value for type 'cursor_ordering', but found {}",
                article(other.kind())
            ),
        )),
    }
}

/// The cursor's initial value as a parameter spec, validated as any value of the column is
/// (literal coercion, enum-table values, a variable's declared type). A variable stays a
/// variable (the plan can be re-bound); a literal becomes a constant. The text is the value's
/// Postgres text form, as the cursor the statement returns is.
fn initial_param(
    ctx: &mut Ctx<'_>,
    t: TableId,
    c: ColumnId,
    v: &Value,
    path: &str,
) -> Result<ParamSpec> {
    let col = &ctx.schema.tables[t].columns[c];
    // Validation only: the expression and the (possibly shared) parameter it adds are dropped.
    let (params, shaping) = (ctx.params.len(), ctx.shaping.len());
    let checked = values::column_value(ctx, v, col, path);
    ctx.params.truncate(params);
    ctx.shaping.truncate(shaping);
    checked?;
    let encoding = if col.pg_type.is_array() {
        Encoding::PgArray
    } else if col.pg_type.is_json() {
        Encoding::Json
    } else {
        Encoding::Scalar
    };
    Ok(match v {
        Value::Variable(name) => ParamSpec::Variable {
            name: name.to_owned(),
            path: Vec::new(),
            encoding,
        },
        other => {
            let v = ctx.shaping_value(other)?;
            ParamSpec::Const(crate::encode::encode(&v, encoding)?)
        }
    })
}
