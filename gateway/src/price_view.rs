//! A price as clients see it, over REST and the WebSocket (the live feed's item type).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::Price;
use shared::events::PriceTick;
use shared::storage::LatestPrice;
use utoipa::ToSchema;

/// A price as clients see it, over REST and the WebSocket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceView {
    pub symbol: String,
    #[schema(value_type = f64)]
    pub price: Price,
    pub currency: String,
    pub source: String,
    pub timestamp: DateTime<Utc>,
}

impl From<LatestPrice> for PriceView {
    fn from(p: LatestPrice) -> Self {
        PriceView {
            symbol: p.symbol,
            price: p.price,
            currency: p.currency,
            source: p.source,
            timestamp: p.quoted_at,
        }
    }
}

impl From<PriceTick> for PriceView {
    fn from(t: PriceTick) -> Self {
        PriceView {
            symbol: t.symbol.to_string(),
            price: t.price,
            currency: t.currency,
            source: t.source,
            timestamp: t.timestamp,
        }
    }
}

/// The latest known prices keyed by symbol.
pub fn by_symbol(prices: Vec<LatestPrice>) -> BTreeMap<String, PriceView> {
    prices
        .into_iter()
        .map(|p| (p.symbol.clone(), PriceView::from(p)))
        .collect()
}
