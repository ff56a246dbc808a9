//! Errors: `GatewayError` for start-up, `ApiError` for requests (the only place errors become HTTP).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use shared::domain::{AlertInputError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("could not bind the gateway port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the gateway server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("JWT secret: {0}")]
    JwtSecret(String),
    #[error("could not subscribe to price events: {0}")]
    Bus(#[from] shared::bus::BusError),
    #[error("storage: {0}")]
    Storage(#[from] shared::storage::StorageError),
}

/// Everything a request can fail with. 4xx say what was wrong; 5xx say nothing internal.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not authenticated")]
    NotAuthenticated,
    #[error("invalid credentials")]
    InvalidToken,
    #[error("incorrect email or password")]
    IncorrectLogin,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unprocessable(String),
    #[error("rate limited")]
    RateLimited {
        retry_after_secs: u64,
        detail: &'static str,
    },
    #[error("service overloaded")]
    Overloaded,
    /// An outside service refused what the gateway asked on the caller's behalf.
    #[error("{0}")]
    BadGateway(String),
    /// No answer in time from the service behind the gateway.
    #[error("{0}")]
    GatewayTimeout(String),
    /// More requests in flight from the caller's address than allowed.
    #[error("too many requests from one address")]
    AddressBusy,
    /// The body did not arrive within the body read time-out.
    #[error("request body timed out")]
    BodyTimeout,
    #[error("request body too large")]
    BodyTooLarge { limit: usize },
    #[error("URI too long")]
    UriTooLong,
    #[error("request headers too large")]
    HeadersTooLarge,
    /// Whatever the HTTP layer refused by itself, with the status it chose.
    #[error("{0}")]
    Refused(StatusCode),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<shared::storage::StorageError> for ApiError {
    fn from(error: shared::storage::StorageError) -> Self {
        ApiError::Internal(anyhow::Error::new(error))
    }
}

impl From<AlertInputError> for ApiError {
    fn from(error: AlertInputError) -> Self {
        match error {
            AlertInputError::RangeNeedsHigh => {
                ApiError::BadRequest("target_price_high is required for range alerts".to_owned())
            }
            AlertInputError::Invalid(errors) => ApiError::invalid_body(errors),
        }
    }
}

impl ApiError {
    pub fn validation(error: FieldError) -> ApiError {
        ApiError::Validation(vec![error])
    }

    /// Problems with fields of the request body (`loc` starts with `body`).
    pub fn invalid_body(errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation(errors.into_iter().map(|e| e.located_in("body")).collect())
    }

    /// Problems with parameters of the query string (`loc` starts with `query`).
    pub fn invalid_query(errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation(errors.into_iter().map(|e| e.located_in("query")).collect())
    }

    pub fn alert_not_found() -> ApiError {
        ApiError::NotFound("Alert not found".to_owned())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated | ApiError::InvalidToken | ApiError::IncorrectLogin => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::AddressBusy => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Refused(status) => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> Value {
        match self {
            ApiError::BadRequest(m)
            | ApiError::NotFound(m)
            | ApiError::Unprocessable(m)
            | ApiError::BadGateway(m)
            | ApiError::GatewayTimeout(m) => json!(m),
            ApiError::NotAuthenticated => json!("Not authenticated"),
            ApiError::InvalidToken => json!("Could not validate credentials"),
            ApiError::IncorrectLogin => json!("Incorrect email or password"),
            ApiError::MethodNotAllowed => json!("Method Not Allowed"),
            ApiError::UnsupportedMediaType(m) => json!(m),
            ApiError::Validation(errors) => json!(errors),
            ApiError::RateLimited { detail, .. } => json!(detail),
            ApiError::Overloaded => json!("Service temporarily overloaded; retry shortly"),
            ApiError::AddressBusy => json!("Too many requests in flight from your address"),
            ApiError::BodyTimeout => json!("The request body did not arrive in time"),
            ApiError::BodyTooLarge { limit } => {
                json!(format!("Request body larger than {limit} bytes"))
            }
            ApiError::UriTooLong => json!("URI Too Long"),
            ApiError::HeadersTooLarge => json!("Request Header Fields Too Large"),
            ApiError::Refused(status) => json!(status.canonical_reason().unwrap_or("Error")),
            ApiError::Internal(_) => json!("Internal server error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status();
        let mut response = (status, Json(json!({ "detail": self.detail() }))).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::NotAuthenticated | ApiError::InvalidToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Overloaded | ApiError::AddressBusy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::BodyTimeout
            | ApiError::BodyTooLarge { .. }
            | ApiError::UriTooLong
            | ApiError::HeadersTooLarge => {
                // The rest of the request may still be on its way: do not read it.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
