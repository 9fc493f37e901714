//! Boolean expressions (`where` arguments and permission filters) → SQL conditions.
//! One interpreter for both, so a permission and a `where` can never mean different things.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::values::{self, article};
use super::{sql, sub, Ctx, Perm};
use crate::error::{Error, Result};
use crate::model::{ColumnId, FunctionReturn, PgType, RelKind, TableId};
use crate::plan::ParamSpec;
use crate::value::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A GraphQL `where`: only what the role may see, values are plain.
    User,
    /// A permission filter: everything visible, `X-Hasura-*` strings are session variables.
    Permission,
}

/// Where the expression is evaluated: the table, its SQL alias, and the root of the expression
/// (for `_ceq: ["$", "col"]`).
#[derive(Clone)]
pub struct Scope {
    pub table: TableId,
    pub alias: String,
    pub root_table: TableId,
    pub root_alias: String,
}

impl Scope {
    pub fn new(table: TableId, alias: &str) -> Self {
        Scope {
            table,
            alias: alias.to_owned(),
            root_table: table,
            root_alias: alias.to_owned(),
        }
    }
    fn nested(&self, table: TableId, alias: &str) -> Self {
        Scope {
            table,
            alias: alias.to_owned(),
            root_table: self.root_table,
            root_alias: self.root_alias.clone(),
        }
    }
}

/// Compiles a boolean expression; `None` means "no condition" (true).
pub fn compile(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    v: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    ctx.enter(path)?;
    let out = expression(ctx, scope, v, path, mode);
    ctx.leave();
    out
}

/// [`compile`] within its nesting bound.
fn expression(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    v: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let table = &ctx.schema.tables[scope.table];
    let type_name = format!("{}_bool_exp", table.gql_name);
    let fields = match ctx.resolve(v)? {
        Value::Object(f) => f,
        Value::Null => return Ok(None),
        other => {
            return Err(Error::validation(
                path,
                format!(
                    "expected an object for type '{}', but found {}",
                    type_name,
                    article(other.kind())
                ),
            ))
        }
    };
    let mut conds: Vec<String> = Vec::new();
    for (key, val) in &fields {
        let p = sub(path, key);
        let key = &op_name(key, mode);
        if let Some(c) = field(ctx, scope, key, val, &p, mode, &type_name)? {
            conds.push(c);
        }
    }
    Ok(and(conds))
}

/// Permissions may spell operators with `$` (`$or`, `$eq`); they mean the `_` ones.
fn op_name(key: &str, mode: Mode) -> String {
    match key.strip_prefix('$') {
        Some(rest) if mode == Mode::Permission => format!("_{}", rest),
        _ => String::from(key),
    }
}

pub fn and(conds: Vec<String>) -> Option<String> {
    match conds.len() {
        0 => None,
        1 => conds.into_iter().next(),
        _ => Some(format!("({})", conds.join(" AND "))),
    }
}

/// [`and`], with `true` for no condition (a `WHERE` that must say something).
pub fn and_or_true(conds: Vec<String>) -> String {
    and(conds).unwrap_or_else(|| String::from("true"))
}

/// The condition of a role's row filter over `t AS alias`: `None` for admin, for an empty
/// filter, or when `perm` is `None`.
pub fn permission_filter<'p>(
    ctx: &mut Ctx<'_>,
    perm: impl Into<Option<Perm<'p>>>,
    t: TableId,
    alias: &str,
) -> Result<Option<String>> {
    match perm.into().and_then(|p| p.filter()) {
        Some(f) => compile(ctx, &Scope::new(t, alias), f, "$", Mode::Permission),
        None => Ok(None),
    }
}

/// Join conditions from parent rows (table, alias, column mapping) to `target AS alias`.
pub type ParentJoin = Vec<(TableId, String, Vec<(ColumnId, ColumnId)>)>;

