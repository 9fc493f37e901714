//! Hasura's Relay API (`/v1beta1/relay`, [`crate::Options::relay`]).
//!
//! - root fields: `<t>_connection` for tables with a primary key, `<f>_connection` for tracked
//!   functions returning `SETOF` such a table, and `node(id: ID!)`;
//! - inside objects (hooked into `select::row_json`): `id` is the global node id (a column named
//!   `id` is shadowed by it) and array relationships to tables with a primary key also appear as
//!   `<rel>_connection`;
//! - a connection is `{edges {cursor node} pageInfo {hasNextPage hasPreviousPage startCursor
//!   endCursor}}`. Rows are ordered by `order_by` plus the primary key columns not already in it
//!   (the primary key alone without `order_by`); a cursor is base64 of the JSON object of the row's
//!   order-by key values, computed in SQL (`json_build_object`, so `{"id" : 1}`).
//!   `after`/`before` keep the rows strictly after/before the cursor in that order;
//!   `first`/`last` take the first/last rows of what remains; `hasNextPage` / `hasPreviousPage`
//!   tell whether rows (passing the permission filter and `where`) exist after the page's last /
//!   before its first row.
//!
//! Node ids are base64 of `[1, "schema", "table", pk values...]`; they are decoded here (lenient
//! base64, a small JSON reader with aeson's error messages) and only the key values reach SQL, as
//! bind parameters. Permissions, `where`, `order_by` and `distinct_on` reuse the normal select
//! code ([`select::list_args`], [`select::row_json`]).
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::boolexp;
use super::normalize::{self, Merged};
use super::order::OrderItem;
use super::select::{self, Source};
use super::values;
use super::{sql, sub, Ctx, Perm};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{FunctionReturn, PgType, RelKind, TableId};
use crate::plan::ParamSpec;
use crate::value::Value;

/// A root field of the Relay `query_root`.
pub fn root_field<'a>(ctx: &mut Ctx<'a>, f: &Merged<'a>, path: &str) -> Result<String> {
    let name = f.name();
    if name == "node" {
        return node(ctx, f, path);
    }
    let schema = ctx.schema;
    if let Some(base) = name.strip_suffix("_connection") {
        for (t, table) in schema.tables.iter().enumerate() {
            if table.root_fields.select != base || table.primary_key.is_empty() {
                continue;
            }
            let Some(perm) = ctx.perm(t) else { continue };
            if !perm.root_field("select") {
                continue;
            }
            return connection(ctx, Source::Table(t), f, path, Vec::new(), &[]);
        }
        for func in &schema.functions {
            if func.exposed_as != crate::model::ExposedAs::Query || func.gql_name != base {
                continue;
            }
            let FunctionReturn::Table {
                table: t,
                set: true,
            } = func.returns
            else {
                continue;
            };
            if schema.tables[t].primary_key.is_empty()
                || !select::function_allowed(ctx, func, t)
                || ctx.perm(t).is_none()
            {
                continue;
            }
            let (call, _) = select::function_call(ctx, func, f, path)?;
            return connection(ctx, Source::Call(call, t), f, path, Vec::new(), &["args"]);
        }
    }
    Err(select::not_found(path, name, "query_root"))
}

/// Relay-only fields of a table's object type (`id`, `<rel>_connection`); `None` = not one of
/// them (the normal field resolution applies).
pub fn row_field<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    alias: &str,
    f: &Merged<'a>,
    path: &str,
) -> Result<Option<String>> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let name = f.name();
    if name == "id" && !table.primary_key.is_empty() {
        if let Some((a, _)) = f.field.arguments.first() {
            return Err(Error::validation(
                path,
                format!("'id' has no argument named '{}'", a),
            ));
        }
        return Ok(Some(node_id_sql(ctx, t, alias)));
    }
    if let Some(rel) = name
        .strip_suffix("_connection")
        .and_then(|r| table.relationship(r))
        .filter(|r| {
            r.kind == RelKind::Array
                && !schema.tables[r.target].primary_key.is_empty()
                && ctx.perm(r.target).is_some()
        })
    {
        let join = alloc::vec![(t, alias.to_owned(), rel.mapping.clone())];
        return connection(ctx, Source::Table(rel.target), f, path, join, &[]).map(Some);
    }
    Ok(None)
}

