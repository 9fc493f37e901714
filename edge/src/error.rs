//! Hasura's error JSON. One error type for everything the edge answers with, rendered either
//! GraphQL-style (`{"errors":[{"extensions":{"path","code"},"message"}]}`) on the GraphQL
//! endpoints or API-style (`{"path","error","code"}`) on the metadata/query endpoints.
//!
//! Database errors are mapped here too (Hasura's SQLSTATE → code table), hiding Postgres
//! internals from non-admin callers.
use serde_json::{json, Value as Json};

use crate::md::{ApiError, DbError};

/// One user-facing error.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeError {
    /// HTTP status for the API-style endpoints (GraphQL endpoints answer 200 regardless, like
    /// Hasura's `allMod200`).
    pub status: u16,
    pub path: String,
    pub code: String,
    pub message: String,
    /// Details shown only to admins (`extensions.internal` / `internal`).
    pub internal: Option<Json>,
    /// `extensions` given verbatim (an action handler's 4xx answer): they replace
    /// `{path, code}`.
    pub extensions: Option<Json>,
    /// A remote schema's `errors`, answered verbatim as the request's (`{"data": null,
    /// "errors": …}`).
    pub errors: Option<Json>,
}

impl EdgeError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        EdgeError {
            status,
            path: "$".into(),
            code: code.into(),
            message: message.into(),
            internal: None,
            extensions: None,
            errors: None,
        }
    }
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    pub fn with_internal(mut self, internal: Json) -> Self {
        self.internal = Some(internal);
        self
    }
    pub fn with_extensions(mut self, extensions: Json) -> Self {
        self.extensions = Some(extensions);
        self
    }

    pub fn not_found() -> Self {
        Self::new(404, "not-found", "resource does not exist")
    }
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(400, "invalid-json", message)
    }
    pub fn parse_failed(message: impl Into<String>) -> Self {
        Self::new(400, "parse-failed", message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(401, "access-denied", message)
    }
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(500, "unexpected", message)
    }

    /// `{"message","extensions":{"path","code"[,"internal"]}}` (one element of `errors`).
    pub fn graphql_error_object(&self, include_internal: bool) -> Json {
        if let Some(ext) = &self.extensions {
            return json!({"extensions": ext, "message": self.message});
        }
        let mut ext = serde_json::Map::new();
        ext.insert("path".into(), Json::String(self.path.clone()));
        ext.insert("code".into(), Json::String(self.code.clone()));
        if include_internal {
            if let Some(i) = &self.internal {
                ext.insert("internal".into(), i.clone());
            }
        }
        json!({"extensions": Json::Object(ext), "message": self.message})
    }

    /// The whole GraphQL-style body: `{"errors":[...]}`.
    pub fn to_graphql_json(&self, include_internal: bool) -> Json {
        if let Some(errors) = &self.errors {
            return json!({"data": null, "errors": errors});
        }
        json!({"errors": [self.graphql_error_object(include_internal)]})
    }

    /// The API-style body of `/v1/query`, `/v1/metadata`, `/v2/query`.
    pub fn to_api_json(&self, include_internal: bool) -> Json {
        let mut o = serde_json::Map::new();
        o.insert("path".into(), Json::String(self.path.clone()));
        o.insert("error".into(), Json::String(self.message.clone()));
        o.insert("code".into(), Json::String(self.code.clone()));
        if include_internal {
            if let Some(i) = &self.internal {
                o.insert("internal".into(), i.clone());
            }
        }
        Json::Object(o)
    }
}

impl From<graphedge_core::Error> for EdgeError {
    fn from(e: graphedge_core::Error) -> Self {
        let status = match e.code {
            graphedge_core::ErrorCode::Unexpected => 500,
            graphedge_core::ErrorCode::AccessDenied => 401,
            _ => 400,
        };
        EdgeError {
            status,
            path: e.path,
            code: e.code.as_str().into(),
            message: e.message,
            internal: None,
            extensions: None,
            errors: None,
        }
    }
}

