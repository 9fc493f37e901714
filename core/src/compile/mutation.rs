//! Mutations: `insert_<t>`, `insert_<t>_one` (with nested object/array relationship inserts and
//! `on_conflict`), `update_<t>`, `update_<t>_by_pk`, `update_<t>_many`, `delete_<t>`,
//! `delete_<t>_by_pk` and tracked volatile functions exposed as mutations.
//!
//! A mutation plan is a short list of statements sent at once in one transaction (no
//! interactive round trip, see [`crate::plan::Step`]):
//! - one *modification step* per mutation (per entry of `update_<t>_many`): a chain of
//!   data-modifying CTEs (`INSERT … RETURNING *`), then
//!   `SELECT <checks>, set_config('graphedge.mN', {"affected_rows": n, "rows": [...]}, true)`.
//!   Permission checks are evaluated on the modified rows in SQL; a failing one calls
//!   `graphedge.check_violation(path)` (see [`CATALOG_SQL`]), which raises and aborts everything;
//! - the final statement builds the `data` object: each field's `returning` is read back with
//!   `json_populate_recordset(NULL::table, …)` from its setting, in a later statement, so
//!   relationships in `returning` see every row the request inserted.
//!
//! Values are bind parameters (through [`values::typed`]); the rows of `returning` show the
//! columns and relationships the role's select permission allows (Hasura does not filter the
//! mutated rows themselves by the select filter).
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::boolexp::{self, Mode, Scope};
use super::normalize::{self, Merged};
use super::select::{self, Source};
use super::values;
use super::{sql, sub, Ctx};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    ColumnId, ExposedAs, FunctionReturn, InsertPermission, Permissions, RelKind, Table, TableId,
    UpdatePermission,
};
use crate::parse::ast::Selection;
use crate::plan::{ParamSpec, Plan, PlanKind, Slot, Step};
use crate::value::Value;

/// DDL of the catalog function that aborts a mutation whose permission check failed. Run it
/// when the catalog schema `graphedge` is created. The JSON path of the failing field is in the
/// error's HINT.
pub const CATALOG_SQL: &str = "CREATE SCHEMA IF NOT EXISTS graphedge;
CREATE OR REPLACE FUNCTION graphedge.check_violation(path text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001',
    MESSAGE = 'check constraint of an insert/update permission has failed',
    HINT = path;
END;
$$;
";

/// What one modification step produced: its CTEs, which of them hold the field's own rows,
/// every CTE that counts towards `affected_rows`, and the checks.
#[derive(Default)]
struct Modification {
    ctes: Vec<(String, String)>,
    /// CTEs whose rows are the field's `returning` rows (in order).
    top: Vec<String>,
    /// CTEs counted in `affected_rows`.
    counted: Vec<String>,
    /// Boolean SQL expressions that are true when a check failed.
    failures: Vec<String>,
    /// JSON path reported when a check fails.
    check_path: String,
    /// Insert CTEs by table (for insert checks), and whether they upsert (then their rows
    /// have `graphedge_inserted`: false for rows updated on conflict).
    ins_tables: Vec<(TableId, String, bool)>,
    /// Every insert CTE's table.
    cte_tables: Vec<(String, TableId)>,
}

/// The shape of a mutation field's result.
enum Output {
    /// `{affected_rows, returning}`.
    Response,
    /// One row or null (`insert_<t>_one`, `_by_pk`).
    One,
}

/// Whether the role's schema has a `mutation_root` at all.
fn role_has_mutations(ctx: &Ctx<'_>) -> bool {
    let schema = ctx.schema;
    let functions = schema.functions.iter().any(|func| {
        func.exposed_as == ExposedAs::Mutation
            && match func.returns {
                FunctionReturn::Table { table, .. } => {
                    select::function_allowed(ctx, func, table) && ctx.perm(table).is_some()
                }
                FunctionReturn::Scalar(_) => false,
            }
    });
    if functions {
        return true;
    }
    if ctx.is_admin() {
        return !schema.tables.is_empty();
    }
    schema.tables.iter().any(|t| {
        t.permissions
            .get(&ctx.session.role)
            .is_some_and(|p| p.insert.is_some() || p.update.is_some() || p.delete.is_some())
    })
}

pub fn compile<'a>(ctx: &mut Ctx<'a>, set: &'a [Selection]) -> Result<Plan> {
    let mutation_actions = super::action::any_for_role(ctx, crate::actions::ActionRoot::Mutation)
        || super::remote::has_root(ctx, "mutation");
    if !role_has_mutations(ctx) && !mutation_actions {
        return Err(crate::error::Error::validation("$", "no mutations exist"));
    }
    let sets = [set];
    let fields = normalize::collect(ctx, &sets, "mutation_root")?;
    let mut sources = super::field_sources(ctx.schema, &fields, ctx.opts);
    let called: Vec<Option<&crate::actions::Action>> = fields
        .iter()
        .map(|f| super::action::action_of(ctx, f.name(), crate::actions::ActionRoot::Mutation))
        .collect();
    let remote: Vec<Option<(usize, crate::remote_schemas::RemoteRoot<'_>)>> = fields
        .iter()
        .zip(&called)
        .map(|(f, a)| match a {
            Some(_) => None,
            None => super::remote::remote_of(ctx, f.name(), "mutation"),
        })
        .collect();
    let has_actions = called.iter().any(Option::is_some) || remote.iter().any(Option::is_some);
    if has_actions
        && sources.is_empty()
        && fields
            .iter()
            .enumerate()
            .any(|(i, f)| called[i].is_none() && remote[i].is_none() && f.name() != "__typename")
    {
        // One source: its fields are one part beside the actions.
        sources.push(0);
    }
    if (sources.len() < 2 && !has_actions) || ctx.rql {
        let mut plan = compile_fields(ctx, &fields, false)?;
        plan.source = if ctx.rql {
            // A data operation: the source its `source` argument names.
            ctx.scope.unwrap_or(0)
        } else {
            sources.first().copied().unwrap_or(0)
        };
        return Ok(plan);
    }
    // Fields of several sources: one transaction per source, in the order the sources first
    // appear; `__typename` is known.
    let mut slots: Vec<(String, Slot)> = fields
        .iter()
        .map(|f| {
            (
                f.key().to_owned(),
                Slot::Static(String::from("\"mutation_root\"")),
            )
        })
        .collect();
    let mut parts = Vec::new();
    let mut actions = Vec::new();
    let mut remotes = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let path = super::sub("$.selectionSet", f.key());
        if let Some(a) = called[i] {
            actions.push(super::action::call(ctx, a, f, &path)?);
            slots[i].1 = Slot::Action(actions.len() - 1);
        } else if let Some((r, field)) = remote[i] {
            remotes.push(super::remote::call(ctx, r, field, f, &path, "mutation")?);
            slots[i].1 = Slot::Remote(remotes.len() - 1);
        }
    }
    for &s in &sources {
        let mut mine = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if f.name() == "__typename"
                || called[i].is_some()
                || remote[i].is_some()
                || ctx.schema.root_source(f.name()).unwrap_or(sources[0]) != s
            {
                continue;
            }
            slots[i].1 = Slot::Part(parts.len(), mine.len());
            mine.push(f.clone());
        }
        ctx.calls_functions = false;
        let mut plan = compile_fields(ctx, &mine, true)?;
        plan.source = s;
        parts.push(plan);
    }
    Ok(Plan::without_sql(
        PlanKind::Sources {
            parts,
            slots,
            actions,
            remotes,
        },
        core::mem::take(&mut ctx.shaping),
        Vec::new(),
    ))
}