/// The [`join_conds`] of every parent in `join_on`, in order.
pub fn parent_join_conds(
    ctx: &Ctx<'_>,
    join_on: &ParentJoin,
    target: TableId,
    alias: &str,
) -> Vec<String> {
    let mut conds = Vec::new();
    for (pt, palias, mapping) in join_on {
        conds.extend(join_conds(
            ctx,
            &Scope::new(*pt, palias),
            target,
            alias,
            mapping,
        ));
    }
    conds
}

fn field(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    key: &str,
    val: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
) -> Result<Option<String>> {
    // A small dispatcher: the recursion `compile` → `field` → (`and_or` | `member` →
    // `relationship`) → `compile` keeps small frames per level of nesting, so the deepest
    // expression the parser or a variable allows fits a 1 MB stack (`core/tests/bounds.rs`).
    match key {
        "_and" | "_or" => and_or(ctx, scope, key == "_and", val, path, mode),
        "_not" => not(ctx, scope, val, path, mode),
        "_exists" if mode == Mode::Permission => exists(ctx, scope, val, path, mode),
        _ => member(ctx, scope, key, val, path, mode, type_name),
    }
}

/// `_and: [...]` / `_or: [...]` (a single object stands for a list of one).
#[inline(never)]
fn and_or(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    is_and: bool,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let items = values::list(ctx, val)?;
    let mut parts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{}[{}]", path, i);
        parts.push(compile(ctx, scope, item, &p, mode)?);
    }
    if is_and {
        return Ok(and(parts.into_iter().flatten().collect()));
    }
    // An empty `_or` is false; an `_or` with a true member is true.
    if parts.is_empty() {
        return Ok(Some(String::from("false")));
    }
    if parts.iter().any(|p| p.is_none()) {
        return Ok(None);
    }
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    Ok(Some(if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(" OR "))
    }))
}

/// `_not: {...}`.
#[inline(never)]
fn not(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    Ok(compile(ctx, scope, val, path, mode)?
        .map(|c| format!("(NOT {})", c))
        .or(Some(String::from("false"))))
}

/// `_exists: {_table, _where}` (permissions only).
fn exists(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let fields = values::object(ctx, val, "_exists", path)?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(tv) = get("_table") else {
        return Err(Error::validation(path, "_exists needs _table"));
    };
    let name = match &tv {
        Value::String(n) => crate::model::QualifiedName::new("public", n.clone()),
        Value::Object(_) => {
            let s = match tv.get("schema") {
                Some(Value::String(s)) => s.clone(),
                _ => String::from("public"),
            };
            let n = match tv.get("name") {
                Some(Value::String(n)) => n.clone(),
                _ => return Err(Error::validation(path, "_exists._table needs a name")),
            };
            crate::model::QualifiedName::new(s, n)
        }
        _ => return Err(Error::validation(path, "invalid _exists._table")),
    };
    let Some(t) = ctx.schema.table(&name) else {
        return Err(Error::validation(
            path,
            format!("table {} does not exist", name.name),
        ));
    };
    let alias = ctx.alias();
    let inner_scope = scope.nested(t, &alias);
    let w = get("_where").unwrap_or_default();
    let cond = compile(ctx, &inner_scope, &w, &sub(path, "_where"), mode)?;
    Ok(Some(format!(
        "EXISTS (SELECT 1 FROM {} AS {} WHERE {})",
        sql::qualified(&ctx.schema.tables[t].name),
        sql::ident(&alias),
        cond.unwrap_or_else(|| String::from("true"))
    )))
}

fn not_found(path: &str, name: &str, type_name: &str) -> Error {
    Error::validation(
        path,
        format!("field '{}' not found in type: '{}'", name, type_name),
    )
}

