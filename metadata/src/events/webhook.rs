//! Webhook settings shared by event triggers, cron triggers and scheduled events: headers
//! (`value` / `value_from_env`), the URL (`webhook` / `webhook_from_env`) and their resolution
//! against an environment lookup. Pure: the environment is a closure, so hosts and tests decide
//! where values come from.
use serde::{Deserialize, Serialize};

/// Retry settings of an event trigger (`retry_conf`), Hasura's defaults: no retries, 10 s
/// interval, 60 s timeout. Cron triggers map their `retry_interval_seconds` / `timeout_seconds`
/// onto the same struct for delivery.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConf {
    #[serde(default)]
    pub num_retries: u32,
    #[serde(default = "default_interval")]
    pub interval_sec: u64,
    #[serde(default = "default_timeout")]
    pub timeout_sec: u64,
}

fn default_interval() -> u64 {
    10
}
fn default_timeout() -> u64 {
    60
}

impl Default for RetryConf {
    fn default() -> Self {
        RetryConf {
            num_retries: 0,
            interval_sec: default_interval(),
            timeout_sec: default_timeout(),
        }
    }
}

impl RetryConf {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_sec.max(1))
    }
}

/// One configured header: `{"name": "X-Key", "value": "..."}` or
/// `{"name": "X-Key", "value_from_env": "MY_ENV"}` (Hasura's shape, serialised identically).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HeaderConf {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from_env: Option<String>,
}

/// Checks the shape of header definitions (exactly one of `value` / `value_from_env`, a
/// non-empty name). `Err` is the message; the caller adds the path.
pub fn check_headers(headers: &[HeaderConf]) -> Result<(), String> {
    for h in headers {
        if h.name.trim().is_empty() {
            return Err("header name must not be empty".into());
        }
        if !h
            .name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(format!("invalid header name {:?}", h.name));
        }
        match (&h.value, &h.value_from_env) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "header {:?}: only one of \"value\" and \"value_from_env\" may be given",
                    h.name
                ))
            }
            (None, None) => {
                return Err(format!(
                    "header {:?}: expecting \"value\" or \"value_from_env\"",
                    h.name
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The headers' values: `value` as is, `value_from_env` read through `env`. A missing
/// environment variable is an error naming it.
pub fn resolve_headers(
    headers: &[HeaderConf],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    check_headers(headers)?;
    headers
        .iter()
        .map(|h| match (&h.value, &h.value_from_env) {
            (Some(v), _) => Ok((h.name.clone(), v.clone())),
            (None, Some(var)) => env(var).map(|v| (h.name.clone(), v)).ok_or_else(|| {
                format!(
                    "environment variable {var:?} (header {:?}) is not set",
                    h.name
                )
            }),
            (None, None) => Err(format!("header {:?} has no value", h.name)),
        })
        .collect()
}

/// Checks that a URL is an absolute `http://` or `https://` URL with a host and no whitespace.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("invalid webhook URL {url:?}: expected http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') && host.ends_with('@') {
        return Err(format!("invalid webhook URL {url:?}: no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid webhook URL {url:?}: contains whitespace"));
    }
    Ok(())
}

/// Replaces the `{{VAR}}` templates of a webhook URL with environment values (Hasura's
/// `InputWebhook`); a variable that is not set is an error naming it.
pub fn resolve_template(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("webhook {url:?}: unterminated {{{{ template"))?;
        let var = after[..end].trim();
        let value =
            env(var).ok_or_else(|| format!("environment variable {var:?} (webhook) is not set"))?;
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a webhook URL has `{{VAR}}` templates (checked once resolved, at delivery).
pub fn is_template(url: &str) -> bool {
    url.contains("{{")
}

/// The webhook URL from `webhook` (its `{{VAR}}` templates resolved) or `webhook_from_env`
/// (exactly one must be given), checked with [`check_url`].
pub fn resolve_webhook(
    webhook: Option<&str>,
    webhook_from_env: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let url = match (webhook, webhook_from_env) {
        (Some(_), Some(_)) => {
            return Err("only one of \"webhook\" and \"webhook_from_env\" may be given".into())
        }
        (None, None) => return Err("expecting \"webhook\" or \"webhook_from_env\"".into()),
        (Some(u), None) => resolve_template(u, &env)?,
        (None, Some(var)) => {
            env(var).ok_or_else(|| format!("environment variable {var:?} (webhook) is not set"))?
        }
    };
    check_url(&url)?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "HOOK").then(|| "http://127.0.0.1:9/x".to_string())
    }

    fn h(name: &str, value: Option<&str>, from_env: Option<&str>) -> HeaderConf {
        HeaderConf {
            name: name.into(),
            value: value.map(Into::into),
            value_from_env: from_env.map(Into::into),
        }
    }

    #[test]
    fn headers() {
        let ok = resolve_headers(
            &[h("X-A", Some("1"), None), h("X-B", None, Some("HOOK"))],
            env,
        );
        assert_eq!(
            ok.unwrap(),
            vec![
                ("X-A".to_string(), "1".to_string()),
                ("X-B".to_string(), "http://127.0.0.1:9/x".to_string())
            ]
        );
        let missing = resolve_headers(&[h("X-B", None, Some("NOPE"))], env).unwrap_err();
        assert!(missing.contains("\"NOPE\""), "{missing}");
        assert!(check_headers(&[h("X-A", Some("1"), Some("E"))]).is_err());
        assert!(check_headers(&[h("X-A", None, None)]).is_err());
        assert!(check_headers(&[h("bad name", Some("1"), None)]).is_err());
    }

    #[test]
    fn webhooks() {
        assert_eq!(
            resolve_webhook(None, Some("HOOK"), env).unwrap(),
            "http://127.0.0.1:9/x"
        );
        assert!(resolve_webhook(Some("http://a/b"), Some("HOOK"), env).is_err());
        assert_eq!(
            resolve_webhook(Some("{{HOOK}}/trigger?x={{ HOOK }}"), None, env).unwrap(),
            format!("{0}/trigger?x={0}", env("HOOK").unwrap())
        );
        assert!(resolve_webhook(Some("{{NOPE}}/t"), None, env).is_err());
        assert!(resolve_webhook(Some("{{HOOK/t"), None, env).is_err());
        assert!(resolve_webhook(None, None, env).is_err());
        assert!(resolve_webhook(None, Some("NOPE"), env).is_err());
        for bad in [
            "ftp://x",
            "not a url",
            "http://",
            "http:///x",
            "http://a b/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        for good in ["http://localhost:8080/x?y=1", "https://example.com"] {
            assert!(check_url(good).is_ok(), "{good}");
        }
    }
}
