//! `/prices/{symbol}/history`, `/prices/instruments`, `/prices/{symbol}/stats` and
//! `/prices/stats`: the recorded history the ingestor's recorder keeps, read-only.
//! (`/prices/instruments` and `/prices/stats` are static paths, which the router always
//! prefers to `/prices/{symbol}`.)

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::catalogue::Instrument;
use shared::domain::history::{rollup, stats_of, Candle, Interval, Resolution};
use shared::domain::input::{InputErrors, Invalid};
use shared::domain::{instrument_labels, Input, Price, Symbol};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParam, QueryInput};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prices/instruments", get(instruments))
        .route("/prices/stats", get(all_stats))
        .route("/prices/{symbol}/history", get(history))
        .route("/prices/{symbol}/stats", get(one_stats))
}

const DEFAULT_LIMIT: i64 = 500;
const MAX_LIMIT: i64 = 5_000;

/// The instrument of a path's symbol, or 404 `Unknown symbol: X`.
pub fn known_instrument<'a>(state: &'a AppState, raw: &str) -> ApiResult<&'a Instrument> {
    let unknown = || ApiError::NotFound(format!("Unknown symbol: {}", raw.to_uppercase()));
    let symbol: Symbol = raw.parse().map_err(|_| unknown())?;
    state.catalogue.get(&symbol).ok_or_else(unknown)
}

/// `GET /prices/{symbol}/history` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// `1m`, `5m`, `15m`, `1h` (default), `4h` or `1d`.
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^(1m|5m|15m|1h|4h|1d)$")]
    interval: Input<Interval>,
    /// ISO-8601 with a zone; candles starting at or after the candle holding it.
    #[serde(default)]
    #[param(value_type = Option<DateTime<Utc>>)]
    from: Input<DateTime<Utc>>,
    /// ISO-8601 with a zone (default now); candles starting at or before it.
    #[serde(default)]
    #[param(value_type = Option<DateTime<Utc>>)]
    to: Input<DateTime<Utc>>,
    /// 1..5000, default 500: the newest of the range are kept.
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 5000)]
    limit: Input<i64>,
}

struct HistoryRequest {
    interval: Interval,
    from: Option<i64>,
    to: i64,
    limit: i64,
}

