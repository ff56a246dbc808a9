//! `POST /backtest`: would this alert have fired? The body of `POST /alerts` plus an optional
//! `from`/`to`, replayed through the matching engine the evaluator runs, over the finest
//! recorded resolution that still reaches back to `from`. Saves nothing, sends nothing.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use matching::IndexedAlert;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::domain::alert::NewAlertInput;
use shared::domain::history::{bucket_start, Resolution};
use shared::domain::input::{InputErrors, Invalid};
use shared::domain::{Input, NewAlert, Price};
use utoipa::ToSchema;

use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{read_fields, JsonInput};
use crate::replay::{replay, steps, Recorded};
use crate::state::AppState;
use crate::store::ServedSeries;

pub fn router() -> Router<AppState> {
    Router::new().route("/backtest", post(backtest))
}

const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 90;

/// The body: every field of `POST /alerts`, plus the range.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct BacktestRequest {
    #[serde(flatten)]
    alert: NewAlertInput,
    /// ISO-8601 with a zone; default `to` − 7 days.
    from: Option<DateTime<Utc>>,
    /// ISO-8601 with a zone; default now. At most 90 days after `from`.
    to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct BacktestFire {
    at: DateTime<Utc>,
    #[schema(value_type = f64)]
    price: Price,
}

#[derive(Serialize, ToSchema)]
pub struct BacktestView {
    fires: Vec<BacktestFire>,
    count: usize,
    /// The prices the replay walked.
    evaluated_points: usize,
    /// `tick`, `1m`, `1h` or `1d`.
    resolution: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// The range asked for, or every problem with it.
fn read_range(
    body: &mut Map<String, Value>,
    now: DateTime<Utc>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let from_input = body.remove("from").map_or_else(Input::default, Input::sent);
    let to_input = body.remove("to").map_or_else(Input::default, Input::sent);
    let mut errors = InputErrors::new();
    let from: Option<Option<DateTime<Utc>>> = errors.optional("from", &from_input);
    let to: Option<Option<DateTime<Utc>>> = errors.optional("to", &to_input);
    errors.finish().map_err(ApiError::invalid_body)?;
    let to = to.flatten().unwrap_or(now);
    let from = from.flatten().unwrap_or(to - TimeDelta::days(DEFAULT_DAYS));
    let mut errors = InputErrors::new();
    if from >= to {
        errors.add(
            "from",
            &from_input,
            Invalid::new("value_error", "from must be before to"),
        );
    } else if to - from > TimeDelta::days(MAX_DAYS) {
        let invalid = Invalid::new("value_error", "A backtest covers at most 90 days");
        errors.add("to", &to_input, invalid);
    }
    errors.finish().map_err(ApiError::invalid_body)?;
    Ok((from, to))
}

#[utoipa::path(post, path = "/backtest", tag = "history", security(("bearer" = [])), request_body = BacktestRequest,
    responses((status = 200, body = BacktestView),
              (status = 400, description = "target_price_high is required for range alerts"),
              (status = 401, description = "Not authenticated"),
              (status = 415, description = "Content-Type must be application/json"),
              (status = 422, description = "invalid alert, or a range over 90 days"),
              (status = 429, description = "too many backtests running for this user")))]
pub async fn backtest(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonInput(mut body): JsonInput<Map<String, Value>>,
) -> ApiResult<Json<BacktestView>> {
    let now = Utc::now();
    let range = read_range(&mut body, now);
    let input: NewAlertInput = read_fields(body)?;
    let alert = NewAlert::read(input, &state.catalogue)?.validate(now)?;
    let (from, to) = range?;
    let spec = alert.spec();
    let indexed = IndexedAlert::from_spec(0, spec, None, 1)
        .ok_or_else(|| ApiError::Unprocessable("This alert can never fire".to_owned()))?;
    let _slot = state
        .backtests
        .try_acquire(user.id)
        .ok_or(ApiError::RateLimited {
            retry_after_secs: 1,
            detail: "Too many backtests running; retry when one has finished",
        })?;
    let instrument = crate::routes::history::known_instrument(&state, spec.symbol().as_str())?;
    let served = state.store.served_series(instrument).await?;
    let (from_s, to_s) = (from.timestamp(), to.timestamp());
    let (resolution, recorded) =
        recorded(&state, &served, spec.symbol().as_str(), (from_s, to_s)).await?;
    let (fired, walked) = tokio::task::spawn_blocking(move || {
        let steps = steps(&recorded);
        replay(&indexed, &steps, (from_s, to_s))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("backtest replay failed: {e}")))?;
    let fires: Vec<BacktestFire> = fired
        .into_iter()
        .map(|(at, price)| BacktestFire {
            at: DateTime::from_timestamp_micros(at).unwrap_or_default(),
            price,
        })
        .collect();
    Ok(Json(BacktestView {
        count: fires.len(),
        fires,
        evaluated_points: walked,
        resolution: resolution.map_or("tick", Resolution::as_str),
        from,
        to,
    }))
}

/// The finest resolution whose history reaches back to `from` (else the finest with any
/// history before `to`), and its data over the range.
async fn recorded(
    state: &AppState,
    served: &ServedSeries,
    symbol: &str,
    (from, to): (i64, i64),
) -> ApiResult<(Option<Resolution>, Recorded)> {
    let key = served.key(symbol);
    let choices = [
        None,
        Some(Resolution::Minute),
        Some(Resolution::Hour),
        Some(Resolution::Day),
    ];
    let mut oldest = Vec::with_capacity(choices.len());
    for resolution in choices {
        oldest.push((
            resolution,
            state.store.oldest_history(key, resolution).await?,
        ));
    }
    let chosen = oldest
        .iter()
        .find(|(_, o)| o.is_some_and(|o| o <= from))
        .or_else(|| oldest.iter().find(|(_, o)| o.is_some_and(|o| o <= to)))
        .and_then(|(r, _)| *r);
    let db = state.store.db();
    Ok(match chosen {
        None => (
            None,
            Recorded::Points(db.points(key, (from, to + 1)).await?),
        ),
        Some(r) => {
            let start = bucket_start(from, r.seconds());
            let range = (start, to + 1);
            // Minutes through the day packs: a month is 30 rows instead of 43,200.
            let candles = match r {
                Resolution::Minute => db.minute_candles(key, range).await?,
                _ => db.candles(key, r, range, i64::MAX, false).await?,
            };
            (Some(r), Recorded::Candles(candles, r.seconds()))
        }
    })
}