/// The plan of `fields` (of one source); `array`: the statement returns the fields' values
/// as a JSON array (a part of a [`PlanKind::Sources`] plan) instead of the `data` object.
fn compile_fields<'a>(ctx: &mut Ctx<'a>, fields: &[Merged<'a>], array: bool) -> Result<Plan> {
    let mut steps: Vec<Step> = Vec::new();
    // (key, output builder) evaluated in the final statement.
    let mut outputs: Vec<(String, FieldOut<'a>)> = Vec::new();
    let mut n = 0usize;
    for f in fields {
        let path = field_path(ctx, f.key());
        if f.name() == "__typename" {
            outputs.push((f.key().to_owned(), FieldOut::Typename));
            continue;
        }
        let out = field(ctx, f, &path, &mut steps, &mut n)?;
        outputs.push((f.key().to_owned(), out));
    }
    if steps.is_empty() && outputs.iter().all(|(_, o)| matches!(o, FieldOut::Typename)) {
        let mut json = String::from("{");
        for (i, (k, _)) in outputs.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            crate::encode::write_json_string(&mut json, k);
            json.push_str(":\"mutation_root\"");
        }
        json.push('}');
        return Ok(Plan::without_sql(
            PlanKind::Static(json),
            core::mem::take(&mut ctx.shaping),
            Vec::new(),
        ));
    }
    ctx.params.clear();
    let mut pairs = Vec::new();
    for (key, out) in &outputs {
        let path = field_path(ctx, key);
        let expr = out.sql(ctx, &path)?;
        pairs.push((key.clone(), expr));
    }
    let sql = match pairs.as_slice() {
        // A data operation of `/v1/query`: its one field is the answer.
        [(_, expr)] if ctx.rql => format!("SELECT {} AS \"data\"", expr),
        _ if array => {
            let exprs: Vec<&str> = pairs.iter().map(|(_, e)| e.as_str()).collect();
            format!("SELECT json_build_array({}) AS \"data\"", exprs.join(", "))
        }
        _ => format!("SELECT {} AS \"data\"", sql::json_object(&pairs)),
    };
    if !ctx.remote_joins.is_empty() && (array || ctx.rql) {
        return Err(Error::new(
            ErrorCode::NotSupported,
            "$",
            "remote relationships are not supported in a mutation's answer",
        ));
    }
    Ok(Plan {
        kind: PlanKind::Mutation,
        source: 0,
        sql,
        params: core::mem::take(&mut ctx.params),
        shaping_variables: if array {
            Vec::new()
        } else {
            core::mem::take(&mut ctx.shaping)
        },
        variable_types: Vec::new(),
        steps,
        calls_functions: ctx.calls_functions,
        cached: None,
        // Answered once the mutation committed (see `crate::RemoteJoin`).
        remote_joins: core::mem::take(&mut ctx.remote_joins),
    })
}

/// The JSON path of a root field (`$` for a `/v1/query` data operation).
fn field_path(ctx: &Ctx<'_>, key: &str) -> String {
    if ctx.rql {
        String::from("$")
    } else {
        sub("$.selectionSet", key)
    }
}

/// How the final statement renders one root field.
/// Adds the modification as a step; the field answers one row (`_one`, `_by_pk`) or the
/// `{affected_rows, returning}` response.
fn table_field<'a>(
    ctx: &mut Ctx<'a>,
    steps: &mut Vec<Step>,
    n: &mut usize,
    m: Modification,
    f: &Merged<'a>,
    t: TableId,
    one: bool,
) -> Result<FieldOut<'a>> {
    let guc = push_step(ctx, steps, n, m, |_| {})?;
    let output = if one { Output::One } else { Output::Response };
    Ok(FieldOut::Table {
        f: f.clone(),
        t,
        guc,
        output,
    })
}

enum FieldOut<'a> {
    Typename,
    /// A namespaced source's field: its type name and its fields.
    Namespace(String, Vec<(String, FieldOut<'a>)>),
    Table {
        f: Merged<'a>,
        t: TableId,
        guc: String,
        output: Output,
    },
    Many {
        f: Merged<'a>,
        t: TableId,
        gucs: Vec<String>,
    },
    Function {
        f: Merged<'a>,
        t: TableId,
        guc: String,
        set: bool,
    },
}

impl<'a> FieldOut<'a> {
    fn sql(&self, ctx: &mut Ctx<'a>, path: &str) -> Result<String> {
        match self {
            FieldOut::Typename => Ok(format!("{}::json", sql::literal("\"mutation_root\""))),
            FieldOut::Namespace(ty, fields) => {
                let mut pairs = Vec::new();
                for (key, out) in fields {
                    let expr = match out {
                        FieldOut::Typename => format!("{}::text", sql::literal(ty)),
                        out => out.sql(ctx, &sub(&sub(path, "selectionSet"), key))?,
                    };
                    pairs.push((key.clone(), expr));
                }
                Ok(sql::json_object(&pairs))
            }
            FieldOut::Table { f, t, guc, output } => match output {
                Output::Response => response(ctx, f, *t, guc, path),
                Output::One => one_row(ctx, f, *t, guc, path),
            },
            FieldOut::Many { f, t, gucs } => {
                let mut items = Vec::new();
                for g in gucs {
                    items.push(response(ctx, f, *t, g, path)?);
                }
                if items.is_empty() {
                    return Ok(String::from("'[]'::json"));
                }
                Ok(format!("json_build_array({})", items.join(", ")))
            }
            FieldOut::Function { f, t, guc, set } => {
                let src = Source::Call(populate(ctx, *t, guc), *t);
                let shape = if *set {
                    select::Shape::Many
                } else {
                    select::Shape::One
                };
                select::rows(ctx, src, f, path, Vec::new(), shape)
            }
        }
    }
}

/// `json_populate_recordset(NULL::tbl, current_setting(guc)::json->'rows')`.
fn populate(ctx: &Ctx<'_>, t: TableId, guc: &str) -> String {
    format!(
        "json_populate_recordset(NULL::{}, current_setting({})::json->'rows')",
        sql::qualified(&ctx.schema.tables[t].name),
        sql::literal(guc)
    )
}

/// `{affected_rows, returning, __typename}` of `<t>_mutation_response`.
fn response<'a>(
    ctx: &mut Ctx<'a>,
    f: &Merged<'a>,
    t: TableId,
    guc: &str,
    path: &str,
) -> Result<String> {
    let type_name = ctx.type_name(
        t,
        format!("{}_mutation_response", ctx.schema.tables[t].gql_name),
    );
    let fields = normalize::collect(ctx, &f.selection_sets(), &type_name)?;
    let mut pairs = Vec::new();
    for g in &fields {
        let p = sub(&sub(path, "selectionSet"), g.key());
        let expr = match ctx.canon(t, g.name()).as_ref() {
            "__typename" => format!("{}::text", sql::literal(&type_name)),
            "affected_rows" => format!(
                "(current_setting({})::json->'affected_rows')",
                sql::literal(guc)
            ),
            "returning" if ctx.perm(t).is_some() => {
                let Some(perm) = ctx.perm(t) else {
                    return Err(select::not_found(&p, "returning", &type_name));
                };
                let alias = ctx.alias();
                let obj = select::row_json(ctx, t, &alias, perm, &g.selection_sets(), &p)?;
                format!(
                    "(SELECT coalesce(json_agg({}), '[]'::json) FROM {} AS {})",
                    obj,
                    populate(ctx, t, guc),
                    sql::ident(&alias)
                )
            }
            _ => return Err(select::not_found(&p, g.name(), &type_name)),
        };
        pairs.push((g.key().to_owned(), expr));
    }
    Ok(sql::json_object(&pairs))
}