impl From<ApiError> for EdgeError {
    fn from(e: ApiError) -> Self {
        EdgeError {
            status: e.status,
            path: e.path,
            code: e.code,
            message: e.error,
            internal: e.internal,
            extensions: None,
            errors: None,
        }
    }
}

/// The message prefix our permission-check function raises (SQLSTATE P0001) when an
/// insert/update `check` fails.
pub const PERMISSION_CHECK_FAILED: &str =
    "check constraint of an insert/update permission has failed";

/// Maps a database error to Hasura's error, as `/v1/graphql` reports it.
///
/// The `internal` part (Postgres' error, statement hidden) is attached always; renderers only
/// show it to admins.
pub fn db_error(e: &DbError) -> EdgeError {
    let internal = db_internal(e);
    if e.connection {
        return EdgeError::new(500, "postgres-error", "connection error").with_internal(internal);
    }
    let code = e.code.as_deref().unwrap_or("");
    let (status, code, message) =
        if code == "P0001" && e.message.starts_with(PERMISSION_CHECK_FAILED) {
            (400, "permission-error", e.message.clone())
        } else if let Some(kind) = constraint_kind(code) {
            (
                400,
                "constraint-violation",
                format!("{}. {}", kind, e.message),
            )
        } else if code == "22025" {
            // Hasura reports an invalid escape sequence as a bad request.
            (400, "bad-request", e.message.clone())
        } else if code.starts_with("22") {
            (400, "data-exception", e.message.clone())
        } else if code == "42501" {
            (400, "permission-error", e.message.clone())
        } else if code.starts_with("23") {
            (400, "constraint-violation", e.message.clone())
        } else {
            (500, "unexpected", "database query error".to_string())
        };
    let err = EdgeError::new(status, code, message).with_internal(internal);
    // Our permission-check function puts the failing field's path in the hint.
    match (&e.hint, code) {
        (Some(path), "permission-error") if path.starts_with('$') => err.at(path),
        _ => err,
    }
}

/// Hasura's prefix for integrity constraint violations (class 23).
fn constraint_kind(code: &str) -> Option<&'static str> {
    Some(match code {
        "23505" => "Uniqueness violation",
        "23503" => "Foreign key violation",
        "23502" => "Not-NULL violation",
        "23514" => "Check constraint violation",
        "23P01" => "Exclusion violation",
        "23001" => "Restrict violation",
        _ => return None,
    })
}

/// Hasura's `internal` object for a Postgres error.
fn db_internal(e: &DbError) -> Json {
    json!({
        "error": {
            "exec_status": if e.connection { "ConnectionError" } else { "FatalError" },
            "message": e.message,
            "status_code": e.code.clone().unwrap_or_default(),
            "description": e.detail,
            "hint": e.hint,
        },
        "arguments": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, msg: &str) -> DbError {
        DbError {
            code: Some(code.into()),
            message: msg.into(),
            ..Default::default()
        }
    }

    #[test]
    fn maps_sqlstates() {
        let e = db_error(&err(
            "23505",
            "duplicate key value violates unique constraint \"author_pkey\"",
        ));
        assert_eq!(e.code, "constraint-violation");
        assert_eq!(
            e.message,
            "Uniqueness violation. duplicate key value violates unique constraint \"author_pkey\""
        );
        assert_eq!(
            db_error(&err("22P02", "invalid input syntax")).code,
            "data-exception"
        );
        assert_eq!(
            db_error(&err("42501", "permission denied")).code,
            "permission-error"
        );
        let e = db_error(&err("42P01", "relation does not exist"));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("unexpected", "database query error")
        );
        let e = db_error(&err("P0001", PERMISSION_CHECK_FAILED));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("permission-error", PERMISSION_CHECK_FAILED)
        );
        assert_eq!(
            db_error(&DbError::connection("refused")).code,
            "postgres-error"
        );
    }
}
