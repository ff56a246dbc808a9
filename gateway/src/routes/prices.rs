//! `/prices`: the latest quote per symbol, as stored by the ingestor.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::domain::Symbol;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::PathParam;
use crate::price_view::{self, PriceView};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prices", get(list_prices))
        .route("/prices/", get(list_prices))
        .route("/prices/symbols", get(symbols))
        .route("/prices/{symbol}", get(one_price))
}

#[derive(Serialize, ToSchema)]
pub struct PricesView {
    prices: BTreeMap<String, PriceView>,
    count: usize,
    timestamp: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct SymbolsView {
    symbols: Vec<String>,
    count: usize,
}

#[derive(Deserialize)]
pub struct PricesQuery {
    symbols: Option<String>,
}

#[utoipa::path(get, path = "/prices", tag = "prices",
    params(("symbols" = Option<String>, Query, description = "comma-separated, case-insensitive; omit for all")),
    responses((status = 200, body = PricesView)))]
pub async fn list_prices(
    State(state): State<AppState>,
    Query(query): Query<PricesQuery>,
) -> ApiResult<Json<PricesView>> {
    let mut prices = price_view::by_symbol(state.store.db().latest_prices().await?);
    if let Some(wanted) = query.symbols.as_deref().filter(|s| !s.trim().is_empty()) {
        let wanted: Vec<String> = wanted
            .split(',')
            .filter_map(|s| s.parse::<Symbol>().ok())
            .map(|s| s.to_string())
            .collect();
        prices.retain(|symbol, _| wanted.contains(symbol));
    }
    Ok(Json(PricesView {
        count: prices.len(),
        prices,
        timestamp: Utc::now(),
    }))
}

#[utoipa::path(get, path = "/prices/symbols", tag = "prices", responses((status = 200, body = SymbolsView)))]
pub async fn symbols(State(state): State<AppState>) -> Json<SymbolsView> {
    let symbols: Vec<String> = state.catalogue.symbols().map(|s| s.to_string()).collect();
    Json(SymbolsView {
        count: symbols.len(),
        symbols,
    })
}

#[utoipa::path(get, path = "/prices/{symbol}", tag = "prices", params(("symbol" = String, Path)),
    responses((status = 200, body = PriceView, description = "or {symbol, price: null, message} before the first tick"),
              (status = 404, description = "Unknown symbol: X")))]
pub async fn one_price(
    State(state): State<AppState>,
    PathParam(raw): PathParam,
) -> ApiResult<Response> {
    let unknown = || ApiError::NotFound(format!("Unknown symbol: {}", raw.to_uppercase()));
    let symbol: Symbol = raw.parse().map_err(|_| unknown())?;
    if !state.catalogue.contains(&symbol) {
        return Err(unknown());
    }
    let prices = price_view::by_symbol(state.store.db().latest_prices().await?);
    Ok(match prices.get(symbol.as_str()) {
        Some(price) => Json(price.clone()).into_response(),
        None => Json(json!({
            "symbol": symbol.as_str(),
            "price": null,
            "message": "Price not yet available",
        }))
        .into_response(),
    })
}