/// The first mutated row as the table's object (or null).
fn one_row<'a>(
    ctx: &mut Ctx<'a>,
    f: &Merged<'a>,
    t: TableId,
    guc: &str,
    path: &str,
) -> Result<String> {
    let Some(perm) = ctx.perm(t) else {
        return Err(select::not_found(path, f.name(), "mutation_root"));
    };
    let alias = ctx.alias();
    let obj = select::row_json(ctx, t, &alias, perm, &f.selection_sets(), path)?;
    Ok(format!(
        "(SELECT {} FROM {} AS {} LIMIT 1)",
        obj,
        populate(ctx, t, guc),
        sql::ident(&alias)
    ))
}

fn backend_only_allowed(ctx: &Ctx<'_>) -> bool {
    ctx.session
        .var("x-hasura-use-backend-only-permissions")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The role's permission of one kind on `t`, picked by `get`: `Some(None)` for admin
/// (everything allowed), `None` when there is none or it is backend-only and the request may not
/// use backend-only permissions.
fn role_perm<'a, P>(
    ctx: &Ctx<'a>,
    t: TableId,
    get: impl FnOnce(&'a Permissions) -> Option<&'a P>,
    backend_only: impl FnOnce(&P) -> bool,
) -> Option<Option<&'a P>> {
    if ctx.is_admin() {
        return Some(None);
    }
    let schema: &'a crate::model::Schema = ctx.schema;
    let p = get(schema.tables[t].permissions.get(&ctx.session.role)?)?;
    if backend_only(p) && !backend_only_allowed(ctx) {
        return None;
    }
    Some(Some(p))
}

/// The role's insert permission (`None`: admin, everything allowed).
fn insert_perm<'a>(ctx: &Ctx<'a>, t: TableId) -> Option<Option<&'a InsertPermission>> {
    role_perm(ctx, t, |p| p.insert.as_ref(), |p| p.backend_only)
}

fn update_perm<'a>(ctx: &Ctx<'a>, t: TableId) -> Option<Option<&'a UpdatePermission>> {
    role_perm(ctx, t, |p| p.update.as_ref(), |p| p.backend_only)
}

fn delete_perm<'a>(ctx: &Ctx<'a>, t: TableId) -> Option<Option<&'a Value>> {
    role_perm(ctx, t, |p| p.delete.as_ref(), |p| p.backend_only).map(|p| p.map(|p| &p.filter))
}

/// Compiles one mutation root field: pushes its modification step(s), returns its output.
fn field<'a>(
    ctx: &mut Ctx<'a>,
    f: &Merged<'a>,
    path: &str,
    steps: &mut Vec<Step>,
    n: &mut usize,
) -> Result<FieldOut<'a>> {
    let name = f.name();
    let schema = ctx.schema;
    if let Some((s, ty)) = super::namespace(ctx, name, "mutation_root") {
        let subs = normalize::collect(ctx, &f.selection_sets(), &ty)?;
        ctx.scope = Some(s);
        let mut outs = Vec::new();
        for g in &subs {
            let out = if g.name() == "__typename" {
                Ok(FieldOut::Typename)
            } else {
                field(ctx, g, &sub(&sub(path, "selectionSet"), g.key()), steps, n)
            };
            match out {
                Ok(o) => outs.push((g.key().to_owned(), o)),
                Err(e) => {
                    ctx.scope = None;
                    return Err(e);
                }
            }
        }
        ctx.scope = None;
        return Ok(FieldOut::Namespace(ty, outs));
    }
    for (t, table) in schema.tables.iter().enumerate() {
        if !schema.table_in_scope(t, ctx.scope) {
            continue;
        }
        let rf = &table.root_fields;
        let has_pk = !table.primary_key.is_empty();
        let insertable = table.mutable.insert;
        if insertable && (rf.insert == name || rf.insert_one == name) {
            let Some(perm) = insert_perm(ctx, t) else {
                continue;
            };
            let one = rf.insert_one == name;
            let m = insert(ctx, t, perm, f, path, one)?;
            return table_field(ctx, steps, n, m, f, t, one);
        }
        let is_update = rf.update == name;
        let is_update_pk = has_pk && rf.update_by_pk == name;
        let is_update_many = rf.update_many == name;
        if (is_update || is_update_pk || is_update_many) && table.mutable.update {
            let Some(perm) = update_perm(ctx, t) else {
                continue;
            };
            if ctx.perm(t).is_none() {
                continue;
            }
            if is_update_many {
                let args = args_of(ctx, t, f, path, &["updates"])?;
                let Some(v) = get(&args, "updates") else {
                    return Err(Error::validation(
                        sub(path, "args"),
                        "missing required field 'updates'",
                    ));
                };
                let mut gucs = Vec::new();
                let upath = sub(&sub(path, "args"), "updates");
                for (i, u) in values::list(ctx, &v)?.iter().enumerate() {
                    let p = format!("{}[{}]", upath, i);
                    let type_name = format!("{}_updates", table.gql_name);
                    let fields = values::object(ctx, u, &type_name, &p)?;
                    let fields = canon_fields(ctx, t, fields, &p, &type_name)?;
                    let m = update(ctx, t, perm, &fields, &p, None)?;
                    gucs.push(push_step(ctx, steps, n, m, |_| {})?);
                }
                return Ok(FieldOut::Many {
                    f: f.clone(),
                    t,
                    gucs,
                });
            }
            let args_path = sub(path, "args");
            let fields = args_of(ctx, t, f, path, &[])?;
            let m = if is_update_pk {
                update(ctx, t, perm, &fields, &args_path, Some(path))?
            } else {
                update(ctx, t, perm, &fields, &args_path, None)?
            };
            return table_field(ctx, steps, n, m, f, t, is_update_pk);
        }
        let is_delete = rf.delete == name;
        let is_delete_pk = has_pk && rf.delete_by_pk == name;
        if (is_delete || is_delete_pk) && table.mutable.delete {
            let Some(filter) = delete_perm(ctx, t) else {
                continue;
            };
            if ctx.perm(t).is_none() {
                continue;
            }
            let m = delete(ctx, t, filter, f, path, is_delete_pk)?;
            return table_field(ctx, steps, n, m, f, t, is_delete_pk);
        }
    }
    for (i, func) in schema.functions.iter().enumerate() {
        if func.exposed_as != ExposedAs::Mutation
            || func.gql_name != name
            || !schema.function_in_scope(i, ctx.scope)
        {
            continue;
        }
        let FunctionReturn::Table { table: t, set } = func.returns else {
            continue;
        };
        if !select::function_allowed(ctx, func, t) || ctx.perm(t).is_none() {
            continue;
        }
        let saved = core::mem::take(&mut ctx.params);
        let (call, ()) = select::function_call(ctx, func, f, path)?;
        let params = core::mem::replace(&mut ctx.params, saved);
        let mut m = Modification::default();
        let c = ctx.alias();
        m.ctes.push((c.clone(), format!("SELECT * FROM {}", call)));
        m.top.push(c.clone());
        m.counted.push(c);
        let guc = push_step_with(ctx, steps, n, m, params)?;
        return Ok(FieldOut::Function {
            f: f.clone(),
            t,
            guc,
            set,
        });
    }
    Err(select::not_found(path, name, "mutation_root"))
}

