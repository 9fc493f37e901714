//! Outbound HTTP, as the host provides it. The edge crate does no I/O of its own: the Neon
//! transport (`POST /sql`) and JWKS fetching (`jwk_url`) go through an [`HttpClient`] that each
//! host implements — `fetch` in a Worker, `wasi:http` in Spin, a pooled client natively
//! (`graphedge_scheduler::http_client`). Futures need not be `Send` (JS-backed ones are not).

/// One outbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL (`https://host/path?query`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long the host may wait for the answer (`None`: its own default).
    pub timeout: Option<std::time::Duration>,
}

/// The answer to an [`HttpRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Response headers; names as the server sent them (compare case-insensitively).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (case-insensitive name, first match).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::auth::header(&self.headers, name)
    }
}

/// The host's outbound HTTP. An `Err` is a transport failure (DNS, connect, TLS, timeout), not
/// an HTTP error status.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String>;
}

/// A host without outbound HTTP: every request fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHttp;

impl HttpClient for NoHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        Err(format!(
            "this host has no outbound HTTP (requested {})",
            req.url
        ))
    }
}
