use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{decode, BusError, BusMessage, Decoded, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::{AlertChange, PriceTick};
use shared::metrics::{ops_router, service_registry, OpsServer};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::engine::EngineConfig;
use crate::metrics::EvaluatorMetrics;
use crate::processor::Processor;
use crate::relay::OutboxRelay;
use crate::store::Store;
use crate::EvaluatorError;

/// How often an outbox that could not be published is retried while no tick comes.
const RELAY_RETRY: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How far back each re-read of recent alert writes reaches before the previous one started:
/// covers clock differences between hosts and transactions that commit after their
/// `updated_at` was taken.
const REPAIR_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The evaluator, bound, subscribed and loaded, ready to run.
pub struct Application {
    ops: OpsServer,
    worker: Worker,
}

struct Worker {
    processor: Processor,
    relay: OutboxRelay,
    prices: Box<dyn Subscription>,
    changes: Box<dyn Subscription>,
    metrics: EvaluatorMetrics,
    /// An event may be waiting in the outbox.
    outbox_dirty: bool,
    /// How often recent alert writes are re-read (see [`Processor::repair_written_since`]).
    repair_every: Duration,
    /// When the last re-read (or the initial load) started.
    repaired_until: chrono::DateTime<chrono::Utc>,
}

impl Application {
    /// Binds the ops port (`/health`, `/metrics`), subscribes to prices and alert changes,
    /// and loads the alert index from storage.
    pub async fn build(context: ServiceContext) -> Result<Application, EvaluatorError> {
        Application::build_with_clock(context, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        context: ServiceContext,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, EvaluatorError> {
        let registry = service_registry("evaluator");
        let metrics = EvaluatorMetrics::new(&registry, context.catalogue.clone());
        let group = context.consumer_group("evaluator");
        // Evaluators share the ticks (one group), but each must see every alert change: after a
        // rebalance it may own any symbol. So each reads every partition of the changes, from
        // the end of the log as it stands before the snapshot is loaded: a change made
        // meanwhile is then both in the snapshot and in the queue (versions make applying it
        // twice harmless), and the history before it is never replayed.
        let changes_group = format!("{group}-changes-{}", uuid::Uuid::new_v4().simple());
        let mut changes = context
            .bus
            .subscribe_from_now(Topic::AlertChanges, &changes_group)
            .await?;
        let mut prices = context.bus.subscribe(Topic::PriceEvents, &group).await?;
        let consumer_metrics = shared::bus::ConsumerMetrics::register(&registry);
        changes.report_metrics_to(&consumer_metrics);
        prices.report_metrics_to(&consumer_metrics);
        let settings = &context.settings.evaluator;
        let config = EngineConfig {
            history_minutes: settings.history_minutes(),
        };
        let loading_started = shared::storage::now();
        let processor =
            Processor::load(Store::new(context.db.clone()), metrics.clone(), config).await?;
        let relay = OutboxRelay::new(
            Store::new(context.db.clone()),
            context.bus.clone(),
            metrics.clone(),
            clock,
            settings.outbox_retention,
        );
        let addr = SocketAddr::new(context.settings.gateway.host, settings.port);
        let ops = OpsServer::bind(addr, ops_router(registry))
            .await
            .map_err(EvaluatorError::Bind)?;
        Ok(Application {
            ops,
            worker: Worker {
                processor,
                relay,
                prices,
                changes,
                metrics,
                outbox_dirty: true,
                repair_every: settings.alert_resync,
                repaired_until: loading_started,
            },
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    /// Republishes what a previous run left in the outbox, then evaluates ticks until
    /// `shutdown`.
    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> Result<(), EvaluatorError> {
        let ops_stop = shutdown.child_token();
        let ops = tokio::spawn(self.ops.run(ops_stop.clone()));
        let result = self.worker.run(shutdown).await;
        ops_stop.cancel();
        let served = ops
            .await
            .map_err(|e| EvaluatorError::Serve(std::io::Error::other(e)))?;
        result?;
        served.map_err(EvaluatorError::Serve)
    }
}

impl Worker {
    async fn run(mut self, shutdown: CancellationToken) -> Result<(), EvaluatorError> {
        self.flush_outbox().await;
        if let Err(error) = self.relay.prune().await {
            tracing::warn!(error = %error, "could not prune the outbox");
        }
        let mut retry = tokio::time::interval(RELAY_RETRY);
        let mut repair = tokio::time::interval_at(
            tokio::time::Instant::now() + self.repair_every,
            self.repair_every,
        );
        repair.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(()),
                message = self.changes.next() => match message {
                    Ok(message) => self.on_change(&message).await?,
                    Err(BusError::Closed) => return Ok(()),
                    Err(error) => return Err(error.into()),
                },
                // Before the ticks, so a steady backlog of ticks cannot starve it.
                _ = repair.tick() => self.repair_alerts().await,
                message = self.prices.next() => match message {
                    Ok(message) => {
                        if !self.on_tick(&message, &shutdown).await? {
                            return Ok(());
                        }
                    }
                    Err(BusError::Closed) => return Ok(()),
                    Err(error) => return Err(error.into()),
                },
                _ = retry.tick(), if self.outbox_dirty => self.flush_outbox().await,
            }
        }
    }

    async fn on_change(&mut self, message: &BusMessage) -> Result<(), EvaluatorError> {
        match decode::<AlertChange>(message) {
            Decoded::Ok(change) => self.processor.apply_change(&change),
            Decoded::Malformed(reason) => self.malformed(message, &reason),
        }
        self.changes.commit(message).await?;
        Ok(())
    }

    /// Applies every change already queued, so a tick never overtakes an earlier change.
    async fn drain_changes(&mut self) -> Result<(), EvaluatorError> {
        while let Some(message) = self.changes.try_next()? {
            self.on_change(&message).await?;
        }
        Ok(())
    }

    /// Evaluates and records one tick; `false` when shutdown came first.
    async fn on_tick(
        &mut self,
        message: &BusMessage,
        shutdown: &CancellationToken,
    ) -> Result<bool, EvaluatorError> {
        self.drain_changes().await?;
        let tick = match decode::<PriceTick>(message) {
            Decoded::Ok(tick) => tick,
            Decoded::Malformed(reason) => {
                self.malformed(message, &reason);
                self.prices.commit(message).await?;
                return Ok(true);
            }
        };
        let decision = self.processor.decide(&tick);
        let mut backoff = Duration::from_millis(50);
        let events = loop {
            match self.processor.record(&tick, &decision).await {
                Ok(events) => break events,
                Err(error) => {
                    tracing::warn!(error = %error, symbol = %tick.symbol, "could not record a tick; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(false),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        // The tick's effect is durable: its message may be committed.
        self.prices.commit(message).await?;
        if !events.is_empty() {
            self.outbox_dirty = true;
        }
        if self.outbox_dirty {
            self.flush_outbox().await;
        }
        Ok(true)
    }

    /// The safety net for lost alert changes: re-reads what was written since the previous
    /// pass started, with an overlap.
    async fn repair_alerts(&mut self) {
        let started = shared::storage::now();
        let since = self.repaired_until - REPAIR_OVERLAP;
        match self.processor.repair_written_since(since).await {
            Ok(_) => self.repaired_until = started,
            Err(error) => {
                tracing::warn!(error = %error, "could not re-read recent alert writes; will retry");
            }
        }
    }

    async fn flush_outbox(&mut self) {
        match self.relay.flush().await {
            Ok(_) => self.outbox_dirty = false,
            Err(error) => {
                self.outbox_dirty = true;
                tracing::warn!(error = %error, "could not publish the outbox; will retry");
            }
        }
    }

    fn malformed(&self, message: &BusMessage, reason: &str) {
        self.metrics.malformed(message.topic);
        tracing::warn!(
            topic = message.topic.default_name(),
            partition = message.partition,
            offset = message.offset,
            reason,
            "skipping a malformed message"
        );
    }
}
