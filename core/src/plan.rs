//! The compiler's output: SQL text plus a description of every bind parameter, so a cached plan
//! can be re-bound to new variables and sessions without compiling again.
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;
use crate::session::Session;
use crate::value::Value;

/// How a parameter's text is made from a GraphQL variable or literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The scalar's text form (`42`, `abc`, `true`); objects/lists as JSON text.
    Scalar,
    /// JSON text of the value (for json/jsonb columns and arguments).
    Json,
    /// A Postgres array literal (`{1,2,"a b"}`) of the value's elements (for `_in`, array columns).
    PgArray,
}

/// Where one bind parameter's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamSpec {
    /// Fixed at compile time (literals in the query, permission constants). `None` = NULL.
    Const(Option<String>),
    /// A GraphQL variable (optionally a path inside it), encoded as given.
    Variable {
        name: String,
        path: Vec<String>,
        encoding: Encoding,
    },
    /// A session variable (`x-hasura-user-id`), lower-cased name.
    Session(String),
    /// The whole session as a JSON object (for `session_argument` of functions).
    SessionJson,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanKind {
    /// `sql` returns one row, one column: the JSON of the `data` object.
    Query,
    /// `sql` is a mutation: run in a transaction; same one-row-one-column result.
    Mutation,
    /// No SQL: the `data` object's JSON is already known (introspection, `__typename` only).
    Static(String),
    /// Root fields of several sources: one part per source, run in order (each one
    /// statement, or one transaction for a mutation), each returning a JSON *array* of its
    /// fields' values; `data` is assembled from `slots` in the request's field order.
    Sources {
        parts: Vec<Plan>,
        slots: Vec<(String, Slot)>,
        /// Action root fields, answered by their handlers (see [`ActionCall`]).
        actions: Vec<ActionCall>,
        /// Remote schema root fields, each answered by its remote (see [`RemoteCall`]).
        remotes: Vec<RemoteCall>,
    },
    /// A subscription (live query or `<t>_stream`), multiplexed: `sql` takes ONE parameter,
    /// `$1`, the JSON array of the cohorts' bound parameters (each cohort's
    /// [`Plan::bind`] as a JSON array of strings and nulls), and returns one row, one column:
    /// the JSON array `[[i, data, cursor], …]` with, for the `i`-th cohort (1-based), the JSON
    /// of its `data` object and, for a stream, the text of its next cursor value (null when
    /// the batch was empty; always null for a live query). `params` describe one cohort's
    /// parameters, as for a query.
    Subscription {
        /// A `<t>_stream` field: the index in `params` of the cursor's value, which the host
        /// replaces with the `cursor` each run returns (when not null).
        stream: Option<usize>,
        /// The relations (`sql::qualified` text, e.g. `"public"."item"`) the statement reads,
        /// so a host may re-run it only after one of them changed; `None` when that is not
        /// known (the statement calls user functions, which may read anything).
        reads: Option<Vec<String>>,
    },
    /// A subscription to an asynchronous action's result (`<action>(id: …)`, its only root
    /// field): not multiplexed and no SQL of its own. The host re-reads the logged call
    /// (the [`CallMode::AsyncResult`] call) every refetch interval, pushes `{key: value}`
    /// when it changed, and completes the subscription once the call has an output or errors
    /// (Hasura's `asyncActionSubscriptionsProcessor`).
    ActionSubscription(alloc::boxed::Box<ActionCall>),
}

/// Where one root field's value comes from in a [`PlanKind::Sources`] plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// Element `.1` of the array part `.0` returned.
    Part(usize, usize),
    /// Known JSON (`__typename`, introspection).
    Static(String),
    /// The answer of action call `.0` (an index in the plan's `actions`).
    Action(usize),
    /// The answer of remote call `.0` (an index in the plan's `remotes`).
    Remote(usize),
}

