//! Which transport a process uses: Kafka when the settings name bootstrap servers, else the
//! in-process bus of the embedded default.

use std::sync::Arc;

use shared::bus::{BusError, EventBus, InProcessBus};
use shared::config::Settings;

use crate::KafkaBus;

/// Connects to Kafka when `KAFKA_BOOTSTRAP_SERVERS` is set (creating missing topics), else
/// returns a fresh in-process bus.
pub async fn bus_from_settings(settings: &Settings) -> Result<Arc<dyn EventBus>, BusError> {
    match &settings.bus.kafka.bootstrap_servers {
        Some(_) => Ok(Arc::new(KafkaBus::connect(&settings.bus.kafka).await?)),
        None => Ok(Arc::new(InProcessBus::new(settings.bus.channel_capacity))),
    }
}
