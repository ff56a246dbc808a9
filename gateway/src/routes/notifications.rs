//! Delivery records of an alert (`GET /alerts/{id}/notifications`) and the caller's webhook
//! (`PUT/GET/DELETE /auth/me/webhook`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use shared::domain::input::{InputErrors, Invalid};
use shared::domain::Input;
use shared::storage::DeliveryRecord;
use shared::webhook::validate_webhook_url;
use utoipa::ToSchema;

use crate::alert_service::owned_alert;
use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AlertIdPath, JsonInput};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts/{alert_id}/notifications", get(alert_notifications))
        .route(
            "/auth/me/webhook",
            get(get_webhook).put(put_webhook).delete(delete_webhook),
        )
}

/// One delivery of one trigger event on one channel.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    event_id: String,
    /// `email`, `sms`, `webhook`, `telegram`, `slack`, `discord` or `ntfy`.
    channel: String,
    /// `pending`, `deferred`, `sent`, `failed` or `unknown`.
    status: String,
    attempts: i64,
    provider_id: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    /// Extension: attempts made after one whose outcome was unknown (the notifier stopped,
    /// or the provider did not answer, after the message may have been accepted); each may
    /// have delivered a second copy (same Message-ID / event header, so receivers can drop it).
    possible_duplicates: i64,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        DeliveryView {
            event_id: d.event_id.to_string(),
            channel: d.channel.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            provider_id: d.provider_id,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            sent_at: d.sent_at,
            possible_duplicates: d.possible_duplicates,
        }
    }
}

#[utoipa::path(get, path = "/alerts/{alert_id}/notifications", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)),
    responses((status = 200, body = [DeliveryView], description = "newest first"), (status = 404, description = "Alert not found")))]
pub async fn alert_notifications(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    owned_alert(&state, &user, id).await?;
    let deliveries = state.store.deliveries_for_alert(user.id, id).await?;
    Ok(Json(
        deliveries.into_iter().map(DeliveryView::from).collect(),
    ))
}

/// The caller's webhook. The secret appears only in the answer to `PUT`.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    url: String,
    /// HMAC-SHA256 key for `X-Pricealert-Signature`; shown once, when set or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Body of `PUT /auth/me/webhook`.
#[derive(Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// http(s) URL; private, loopback, link-local and metadata addresses are refused.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    url: Input<String>,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

fn no_webhook() -> ApiError {
    ApiError::NotFound("No webhook configured".to_owned())
}

#[utoipa::path(put, path = "/auth/me/webhook", tag = "auth", security(("bearer" = [])), request_body = WebhookRequest,
    responses((status = 200, body = WebhookView, description = "set; a new secret every time (rotation)"), (status = 422)))]
pub async fn put_webhook(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonInput(request): JsonInput<WebhookRequest>,
) -> ApiResult<Json<WebhookView>> {
    let mut errors = InputErrors::new();
    let url = errors.required("url", &request.url).and_then(|raw| {
        validate_webhook_url(&raw, state.webhook_allow_private)
            .map_err(|e| errors.add("url", &request.url, Invalid::value(e)))
            .ok()
    });
    errors.finish().map_err(ApiError::invalid_body)?;
    let url = url.ok_or_else(|| ApiError::Unprocessable("Invalid webhook".to_owned()))?;
    let secret = new_secret();
    state
        .store
        .set_webhook(user.id, url.as_str(), &secret)
        .await?;
    let stored = state
        .store
        .db()
        .webhook(user.id)
        .await?
        .ok_or_else(no_webhook)?;
    Ok(Json(WebhookView {
        url: stored.url,
        secret: Some(secret),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }))
}

#[utoipa::path(get, path = "/auth/me/webhook", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WebhookView, description = "without the secret"), (status = 404, description = "No webhook configured")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<WebhookView>> {
    let stored = state
        .store
        .db()
        .webhook(user.id)
        .await?
        .ok_or_else(no_webhook)?;
    Ok(Json(WebhookView {
        url: stored.url,
        secret: None,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }))
}

#[utoipa::path(delete, path = "/auth/me/webhook", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 404, description = "No webhook configured")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<StatusCode> {
    if state.store.delete_webhook(user.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_webhook())
    }
}
