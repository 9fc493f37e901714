//! The native [`HttpClient`]: a pooled `reqwest` client (rustls, webpki roots) with a request
//! timeout. Used for JWKS fetching, the Neon transport in tests, and anything else the edge
//! handler asks the host to fetch.
use std::time::Duration;

use graphedge_edge::http::{HttpClient, HttpRequest, HttpResponse};

/// A cheap-to-clone pooled client.
#[derive(Clone)]
pub struct NativeHttp {
    client: reqwest::Client,
}

impl NativeHttp {
    /// A client whose requests fail after `timeout`.
    pub fn new(timeout: Duration) -> Result<NativeHttp, String> {
        // Header names go out as written (`User-Agent`), as Hasura's client sends them: some
        // receivers (and Hasura's tests) compare them case-sensitively.
        let client = reqwest::Client::builder()
            .http1_title_case_headers()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(NativeHttp { client })
    }
}

impl HttpClient for NativeHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("invalid HTTP method {:?}", req.method))?;
        let mut builder = self.client.request(method, &req.url);
        if let Some(t) = req.timeout {
            builder = builder.timeout(t);
        }
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let resp = builder.body(req.body).send().await.map_err(|e| {
            // The request's own timeout races the host clock's (`edge::actions::send`):
            // either way the message says it timed out (Hasura's `Response timeout`).
            if e.is_timeout() {
                format!("{}: timed out ({e})", req.url)
            } else {
                format!("{}: {e}", req.url)
            }
        })?;
        let status = resp.status().as_u16();
        let headers = header_pairs(resp.headers());
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("{}: reading the body: {e}", req.url))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// A header map as `(name, value)` pairs (values as text, lossily).
pub fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