/// The field's arguments (variables resolved), rejecting unknown ones when `allowed` is given.
/// The arguments of mutation field `f` of table `t`, generated names in Hasura's default
/// spelling (`pkColumns` → `pk_columns` under `graphql-default`).
fn args_of<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    f: &Merged<'a>,
    path: &str,
    allowed: &[&str],
) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (k, v) in &f.field.arguments {
        let c = ctx.canon(t, k);
        if c.is_empty() || (!allowed.is_empty() && !allowed.contains(&c.as_ref())) {
            return Err(Error::validation(
                sub(&sub(path, "args"), k),
                format!("'{}' has no argument named '{}'", f.name(), k),
            ));
        }
        out.push((c.into_owned(), v.clone()));
    }
    Ok(out)
}

/// The fields of an input object of table `t`'s generated type `type_name` (`on_conflict`,
/// `_updates`, relationship inserts), generated names in Hasura's default spelling.
fn canon_fields(
    ctx: &Ctx<'_>,
    t: TableId,
    fields: Vec<(String, Value)>,
    path: &str,
    type_name: &str,
) -> Result<Vec<(String, Value)>> {
    fields
        .into_iter()
        .map(|(k, v)| match ctx.canon(t, &k) {
            c if c.is_empty() => Err(select::not_found(&sub(path, &k), &k, type_name)),
            c if c == k.as_str() => Ok((k, v)),
            c => Ok((c.into_owned(), v)),
        })
        .collect()
}

fn get(fields: &[(String, Value)], k: &str) -> Option<Value> {
    fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Builds a modification step from `m` with the params collected so far in `ctx.params`
/// (which were taken fresh by the caller via [`push_step`]).
fn push_step(
    ctx: &mut Ctx<'_>,
    steps: &mut Vec<Step>,
    n: &mut usize,
    m: Modification,
    _f: impl FnOnce(&mut Ctx<'_>),
) -> Result<String> {
    let params = core::mem::take(&mut ctx.params);
    push_step_with(ctx, steps, n, m, params)
}

fn push_step_with(
    ctx: &mut Ctx<'_>,
    steps: &mut Vec<Step>,
    n: &mut usize,
    m: Modification,
    params: Vec<ParamSpec>,
) -> Result<String> {
    let _ = ctx;
    *n += 1;
    let guc = format!("graphedge.m{}", n);
    let mut s = String::new();
    for (i, (name, body)) in m.ctes.iter().enumerate() {
        s.push_str(if i == 0 { "WITH " } else { ", " });
        s.push_str(&format!("{} AS ({})", sql::ident(name), body));
    }
    let count = if m.counted.is_empty() {
        String::from("0")
    } else {
        m.counted
            .iter()
            .map(|c| format!("(SELECT count(*) FROM {})", sql::ident(c)))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let rows = if m.top.is_empty() {
        String::from("'[]'::json")
    } else {
        let parts: Vec<String> = m
            .top
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "SELECT {} AS \"o\", row_to_json({}.*) AS \"j\" FROM {}",
                    i,
                    sql::ident(c),
                    sql::ident(c)
                )
            })
            .collect();
        format!(
            "(SELECT coalesce(json_agg(\"u\".\"j\" ORDER BY \"u\".\"o\"), '[]'::json) FROM ({}) AS \"u\")",
            parts.join(" UNION ALL ")
        )
    };
    let check = if m.failures.is_empty() {
        String::from("true")
    } else {
        format!(
            "CASE WHEN {} THEN graphedge.check_violation({}) ELSE true END",
            m.failures.join(" OR "),
            sql::literal(&m.check_path)
        )
    };
    if !s.is_empty() {
        s.push(' ');
    }
    s.push_str(&format!(
        "SELECT {} AS \"check\", set_config({}, json_build_object('affected_rows', {}, 'rows', {})::text, true) AS \"result\"",
        check,
        sql::literal(&guc),
        count,
        rows
    ));
    // Database errors of a step are reported at its field's arguments, else at the root.
    let path = if m.check_path.is_empty() {
        String::from("$")
    } else {
        m.check_path.clone()
    };
    steps.push(Step {
        sql: s,
        params,
        path,
    });
    Ok(guc)
}

/// A preset value (`X-Hasura-*` session variable or literal) for a column.
fn preset(ctx: &mut Ctx<'_>, table: &Table, c: ColumnId, v: &Value) -> Result<String> {
    let col = &table.columns[c];
    if let Value::String(s) = v {
        if s.len() > 9
            && s.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case("x-hasura-"))
        {
            let p = ctx.param(ParamSpec::Session(s.to_ascii_lowercase()));
            return Ok(format!("{}::{}", p, sql::type_name(&col.pg_type)));
        }
    }
    values::typed(ctx, v, &col.pg_type, None, "$")
}

/// A SQL condition that is true when some row of CTE `cte` fails `check`.
fn failure(ctx: &mut Ctx<'_>, t: TableId, cte: &str, check: &Value) -> Result<Option<String>> {
    let alias = ctx.alias();
    let Some(cond) = boolexp::compile(ctx, &Scope::new(t, &alias), check, "$", Mode::Permission)?
    else {
        return Ok(None);
    };
    Ok(Some(format!(
        "EXISTS (SELECT 1 FROM {} AS {} WHERE NOT coalesce({}, false))",
        sql::ident(cte),
        sql::ident(&alias),
        cond
    )))
}

/// Like [`failure`] for an upsert CTE: inserted rows must pass `ins`, rows updated on conflict
/// `upd` (when the update permission has a check).
fn upsert_failure(
    ctx: &mut Ctx<'_>,
    t: TableId,
    cte: &str,
    ins: &Value,
    upd: Option<&Value>,
) -> Result<Option<String>> {
    let alias = ctx.alias();
    let scope = Scope::new(t, &alias);
    let i = boolexp::compile(ctx, &scope, ins, "$", Mode::Permission)?;
    let u = match upd {
        Some(v) => boolexp::compile(ctx, &scope, v, "$", Mode::Permission)?,
        None => None,
    };
    if i.is_none() && u.is_none() {
        return Ok(None);
    }
    Ok(Some(format!(
        "EXISTS (SELECT 1 FROM {c} AS {a} WHERE NOT coalesce(CASE WHEN {a}.\"graphedge_inserted\" THEN {i} ELSE {u} END, false))",
        c = sql::ident(cte),
        a = sql::ident(&alias),
        i = i.unwrap_or_else(|| String::from("true")),
        u = u.unwrap_or_else(|| String::from("true")),
    )))
}

// ---------------------------------------------------------------------------------------------
// insert

/// One object to insert, validated.
struct InsObject {
    /// (column, SQL expression).
    cols: Vec<(ColumnId, String)>,
    /// Object relationships inserted before this row: (relationship index, object).
    before: Vec<(usize, InsObject, Option<Conflict>)>,
    /// Relationships inserted after this row: (relationship index, objects).
    after: Vec<(usize, Vec<InsObject>, Option<Conflict>)>,
}

