//! `api_limits`: Hasura's API limits (`set_api_limits`), in Hasura's JSON shape:
//!
//! ```json
//! {"disabled": false,
//!  "depth_limit": {"global": 5, "per_role": {"user": 7}},
//!  "node_limit":  {"global": 5, "per_role": {}},
//!  "time_limit":  {"global": 2.5, "per_role": {}},
//!  "batch_limit": {"global": 5, "per_role": {}},
//!  "rate_limit":  {"global": {"max_reqs_per_min": 100, "unique_params": "IP"},
//!                  "per_role": {"user": {"max_reqs_per_min": 10,
//!                                        "unique_params": ["x-hasura-user-id"]}}}}
//! ```
//!
//! As in Hasura: absent limits are omitted, `per_role` is always written (`{}` when empty),
//! `unique_params` is written as `null` when absent, `"IP"` is accepted in any case and written
//! `"IP"`, session variables must start with `x-hasura-` and may not be `x-hasura-role`, numbers
//! may not be negative, and `time_limit` is in seconds (fractions allowed).
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

/// The whole `api_limits` object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ApiLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Limit<RateLimitConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_limit: Option<Limit<Count>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_limit: Option<Limit<Count>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<Limit<Seconds>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_limit: Option<Limit<Count>>,
    #[serde(default)]
    pub disabled: bool,
}

impl ApiLimits {
    /// Hasura's `emptyApiLimit` (what `remove_api_limits` leaves).
    pub fn is_empty(&self) -> bool {
        *self == ApiLimits::default()
    }
}

/// A limit: `global` (required) and `per_role` overrides.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Limit<T> {
    pub global: T,
    #[serde(default)]
    pub per_role: BTreeMap<String, T>,
}

impl<T> Limit<T> {
    /// The value for `role`: its `per_role` entry, else `global`.
    pub fn for_role(&self, role: &str) -> &T {
        self.per_role.get(role).unwrap_or(&self.global)
    }
}

/// A non-negative whole number (depth, nodes, batch size).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Json::deserialize(d)?;
        match v.as_u64() {
            Some(n) => Ok(Count(n)),
            None => Err(serde::de::Error::custom(format!(
                "expected a non-negative integer, got {v}"
            ))),
        }
    }
}

/// A non-negative number of seconds (`time_limit`); written as an integer when whole, like
/// Hasura's `Seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub f64);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Json::deserialize(d)?;
        match v.as_f64() {
            Some(n) if n >= 0.0 && n.is_finite() => Ok(Seconds(n)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a non-negative number of seconds, got {v}"
            ))),
        }
    }
}

/// One rate limit: requests per minute, counted per role and these unique parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RateLimitConfig {
    pub max_reqs_per_min: Count,
    #[serde(default)]
    pub unique_params: Option<UniqueParams>,
}

/// `"IP"`, or a list of session variables (`x-hasura-*`, not `x-hasura-role`).
#[derive(Clone, Debug, PartialEq)]
pub enum UniqueParams {
    Ip,
    SessionVariables(Vec<String>),
}

const UNIQUE_PARAMS_ERROR: &str =
    "Not a valid value. Should be either: 'IP' or a list of Hasura session variables";

impl Serialize for UniqueParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UniqueParams::Ip => s.serialize_str("IP"),
            UniqueParams::SessionVariables(vars) => vars.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for UniqueParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bad = || serde::de::Error::custom(UNIQUE_PARAMS_ERROR);
        match Json::deserialize(d)? {
            Json::String(s) if s.eq_ignore_ascii_case("ip") => Ok(UniqueParams::Ip),
            Json::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Json::String(s) => {
                        let lower = s.to_ascii_lowercase();
                        if lower.starts_with("x-hasura-") && lower != "x-hasura-role" {
                            Ok(s)
                        } else {
                            Err(bad())
                        }
                    }
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()
                .map(UniqueParams::SessionVariables),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One table: input → the JSON written back, or the error's text.
    #[test]
    fn shapes() {
        let cases = [
            (json!({}), Ok(json!({"disabled": false}))),
            (
                json!({"disabled": true, "depth_limit": {"global": 5}}),
                Ok(json!({"disabled": true, "depth_limit": {"global": 5, "per_role": {}}})),
            ),
            (
                json!({"time_limit": {"global": 2.5, "per_role": {"u": 10.0}}}),
                Ok(
                    json!({"disabled": false, "time_limit": {"global": 2.5, "per_role": {"u": 10}}}),
                ),
            ),
            (
                json!({"rate_limit": {"global": {"max_reqs_per_min": 10, "unique_params": "ip"},
                       "per_role": {"u": {"max_reqs_per_min": 1,
                                          "unique_params": ["X-Hasura-User-Id"]},
                                    "v": {"max_reqs_per_min": 2}}}}),
                Ok(json!({"disabled": false, "rate_limit": {
                    "global": {"max_reqs_per_min": 10, "unique_params": "IP"},
                    "per_role": {"u": {"max_reqs_per_min": 1, "unique_params": ["X-Hasura-User-Id"]},
                                 "v": {"max_reqs_per_min": 2, "unique_params": null}}}})),
            ),
            (
                json!({"rate_limit": {"global": {"max_reqs_per_min": 1, "unique_params": ["x-hasura-role"]}}}),
                Err(UNIQUE_PARAMS_ERROR),
            ),
            (
                json!({"rate_limit": {"global": {"max_reqs_per_min": 1, "unique_params": "host"}}}),
                Err(UNIQUE_PARAMS_ERROR),
            ),
            (json!({"depth_limit": {"global": -1}}), Err("non-negative")),
            (json!({"time_limit": {"global": -1}}), Err("non-negative")),
            (json!({"node_limit": {"per_role": {}}}), Err("global")),
        ];
        for (input, want) in cases {
            let got = serde_json::from_value::<ApiLimits>(input.clone())
                .map(|l| serde_json::to_value(&l).unwrap())
                .map_err(|e| e.to_string());
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{input}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{input}: {g}"),
                (g, w) => panic!("{input}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn per_role_overrides_global() {
        let l: ApiLimits =
            serde_json::from_value(json!({"depth_limit": {"global": 5, "per_role": {"u": 2}}}))
                .unwrap();
        let d = l.depth_limit.unwrap();
        assert_eq!((d.for_role("u").0, d.for_role("other").0), (2, 5));
    }
}
