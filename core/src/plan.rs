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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kind: PlanKind,
    pub sql: String,
    pub params: Vec<ParamSpec>,
    /// Variables whose *values* changed the SQL's shape (e.g. `where: $w`, `@skip(if: $s)`): a
    /// cached plan is only valid for the same values of these. An entry `?name` means only the
    /// variable's null-ness matters (a null comparison operand drops the condition).
    pub shaping_variables: Vec<String>,
}

impl Plan {
    /// Binds the plan's parameters for one request.
    pub fn bind(
        &self,
        variables: &[(String, Value)],
        session: &Session,
    ) -> Result<Vec<Option<String>>> {
        self.params
            .iter()
            .map(|p| crate::encode::bind_param(p, variables, session))
            .collect()
    }
}
