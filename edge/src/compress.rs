//! gzip response compression, negotiated like Hasura's `Hasura.Server.Compression`.
//!
//! The client's `Accept-Encoding` values are split on commas; quality values are ignored
//! except to tell whether `identity` is refused (`identity;q=0`, or `*;q=0` without
//! `identity` listed). Then:
//! * gzip accepted and identity too: bodies of at least [`MIN_BYTES`] are gzipped, smaller
//!   ones go out as they are (compressing them saves nothing);
//! * gzip accepted, identity refused: always gzipped;
//! * otherwise: as they are.
//!
//! Only successful API answers are compressed (the routes decide; errors, `/healthz` and
//! `/v1/version` never are), at level 1 (speed over ratio, as Hasura).
use std::io::Write;

/// Below this many bytes an answer is not worth compressing (Hasura's threshold).
pub const MIN_BYTES: usize = 700;

/// What the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub gzip: bool,
    pub identity: bool,
}

/// Reads every `Accept-Encoding` header.
pub fn accepted(headers: &[(String, String)]) -> Accepted {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("accept-encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    let identity_refused = values.contains(&"identity;q=0")
        || (values.contains(&"*;q=0") && !values.iter().any(|v| v.starts_with("identity")));
    Accepted {
        gzip: values.iter().any(|v| v.starts_with("gzip")) && !values.contains(&"gzip;q=0"),
        identity: !identity_refused,
    }
}

/// Gzips `resp`'s body in place (adding `Content-Encoding: gzip`) when the request's
/// `Accept-Encoding` calls for it. Returns whether it did.
pub fn maybe_gzip(req_headers: &[(String, String)], resp: &mut crate::Response) -> bool {
    let a = accepted(req_headers);
    let wanted = a.gzip && (!a.identity || resp.body.len() >= MIN_BYTES);
    if !wanted {
        return false;
    }
    let Some(body) = gzip(&resp.body) else {
        return false;
    };
    resp.body = body;
    resp.headers
        .push(("Content-Encoding".into(), "gzip".into()));
    true
}

/// `data` gzipped at level 1.
pub fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 32),
        flate2::Compression::fast(),
    );
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// `(Accept-Encoding, body length, gzipped)`.
    fn check(cases: &[(&str, usize, bool)]) {
        for (accept, len, gzipped) in cases {
            let headers = vec![("Accept-Encoding".to_string(), accept.to_string())];
            let body = "x".repeat(*len);
            let mut resp = crate::Response::new(200, "application/json", body.clone());
            assert_eq!(maybe_gzip(&headers, &mut resp), *gzipped, "{accept} {len}");
            if *gzipped {
                assert_eq!(resp.header("content-encoding"), Some("gzip"));
                let mut out = String::new();
                flate2::read::GzDecoder::new(&resp.body[..])
                    .read_to_string(&mut out)
                    .unwrap();
                assert_eq!(out, body);
            } else {
                assert_eq!(resp.body, body.as_bytes());
                assert_eq!(resp.header("content-encoding"), None);
            }
        }
    }

    #[test]
    fn negotiates_like_hasura() {
        check(&[
            ("gzip", 700, true),
            ("gzip", 699, false),
            ("gzip, deflate, br", 5000, true),
            ("deflate, br", 5000, false),
            ("gzip;q=0", 5000, false),
            ("gzip, identity;q=0", 10, true),
            ("gzip, *;q=0", 10, true),
            ("gzip, identity, *;q=0", 10, false),
            ("", 5000, false),
        ]);
    }
}
