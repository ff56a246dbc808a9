//! `/alerts`: CRUD of the caller's alerts. Another user's alert is indistinguishable from a
//! missing one (404).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::bus::{publish_json, Topic};
use shared::domain::{
    AlertCondition, Channel, MoveDirection, NotificationChannels, Price, Symbol, TriggerPolicy,
};
use shared::events::{AlertChange, AlertChangeKind};
use shared::storage::{
    AlertFilter, AlertPatch, AlertRecord, AlertWriteOutcome, NewAlert, UserRecord,
};
use utoipa::ToSchema;

use crate::alert_cache::{CachedList, MAX_CACHED_ALERTS};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    boolean, channels, datetime, integer, price, string, AlertIdPath, Fields, JsonObject,
};
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

/// An alert as the API shows it: API.md's fields in its order, then the extensions.
#[derive(Serialize, ToSchema)]
pub struct AlertView {
    id: i64,
    symbol: String,
    condition: String,
    #[schema(value_type = f64)]
    target_price: Price,
    #[schema(value_type = Option<f64>)]
    target_price_high: Option<Price>,
    notification_types: String,
    cooldown_minutes: i64,
    active: bool,
    triggered_count: i64,
    created_at: DateTime<Utc>,
    last_triggered_at: Option<DateTime<Utc>>,
    /// Extension: `repeat` (default) or `once`.
    trigger: &'static str,
    /// Extension: after this time the alert never fires and reads as inactive.
    expires_at: Option<DateTime<Utc>>,
    /// Extension (`percent_move`): `up`, `down` or `either`.
    direction: Option<&'static str>,
    /// Extension (`percent_move`): the averaging window.
    window_minutes: Option<i64>,
}

impl From<AlertRecord> for AlertView {
    fn from(alert: AlertRecord) -> Self {
        AlertView {
            active: alert.is_effectively_active(Utc::now()),
            id: alert.id,
            symbol: alert.symbol.to_string(),
            condition: alert.condition.as_str().to_owned(),
            target_price: alert.target_price,
            target_price_high: alert.target_price_high,
            notification_types: alert.notification_types.to_string(),
            cooldown_minutes: alert.cooldown_minutes,
            triggered_count: alert.triggered_count,
            created_at: alert.created_at,
            last_triggered_at: alert.last_triggered_at,
            trigger: alert.trigger.as_str(),
            expires_at: alert.expires_at,
            direction: alert.direction.map(|d| d.as_str()),
            window_minutes: alert.window_minutes,
        }
    }
}

/// Create body (documentation of the JSON the handler reads).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateAlertRequest {
    /// A known instrument, 1..20 chars, case-insensitive.
    symbol: String,
    /// `above`, `below`, `crosses`, `range`, or (extension) `percent_move`.
    condition: String,
    /// > 0. For `percent_move`, the percent.
    target_price: f64,
    /// Required for `range`; > target_price.
    target_price_high: Option<f64>,
    /// Comma-separated `email`, `sms`, `webhook` (or a JSON array); default `email`.
    notification_types: Option<String>,
    /// ≥ 1, default 60.
    cooldown_minutes: Option<i64>,
    /// Extension: `repeat` (default) or `once`.
    trigger: Option<String>,
    /// Extension: ISO-8601 time after which the alert never fires.
    expires_at: Option<String>,
    /// Extension (`percent_move`): `up`, `down` or `either` (default).
    direction: Option<String>,
    /// Extension (`percent_move`, required): averaging window, 1..1440 minutes.
    window_minutes: Option<i64>,
}

/// Patch body: any of these.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PatchAlertRequest {
    target_price: Option<f64>,
    target_price_high: Option<f64>,
    notification_types: Option<String>,
    cooldown_minutes: Option<i64>,
    active: Option<bool>,
    trigger: Option<String>,
    expires_at: Option<String>,
    direction: Option<String>,
    window_minutes: Option<i64>,
}

/// Publishes an alert change so the evaluator applies it before the next tick. The database
/// already holds the change; a bus failure is logged (evaluators reload from storage at start).
pub async fn announce(state: &AppState, change: AlertChange) {
    if let AlertChangeKind::Upserted { alert } = &change.kind {
        state.alert_lists.evict(alert.user_id);
    }
    let key = change.symbol().to_string();
    if let Err(error) = publish_json(state.bus.as_ref(), Topic::AlertChanges, &key, &change).await {
        tracing::error!(%error, "could not publish an alert change");
    }
}

