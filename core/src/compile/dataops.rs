//! Hasura's legacy data operations of `/v1/query` and `/v2/query` (`select`, `count`,
//! `insert`, `update`, `delete`), compiled by the GraphQL compiler.
//!
//! An operation is validated here with Hasura's RQL messages (`Hasura.RQL.DML.*`: unknown
//! tables and columns, a role's missing permission, limits), then translated into the
//! GraphQL field the same request would be through `/v1/graphql` — Postgres column names
//! become GraphQL field names (with the Postgres name as alias, so the answer keys stay), `$`
//! operators become `_` ones, `"+col"`/`"-col"` orderings become `order_by` objects — and that
//! field is compiled by [`super::select`] / [`super::mutation`] with the session's role. So
//! filters, column permissions, limits, insert checks and presets are those of the GraphQL API,
//! by construction. `count` (which Hasura allows without `allow_aggregations`) is one
//! `count(*)` over the same [`super::boolexp`] conditions.
//!
//! The plan's statement yields the operation's answer directly (no `data` wrapper): a row
//! array, `{"count": n}` or `{"affected_rows": n[, "returning": […]]}`.
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::boolexp::{self, Mode, Scope};
use super::select::{self, Shape, Source};
use super::{normalize, sql, Ctx};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{QualifiedName, RelKind, Schema, TableId};
use crate::parse::ast::{Field, Pos, Selection};
use crate::plan::{Plan, PlanKind};
use crate::session::Session;
use crate::value::Value;
use crate::Options;

/// The operations this module compiles.
pub const OPERATIONS: [&str; 5] = ["select", "count", "insert", "update", "delete"];

type Fields = [(String, Value)];

fn get<'v>(fields: &'v Fields, k: &str) -> Option<&'v Value> {
    fields.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn denied(path: &str, message: String) -> Error {
    Error::new(ErrorCode::PermissionDenied, path, message)
}

fn parse_failed(path: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ParseFailed, path, message)
}

/// Hasura's JSON path of an object key (`$.args["$set"]` for keys that are not identifiers).
fn key_path(path: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty() {
        format!("{}.{}", path, key)
    } else {
        format!("{}[\"{}\"]", path, key)
    }
}

/// Compiles one data operation `op` with its `args` for `session`.
pub fn compile(
    schema: &Schema,
    session: &Session,
    op: &str,
    args: &Value,
    options: &Options,
) -> Result<Plan> {
    let Value::Object(fields) = args else {
        return Err(parse_failed(
            "$.args",
            format!(
                "parsing {} failed, expected Object, but encountered {}",
                op,
                json_kind(args)
            ),
        ));
    };
    let source = source_arg(schema, fields)?;
    let t = table_arg(schema, fields, source)?;
    let v = Validator { schema, session };
    let field = match op {
        "select" => v.select_field(t, fields, "$.args")?,
        "count" => return count(schema, session, options, t, fields),
        "insert" => v.insert_field(t, fields)?,
        "update" => v.update_field(t, fields)?,
        "delete" => v.delete_field(t, fields)?,
        _ => {
            return Err(Error::new(
                ErrorCode::NotSupported,
                "$.type",
                format!("unknown data operation {:?}", op),
            ))
        }
    };
    let set = alloc::vec![Selection::Field(field)];
    let mut ctx = new_ctx(schema, session, options, source);
    if op != "select" {
        return super::mutation::compile(&mut ctx, &set);
    }
    let sets = [set.as_slice()];
    let merged = normalize::collect(&mut ctx, &sets, "query_root")?;
    let Some(f) = merged.first() else {
        return Err(Error::new(ErrorCode::Unexpected, "$", "empty selection"));
    };
    let expr = select::rows(&mut ctx, Source::Table(t), f, "$", Vec::new(), Shape::Many)?;
    Ok(query_plan(ctx, format!("SELECT {} AS \"data\"", expr)))
}

