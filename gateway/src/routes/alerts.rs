//! `/alerts`: CRUD of the caller's alerts. Another user's alert is indistinguishable from a
//! missing one (404). Requests are read into `shared::domain::alert`'s input types, whose
//! constructors hold every rule; this module adds the account and the quota.

use crate::store::{AlertFilter, CreateRefused};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::alert::{AlertPatchInput, NewAlertInput};
use shared::domain::input::{InputErrors, Invalid};
use shared::domain::{Alert, AlertOptions, AlertPatch, Input, NewAlert, Price, Symbol};
use shared::events::AlertChange;
use utoipa::{IntoParams, ToSchema};

use crate::alert_list::{caller_page, Page};
use crate::alert_service::{
    announce, owned_alert, quota_error, write_patch, Account, ChannelWarning,
};
use crate::caller::{active_user, AuthUser, CallerToken};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AlertIdPath, JsonInput, QueryInput};
use crate::rfc3339;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_alerts).post(create_alert))
        .route("/alerts/", get(list_alerts).post(create_alert))
        .route(
            "/alerts/{alert_id}",
            get(get_alert).patch(patch_alert).delete(delete_alert),
        )
        .route("/alerts/{alert_id}/toggle", post(toggle_alert))
}

/// An alert as the API shows it: API.md's fields in its order, then the options (extensions).
#[derive(Serialize, ToSchema)]
pub struct AlertView<'a> {
    id: i64,
    symbol: &'a str,
    condition: &'static str,
    #[schema(value_type = f64)]
    target_price: Price,
    #[schema(value_type = Option<f64>)]
    target_price_high: Option<Price>,
    notification_types: String,
    cooldown_minutes: i64,
    /// `false` once expired, whatever the stored switch says.
    active: bool,
    triggered_count: i64,
    #[serde(serialize_with = "rfc3339::time")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339::optional_time")]
    last_triggered_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    options: &'a AlertOptions,
    /// Extension, on create and patch only: each channel the alert names that the account
    /// has no recipient for (omitted when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<ChannelWarning>,
}

impl<'a> AlertView<'a> {
    pub fn of(alert: &'a Alert, now: DateTime<Utc>) -> AlertView<'a> {
        let spec = alert.spec();
        AlertView {
            id: alert.id(),
            symbol: spec.symbol().as_str(),
            condition: spec.condition().as_str(),
            target_price: spec.target_price(),
            target_price_high: spec.target_price_high(),
            notification_types: spec.notification_types().to_string(),
            cooldown_minutes: spec.cooldown_minutes(),
            active: alert.is_active_at(now),
            triggered_count: alert.triggered_count(),
            created_at: alert.created_at(),
            last_triggered_at: alert.last_triggered_at(),
            options: spec.options(),
            warnings: Vec::new(),
        }
    }
}

/// The alert as JSON, as it reads now, with `warnings` about its channels.
pub(crate) fn alert_json(alert: &Alert, warnings: Vec<ChannelWarning>) -> Response {
    let mut view = AlertView::of(alert, Utc::now());
    view.warnings = warnings;
    Json(view).into_response()
}

#[utoipa::path(post, path = "/alerts", tag = "alerts", security(("bearer" = [])), request_body = NewAlertInput,
    responses((status = 201, body = AlertView), (status = 400, description = "target_price_high is required for range alerts"),
              (status = 401), (status = 422, description = "Validation error or active-alert quota reached")))]
pub async fn create_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonInput(input): JsonInput<NewAlertInput>,
) -> ApiResult<Response> {
    let draft = NewAlert::read(input, &state.catalogue)?;
    let account = Account::of(&state, &user, draft.notification_types()).await?;
    let new_alert = draft.validate(Utc::now())?;
    let warnings = account.warnings(new_alert.spec().notification_types());
    let max_active = i64::from(state.settings.max_active_alerts_per_user);
    let alert = match state
        .store
        .create_alert(user.id, &new_alert, max_active)
        .await?
    {
        Ok(alert) => alert,
        Err(CreateRefused::QuotaExceeded) => return Err(quota_error(&state)),
        // Deleted since its token was checked: as if the token named no account.
        Err(CreateRefused::NoSuchUser) => return Err(ApiError::InvalidToken),
    };
    announce(&state, AlertChange::upserted(alert.clone())).await;
    Ok((StatusCode::CREATED, alert_json(&alert, warnings)).into_response())
}

/// `GET /alerts` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertListQuery {
    /// Only this symbol (case-insensitive).
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_.^=-]{1,20}$")]
    symbol: Input<Symbol>,
    /// Only active (`true`) or inactive (`false`) alerts.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    active: Input<bool>,
    /// ≥ 0, default 0.
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 0)]
    skip: Input<i64>,
    /// 1..100, default 50.
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Input<i64>,
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;

