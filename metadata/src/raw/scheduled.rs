//! Cron triggers (`cron_triggers` at the top level of the metadata), as Hasura exports them:
//! `name, webhook, schedule, include_in_metadata`, then `payload`, `retry_conf` (only when not
//! the default), `headers` (only when some), `comment`, `request_transform`,
//! `response_transform` when present. Export lists them sorted by name and only those with
//! `include_in_metadata: true` (see [`super::Metadata::exported`]).
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One cron trigger.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CronTrigger {
    pub name: String,
    /// A URL, possibly with `{{ENV_VAR}}` templates (resolved at delivery).
    pub webhook: String,
    pub schedule: String,
    pub include_in_metadata: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Json>,
    #[serde(default, skip_serializing_if = "RetryConfSt::is_default")]
    pub retry_conf: RetryConfSt,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderConf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_transform: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_transform: Option<Json>,
}

/// Hasura's `RetryConfST` of scheduled triggers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetryConfSt {
    #[serde(default)]
    pub num_retries: u32,
    #[serde(default = "default_retry_interval")]
    pub retry_interval_seconds: u32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// Events older than this when due are marked `dead` instead of delivered (6 hours).
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u32,
}

fn default_retry_interval() -> u32 {
    10
}
fn default_timeout() -> u32 {
    60
}
fn default_tolerance() -> u32 {
    21600
}

impl Default for RetryConfSt {
    fn default() -> Self {
        RetryConfSt {
            num_retries: 0,
            retry_interval_seconds: default_retry_interval(),
            timeout_seconds: default_timeout(),
            tolerance_seconds: default_tolerance(),
        }
    }
}

impl RetryConfSt {
    pub fn is_default(&self) -> bool {
        *self == RetryConfSt::default()
    }
}

/// Headers are shared with event triggers.
pub use crate::events::webhook::HeaderConf;
