//! `GET /alerts/{id}/explain`: why the alert would or would not fire now. The state comes from
//! `matching::explain`, the engine's own rule code, over what storage holds (the alert's firing
//! state, the evaluator's last price, the price history), so the answer is the same whichever
//! evaluator replica owns the symbol.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use matching::explain::{explain, Observed};
use serde::Serialize;
use shared::domain::{AlertCondition, Price};
use shared::storage::DeliveryRecord;
use utoipa::ToSchema;

use crate::alert_service::owned_alert;
use crate::caller::AuthUser;
use crate::error::ApiResult;
use crate::extract::AlertIdPath;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/alerts/{alert_id}/explain", get(explain_alert))
}

/// Why an alert would or would not fire now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainView {
    alert_id: i64,
    /// The first that applies of `paused`, `expired`, `owner_inactive`, `snoozed`,
    /// `waiting_for_window`, `cooling_down`, `waiting_rearm`, `waiting_for_cross`, `armed`.
    state: &'static str,
    /// `snoozed` and `cooling_down`: when that ends.
    until: Option<DateTime<Utc>>,
    /// `waiting_rearm`: the re-arm level the price must reach; `waiting_for_cross`: the level
    /// to cross.
    #[schema(value_type = Option<f64>)]
    level: Option<Price>,
    /// `waiting_for_window`: seconds of price history the `percent_move` window still lacks.
    missing_window_seconds: Option<i64>,
    /// The evaluator's last price of the symbol (what the next tick is compared with).
    #[schema(value_type = Option<f64>)]
    last_price: Option<Price>,
    last_price_at: Option<DateTime<Utc>>,
    /// The feed (`binance`, `coingecko`, `yahoo`, `simulated`) that sent the symbol's latest
    /// tick (its catalogue provider before any) when that tick is older than two of the feed's
    /// polling intervals; `null` while it is fresh.
    feed_stale: Option<&'static str>,
    /// How far the last price is from making the condition hold (0 when it holds); `null`
    /// without a price or for `percent_move`.
    #[schema(value_type = Option<f64>)]
    distance: Option<Price>,
    /// `distance` in percent of the last price.
    #[schema(value_type = Option<f64>)]
    distance_percent: Option<Price>,
    /// Whether the owner's quiet hours (`PUT /auth/me/quiet-hours`) hold notifications now
    /// (`false` without quiet hours). An `urgent` alert's notifications go out regardless.
    in_quiet_hours: bool,
    last_fired_at: Option<DateTime<Utc>>,
    /// Each channel's last delivery.
    deliveries: Vec<ExplainDelivery>,
}

/// The outcome of a channel's last delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainDelivery {
    channel: &'static str,
    /// `pending`, `deferred`, `sent`, `failed`, `unknown` or `skipped`.
    status: &'static str,
    error: Option<String>,
    /// When the delivery last changed.
    at: DateTime<Utc>,
}

impl From<DeliveryRecord> for ExplainDelivery {
    fn from(delivery: DeliveryRecord) -> Self {
        ExplainDelivery {
            channel: delivery.channel.as_str(),
            status: delivery.status.as_str(),
            error: delivery.last_error,
            at: delivery.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/alerts/{alert_id}/explain", tag = "alerts", security(("bearer" = [])),
    params(("alert_id" = i64, Path)),
    responses((status = 200, body = ExplainView), (status = 404, description = "Alert not found"), (status = 422)))]
pub async fn explain_alert(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AlertIdPath(id): AlertIdPath,
) -> ApiResult<Json<ExplainView>> {
    let alert = owned_alert(&state, &user, id).await?;
    let now = Utc::now();
    let symbol = alert.symbol();
    let evaluated = state.store.evaluated_price(symbol).await?;
    let history_since = match alert.spec().options().window_minutes() {
        Some(window) if alert.spec().condition() == AlertCondition::PercentMove => {
            state.store.history_since(symbol, window, now).await?
        }
        _ => None,
    };
    let observed = Observed {
        owner_active: user.is_active,
        last_price: evaluated.map(|e| e.price),
        history_since,
    };
    let explanation = explain(&alert, &observed, now);
    let latest_quote = state.store.latest_quote(symbol).await?;
    let feed_stale = state.catalogue.get(symbol).and_then(|instrument| {
        let latest = latest_quote
            .as_ref()
            .map(|(source, at)| (source.as_str(), *at));
        state.feeds.stale(instrument.provider, latest, now)
    });
    let deliveries = state.store.last_deliveries(user.id, id).await?;
    // The notifier's rule: `QuietHours::window_end` over the stored window.
    let in_quiet_hours = state
        .store
        .db()
        .quiet_hours(user.id)
        .await?
        .is_some_and(|stored| stored.quiet_hours.holds_at(now));
    Ok(Json(ExplainView {
        alert_id: alert.id(),
        state: explanation.state.as_str(),
        until: explanation.until,
        level: explanation.level,
        missing_window_seconds: explanation.missing_window_seconds,
        last_price: observed.last_price,
        last_price_at: evaluated.map(|e| e.received_at),
        feed_stale,
        distance: explanation.distance,
        distance_percent: explanation.distance_percent,
        in_quiet_hours,
        last_fired_at: alert.last_triggered_at(),
        deliveries: deliveries.into_iter().map(ExplainDelivery::from).collect(),
    }))
}
