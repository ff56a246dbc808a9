//! Wiring of the four services into one process, for the `pricealert` binary and its tests.

use anyhow::Context;
use shared::context::ServiceContext;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Gateway,
    Ingestor,
    Evaluator,
    Notifier,
}

/// Storage and the bus as the settings say: Kafka when `KAFKA_BOOTSTRAP_SERVERS` is set, else
/// the in-process bus; `DATABASE_URL`, else a SQLite file in the data directory.
pub async fn connect(settings: shared::config::Settings) -> anyhow::Result<ServiceContext> {
    let bus = kafka_bus::bus_from_settings(&settings)
        .await
        .context("connecting to the bus")?;
    ServiceContext::connect(settings, bus)
        .await
        .context("opening storage")
}

/// Which services this process runs.
#[derive(Debug, Clone)]
pub struct Services(Vec<Service>);

impl Services {
    pub fn all() -> Services {
        Services(vec![
            Service::Gateway,
            Service::Ingestor,
            Service::Evaluator,
            Service::Notifier,
        ])
    }

    pub fn only(service: Service) -> Services {
        Services(vec![service])
    }

    fn has(&self, service: Service) -> bool {
        self.0.contains(&service)
    }
}

/// The built services, bound to their ports and subscribed to the bus, not yet running.
pub struct Running {
    tasks: tokio::task::JoinSet<anyhow::Result<()>>,
    pub gateway_port: Option<u16>,
    pub ingestor_port: Option<u16>,
    pub evaluator_port: Option<u16>,
    pub notifier_port: Option<u16>,
}

/// Builds every selected service first (so every consumer subscribes before any producer runs),
/// then starts them all.
pub async fn start(
    context: ServiceContext,
    services: &Services,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let mut running = Running {
        tasks: tokio::task::JoinSet::new(),
        gateway_port: None,
        ingestor_port: None,
        evaluator_port: None,
        notifier_port: None,
    };
    let notifier = if services.has(Service::Notifier) {
        Some(
            notifier::Application::build(context.clone())
                .await
                .context("building the notifier")?,
        )
    } else {
        None
    };
    let evaluator = if services.has(Service::Evaluator) {
        Some(
            evaluator::Application::build(context.clone())
                .await
                .context("building the evaluator")?,
        )
    } else {
        None
    };
    let gateway = if services.has(Service::Gateway) {
        Some(
            gateway::Application::build(context.clone())
                .await
                .context("building the gateway")?,
        )
    } else {
        None
    };
    let ingestor = if services.has(Service::Ingestor) {
        Some(
            ingestor::Application::build(context.clone())
                .await
                .context("building the ingestor")?,
        )
    } else {
        None
    };
    if let Some(app) = notifier {
        running.notifier_port = Some(app.port());
        let stop = shutdown.clone();
        running
            .tasks
            .spawn(async move { Ok(app.run_until_stopped(stop).await?) });
    }
    if let Some(app) = evaluator {
        running.evaluator_port = Some(app.port());
        let stop = shutdown.clone();
        running
            .tasks
            .spawn(async move { Ok(app.run_until_stopped(stop).await?) });
    }
    if let Some(app) = gateway {
        running.gateway_port = Some(app.port());
        let stop = shutdown.clone();
        running
            .tasks
            .spawn(async move { Ok(app.run_until_stopped(stop).await?) });
    }
    if let Some(app) = ingestor {
        running.ingestor_port = Some(app.port());
        let stop = shutdown.clone();
        running
            .tasks
            .spawn(async move { Ok(app.run_until_stopped(stop).await?) });
    }
    Ok(running)
}

impl Running {
    /// Waits until every service has stopped; the first failure stops the others.
    pub async fn wait(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(result) = self.tasks.join_next().await {
            let outcome = result.map_err(anyhow::Error::from).and_then(|r| r);
            if let Err(error) = outcome {
                tracing::error!(
                    error = format!("{error:#}"),
                    "a service stopped with an error"
                );
                shutdown.cancel();
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Runs the selected services until Ctrl-C / SIGTERM.
pub async fn run(context: ServiceContext, services: Services) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let running = start(context, &services, shutdown.clone()).await?;
    tracing::info!(
        gateway = running.gateway_port,
        ingestor = running.ingestor_port,
        evaluator = running.evaluator_port,
        notifier = running.notifier_port,
        "pricealert started"
    );
    let signal_token = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal_token.cancel();
    });
    running.wait(shutdown).await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
