//! Placeholder: the compiler pipeline (validate → IR → SQL) is being written.
use crate::{Error, ErrorCode, Options, Plan, Request, Schema, Session};

pub fn compile(_schema: &Schema, _session: &Session, _request: &Request<'_>, _options: &Options) -> Result<Plan, Error> {
    Err(Error::new(ErrorCode::NotSupported, "$", "not implemented yet"))
}