fn symbol_field(value: &Value) -> Result<Symbol, (&'static str, String)> {
    let text = string(value)?;
    let length = text.trim().chars().count();
    if length == 0 {
        return Err((
            "string_too_short",
            "String should have at least 1 character".to_owned(),
        ));
    }
    if length > 20 {
        return Err((
            "string_too_long",
            "String should have at most 20 characters".to_owned(),
        ));
    }
    text.parse()
        .map_err(|e| ("value_error", format!("Value error, {e}")))
}

fn condition_field(value: &Value) -> Result<AlertCondition, (&'static str, String)> {
    string(value)?.parse().map_err(|_| {
        (
            "enum",
            "Input should be 'above', 'below', 'crosses', 'range' or 'percent_move'".to_owned(),
        )
    })
}

fn trigger_field(value: &Value) -> Result<TriggerPolicy, (&'static str, String)> {
    string(value)?
        .parse()
        .map_err(|_| ("enum", "Input should be 'repeat' or 'once'".to_owned()))
}

fn direction_field(value: &Value) -> Result<MoveDirection, (&'static str, String)> {
    string(value)?.parse().map_err(|_| {
        (
            "enum",
            "Input should be 'up', 'down' or 'either'".to_owned(),
        )
    })
}

/// The shape rules every alert obeys, on create and after a patch is merged.
struct AlertShape {
    condition: AlertCondition,
    target_price: Price,
    target_price_high: Option<Price>,
    notification_types: NotificationChannels,
    cooldown_minutes: i64,
    direction: Option<MoveDirection>,
    window_minutes: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
}

const MAX_COOLDOWN_MINUTES: i64 = 525_600;
const MAX_WINDOW_MINUTES: i64 = 1_440;

fn check_shape(
    shape: &AlertShape,
    user: &UserRecord,
    has_webhook: bool,
    fields: &mut Fields,
    changed: &dyn Fn(&str) -> bool,
) {
    if !shape.target_price.is_positive() && changed("target_price") {
        fields.error(
            "greater_than",
            "target_price",
            "Input should be greater than 0",
        );
    }
    if let Some(high) = shape.target_price_high {
        if shape.condition == AlertCondition::Range && high <= shape.target_price {
            fields.error(
                "value_error",
                "target_price_high",
                "Value error, target_price_high must be greater than target_price",
            );
        }
    }
    if shape.cooldown_minutes < 1 && changed("cooldown_minutes") {
        fields.error(
            "greater_than_equal",
            "cooldown_minutes",
            "Input should be greater than or equal to 1",
        );
    } else if shape.cooldown_minutes > MAX_COOLDOWN_MINUTES {
        fields.error(
            "less_than_equal",
            "cooldown_minutes",
            "Input should be less than or equal to 525600",
        );
    }
    if shape.notification_types.contains(Channel::Sms) && user.phone.is_none() {
        fields.error(
            "value_error",
            "notification_types",
            "Value error, sms notifications need a phone number on the account",
        );
    }
    if shape.notification_types.contains(Channel::Webhook) && !has_webhook {
        fields.error(
            "value_error",
            "notification_types",
            "Value error, webhook notifications need a webhook (PUT /auth/me/webhook)",
        );
    }
    if let Some(expiry) = shape.expires_at {
        if expiry <= Utc::now() && changed("expires_at") {
            fields.error(
                "value_error",
                "expires_at",
                "Value error, expires_at must be in the future",
            );
        }
    }
    if shape.condition == AlertCondition::PercentMove {
        match shape.window_minutes {
            None => fields.error(
                "missing",
                "window_minutes",
                "Field required for percent_move alerts",
            ),
            Some(w) if !(1..=MAX_WINDOW_MINUTES).contains(&w) => fields.error(
                "value_error",
                "window_minutes",
                "Value error, window_minutes must be 1..1440",
            ),
            _ => {}
        }
    } else {
        if shape.direction.is_some() {
            fields.error(
                "value_error",
                "direction",
                "Value error, direction applies to percent_move alerts only",
            );
        }
        if shape.window_minutes.is_some() {
            fields.error(
                "value_error",
                "window_minutes",
                "Value error, window_minutes applies to percent_move alerts only",
            );
        }
    }
}

