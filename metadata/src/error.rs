//! Hasura-style API errors: HTTP status plus `{"path", "error", "code"}`.
use crate::db::DbError;
use serde_json::{json, Value as Json};

/// An error of the metadata / query API, in Hasura's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// JSON path of the offending part of the request (`$.args`, `$.args[0].args`).
    pub path: String,
    pub error: String,
    pub code: String,
    /// Extra detail (Postgres' error for `postgres-error`), shown to admins only.
    pub internal: Option<Json>,
}

impl ApiError {
    /// A 400 error at `$.args`.
    pub fn new(code: &str, error: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            path: "$.args".into(),
            error: error.into(),
            code: code.into(),
            internal: None,
        }
    }
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    pub fn parse_failed(error: impl Into<String>) -> Self {
        ApiError::new("parse-failed", error)
    }
    pub fn not_exists(error: impl Into<String>) -> Self {
        ApiError::new("not-exists", error)
    }
    pub fn already_exists(error: impl Into<String>) -> Self {
        ApiError::new("already-exists", error)
    }
    pub fn not_supported(error: impl Into<String>) -> Self {
        ApiError::new("not-supported", error)
    }
    pub fn unexpected(error: impl Into<String>) -> Self {
        ApiError::new("unexpected", error).status(500)
    }

    /// A database error of a statement we ran on the user's behalf (`run_sql`, DML).
    pub fn postgres(e: &DbError, statement: Option<&str>) -> Self {
        if e.connection {
            return ApiError {
                status: 500,
                path: "$".into(),
                error: format!("connection error: {}", e.message),
                code: "postgres-error".into(),
                internal: None,
            };
        }
        ApiError {
            status: 400,
            path: "$".into(),
            error: "query execution failed".into(),
            code: "postgres-error".into(),
            internal: Some(pg_internal(e, statement)),
        }
    }

    /// A database error of DML (legacy `insert`): constraint violations get Hasura's messages.
    pub fn dml(e: &DbError, statement: &str) -> Self {
        let internal = Some(pg_internal(e, Some(statement)));
        let code = e.code.as_deref().unwrap_or("");
        let (code_txt, msg) = match code {
            "23505" => (
                "constraint-violation",
                format!("Uniqueness violation. {}", e.message),
            ),
            "23503" => (
                "constraint-violation",
                format!("Foreign key violation. {}", e.message),
            ),
            "23502" => (
                "constraint-violation",
                format!("Not-NULL violation. {}", e.message),
            ),
            "23514" => (
                "constraint-violation",
                format!("Check constraint violation. {}", e.message),
            ),
            "23P01" => (
                "constraint-violation",
                format!("Exclusion violation. {}", e.message),
            ),
            c if c.starts_with("22") => ("data-exception", e.message.clone()),
            _ => return ApiError::postgres(e, Some(statement)),
        };
        ApiError {
            status: 400,
            path: "$".into(),
            error: msg,
            code: code_txt.into(),
            internal,
        }
    }

    /// The response body: `{"path", "error", "code"}`.
    pub fn to_json(&self) -> Json {
        json!({ "path": self.path, "error": self.error, "code": self.code })
    }

    /// The response body with `internal` (for admin requests).
    pub fn to_json_with_internal(&self) -> Json {
        let mut v = self.to_json();
        if let (Some(i), Json::Object(m)) = (&self.internal, &mut v) {
            m.insert("internal".into(), i.clone());
        }
        v
    }
}

fn pg_internal(e: &DbError, statement: Option<&str>) -> Json {
    json!({
        "arguments": [],
        "error": {
            "description": e.detail,
            "exec_status": "FatalError",
            "hint": e.hint,
            "message": e.message,
            "status_code": e.code,
        },
        "prepared": false,
        "statement": statement,
    })
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}) at {}", self.error, self.code, self.path)
    }
}

impl std::error::Error for ApiError {}