/// A remote schema's root field: the host POSTs `{"query": query, "variables": {…}}` (the
/// request's values of `variables`) to the remote and answers `data.<key>` of its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteCall {
    /// The remote schema's name.
    pub remote: String,
    /// The field's response key (its alias, else its name), as in the sent document.
    pub key: String,
    /// The document: `query ($v: T) { key: field(args) { … } }`.
    pub query: String,
    /// The request variables the document uses.
    pub variables: Vec<String>,
    /// The operation's name (sent as `operationName` too).
    pub operation_name: Option<String>,
    /// A `root_fields_namespace` field (`key`): its response keys in order, each a key of
    /// the answer's `data` (`None`) or a known `__typename` value (`Some`). `query` is
    /// empty when nothing is asked of the remote.
    pub namespace: Option<Vec<(String, Option<String>)>>,
    /// The response paths (keys from the answer's `data`, through lists) of `__typename`
    /// fields, whose values are renamed by `type_renames` (the remote's name → the client's).
    pub typename_paths: Vec<Vec<String>>,
    pub type_renames: Vec<(String, String)>,
    /// Session variable presets of the role's view (remote schema permissions): variables
    /// of the document whose values the host reads from the request's session
    /// ([`crate::remote_schemas::session_preset_json`]).
    pub session_presets: Vec<SessionPreset>,
    /// Relationships from the remote's object types to tables: the host makes each key from
    /// its phantom fields, then answers `joins` (paths from the field's response key) like a
    /// query's remote relationships.
    pub phantoms: Vec<PhantomKey>,
    pub joins: Vec<RemoteJoin>,
}

/// Where a remote answer gets a relationship's key: in every object at `objects` (response
/// keys from the answer's `data`, through lists), `key` becomes the JSON array of the values
/// of `fields` (phantom aliases the document asked for, removed from the answer), or null
/// when one is null.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomKey {
    pub objects: Vec<String>,
    pub key: String,
    pub fields: Vec<String>,
}

/// A variable of a remote call holding a session variable's value (`@preset(value:
/// "x-hasura-…")`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPreset {
    /// The document's variable (without `$`).
    pub variable: String,
    /// The session variable (lower case).
    pub session_var: String,
    /// The scalar or enum type (the remote's name) its value is coerced to.
    pub type_name: String,
    /// An enum's values; `None`: a scalar.
    pub enum_values: Option<Vec<String>>,
}

/// An action's root field: the host calls the action's handler (`Schema::action(&action)`)
/// with the arguments bound to the request's variables
/// ([`crate::actions::input_json`]), checks the answer against the output type and keeps the
/// selected fields ([`crate::actions::shape_output`]), then answers `joins` like a query's
/// remote relationships (their paths start at the field's response key).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub action: String,
    /// The field's response key.
    pub key: String,
    /// The arguments as given (literals, `$variables` inside).
    pub arguments: Vec<(String, Value)>,
    /// The operation's variable defaults, for variables the request leaves out.
    pub defaults: Vec<(String, Value)>,
    /// The selection of an object output type (empty for a scalar or enum output).
    pub output: Vec<OutField>,
    /// Relationships from the output to tables, keyed by the mapped fields' values.
    pub joins: Vec<RemoteJoin>,
    pub mode: CallMode,
}

/// What an [`ActionCall`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// Calls the handler and answers its (checked, shaped) answer.
    Sync,
    /// An asynchronous action's mutation: stores the call in the action log and answers its
    /// id (a `uuid`); the native process calls the handler later.
    AsyncStart,
    /// An asynchronous action's result (`<action>(id: uuid!)` on the query root): the logged
    /// call's `{id, created_at, errors, output}` object, cut to `output` (the selection of the
    /// `<action>` object type), for the session that made the call (admin: any).
    AsyncResult,
}

/// One selected field of an action's output object.
#[derive(Debug, Clone, PartialEq)]
pub struct OutField {
    pub key: String,
    pub kind: OutKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutKind {
    /// `__typename`: the object type's name.
    Typename(String),
    /// A field of the type; `nested` is the selection of an object-typed field.
    Field { name: String, nested: Vec<OutField> },
    /// A relationship to a table: the JSON array of the mapped fields' values (the join key
    /// a [`RemoteJoin`] replaces), null when one of them is null.
    Join { fields: Vec<String> },
}

/// One statement a mutation plan runs before [`Plan::sql`], in order, in the same transaction
/// (each with its own parameters). Mutation root fields need them: a statement cannot see the
/// effects of its own data-modifying CTEs, so each field's `returning` (with relationships) and
/// the next field are evaluated in a later statement. Results flow between statements only
/// through transaction-local settings (`set_config('graphedge.m1', …, true)`), never back to
/// the engine: the whole list is sent at once (non-interactive).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub sql: String,
    pub params: Vec<ParamSpec>,
    /// JSON path reported for a database error raised by this step (constraint violations),
    /// e.g. `$.selectionSet.insert_author.args.objects`.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kind: PlanKind,
    /// The source (index in `Schema::sources`) whose database runs `sql` (0 with one source).
    pub source: usize,
    pub sql: String,
    pub params: Vec<ParamSpec>,
    /// Variables whose *values* changed the SQL's shape (e.g. `where: $w`, `@skip(if: $s)`): a
    /// cached plan is only valid for the same values of these. An entry `?name` means only the
    /// variable's null-ness matters (a null comparison operand drops the condition).
    pub shaping_variables: Vec<String>,
    /// Mutation plans only: statements to run before `sql`, in order, in one transaction
    /// (after `set_config('hasura.user', …)`). Empty for queries.
    pub steps: Vec<Step>,
    /// The operation's variable definitions: every request's variables are checked against
    /// them when the plan is bound (cached plans included).
    pub variable_types: Vec<(String, crate::parse::ast::Type)>,
    /// The SQL calls user SQL functions (tracked functions, computed fields), which may be
    /// `VOLATILE`: then two executions with the same parameters are not interchangeable. A query
    /// plan without calls reads only tables and views, so concurrent identical requests may
    /// share one execution.
    pub calls_functions: bool,
    /// `query @cached(ttl, refresh)`: the host may keep the answer (see [`Cached`]).
    pub cached: Option<Cached>,
    /// Remote relationships to other sources' tables in the selection: after `sql` ran, each
    /// is answered by its own statement (see [`RemoteJoin`]).
    pub remote_joins: Vec<RemoteJoin>,
}