/// Whether the user has a webhook, looked up only when the alert asks for one.
async fn needs_webhook_check(
    state: &AppState,
    user: &UserRecord,
    shape: &AlertShape,
) -> ApiResult<bool> {
    if shape.notification_types.contains(Channel::Webhook) {
        Ok(state.db.webhook(user.id).await?.is_some())
    } else {
        Ok(true)
    }
}

fn quota_error(state: &AppState) -> ApiError {
    ApiError::Unprocessable(format!(
        "Active alert limit reached ({} per user)",
        state.settings.max_active_alerts_per_user
    ))
}

#[utoipa::path(post, path = "/alerts", tag = "alerts", security(("bearer" = [])), request_body = CreateAlertRequest,
    responses((status = 201, body = AlertView), (status = 400, description = "target_price_high is required for range alerts"),
              (status = 401), (status = 422, description = "Validation error or active-alert quota reached")))]
pub async fn create_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonObject(body): JsonObject,
) -> ApiResult<impl IntoResponse> {
    let mut fields = Fields::body(body);
    let symbol = fields.required("symbol", symbol_field);
    if let Some(symbol) = &symbol {
        if !state.catalogue.contains(symbol) {
            fields.error("value_error", "symbol", format!("Unknown symbol: {symbol}"));
        }
    }
    let condition = fields.required("condition", condition_field);
    let target_price = fields.required("target_price", price);
    let target_price_high = fields.optional("target_price_high", price);
    let notification_types = fields.optional("notification_types", channels);
    let cooldown_minutes = fields.optional("cooldown_minutes", integer);
    let trigger = fields.optional("trigger", trigger_field);
    let expires_at = fields.optional("expires_at", datetime);
    let direction = fields.optional("direction", direction_field);
    let window_minutes = fields.optional("window_minutes", integer);

    if condition == Some(AlertCondition::Range) && target_price_high == Some(None) {
        return Err(ApiError::BadRequest(
            "target_price_high is required for range alerts".to_owned(),
        ));
    }
    let (
        Some(symbol),
        Some(condition),
        Some(target_price),
        Some(target_price_high),
        Some(notification_types),
        Some(cooldown_minutes),
        Some(trigger),
        Some(expires_at),
        Some(direction),
        Some(window_minutes),
    ) = (
        symbol,
        condition,
        target_price,
        target_price_high,
        notification_types,
        cooldown_minutes,
        trigger,
        expires_at,
        direction,
        window_minutes,
    )
    else {
        fields.finish()?;
        return Err(ApiError::Unprocessable("Invalid alert".to_owned()));
    };
    let shape = AlertShape {
        condition,
        target_price,
        // A second bound means something only for ranges.
        target_price_high: target_price_high.filter(|_| condition == AlertCondition::Range),
        notification_types: notification_types.unwrap_or_default(),
        cooldown_minutes: cooldown_minutes.unwrap_or(60),
        direction: match condition {
            AlertCondition::PercentMove => Some(direction.unwrap_or_default()),
            _ => direction,
        },
        window_minutes,
        expires_at,
    };
    let has_webhook = needs_webhook_check(&state, &user, &shape).await?;
    check_shape(&shape, &user, has_webhook, &mut fields, &|_| true);
    fields.finish()?;

    let new_alert = NewAlert {
        symbol,
        condition: shape.condition,
        target_price: shape.target_price,
        target_price_high: shape.target_price_high,
        notification_types: shape.notification_types,
        cooldown_minutes: shape.cooldown_minutes,
        trigger: trigger.unwrap_or_default(),
        direction: shape.direction,
        window_minutes: shape.window_minutes,
        expires_at: shape.expires_at,
    };
    let max_active = i64::from(state.settings.max_active_alerts_per_user);
    let alert = state
        .db
        .create_alert(user.id, &new_alert, max_active)
        .await?
        .ok_or_else(|| quota_error(&state))?;
    announce(&state, AlertChange::upserted(alert.snapshot())).await;
    Ok((StatusCode::CREATED, Json(AlertView::from(alert))))
}

