//! Carries out a publish: the tick on the bus (keyed by symbol), and the latest price stored
//! (behind the stream, see `latest`) so `GET /prices` answers after a restart.

use std::sync::Arc;

use shared::bus::{publish_json, BusError, EventBus, Topic};
use shared::domain::Price;
use shared::events::{PriceTick, SCHEMA_VERSION};
use shared::storage::LatestPrice;

use crate::latest::LatestPrices;
use crate::metrics::IngestorMetrics;
use crate::providers::Quote;

#[derive(Clone)]
pub struct Publisher {
    bus: Arc<dyn EventBus>,
    latest: LatestPrices,
    /// The price topic's name, for the metric label.
    topic_name: String,
    metrics: IngestorMetrics,
}

impl Publisher {
    pub fn new(
        bus: Arc<dyn EventBus>,
        latest: LatestPrices,
        topic_name: String,
        metrics: IngestorMetrics,
    ) -> Publisher {
        Publisher {
            bus,
            latest,
            topic_name,
            metrics,
        }
    }

    /// Sends the tick on the bus. The poller stores the price only after this succeeded: a
    /// crash in between re-publishes on restart (at least once) rather than storing a price no
    /// consumer ever saw.
    #[tracing::instrument(skip_all, fields(symbol = %quote.symbol))]
    pub async fn send(
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
            conversion: quote.conversion.clone(),
        };
        publish_json(
            self.bus.as_ref(),
            Topic::PriceEvents,
            quote.symbol.as_str(),
            &tick,
        )
        .await?;
        self.metrics.message_sent(&self.topic_name);
        Ok(())
    }

    /// Queues the quote as its symbol's latest price.
    pub fn store(&self, source: &str, quote: &Quote) {
        self.latest.remember(LatestPrice {
            symbol: quote.symbol.to_string(),
            price: quote.price,
            currency: quote.currency.clone(),
            source: source.to_owned(),
            quoted_at: quote.timestamp,
        });
    }
}