impl HistoryQuery {
    fn read(self, now: DateTime<Utc>) -> ApiResult<HistoryRequest> {
        let mut errors = InputErrors::new();
        let interval = errors.optional("interval", &self.interval);
        let from = errors.optional("from", &self.from);
        let to = errors.optional("to", &self.to);
        let limit = errors.optional("limit", &self.limit);
        if let Some(Some(limit)) = limit {
            if !(1..=MAX_LIMIT).contains(&limit) {
                let invalid = Invalid::new("value_error", "Input should be between 1 and 5000");
                errors.add("limit", &self.limit, invalid);
            }
        }
        if let (Some(Some(from)), Some(to)) = (from, to) {
            if from > to.unwrap_or(now) {
                let invalid = Invalid::new("value_error", "from must not be after to");
                errors.add("from", &self.from, invalid);
            }
        }
        errors.finish().map_err(ApiError::invalid_query)?;
        Ok(HistoryRequest {
            interval: interval.flatten().unwrap_or(Interval::H1),
            from: from.flatten().map(|f| f.timestamp()),
            to: to.flatten().unwrap_or(now).timestamp(),
            limit: limit.flatten().unwrap_or(DEFAULT_LIMIT),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct CandleView {
    /// The candle's start, ISO-8601 UTC.
    t: DateTime<Utc>,
    #[schema(value_type = f64)]
    open: Price,
    #[schema(value_type = f64)]
    high: Price,
    #[schema(value_type = f64)]
    low: Price,
    #[schema(value_type = f64)]
    close: Price,
    /// Raw points (seconds with a price) it was built from.
    ticks: i64,
    /// `false` for the candle still open.
    closed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    symbol: String,
    currency: String,
    interval: String,
    /// Oldest first.
    candles: Vec<CandleView>,
}

#[utoipa::path(get, path = "/prices/{symbol}/history", tag = "history",
    params(("symbol" = String, Path), HistoryQuery),
    responses((status = 200, body = HistoryView),
              (status = 404, description = "Unknown symbol: X"),
              (status = 422, description = "bad interval, range or limit")))]
pub async fn history(
    State(state): State<AppState>,
    PathParam(raw): PathParam,
    QueryInput(query): QueryInput<HistoryQuery>,
) -> ApiResult<Json<HistoryView>> {
    let instrument = known_instrument(&state, &raw)?;
    let now = Utc::now();
    let request = query.read(now)?;
    let served = state.store.served_series(instrument).await?;
    let symbol = instrument.symbol.as_str();
    let interval = request.interval;
    let source = interval.source();
    let factor = interval.seconds() / source.seconds();
    let from = request.from.map_or(i64::MIN / 2, |f| {
        f.div_euclid(interval.seconds()) * interval.seconds()
    });
    // One more derived candle's worth, so the oldest kept is never a partial one.
    let wanted = (request.limit + 1) * factor;
    let stored = state
        .store
        .db()
        .candles(
            served.key(symbol),
            source,
            (from, request.to + 1),
            wanted,
            true,
        )
        .await?;
    let full = stored.len() as i64 == wanted;
    let mut candles = if factor == 1 {
        stored
    } else {
        rollup(&stored, interval.seconds())
    };
    if full && factor > 1 && !candles.is_empty() {
        candles.remove(0);
    }
    let skip = candles.len().saturating_sub(request.limit as usize);
    let now = now.timestamp();
    Ok(Json(HistoryView {
        symbol: symbol.to_owned(),
        currency: served.currency,
        interval: interval.as_str().to_owned(),
        candles: candles
            .into_iter()
            .skip(skip)
            .map(|c| view(c, interval.seconds(), now))
            .collect(),
    }))
}

fn view(candle: Candle, seconds: i64, now: i64) -> CandleView {
    CandleView {
        t: DateTime::from_timestamp(candle.start, 0).unwrap_or_default(),
        open: candle.open,
        high: candle.high,
        low: candle.low,
        close: candle.close,
        ticks: candle.ticks,
        closed: candle.closed_at(seconds, now),
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstrumentView {
    symbol: String,
    name: String,
    /// `crypto`, `index`, `commodity` or `stock`.
    asset_class: &'static str,
    currency: String,
    /// Decimals its prices are usually shown with.
    decimals: u32,
}

#[utoipa::path(get, path = "/prices/instruments", tag = "history",
    responses((status = 200, body = [InstrumentView], description = "the whole catalogue")))]
pub async fn instruments(State(state): State<AppState>) -> Json<Vec<InstrumentView>> {
    Json(
        state
            .catalogue
            .instruments()
            .map(|i| InstrumentView {
                symbol: i.symbol.to_string(),
                name: instrument_labels::display_name(i),
                asset_class: i.asset_class.as_str(),
                currency: i.currency.clone(),
                decimals: instrument_labels::price_decimals(i),
            })
            .collect(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct StatsView {
    symbol: String,
    currency: String,
    /// Percent, e.g. `-2.5`; null without history.
    #[schema(value_type = Option<f64>)]
    change_24h_percent: Option<Price>,
    #[schema(value_type = Option<f64>)]
    high_24h: Option<Price>,
    #[schema(value_type = Option<f64>)]
    low_24h: Option<Price>,
    /// Time-weighted, at one-minute resolution.
    #[schema(value_type = Option<f64>)]
    average_1h: Option<Price>,
    #[schema(value_type = Option<f64>)]
    average_24h: Option<Price>,
    as_of: DateTime<Utc>,
}

async fn stats_for(
    state: &AppState,
    instrument: &Instrument,
    now: DateTime<Utc>,
) -> ApiResult<StatsView> {
    let served = state.store.served_series(instrument).await?;
    let symbol = instrument.symbol.as_str();
    let at = now.timestamp();
    // The last day, and up to a day before it for the close in force when the day started.
    let candles = state
        .store
        .db()
        .candles(
            served.key(symbol),
            Resolution::Minute,
            (at - 2 * 86_400, at + 1),
            2 * 1_440 + 1,
            true,
        )
        .await?;
    let stats = stats_of(&candles, at);
    Ok(StatsView {
        symbol: symbol.to_owned(),
        currency: served.currency,
        change_24h_percent: stats.change_24h_percent,
        high_24h: stats.high_24h,
        low_24h: stats.low_24h,
        average_1h: stats.average_1h,
        average_24h: stats.average_24h,
        as_of: now,
    })
}

#[utoipa::path(get, path = "/prices/{symbol}/stats", tag = "history", params(("symbol" = String, Path)),
    responses((status = 200, body = StatsView),
              (status = 404, description = "Unknown symbol: X")))]
pub async fn one_stats(
    State(state): State<AppState>,
    PathParam(raw): PathParam,
) -> ApiResult<Json<StatsView>> {
    let instrument = known_instrument(&state, &raw)?;
    Ok(Json(stats_for(&state, instrument, Utc::now()).await?))
}

#[utoipa::path(get, path = "/prices/stats", tag = "history",
    responses((status = 200, body = [StatsView], description = "every symbol of the catalogue")))]
pub async fn all_stats(State(state): State<AppState>) -> ApiResult<Json<Vec<StatsView>>> {
    let now = Utc::now();
    let mut all = Vec::with_capacity(state.catalogue.len());
    for instrument in state.catalogue.instruments() {
        all.push(stats_for(&state, instrument, now).await?);
    }
    Ok(Json(all))
}
