//! GraphQL introspection per role: the role's type system built from the resolved [`Schema`]
//! exactly as Hasura v2 names it for Postgres, and the execution of `__schema` / `__type`
//! selections over it.
//!
//! - [`build`] (`build.rs`): `Schema` + role → [`TypeSystem`] (root types, per-table object,
//!   aggregate, filter, ordering and mutation input types, functions, enum tables, meta types),
//!   pruned to what is reachable and sorted by name; `actions.rs` adds the role's actions
//!   and the custom types they reach, `remote_schemas.rs` the root fields of the remote
//!   schemas the role may use and the remote types they reach;
//! - [`resolve_root_field`] (`resolve.rs`): applies a root field's selection set (aliases,
//!   `__typename`, fragments, `@skip`/`@include`) and returns its JSON text;
//! - `scalars.rs`: Postgres type → GraphQL scalar and comparison operators;
//! - `meta.rs`: `__Schema`, `__Type`, … and the directives; `sdl.rs`: SDL printer.
//!
//! The type system is also what validation can check a document against
//! ([`TypeSystem::field`], [`TypeSystem::root_type`]).
mod actions;
pub mod analyse;
mod build;
mod customized;
mod federation;
mod meta;
mod relay;
mod remote_schemas;
mod resolve;
pub(crate) mod scalars;
mod sdl;
pub mod types;

use alloc::string::String;

use crate::error::Error;
use crate::parse::ast;
use crate::{Options, Schema, Session, Value};

pub use resolve::MAX_OUTPUT;
pub use scalars::{column_type, comparison_exp_name, scalar_name};
pub use sdl::to_sdl;
pub use types::{
    DirectiveDef, EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem,
};

/// The role's type system, for reuse (validation, SDL export).
pub fn build(schema: &Schema, role: &str, options: &Options) -> TypeSystem {
    let ts = if customized::needed(schema, options) {
        customized::build(schema, role, options)
    } else {
        build::build(schema, role, options)
    };
    if options.relay {
        relay::apply(schema, ts)
    } else {
        let mut ts = ts;
        federation::apply(schema, options, &mut ts);
        ts
    }
}

pub use federation::{entities_of as federation_entities, sdl as federation_sdl};

/// The JSON value of one root introspection field (`__schema` or `__type(name: ...)`) for the
/// session's role, with the field's selection set applied (aliases, `__typename`, fragments and
/// inline fragments on the meta types, @skip/@include with variables).
pub fn resolve_root_field(
    schema: &Schema,
    session: &Session,
    options: &Options,
    field: &ast::Field,
    fragments: &[ast::Fragment],
    variables: &[(String, Value)],
) -> Result<String, Error> {
    let ts = build(schema, &session.role, options);
    resolve::resolve_in(&ts, options, field, fragments, variables)
}

/// [`resolve_root_field`] over an already built (e.g. cached per role and schema version) type
/// system.
pub fn resolve_root_field_in(
    ts: &TypeSystem,
    options: &Options,
    field: &ast::Field,
    fragments: &[ast::Fragment],
    variables: &[(String, Value)],
) -> Result<String, Error> {
    resolve::resolve_in(ts, options, field, fragments, variables)
}
