//! CORS as Hasura does it (`HASURA_GRAPHQL_CORS_DOMAIN`, `HASURA_GRAPHQL_DISABLE_CORS`).
//!
//! * A request without `Origin` gets no CORS headers at all.
//! * `*` (the default) answers every origin; a list answers the origins it names exactly
//!   (`http://localhost:3000`) and one level of subdomain of a wildcard entry
//!   (`https://*.foo.com` matches `https://app.foo.com`, not `https://foo.com` nor
//!   `https://a.b.foo.com`); other origins get no CORS headers.
//! * An allowed origin gets `Access-Control-Allow-Origin: <origin>`,
//!   `Access-Control-Allow-Credentials: true` and `Access-Control-Allow-Methods`; its `OPTIONS`
//!   preflight is answered here (204, the requested headers allowed, max age 20 days) without
//!   reaching the routes.
//! * Disabled CORS answers no origin: the request goes to the routes as it is (an `OPTIONS`
//!   finds no route).

/// Hasura's allowed methods, in its order.
const METHODS: &str = "GET,POST,PUT,PATCH,DELETE,OPTIONS";
/// Hasura's preflight max age (20 days).
const MAX_AGE: &str = "1728000";

/// One wildcard entry: scheme (`http://`), the host after `*.`, optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wildcard {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// The CORS policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cors {
    /// `*` (the default): every origin.
    #[default]
    AllowAll,
    /// A list of origins: exact ones and `scheme://*.host[:port]` wildcards.
    Domains {
        exact: Vec<String>,
        wildcards: Vec<WildcardEntry>,
    },
    /// `HASURA_GRAPHQL_DISABLE_CORS`: no CORS headers for anyone.
    Disabled,
}

/// A parsed wildcard domain (opaque outside this module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardEntry(Wildcard);

impl Cors {
    /// Reads `HASURA_GRAPHQL_CORS_DOMAIN` (`*` or a comma-separated list) and
    /// `HASURA_GRAPHQL_DISABLE_CORS` (which wins).
    pub fn from_env(get: &impl Fn(&str) -> Option<String>) -> Result<Cors, String> {
        let disabled = match get("HASURA_GRAPHQL_DISABLE_CORS").filter(|v| !v.trim().is_empty()) {
            None => false,
            Some(v) => crate::config::parse_bool(&v).ok_or_else(|| {
                format!("HASURA_GRAPHQL_DISABLE_CORS: expected true or false, got {v:?}")
            })?,
        };
        if disabled {
            return Ok(Cors::Disabled);
        }
        match get("HASURA_GRAPHQL_CORS_DOMAIN").filter(|v| !v.trim().is_empty()) {
            None => Ok(Cors::AllowAll),
            Some(v) => Cors::parse(&v).map_err(|e| format!("HASURA_GRAPHQL_CORS_DOMAIN: {e}")),
        }
    }

    /// Parses a `HASURA_GRAPHQL_CORS_DOMAIN` value.
    pub fn parse(s: &str) -> Result<Cors, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(Cors::AllowAll);
        }
        if s.is_empty() || s == "," {
            return Err("invalid domain".into());
        }
        let mut exact = Vec::new();
        let mut wildcards = Vec::new();
        for d in s.split(',').map(str::trim) {
            if !valid_domain(d) {
                return Err(format!("invalid domain: '{d}'"));
            }
            match d
                .strip_prefix("http://*.")
                .map(|r| ("http://", r))
                .or_else(|| d.strip_prefix("https://*.").map(|r| ("https://", r)))
            {
                Some((scheme, rest)) => {
                    let (host, port) = host_port(rest);
                    wildcards.push(WildcardEntry(Wildcard {
                        scheme: scheme.into(),
                        host: host.into(),
                        port,
                    }));
                }
                None => exact.push(d.to_string()),
            }
        }
        Ok(Cors::Domains { exact, wildcards })
    }

    /// Whether CORS headers go to a request from `origin`.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Cors::AllowAll => true,
            Cors::Disabled => false,
            Cors::Domains { exact, wildcards } => {
                exact.iter().any(|d| d == origin)
                    || parse_origin(origin).is_some_and(|o| wildcards.iter().any(|w| w.0 == o))
            }
        }
    }

    /// The JSON of the startup log's `cors_config`.
    pub fn describe(&self) -> serde_json::Value {
        match self {
            Cors::AllowAll => serde_json::json!({"allowed_origins": "*", "disabled": false}),
            Cors::Disabled => serde_json::json!({"disabled": true, "ws_read_cookie": false}),
            Cors::Domains { exact, wildcards } => serde_json::json!({
                "allowed_origins": {
                    "fqdns": exact,
                    "wildcards": wildcards.iter().map(|w| serde_json::json!({
                        "scheme": w.0.scheme, "host": w.0.host, "port": w.0.port,
                    })).collect::<Vec<_>>(),
                },
                "disabled": false,
            }),
        }
    }

    /// The answer to an `OPTIONS` preflight from an allowed origin (`None`: not answered here).
    pub fn preflight(&self, req: &crate::Request) -> Option<crate::Response> {
        if !req.method.eq_ignore_ascii_case("OPTIONS") {
            return None;
        }
        let origin = crate::auth::header(&req.headers, "origin")?;
        if !self.allows(origin) {
            return None;
        }
        let requested = crate::auth::header(&req.headers, "access-control-request-headers")
            .unwrap_or("")
            .to_string();
        let mut resp = crate::Response {
            status: 204,
            headers: vec![
                ("Access-Control-Max-Age".into(), MAX_AGE.into()),
                ("Access-Control-Allow-Headers".into(), requested),
                ("Content-Type".into(), "text/plain charset=UTF-8".into()),
            ],
            body: Vec::new(),
        };
        self.add_headers(req, &mut resp);
        Some(resp)
    }

    /// Adds the CORS headers to the answer of a request from an allowed origin.
    pub fn add_headers(&self, req: &crate::Request, resp: &mut crate::Response) {
        let Some(origin) = crate::auth::header(&req.headers, "origin") else {
            return;
        };
        if !self.allows(origin) {
            return;
        }
        resp.headers
            .push(("Access-Control-Allow-Origin".into(), origin.to_string()));
        resp.headers
            .push(("Access-Control-Allow-Credentials".into(), "true".into()));
        resp.headers
            .push(("Access-Control-Allow-Methods".into(), METHODS.into()));
    }
}