/// A column, relationship, aggregate predicate or computed field of the table.
fn member(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    key: &str,
    val: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
) -> Result<Option<String>> {
    let schema = ctx.schema;
    let table = &schema.tables[scope.table];
    let perm = if mode == Mode::User {
        ctx.perm(scope.table)
    } else {
        Some(super::Perm::Admin)
    };
    let Some(perm) = perm else {
        return Err(not_found(path, key, type_name));
    };
    // Permissions name columns as Postgres does; a `where` uses the GraphQL names.
    let column = match mode {
        Mode::User => table.column_by_gql(key),
        Mode::Permission => table.column(key).or_else(|| table.column_by_gql(key)),
    };
    if let Some(c) = column {
        if !perm.column(c) {
            return Err(not_found(path, key, type_name));
        }
        return column_member(ctx, scope, c, val, path, mode);
    }
    if let Some(rel) = table.relationship(key) {
        if mode == Mode::User && ctx.perm(rel.target).is_none() {
            return Err(not_found(path, key, type_name));
        }
        return relationship(ctx, scope, rel, val, path, mode);
    }
    other_member(ctx, scope, key, val, path, mode, type_name, perm)
}

/// `<column>: {<operators>}`.
#[inline(never)]
fn column_member(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    c: ColumnId,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let col = &ctx.schema.tables[scope.table].columns[c];
    let lhs = format!("{}.{}", sql::ident(&scope.alias), sql::ident(&col.name));
    column_ops(
        ctx,
        scope,
        &lhs,
        &col.pg_type,
        col.enum_table,
        Some(c),
        val,
        path,
        mode,
    )
}

/// `<relationship>: {<bool_exp of the target>}`: an `EXISTS` over the target, with the role's
/// filter on it.
#[inline(never)]
fn relationship(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    rel: &crate::model::Relationship,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let alias = ctx.alias();
    let mut conds = join_conds(ctx, scope, rel.target, &alias, &rel.mapping);
    if mode == Mode::User {
        let perm = ctx.perm(rel.target);
        conds.extend(permission_filter(ctx, perm, rel.target, &alias)?);
    }
    let inner = scope.nested(rel.target, &alias);
    if let Some(c) = compile(ctx, &inner, val, path, mode)? {
        conds.push(c);
    }
    Ok(Some(format!(
        "EXISTS (SELECT 1 FROM {} AS {} WHERE {})",
        sql::qualified(&ctx.schema.tables[rel.target].name),
        sql::ident(&alias),
        and_or_true(conds)
    )))
}

/// An aggregate predicate (`<array relationship>_aggregate`) or a computed field.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn other_member(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    key: &str,
    val: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
    perm: Perm<'_>,
) -> Result<Option<String>> {
    let schema = ctx.schema;
    let table = &schema.tables[scope.table];
    if let Some(rel_name) = ctx.rel_aggregate(scope.table, key) {
        if let Some(rel) = table
            .relationship(rel_name)
            .filter(|r| r.kind == RelKind::Array)
        {
            if mode == Mode::User && !ctx.perm(rel.target).is_some_and(|p| p.aggregations()) {
                return Err(not_found(path, key, type_name));
            }
            return aggregate_predicate(
                ctx,
                scope,
                rel.target,
                &rel.mapping.clone(),
                val,
                path,
                mode,
            );
        }
    }
    if let Some(cf) = table.computed_field(key) {
        if !perm.computed(key) {
            return Err(not_found(path, key, type_name));
        }
        let call = super::select::computed_call(ctx, scope.table, &scope.alias, cf, None, path)?;
        return match &cf.returns {
            FunctionReturn::Scalar(ty) => {
                column_ops(ctx, scope, &call, ty, None, None, val, path, mode)
            }
            FunctionReturn::Table { table: target, .. } => {
                let target = *target;
                let alias = ctx.alias();
                let mut conds = Vec::new();
                if mode == Mode::User {
                    let perm = ctx.perm(target);
                    conds.extend(permission_filter(ctx, perm, target, &alias)?);
                }
                let inner = scope.nested(target, &alias);
                if let Some(c) = compile(ctx, &inner, val, path, mode)? {
                    conds.push(c);
                }
                Ok(Some(format!(
                    "EXISTS (SELECT 1 FROM {} AS {} WHERE {})",
                    call,
                    sql::ident(&alias),
                    and_or_true(conds)
                )))
            }
        };
    }
    Err(not_found(path, key, type_name))
}

