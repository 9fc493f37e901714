//! The compiler pipeline: parse → pick the operation → collect root fields → for each root field
//! build a SQL scalar subquery that yields its JSON (permissions applied while building) → one
//! statement `SELECT json_build_object(<key>, <subquery>, ...)`.
//!
//! Every user value becomes a bind parameter through [`Ctx::param`]; identifiers go through
//! [`sql::ident`]; aliases come from a counter so the SQL is deterministic.
mod action;
mod boolexp;
pub(crate) mod dataops;
mod federation;
mod mutation;
pub(crate) mod normalize;
mod order;
mod relay;
mod remote;
pub(crate) use remote::value_text as remote_value_text;
mod select;
pub(crate) mod sql;
mod stream;
mod values;

pub use mutation::CATALOG_SQL;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Schema, SelectPermission, TableId};
use crate::parse::ast::{Directive, Document, Fragment, OperationKind, VariableDefinition};
use crate::plan::{Cached, Encoding, ParamSpec, Plan, PlanKind, Slot};
use crate::session::Session;
use crate::value::Value;
use crate::{Options, Request};

/// State of one compilation.
pub struct Ctx<'a> {
    pub schema: &'a Schema,
    pub session: &'a Session,
    pub opts: &'a Options,
    pub variables: &'a [(String, Value)],
    pub var_defs: &'a [VariableDefinition],
    pub fragments: &'a [Fragment],
    pub params: Vec<ParamSpec>,
    pub shaping: Vec<String>,
    /// Set when the SQL calls a user function (see [`crate::Plan::calls_functions`]).
    pub calls_functions: bool,
    next_alias: usize,
    /// Levels of argument walks entered (see [`Ctx::enter`]).
    nesting: usize,
    /// Compiling a `/v1/query` data operation ([`dataops`]): the mutation's field is the whole
    /// answer (no `data` object, paths from `$`), and `update` also takes `_mul`/`_default`.
    pub rql: bool,
    /// The namespaced source whose root fields are being compiled (`None`: the root, where
    /// the sources without a namespace are).
    pub scope: Option<usize>,
    /// Remote relationships met in the selection (see [`crate::RemoteJoin`]).
    pub remote_joins: Vec<crate::RemoteJoin>,
    /// Compiling a subscription: parameters are read from the cohort's variables
    /// (`"_subs"."result_vars"->>i`) instead of `$n` (see [`PlanKind::Subscription`]).
    pub multiplexed: bool,
    /// The operation's name (kept in the documents sent to remote schemas).
    pub operation_name: Option<&'a str>,
}

/// Most levels of a recursive walk over one argument (boolean expressions with their
/// relationship paths, `order_by` relationship paths), literals and the variables substituted
/// into them together: each alone is already bounded by the parser or by
/// [`crate::encode::MAX_VALUE_DEPTH`], but a variable can sit at the bottom of a deep literal.
pub const MAX_ARGUMENT_NESTING: usize = crate::parse::MAX_DEPTH;
/// The levels of [`MAX_ARGUMENT_NESTING`] one nested insert (`{rel: {data: {…}}}`) counts for:
/// at most 64 nested inserts (what the parser allows in a literal), whose compilation takes
/// ~7 KB of stack per level in a debug build (`core/tests/bounds.rs` `nested_inserts`).
pub const NESTED_INSERT_LEVELS: usize = 2;

/// The select permission in force for a table: admin sees everything.
#[derive(Clone, Copy)]
pub enum Perm<'a> {
    Admin,
    Role(&'a SelectPermission),
}

impl<'a> Perm<'a> {
    pub fn column(&self, c: usize) -> bool {
        match self {
            Perm::Admin => true,
            Perm::Role(p) => p.columns.contains(&c),
        }
    }
    pub fn computed(&self, name: &str) -> bool {
        match self {
            Perm::Admin => true,
            Perm::Role(p) => p.computed_fields.iter().any(|n| n == name),
        }
    }
    pub fn filter(&self) -> Option<&'a Value> {
        match self {
            Perm::Admin => None,
            Perm::Role(p) => match &p.filter {
                Value::Object(f) if f.is_empty() => None,
                f => Some(f),
            },
        }
    }
    pub fn limit(&self) -> Option<u64> {
        match self {
            Perm::Admin => None,
            Perm::Role(p) => p.limit,
        }
    }
    pub fn aggregations(&self) -> bool {
        match self {
            Perm::Admin => true,
            Perm::Role(p) => p.allow_aggregations,
        }
    }
    pub fn root_field(&self, kind: &str) -> bool {
        match self {
            Perm::Admin => true,
            Perm::Role(p) => listed(&p.query_root_fields, kind),
        }
    }
    /// Whether the role's `subscription_root_fields` (all when absent) include `kind`.
    pub fn subscription_root_field(&self, kind: &str) -> bool {
        match self {
            Perm::Admin => true,
            Perm::Role(p) => listed(&p.subscription_root_fields, kind),
        }
    }
    pub fn computed_filter(&self, name: &str) -> Option<&'a Value> {
        match self {
            Perm::Admin => None,
            Perm::Role(p) => p.computed_field_filters.get(name),
        }
    }
    pub fn column_filter(&self, c: usize) -> Option<&'a Value> {
        match self {
            Perm::Admin => None,
            Perm::Role(p) => p.column_filters.get(&c),
        }
    }
}