/// The name of the variable a [`RemoteJoin`]'s plan reads its join keys from (a JSON array
/// text, as a scalar): no GraphQL variable can have it.
pub const REMOTE_KEYS_VARIABLE: &str = "\u{0}keys";

/// A remote relationship's field in a query's answer. The main statement writes, at every
/// place the field occurs (`path`: response keys from `data`, through lists), the JSON array
/// of the row's join columns; `plan` (a query on the target source) binds `$1` to the JSON
/// array of the distinct join keys (the variable [`REMOTE_KEYS_VARIABLE`]) and returns a JSON array of the field's value for each,
/// in order; the host puts each value in place of its key.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteJoin {
    pub path: Vec<String>,
    pub plan: Plan,
    /// A relationship to a remote schema instead: `plan` is empty and the keys' values come
    /// from one call to the remote (see [`RemoteSchemaJoin`]).
    pub remote: Option<RemoteSchemaJoin>,
}

/// The call of a relationship to a remote schema: for the distinct keys, ONE document with a
/// field `f<i>` per key ([`RemoteSchemaJoin::document`]); the value for key `i` is
/// `data.f<i>` followed along `fields[1..]` (through lists).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSchemaJoin {
    pub remote: String,
    /// The remote's fields from its query root, each with its arguments (the client's merged
    /// into the relationship's; `join_key_variable(i)` stands for the key's `i`-th value).
    pub fields: Vec<(String, Vec<(String, Value)>)>,
    /// The last field's selection set as sent (` { a b }`; empty for a scalar).
    pub selection: String,
    /// The request's variables the document uses, and their definitions.
    pub variables: Vec<String>,
    pub definitions: Vec<String>,
    pub session_presets: Vec<SessionPreset>,
    /// As [`RemoteCall::typename_paths`] and [`RemoteCall::type_renames`], from the
    /// relationship's value.
    pub typename_paths: Vec<Vec<String>>,
    pub type_renames: Vec<(String, String)>,
}

/// A query's `@cached(ttl: Int = 60, refresh: Boolean = false)` directive (Hasura's response
/// caching): the answer may be kept `ttl` seconds for requests binding the same statement;
/// `refresh` runs the statement anyway and replaces the kept answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cached {
    pub ttl: u64,
    pub refresh: bool,
}

impl Plan {
    /// A plan without a statement of its own (a static answer, or parts per source).
    pub fn without_sql(
        kind: PlanKind,
        shaping_variables: Vec<String>,
        variable_types: Vec<(String, crate::parse::ast::Type)>,
    ) -> Plan {
        Plan {
            kind,
            source: 0,
            sql: String::new(),
            params: Vec::new(),
            shaping_variables,
            variable_types,
            steps: Vec::new(),
            calls_functions: false,
            cached: None,
            remote_joins: Vec::new(),
        }
    }

    /// Binds the plan's parameters for one request.
    pub fn bind(
        &self,
        variables: &[(String, Value)],
        session: &Session,
    ) -> Result<Vec<Option<String>>> {
        crate::encode::check_variables(&self.variable_types, variables)?;
        self.params
            .iter()
            .map(|p| crate::encode::bind_param(p, variables, session))
            .collect()
    }

    /// Binds the parameters of `steps[i]`.
    pub fn bind_step(
        &self,
        i: usize,
        variables: &[(String, Value)],
        session: &Session,
    ) -> Result<Vec<Option<String>>> {
        self.steps
            .get(i)
            .map(|s| s.params.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(|p| crate::encode::bind_param(p, variables, session))
            .collect()
    }
}