impl AlertListQuery {
    /// The filter asked for, or every problem with the parameters.
    fn filter(self) -> ApiResult<AlertFilter> {
        let mut errors = InputErrors::new();
        let symbol = errors.optional("symbol", &self.symbol);
        let active = errors.optional("active", &self.active);
        let skip = errors.optional("skip", &self.skip).map(|s| s.unwrap_or(0));
        let limit = errors
            .optional("limit", &self.limit)
            .map(|l| l.unwrap_or(DEFAULT_LIMIT));
        if skip.is_some_and(|s| s < 0) {
            errors.add(
                "skip",
                &self.skip,
                Invalid::new(
                    "greater_than_equal",
                    "Input should be greater than or equal to 0",
                ),
            );
        }
        match limit {
            Some(limit) if limit < 1 => errors.add(
                "limit",
                &self.limit,
                Invalid::new(
                    "greater_than_equal",
                    "Input should be greater than or equal to 1",
                ),
            ),
            Some(limit) if limit > MAX_LIMIT => errors.add(
                "limit",
                &self.limit,
                Invalid::new(
                    "less_than_equal",
                    "Input should be less than or equal to 100",
                ),
            ),
            _ => {}
        }
        errors.finish().map_err(ApiError::invalid_query)?;
        Ok(AlertFilter {
            symbol: symbol.flatten(),
            active: active.flatten(),
            skip: skip.unwrap_or(0),
            limit: limit.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

#[utoipa::path(get, path = "/alerts", tag = "alerts", security(("bearer" = [])), params(AlertListQuery),
    responses((status = 200, body = [AlertView], description = "newest first"), (status = 401), (status = 422)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    token: CallerToken,
    query: Result<QueryInput<AlertListQuery>, ApiError>,
) -> ApiResult<Response> {
    let filter = match query.and_then(|QueryInput(query)| query.filter()) {
        Ok(filter) => filter,
        Err(invalid) => {
            // As on every route, a refused account is told so before a bad query.
            token.admit(active_user(&state, token.user_id()).await?)?;
            return Err(invalid);
        }
    };
    let default_page = filter.symbol.is_none()
        && filter.active.is_none()
        && filter.skip == 0
        && filter.limit == DEFAULT_LIMIT;
    let page = caller_page(&state, &token, &filter).await?;
    let now = Utc::now();
    let alerts: Box<dyn Iterator<Item = &Alert>> = match &page {
        Page::Cached(list) if default_page => {
            let body =
                list.first_page(|alerts| render_page(alerts.iter().take(DEFAULT_LIMIT as usize)));
            return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
        }
        Page::Cached(all) => Box::new(
            all.alerts
                .iter()
                .filter(|a| filter.symbol.as_ref().is_none_or(|s| a.symbol() == s))
                .filter(|a| {
                    filter
                        .active
                        .is_none_or(|active| a.is_active_at(now) == active)
                })
                .skip(usize::try_from(filter.skip).unwrap_or(usize::MAX))
                .take(usize::try_from(filter.limit).unwrap_or(0)),
        ),
        Page::Read(stored) => Box::new(stored.iter()),
    };
    let body = render(alerts.map(|alert| AlertView::of(alert, now)).collect());
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A page of alerts as the JSON array the API returns.
fn render_page<'a>(alerts: impl Iterator<Item = &'a Alert>) -> Bytes {
    let now = Utc::now();
    render(alerts.map(|alert| AlertView::of(alert, now)).collect())
}

/// What an alert's JSON takes, about: the buffer is sized for the page at once, where axum's
/// `Json` starts at 128 bytes and copies the page each time it doubles.
const ALERT_JSON_BYTES: usize = 512;

fn render(views: Vec<AlertView>) -> Bytes {
    let mut json = Vec::with_capacity(2 + views.len() * ALERT_JSON_BYTES);
    match serde_json::to_writer(&mut json, &views) {
        Ok(()) => Bytes::from(json),
        // Serialising plain data cannot fail; an empty list is the safe answer if it ever did.
        Err(_) => Bytes::from_static(b"[]"),
    }
}

#[utoipa::path(get, path = "/alerts/{alert_id}", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)),
    responses((status = 200, body = AlertView), (status = 404, description = "Alert not found"), (status = 422)))]
pub async fn get_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Response> {
    Ok(alert_json(
        &owned_alert(&state, &user, id).await?,
        Vec::new(),
    ))
}

#[utoipa::path(patch, path = "/alerts/{alert_id}", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), request_body = AlertPatchInput,
    responses((status = 200, body = AlertView), (status = 404), (status = 422, description = "Invalid value; the range must stay valid")))]
pub async fn patch_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
    JsonInput(input): JsonInput<AlertPatchInput>,
) -> ApiResult<Response> {
    let current = owned_alert(&state, &user, id).await?;
    let draft = AlertPatch::read(input, &current);
    let account = Account::of(&state, &user, draft.notification_types()).await?;
    let patch = draft.validate(Utc::now())?;
    let alert = write_patch(&state, &user, &current, &patch).await?;
    let warnings = account.warnings(alert.spec().notification_types());
    Ok(alert_json(&alert, warnings))
}

#[utoipa::path(delete, path = "/alerts/{alert_id}", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), responses((status = 204), (status = 404), (status = 422)))]
pub async fn delete_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<StatusCode> {
    let symbol = state
        .store
        .delete_alert(user.id, id)
        .await?
        .ok_or_else(ApiError::alert_not_found)?;
    state.alert_lists.evict(user.id);
    announce(&state, AlertChange::deleted(id, symbol, user.id)).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/alerts/{alert_id}/toggle", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), responses((status = 200, body = AlertView), (status = 404), (status = 422)))]
pub async fn toggle_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Response> {
    let current = owned_alert(&state, &user, id).await?;
    let patch = AlertPatch::toggle(&current);
    Ok(alert_json(
        &write_patch(&state, &user, &current, &patch).await?,
        Vec::new(),
    ))
}