#[utoipa::path(get, path = "/alerts", tag = "alerts", security(("bearer" = [])),
    params(("symbol" = Option<String>, Query, description = "case-insensitive"),
           ("active" = Option<bool>, Query), ("skip" = Option<i64>, Query, description = "≥ 0, default 0"),
           ("limit" = Option<i64>, Query, description = "1..100, default 50")),
    responses((status = 200, body = [AlertView], description = "newest first"), (status = 401), (status = 422)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let map: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut fields = Fields::query(map);
    let symbol = fields.optional("symbol", symbol_field);
    let active = fields.optional("active", boolean);
    let skip = fields.optional("skip", integer).map(|s| s.unwrap_or(0));
    let limit = fields
        .optional("limit", integer)
        .map(|l| l.unwrap_or(DEFAULT_LIMIT));
    if skip.is_some_and(|s| s < 0) {
        fields.error(
            "greater_than_equal",
            "skip",
            "Input should be greater than or equal to 0",
        );
    }
    if let Some(limit) = limit {
        if limit < 1 {
            fields.error(
                "greater_than_equal",
                "limit",
                "Input should be greater than or equal to 1",
            );
        } else if limit > 100 {
            fields.error(
                "less_than_equal",
                "limit",
                "Input should be less than or equal to 100",
            );
        }
    }
    fields.finish()?;
    let filter = AlertFilter {
        symbol: symbol.flatten(),
        active: active.flatten(),
        skip: skip.unwrap_or(0),
        limit: limit.unwrap_or(DEFAULT_LIMIT),
    };
    let default_page = filter.symbol.is_none()
        && filter.active.is_none()
        && filter.skip == 0
        && filter.limit == DEFAULT_LIMIT;
    let cached = cached_alert_list(&state, &user).await?;
    if let (Some(list), true) = (&cached, default_page) {
        let body =
            list.first_page(|alerts| render_page(alerts.iter().take(DEFAULT_LIMIT as usize)));
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let alerts = match cached {
        Some(all) => all
            .alerts
            .iter()
            .filter(|a| filter.symbol.as_ref().is_none_or(|s| &a.symbol == s))
            .filter(|a| filter.active.is_none_or(|active| a.active == active))
            .skip(usize::try_from(filter.skip).unwrap_or(usize::MAX))
            .take(usize::try_from(filter.limit).unwrap_or(0))
            .cloned()
            .collect(),
        None => state.db.list_alerts(user.id, &filter).await?,
    };
    Ok(Json(alerts.into_iter().map(AlertView::from).collect::<Vec<_>>()).into_response())
}

const DEFAULT_LIMIT: i64 = 50;

/// A page of alerts as the JSON array the API returns.
fn render_page<'a>(alerts: impl Iterator<Item = &'a AlertRecord>) -> Bytes {
    let views: Vec<AlertView> = alerts.cloned().map(AlertView::from).collect();
    match serde_json::to_vec(&views) {
        Ok(json) => Bytes::from(json),
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
) -> ApiResult<Json<AlertView>> {
    Ok(Json(AlertView::from(owned_alert(&state, &user, id).await?)))
}

#[utoipa::path(patch, path = "/alerts/{alert_id}", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), request_body = PatchAlertRequest,
    responses((status = 200, body = AlertView), (status = 404), (status = 422, description = "Invalid value; the range must stay valid")))]
