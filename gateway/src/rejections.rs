//! What the HTTP layer refuses by itself, answered as JSON `{"detail": ...}` like every other
//! error: requests too large to serve (414, 431) and any plain-text or empty error answer of
//! axum or tower (405, 413, 400 for a query that is not UTF-8, …).
//!
//! hyper refuses by itself (with an empty 431 and no say for us) a head it cannot buffer:
//! [`HYPER_MAX_HEAD_BYTES`] and [`HYPER_MAX_HEADERS`] sit well above the limits here, so every
//! head between the two gets the JSON answer.

use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest URI (path and query) served; longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header block served (names and values); larger is 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header fields served; more is 431.
pub const MAX_HEADERS: usize = 100;
/// What hyper buffers of a request head before it gives up (its own bodiless 431).
pub const HYPER_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields hyper parses before it gives up (its own bodiless 431).
pub const HYPER_MAX_HEADERS: usize = 256;

/// 414 for a URI over [`MAX_URI_BYTES`], 431 for headers over [`MAX_HEADER_BYTES`] or
/// [`MAX_HEADERS`].
pub async fn refuse_oversized_heads(request: Request, next: Next) -> Response {
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return ApiError::UriTooLong.into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    next.run(request).await
}

/// Turns an error answer that is not JSON into `{"detail": "<reason>"}` with the same status,
/// keeping the headers that tell the client what to do next.
pub async fn json_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let mut json = ApiError::Refused(status).into_response();
    for name in [ALLOW, RETRY_AFTER, WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}