/// A compilation context for data operations on source `source` (an index in
/// `schema.sources`; 0 when the schema has none).
fn new_ctx<'a>(
    schema: &'a Schema,
    session: &'a Session,
    opts: &'a Options,
    source: usize,
) -> Ctx<'a> {
    Ctx {
        schema,
        session,
        opts,
        variables: &[],
        var_defs: &[],
        fragments: &[],
        params: Vec::new(),
        shaping: Vec::new(),
        calls_functions: false,
        next_alias: 0,
        nesting: 0,
        rql: true,
        remote_joins: Vec::new(),
        multiplexed: false,
        operation_name: None,
        // Data operations work on the source their `source` names (default: the served one).
        scope: Some(source),
    }
}

fn query_plan(ctx: Ctx<'_>, sql: String) -> Plan {
    Plan {
        kind: PlanKind::Query,
        source: ctx.scope.unwrap_or(0),
        sql,
        params: ctx.params,
        shaping_variables: ctx.shaping,
        variable_types: Vec::new(),
        steps: Vec::new(),
        calls_functions: ctx.calls_functions,
        cached: None,
        remote_joins: Vec::new(),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Boolean(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) | Value::Enum(_) | Value::Variable(_) => "String",
        Value::List(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// `source`: the source's name (default: the served source, the first); its index.
fn source_arg(schema: &Schema, fields: &Fields) -> Result<usize> {
    let name = match get(fields, "source") {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::String(n)) => n,
        Some(other) => {
            return Err(parse_failed(
                "$.args.source",
                format!(
                    "parsing Text failed, expected String, but encountered {}",
                    json_kind(other)
                ),
            ))
        }
    };
    let found = match schema.sources.is_empty() {
        true => (name == "default").then_some(0),
        false => schema.sources.iter().position(|s| &s.name == name),
    };
    found.ok_or_else(|| {
        Error::new(
            ErrorCode::NotExists,
            "$.args",
            format!("source with name {:?} does not exist", name),
        )
    })
}

/// `table`: `"name"` (schema `public`) or `{"schema", "name"}`, a table of source `source`.
fn table_arg(schema: &Schema, fields: &Fields, source: usize) -> Result<TableId> {
    let name = match get(fields, "table") {
        Some(Value::String(n)) => QualifiedName::new("public", n.clone()),
        Some(o @ Value::Object(_)) => {
            let s = match o.get("schema") {
                Some(Value::String(s)) => s.clone(),
                _ => String::from("public"),
            };
            let Some(Value::String(n)) = o.get("name") else {
                return Err(parse_failed("$.args.table", "key \"name\" not found"));
            };
            QualifiedName::new(s, n.clone())
        }
        Some(other) => {
            return Err(parse_failed(
                "$.args.table",
                format!(
                    "parsing QualifiedTable failed, expected String or Object, but encountered {}",
                    json_kind(other)
                ),
            ))
        }
        None => return Err(parse_failed("$.args", "key \"table\" not found")),
    };
    let shown = if name.schema == "public" {
        name.name.clone()
    } else {
        format!("{}.{}", name.schema, name.name)
    };
    let (start, end) = match schema.sources.get(source) {
        None => (0, schema.tables.len()),
        Some(s) => (
            source
                .checked_sub(1)
                .map_or(0, |p| schema.sources[p].tables_end),
            s.tables_end,
        ),
    };
    let end = end.min(schema.tables.len());
    let found = schema.tables[start.min(end)..end]
        .iter()
        .position(|t| t.name == name)
        .map(|i| start + i);
    found.ok_or_else(|| {
        Error::new(
            ErrorCode::NotExists,
            "$.args.table",
            format!("table {:?} does not exist", shown),
        )
    })
}

/// `limit`/`offset`: a non-negative integer (Hasura's messages and paths).
fn non_negative(fields: &Fields, key: &str) -> Result<Option<Value>> {
    match get(fields, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if n.starts_with('-') {
                return Err(Error::new(
                    ErrorCode::NotSupported,
                    format!("$.args.{}", key),
                    "unexpected negative value",
                ));
            }
            if n.parse::<u64>().is_err() {
                return Err(parse_failed(
                    &format!("$.{}", key),
                    "parsing Int failed, unexpected floating number",
                ));
            }
            Ok(Some(Value::Number(n.clone())))
        }
        Some(other) => Err(parse_failed(
            &format!("$.{}", key),
            format!(
                "parsing Int failed, expected Number, but encountered {}",
                json_kind(other)
            ),
        )),
    }
}

fn leaf(name: &str, alias: Option<&str>) -> Selection {
    Selection::Field(Field {
        alias: alias.filter(|a| *a != name).map(ToOwned::to_owned),
        name: name.to_owned(),
        arguments: Vec::new(),
        directives: Vec::new(),
        selection_set: Vec::new(),
        pos: Pos::default(),
    })
}

fn node(name: &str, arguments: Vec<(String, Value)>, selection_set: Vec<Selection>) -> Field {
    Field {
        alias: None,
        name: name.to_owned(),
        arguments,
        directives: Vec::new(),
        selection_set,
        pos: Pos::default(),
    }
}

/// Validation of an operation against the role's permissions, and its translation.
struct Validator<'a> {
    schema: &'a Schema,
    session: &'a Session,
}

