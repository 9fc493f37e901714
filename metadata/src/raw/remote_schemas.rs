//! Remote schemas (`remote_schemas` at the top level of the metadata), as Hasura's
//! `export_metadata` prints them (`remoteSchemasToOrdJSONList`): sorted by name (see
//! [`super::Metadata::exported`]), each `{name, definition, comment?, permissions?,
//! remote_relationships?}` with the definition's keys in Hasura's order — `url`,
//! `url_from_env`, `timeout_seconds`, `customization` (each when given), `headers` (when not
//! empty), `forward_client_headers` (when true) — and each permission `{role, definition:
//! {schema}, comment?}`.
//!
//! Input is read like Hasura's `FromJSON`: every key of the definition optional (`null`
//! counts as absent, `forward_client_headers` defaults to false). Unknown keys are kept
//! (`extra`). `customization` and `remote_relationships` stay JSON here; resolution reads
//! the customization, remote relationships of remote schemas are kept verbatim.
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value as Json};

use super::{Extra, HeaderConf};

fn is_false(b: &bool) -> bool {
    !*b
}

/// A list that may be given as `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A boolean that may be given as `null` (false).
fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// `headers` is written only when it has some (Hasura's `listToMaybeOrdPair`).
fn no_headers(h: &Option<Vec<HeaderConf>>) -> bool {
    h.as_ref().is_none_or(Vec::is_empty)
}

/// One remote schema (`add_remote_schema`'s `{name, definition, comment}` plus permissions
/// and remote relationships).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RemoteSchemaMetadata {
    pub name: String,
    pub definition: RemoteSchemaDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub permissions: Vec<RemoteSchemaPermission>,
    /// Relationships from the remote's object types (`create_remote_schema_remote_relationship`),
    /// kept verbatim.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub remote_relationships: Vec<Json>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Hasura's `RemoteSchemaDef`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct RemoteSchemaDef {
    /// The URL, possibly with `{{ENV}}` templates (resolved by the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The setting holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_from_env: Option<String>,
    /// `None`: Hasura's default, 60 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization: Option<Json>,
    #[serde(default, skip_serializing_if = "no_headers")]
    pub headers: Option<Vec<HeaderConf>>,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "null_as_false"
    )]
    pub forward_client_headers: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Hasura's default `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

impl RemoteSchemaDef {
    /// Hasura's `validateRemoteSchemaDef`: exactly one of `url` and `url_from_env`.
    pub fn check_url(&self) -> Result<(), String> {
        match (&self.url, &self.url_from_env) {
            (None, None) => Err("both `url` and `url_from_env` can't be empty".into()),
            (Some(_), Some(_)) => Err("both `url` and `url_from_env` can't be present".into()),
            _ => Ok(()),
        }
    }

    /// The timeout in seconds, Hasura's default filled in.
    pub fn timeout(&self) -> u64 {
        self.timeout_seconds
            .map_or(DEFAULT_TIMEOUT_SECONDS, |t| t.max(0) as u64)
    }

    /// Whether `other` points at the same remote (Hasura's `update_remote_schema` only
    /// re-fetches when the URL, or the setting holding it, changed).
    pub fn same_url(&self, other: &RemoteSchemaDef) -> bool {
        (self.url.is_some() && self.url == other.url)
            || (self.url_from_env.is_some() && self.url_from_env == other.url_from_env)
    }
}

/// One role's permission: the SDL subset it may use.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RemoteSchemaPermission {
    pub role: String,
    pub definition: RemoteSchemaPermissionDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{schema: "<SDL>"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RemoteSchemaPermissionDef {
    pub schema: String,
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------------------------
// Hasura's internal JSON (inconsistency definitions)

/// The definition as Hasura's derived `ToJSON` writes it (`omitNothingFields`): the given
/// keys, `headers` even when empty, `forward_client_headers` always.
pub fn def_json(d: &RemoteSchemaDef) -> Json {
    let mut out = serde_json::Map::new();
    if let Some(u) = &d.url {
        out.insert("url".into(), json!(u));
    }
    if let Some(u) = &d.url_from_env {
        out.insert("url_from_env".into(), json!(u));
    }
    if let Some(h) = &d.headers {
        out.insert("headers".into(), json!(h));
    }
    out.insert(
        "forward_client_headers".into(),
        json!(d.forward_client_headers),
    );
    if let Some(t) = d.timeout_seconds {
        out.insert("timeout_seconds".into(), json!(t));
    }
    if let Some(c) = &d.customization {
        out.insert("customization".into(), c.clone());
    }
    Json::Object(out)
}

/// A remote schema as Hasura's `RemoteSchemaMetadata` `ToJSON` writes it in an
/// inconsistency's `definition`: every key, `comment` null when absent.
pub fn remote_schema_definition(rs: &RemoteSchemaMetadata) -> Json {
    json!({
        "name": rs.name,
        "definition": def_json(&rs.definition),
        "comment": rs.comment,
        "permissions": rs.permissions.iter().map(|p| json!({
            "role": p.role,
            "definition": {"schema": p.definition.schema},
            "comment": p.comment,
        })).collect::<Vec<_>>(),
        "remote_relationships": rs.remote_relationships,
    })
}

#[cfg(test)]
mod tests;
