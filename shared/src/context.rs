//! What every service is built from: settings, the database, the bus and the catalogue.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::bus::EventBus;
use crate::catalogue::Catalogue;
use crate::config::Settings;
use crate::storage::{Database, StorageError};

/// Built once per process and handed to each service's `Application::build`.
///
/// Rule for services: subscribe to the bus inside `build`, publish only once running, so that in
/// the embedded default every consumer is subscribed before any producer starts.
#[derive(Clone)]
pub struct ServiceContext {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub bus: Arc<dyn EventBus>,
    pub catalogue: Arc<Catalogue>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("could not prepare the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("could not open the database: {0}")]
    Database(#[from] StorageError),
}

impl ServiceContext {
    /// Opens storage as the settings say (`DATABASE_URL`, or a SQLite file in the data
    /// directory) over `bus` (the binary picks the transport: `kafka_bus::bus_from_settings`).
    pub async fn connect(
        settings: Settings,
        bus: Arc<dyn EventBus>,
    ) -> Result<ServiceContext, ContextError> {
        let url = match &settings.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => {
                let dir = settings.data_dir();
                std::fs::create_dir_all(&dir).map_err(|source| ContextError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
                Database::sqlite_url_in(&dir)
            }
        };
        let db = Database::connect(&url, settings.database.max_connections).await?;
        Ok(ServiceContext::new(settings, db, bus))
    }

    /// A context over an existing database and bus (tests, embedded wiring).
    pub fn new(settings: Settings, db: Database, bus: Arc<dyn EventBus>) -> ServiceContext {
        let catalogue = Arc::new(match &settings.ingestor.instruments {
            Some(list) => Catalogue::new(list.clone()),
            None => Catalogue::default(),
        });
        ServiceContext {
            settings: Arc::new(settings),
            db,
            bus,
            catalogue,
        }
    }

    /// The consumer group name of `service` (`{prefix}-{service}`).
    pub fn consumer_group(&self, service: &str) -> String {
        format!(
            "{}-{service}",
            self.settings.bus.kafka.consumer_group_prefix
        )
    }
}
