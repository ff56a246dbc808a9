//! `PUT/GET/DELETE /auth/me/quiet-hours`: the caller's daily window (local times in an IANA
//! zone) during which notifications are held and then sent as one digest; alerts marked
//! `urgent` bypass it. The rule is `shared::domain::QuietHours`, which the notifier and explain
//! use too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::{QuietHours, QuietHoursInput};
use shared::storage::QuietHoursRecord;
use utoipa::ToSchema;

use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonInput;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/auth/me/quiet-hours",
        get(get_quiet_hours)
            .put(put_quiet_hours)
            .delete(delete_quiet_hours),
    )
}

/// The caller's quiet hours.
#[derive(Serialize, ToSchema)]
pub struct QuietHoursView {
    /// IANA zone name.
    #[schema(example = "Europe/Berlin")]
    timezone: &'static str,
    /// `HH:MM`, local.
    #[schema(example = "22:00")]
    start: String,
    /// `HH:MM`, local; before `start` for a window across midnight.
    #[schema(example = "07:00")]
    end: String,
    /// Whether the window holds notifications right now.
    active_now: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl QuietHoursView {
    fn of(record: QuietHoursRecord, now: DateTime<Utc>) -> QuietHoursView {
        let quiet = record.quiet_hours;
        QuietHoursView {
            timezone: quiet.timezone(),
            start: quiet.start(),
            end: quiet.end(),
            active_now: quiet.holds_at(now),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

fn no_quiet_hours() -> ApiError {
    ApiError::NotFound("No quiet hours configured".to_owned())
}

#[utoipa::path(put, path = "/auth/me/quiet-hours", tag = "auth", security(("bearer" = [])), request_body = QuietHoursInput,
    responses((status = 200, body = QuietHoursView, description = "set (replacing any); deliveries held by the old window are decided again under the new one"),
              (status = 422, description = "unknown time zone, a time not HH:MM, or start equal to end")))]
pub async fn put_quiet_hours(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonInput(request): JsonInput<QuietHoursInput>,
) -> ApiResult<Json<QuietHoursView>> {
    let quiet = QuietHours::read(&request).map_err(ApiError::invalid_body)?;
    state.store.set_quiet_hours(user.id, &quiet).await?;
    let stored = state
        .store
        .db()
        .quiet_hours(user.id)
        .await?
        .ok_or_else(no_quiet_hours)?;
    tracing::info!(user_id = user.id, "quiet hours set");
    Ok(Json(QuietHoursView::of(stored, Utc::now())))
}

#[utoipa::path(get, path = "/auth/me/quiet-hours", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = QuietHoursView), (status = 404, description = "No quiet hours configured")))]
pub async fn get_quiet_hours(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<QuietHoursView>> {
    let stored = state
        .store
        .db()
        .quiet_hours(user.id)
        .await?
        .ok_or_else(no_quiet_hours)?;
    Ok(Json(QuietHoursView::of(stored, Utc::now())))
}

#[utoipa::path(delete, path = "/auth/me/quiet-hours", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "removed; held deliveries go out (as one digest)"), (status = 404, description = "No quiet hours configured")))]
pub async fn delete_quiet_hours(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<StatusCode> {
    if state.store.delete_quiet_hours(user.id).await? {
        tracing::info!(user_id = user.id, "quiet hours removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_quiet_hours())
    }
}
