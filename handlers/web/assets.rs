//! Front-end files embedded in the binary and served under content-hashed URLs
//! (`/assets/{hash}/{name}`), so they can be cached forever and work offline; each is gzipped
//! once, on first request, and served compressed to clients that accept it.

use std::sync::{LazyLock, OnceLock};

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

/// One embedded file.
pub struct Asset {
    /// File name in URLs.
    pub name: &'static str,
    /// Content type.
    pub content_type: &'static str,
    /// Bytes.
    pub body: &'static [u8],
    hash: OnceLock<String>,
    gzipped: OnceLock<Vec<u8>>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Self {
        Self { name, content_type, body, hash: OnceLock::new(), gzipped: OnceLock::new() }
    }

    /// The first 16 hex digits of the content's SHA-256.
    pub fn hash(&self) -> &str {
        self.hash.get_or_init(|| {
            Sha256::digest(self.body).iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
        })
    }

    /// The versioned URL.
    pub fn url(&self) -> String {
        format!("/assets/{}/{}", self.hash(), self.name)
    }

    fn gzipped(&self) -> &[u8] {
        self.gzipped.get_or_init(|| {
            use std::io::Write as _;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // An empty result makes `serve` fall back to the uncompressed bytes.
            encoder.write_all(self.body).and_then(|()| encoder.finish()).unwrap_or_default()
        })
    }
}

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every embedded file: the two vendored libraries with their licences, and the app's own.
pub static ASSETS: LazyLock<[Asset; 9]> = LazyLock::new(|| {
    [
        Asset::new("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
        Asset::new("app.js", JS, include_bytes!("assets/app.js")),
        Asset::new("htmx.min.js", JS, include_bytes!("assets/htmx-2.0.11.min.js")),
        Asset::new("echarts.simple.min.js", JS, include_bytes!("assets/echarts-6.1.0.simple.min.js")),
        Asset::new("LICENSE-htmx.txt", TEXT, include_bytes!("assets/LICENSE-htmx")),
        Asset::new("LICENSE-echarts.txt", TEXT, include_bytes!("assets/LICENSE-echarts")),
        Asset::new("NOTICE-echarts.txt", TEXT, include_bytes!("assets/NOTICE-echarts")),
        Asset::new("LICENSE-echarts-d3.txt", TEXT, include_bytes!("assets/LICENSE-echarts-d3")),
        Asset::new("favicon.svg", "image/svg+xml", include_bytes!("assets/favicon.svg")),
    ]
});

/// Compresses every asset once in the background, so the first browser does not wait for it.
pub fn warm_up() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new().name("asset-gzip".into()).spawn(|| {
            for asset in ASSETS.iter() {
                asset.gzipped();
            }
        });
    });
}

/// The versioned URL of the embedded file `name` (empty if there is none, which a test rules out).
pub fn url(name: &str) -> String {
    ASSETS.iter().find(|a| a.name == name).map(Asset::url).unwrap_or_default()
}

/// `GET /assets/{hash}/{name}`: the file, `immutable` for a year; an outdated hash answers 404
/// so a stale page never mixes versions.
pub async fn serve(Path((hash, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name && a.hash() == hash) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, TEXT)], "no such asset").into_response();
    };
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
    let mut response = if gzip && !asset.gzipped().is_empty() {
        let mut r = asset.gzipped().to_vec().into_response();
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        asset.body.to_vec().into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_stable_versioned_url_and_compresses() {
        for asset in ASSETS.iter() {
            assert!(!asset.body.is_empty(), "{}", asset.name);
            assert_eq!(asset.hash().len(), 16);
            assert_eq!(url(asset.name), format!("/assets/{}/{}", asset.hash(), asset.name));
            assert!(!asset.gzipped().is_empty());
        }
        let charts = ASSETS.iter().find(|a| a.name == "echarts.simple.min.js").unwrap();
        assert!(charts.gzipped().len() < charts.body.len() / 2);
        assert_eq!(url("missing.js"), "");
    }
}