/// Whether a role's list of root-field kinds (all when absent) includes `kind`.
fn listed(list: &Option<Vec<String>>, kind: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|k| k == kind))
}

impl<'a> Ctx<'a> {
    pub fn is_admin(&self) -> bool {
        self.session.is_admin()
    }

    /// The role's select permission on a table, `None` when the role cannot read it.
    pub fn perm(&self, t: TableId) -> Option<Perm<'a>> {
        if self.is_admin() {
            return Some(Perm::Admin);
        }
        let schema: &'a Schema = self.schema;
        schema
            .tables
            .get(t)?
            .permissions
            .get(&self.session.role)?
            .select
            .as_ref()
            .map(Perm::Role)
    }

    /// Enters one level of a recursive walk over an argument; [`Ctx::leave`] leaves it. Beyond
    /// [`MAX_ARGUMENT_NESTING`] levels: `validation-failed` at `path`.
    pub fn enter(&mut self, path: &str) -> Result<()> {
        self.enter_by(1, path)
    }

    fn enter_by(&mut self, levels: usize, path: &str) -> Result<()> {
        if self.nesting + levels > MAX_ARGUMENT_NESTING {
            return Err(Error::validation(
                path,
                format!(
                    "the argument is nested too deeply (more than {} levels)",
                    MAX_ARGUMENT_NESTING
                ),
            ));
        }
        self.nesting += levels;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// Runs `f` one nested insert deeper: a nested insert counts as
    /// [`NESTED_INSERT_LEVELS`] levels of [`MAX_ARGUMENT_NESTING`] (its frames are large).
    pub fn nested_insert<T>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.enter_by(NESTED_INSERT_LEVELS, path)?;
        let out = f(self);
        self.nesting = self.nesting.saturating_sub(NESTED_INSERT_LEVELS);
        out
    }

    /// The generated name (Hasura's default spelling: `order_by`, `_is_null`, `asc`) a
    /// client's argument, operator, field or `order_by` value `name` stands for in table `t`'s
    /// source (see [`crate::customize::Customization::canonical`]).
    pub fn canon<'n>(&self, t: TableId, name: &'n str) -> alloc::borrow::Cow<'n, str> {
        match self.schema.customization_of_table(t) {
            Some(c) => c.canonical(name),
            None => alloc::borrow::Cow::Borrowed(name),
        }
    }

    /// The relationship name in an array relationship's aggregate field `key` of table `t`
    /// (`articles_aggregate`; `articlesAggregate` under `graphql-default`).
    pub fn rel_aggregate<'k>(&self, t: TableId, key: &'k str) -> Option<&'k str> {
        match self.schema.customization_of_table(t) {
            Some(c) if c.graphql_default() => key.strip_suffix("Aggregate"),
            _ => key.strip_suffix("_aggregate"),
        }
    }

    /// The client's spelling of generated name `name` in table `t`'s source (for messages).
    pub fn spelled(&self, t: TableId, name: &str) -> String {
        match self.schema.customization_of_table(t) {
            Some(c) => c.generated(name),
            None => String::from(name),
        }
    }

    /// The (customized) name of a type table `t`'s source generates.
    pub fn type_name(&self, t: TableId, name: String) -> String {
        if self.schema.sources.is_empty() {
            return name;
        }
        self.schema.type_name(self.schema.source_of_table(t), &name)
    }

    pub fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("_{}", self.next_alias)
    }

    /// Adds a bind parameter and returns its placeholder (`$3`).
    pub fn param(&mut self, spec: ParamSpec) -> String {
        // Identical variable / session parameters share one placeholder. Constants do not: the
        // same literal may be cast to types with no cast between them (`12.5` for a `real` and a
        // `money` column), and a transport that lets Postgres infer parameter types (Neon's
        // protocol) types a shared placeholder by its first cast.
        let shared = !matches!(spec, ParamSpec::Const(_));
        if let Some(i) = self.params.iter().position(|p| shared && p == &spec) {
            return self.placeholder(i);
        }
        self.params.push(spec);
        self.placeholder(self.params.len() - 1)
    }

    /// A parameter that is never shared with another (a stream's cursor, which the host
    /// replaces between runs): its index in `params` and its placeholder.
    pub fn own_param(&mut self, spec: ParamSpec) -> (usize, String) {
        self.params.push(spec);
        let i = self.params.len() - 1;
        (i, self.placeholder(i))
    }

    /// The SQL that reads parameter `i` (0-based): `$i+1`, or in a multiplexed subscription
    /// the cohort's `i`-th value (text or NULL, like a bound parameter).
    fn placeholder(&self, i: usize) -> String {
        if self.multiplexed {
            format!("(\"_subs\".\"result_vars\"->>{})", i)
        } else {
            format!("${}", i + 1)
        }
    }

    /// A variable's value: the request's, else the definition's default, else null.
    pub fn variable(&self, name: &str) -> Result<Value> {
        if let Some((_, v)) = self.variables.iter().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        match self.var_defs.iter().find(|d| d.name == name) {
            Some(d) => Ok(d.default.clone().unwrap_or(Value::Null)),
            None => Err(Error::validation(
                "$",
                format!("unbound variable \"{}\"", name),
            )),
        }
    }

    fn mark_shaping(&mut self, name: &str) {
        if !self.shaping.iter().any(|n| n == name) {
            self.shaping.push(name.to_owned());
        }
    }

    /// The value with every variable substituted; those variables become shaping (the plan is
    /// only valid for their current values).
    pub fn shaping_value(&mut self, v: &Value) -> Result<Value> {
        Ok(match v {
            Value::Variable(name) => {
                self.mark_shaping(name);
                self.variable(name)?
            }
            Value::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.shaping_value(i))
                    .collect::<Result<_>>()?,
            ),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, i)| Ok((k.clone(), self.shaping_value(i)?)))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }

    /// A leaf value as a bind parameter: a variable stays a variable parameter (so the plan can
    /// be re-bound), a literal becomes a constant. A variable whose current value is null makes
    /// the plan shaping on it (null collapses conditions).
    pub fn leaf_param(&mut self, v: &Value, encoding: Encoding) -> Result<String> {
        match v {
            Value::Variable(name) => {
                let current = self.variable(name)?;
                if current.is_null() {
                    self.mark_shaping(name);
                }
                // Non-null now; record that null-ness matters too.
                self.mark_shaping_nullness(name);
                Ok(self.param(ParamSpec::Variable {
                    name: name.clone(),
                    path: Vec::new(),
                    encoding,
                }))
            }
            other => {
                let v = self.shaping_value(other)?;
                let text = crate::encode::encode(&v, encoding)?;
                Ok(self.param(ParamSpec::Const(text)))
            }
        }
    }

    /// A page offset: a variable holding a non-negative 32-bit integer becomes a bind parameter
    /// (`$n::int8`), so one plan serves every page; the plan is then only valid while the
    /// variable holds such an integer (recorded as `#name` in `shaping`; any other value —
    /// null, a string, a negative number — compiles again and gets its own plan or error).
    /// Literals (and other values) are validated and inlined as before.
    pub fn offset_sql(&mut self, v: &Value, path: &str) -> Result<Option<String>> {
        if let Value::Variable(name) = v {
            if matches!(self.variable(name)?, Value::Number(ref n) if crate::encode::is_page_int(n))
            {
                let key = format!("#{}", name);
                if !self.shaping.iter().any(|n| n == &key) {
                    self.shaping.push(key);
                }
                let p = self.param(ParamSpec::Variable {
                    name: name.clone(),
                    path: Vec::new(),
                    encoding: Encoding::Scalar,
                });
                return Ok(Some(format!("{}::\"pg_catalog\".\"int8\"", p)));
            }
        }
        // Hasura also accepts the offset as a numeric string (bigint input).
        let v = match self.resolve(v)? {
            Value::String(s) if s.parse::<u64>().is_ok() => Value::Number(s),
            other => other,
        };
        Ok(values::non_negative_int(self, &v, path)?.map(|o| format!("{}", o)))
    }

    fn mark_shaping_nullness(&mut self, name: &str) {
        // Null-ness of leaf variables changes the SQL (a null comparison is dropped), so it is
        // part of the plan's shape. Recorded as `?name` in `shaping` (value's null-ness only).
        let key = format!("?{}", name);
        if !self.shaping.iter().any(|n| n == &key) {
            self.shaping.push(key);
        }
    }

    /// The current value of a leaf (a variable's value, or the literal with variables inside
    /// substituted) for validation only: unlike [`Ctx::resolve`] it does not make the variable
    /// shaping, so callers must not let the result change the SQL.
    pub fn resolve_leaf(&self, v: &Value) -> Result<Value> {
        match v {
            Value::Variable(name) => self.variable(name),
            Value::List(items) => Ok(Value::List(
                items
                    .iter()
                    .map(|i| self.resolve_leaf(i))
                    .collect::<Result<_>>()?,
            )),
            Value::Object(fields) => Ok(Value::Object(
                fields
                    .iter()
                    .map(|(k, i)| Ok((k.clone(), self.resolve_leaf(i)?)))
                    .collect::<Result<_>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    /// Resolves a value that may be a variable one level deep (used before inspecting it).
    pub fn resolve(&mut self, v: &Value) -> Result<Value> {
        match v {
            Value::Variable(name) => {
                self.mark_shaping(name);
                self.variable(name)
            }
            other => Ok(other.clone()),
        }
    }
}

/// Appends `.name` to a JSON path.
pub fn sub(path: &str, name: &str) -> String {
    format!("{}.{}", path, name)
}

pub fn compile(
    schema: &Schema,
    session: &Session,
    request: &Request<'_>,
    options: &Options,
) -> Result<Plan> {
    let doc = crate::parse::parse(request.query)?;
    compile_document(schema, session, &doc, request, options)
}

pub fn compile_document(
    schema: &Schema,
    session: &Session,
    doc: &Document,
    request: &Request<'_>,
    options: &Options,
) -> Result<Plan> {
    let op = match request.operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|o| o.name.as_deref() == Some(name))
            .ok_or_else(|| {
                Error::validation(
                    "$",
                    format!("no such operation found in the document: \"{}\"", name),
                )
            })?,
        None => {
            if doc.operations.len() != 1 {
                return Err(Error::validation(
                    "$",
                    "exactly one operation has to be present in the document when operationName is not specified",
                ));
            }
            &doc.operations[0]
        }
    };
    crate::encode::check_depths(request.variables)?;
    normalize::check_operation(&doc.fragments, &op.selection_set, "$", options.max_depth)?;
    let mut ctx = Ctx {
        schema,
        session,
        opts: options,
        variables: request.variables,
        var_defs: &op.variables,
        fragments: &doc.fragments,
        params: Vec::new(),
        shaping: Vec::new(),
        calls_functions: false,
        next_alias: 0,
        nesting: 0,
        rql: false,
        scope: None,
        remote_joins: Vec::new(),
        multiplexed: false,
        operation_name: op.name.as_deref(),
    };
    for def in &op.variables {
        let given = request
            .variables
            .iter()
            .find(|(n, _)| n == &def.name)
            .map(|(_, v)| v);
        if def.ty.is_non_null() && def.default.is_none() && given.is_none_or(|v| v.is_null()) {
            return Err(Error::validation(
                "$",
                format!(
                    "expecting a value for non-nullable variable: \"{}\"",
                    def.name
                ),
            ));
        }
    }
    let root_type = match op.kind {
        OperationKind::Query => "query_root",
        OperationKind::Subscription => "subscription_root",
        OperationKind::Mutation => {
            let mut plan = mutation::compile(&mut ctx, &op.selection_set)?;
            plan.variable_types = variable_types(op);
            return Ok(plan);
        }
    };
    let sets = [op.selection_set.as_slice()];
    let fields = normalize::collect(&mut ctx, &sets, root_type)?;
    if op.kind == OperationKind::Subscription {
        return subscription(ctx, &fields, &op.directives, variable_types(op));
    }
    let sources = field_sources(schema, &fields, options);
    let mut introspection_bytes = 0usize;
    let mut types = None;
    let mut statics = Vec::new();
    for f in &fields {
        let value = match f.name() {
            "__typename" => Some(json_str(root_type)),
            "_service" if schema.apollo_federation.is_some() && !options.relay => {
                let path = sub("$.selectionSet", f.key());
                Some(federation::service(&mut ctx, f, &path)?)
            }
            "__schema" | "__type" => {
                if schema.introspection_disabled.contains(&session.role) {
                    return Err(Error::new(
                        ErrorCode::NotSupported,
                        "$",
                        format!("introspection is disabled for role: \"{}\"", session.role),
                    ));
                }
                // One type system for every introspection field of the operation.
                let ts = types.get_or_insert_with(|| {
                    crate::introspection::build(schema, &session.role, options)
                });
                let json = crate::introspection::resolve_root_field_in(
                    ts,
                    options,
                    f.field,
                    &doc.fragments,
                    request.variables,
                )?;
                // The answer is computed here, with the variables' values (`__type(name:
                // $name)`, `@include(if: $x)` inside): each of them shapes the plan, so a
                // cached plan is reused only for the same values.
                for d in &op.variables {
                    ctx.mark_shaping(&d.name);
                }
                // Aliases can repeat a large introspection field: the output is bounded across
                // the operation as it is within one field.
                introspection_bytes += json.len();
                if introspection_bytes > crate::introspection::MAX_OUTPUT {
                    return Err(Error::validation(
                        sub("$.selectionSet", f.key()),
                        "the introspection result is too large",
                    ));
                }
                Some(json)
            }
            _ => None,
        };
        statics.push(value);
    }
    let variable_types = variable_types(op);
    let called: Vec<Option<&crate::actions::Action>> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| match statics[i] {
            Some(_) => None,
            None => action::action_of(&ctx, f.name(), crate::actions::ActionRoot::Query)
                .or_else(|| action::async_result_of(&ctx, f.name())),
        })
        .collect();
    let remote: Vec<Option<(usize, crate::remote_schemas::RemoteRoot<'_>)>> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| match (&statics[i], called[i]) {
            (None, None) => remote::remote_of(&ctx, f.name(), "query"),
            _ => None,
        })
        .collect();
    let has_actions = called.iter().any(Option::is_some) || remote.iter().any(Option::is_some);
    let mut sources = sources;
    if has_actions
        && sources.is_empty()
        && (0..fields.len())
            .any(|i| statics[i].is_none() && called[i].is_none() && remote[i].is_none())
    {
        // One source: its fields are one part beside the actions.
        sources.push(0);
    }
    if sources.len() > 1 || has_actions {
        let mut parts = Vec::new();
        let mut slots: Vec<(String, Slot)> = Vec::new();
        let mut actions = Vec::new();
        let mut remotes = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let slot = match (&statics[i], called[i], remote[i]) {
                (Some(json), _, _) => Slot::Static(json.clone()),
                (None, None, Some((r, field))) => {
                    let path = sub("$.selectionSet", f.key());
                    remotes.push(remote::call(&mut ctx, r, field, f, &path, "query")?);
                    Slot::Remote(remotes.len() - 1)
                }
                (None, Some(a), _) => {
                    let path = sub("$.selectionSet", f.key());
                    actions.push(if a.root == crate::actions::ActionRoot::Query {
                        action::call(&mut ctx, a, f, &path)?
                    } else {
                        action::result_call(&mut ctx, a, f, &path)?
                    });
                    Slot::Action(actions.len() - 1)
                }
                (None, None, None) => Slot::Static(String::new()),
            };
            slots.push((f.key().to_owned(), slot));
        }
        for &s in &sources {
            ctx.params.clear();
            ctx.calls_functions = false;
            let mut exprs = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                if statics[i].is_some()
                    || called[i].is_some()
                    || remote[i].is_some()
                    || schema.root_source(f.name()).unwrap_or(sources[0]) != s
                {
                    continue;
                }
                let path = sub("$.selectionSet", f.key());
                slots[i].1 = Slot::Part(parts.len(), exprs.len());
                exprs.push(root_expr(&mut ctx, f, &path)?);
            }
            parts.push(Plan {
                kind: PlanKind::Query,
                source: s,
                sql: format!("SELECT json_build_array({}) AS \"data\"", exprs.join(", ")),
                params: core::mem::take(&mut ctx.params),
                shaping_variables: Vec::new(),
                variable_types: variable_types.clone(),
                steps: Vec::new(),
                calls_functions: ctx.calls_functions,
                cached: None,
                remote_joins: Vec::new(),
            });
        }
        if !ctx.remote_joins.is_empty() {
            return Err(Error::new(
                ErrorCode::NotSupported,
                "$",
                "remote relationships are not supported in a query over several sources",
            ));
        }
        return Ok(Plan::without_sql(
            PlanKind::Sources {
                parts,
                slots,
                actions,
                remotes,
            },
            ctx.shaping,
            variable_types,
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let path = sub("$.selectionSet", f.key());
        let expr = match &statics[i] {
            Some(json) if f.name() == "__typename" => sql::literal(json) + "::json",
            Some(json) => format!("{}::json", ctx.param(ParamSpec::Const(Some(json.clone())))),
            None => root_expr(&mut ctx, f, &path)?,
        };
        pairs.push((f.key().to_owned(), expr));
    }
    if statics.iter().all(Option::is_some) {
        let mut json = String::from("{");
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            crate::encode::write_json_string(&mut json, f.key());
            json.push(':');
            json.push_str(statics[i].as_deref().unwrap_or("null"));
        }
        json.push('}');
        return Ok(Plan::without_sql(
            PlanKind::Static(json),
            ctx.shaping,
            variable_types,
        ));
    }
    let cached = cached_directive(&mut ctx, &op.directives)?;
    let sql = format!("SELECT {} AS \"data\"", sql::json_object(&pairs));
    Ok(Plan {
        kind: PlanKind::Query,
        source: sources.first().copied().unwrap_or(0),
        sql,
        params: ctx.params,
        shaping_variables: ctx.shaping,
        variable_types,
        steps: Vec::new(),
        calls_functions: ctx.calls_functions,
        cached,
        remote_joins: ctx.remote_joins,
    })
}

