//! Request extractors whose every rejection is a JSON `detail` (never axum's plain text).
//!
//! Bodies and query strings are read into request types made of
//! [`Input`](shared::domain::Input) fields: reading one never fails on a field's value, so the
//! handler's constructor can report every wrong field at once.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use shared::domain::FieldError;

use crate::error::ApiError;

/// Largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

fn content_type(parts: &axum::http::HeaderMap) -> String {
    parts
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn is_json(content_type: &str) -> bool {
    content_type == "application/json"
        || (content_type.starts_with("application/") && content_type.ends_with("+json"))
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|_| ApiError::BadRequest("Could not read the request body".to_owned()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(bytes)
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::validation(FieldError::new(
            "json_invalid",
            &["body", &e.column().to_string()],
            format!("JSON decode error: {e}"),
            Value::Null,
        ))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::validation(FieldError::new(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object",
            other,
        ))),
    }
}

/// Reads a request type from the fields of an object. Request types are made of `Input`
/// fields, which take any value, so this fails only if a type breaks that rule.
///
/// Read from text, not from the `Value`: a number beyond 64 bits (kept exact, as text) cannot
/// be read back out of a `Value` (serde_json has no 128-bit path there), but reads from text.
pub fn read_fields<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    let text = Value::Object(map).to_string();
    serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("request type refused a field: {e}")))
}

/// A JSON object body read into `T`, numbers kept as their exact text. Requires
/// `Content-Type: application/json`.
pub struct JsonInput<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonInput<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = content_type(req.headers());
        if !is_json(&kind) {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/json".to_owned(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        Ok(JsonInput(read_fields(parse_object(&bytes)?)?))
    }
}

/// A login body read into `T`: form-encoded (`username`, `password`) as the contract says, or
/// JSON.
pub struct FormOrJsonInput<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormOrJsonInput<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = content_type(req.headers());
        let form = kind == "application/x-www-form-urlencoded";
        if !form && !is_json(&kind) {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/x-www-form-urlencoded or application/json"
                    .to_owned(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        if !form {
            return Ok(FormOrJsonInput(read_fields(parse_object(&bytes)?)?));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            ApiError::validation(FieldError::new(
                "form_invalid",
                &["body"],
                "Invalid form body",
                Value::Null,
            ))
        })?;
        Ok(FormOrJsonInput(read_fields(strings(pairs))?))
    }
}

/// A query string read into `T` (every value a string; the last of a repeated key wins).
pub struct QueryInput<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryInput<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::validation(FieldError::new(
                    "query_invalid",
                    &["query"],
                    "Invalid query string",
                    Value::Null,
                ))
            })?;
        Ok(QueryInput(read_fields(strings(pairs))?))
    }
}

fn strings(pairs: Vec<(String, String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// The one parameter of a route's path (`/prices/{symbol}`, `/alerts/{alert_id}`), decoded;
/// a parameter that does not decode to UTF-8 (`/prices/%FF%FE`) is kept as sent, still
/// percent-encoded, so the handler refuses it as it refuses any other wrong value (never with
/// axum's plain-text 400).
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Path(decoded)) = Path::<String>::from_request_parts(parts, state).await {
            return Ok(PathParam(decoded));
        }
        let template = MatchedPath::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("Not Found".to_owned()))?;
        let position = template
            .as_str()
            .split('/')
            .position(|segment| segment.starts_with('{'));
        position
            .and_then(|position| parts.uri.path().split('/').nth(position))
            .map(|raw| PathParam(raw.to_owned()))
            .ok_or_else(|| ApiError::NotFound("Not Found".to_owned()))
    }
}

/// The `{id}` of `/alerts/{id}`; a non-integer is a 422 like any other validation error.
pub struct AlertIdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for AlertIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PathParam(raw) = PathParam::from_request_parts(parts, state).await?;
        raw.parse::<i64>().map(AlertIdPath).map_err(|_| {
            ApiError::validation(FieldError::new(
                "int_parsing",
                &["path", "alert_id"],
                "Input should be a valid integer, unable to parse string as an integer",
                Value::String(raw),
            ))
        })
    }
}
