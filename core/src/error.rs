//! Errors of the core compiler. Each carries a Hasura error code and a JSON path
//! (`$.selectionSet.author.args.where`), so the edge can render Hasura's error JSON.
use alloc::string::String;
use core::fmt;

/// Hasura's `extensions.code` values that core can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A value that does not parse as its type (`parse-failed`).
    ParseFailed,
    /// A session variable or object the request needs is missing (`not-found`).
    NotFound,
    /// A table, column or relationship named by a `/v1/query` operation does not exist
    /// (`not-exists`).
    NotExists,
    /// The document does not match the schema of the role (`validation-failed`).
    ValidationFailed,
    /// A variable or argument value has the wrong shape (`validation-failed` in Hasura, kept apart here).
    BadRequest,
    /// The role may not do this (`permission-denied`, `access-denied`).
    PermissionDenied,
    AccessDenied,
    /// A session variable's value that is not of the type it is used as (`coercion-error`).
    CoercionError,
    /// Something the engine does not support yet (`not-supported`).
    NotSupported,
    /// A bug: must never be shown with details to non-admins (`unexpected`).
    Unexpected,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseFailed => "parse-failed",
            ErrorCode::NotFound => "not-found",
            ErrorCode::NotExists => "not-exists",
            ErrorCode::ValidationFailed => "validation-failed",
            ErrorCode::BadRequest => "bad-request",
            ErrorCode::PermissionDenied => "permission-denied",
            ErrorCode::AccessDenied => "access-denied",
            ErrorCode::CoercionError => "coercion-error",
            ErrorCode::NotSupported => "not-supported",
            ErrorCode::Unexpected => "unexpected",
        }
    }
}

/// One user-facing error: Hasura renders it as
/// `{"errors":[{"message": message, "extensions": {"path": path, "code": code}}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// JSON path like `$.selectionSet.author.args.where`; `$` when unknown.
    pub path: String,
}

impl Error {
    pub fn new(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            path: path.into(),
        }
    }
    pub fn validation(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, path, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, at {})",
            self.message,
            self.code.as_str(),
            self.path
        )
    }
}

pub type Result<T, E = Error> = core::result::Result<T, E>;