struct Conflict {
    target: String,
    /// `DO NOTHING` when `None`, else `DO UPDATE SET … [WHERE …]`.
    action: Option<String>,
}

fn insert<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    perm: Option<&'a InsertPermission>,
    f: &Merged<'a>,
    path: &str,
    one: bool,
) -> Result<Modification> {
    let args_path = sub(path, "args");
    let key = if one { "object" } else { "objects" };
    let mut objs_v = None;
    let mut conflict_v = None;
    for (k, v) in &f.field.arguments {
        match ctx.canon(t, k).as_ref() {
            "objects" if !one => objs_v = Some(v.clone()),
            "object" if one => objs_v = Some(v.clone()),
            "on_conflict" => conflict_v = Some(v.clone()),
            _ => {
                return Err(Error::validation(
                    sub(&args_path, k),
                    format!("'{}' has no argument named '{}'", f.name(), k),
                ))
            }
        }
    }
    let Some(objs_v) = objs_v else {
        return Err(Error::validation(
            &args_path,
            format!("missing required field '{}'", key),
        ));
    };
    let objs_path = sub(&args_path, key);
    let input = format!("{}_insert_input", ctx.schema.tables[t].gql_name);
    let expected = if one {
        format!("{}!", input)
    } else {
        format!("[{}!]!", input)
    };
    values::non_null_location(ctx, &objs_v, &expected, &objs_path)?;
    let items: Vec<(String, Value)> = if one {
        alloc::vec![(objs_path.clone(), ctx.resolve(&objs_v)?)]
    } else {
        values::list(ctx, &objs_v)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{}[{}]", objs_path, i), v))
            .collect()
    };
    let conflict = match conflict_v {
        Some(v) => conflict_clause(ctx, t, &v, &sub(&args_path, "on_conflict"))?,
        None => None,
    };
    let mut objects = Vec::new();
    for (p, v) in &items {
        objects.push(ins_object(ctx, t, perm, v, p, &[])?);
    }
    let mut m = Modification {
        check_path: if ctx.rql {
            args_path.clone()
        } else {
            objs_path.clone()
        },
        ..Default::default()
    };
    let simple = objects
        .iter()
        .all(|o| o.before.is_empty() && o.after.is_empty());
    if simple {
        if objects.is_empty() {
            return Ok(m);
        }
        let c = bulk_insert(ctx, t, &objects, conflict.as_ref(), &mut m)?;
        m.top.push(c);
    } else {
        for o in &objects {
            let c = emit(ctx, t, o, None, conflict.as_ref(), &mut m)?;
            m.top.push(c);
        }
    }
    // Insert checks of every table written.
    let written: Vec<(TableId, String, bool)> = m.ins_tables.drain(..).collect();
    for (tt, cte, upsert) in written {
        if let Some(Some(p)) = insert_perm(ctx, tt) {
            let upd_check = match update_perm(ctx, tt) {
                Some(Some(u)) if upsert => u.check.as_ref(),
                _ => None,
            };
            if upsert {
                // Rows updated on conflict are checked by the update permission (Hasura).
                if let Some(fl) = upsert_failure(ctx, tt, &cte, &p.check, upd_check)? {
                    m.failures.push(fl);
                }
            } else if let Some(fl) = failure(ctx, tt, &cte, &p.check)? {
                m.failures.push(fl);
            }
        }
    }
    Ok(m)
}

impl Modification {
    fn cte(&mut self, ctx: &mut Ctx<'_>, body: String) -> String {
        let c = ctx.alias();
        self.ctes.push((c.clone(), body));
        self.counted.push(c.clone());
        c
    }
}

/// Validates one insert object of table `t`. `determined`: columns set by the parent insert.
fn ins_object<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    perm: Option<&'a InsertPermission>,
    v: &Value,
    path: &str,
    determined: &[ColumnId],
) -> Result<InsObject> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let type_name = format!("{}_insert_input", table.gql_name);
    let fields = values::object(ctx, v, &type_name, path)?;
    let mut o = InsObject {
        cols: Vec::new(),
        before: Vec::new(),
        after: Vec::new(),
    };
    for (k, val) in &fields {
        let p = sub(path, k);
        if let Some(c) = table.column_by_gql(k).filter(|c| {
            !table.columns[*c].is_generated && perm.is_none_or(|p| p.columns.contains(c))
        }) {
            if determined.contains(&c) {
                return Err(Error::validation(
                    path,
                    format!(
                        "cannot insert \"{}\" columns as their values are already being determined by parent insert",
                        table.columns[c].name
                    ),
                ));
            }
            let col = &table.columns[c];
            let e = values::column_value(ctx, val, col, &p)?;
            o.cols.push((c, e));
            continue;
        }
        let Some(ri) = table.relationships.iter().position(|r| &r.name == k) else {
            return Err(select::not_found(&p, k, &type_name));
        };
        let rel = &table.relationships[ri];
        // A null nested object (`author: null`) inserts nothing for that relationship.
        if ctx.resolve(val)?.is_null() {
            continue;
        }
        let Some(tperm) = insert_perm(ctx, rel.target) else {
            return Err(select::not_found(&p, k, &type_name));
        };
        let target = &schema.tables[rel.target];
        let rel_type = match rel.kind {
            RelKind::Object => format!("{}_obj_rel_insert_input", target.gql_name),
            RelKind::Array => format!("{}_arr_rel_insert_input", target.gql_name),
        };
        let rf = values::object(ctx, val, &rel_type, &p)?;
        let rf = canon_fields(ctx, rel.target, rf, &p, &rel_type)?;
        let conflict = match get(&rf, "on_conflict") {
            Some(cv) => conflict_clause(ctx, rel.target, &cv, &sub(&p, "on_conflict"))?,
            None => None,
        };
        let Some(data) = get(&rf, "data") else {
            return Err(Error::validation(&p, "missing required field 'data'"));
        };
        let dp = sub(&p, "data");
        let mine: Vec<ColumnId> = rel.mapping.iter().map(|(a, _)| *a).collect();
        let theirs: Vec<ColumnId> = rel.mapping.iter().map(|(_, b)| *b).collect();
        let parent_first =
            rel.kind == RelKind::Object && !mine.iter().all(|c| table.primary_key.contains(c));
        if parent_first {
            // This row references the target: insert the target first.
            if let Some((c, _)) = fields.iter().find_map(|(fk, _)| {
                table
                    .column_by_gql(fk)
                    .filter(|c| mine.contains(c))
                    .map(|c| (c, ()))
            }) {
                return Err(Error::validation(
                    &p,
                    format!(
                        "cannot insert object relationship \"{}\" as \"{}\" column values are already determined",
                        rel.name, table.columns[c].name
                    ),
                ));
            }
            let child = ctx.nested_insert(&dp, |ctx| {
                ins_object(ctx, rel.target, tperm, &data, &dp, &[])
            })?;
            o.before.push((ri, child, conflict));
        } else {
            let items: Vec<(String, Value)> = match rel.kind {
                RelKind::Object => alloc::vec![(dp.clone(), ctx.resolve(&data)?)],
                RelKind::Array => values::list(ctx, &data)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{}[{}]", dp, i), v))
                    .collect(),
            };
            let mut children = Vec::new();
            for (ip, iv) in &items {
                children.push(ctx.nested_insert(ip, |ctx| {
                    ins_object(ctx, rel.target, tperm, iv, ip, &theirs)
                })?);
            }
            o.after.push((ri, children, conflict));
        }
    }
    // Presets (they win over given values).
    if let Some(p) = perm {
        for (c, v) in &p.set {
            let e = preset(ctx, table, *c, v)?;
            o.cols.retain(|(oc, _)| oc != c);
            o.cols.push((*c, e));
        }
    }
    Ok(o)
}

