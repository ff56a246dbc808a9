//! The ops port: `/health`, `/metrics` and `GET /instruments`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use prometheus::Registry;
use shared::catalogue::{Catalogue, Instrument};
use shared::metrics::ops_router;

pub fn router(registry: Registry, catalogue: Arc<Catalogue>) -> Router {
    ops_router(registry).merge(
        Router::new()
            .route("/instruments", get(instruments))
            .with_state(catalogue),
    )
}

/// The catalogue in symbol order: symbol, provider, provider id, asset class, currency.
async fn instruments(State(catalogue): State<Arc<Catalogue>>) -> Json<Vec<Instrument>> {
    Json(catalogue.instruments().cloned().collect())
}
