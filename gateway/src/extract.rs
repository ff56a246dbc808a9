//! Request extractors whose every rejection is a JSON `detail` (never axum's plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::domain::{NotificationChannels, Price};

use crate::error::{ApiError, FieldError};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024;

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
        return Err(ApiError::Unprocessable(format!(
            "Request body larger than {MAX_BODY_BYTES} bytes"
        )));
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

/// A JSON object body, numbers kept as their exact text. Requires `Content-Type: application/json`.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = content_type(req.headers());
        if !is_json(&kind) {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/json".to_owned(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        Ok(JsonObject(parse_object(&bytes)?))
    }
}

/// A login body: form-encoded (`username`, `password`) as the contract says, or JSON.
pub struct LoginBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for LoginBody {
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
            return Ok(LoginBody(parse_object(&bytes)?));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            ApiError::validation(FieldError::new(
                "form_invalid",
                &["body"],
                "Invalid form body",
                Value::Null,
            ))
        })?;
        Ok(LoginBody(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ))
    }
}

/// The `{id}` of `/alerts/{id}`; a non-integer is a 422 like any other validation error.
pub struct AlertIdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for AlertIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw): axum::extract::Path<String> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound("Not Found".to_owned()))?;
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

/// Reads typed fields out of a JSON object, collecting every problem before answering.
pub struct Fields {
    map: Map<String, Value>,
    location: &'static str,
    errors: Vec<FieldError>,
}

type Parse<T> = fn(&Value) -> Result<T, (&'static str, String)>;

impl Fields {
    pub fn body(map: Map<String, Value>) -> Fields {
        Fields {
            map,
            location: "body",
            errors: Vec::new(),
        }
    }

    pub fn query(map: Map<String, Value>) -> Fields {
        Fields {
            map,
            location: "query",
            errors: Vec::new(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn error(&mut self, kind: &'static str, name: &str, msg: impl Into<String>) {
        let input = self.map.get(name).cloned().unwrap_or(Value::Null);
        self.errors
            .push(FieldError::new(kind, &[self.location, name], msg, input));
    }

    /// A required field; records `missing` when absent or null.
    pub fn required<T>(&mut self, name: &str, parse: Parse<T>) -> Option<T> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                self.errors.push(FieldError::new(
                    "missing",
                    &[self.location, name],
                    "Field required",
                    Value::Null,
                ));
                None
            }
            Some(value) => self.parse_value(name, value.clone(), parse),
        }
    }

    /// An optional field: `Some(None)` when absent or null, `None` when invalid.
    pub fn optional<T>(&mut self, name: &str, parse: Parse<T>) -> Option<Option<T>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.parse_value(name, value.clone(), parse).map(Some),
        }
    }

    fn parse_value<T>(&mut self, name: &str, value: Value, parse: Parse<T>) -> Option<T> {
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err((kind, msg)) => {
                self.errors
                    .push(FieldError::new(kind, &[self.location, name], msg, value));
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

pub fn string(value: &Value) -> Result<String, (&'static str, String)> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(("string_type", "Input should be a valid string".to_owned())),
    }
}

pub fn price(value: &Value) -> Result<Price, (&'static str, String)> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(("decimal_type", "Input should be a valid number".to_owned())),
    };
    text.parse::<Price>().map_err(|_| {
        (
            "decimal_parsing",
            "Input should be a valid number".to_owned(),
        )
    })
}

pub fn integer(value: &Value) -> Result<i64, (&'static str, String)> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(("int_type", "Input should be a valid integer".to_owned())),
    };
    text.parse::<i64>().map_err(|_| {
        (
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer".to_owned(),
        )
    })
}

pub fn boolean(value: &Value) -> Result<bool, (&'static str, String)> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
            _ => Err((
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input".to_owned(),
            )),
        },
        _ => Err(("bool_type", "Input should be a valid boolean".to_owned())),
    }
}

pub fn channels(value: &Value) -> Result<NotificationChannels, (&'static str, String)> {
    let parsed = match value {
        Value::String(s) => s.parse(),
        Value::Array(items) => {
            let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            match names {
                Some(names) => NotificationChannels::from_names(&names),
                None => {
                    return Err((
                        "value_error",
                        "notification_types items must be strings".to_owned(),
                    ))
                }
            }
        }
        _ => {
            return Err((
                "string_type",
                "Input should be a comma-separated string or an array of strings".to_owned(),
            ))
        }
    };
    parsed.map_err(|e| ("value_error", format!("Value error, {e}")))
}

pub fn datetime(value: &Value) -> Result<DateTime<Utc>, (&'static str, String)> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| {
                (
                    "datetime_parsing",
                    "Input should be a valid ISO-8601 datetime with a timezone".to_owned(),
                )
            }),
        _ => Err((
            "datetime_type",
            "Input should be a valid datetime".to_owned(),
        )),
    }
}
