//! Carries out a publish: the tick on the bus (keyed by symbol), then the latest price stored
//! so `GET /prices` answers after a restart.

use std::sync::Arc;

use shared::bus::{publish_json, BusError, EventBus, Topic};
use shared::domain::Price;
use shared::events::{PriceTick, SCHEMA_VERSION};
use shared::storage::{Database, LatestPrice};

use crate::metrics::IngestorMetrics;
use crate::providers::Quote;

#[derive(Clone)]
pub struct Publisher {
    bus: Arc<dyn EventBus>,
    db: Database,
    /// The price topic's name, for the metric label.
    topic_name: String,
    metrics: IngestorMetrics,
}

impl Publisher {
    pub fn new(
        bus: Arc<dyn EventBus>,
        db: Database,
        topic_name: String,
        metrics: IngestorMetrics,
    ) -> Publisher {
        Publisher {
            bus,
            db,
            topic_name,
            metrics,
        }
    }

    /// Publishes first, then stores: a crash in between re-publishes on restart (at least
    /// once) rather than storing a price no consumer ever saw.
    #[tracing::instrument(skip_all, fields(symbol = %quote.symbol))]
    pub async fn publish(
        &self,
        source: &str,
        quote: &Quote,
        previous: Option<Price>,
    ) -> Result<(), BusError> {
        let tick = PriceTick {
            schema_version: SCHEMA_VERSION,
            symbol: quote.symbol.clone(),
            price: quote.price,
            previous_price: previous,
            currency: quote.currency.clone(),
            source: source.to_owned(),
            timestamp: quote.timestamp,
            received_at: quote.received_at,
        };
        publish_json(
            self.bus.as_ref(),
            Topic::PriceEvents,
            quote.symbol.as_str(),
            &tick,
        )
        .await?;
        self.metrics.message_sent(&self.topic_name);
        let latest = LatestPrice {
            symbol: quote.symbol.to_string(),
            price: quote.price,
            currency: quote.currency.clone(),
            source: source.to_owned(),
            quoted_at: quote.timestamp,
        };
        if let Err(error) = self.db.upsert_latest_price(&latest).await {
            // The tick is out; the next one will store its price.
            tracing::warn!(error = %error, "could not store the latest price");
        }
        Ok(())
    }
}