/// SQL of the node id of row `alias` of table `t`: base64 of `[1, "schema", "table", pk...]`.
fn node_id_sql(ctx: &Ctx<'_>, t: TableId, alias: &str) -> String {
    let table = &ctx.schema.tables[t];
    let mut parts = alloc::vec![
        String::from("1"),
        format!("{}::text", sql::literal(&table.name.schema)),
        format!("{}::text", sql::literal(&table.name.name)),
    ];
    for c in &table.primary_key {
        parts.push(format!(
            "{}.{}",
            sql::ident(alias),
            sql::ident(&table.columns[*c].name)
        ));
    }
    base64_sql(&format!("json_build_array({})", parts.join(", ")))
}

/// `base64(convert_to(json::text))` without the newlines Postgres inserts every 76 characters.
fn base64_sql(json: &str) -> String {
    format!(
        "replace(encode(convert_to(({})::text, 'UTF8'), 'base64'), chr(10), '')",
        json
    )
}

/// One order-by key of a connection: its SQL (for the row alias), direction and cursor path.
struct Key {
    item: OrderItem,
    /// Type of the key when it is a plain column (cursor values are cast to it); otherwise keys
    /// are compared as `jsonb`.
    ty: Option<PgType>,
}

/// Builds the list arguments and order keys (primary key appended) of table `t` under `alias`.
fn keyed_args<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    alias: &str,
    perm: Perm<'_>,
    f: &Merged<'a>,
    path: &str,
    extra: &[&str],
) -> Result<(select::ListArgs, Vec<Key>)> {
    let mut allowed: Vec<&str> = alloc::vec!["first", "last", "after", "before"];
    allowed.extend_from_slice(extra);
    let mut a = select::list_args(ctx, t, alias, perm, f, path, &allowed)?;
    let table = &ctx.schema.tables[t];
    let mut order = core::mem::take(&mut a.order);
    for c in &table.primary_key {
        if !order.iter().any(|o| o.column == Some(*c)) {
            order.push(OrderItem {
                expr: format!(
                    "{}.{}",
                    sql::ident(alias),
                    sql::ident(&table.columns[*c].name)
                ),
                dir: "ASC NULLS LAST",
                column: Some(*c),
                path: alloc::vec![table.columns[*c].name.clone()],
            });
        }
    }
    let keys = order
        .into_iter()
        .map(|item| Key {
            ty: item.column.map(|c| table.columns[c].pg_type.clone()),
            item,
        })
        .collect();
    Ok((a, keys))
}