/// Which permission a column check is about (`permTypeToCode`).
#[derive(Clone, Copy)]
enum Kind {
    Select,
    Insert,
    Update,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Select => "select",
            Kind::Insert => "insert",
            Kind::Update => "update",
        }
    }
}

impl<'a> Validator<'a> {
    fn table_shown(&self, t: TableId) -> String {
        let n = &self.schema.tables[t].name;
        if n.schema == "public" {
            n.name.clone()
        } else {
            format!("{}.{}", n.schema, n.name)
        }
    }

    /// `askPermInfo`: the role's permission of `kind` on `t`, or Hasura's permission-denied.
    fn require(&self, t: TableId, kind: &str, suffix: &str) -> Result<()> {
        if self.session.is_admin() {
            return Ok(());
        }
        let perms = self.schema.tables[t].permissions.get(&self.session.role);
        let has = perms.is_some_and(|p| match kind {
            "select" => p.select.is_some(),
            "insert" => p.insert.is_some(),
            "update" => p.update.is_some(),
            _ => p.delete.is_some(),
        });
        if has {
            return Ok(());
        }
        Err(denied(
            "$.args",
            format!(
                "{} on {:?} for role {:?} is not allowed. {}",
                kind,
                self.table_shown(t),
                self.session.role,
                suffix
            ),
        ))
    }

    /// `checkPermOnCol`: the column (Postgres name) exists and the role may use it this way.
    fn column(&self, t: TableId, name: &str, kind: Kind, path: &str) -> Result<usize> {
        let table = &self.schema.tables[t];
        let c = table.column(name);
        let perms = table.permissions.get(&self.session.role);
        let allowed = |c: usize| -> bool {
            if self.session.is_admin() {
                return true;
            }
            perms.is_some_and(|p| match kind {
                Kind::Select => p.select.as_ref().is_some_and(|s| s.columns.contains(&c)),
                Kind::Insert => p.insert.as_ref().is_some_and(|s| s.columns.contains(&c)),
                Kind::Update => p.update.as_ref().is_some_and(|s| s.columns.contains(&c)),
            })
        };
        match c {
            Some(c) if allowed(c) => Ok(c),
            _ if self.session.is_admin() => {
                Err(denied(path, format!("no such column exists: {:?}", name)))
            }
            _ => Err(denied(
                path,
                format!(
                    "role {:?} does not have permission to {} column {:?}",
                    self.session.role,
                    kind.name(),
                    name
                ),
            )),
        }
    }

    /// A value for column `c` as GraphQL spells it: a column referencing an enum table takes
    /// enum values (RQL sends them as strings).
    fn col_value(&self, t: TableId, c: usize, v: &Value) -> Value {
        if self.schema.tables[t].columns[c].enum_table.is_some() {
            enumify(v)
        } else {
            v.clone()
        }
    }