/// `child.col = parent.col AND ...` for a relationship mapping.
pub fn join_conds(
    ctx: &Ctx<'_>,
    parent: &Scope,
    target: TableId,
    alias: &str,
    mapping: &[(ColumnId, ColumnId)],
) -> Vec<String> {
    let pt = &ctx.schema.tables[parent.table];
    let tt = &ctx.schema.tables[target];
    mapping
        .iter()
        .map(|(a, b)| {
            format!(
                "{}.{} = {}.{}",
                sql::ident(alias),
                sql::ident(&tt.columns[*b].name),
                sql::ident(&parent.alias),
                sql::ident(&pt.columns[*a].name)
            )
        })
        .collect()
}

/// `<rel>_aggregate: {count: {arguments, distinct, filter, predicate}}` and `bool_and`/`bool_or`.
fn aggregate_predicate(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    target: TableId,
    mapping: &[(ColumnId, ColumnId)],
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let fields = values::object(ctx, val, "aggregate_bool_exp", path)?;
    let mut conds = Vec::new();
    for (func, spec) in &fields {
        let p = sub(path, func);
        let spec_fields = values::object(ctx, spec, func, &p)?;
        let get = |k: &str| {
            spec_fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let alias = ctx.alias();
        let tt = &ctx.schema.tables[target];
        let arg_cols: Vec<String> = match get("arguments") {
            None | Some(Value::Null) => Vec::new(),
            Some(a) => {
                let items = values::list(ctx, &a)?;
                let mut out = Vec::new();
                for item in items {
                    let name = match item {
                        Value::Enum(s) | Value::String(s) => s,
                        _ => return Err(Error::validation(&p, "invalid aggregate arguments")),
                    };
                    let Some(c) = tt.column_by_gql(&name) else {
                        return Err(Error::validation(&p, format!("column {} not found", name)));
                    };
                    out.push(format!(
                        "{}.{}",
                        sql::ident(&alias),
                        sql::ident(&tt.columns[c].name)
                    ));
                }
                out
            }
        };
        let distinct = matches!(get("distinct"), Some(Value::Boolean(true)));
        let agg = match func.as_str() {
            "count" => {
                if arg_cols.is_empty() {
                    String::from("count(*)")
                } else if distinct {
                    format!("count(DISTINCT ({}))", arg_cols.join(", "))
                } else {
                    format!("count(({}))", arg_cols.join(", "))
                }
            }
            "bool_and" | "bool_or" => {
                let Some(c) = arg_cols.first() else {
                    return Err(Error::validation(&p, "missing arguments"));
                };
                format!("{}({})", func, c)
            }
            other => return Err(not_found(&p, other, "aggregate_bool_exp")),
        };
        let mut where_conds = join_conds(ctx, scope, target, &alias, mapping);
        if mode == Mode::User {
            let perm = ctx.perm(target);
            where_conds.extend(permission_filter(ctx, perm, target, &alias)?);
        }
        if let Some(f) = get("filter") {
            let inner = scope.nested(target, &alias);
            if let Some(c) = compile(ctx, &inner, &f, &sub(&p, "filter"), mode)? {
                where_conds.push(c);
            }
        }
        let sub_sql = format!(
            "(SELECT {} FROM {} AS {} WHERE {})",
            agg,
            sql::qualified(&ctx.schema.tables[target].name),
            sql::ident(&alias),
            and_or_true(where_conds)
        );
        let ty = if func == "count" {
            PgType::scalar("int4")
        } else {
            PgType::scalar("bool")
        };
        let Some(pred) = get("predicate") else {
            return Err(Error::validation(&p, "missing predicate"));
        };
        if let Some(c) = column_ops(
            ctx,
            scope,
            &sub_sql,
            &ty,
            None,
            None,
            &pred,
            &sub(&p, "predicate"),
            mode,
        )? {
            conds.push(c);
        }
    }
    Ok(and(conds))
}

/// Comparison operators on one column (or expression) of type `ty`.
#[allow(clippy::too_many_arguments)]
pub fn column_ops(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    lhs: &str,
    ty: &PgType,
    enum_table: Option<TableId>,
    column: Option<ColumnId>,
    val: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let type_name = match enum_table {
        Some(t) => format!("{}_enum_comparison_exp", ctx.schema.tables[t].gql_name),
        None => format!("{}_comparison_exp", ty.gql_scalar()),
    };
    let _ = column;
    // Hasura's shorthand `{col: value}` means `{col: {_eq: value}}` (permissions mostly use it).
    let fields = match val {
        Value::Object(_) | Value::Variable(_) => values::object(ctx, val, &type_name, path)?,
        other => alloc::vec![(String::from("_eq"), other.clone())],
    };
    let mut conds = Vec::new();
    for (op, v) in &fields {
        let p = sub(path, op);
        let op = &match mode {
            // `graphql-default`: `_isNull` is `_is_null`.
            Mode::User => match ctx.canon(scope.table, op) {
                c if c.is_empty() => return Err(not_found(&p, op, &type_name)),
                c => c.into_owned(),
            },
            _ => op_name(op, mode),
        };
        if let Some(c) = op_cond(ctx, scope, lhs, ty, enum_table, op, v, &p, mode, &type_name)? {
            conds.push(c);
        }
    }
    Ok(and(conds))
}

/// A value in a permission may be a session variable reference.
fn session_ref(v: &Value, mode: Mode) -> Option<String> {
    match v {
        Value::String(s)
            if mode == Mode::Permission
                && s.len() > 9
                && s.get(..9)
                    .is_some_and(|p| p.eq_ignore_ascii_case("x-hasura-")) =>
        {
            Some(s.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// `v` as a typed SQL value (parameter), honouring session variables in permissions.
fn rhs(
    ctx: &mut Ctx<'_>,
    v: &Value,
    ty: &PgType,
    enum_table: Option<TableId>,
    path: &str,
    mode: Mode,
) -> Result<String> {
    if let Some(var) = session_ref(v, mode) {
        let p = ctx.param(ParamSpec::Session(var));
        if ty.is_geo() {
            return Ok(format!("ST_GeomFromGeoJSON({}::text)", p));
        }
        return Ok(format!("{}::{}", p, sql::type_name(ty)));
    }
    values::typed(ctx, v, ty, user_enum(enum_table, mode), path)
}

fn rhs_array(
    ctx: &mut Ctx<'_>,
    v: &Value,
    ty: &PgType,
    enum_table: Option<TableId>,
    path: &str,
    mode: Mode,
) -> Result<String> {
    if let Some(var) = session_ref(v, mode) {
        // A session variable holding a Postgres array literal (`{1,2}`) or a JSON array.
        let p = ctx.param(ParamSpec::Session(var));
        return Ok(format!("{}::{}", p, sql::array_type_name(ty)));
    }
    values::typed_array(ctx, v, ty, user_enum(enum_table, mode), path)
}

/// The enum table whose GraphQL values a `where` compares with; a permission (metadata JSON)
/// holds the rows' values as strings, as Hasura reads them.
fn user_enum(enum_table: Option<TableId>, mode: Mode) -> Option<TableId> {
    enum_table.filter(|_| mode == Mode::User)
}

#[allow(clippy::too_many_arguments)]
fn op_cond(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    lhs: &str,
    ty: &PgType,
    enum_table: Option<TableId>,
    op: &str,
    v: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
) -> Result<Option<String>> {
    // A null operand (literal, or a variable that is null now) is Hasura v2's error in a
    // `where`; "no condition" in permissions and with `null_collapse` (Hasura v1).
    let resolved_is_null = match v {
        Value::Null => true,
        Value::Variable(n) => {
            let cur = ctx.variable(n)?;
            if cur.is_null() {
                ctx.shaping.push(n.clone());
                true
            } else {
                false
            }
        }
        _ => false,
    };
    if resolved_is_null && op != "_is_null" {
        if mode == Mode::User && !ctx.opts.null_collapse {
            let scalar = crate::introspection::scalars::scalar_name(&ty.udt);
            let expected = match op {
                "_in" | "_nin" => format!("[{}!]", scalar),
                _ => scalar.into(),
            };
            return Err(Error::validation(
                path,
                format!("unexpected null value for type '{}'", expected),
            ));
        }
        return Ok(None);
    }
    let binop = |sym: &str, ctx: &mut Ctx<'_>| -> Result<Option<String>> {
        let r = rhs(ctx, v, ty, enum_table, path, mode)?;
        Ok(Some(format!("({} {} {})", lhs, sym, r)))
    };
    let text = PgType::scalar("text");
    // `ty` with another type name (same array-ness), for the ltree query operators.
    let with_udt = |udt: &str| PgType {
        udt: udt.into(),
        ..ty.clone()
    };
    let is_text = matches!(
        ty.udt.as_str(),
        "text" | "varchar" | "bpchar" | "citext" | "name"
    );
    match op {
        "_eq" => binop("=", ctx),
        "_neq" => binop("<>", ctx),
        "_gt" => binop(">", ctx),
        "_lt" => binop("<", ctx),
        "_gte" => binop(">=", ctx),
        "_lte" => binop("<=", ctx),
        "_in" | "_nin" => {
            let r = rhs_array(ctx, v, ty, enum_table, path, mode)?;
            Ok(Some(if op == "_in" {
                format!("({} = ANY({}))", lhs, r)
            } else {
                format!("({} <> ALL({}))", lhs, r)
            }))
        }
        "_is_null" => {
            let b = match ctx.resolve(v)? {
                Value::Boolean(b) => b,
                Value::Null => return Ok(None),
                other => {
                    return Err(Error::validation(
                        path,
                        format!(
                            "expected a boolean for type 'Boolean', but found {}",
                            article(other.kind())
                        ),
                    ))
                }
            };
            Ok(Some(format!(
                "({} IS {}NULL)",
                lhs,
                if b { "" } else { "NOT " }
            )))
        }
        "_like" | "_nlike" | "_ilike" | "_nilike" | "_similar" | "_nsimilar" | "_regex"
        | "_iregex" | "_nregex" | "_niregex"
            if is_text =>
        {
            let sym = match op {
                "_like" => "LIKE",
                "_nlike" => "NOT LIKE",
                "_ilike" => "ILIKE",
                "_nilike" => "NOT ILIKE",
                "_similar" => "SIMILAR TO",
                "_nsimilar" => "NOT SIMILAR TO",
                "_regex" => "~",
                "_iregex" => "~*",
                "_nregex" => "!~",
                _ => "!~*",
            };
            binop(sym, ctx)
        }
        "_contains" | "_contained_in" if ty.udt == "jsonb" => {
            binop(if op == "_contains" { "@>" } else { "<@" }, ctx)
        }
        "_has_key" if ty.udt == "jsonb" => {
            let r = rhs(ctx, v, &text, None, path, mode)?;
            Ok(Some(format!("({} ? {})", lhs, r)))
        }
        "_has_keys_any" | "_has_keys_all" if ty.udt == "jsonb" => {
            let r = rhs_array(ctx, v, &text, None, path, mode)?;
            Ok(Some(format!(
                "({} {} {})",
                lhs,
                if op == "_has_keys_any" { "?|" } else { "?&" },
                r
            )))
        }
        "_ancestor" | "_descendant" if ty.udt == "ltree" => {
            binop(if op == "_ancestor" { "@>" } else { "<@" }, ctx)
        }
        "_ancestor_any" | "_descendant_any" if ty.udt == "ltree" => {
            let r = rhs_array(ctx, v, ty, None, path, mode)?;
            Ok(Some(format!(
                "({} {} {})",
                lhs,
                if op == "_ancestor_any" { "@>" } else { "<@" },
                r
            )))
        }
        "_matches" if ty.udt == "ltree" => {
            let r = rhs(ctx, v, &with_udt("lquery"), None, path, mode)?;
            Ok(Some(format!("({} ~ {})", lhs, r)))
        }
        "_matches_any" if ty.udt == "ltree" => {
            let r = rhs_array(ctx, v, &with_udt("lquery"), None, path, mode)?;
            Ok(Some(format!("({} ? {})", lhs, r)))
        }
        "_matches_fulltext" if ty.udt == "ltree" => {
            let r = rhs(ctx, v, &with_udt("ltxtquery"), None, path, mode)?;
            Ok(Some(format!("({} @ {})", lhs, r)))
        }
        "_cast" => cast(ctx, scope, lhs, ty, v, path, mode),
        "_ceq" | "_cne" | "_cgt" | "_clt" | "_cgte" | "_clte" => {
            let other = column_ref(ctx, scope, v, path)?;
            let sym = match op {
                "_ceq" => "=",
                "_cne" => "<>",
                "_cgt" => ">",
                "_clt" => "<",
                "_cgte" => ">=",
                _ => "<=",
            };
            Ok(Some(format!("({} {} {})", lhs, sym, other)))
        }
        _ if ty.is_geo() => geo_op(ctx, lhs, ty, op, v, path, mode, type_name),
        _ if ty.udt == "raster" => raster_op(ctx, lhs, ty, op, v, path, mode, type_name),
        _ => Err(not_found(path, op, type_name)),
    }
}

/// `_cast: {geometry: {...}}` and friends.
fn cast(
    ctx: &mut Ctx<'_>,
    scope: &Scope,
    lhs: &str,
    ty: &PgType,
    v: &Value,
    path: &str,
    mode: Mode,
) -> Result<Option<String>> {
    let type_name = format!("{}_cast_exp", ty.gql_scalar());
    let fields = values::object(ctx, v, &type_name, path)?;
    let mut conds = Vec::new();
    for (target, ops) in &fields {
        let p = sub(path, target);
        let (new_ty, expr) = match (ty.udt.as_str(), target.as_str()) {
            ("geography", "geometry") => (
                PgType {
                    udt: "geometry".into(),
                    ..ty.clone()
                },
                format!("({})::geometry", lhs),
            ),
            ("geometry", "geography") => (
                PgType {
                    udt: "geography".into(),
                    ..ty.clone()
                },
                format!("({})::geography", lhs),
            ),
            ("jsonb", "String") => (PgType::scalar("text"), format!("({})::text", lhs)),
            _ => return Err(not_found(&p, target, &type_name)),
        };
        if let Some(c) = column_ops(ctx, scope, &expr, &new_ty, None, None, ops, &p, mode)? {
            conds.push(c);
        }
    }
    Ok(and(conds))
}

/// The other side of `_ceq`: a column name of this table, or `["$", "col"]` of the root table.
fn column_ref(ctx: &mut Ctx<'_>, scope: &Scope, v: &Value, path: &str) -> Result<String> {
    let v = ctx.resolve(v)?;
    let (table, alias, name) = match &v {
        Value::String(s) | Value::Enum(s) => (scope.table, scope.alias.clone(), s.clone()),
        Value::List(items) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            match names.as_slice() {
                [d, c] if d == "$" => (scope.root_table, scope.root_alias.clone(), c.clone()),
                [c] => (scope.table, scope.alias.clone(), c.clone()),
                _ => return Err(Error::validation(path, "invalid column reference")),
            }
        }
        _ => return Err(Error::validation(path, "invalid column reference")),
    };
    let t = &ctx.schema.tables[table];
    let Some(c) = t.column_by_gql(&name).or_else(|| t.column(&name)) else {
        return Err(Error::validation(
            path,
            format!("column \"{}\" does not exist", name),
        ));
    };
    Ok(format!(
        "{}.{}",
        sql::ident(&alias),
        sql::ident(&t.columns[c].name)
    ))
}

/// PostGIS raster operators.
#[allow(clippy::too_many_arguments)]
fn raster_op(
    ctx: &mut Ctx<'_>,
    lhs: &str,
    ty: &PgType,
    op: &str,
    v: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
) -> Result<Option<String>> {
    let geometry = PgType {
        udt: "geometry".into(),
        ..ty.clone()
    };
    match op {
        "_st_intersects_rast" => {
            let r = rhs(ctx, v, ty, None, path, mode)?;
            Ok(Some(format!("ST_Intersects({}, {})", lhs, r)))
        }
        "_st_intersects_geom_nband" | "_st_intersects_nband_geom" => {
            let fields = values::object(ctx, v, "st_intersects_geom_nband_input", path)?;
            let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let Some(geom) = get("geommin") else {
                return Err(Error::validation(path, "expected geommin"));
            };
            let g = rhs(ctx, &geom, &geometry, None, &sub(path, "geommin"), mode)?;
            let nband = match get("nband") {
                Some(n) if !n.is_null() => Some(values::typed(
                    ctx,
                    &n,
                    &PgType::scalar("int4"),
                    None,
                    &sub(path, "nband"),
                )?),
                _ => None,
            };
            Ok(Some(match (op, nband) {
                ("_st_intersects_geom_nband", Some(n)) => {
                    format!("ST_Intersects({}, {}, {})", lhs, g, n)
                }
                ("_st_intersects_nband_geom", Some(n)) => {
                    format!("ST_Intersects({}, {}, {})", lhs, n, g)
                }
                _ => format!("ST_Intersects({}, {})", lhs, g),
            }))
        }
        _ => Err(not_found(path, op, type_name)),
    }
}

#[allow(clippy::too_many_arguments)]
fn geo_op(
    ctx: &mut Ctx<'_>,
    lhs: &str,
    ty: &PgType,
    op: &str,
    v: &Value,
    path: &str,
    mode: Mode,
    type_name: &str,
) -> Result<Option<String>> {
    let func = match op {
        "_st_contains" => "ST_Contains",
        "_st_crosses" => "ST_Crosses",
        "_st_equals" => "ST_Equals",
        "_st_intersects" => "ST_Intersects",
        "_st_overlaps" => "ST_Overlaps",
        "_st_touches" => "ST_Touches",
        "_st_within" => "ST_Within",
        "_st_3d_intersects" => "ST_3DIntersects",
        "_st_d_within" | "_st_3d_d_within" => {
            let fields = values::object(ctx, v, "st_d_within_input", path)?;
            let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let (Some(dist), Some(from)) = (get("distance"), get("from")) else {
                return Err(Error::validation(path, "expected distance and from"));
            };
            let from_sql = rhs(ctx, &from, ty, None, &sub(path, "from"), mode)?;
            // Every argument may be a session variable in a permission, like `from`.
            let dist_sql = rhs(
                ctx,
                &dist,
                &PgType::scalar("float8"),
                None,
                &sub(path, "distance"),
                mode,
            )?;
            let func = if op == "_st_d_within" {
                "ST_DWithin"
            } else {
                "ST_3DDWithin"
            };
            let spheroid = match get("use_spheroid") {
                Some(s) if ty.udt == "geography" => {
                    format!(
                        ", {}",
                        rhs(
                            ctx,
                            &s,
                            &PgType::scalar("bool"),
                            None,
                            &sub(path, "use_spheroid"),
                            mode
                        )?
                    )
                }
                _ => String::new(),
            };
            return Ok(Some(format!(
                "{}({}, {}, {}{})",
                func, lhs, from_sql, dist_sql, spheroid
            )));
        }
        _ => return Err(not_found(path, op, type_name)),
    };
    let r = rhs(ctx, v, ty, None, path, mode)?;
    Ok(Some(format!("{}({}, {})", func, lhs, r)))
}