fn reverse(dir: &'static str) -> &'static str {
    match dir {
        "ASC NULLS LAST" => "DESC NULLS FIRST",
        "ASC NULLS FIRST" => "DESC NULLS LAST",
        "DESC NULLS FIRST" => "ASC NULLS LAST",
        _ => "ASC NULLS FIRST",
    }
}

/// The JSON object of the keys, nested by path: `{"author" : {"name" : ..}, "id" : ..}`.
/// A key's cursor path and SQL expression.
type KeyRef<'k> = (&'k [String], &'k str);

fn key_json(keys: &[KeyRef<'_>]) -> String {
    let mut groups: Vec<(&str, Vec<KeyRef<'_>>)> = Vec::new();
    for (path, expr) in keys {
        let Some((first, rest)) = path.split_first() else {
            continue;
        };
        match groups.iter_mut().find(|(k, _)| *k == first.as_str()) {
            Some((_, items)) => items.push((rest, expr)),
            None => groups.push((first.as_str(), alloc::vec![(rest, *expr)])),
        }
    }
    let pairs: Vec<(String, String)> = groups
        .iter()
        .map(|(k, items)| {
            let v = if items.len() == 1 && items[0].0.is_empty() {
                String::from(items[0].1)
            } else {
                key_json(items)
            };
            ((*k).to_owned(), v)
        })
        .collect();
    sql::json_object(&pairs)
}

/// `ARRAY['a', 'b']` of a cursor path (engine-owned names).
fn path_array(path: &[String]) -> String {
    let items: Vec<String> = path.iter().map(|p| sql::literal(p)).collect();
    format!("ARRAY[{}]::text[]", items.join(", "))
}

/// Whether the row's keys come strictly after (`after`) or before the cursor `cur` (a jsonb SQL
/// expression) in the keys' order.
fn split_cond(keys: &[Key], cur: &str, after: bool) -> String {
    let mut ors = Vec::new();
    let mut eqs: Vec<String> = Vec::new();
    for k in keys {
        let (lhs, rhs) = match &k.ty {
            Some(ty) => (
                k.item.expr.clone(),
                format!(
                    "({} #>> {})::{}",
                    cur,
                    path_array(&k.item.path),
                    sql::type_name(ty)
                ),
            ),
            None => (
                format!("to_jsonb({})", k.item.expr),
                format!(
                    "nullif({} #> {}, 'null'::jsonb)",
                    cur,
                    path_array(&k.item.path)
                ),
            ),
        };
        let asc = k.item.dir.starts_with("ASC");
        let nulls_first = k.item.dir.ends_with("FIRST");
        let op = if asc == after { ">" } else { "<" };
        // A NULL key sorts after the cursor's non-null value when nulls are last (and the
        // reverse): the row is "after" iff its null side matches.
        let row_null_is_after = !nulls_first;
        let null_case = if row_null_is_after == after {
            format!("({} IS NULL AND {} IS NOT NULL)", lhs, rhs)
        } else {
            format!("({} IS NOT NULL AND {} IS NULL)", lhs, rhs)
        };
        let cmp = format!("(({} {} {}) OR {})", lhs, op, rhs, null_case);
        let mut conj = eqs.clone();
        conj.push(cmp);
        ors.push(format!("({})", conj.join(" AND ")));
        eqs.push(format!("({} IS NOT DISTINCT FROM {})", lhs, rhs));
    }
    if ors.is_empty() {
        return String::from("false");
    }
    format!("({})", ors.join(" OR "))
}

/// A connection over `source` (joined to a parent row for relationships).
fn connection<'a>(
    ctx: &mut Ctx<'a>,
    source: Source,
    f: &Merged<'a>,
    path: &str,
    join_on: boolexp::ParentJoin,
    extra: &[&str],
) -> Result<String> {
    let t = source.table();
    let Some(perm) = ctx.perm(t) else {
        return Err(select::not_found(path, f.name(), "query_root"));
    };
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let args_path = sub(path, "args");
    let arg = |n: &str| f.field.argument(n).filter(|v| !v.is_null()).cloned();
    for (n, _) in &f.field.arguments {
        if n == "limit" || n == "offset" {
            return Err(Error::validation(
                sub(&args_path, n),
                format!("'{}' has no argument named '{}'", f.name(), n),
            ));
        }
    }
    let (first, last) = (arg("first"), arg("last"));
    let (after, before) = (arg("after"), arg("before"));
    if after.is_some() && before.is_some() {
        return Err(Error::validation(
            &args_path,
            "\"after\" and \"before\" are not allowed at once",
        ));
    }
    if first.is_some() && last.is_some() {
        return Err(Error::validation(
            &args_path,
            "\"first\" and \"last\" are not allowed at once",
        ));
    }
    let alias = ctx.alias();
    let mut conds = boolexp::parent_join_conds(ctx, &join_on, t, &alias);
    let (a, keys) = keyed_args(ctx, t, &alias, perm, f, path, extra)?;
    conds.extend(a.conds.iter().cloned());
    let backward = last.is_some();
    let mut limit = a.limit;
    if let Some(v) = first.as_ref().or(last.as_ref()) {
        let p = sub(&args_path, if backward { "last" } else { "first" });
        if let Some(n) = values::non_negative_int(ctx, v, &p)? {
            limit = Some(limit.map_or(n, |l| l.min(n)));
        }
    }
    // The cursor argument: decoded here, its JSON text bound as a parameter.
    if let Some((v, is_after)) = after
        .as_ref()
        .map(|v| (v, true))
        .or(before.as_ref().map(|v| (v, false)))
    {
        let p = sub(&args_path, if is_after { "after" } else { "before" });
        let cursor = decode_cursor(ctx, v, &p, &keys)?;
        let param = ctx.param(ParamSpec::Const(Some(cursor)));
        conds.push(split_cond(&keys, &format!("{}::jsonb", param), is_after));
    }

    // Selections of the connection.
    let conn_type = format!("{}Connection", table.gql_name);
    let edge_type = format!("{}Edge", table.gql_name);
    let fields = normalize::collect(ctx, &f.selection_sets(), &conn_type)?;
    let e = ctx.alias();
    let ea = sql::ident(&e);
    let natural = if backward { "DESC" } else { "ASC" };
    let mut page_cols: Vec<String> = Vec::new();
    let mut agg_cols: Vec<String> = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let agg = ctx.alias();
    let aa = sql::ident(&agg);
    let mut need_page_info = false;
    for cf in &fields {
        let cp = sub(&sub(path, "selectionSet"), cf.key());
        let expr = match cf.name() {
            "__typename" => format!("{}::text", sql::literal(&conn_type)),
            "edges" => {
                let efields = normalize::collect(ctx, &cf.selection_sets(), &edge_type)?;
                let mut epairs = Vec::new();
                for ef in &efields {
                    let ep = sub(&sub(&cp, "selectionSet"), ef.key());
                    let v = match ef.name() {
                        "__typename" => format!("{}::text", sql::literal(&edge_type)),
                        "cursor" => base64_sql(&format!("{}.\"k\"", ea)),
                        "node" => {
                            let obj =
                                select::row_json(ctx, t, &alias, perm, &ef.selection_sets(), &ep)?;
                            let col = format!("n{}", page_cols.len());
                            page_cols.push(format!("{} AS {}", obj, sql::ident(&col)));
                            format!("{}.{}", ea, sql::ident(&col))
                        }
                        other => return Err(select::not_found(&ep, other, &edge_type)),
                    };
                    epairs.push((ef.key().to_owned(), v));
                }
                let col = format!("e{}", agg_cols.len());
                agg_cols.push(format!(
                    "coalesce(json_agg({} ORDER BY {}.\"o\" {}), '[]'::json) AS {}",
                    sql::json_object(&epairs),
                    ea,
                    natural,
                    sql::ident(&col)
                ));
                format!("{}.{}", aa, sql::ident(&col))
            }
            "pageInfo" => {
                need_page_info = true;
                let pfields = normalize::collect(ctx, &cf.selection_sets(), "PageInfo")?;
                let mut ppairs = Vec::new();
                for pf in &pfields {
                    let pp = sub(&sub(&cp, "selectionSet"), pf.key());
                    let v = match pf.name() {
                        "__typename" => String::from("'PageInfo'::text"),
                        "startCursor" => base64_sql(&format!("{}.\"sk\"", aa)),
                        "endCursor" => base64_sql(&format!("{}.\"ek\"", aa)),
                        name @ ("hasNextPage" | "hasPreviousPage") => {
                            let next = name == "hasNextPage";
                            let x = ctx.alias();
                            let mut xconds = boolexp::parent_join_conds(ctx, &join_on, t, &x);
                            let (xa, xkeys) = keyed_args(ctx, t, &x, perm, f, path, extra)?;
                            xconds.extend(xa.conds);
                            let end = if next { "ek" } else { "sk" };
                            xconds.push(split_cond(
                                &xkeys,
                                &format!("{}.\"{}\"::jsonb", aa, end),
                                next,
                            ));
                            format!(
                                "(EXISTS (SELECT 1 FROM {} WHERE {}))",
                                source.from_sql(ctx, &x),
                                boolexp::and_or_true(xconds)
                            )
                        }
                        other => return Err(select::not_found(&pp, other, "PageInfo")),
                    };
                    ppairs.push((pf.key().to_owned(), v));
                }
                sql::json_object(&ppairs)
            }
            other => return Err(select::not_found(&cp, other, &conn_type)),
        };
        pairs.push((cf.key().to_owned(), expr));
    }
    if need_page_info {
        agg_cols.push(format!(
            "(array_agg({e}.\"k\" ORDER BY {e}.\"o\" {n}))[1] AS \"sk\", (array_agg({e}.\"k\" ORDER BY {e}.\"o\" {r}))[1] AS \"ek\"",
            e = ea,
            n = natural,
            r = if backward { "ASC" } else { "DESC" }
        ));
    }
    if agg_cols.is_empty() {
        agg_cols.push(String::from("1 AS \"_\""));
    }

    // The page: rows in (possibly reversed) key order, limited.
    let page_dir = |k: &Key| {
        if backward {
            reverse(k.item.dir)
        } else {
            k.item.dir
        }
    };
    let order_sql: Vec<String> = keys
        .iter()
        .map(|k| format!("{} {}", k.item.expr, page_dir(k)))
        .collect();
    let key_items: Vec<(&[String], &str)> = keys
        .iter()
        .map(|k| (k.item.path.as_slice(), k.item.expr.as_str()))
        .collect();
    page_cols.push(format!("{} AS \"k\"", key_json(&key_items)));
    page_cols.push(format!(
        "row_number() OVER (ORDER BY {}) AS \"o\"",
        order_sql.join(", ")
    ));
    let distinct = if a.distinct.is_empty() {
        String::new()
    } else {
        format!("DISTINCT ON ({}) ", a.distinct.join(", "))
    };
    let mut page = format!(
        "SELECT {}{} FROM {}",
        distinct,
        page_cols.join(", "),
        source.from_sql(ctx, &alias)
    );
    if let Some(w) = boolexp::and(conds) {
        page.push_str(" WHERE ");
        page.push_str(&w);
    }
    page.push_str(" ORDER BY ");
    page.push_str(&order_sql.join(", "));
    if let Some(l) = limit {
        page.push_str(&format!(" LIMIT {}", l));
    }
    Ok(format!(
        "(SELECT {} FROM (SELECT {} FROM ({}) AS {}) AS {})",
        sql::json_object(&pairs),
        agg_cols.join(", "),
        page,
        ea,
        aa
    ))
}

/// Decodes an `after`/`before` cursor to its JSON text, checking it has every key's path.
fn decode_cursor(ctx: &mut Ctx<'_>, v: &Value, path: &str, keys: &[Key]) -> Result<String> {
    let invalid = || Error::validation(path, "the \"after\" or \"before\" cursor is invalid");
    let s = match ctx.resolve(v)? {
        Value::String(s) => s,
        _ => return Err(invalid()),
    };
    let bytes = base64_decode_lenient(&s);
    let text = core::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let json = json::parse(text.as_bytes()).map_err(|_| invalid())?;
    for k in keys {
        let mut cur = &json;
        for p in &k.item.path {
            match cur {
                json::Json::Object(fields) => match fields.iter().find(|(n, _)| n == p) {
                    Some((_, v)) => cur = v,
                    None => return Err(invalid()),
                },
                _ => return Err(invalid()),
            }
        }
    }
    Ok(String::from(text.trim()))
}

/// The `node(id:)` root field.
fn node<'a>(ctx: &mut Ctx<'a>, f: &Merged<'a>, path: &str) -> Result<String> {
    let args_path = sub(path, "args");
    for (n, _) in &f.field.arguments {
        if n != "id" {
            return Err(Error::validation(
                sub(&args_path, n),
                format!("'node' has no argument named '{}'", n),
            ));
        }
    }
    let id_path = sub(&args_path, "id");
    let id = match f.field.argument("id") {
        Some(v) => ctx.resolve(v)?,
        None => Value::Null,
    };
    let id = match id {
        Value::String(s) => s,
        Value::Null => return Err(Error::validation(&args_path, "missing required field 'id'")),
        other => {
            return Err(Error::validation(
                &id_path,
                format!(
                    "expected a string for type 'ID', but found {}",
                    values::article(other.kind())
                ),
            ))
        }
    };
    let invalid = |m: String| Error::validation(&id_path, format!("invalid node id: {}", m));
    let bytes = base64_decode_lenient(&id);
    let parsed = json::parse(&bytes).map_err(|m| invalid(format!("Error in $: {}", m)))?;
    let items = match parsed {
        json::Json::List(items) => items,
        other => {
            return Err(invalid(format!(
                "Error in $: parsing node id failed, expected Array, but encountered {}",
                json::kind(&other)
            )))
        }
    };
    match items.first() {
        None => {
            return Err(invalid(String::from(
                "Error in $: unexpected GUID format, found empty list",
            )))
        }
        Some(json::Json::Number(n)) if json::is_one(n) => {}
        Some(json::Json::Number(n)) => {
            return Err(invalid(format!(
                "Error in $: unsupported GUID version: {}",
                json::show_scientific(n)
            )))
        }
        Some(_) => {
            return Err(invalid(String::from(
                "Error in $: unexpected GUID format, needs to start with a version number",
            )))
        }
    }
    if items.len() < 4 {
        return Err(invalid(String::from(
            "Error in $: GUID version 1: expecting schema name, table name and at least one column value",
        )));
    }
    let text_of = |v: &json::Json| match v {
        json::Json::String(s) => Ok(s.clone()),
        other => Err(invalid(format!(
            "Error in $: parsing Text failed, expected String, but encountered {}",
            json::kind(other)
        ))),
    };
    let schema_name = text_of(&items[1])?;
    let table_name = text_of(&items[2])?;
    let schema = ctx.schema;
    let found = schema.tables.iter().enumerate().find(|(t, table)| {
        table.name.schema == schema_name
            && table.name.name == table_name
            && !table.primary_key.is_empty()
            && ctx.perm(*t).is_some()
    });
    let Some((t, table)) = found else {
        let shown = if schema_name == "public" {
            table_name.clone()
        } else {
            format!("{}.{}", schema_name, table_name)
        };
        return Err(invalid(format!("no such table found: '{}'", shown)));
    };
    let Some(perm) = ctx.perm(t) else {
        return Err(invalid(String::from("no such table found")));
    };
    let values = &items[3..];
    let pk = &table.primary_key;
    if values.len() < pk.len() {
        let missing: Vec<String> = pk[values.len()..]
            .iter()
            .map(|c| format!("'{}'", table.columns[*c].name))
            .collect();
        return Err(invalid(format!(
            "primary key columns [{}] are missing",
            missing.join(", ")
        )));
    }
    if values.len() > pk.len() {
        let extra: Vec<String> = values[pk.len()..].iter().map(json::to_text).collect();
        return Err(invalid(format!(
            "unexpected column values [{}]",
            extra.join(", ")
        )));
    }
    let alias = ctx.alias();
    let mut conds = Vec::new();
    for (c, v) in pk.iter().zip(values.iter()) {
        let col = &table.columns[*c];
        let text = column_value(&col.pg_type, v).map_err(|m| {
            Error::new(
                ErrorCode::ParseFailed,
                path,
                format!("value of column '{}' in node id: {}", col.name, m),
            )
        })?;
        let p = ctx.param(ParamSpec::Const(text));
        conds.push(format!(
            "{}.{} = {}::{}",
            sql::ident(&alias),
            sql::ident(&col.name),
            p,
            sql::type_name(&col.pg_type)
        ));
    }
    conds.extend(boolexp::permission_filter(ctx, perm, t, &alias)?);
    let obj = select::row_json(ctx, t, &alias, perm, &f.selection_sets(), path)?;
    Ok(format!(
        "(SELECT {} FROM {} AS {} WHERE {} LIMIT 1)",
        obj,
        sql::qualified(&table.name),
        sql::ident(&alias),
        boolexp::and_or_true(conds)
    ))
}

/// The parameter text of a primary key value from a node id, checked against the column type
/// (aeson's messages).
fn column_value(ty: &PgType, v: &json::Json) -> core::result::Result<Option<String>, String> {
    let (want, name) = if ty.is_array() || ty.is_json() {
        return Ok(Some(json::to_text(v)));
    } else if matches!(
        ty.udt.as_str(),
        "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" | "money" | "oid"
    ) {
        ("Number", ty.gql_scalar())
    } else if ty.udt == "bool" {
        ("Boolean", String::from("Bool"))
    } else {
        ("String", String::from("Text"))
    };
    match v {
        json::Json::Null => Ok(None),
        json::Json::String(s) if want == "String" => Ok(Some(s.clone())),
        json::Json::Number(n) if want == "Number" => Ok(Some(n.clone())),
        json::Json::Boolean(b) if want == "Boolean" => {
            Ok(Some(String::from(if *b { "true" } else { "false" })))
        }
        other => Err(format!(
            "parsing {} failed, expected {}, but encountered {}",
            name,
            want,
            json::kind(other)
        )),
    }
}

/// Lenient base64 (like Haskell's `decodeLenient`): characters outside the alphabet are
/// skipped, decoding stops at `=`, a trailing partial group yields what it can.
pub fn base64_decode_lenient(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A minimal JSON reader for node ids and cursors, with aeson-like error messages.
mod json {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// Node ids are parsed into core's [`Value`] (numbers keep their text).
    pub use crate::value::Value as Json;

    /// Aeson's name of a JSON value's kind, for Hasura's messages.
    pub fn kind(v: &Json) -> &'static str {
        match v {
            Json::Null => "Null",
            Json::Boolean(_) => "Boolean",
            Json::Number(_) => "Number",
            Json::List(_) => "Array",
            Json::Object(_) => "Object",
            Json::String(_) | Json::Enum(_) | Json::Variable(_) => "String",
        }
    }

    /// Compact JSON text.
    pub fn to_text(v: &Json) -> String {
        let mut s = String::new();
        crate::encode::write_json(&mut s, v);
        s
    }

    /// Whether a JSON number equals 1 (`1`, `1.0`, `1e0`).
    pub fn is_one(n: &str) -> bool {
        scientific(n).is_some_and(|(digits, exp)| digits == "1" && exp == 0)
    }

    /// (significant digits without leading/trailing zeros, decimal exponent), for integers and
    /// simple decimals; `None` for negative numbers.
    fn scientific(n: &str) -> Option<(String, i64)> {
        if n.starts_with('-') {
            return None;
        }
        let (mant, exp) = match n.find(['e', 'E']) {
            Some(i) => (&n[..i], n[i + 1..].parse::<i64>().ok()?),
            None => (n, 0),
        };
        let (int, frac) = match mant.find('.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, ""),
        };
        let mut digits: String = format!("{}{}", int, frac);
        let mut exp = exp - frac.len() as i64;
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
            exp += 1;
        }
        let digits = String::from(digits.trim_start_matches('0'));
        if digits.is_empty() {
            return Some((String::from("0"), 0));
        }
        Some((digits, exp))
    }

    /// Haskell's `show` of a `Scientific` for simple values: `2.0`, `1.5`, `-3.0`.
    pub fn show_scientific(n: &str) -> String {
        let neg = n.starts_with('-');
        let abs = n.trim_start_matches('-');
        let Some((digits, exp)) = scientific(abs) else {
            return String::from(n);
        };
        let body = if (0..7).contains(&exp) {
            let mut s = digits.clone();
            for _ in 0..exp {
                s.push('0');
            }
            format!("{}.0", s)
        } else if exp < 0 && (-exp) as usize <= digits.len() + 1 {
            let point = digits.len() as i64 + exp;
            if point > 0 {
                format!(
                    "{}.{}",
                    &digits[..point as usize],
                    &digits[point as usize..]
                )
            } else {
                let mut s = String::from("0.");
                for _ in 0..(-point) {
                    s.push('0');
                }
                s.push_str(&digits);
                s
            }
        } else {
            format!(
                "{}.{}e{}",
                &digits[..1],
                if digits.len() > 1 { &digits[1..] } else { "0" },
                exp + digits.len() as i64 - 1
            )
        };
        if neg {
            format!("-{}", body)
        } else {
            body
        }
    }

    struct P<'a> {
        b: &'a [u8],
        i: usize,
        depth: usize,
    }

    /// Parses one JSON value (surrounding whitespace allowed). Errors are aeson's texts
    /// (without the `Error in $: ` prefix).
    pub fn parse(b: &[u8]) -> Result<Json, String> {
        let mut p = P { b, i: 0, depth: 0 };
        p.ws();
        let v = p.value()?;
        p.ws();
        if p.i < p.b.len() {
            return Err(String::from("endOfInput"));
        }
        Ok(v)
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            }
        }
        fn rest(&self) -> String {
            // Bytes shown as Latin-1 characters, like aeson's message does.
            self.b[self.i.min(self.b.len())..]
                .iter()
                .map(|b| *b as char)
                .collect()
        }
        fn fail(&self) -> String {
            format!(
                "Failed reading: not a valid json value at '{}'",
                self.rest()
            )
        }
        fn value(&mut self) -> Result<Json, String> {
            self.depth += 1;
            if self.depth > 64 {
                return Err(String::from("Failed reading: nesting too deep"));
            }
            let r = self.value_inner();
            self.depth -= 1;
            r
        }
        fn lit(&mut self, word: &str, v: Json) -> Result<Json, String> {
            if self.b[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(v)
            } else {
                Err(self.fail())
            }
        }
        fn value_inner(&mut self) -> Result<Json, String> {
            let Some(&c) = self.b.get(self.i) else {
                return Err(String::from("not enough input"));
            };
            match c {
                b'n' => self.lit("null", Json::Null),
                b't' => self.lit("true", Json::Boolean(true)),
                b'f' => self.lit("false", Json::Boolean(false)),
                b'"' => self.string().map(Json::String),
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Json::List(items));
                    }
                    loop {
                        self.ws();
                        items.push(self.value()?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Json::List(items));
                            }
                            _ => return Err(String::from("Failed reading: satisfy")),
                        }
                    }
                }
                b'{' => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Json::Object(fields));
                    }
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return Err(String::from("Failed reading: satisfy"));
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return Err(String::from("Failed reading: satisfy"));
                        }
                        self.i += 1;
                        self.ws();
                        let v = self.value()?;
                        fields.push((k, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Json::Object(fields));
                            }
                            _ => return Err(String::from("Failed reading: satisfy")),
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let start = self.i;
                    if c == b'-' {
                        self.i += 1;
                    }
                    let digits = |p: &mut Self| {
                        let s = p.i;
                        while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                            p.i += 1;
                        }
                        p.i > s
                    };
                    if !digits(self) {
                        return Err(self.fail());
                    }
                    if self.b.get(self.i) == Some(&b'.') {
                        self.i += 1;
                        if !digits(self) {
                            return Err(self.fail());
                        }
                    }
                    if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
                        self.i += 1;
                        if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                            self.i += 1;
                        }
                        if !digits(self) {
                            return Err(self.fail());
                        }
                    }
                    let text = core::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
                    Ok(Json::Number(String::from(text)))
                }
                _ => Err(self.fail()),
            }
        }
        fn string(&mut self) -> Result<String, String> {
            self.i += 1; // opening quote
            let mut out: Vec<u8> = Vec::new();
            loop {
                let Some(&c) = self.b.get(self.i) else {
                    return Err(String::from("not enough input"));
                };
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let Some(&e) = self.b.get(self.i) else {
                            return Err(String::from("not enough input"));
                        };
                        self.i += 1;
                        let ch = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hex = self
                                    .b
                                    .get(self.i..self.i + 4)
                                    .and_then(|h| core::str::from_utf8(h).ok())
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                    .ok_or_else(|| {
                                        String::from("Failed reading: invalid escape")
                                    })?;
                                self.i += 4;
                                char::from_u32(hex).unwrap_or('\u{fffd}')
                            }
                            _ => return Err(String::from("Failed reading: invalid escape")),
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|_| String::from("Failed reading: invalid UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lenient() {
        assert_eq!(base64_decode_lenient("eyJpZCIgOiA0fQ=="), b"{\"id\" : 4}");
        assert_eq!(base64_decode_lenient("random"), [0xAD, 0xA9, 0xDD, 0xA2]);
    }

    #[test]
    fn json_errors() {
        let e = json::parse(&[0xAD, 0xA9]).unwrap_err();
        assert_eq!(
            e,
            "Failed reading: not a valid json value at '\u{ad}\u{a9}'"
        );
        assert!(json::is_one("1"));
        assert!(json::is_one("1.0"));
        assert_eq!(json::show_scientific("2"), "2.0");
        assert_eq!(json::show_scientific("1.5"), "1.5");
        assert_eq!(
            json::parse(b"[1, \"a\"]\n").unwrap(),
            json::Json::List(alloc::vec![
                json::Json::Number("1".into()),
                json::Json::String("a".into())
            ])
        );
    }
}
