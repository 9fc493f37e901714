//! The console: GraphiQL (with the Explorer plugin and a SQL panel over
//! `/v1/graphql/explain`) under a bar holding the admin secret, a role picker fed by the
//! metadata and the session variables that role's permissions use; the Headers tab's headers
//! are merged into every request. Tabs switch to the Data (rows through `/v1/graphql` as the
//! role), Permissions (`graphedge_permission_matrix`) and Events (event and cron triggers)
//! screens. Everything it loads is served from here, so it works offline and under a strict
//! content-security policy.
//!
//! The front-end lives in `console/` (sources, npm lockfile); `scripts/build-console.sh`
//! bundles it with esbuild into `console/dist/` (script and stylesheet gzipped) and writes
//! [`assets`] (each asset's URL with its content hash), both committed: building the engine
//! needs no npm. The bytes are embedded in every host (native binary, Worker, Spin).
//!
//! | path | answer |
//! |---|---|
//! | `/console`, `/console/…` (not under `assets/`) | the page (`no-cache`) |
//! | `/console/assets/<name>.<hash>.<ext>` | an asset, cached for a year (`immutable`), gzipped when the client accepts it |
//! | `/favicon.ico` | the icon (cached for a day) |
use crate::compress;
use crate::Response;

mod assets;
pub use assets::ASSETS;

/// One embedded asset.
#[derive(Debug)]
pub struct Asset {
    /// The file name in its URL, `<stem>.<hash>.<ext>`.
    pub name: &'static str,
    pub content_type: &'static str,
    /// The first 16 hex digits of the SHA-256 of the uncompressed content (the `ETag`).
    pub hash: &'static str,
    /// The uncompressed length.
    pub len: usize,
    /// Whether [`Asset::bytes`] is gzip (served as is to clients that accept it).
    pub gzipped: bool,
    pub bytes: &'static [u8],
}

/// Where the assets are served.
pub const ASSETS_PREFIX: &str = "/console/assets/";

/// The policy the page is served with: nothing but this origin (styles and fonts inline).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

fn asset(stem_ext: (&str, &str)) -> &'static Asset {
    let (stem, ext) = stem_ext;
    ASSETS
        .iter()
        .find(|a| a.name.starts_with(stem) && a.name.ends_with(ext))
        .expect("the console's assets are generated together")
}

/// The console page, linking the current assets.
pub fn page() -> String {
    let js = asset(("console.", ".js")).name;
    let css = asset(("console.", ".css")).name;
    let icon = asset(("favicon.", ".ico")).name;
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>graphedge console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{ASSETS_PREFIX}{icon}">
<link rel="stylesheet" href="{ASSETS_PREFIX}{css}">
<script defer src="{ASSETS_PREFIX}{js}"></script>
</head>
<body>
<div id="console"><p style="padding:1em">Loading the graphedge console…</p></div>
<noscript>The graphedge console needs JavaScript.</noscript>
</body>
</html>
"#
    )
}

/// Whether `path` is one of the console's (served only when the console is enabled).
pub fn is_console_path(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/") || path == "/favicon.ico"
}

/// The answer to `GET path` (a console path), or `None` for an unknown asset (a 404).
pub fn serve(path: &str, req_headers: &[(String, String)]) -> Option<Response> {
    if path == "/favicon.ico" {
        let icon = asset(("favicon.", ".ico"));
        return Some(asset_response(icon, req_headers, "public, max-age=86400"));
    }
    if let Some(name) = path.strip_prefix(ASSETS_PREFIX) {
        let a = ASSETS.iter().find(|a| a.name == name)?;
        return Some(asset_response(
            a,
            req_headers,
            "public, max-age=31536000, immutable",
        ));
    }
    let mut r = Response::new(200, "text/html; charset=utf-8", page());
    r.headers.extend([
        ("Cache-Control".into(), "no-cache".into()),
        (
            "Content-Security-Policy".into(),
            CONTENT_SECURITY_POLICY.into(),
        ),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
    ]);
    Some(r)
}