/// Hasura's `^http(s)?://(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(:[0-9]+)*$`.
fn valid_domain(d: &str) -> bool {
    let Some(rest) = d
        .strip_prefix("http://")
        .or_else(|| d.strip_prefix("https://"))
    else {
        return false;
    };
    let rest = rest.strip_prefix("*.").unwrap_or(rest);
    let mut parts = rest.split(':');
    let host = parts.next().unwrap_or("");
    let label_ok =
        |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    host.split('.').all(label_ok)
        && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `host[:port]` → host and port.
fn host_port(s: &str) -> (&str, Option<u16>) {
    match s.split_once(':') {
        Some((h, p)) => (h, p.parse().ok()),
        None => (s, None),
    }
}

/// An origin as a wildcard would match it: the scheme, the host without its first label, the
/// port (Hasura's `originParser`).
fn parse_origin(origin: &str) -> Option<Wildcard> {
    let (scheme, rest) = if let Some(r) = origin.strip_prefix("http://") {
        ("http://", r)
    } else {
        ("https://", origin.strip_prefix("https://")?)
    };
    let (_, after) = rest.split_once('.')?;
    let (host, port) = host_port(after);
    Some(Wildcard {
        scheme: scheme.into(),
        host: host.into(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(CORS_DOMAIN, origin, allowed)`.
    fn check(cases: &[(&str, &str, bool)]) {
        for (domains, origin, allowed) in cases {
            let cors = Cors::parse(domains).unwrap();
            assert_eq!(cors.allows(origin), *allowed, "{domains} / {origin}");
        }
    }

    #[test]
    fn origins_match_like_hasura() {
        let list = "http://*.localhost, http://localhost:3000, https://*.foo.bar.com";
        check(&[
            ("*", "https://anything.example", true),
            (list, "https://foo.bar.com", false),
            (list, "https://app.foo.bar.com", true),
            (list, "https://inst1.app.foo.bar.com", false),
            (list, "http://localhost:3000", true),
            (list, "http://localhost:3001", false),
            (list, "http://app.localhost", true),
            (list, "https://app.localhost", false),
            (list, "https://example.com", false),
            ("http://*.foo.com:8080", "http://a.foo.com:8080", true),
            ("http://*.foo.com:8080", "http://a.foo.com", false),
        ]);
        for bad in [
            "",
            ",",
            "foo.com",
            "http://a b",
            "ftp://x.com",
            "http://x.com:y",
        ] {
            assert!(Cors::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_and_preflight() {
        let cors = Cors::parse("http://localhost:3000").unwrap();
        let req = |method: &str, origin: Option<&str>| crate::Request {
            method: method.into(),
            path: "/v1/graphql".into(),
            headers: origin
                .map(|o| vec![("Origin".to_string(), o.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
        };
        let mut resp = crate::Response::new(200, "text/plain", "x");
        cors.add_headers(&req("GET", Some("http://localhost:3000")), &mut resp);
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some("http://localhost:3000")
        );
        assert_eq!(resp.header("access-control-allow-methods"), Some(METHODS));
        let mut resp = crate::Response::new(200, "text/plain", "x");
        cors.add_headers(&req("GET", None), &mut resp);
        cors.add_headers(&req("GET", Some("http://evil.com")), &mut resp);
        assert_eq!(resp.header("access-control-allow-origin"), None);
        let pre = cors
            .preflight(&req("OPTIONS", Some("http://localhost:3000")))
            .unwrap();
        assert_eq!(pre.status, 204);
        assert_eq!(pre.header("access-control-max-age"), Some(MAX_AGE));
        assert!(cors
            .preflight(&req("OPTIONS", Some("http://evil.com")))
            .is_none());
        assert!(Cors::Disabled
            .preflight(&req("OPTIONS", Some("http://localhost:3000")))
            .is_none());
    }
}
