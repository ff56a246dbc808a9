//! `POST /alerts/{id}/snooze` and `DELETE /alerts/{id}/snooze`: a snoozed alert never fires
//! before `until`. A snooze is an alert write like a patch (version bumped, change in the
//! outbox), so every evaluator applies it before its next tick.

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::domain::{AlertPatch, Input};
use utoipa::ToSchema;

use super::alerts::alert_json;
use crate::alert_service::{owned_alert, write_patch};
use crate::caller::AuthUser;
use crate::error::ApiResult;
use crate::extract::{AlertIdPath, JsonInput};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/alerts/{alert_id}/snooze",
        post(snooze_alert).delete(unsnooze_alert),
    )
}

/// Body of `POST /alerts/{id}/snooze`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SnoozeRequest {
    /// ISO-8601 time with a zone, in the future: the alert fires again from then on.
    #[serde(default)]
    #[schema(value_type = DateTime<Utc>, required = true)]
    until: Input<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/alerts/{alert_id}/snooze", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), request_body = SnoozeRequest,
    responses((status = 200, body = crate::routes::alerts::AlertView, description = "the alert, with `snoozed_until`"),
              (status = 404, description = "Alert not found"), (status = 422, description = "`until` missing, not a time, or not in the future")))]
pub async fn snooze_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
    JsonInput(request): JsonInput<SnoozeRequest>,
) -> ApiResult<Response> {
    let current = owned_alert(&state, &user, id).await?;
    let patch = AlertPatch::snooze(&current, &request.until, Utc::now())?;
    Ok(alert_json(
        &write_patch(&state, &user, &current, &patch).await?,
        Vec::new(),
    ))
}

#[utoipa::path(delete, path = "/alerts/{alert_id}/snooze", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)),
    responses((status = 200, body = crate::routes::alerts::AlertView, description = "the alert, `snoozed_until` null"),
              (status = 404, description = "Alert not found"), (status = 422)))]
pub async fn unsnooze_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Response> {
    let current = owned_alert(&state, &user, id).await?;
    let patch = AlertPatch::unsnooze(&current);
    Ok(alert_json(
        &write_patch(&state, &user, &current, &patch).await?,
        Vec::new(),
    ))
}