pub async fn patch_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<AlertView>> {
    let current = owned_alert(&state, &user, id).await?;
    let mut fields = Fields::body(body);
    let provided: Vec<String> = [
        "target_price",
        "target_price_high",
        "notification_types",
        "cooldown_minutes",
        "active",
        "trigger",
        "expires_at",
        "direction",
        "window_minutes",
    ]
    .into_iter()
    .filter(|f| fields.has(f))
    .map(str::to_owned)
    .collect();
    let target_price = fields.optional("target_price", price);
    let target_price_high = fields.optional("target_price_high", price);
    let notification_types = fields.optional("notification_types", channels);
    let cooldown_minutes = fields.optional("cooldown_minutes", integer);
    let active = fields.optional("active", boolean);
    let trigger = fields.optional("trigger", trigger_field);
    let expires_at = fields.optional("expires_at", datetime);
    let direction = fields.optional("direction", direction_field);
    let window_minutes = fields.optional("window_minutes", integer);
    let has = |name: &str| provided.iter().any(|p| p == name);
    let shape = AlertShape {
        condition: current.condition,
        target_price: target_price.flatten().unwrap_or(current.target_price),
        target_price_high: if has("target_price_high") {
            target_price_high.flatten()
        } else {
            current.target_price_high
        },
        notification_types: notification_types
            .flatten()
            .unwrap_or_else(|| current.notification_types.clone()),
        cooldown_minutes: cooldown_minutes
            .flatten()
            .unwrap_or(current.cooldown_minutes),
        direction: direction.flatten().or(current.direction),
        window_minutes: window_minutes.flatten().or(current.window_minutes),
        expires_at: if has("expires_at") {
            expires_at.flatten()
        } else {
            current.expires_at
        },
    };
    if current.condition == AlertCondition::Range && shape.target_price_high.is_none() {
        fields.error(
            "value_error",
            "target_price_high",
            "Value error, range alerts need target_price_high",
        );
    }
    let has_webhook = needs_webhook_check(&state, &user, &shape).await?;
    check_shape(&shape, &user, has_webhook, &mut fields, &has);
    fields.finish()?;

    let patch = AlertPatch {
        target_price: shape.target_price,
        target_price_high: shape.target_price_high,
        notification_types: shape.notification_types,
        cooldown_minutes: shape.cooldown_minutes,
        active: active.flatten().unwrap_or(current.active),
        trigger: trigger.flatten().unwrap_or(current.trigger),
        direction: shape.direction,
        window_minutes: shape.window_minutes,
        expires_at: shape.expires_at,
    };
    write_patch(&state, &user, id, &patch).await
}

/// Every alert of the user, newest first, from the cache or read into it; `None` when the
/// cache is off or the user has too many alerts to keep in memory.
async fn cached_alert_list(
    state: &AppState,
    user: &UserRecord,
) -> ApiResult<Option<Arc<CachedList>>> {
    if !state.alert_lists.enabled() {
        return Ok(None);
    }
    if let Ok(list) = state.alert_lists.get(user.id) {
        return Ok(Some(list));
    }
    let _filling = state.fills.enter(user.id).await;
    let ticket = match state.alert_lists.get(user.id) {
        Ok(list) => return Ok(Some(list)),
        Err(ticket) => ticket,
    };
    let everything = AlertFilter {
        limit: i64::try_from(MAX_CACHED_ALERTS + 1).unwrap_or(i64::MAX),
        ..AlertFilter::default()
    };
    let list = state.db.list_alerts(user.id, &everything).await?;
    if list.len() > MAX_CACHED_ALERTS {
        return Ok(None);
    }
    let list = Arc::new(CachedList::new(list));
    state.alert_lists.insert(user.id, ticket, list.clone());
    Ok(Some(list))
}

/// The caller's alert `id`; another user's alert is "not found" exactly like a missing one.
pub async fn owned_alert(state: &AppState, user: &UserRecord, id: i64) -> ApiResult<AlertRecord> {
    state
        .db
        .user_alert(user.id, id)
        .await?
        .ok_or_else(ApiError::alert_not_found)
}

async fn write_patch(
    state: &AppState,
    user: &UserRecord,
    id: i64,
    patch: &AlertPatch,
) -> ApiResult<Json<AlertView>> {
    let max_active = i64::from(state.settings.max_active_alerts_per_user);
    match state
        .db
        .update_alert(user.id, id, patch, max_active)
        .await?
    {
        (AlertWriteOutcome::Done, Some(alert)) => {
            announce(state, AlertChange::upserted(alert.snapshot())).await;
            Ok(Json(AlertView::from(alert)))
        }
        (AlertWriteOutcome::QuotaExceeded, _) => Err(quota_error(state)),
        _ => Err(ApiError::alert_not_found()),
    }
}

#[utoipa::path(delete, path = "/alerts/{alert_id}", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), responses((status = 204), (status = 404), (status = 422)))]
pub async fn delete_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<StatusCode> {
    let symbol = state
        .db
        .delete_alert(user.id, id)
        .await?
        .ok_or_else(ApiError::alert_not_found)?;
    state.alert_lists.evict(user.id);
    announce(&state, AlertChange::deleted(id, symbol)).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/alerts/{alert_id}/toggle", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)), responses((status = 200, body = AlertView), (status = 404), (status = 422)))]
pub async fn toggle_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Json<AlertView>> {
    let current = owned_alert(&state, &user, id).await?;
    let patch = AlertPatch {
        active: !current.active,
        ..AlertPatch::unchanged(&current)
    };
    write_patch(&state, &user, id, &patch).await
}