/// A subscription's multiplexed plan (see [`PlanKind::Subscription`]): one root field (a
/// namespace field counts as its fields; `@_multiple_top_level_fields` allows several of one
/// source, as in Hasura, but never for a stream), read for every cohort in one statement.
fn subscription<'a>(
    mut ctx: Ctx<'a>,
    fields: &[normalize::Merged<'a>],
    directives: &[Directive],
    variable_types: Vec<(String, crate::parse::ast::Type)>,
) -> Result<Plan> {
    let multiple = directives
        .iter()
        .any(|d| d.name == "_multiple_top_level_fields");
    let one = || Error::validation("$", "subscriptions must select one top level field");
    let not_supported = |m: &str| Error::new(ErrorCode::NotSupported, "$", m);
    if fields.is_empty() || (fields.len() > 1 && !multiple) {
        return Err(one());
    }
    if ctx.opts.relay {
        return Err(not_supported(
            "subscriptions are not supported on the Relay API",
        ));
    }
    if fields
        .iter()
        .any(|f| remote::remote_of(&ctx, f.name(), "subscription").is_some())
    {
        return Err(not_supported(
            "subscription to remote server is not supported",
        ));
    }
    if let Some(plan) = action_subscription(&mut ctx, fields, variable_types.clone())? {
        return Ok(plan);
    }
    // Each top-level field with its namespace's source and fields (`None`: not a namespace).
    let mut tops = Vec::new();
    for f in fields {
        match namespace(&ctx, f.name(), "query_root") {
            Some((s, ty)) => {
                let nested = normalize::collect(&mut ctx, &f.selection_sets(), &ty)?;
                if nested.is_empty() || (nested.len() > 1 && !multiple) {
                    return Err(one());
                }
                tops.push((f, Some((s, nested))));
            }
            None => tops.push((f, None)),
        }
    }
    // A namespaced source's fields are wrapped in ONE namespace field: no other top-level
    // field (not even another alias of the namespace) can be answered with it.
    if tops.len() > 1 && tops.iter().any(|(_, n)| n.is_some()) {
        return Err(one());
    }
    let leaves = tops
        .iter()
        .map(|(_, n)| n.as_ref().map_or(1, |(_, n)| n.len()))
        .sum::<usize>();
    let mut sources = Vec::new();
    for (f, nested) in &tops {
        let names: Vec<&str> = match nested {
            Some((_, n)) => n.iter().map(|g| g.name()).collect(),
            None => alloc::vec![f.name()],
        };
        if names
            .iter()
            .any(|n| matches!(*n, "__schema" | "__type" | "__typename"))
        {
            return Err(not_supported(
                "Introspection at root field level is not supported over subscriptions",
            ));
        }
        let source = match nested {
            Some((s, _)) => Some(*s),
            None => ctx.schema.root_source(f.name()).or_else(|| {
                // `<t>_stream` is not among the root fields `root_source` knows.
                ctx.schema.root_source(f.name().strip_suffix("_stream")?)
            }),
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    if sources.len() > 1 {
        return Err(Error::validation(
            "$",
            "all fields of a subscription must be from the same source",
        ));
    }
    ctx.multiplexed = true;
    // Live: the `data` object ("value"). Stream (one field): its value, and the next cursor.
    let mut pairs = Vec::new();
    let mut stream = None;
    let mut lives = 0;
    for (f, nested) in &tops {
        let path = sub("$.selectionSet", f.key());
        let expr = match nested {
            None => leaf(&mut ctx, f, &path, &mut stream, &mut lives)?,
            Some((s, nested)) => namespace_object(&mut ctx, *s, nested, &path, |ctx, g, p| {
                leaf(ctx, g, p, &mut stream, &mut lives)
            })?,
        };
        pairs.push((f.key().to_owned(), expr));
    }
    if stream.is_some() && leaves > 1 {
        return Err(not_supported(if lives > 0 {
            "streaming and livequery subscriptions cannot be executed in the same subscription"
        } else {
            "exactly one root field is allowed for streaming subscriptions"
        }));
    }
    if !ctx.remote_joins.is_empty() {
        return Err(not_supported(
            "Remote relationships are not allowed in subscriptions",
        ));
    }
    let (inner, data, stream) = match stream {
        // One stream field: `pairs` holds its select; the keys wrap its value.
        Some((select, cursor)) => {
            let mut data = "\"_fld\".\"value\"".to_owned();
            let (f, nested) = &tops[0];
            if let Some((_, n)) = nested {
                data = sql::json_object(&[(n[0].key().to_owned(), data)]);
            }
            data = sql::json_object(&[(f.key().to_owned(), data)]);
            (select, data, Some(cursor))
        }
        None => (
            format!(
                "SELECT {} AS \"value\", NULL::text AS \"cursor\"",
                sql::json_object(&pairs)
            ),
            "\"_fld\".\"value\"".to_owned(),
            None,
        ),
    };
    let sql = format!(
        "SELECT coalesce(json_agg(json_build_array(\"_subs\".\"result_id\", {data}, \
         \"_fld\".\"cursor\") ORDER BY \"_subs\".\"result_id\"), '[]') AS \"data\" \
         FROM json_array_elements($1::json) WITH ORDINALITY \
         AS \"_subs\"(\"result_vars\", \"result_id\") \
         LEFT OUTER JOIN LATERAL ({inner}) AS \"_fld\" ON true"
    );
    let source = sources.first().copied().flatten().unwrap_or(0);
    // The relations the statement reads: every table whose name it mentions (a name that only
    // appears inside a literal would make a harmless extra entry).
    let reads = (!ctx.calls_functions).then(|| {
        let mut names: Vec<String> = Vec::new();
        for t in &ctx.schema.tables {
            let name = sql::qualified(&t.name);
            if sql.contains(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    });
    Ok(Plan {
        kind: PlanKind::Subscription { stream, reads },
        source,
        sql,
        params: ctx.params,
        shaping_variables: ctx.shaping,
        variable_types,
        steps: Vec::new(),
        calls_functions: ctx.calls_functions,
        cached: None,
        remote_joins: Vec::new(),
    })
}

/// One root field of a subscription: a live field's value (SQL), or for a stream an empty
/// string with `stream` set to its select and cursor parameter.
/// A subscription to actions: a query action is refused (as in Hasura); an asynchronous
/// action's result, alone, is a [`PlanKind::ActionSubscription`]. `None`: no action field.
fn action_subscription<'a>(
    ctx: &mut Ctx<'a>,
    fields: &[normalize::Merged<'a>],
    variable_types: Vec<(String, crate::parse::ast::Type)>,
) -> Result<Option<Plan>> {
    let not_supported = |m: &str| Error::new(ErrorCode::NotSupported, "$", m);
    let mut result = None;
    for f in fields {
        if action::action_of(ctx, f.name(), crate::actions::ActionRoot::Query).is_some() {
            return Err(not_supported(
                "query actions cannot be run as a subscription",
            ));
        }
        if let Some(a) = action::async_result_of(ctx, f.name()) {
            result = Some((a, f));
        }
    }
    let Some((action, f)) = result else {
        return Ok(None);
    };
    if fields.len() > 1 {
        return Err(not_supported(
            "an asynchronous action's result must be the only field of its subscription",
        ));
    }
    let path = sub("$.selectionSet", f.key());
    let call = action::result_call(ctx, action, f, &path)?;
    Ok(Some(Plan::without_sql(
        PlanKind::ActionSubscription(alloc::boxed::Box::new(call)),
        core::mem::take(&mut ctx.shaping),
        variable_types,
    )))
}

fn leaf<'a>(
    ctx: &mut Ctx<'a>,
    f: &normalize::Merged<'a>,
    path: &str,
    stream: &mut Option<(String, usize)>,
    lives: &mut usize,
) -> Result<String> {
    match select::stream_root_field(ctx, f, path)? {
        Some(s) => {
            if stream.is_some() {
                return Err(Error::new(
                    ErrorCode::NotSupported,
                    "$",
                    "exactly one root field is allowed for streaming subscriptions",
                ));
            }
            *stream = Some(s);
            Ok(String::from("NULL"))
        }
        None => {
            *lives += 1;
            select::root_field(ctx, f, path)
        }
    }
}

/// A query's `@cached(ttl: Int = 60, refresh: Boolean = false)` (variables allowed; they
/// make the plan shaping on them).
fn cached_directive(ctx: &mut Ctx<'_>, directives: &[Directive]) -> Result<Option<Cached>> {
    let Some(d) = directives.iter().find(|d| d.name == "cached") else {
        return Ok(None);
    };
    let mut cached = Cached {
        ttl: 60,
        refresh: false,
    };
    for (name, value) in &d.arguments {
        let path = format!("$.directives.cached.{name}");
        match (name.as_str(), ctx.resolve(value)?) {
            ("ttl", Value::Number(n)) if n.parse::<u64>().is_ok() => {
                cached.ttl = n.parse().unwrap_or(60)
            }
            ("ttl", other) => {
                return Err(Error::validation(
                    path,
                    format!("expected a non-negative Int for ttl, got {}", other.kind()),
                ))
            }
            ("refresh", Value::Boolean(b)) => cached.refresh = b,
            ("refresh", other) => {
                return Err(Error::validation(
                    path,
                    format!("expected a Boolean for refresh, got {}", other.kind()),
                ))
            }
            (other, _) => {
                return Err(Error::validation(
                    path,
                    format!("unexpected argument \"{other}\" of directive \"cached\""),
                ))
            }
        }
    }
    Ok(Some(cached))
}

/// The SQL of one query root field: a table's or function's, or a source's namespace field
/// (an object of that source's root fields, and its `__typename`).
fn root_expr<'a>(ctx: &mut Ctx<'a>, f: &normalize::Merged<'a>, path: &str) -> Result<String> {
    if ctx.opts.relay {
        return relay::root_field(ctx, f, path);
    }
    let Some((s, ty)) = namespace(ctx, f.name(), "query_root") else {
        return select::root_field(ctx, f, path);
    };
    let fields = normalize::collect(ctx, &f.selection_sets(), &ty)?;
    namespace_object(ctx, s, &fields, path, |ctx, g, p| {
        if g.name() == "__typename" {
            Ok(format!("{}::text", sql::literal(&ty)))
        } else {
            select::root_field(ctx, g, p)
        }
    })
}

/// The JSON object of a namespace field's `fields` (source `s`'s root fields, compiled in its
/// scope by `field` at their paths under `path`).
fn namespace_object<'a>(
    ctx: &mut Ctx<'a>,
    s: usize,
    fields: &[normalize::Merged<'a>],
    path: &str,
    mut field: impl FnMut(&mut Ctx<'a>, &normalize::Merged<'a>, &str) -> Result<String>,
) -> Result<String> {
    ctx.scope = Some(s);
    let mut pairs = Vec::new();
    for g in fields {
        let p = sub(&sub(path, "selectionSet"), g.key());
        match field(ctx, g, &p) {
            Ok(e) => pairs.push((g.key().to_owned(), e)),
            Err(e) => {
                ctx.scope = None;
                return Err(e);
            }
        }
    }
    ctx.scope = None;
    Ok(sql::json_object(&pairs))
}

/// The source whose namespace field `name` is at the root, with the field's type name.
pub(crate) fn namespace(ctx: &Ctx<'_>, name: &str, root: &str) -> Option<(usize, String)> {
    if ctx.scope.is_some() || ctx.rql {
        return None;
    }
    let schema = ctx.schema;
    let s = schema
        .sources
        .iter()
        .position(|s| s.customization.namespace.as_deref() == Some(name))?;
    if !namespace_visible(ctx, s, root) {
        return None; // as in introspection: a namespace with no field for the role is absent
    }
    Some((s, schema.sources[s].customization.namespace_type(root)?))
}

/// Whether source `s` has a field of `root` for the session's role.
fn namespace_visible(ctx: &Ctx<'_>, s: usize, root: &str) -> bool {
    let (schema, role) = (ctx.schema, &ctx.session.role);
    if ctx.session.is_admin() {
        return true;
    }
    let (tables, functions) = match s.checked_sub(1).map(|p| &schema.sources[p]) {
        Some(prev) => (prev.tables_end, prev.functions_end),
        None => (0, 0),
    };
    let this = &schema.sources[s];
    let table = schema.tables[tables..this.tables_end.min(schema.tables.len())]
        .iter()
        .filter_map(|t| t.permissions.get(role))
        .any(|p| match root {
            "mutation_root" => p.insert.is_some() || p.update.is_some() || p.delete.is_some(),
            _ => p.select.is_some(),
        });
    table
        || schema.functions[functions..this.functions_end.min(schema.functions.len())]
            .iter()
            .any(|f| f.permissions.contains(role))
}

/// The sources the root fields belong to, in order of first appearance (empty or one entry
/// for a schema with one source, and for Relay, which serves only the first source).
pub(crate) fn field_sources(
    schema: &Schema,
    fields: &[normalize::Merged<'_>],
    options: &Options,
) -> Vec<usize> {
    let mut out = Vec::new();
    if options.relay {
        return out;
    }
    for f in fields {
        if let Some(s) = schema.root_source(f.name()) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

fn variable_types(op: &crate::parse::ast::Operation) -> Vec<(String, crate::parse::ast::Type)> {
    op.variables
        .iter()
        .map(|d| (d.name.clone(), d.ty.clone()))
        .collect()
}

fn json_str(s: &str) -> String {
    let mut out = String::new();
    crate::encode::write_json_string(&mut out, s);
    out
}