/// `ON CONFLICT ON CONSTRAINT … DO NOTHING | DO UPDATE SET … WHERE …` for `on_conflict`.
fn conflict_clause(
    ctx: &mut Ctx<'_>,
    t: TableId,
    v: &Value,
    path: &str,
) -> Result<Option<Conflict>> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let type_name = format!("{}_on_conflict", table.gql_name);
    let fields = match ctx.resolve(v)? {
        Value::Null => return Ok(None),
        _ => values::object(ctx, v, &type_name, path)?,
    };
    let fields = canon_fields(ctx, t, fields, path, &type_name)?;
    let upd = update_perm(ctx, t);
    for (k, _) in &fields {
        if !matches!(k.as_str(), "constraint" | "update_columns" | "where") {
            return Err(select::not_found(&sub(path, k), k, &type_name));
        }
    }
    let Some(cv) = get(&fields, "constraint") else {
        return Err(Error::validation(
            path,
            "missing required field 'constraint'",
        ));
    };
    // A string is an enum value only when it comes from JSON variables; a string literal
    // written in the document (`constraint: "t_pkey"`) is not.
    let literal_string = matches!(v, Value::Object(_)) && matches!(cv, Value::String(_));
    let cname = match ctx.resolve(&cv)? {
        Value::Enum(s) | Value::String(s) if !literal_string => s,
        other => {
            return Err(Error::validation(
                sub(path, "constraint"),
                format!(
                    "expected an enum value for type '{}_constraint', but found {}",
                    table.gql_name,
                    values::article(other.kind())
                ),
            ))
        }
    };
    let Some(uc) = table.unique_constraints.iter().find(|u| u.name == cname) else {
        let mut names: Vec<String> = table
            .unique_constraints
            .iter()
            .map(|u| format!("'{}'", u.name))
            .collect();
        names.sort();
        return Err(Error::validation(
            sub(path, "constraint"),
            format!(
                "expected one of the values [{}] for type '{}_constraint', but found '{}'",
                names.join(", "),
                table.gql_name,
                cname
            ),
        ));
    };
    let target = format!("ON CONFLICT ON CONSTRAINT {}", sql::ident(&uc.name));
    let mut cols = Vec::new();
    if let Some(uv) = get(&fields, "update_columns") {
        for item in values::list(ctx, &uv)? {
            let (Value::Enum(s) | Value::String(s)) = &item else {
                return Err(Error::validation(
                    sub(path, "update_columns"),
                    "expected a list of columns",
                ));
            };
            if s == "_PLACEHOLDER" {
                return Err(Error::validation(path, "erroneous column name"));
            }
            let allowed = table.column_by_gql(s).filter(|c| match upd {
                Some(Some(p)) => p.columns.contains(c),
                Some(None) => !table.columns[*c].is_generated,
                None => false,
            });
            let Some(c) = allowed else {
                return Err(Error::validation(
                    sub(path, "update_columns"),
                    format!(
                        "expected one of the values of '{}_update_column', but found '{}'",
                        table.gql_name, s
                    ),
                ));
            };
            cols.push(c);
        }
    }
    if cols.is_empty() {
        return Ok(Some(Conflict {
            target,
            action: None,
        }));
    }
    let Some(upd) = upd else {
        return Err(Error::validation(
            path,
            "upsert is not allowed without an update permission",
        ));
    };
    let tname = sql::qualified(&table.name);
    let mut sets: Vec<String> = cols
        .iter()
        .map(|c| {
            let n = sql::ident(&table.columns[*c].name);
            format!("{} = EXCLUDED.{}", n, n)
        })
        .collect();
    let mut conds = Vec::new();
    let scope = Scope::new(t, &table.name.name);
    if let Some(p) = upd {
        for (c, v) in &p.set {
            let e = preset(ctx, table, *c, v)?;
            let n = sql::ident(&table.columns[*c].name);
            sets.retain(|s| !s.starts_with(&format!("{} =", n)));
            sets.push(format!("{} = {}", n, e));
        }
        if let Some(c) = boolexp::compile(ctx, &scope, &p.filter, "$", Mode::Permission)? {
            conds.push(c);
        }
    }
    if let Some(w) = get(&fields, "where") {
        if let Some(c) = boolexp::compile(ctx, &scope, &w, &sub(path, "where"), Mode::User)? {
            conds.push(c);
        }
    }
    let _ = tname;
    let mut action = format!("DO UPDATE SET {}", sets.join(", "));
    if let Some(w) = boolexp::and(conds) {
        action.push_str(&format!(" WHERE {}", w));
    }
    Ok(Some(Conflict {
        target,
        action: Some(action),
    }))
}

/// `ON CONFLICT … RETURNING …` (an upsert also returns whether each row was inserted).
fn conflict_sql(ctx: &Ctx<'_>, t: TableId, c: Option<&Conflict>) -> String {
    match c {
        None => String::from(" RETURNING *"),
        Some(Conflict {
            target,
            action: None,
        }) => format!(" {} DO NOTHING RETURNING *", target),
        Some(Conflict {
            target,
            action: Some(a),
        }) => format!(
            " {} {} RETURNING *, ({}.\"xmax\" = 0) AS \"graphedge_inserted\"",
            target,
            a,
            sql::ident(&ctx.schema.tables[t].name.name)
        ),
    }
}

fn is_upsert(c: Option<&Conflict>) -> bool {
    c.is_some_and(|c| c.action.is_some())
}

/// `INSERT INTO "s"."t" AS "t" (…)`: the alias is the table's own name so that `on_conflict`
/// conditions (compiled with that alias) refer to the existing row.
fn insert_into(ctx: &Ctx<'_>, t: TableId, cols: &[ColumnId]) -> String {
    let table = &ctx.schema.tables[t];
    let names: Vec<String> = cols
        .iter()
        .map(|c| sql::ident(&table.columns[*c].name))
        .collect();
    let mut s = format!(
        "INSERT INTO {} AS {}",
        sql::qualified(&table.name),
        sql::ident(&table.name.name)
    );
    if !names.is_empty() {
        s.push_str(&format!(" ({})", names.join(", ")));
    }
    s
}

