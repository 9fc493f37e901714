//! `set_opentelemetry_config` / `set_opentelemetry_status`: Hasura's `opentelemetry` metadata
//! section (traces exported over OTLP/HTTP by the native process, see the scheduler's `otel`).
//!
//! `set_opentelemetry_config` replaces the whole section with its `args` (Hasura's defaults
//! filled in); `set_opentelemetry_status` (`args: "enabled" | "disabled"`) switches it. Enabling
//! needs `exporter_otlp.otlp_traces_endpoint` when traces are among the `data_types`.
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::ops::parse;
use super::{success, Cx};
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::Metadata;

/// The `opentelemetry` section.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OtelConfig {
    #[serde(default = "disabled")]
    pub status: String,
    #[serde(default = "traces")]
    pub data_types: Vec<String>,
    #[serde(default)]
    pub exporter_otlp: Exporter,
    #[serde(default)]
    pub batch_span_processor: BatchSpanProcessor,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Exporter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_traces_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_metrics_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_logs_endpoint: Option<String>,
    #[serde(default = "protobuf")]
    pub protocol: String,
    /// `{name, value}` or `{name, value_from_env}`.
    #[serde(default)]
    pub headers: Vec<Json>,
    /// `{name, value}`.
    #[serde(default)]
    pub resource_attributes: Vec<Json>,
    #[serde(default = "tracecontext")]
    pub traces_propagators: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BatchSpanProcessor {
    #[serde(default = "batch")]
    pub max_export_batch_size: usize,
}

impl Default for BatchSpanProcessor {
    fn default() -> Self {
        BatchSpanProcessor {
            max_export_batch_size: batch(),
        }
    }
}

fn disabled() -> String {
    "disabled".into()
}
fn traces() -> Vec<String> {
    vec!["traces".into()]
}
fn protobuf() -> String {
    "http/protobuf".into()
}
fn tracecontext() -> Vec<String> {
    vec!["tracecontext".into()]
}
fn batch() -> usize {
    512
}

impl OtelConfig {
    /// The section of `md`, when present and well formed.
    pub fn of(md: &Metadata) -> Option<OtelConfig> {
        md.extra
            .get("opentelemetry")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Where traces go, when they are exported.
    pub fn traces_endpoint(&self) -> Option<&str> {
        (self.status == "enabled" && self.data_types.iter().any(|d| d == "traces"))
            .then_some(self.exporter_otlp.otlp_traces_endpoint.as_deref())
            .flatten()
    }

    fn check(&self) -> Result<(), ApiError> {
        if !matches!(self.status.as_str(), "enabled" | "disabled") {
            return Err(ApiError::parse_failed(format!(
                "unexpected status {:?}: expected \"enabled\" or \"disabled\"",
                self.status
            ))
            .at("$.args.status"));
        }
        if self.status == "enabled"
            && self.data_types.iter().any(|d| d == "traces")
            && self.exporter_otlp.otlp_traces_endpoint.is_none()
        {
            return Err(ApiError::new(
                "invalid-configuration",
                "Missing OTLP traces endpoint: exporter_otlp.otlp_traces_endpoint",
            ));
        }
        Ok(())
    }
}

fn store<D: Database>(cx: &mut Cx<'_, D>, config: &OtelConfig) -> Result<Json, ApiError> {
    config.check()?;
    let v = serde_json::to_value(config).map_err(|e| ApiError::unexpected(e.to_string()))?;
    cx.md.extra.insert("opentelemetry".into(), v);
    cx.check()?;
    Ok(success())
}

pub(crate) fn set_opentelemetry_config<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let config: OtelConfig = parse(args)?;
    store(cx, &config)
}

pub(crate) fn set_opentelemetry_status<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let status: String = parse(args)?;
    let mut config = OtelConfig::of(&cx.md)
        .unwrap_or_else(|| serde_json::from_value(serde_json::json!({})).expect("defaults"));
    config.status = status;
    store(cx, &config)
}
