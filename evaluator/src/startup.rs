use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{Batching, Consumer, Delivery, Stopped, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::{AlertChange, PriceTick};
use shared::metrics::{ops_router, service_registry, OpsServer};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::fault::PauseAfterCommit;
use crate::metrics::EvaluatorMetrics;
use crate::processor::Processor;
use crate::relay::OutboxRelay;
use crate::store::Store;
use crate::EvaluatorError;
use matching::EngineConfig;

/// How often an outbox that could not be published is retried while no tick comes.
const RELAY_RETRY: Duration = Duration::from_secs(1);
/// How far back each re-read of recent alert writes reaches before the previous one started:
/// covers clock differences between hosts and transactions that commit after their
/// `updated_at` was taken.
const REPAIR_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The evaluator, bound, subscribed and loaded, ready to run.
pub struct Application {
    ops: OpsServer,
    worker: Worker,
    prices: Box<dyn Subscription>,
    changes: Box<dyn Subscription>,
}

/// What the worker reads: both subscriptions as typed consumers that stop at shutdown.
struct Feeds {
    prices: Consumer<PriceTick>,
    changes: Consumer<AlertChange>,
}

struct Worker {
    processor: Processor,
    relay: OutboxRelay,
    metrics: EvaluatorMetrics,
    /// An event may be waiting in the outbox.
    outbox_dirty: bool,
    /// How often recent alert writes are re-read (see [`Processor::repair_written_since`]).
    repair_every: Duration,
    /// When the last re-read (or the initial load) started.
    repaired_until: chrono::DateTime<chrono::Utc>,
    /// How ticks are grouped into one transaction and one offset commit.
    batching: Batching,
    pause_after_commit: PauseAfterCommit,
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
                metrics,
                outbox_dirty: true,
                repair_every: settings.alert_resync,
                repaired_until: loading_started,
                batching: Batching {
                    max_messages: settings.batch_max_ticks,
                    max_wait: settings.batch_max_wait,
                },
                pause_after_commit: PauseAfterCommit::new(settings.test_pause_after_commit.clone()),
            },
            prices,
            changes,
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
        let malformed = &self.worker.metrics.malformed_messages;
        let feeds = Feeds {
            prices: Consumer::new(self.prices, malformed, shutdown.clone()),
            changes: Consumer::new(self.changes, malformed, shutdown.clone()),
        };
        self.worker.run(feeds, shutdown).await;
        ops_stop.cancel();
        let served = ops
            .await
            .map_err(|e| EvaluatorError::Serve(std::io::Error::other(e)))?;
        served.map_err(EvaluatorError::Serve)
    }
}

impl Worker {
    /// Evaluates ticks until shutdown or the bus closes. Bus errors pause the consumer they
    /// hit; storage errors are retried.
    async fn run(mut self, mut feeds: Feeds, shutdown: CancellationToken) {
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
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                change = feeds.changes.next() => match change {
                    Ok(change) => self.on_change(&mut feeds.changes, change).await,
                    Err(stopped) => Err(stopped),
                },
                // Before the ticks, so a steady backlog of ticks cannot starve it.
                _ = repair.tick() => {
                    self.repair_alerts().await;
                    Ok(())
                }
                tick = feeds.prices.next() => match tick {
                    Ok(tick) => self.on_ticks(&mut feeds, tick).await,
                    Err(stopped) => Err(stopped),
                },
                _ = retry.tick(), if self.outbox_dirty => {
                    self.flush_outbox().await;
                    Ok(())
                }
            };
            if let Err(Stopped) = step {
                return;
            }
        }
    }

    async fn on_change(
        &mut self,
        changes: &mut Consumer<AlertChange>,
        change: Delivery<AlertChange>,
    ) -> Result<(), Stopped> {
        self.processor.apply_change(&change.event);
        changes.commit(&change).await
    }

    /// Applies every change already queued, so a tick never overtakes an earlier change.
    async fn drain_changes(&mut self, changes: &mut Consumer<AlertChange>) -> Result<(), Stopped> {
        while let Some(change) = changes.try_next().await? {
            self.on_change(changes, change).await?;
        }
        Ok(())
    }

    /// Takes a batch of ticks starting with `first`, evaluates and records it (one
    /// transaction; see `processor::batch`), then commits it.
    async fn on_ticks(
        &mut self,
        feeds: &mut Feeds,
        first: Delivery<PriceTick>,
    ) -> Result<(), Stopped> {
        let batch = feeds.prices.batch_from(first, self.batching).await?;
        self.drain_changes(&mut feeds.changes).await?;
        let ticks: Vec<&PriceTick> = batch.deliveries.iter().map(|d| &d.event).collect();
        let mut recording = feeds.prices.backoff("recording ticks");
        let events = self.processor.process_batch(&ticks, &mut recording).await?;
        recording.succeeded();
        if !events.is_empty() {
            self.pause_after_commit.reached().await;
        }
        // The batch's effects are durable: its messages may be committed.
        feeds.prices.commit_batch(&batch).await?;
        if !events.is_empty() {
            self.outbox_dirty = true;
        }
        if self.outbox_dirty {
            self.flush_outbox().await;
        }
        Ok(())
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
}