/// Several objects without relationships: one multi-row `INSERT … VALUES`.
fn bulk_insert(
    ctx: &mut Ctx<'_>,
    t: TableId,
    objects: &[InsObject],
    conflict: Option<&Conflict>,
    m: &mut Modification,
) -> Result<String> {
    let mut cols: Vec<ColumnId> = Vec::new();
    for o in objects {
        for (c, _) in &o.cols {
            if !cols.contains(c) {
                cols.push(*c);
            }
        }
    }
    let body = if cols.is_empty() {
        if objects.len() != 1 {
            // Several rows of defaults only.
            let rows: Vec<String> = objects.iter().map(|_| String::from("(DEFAULT)")).collect();
            let table = &ctx.schema.tables[t];
            let first = table
                .columns
                .iter()
                .position(|c| !c.is_generated)
                .unwrap_or(0);
            format!(
                "{} VALUES {}{}",
                insert_into(ctx, t, &[first]),
                rows.join(", "),
                conflict_sql(ctx, t, conflict)
            )
        } else {
            format!(
                "{} DEFAULT VALUES{}",
                insert_into(ctx, t, &[]),
                conflict_sql(ctx, t, conflict)
            )
        }
    } else {
        let rows: Vec<String> = objects
            .iter()
            .map(|o| {
                let vals: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        o.cols
                            .iter()
                            .find(|(oc, _)| oc == c)
                            .map(|(_, e)| e.clone())
                            .unwrap_or_else(|| String::from("DEFAULT"))
                    })
                    .collect();
                format!("({})", vals.join(", "))
            })
            .collect();
        format!(
            "{} VALUES {}{}",
            insert_into(ctx, t, &cols),
            rows.join(", "),
            conflict_sql(ctx, t, conflict)
        )
    };
    let c = m.cte(ctx, body);
    m.ins_tables.push((t, c.clone(), is_upsert(conflict)));
    Ok(c)
}

/// One object (and its relationships) as a chain of CTEs; returns the object's CTE.
/// `link`: (parent CTE, pairs (parent column, my column)) for children of an array/object
/// relationship inserted after their parent.
fn emit(
    ctx: &mut Ctx<'_>,
    t: TableId,
    o: &InsObject,
    link: Option<(&str, Vec<(ColumnId, ColumnId)>)>,
    conflict: Option<&Conflict>,
    m: &mut Modification,
) -> Result<String> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let mut cols: Vec<ColumnId> = Vec::new();
    let mut exprs: Vec<String> = Vec::new();
    let mut from: Vec<String> = Vec::new();
    for (ri, child, cc) in &o.before {
        let rel = &table.relationships[*ri];
        let pc = emit(ctx, rel.target, child, None, cc.as_ref(), m)?;
        let target = &schema.tables[rel.target];
        for (mine, theirs) in &rel.mapping {
            cols.push(*mine);
            exprs.push(format!(
                "{}.{}",
                sql::ident(&pc),
                sql::ident(&target.columns[*theirs].name)
            ));
        }
        from.push(sql::ident(&pc));
    }
    if let Some((pc, pairs)) = &link {
        let ptable_cols = pairs;
        for (pcol, mine) in ptable_cols {
            cols.push(*mine);
            exprs.push(format!(
                "{}.{}",
                sql::ident(pc),
                sql::ident(&pcol_name(ctx, pc, *pcol, m))
            ));
        }
        from.push(sql::ident(pc));
    }
    for (c, e) in &o.cols {
        if !cols.contains(c) {
            cols.push(*c);
            exprs.push(e.clone());
        }
    }
    let body = if from.is_empty() {
        if cols.is_empty() {
            format!(
                "{} DEFAULT VALUES{}",
                insert_into(ctx, t, &[]),
                conflict_sql(ctx, t, conflict)
            )
        } else {
            format!(
                "{} VALUES ({}){}",
                insert_into(ctx, t, &cols),
                exprs.join(", "),
                conflict_sql(ctx, t, conflict)
            )
        }
    } else {
        format!(
            "{} SELECT {} FROM {} WHERE true{}",
            insert_into(ctx, t, &cols),
            exprs.join(", "),
            from.join(", "),
            conflict_sql(ctx, t, conflict)
        )
    };
    let me = m.cte(ctx, body);
    m.ins_tables.push((t, me.clone(), is_upsert(conflict)));
    m.cte_tables.push((me.clone(), t));
    for (ri, children, cc) in &o.after {
        let rel = &table.relationships[*ri];
        for child in children {
            emit(
                ctx,
                rel.target,
                child,
                Some((&me, rel.mapping.clone())),
                cc.as_ref(),
                m,
            )?;
        }
    }
    Ok(me)
}