    fn gql(&self, t: TableId, c: usize) -> &'a str {
        &self.schema.tables[t].columns[c].gql_name
    }

    /// The GraphQL selection of `columns` (names, `"*"`, nested relationship objects).
    fn columns(&self, t: TableId, v: Option<&Value>, path: &str) -> Result<Vec<Selection>> {
        let cpath = format!("{}.columns", path);
        let items = match v {
            Some(Value::List(items)) => items.as_slice(),
            None => return Err(parse_failed(path, "key \"columns\" not found")),
            Some(other) => {
                return Err(parse_failed(
                    &cpath,
                    format!(
                        "parsing [SelCol] failed, expected Array, but encountered {}",
                        json_kind(other)
                    ),
                ))
            }
        };
        let table = &self.schema.tables[t];
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{}[{}]", cpath, i);
            match item {
                Value::String(s) if s == "*" => {
                    for col in &table.columns {
                        if self.column(t, &col.name, Kind::Select, &p).is_ok() {
                            out.push(leaf(&col.gql_name, Some(&col.name)));
                        }
                    }
                }
                Value::String(s) => {
                    let c = self.column(t, s, Kind::Select, &p)?;
                    out.push(leaf(self.gql(t, c), Some(s)));
                }
                Value::Object(o) => out.push(Selection::Field(self.relationship(t, o, &p)?)),
                other => {
                    return Err(parse_failed(
                        &p,
                        format!(
                            "parsing SelCol failed, expected String or Object, but encountered {}",
                            json_kind(other)
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// A nested `{name, alias?, columns, where?, order_by?, limit?, offset?}`.
    fn relationship(&self, t: TableId, o: &Fields, path: &str) -> Result<Field> {
        let Some(Value::String(name)) = get(o, "name") else {
            return Err(parse_failed(path, "key \"name\" not found"));
        };
        let table = &self.schema.tables[t];
        let Some(rel) = table.relationship(name) else {
            return Err(Error::new(
                ErrorCode::NotExists,
                path,
                format!(
                    "relationship {:?} does not exist in table {:?}",
                    name,
                    self.table_shown(t)
                ),
            ));
        };
        let mut f = self.select_field(rel.target, o, path)?;
        if rel.kind == RelKind::Object {
            f.arguments.clear();
        }
        f.name = name.clone();
        f.alias = match get(o, "alias") {
            Some(Value::String(a)) if a != name => Some(a.clone()),
            _ => None,
        };
        Ok(f)
    }

    /// The list field of a select (top level or an array relationship).
    fn select_field(&self, t: TableId, fields: &Fields, path: &str) -> Result<Field> {
        self.require(t, "select", "")?;
        let selection = self.columns(t, get(fields, "columns"), path)?;
        let mut args = Vec::new();
        if let Some(w) = get(fields, "where") {
            args.push((String::from("where"), self.where_value(t, w, 0)?));
        }
        if let Some(o) = get(fields, "order_by") {
            args.push((String::from("order_by"), self.order_by(t, o, path)?));
        }
        for k in ["limit", "offset"] {
            if let Some(n) = non_negative(fields, k)? {
                args.push((String::from(k), n));
            }
        }
        let name = self.schema.tables[t].root_fields.select.clone();
        Ok(node(&name, args, selection))
    }

    /// A boolean expression with Postgres column names and `$` operators, as a GraphQL one.
    fn where_value(&self, t: TableId, v: &Value, depth: usize) -> Result<Value> {
        if depth > super::MAX_ARGUMENT_NESTING {
            return Err(Error::validation(
                "$.args.where",
                "the argument is nested too deeply",
            ));
        }
        let Value::Object(fields) = v else {
            return Ok(v.clone());
        };
        let table = &self.schema.tables[t];
        let mut out = Vec::with_capacity(fields.len());
        for (k, val) in fields {
            let bare = k.strip_prefix('$').or_else(|| k.strip_prefix('_'));
            let item = match (bare, table.column(k), table.relationship(k)) {
                (Some(op @ ("and" | "or")), _, _) => {
                    let list = match val {
                        Value::List(items) => items
                            .iter()
                            .map(|i| self.where_value(t, i, depth + 1))
                            .collect::<Result<_>>()?,
                        other => alloc::vec![self.where_value(t, other, depth + 1)?],
                    };
                    (format!("_{}", op), Value::List(list))
                }
                (Some("not"), _, _) => (String::from("_not"), self.where_value(t, val, depth + 1)?),
                (_, Some(c), _) => (
                    String::from(self.gql(t, c)),
                    match val {
                        Value::Object(_) => self.col_value(t, c, &operators(val, depth + 1)?),
                        other => Value::Object(alloc::vec![(
                            String::from("_eq"),
                            self.col_value(t, c, other)
                        )]),
                    },
                ),
                (_, None, Some(rel)) => (k.clone(), self.where_value(rel.target, val, depth + 1)?),
                _ => (k.clone(), val.clone()),
            };
            out.push(item);
        }
        Ok(Value::Object(out))
    }

    /// `order_by`: `"+col"`, `"-col"`, `"rel.col"`, `{column, type, nulls}`, or a list of them.
    fn order_by(&self, t: TableId, v: &Value, path: &str) -> Result<Value> {
        let items = match v {
            Value::List(items) => items.clone(),
            other => alloc::vec![other.clone()],
        };
        let p = format!("{}.order_by", path);
        let mut out = Vec::new();
        for item in &items {
            let (column, desc, nulls) = match item {
                Value::String(s) => match s.strip_prefix('-') {
                    Some(rest) => (rest.to_owned(), true, None),
                    None => (s.strip_prefix('+').unwrap_or(s).to_owned(), false, None),
                },
                Value::Object(o) => {
                    let Some(Value::String(c)) = get(o, "column") else {
                        return Err(parse_failed(&p, "key \"column\" not found"));
                    };
                    let desc = matches!(get(o, "type"), Some(Value::String(s)) if s == "desc");
                    let nulls = match get(o, "nulls") {
                        Some(Value::String(n)) if n == "first" || n == "last" => Some(n.clone()),
                        _ => None,
                    };
                    (c.clone(), desc, nulls)
                }
                _ => return Err(parse_failed(&p, "expected a string or an object")),
            };
            let dir = match (desc, nulls.as_deref()) {
                (false, None) => "asc",
                (true, None) => "desc",
                (false, Some(n)) => {
                    if n == "first" {
                        "asc_nulls_first"
                    } else {
                        "asc_nulls_last"
                    }
                }
                (true, Some(n)) => {
                    if n == "first" {
                        "desc_nulls_first"
                    } else {
                        "desc_nulls_last"
                    }
                }
            };
            out.push(self.order_path(t, &column, dir, &p)?);
        }
        Ok(Value::List(out))
    }

    /// `rel.rel2.col` → `{rel: {rel2: {col: dir}}}` with GraphQL column names.
    fn order_path(&self, t: TableId, column: &str, dir: &str, path: &str) -> Result<Value> {
        let mut parts: Vec<&str> = column.split('.').collect();
        let Some(last) = parts.pop() else {
            return Err(parse_failed(path, "empty column"));
        };
        let mut table = t;
        let mut keys = Vec::new();
        for rel_name in parts {
            let Some(rel) = self.schema.tables[table].relationship(rel_name) else {
                return Err(Error::new(
                    ErrorCode::NotExists,
                    path,
                    format!("relationship {:?} does not exist", rel_name),
                ));
            };
            keys.push(String::from(rel_name));
            table = rel.target;
        }
        let c = self.column(table, last, Kind::Select, path)?;
        let mut v = Value::Object(alloc::vec![(
            String::from(self.gql(table, c)),
            Value::Enum(String::from(dir))
        )]);
        while let Some(k) = keys.pop() {
            v = Value::Object(alloc::vec![(k, v)]);
        }
        Ok(v)
    }

    /// `affected_rows` and, when asked, `returning { columns }`.
    fn response(&self, t: TableId, fields: &Fields) -> Result<Vec<Selection>> {
        let mut out = alloc::vec![leaf("affected_rows", None)];
        let Some(r) = get(fields, "returning") else {
            return Ok(out);
        };
        let Value::List(items) = r else {
            return Err(parse_failed("$.args.returning", "expected an array"));
        };
        let mut cols = Vec::new();
        for item in items {
            let Value::String(s) = item else {
                return Err(parse_failed("$.args.returning", "expected a column name"));
            };
            let c = self.column(t, s, Kind::Select, "$.args.returning")?;
            cols.push(leaf(self.gql(t, c), Some(s)));
        }
        out.push(Selection::Field(node("returning", Vec::new(), cols)));
        Ok(out)
    }

    fn insert_field(&self, t: TableId, fields: &Fields) -> Result<Field> {
        self.require(t, "insert", "")?;
        let response = self.response(t, fields)?;
        let objects = match get(fields, "objects") {
            Some(Value::List(items)) => items.clone(),
            Some(o @ Value::Object(_)) => alloc::vec![o.clone()],
            Some(_) => return Err(parse_failed("$.args.objects", "expected an array")),
            None => return Err(parse_failed("$.args", "key \"objects\" not found")),
        };
        let mut inserted: Vec<usize> = Vec::new();
        let mut objs = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            let p = format!("$.args.objects[{}]", i);
            let Value::Object(cols) = o else {
                return Err(parse_failed(&p, "expected an object"));
            };
            let mut out = Vec::with_capacity(cols.len());
            for (k, v) in cols {
                let c = self.column(t, k, Kind::Insert, &p)?;
                if !inserted.contains(&c) {
                    inserted.push(c);
                }
                out.push((String::from(self.gql(t, c)), self.col_value(t, c, v)));
            }
            objs.push(Value::Object(out));
        }
        let mut args = alloc::vec![(String::from("objects"), Value::List(objs))];
        if let Some(oc) = get(fields, "on_conflict").filter(|v| !v.is_null()) {
            args.push((
                String::from("on_conflict"),
                self.on_conflict(t, oc, &inserted)?,
            ));
        }
        let name = self.schema.tables[t].root_fields.insert.clone();
        Ok(node(&name, args, response))
    }

    /// `{constraint | constraint_on, action: ignore | update, update_columns?}`.
    fn on_conflict(&self, t: TableId, v: &Value, inserted: &[usize]) -> Result<Value> {
        let path = "$.args.on_conflict";
        let Value::Object(o) = v else {
            return Err(parse_failed(path, "expected an object"));
        };
        let table = &self.schema.tables[t];
        let update = match get(o, "action") {
            Some(Value::String(a)) if a == "update" => true,
            Some(Value::String(a)) if a == "ignore" => false,
            Some(_) => {
                return Err(parse_failed(
                    &format!("{}.action", path),
                    "expected one of \"ignore\", \"update\"",
                ))
            }
            None => {
                return Err(parse_failed(
                    "$.on_conflict",
                    "the key 'action' was not present",
                ))
            }
        };
        let constraint = match (get(o, "constraint"), get(o, "constraint_on")) {
            (Some(Value::String(n)), _) => n.clone(),
            (_, Some(Value::List(cols))) => {
                let mut ids = Vec::new();
                for (i, c) in cols.iter().enumerate() {
                    let p = format!("{}.constraint_on[{}]", path, i);
                    let found = match c {
                        Value::String(n) => table.column(n).ok_or_else(|| {
                            Error::new(
                                ErrorCode::NotExists,
                                &p,
                                format!("column {:?} does not exist", n),
                            )
                        })?,
                        _ => return Err(parse_failed(&p, "expected a column name")),
                    };
                    ids.push(found);
                }
                ids.sort_unstable();
                let uc = table.unique_constraints.iter().find(|u| {
                    let mut cs = u.columns.clone();
                    cs.sort_unstable();
                    cs == ids
                });
                match uc {
                    Some(u) => u.name.clone(),
                    None => {
                        return Err(Error::new(
                            ErrorCode::NotExists,
                            format!("{}.constraint_on", path),
                            "constraint doesn't exist with given columns",
                        ))
                    }
                }
            }
            _ => {
                return Err(parse_failed(
                    path,
                    "one of \"constraint\" or \"constraint_on\" is expected",
                ))
            }
        };
        let mut update_columns = Vec::new();
        if update {
            let cols: Vec<usize> = match get(o, "update_columns") {
                Some(Value::List(items)) => {
                    let mut ids = Vec::new();
                    for item in items {
                        let Value::String(n) = item else {
                            return Err(parse_failed(path, "expected a column name"));
                        };
                        ids.push(self.column(t, n, Kind::Update, path)?);
                    }
                    ids
                }
                _ => inserted.to_vec(),
            };
            for c in cols {
                update_columns.push(Value::Enum(String::from(self.gql(t, c))));
            }
        }
        Ok(Value::Object(alloc::vec![
            (String::from("constraint"), Value::Enum(constraint)),
            (String::from("update_columns"), Value::List(update_columns)),
        ]))
    }

    /// What `update` and `delete` share: the permission (which needs the select permission
    /// too, as `where` does), the response selection and the required `where`.
    fn filtered(&self, t: TableId, fields: &Fields, kind: &str) -> Result<(Vec<Selection>, Value)> {
        self.require(t, kind, "")?;
        let why = format!(
            "; {:?} is only allowed if the role has \"select\" permission as \"where\" can't be used without \"select\" permission on the table",
            kind
        );
        self.require(t, "select", &why)?;
        let response = self.response(t, fields)?;
        let Some(w) = get(fields, "where") else {
            return Err(parse_failed("$", "key \"where\" not found"));
        };
        Ok((response, self.where_value(t, w, 0)?))
    }

    fn update_field(&self, t: TableId, fields: &Fields) -> Result<Field> {
        let (response, w) = self.filtered(t, fields, "update")?;
        let mut args = alloc::vec![(String::from("where"), w)];
        let presets: Vec<usize> = match self.schema.tables[t].permissions.get(&self.session.role) {
            Some(p) if !self.session.is_admin() => p
                .update
                .as_ref()
                .map(|u| u.set.iter().map(|(c, _)| *c).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut any = false;
        for op in ["$set", "$inc", "$mul", "$default"] {
            let Some(v) = get(fields, op).filter(|v| !v.is_null()) else {
                continue;
            };
            any = true;
            let p = key_path("$.args", op);
            let mut cols = Vec::new();
            let check = |name: &str| -> Result<usize> {
                let c = self.column(t, name, Kind::Update, &p);
                let preset = self.schema.tables[t]
                    .column(name)
                    .filter(|c| presets.contains(c));
                if let Some(_c) = preset {
                    return Err(Error::new(
                        ErrorCode::NotSupported,
                        &p,
                        format!(
                            "column {:?} is not updatable for role {:?}; its value is predefined in permission",
                            name, self.session.role
                        ),
                    ));
                }
                c
            };
            let value = match (op, v) {
                ("$default", Value::List(items)) => {
                    for item in items {
                        let Value::String(n) = item else {
                            return Err(parse_failed(&p, "expected a column name"));
                        };
                        let c = check(n)?;
                        cols.push(Value::Enum(String::from(self.gql(t, c))));
                    }
                    Value::List(cols)
                }
                (_, Value::Object(o)) if op != "$default" => {
                    let mut out = Vec::new();
                    for (k, cv) in o {
                        let c = check(k)?;
                        let cv = if op == "$set" {
                            self.col_value(t, c, cv)
                        } else {
                            cv.clone()
                        };
                        out.push((String::from(self.gql(t, c)), cv));
                    }
                    Value::Object(out)
                }
                _ => return Err(parse_failed(&p, "unexpected value")),
            };
            args.push((format!("_{}", &op[1..]), value));
        }
        // Without operators the update only applies the role's presets (Hasura allows it
        // when there are some).
        if !any && presets.is_empty() {
            return Err(Error::new(
                ErrorCode::NotSupported,
                "$.args",
                "atleast one of $set, $inc, $mul, $default has to be present",
            ));
        }
        let name = self.schema.tables[t].root_fields.update.clone();
        Ok(node(&name, args, response))
    }

    fn delete_field(&self, t: TableId, fields: &Fields) -> Result<Field> {
        let (response, w) = self.filtered(t, fields, "delete")?;
        let args = alloc::vec![(String::from("where"), w)];
        let name = self.schema.tables[t].root_fields.delete.clone();
        Ok(node(&name, args, response))
    }
}

/// Strings (also inside lists and operator objects) as enum values.
fn enumify(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::Enum(s.clone()),
        Value::List(items) => Value::List(items.iter().map(enumify).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), enumify(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The operators of one column: `$op` → `_op`, `$cast: {type: {…}}` recursively.
fn operators(v: &Value, depth: usize) -> Result<Value> {
    if depth > super::MAX_ARGUMENT_NESTING {
        return Err(Error::validation(
            "$.args.where",
            "the argument is nested too deeply",
        ));
    }
    let Value::Object(fields) = v else {
        return Ok(v.clone());
    };
    let mut out = Vec::with_capacity(fields.len());
    for (k, val) in fields {
        let name = match k.strip_prefix('$') {
            Some(rest) => format!("_{}", rest),
            None => k.clone(),
        };
        // RQL also spells `_neq` as `_ne`.
        let name = if name == "_ne" {
            String::from("_neq")
        } else {
            name
        };
        let val = if name == "_cast" {
            match val {
                Value::Object(types) => Value::Object(
                    types
                        .iter()
                        .map(|(ty, ops)| Ok((ty.clone(), operators(ops, depth + 1)?)))
                        .collect::<Result<_>>()?,
                ),
                other => other.clone(),
            }
        } else {
            val.clone()
        };
        out.push((name, val));
    }
    Ok(Value::Object(out))
}

/// `count {table, where, distinct}`: `{"count": n}` over the rows the role may select.
fn count(
    schema: &Schema,
    session: &Session,
    options: &Options,
    t: TableId,
    fields: &Fields,
) -> Result<Plan> {
    let v = Validator { schema, session };
    v.require(
        t,
        "select",
        "; \"count\" is only allowed if the role has \"select\" permissions on the table",
    )?;
    let mut distinct = Vec::new();
    if let Some(d) = get(fields, "distinct").filter(|d| !d.is_null()) {
        let Value::List(items) = d else {
            return Err(parse_failed("$.args.distinct", "expected an array"));
        };
        for (i, item) in items.iter().enumerate() {
            let p = format!("$.args.distinct[{}]", i);
            let Value::String(n) = item else {
                return Err(parse_failed(&p, "expected a column name"));
            };
            distinct.push(v.column(t, n, Kind::Select, &p)?);
        }
    }
    let where_v = match get(fields, "where") {
        Some(w) => Some(v.where_value(t, w, 0)?),
        None => None,
    };
    let mut ctx = new_ctx(schema, session, options, schema.source_of_table(t));
    let Some(perm) = ctx.perm(t) else {
        return Err(denied("$.args", String::from("select is not allowed")));
    };
    let alias = ctx.alias();
    let mut conds = Vec::new();
    conds.extend(boolexp::permission_filter(&mut ctx, perm, t, &alias)?);
    if let Some(w) = &where_v {
        let scope = Scope::new(t, &alias);
        conds.extend(boolexp::compile(
            &mut ctx,
            &scope,
            w,
            "$.args.where",
            Mode::User,
        )?);
    }
    let table = &schema.tables[t];
    let mut from = format!("{} AS {}", sql::qualified(&table.name), sql::ident(&alias));
    if let Some(w) = boolexp::and(conds) {
        from = format!("{} WHERE {}", from, w);
    }
    let body = if distinct.is_empty() {
        format!("SELECT count(*) AS \"c\" FROM {}", from)
    } else {
        let cols: Vec<String> = distinct
            .iter()
            .map(|c| {
                format!(
                    "{}.{}",
                    sql::ident(&alias),
                    sql::ident(&table.columns[*c].name)
                )
            })
            .collect();
        let inner = ctx.alias();
        format!(
            "SELECT count(*) AS \"c\" FROM (SELECT DISTINCT {} FROM {}) AS {}",
            cols.join(", "),
            from,
            sql::ident(&inner)
        )
    };
    let sql = format!(
        "SELECT json_build_object('count', \"n\".\"c\") AS \"data\" FROM ({}) AS \"n\"",
        body
    );
    Ok(query_plan(ctx, sql))
}
