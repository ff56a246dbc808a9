//! The browser app: `/` answers its page, `/app/...` its assets, all embedded in the binary
//! (`gateway/web/`), so `cargo run` stays the only command and nothing is fetched from another
//! host. Every API path keeps its answer: the app owns only `/` and the `/app/` prefix, and an
//! unknown asset is the same JSON 404 as an unknown API route.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::Embed;

use crate::error::ApiError;
use crate::state::AppState;

/// Embedded in debug builds too (`debug-embed`), so tests exercise exactly what ships.
#[derive(Embed)]
#[folder = "web/"]
#[exclude = "*.md"]
#[exclude = "*LICENSE*"]
struct Assets;

/// No inline script or style anywhere in the app, so the policy can forbid both; the live
/// socket is same-origin (`'self'` covers `ws:`/`wss:` to the page's own host in current
/// browsers; named explicitly would need the host, which the server does not know).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; \
    object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The page itself: the one file outside `web/app/`.
const INDEX: &str = "index.html";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/app/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve(INDEX, &headers).unwrap_or_else(|| not_found().into_response())
}

/// Files under `web/app/`, at the same path: the page itself (`web/index.html`) has no second
/// address.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("app/{path}"), &headers).unwrap_or_else(|| not_found().into_response())
}

fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".to_owned())
}

/// The file at `path` with its type, validator and security headers; 304 when the browser
/// already holds this version. `None` when no such file is embedded.
fn serve(path: &str, request: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                content_type(path, file.metadata.mimetype()),
            )],
            file.data.into_owned(),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    // Names are not hashed: the browser keeps a copy but asks each time (a 304 costs one
    // round trip on loopback), so a new binary's app is never mixed with an old one's.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Some(response)
}

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// `text/javascript` for modules (RFC 9239; some guessers still say `application/...`), and a
/// charset on every text type.
fn content_type(path: &str, guessed: &str) -> String {
    let essence = if path.ends_with(".js") || path.ends_with(".mjs") {
        "text/javascript"
    } else {
        guessed
    };
    if essence.starts_with("text/") || essence == "image/svg+xml" || essence.ends_with("json") {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_asset_has_a_type_a_browser_will_run_or_render() {
        for path in Assets::iter() {
            let file = Assets::get(&path).expect("listed, so embedded");
            let kind = content_type(&path, file.metadata.mimetype());
            assert_ne!(kind, "application/octet-stream", "{path}");
        }
        assert_eq!(
            content_type("a.mjs", "application/octet-stream"),
            "text/javascript; charset=utf-8"
        );
    }
}