fn asset_response(a: &Asset, req_headers: &[(String, String)], cache: &str) -> Response {
    let etag = format!("\"{}\"", a.hash);
    let not_modified = req_headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("if-none-match")
            && v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*")
    });
    let mut r = if not_modified {
        let mut r = Response::new(304, a.content_type, Vec::new());
        r.headers.clear();
        r
    } else if a.gzipped && compress::accepted(req_headers).gzip {
        let mut r = Response::new(200, a.content_type, a.bytes);
        r.headers.push(("Content-Encoding".into(), "gzip".into()));
        r
    } else {
        Response::new(200, a.content_type, uncompressed(a))
    };
    r.headers.extend([
        ("Cache-Control".into(), cache.into()),
        ("ETag".into(), etag),
        ("X-Content-Type-Options".into(), "nosniff".into()),
    ]);
    if a.gzipped {
        r.headers.push(("Vary".into(), "Accept-Encoding".into()));
    }
    r
}

/// The asset's content as served to a client without gzip.
pub fn uncompressed(a: &Asset) -> Vec<u8> {
    if !a.gzipped {
        return a.bytes.to_vec();
    }
    gunzip(a.bytes, a.len).expect("the console's assets are valid gzip (checked by the tests)")
}

fn gunzip(gz: &[u8], len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(len);
    flate2::read::GzDecoder::new(gz).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn get(path: &str, headers: &[(&str, &str)]) -> Option<Response> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        serve(path, &headers)
    }

    #[test]
    fn assets_match_their_hashes_and_lengths() {
        for a in ASSETS {
            let content = uncompressed(a);
            assert_eq!(content.len(), a.len, "{}", a.name);
            let hash = Sha256::digest(&content);
            let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, a.hash, "{}", a.name);
            assert!(a.name.contains(a.hash), "{}", a.name);
        }
    }

    #[test]
    fn page_links_only_local_assets() {
        let r = get("/console", &[]).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert!(r.header("content-security-policy").is_some());
        let html = String::from_utf8(r.body).unwrap();
        for a in ASSETS {
            assert!(
                html.contains(&format!("{ASSETS_PREFIX}{}", a.name)),
                "{}",
                a.name
            );
        }
        assert!(
            !html.contains("https://") && !html.contains("http://"),
            "{html}"
        );
        // Deep links load the same page.
        assert_eq!(get("/console/data", &[]).unwrap().status, 200);
    }

    /// `(path, Accept-Encoding, If-None-Match, status, gzipped)`.
    #[test]
    fn assets_are_served_with_types_caching_and_encoding() {
        let js = asset(("console.", ".js"));
        let icon = asset(("favicon.", ".ico"));
        let js_path = format!("{ASSETS_PREFIX}{}", js.name);
        let etag = format!("\"{}\"", js.hash);
        let cases: &[(&str, &str, &str, u16, bool)] = &[
            (&js_path, "gzip, deflate, br", "", 200, true),
            (&js_path, "", "", 200, false),
            (&js_path, "gzip;q=0", "", 200, false),
            (&js_path, "gzip", &etag, 304, false),
            (&js_path, "gzip", "\"other\"", 200, true),
            ("/favicon.ico", "gzip", "", 200, false),
        ];
        for (path, accept, inm, status, gzipped) in cases {
            let r = get(path, &[("Accept-Encoding", accept), ("If-None-Match", inm)]).unwrap();
            assert_eq!(r.status, *status, "{path} {accept} {inm}");
            assert_eq!(
                r.header("content-encoding") == Some("gzip"),
                *gzipped,
                "{path} {accept}"
            );
            if *status == 200 {
                let want = if path.ends_with(".js") { js } else { icon };
                assert_eq!(r.header("content-type"), Some(want.content_type));
                let body = if *gzipped {
                    gunzip(&r.body, want.len).unwrap()
                } else {
                    r.body.clone()
                };
                assert_eq!(body.len(), want.len, "{path}");
            }
            assert!(r.header("etag").is_some() && r.header("cache-control").is_some());
        }
        assert!(get(&js_path, &[])
            .unwrap()
            .header("cache-control")
            .unwrap()
            .contains("immutable"));
        assert_eq!(
            get("/console/assets/console.0000000000000000.js", &[]).map(|r| r.status),
            None
        );
    }
}
