use std::net::SocketAddr;

use shared::context::ServiceContext;
use shared::metrics::{ops_router, service_registry, OpsServer};
use tokio_util::sync::CancellationToken;

use crate::NotifierError;

/// The notifier, bound and ready to run.
pub struct Application {
    ops: OpsServer,
}

impl Application {
    /// Binds the ops port (`/health`, `/metrics`) and subscribes to the bus.
    pub async fn build(context: ServiceContext) -> Result<Application, NotifierError> {
        let registry = service_registry("notifier");
        let addr = SocketAddr::new(
            context.settings.gateway.host,
            context.settings.notifier.port,
        );
        let ops = OpsServer::bind(addr, ops_router(registry))
            .await
            .map_err(NotifierError::Bind)?;
        Ok(Application { ops })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), NotifierError> {
        self.ops.run(shutdown).await.map_err(NotifierError::Serve)
    }
}