/// The Postgres name of column `c` of the table CTE `cte` inserts into.
fn pcol_name(ctx: &Ctx<'_>, cte: &str, c: ColumnId, m: &Modification) -> String {
    let t = m
        .cte_tables
        .iter()
        .find(|(n, _)| n == cte)
        .map(|(_, t)| *t)
        .unwrap_or(0);
    ctx.schema.tables[t]
        .columns
        .get(c)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// update

/// `UPDATE … SET … WHERE … RETURNING *` from the operator arguments in `fields`.
/// `by_pk`: `Some(field path)` for `update_<t>_by_pk` (`pk_columns` instead of `where`).
fn update<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    perm: Option<&'a UpdatePermission>,
    fields: &[(String, Value)],
    args_path: &str,
    by_pk: Option<&str>,
) -> Result<Modification> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let alias = ctx.alias();
    let a = sql::ident(&alias);
    let mut sets: Vec<(ColumnId, String)> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let mut seen_where = false;
    let mut multi: Vec<String> = Vec::new();
    let allowed = |c: &ColumnId| -> bool {
        !table.columns[*c].is_generated && perm.is_none_or(|p| p.columns.contains(c))
    };
    for (k, v) in fields {
        let p = sub(args_path, k);
        match k.as_str() {
            "where" if by_pk.is_none() => {
                seen_where = true;
                required_where(v, &table.gql_name, &p)?;
                if let Some(c) = boolexp::compile(ctx, &Scope::new(t, &alias), v, &p, Mode::User)? {
                    conds.push(c);
                }
            }
            "pk_columns" if by_pk.is_some() => {
                let type_name = format!("{}_pk_columns_input", table.gql_name);
                let pkf = values::object(ctx, v, &type_name, &p)?;
                for (n, _) in &pkf {
                    if !table
                        .primary_key
                        .iter()
                        .any(|c| &table.columns[*c].gql_name == n)
                    {
                        return Err(select::not_found(&sub(&p, n), n, &type_name));
                    }
                }
                for c in &table.primary_key {
                    let col = &table.columns[*c];
                    let Some(pv) = get(&pkf, &col.gql_name) else {
                        return Err(Error::validation(
                            &p,
                            format!("missing required field '{}'", col.gql_name),
                        ));
                    };
                    let e = values::typed(
                        ctx,
                        &pv,
                        &col.pg_type,
                        col.enum_table,
                        &sub(&p, &col.gql_name),
                    )?;
                    conds.push(format!("{}.{} = {}", a, sql::ident(&col.name), e));
                }
                seen_where = true;
            }
            "_default" if ctx.rql => {
                for item in values::list(ctx, v)? {
                    let (Value::Enum(cn) | Value::String(cn)) = &item else {
                        return Err(Error::validation(&p, "expected a column name"));
                    };
                    let Some(c) = table.column_by_gql(cn).filter(|c| allowed(c)) else {
                        return Err(select::not_found(&p, cn, "update columns"));
                    };
                    sets.push((c, String::from("DEFAULT")));
                }
            }
            op @ ("_set" | "_inc" | "_mul" | "_append" | "_prepend" | "_delete_key"
            | "_delete_elem" | "_delete_at_path")
                if op != "_mul" || ctx.rql =>
            {
                let suffix = match op {
                    "_set" => "set_input",
                    "_inc" => "inc_input",
                    "_mul" => "mul_input",
                    "_append" => "append_input",
                    "_prepend" => "prepend_input",
                    "_delete_key" => "delete_key_input",
                    "_delete_elem" => "delete_elem_input",
                    _ => "delete_at_path_input",
                };
                let type_name = format!("{}_{}", table.gql_name, suffix);
                let ofields = match ctx.resolve(v)? {
                    Value::Null => Vec::new(),
                    _ => values::object(ctx, v, &type_name, &p)?,
                };
                for (cn, cv) in &ofields {
                    let cp = sub(&p, cn);
                    let ok = table.column_by_gql(cn).filter(|c| allowed(c)).filter(|c| {
                        let ty = &table.columns[*c].pg_type;
                        match op {
                            "_set" => true,
                            "_inc" | "_mul" => ty.is_numeric(),
                            _ => ty.udt == "jsonb",
                        }
                    });
                    let Some(c) = ok else {
                        return Err(select::not_found(&cp, cn, &type_name));
                    };
                    let col = &table.columns[c];
                    let lhs = format!("{}.{}", a, sql::ident(&col.name));
                    let _ = &lhs;
                    let cur = sql::ident(&col.name);
                    let e = match op {
                        "_set" => values::column_value(ctx, cv, col, &cp)?,
                        "_inc" => format!("{} + {}", cur, values::column_value(ctx, cv, col, &cp)?),
                        "_mul" => format!("{} * {}", cur, values::column_value(ctx, cv, col, &cp)?),
                        "_append" => format!(
                            "{} || {}",
                            cur,
                            values::typed(ctx, cv, &col.pg_type, None, &cp)?
                        ),
                        "_prepend" => format!(
                            "{} || {}",
                            values::typed(ctx, cv, &col.pg_type, None, &cp)?,
                            cur
                        ),
                        "_delete_key" => format!(
                            "{} - {}",
                            cur,
                            values::typed(
                                ctx,
                                cv,
                                &crate::model::PgType::scalar("text"),
                                None,
                                &cp
                            )?
                        ),
                        "_delete_elem" => format!(
                            "{} - {}",
                            cur,
                            values::typed(
                                ctx,
                                cv,
                                &crate::model::PgType::scalar("int4"),
                                None,
                                &cp
                            )?
                        ),
                        _ => {
                            let ty = crate::model::PgType {
                                udt: String::from("_text"),
                                schema: String::from("pg_catalog"),
                                element: Some(String::from("text")),
                                kind: 'b',
                            };
                            format!("{} #- {}", cur, values::typed(ctx, cv, &ty, None, &cp)?)
                        }
                    };
                    if sets.iter().any(|(sc, _)| *sc == c) {
                        multi.push(format!("'{}'", col.gql_name));
                    }
                    sets.push((c, e));
                }
            }
            other => {
                return Err(Error::validation(
                    &p,
                    format!("field '{}' not found in type: 'update args'", other),
                ))
            }
        }
    }
    if !multi.is_empty() {
        return Err(Error::validation(
            args_path,
            format!(
                "Column found in multiple operators: [{}].",
                multi.join(", ")
            ),
        ));
    }
    if !seen_where {
        let what = if by_pk.is_some() {
            ctx.spelled(t, "pk_columns")
        } else {
            String::from("where")
        };
        return Err(Error::validation(
            args_path,
            format!("missing required field '{}'", what),
        ));
    }
    if let Some(p) = perm {
        for (c, v) in &p.set {
            let e = preset(ctx, table, *c, v)?;
            sets.retain(|(sc, _)| sc != c);
            sets.push((*c, e));
        }
        if let Some(c) = boolexp::compile(
            ctx,
            &Scope::new(t, &alias),
            &p.filter,
            "$",
            Mode::Permission,
        )? {
            conds.insert(0, c);
        }
    }
    let mut m = Modification {
        check_path: String::from("$"),
        ..Default::default()
    };
    if sets.is_empty() {
        // Nothing to set: Hasura returns no rows.
        return Ok(m);
    }
    let set_sql: Vec<String> = sets
        .iter()
        .map(|(c, e)| format!("{} = {}", sql::ident(&table.columns[*c].name), e))
        .collect();
    let body = format!(
        "UPDATE {} AS {} SET {} WHERE {} RETURNING {}.*",
        sql::qualified(&table.name),
        a,
        set_sql.join(", "),
        boolexp::and_or_true(conds),
        a
    );
    let c = m.cte(ctx, body);
    m.top.push(c.clone());
    if let Some(Some(check)) = perm.map(|p| p.check.as_ref()) {
        if let Some(fl) = failure(ctx, t, &c, check)? {
            m.failures.push(fl);
        }
    }
    Ok(m)
}

// ---------------------------------------------------------------------------------------------
// delete

fn delete<'a>(
    ctx: &mut Ctx<'a>,
    t: TableId,
    filter: Option<&'a Value>,
    f: &Merged<'a>,
    path: &str,
    by_pk: bool,
) -> Result<Modification> {
    let schema = ctx.schema;
    let table = &schema.tables[t];
    let alias = ctx.alias();
    let a = sql::ident(&alias);
    let args_path = sub(path, "args");
    let mut conds = Vec::new();
    let mut seen_where = false;
    for (k, v) in &f.field.arguments {
        let p = sub(&args_path, k);
        if !by_pk && k == "where" {
            seen_where = true;
            required_where(v, &table.gql_name, &p)?;
            if let Some(c) = boolexp::compile(ctx, &Scope::new(t, &alias), v, &p, Mode::User)? {
                conds.push(c);
            }
            continue;
        }
        let pk = if by_pk {
            table
                .primary_key
                .iter()
                .copied()
                .find(|c| &table.columns[*c].gql_name == k)
        } else {
            None
        };
        let Some(c) = pk else {
            return Err(Error::validation(
                &p,
                format!("'{}' has no argument named '{}'", f.name(), k),
            ));
        };
        let col = &table.columns[c];
        let e = values::column_value(ctx, v, col, &p)?;
        conds.push(format!("{}.{} = {}", a, sql::ident(&col.name), e));
    }
    if by_pk {
        for c in &table.primary_key {
            let col = &table.columns[*c];
            if f.field.argument(&col.gql_name).is_none() {
                return Err(Error::validation(
                    &args_path,
                    format!("missing required field '{}'", col.gql_name),
                ));
            }
        }
    } else if !seen_where {
        return Err(Error::validation(
            &args_path,
            "missing required field 'where'",
        ));
    }
    if let Some(fl) = filter {
        if let Some(c) = boolexp::compile(ctx, &Scope::new(t, &alias), fl, "$", Mode::Permission)? {
            conds.insert(0, c);
        }
    }
    let mut m = Modification::default();
    let body = format!(
        "DELETE FROM {} AS {} WHERE {} RETURNING {}.*",
        sql::qualified(&table.name),
        a,
        boolexp::and_or_true(conds),
        a
    );
    let c = m.cte(ctx, body);
    m.top.push(c);
    Ok(m)
}

/// The `where` of an update or delete is a non-null `<table>_bool_exp!`: a literal `null` is
/// Hasura's validation error (a variable's value is checked against its declared type).
fn required_where(v: &Value, table: &str, path: &str) -> Result<()> {
    if matches!(v, Value::Null) {
        return Err(Error::validation(
            path,
            format!(
                "expected an object for type '{}_bool_exp', but found null",
                table
            ),
        ));
    }
    Ok(())
}
