//! The evaluator's state machine: the engine plus the durable record of each tick.
//!
//! A tick is first decided in memory ([`Processor::decide`]), then recorded in one
//! transaction ([`Processor::record`]); alerts the transaction rejects are re-read from
//! storage so the index converges on what is stored even if a change message was lost.
//! Batches of ticks are decided the same way and recorded in one transaction ([`batch`]).

mod batch;

use std::time::Instant;

use chrono::{DateTime, Utc};
use shared::domain::{AlertId, Price};
use shared::events::{AlertChange, AlertChangeKind, PriceTick, TriggerEvent};
use shared::storage::StorageError;

use crate::metrics::EvaluatorMetrics;
use crate::store::{FireCandidate, FireOutcome, Store, TickRecord};
use crate::EvaluatorError;
use matching::{micros, Engine, EngineConfig, Fire, IndexedAlert, Rearmed};

/// What the engine decided for one tick, to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The symbol's last price before this tick.
    pub previous: Option<Price>,
    /// Alerts to fire, by id.
    pub candidates: Vec<FireCandidate>,
    /// Alerts whose re-arm wait this tick ended.
    pub rearmed: Vec<Rearmed>,
}

pub struct Processor {
    engine: Engine,
    db: Store,
    metrics: EvaluatorMetrics,
    fires: Vec<Fire>,
}

impl Processor {
    /// Builds the index from storage: last prices first (so ranges are filed against them),
    /// then every active alert of an active user.
    pub async fn load(
        db: Store,
        metrics: EvaluatorMetrics,
        config: EngineConfig,
    ) -> Result<Processor, EvaluatorError> {
        let prices = db.evaluator_last_prices().await?;
        let alerts = db.active_alerts().await?;
        let engine = tokio::task::spawn_blocking(move || {
            let mut engine = Engine::new(config);
            for (symbol, price) in prices {
                engine.restore_last_price(&symbol, price);
            }
            for alert in &alerts {
                if let Some(spec) = IndexedAlert::from_alert(alert) {
                    engine.upsert(&spec);
                }
            }
            engine
        })
        .await
        .map_err(|e| EvaluatorError::Load(e.to_string()))?;
        metrics.active_alerts.set(engine.active_alerts() as i64);
        tracing::info!(active_alerts = engine.active_alerts(), "alert index loaded");
        Ok(Processor {
            engine,
            db,
            metrics,
            fires: Vec::new(),
        })
    }

    pub fn apply_change(&mut self, change: &AlertChange) {
        match &change.kind {
            AlertChangeKind::Upserted { alert } => match IndexedAlert::from_alert(alert) {
                Some(spec) => {
                    self.engine.upsert(&spec);
                }
                None => {
                    self.engine.remove_unless_newer(alert.id(), alert.version());
                }
            },
            AlertChangeKind::Deleted { alert_id, .. } => {
                self.engine.remove(*alert_id);
            }
        }
        self.metrics
            .active_alerts
            .set(self.engine.active_alerts() as i64);
    }

    /// Re-reads the alerts written since `since` and applies each one the index holds at an
    /// older version or not at all: a change whose bus message was lost (or is still on its
    /// way; versions make applying it twice harmless). Returns how many it applied.
    pub async fn repair_written_since(
        &mut self,
        since: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        let written = self.db.alerts_written_since(since).await?;
        let mut repaired = 0;
        for alert in &written {
            let held = self.engine.version(alert.id());
            let behind = held.is_none_or(|version| version < alert.version());
            match IndexedAlert::from_alert(alert) {
                Some(spec) if behind => {
                    self.engine.upsert(&spec);
                }
                None if held.is_some() && behind => {
                    self.engine.remove_unless_newer(alert.id(), alert.version());
                }
                _ => continue,
            }
            repaired += 1;
        }
        if repaired > 0 {
            tracing::warn!(
                repaired,
                "alert writes found in storage before their bus message"
            );
            self.metrics.alerts_repaired.inc_by(repaired as u64);
            self.metrics
                .active_alerts
                .set(self.engine.active_alerts() as i64);
        }
        Ok(repaired)
    }

    /// Matches a tick in memory. The engine moves what fires into cooldown right away, as the
    /// record will.
    pub fn decide(&mut self, tick: &PriceTick) -> Decision {
        let symbol = self.engine.symbol_id(&tick.symbol);
        let previous = self.engine.last_price(symbol);
        self.fires.clear();
        let started = Instant::now();
        self.engine.evaluate(
            symbol,
            tick.price,
            micros(tick.received_at),
            &mut self.fires,
        );
        self.metrics
            .match_latency
            .observe(started.elapsed().as_secs_f64());
        self.fires.sort();
        Decision {
            previous,
            candidates: self
                .fires
                .iter()
                .map(|fire| FireCandidate {
                    alert_id: fire.alert_id,
                    version: fire.version,
                    rearm_wait: fire.rearm_wait,
                })
                .collect(),
            rearmed: self.engine.rearmed().to_vec(),
        }
    }

    /// Records a decided tick in one transaction; returns the trigger events written to the
    /// outbox, or `None` when storage refused the decision because it was made on a stale
    /// previous price or alert version: the engine then holds storage's, and the tick must be
    /// decided again.
    /// A tick storage already holds (a replay) records nothing and returns no events. Safe to
    /// retry after an error: nothing was written then.
    pub async fn record(
        &mut self,
        tick: &PriceTick,
        decision: &Decision,
    ) -> Result<Option<Vec<TriggerEvent>>, StorageError> {
        let recorded = self
            .db
            .record_tick(
                tick,
                decision.previous,
                &decision.candidates,
                &decision.rearmed,
            )
            .await?;
        let replay = matches!(recorded, TickRecord::AlreadyRecorded { .. });
        let stored = match recorded {
            TickRecord::Recorded(outcomes) => Ok(outcomes),
            TickRecord::AlreadyRecorded { stored } | TickRecord::PreviousChanged { stored } => {
                Err(Some(stored))
            }
            TickRecord::AlertChanged => Err(decision.previous),
        };
        let outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(last) => {
                // The decision moved its candidates into cooldown and the symbol's last price
                // forward; storage has the truth for both.
                if let Some(last) = last {
                    self.engine.restore_last_price(&tick.symbol, last);
                }
                // The engine also ended the re-arm waits this tick opened; storage kept them.
                let touched = decision.candidates.iter().map(|c| c.alert_id);
                for id in touched.chain(decision.rearmed.iter().map(|r| r.alert_id)) {
                    self.resync(id).await?;
                }
                if replay {
                    self.metrics.ticks_superseded.inc();
                }
                tracing::debug!(symbol = %tick.symbol, replay, "tick refused by storage");
                return Ok(replay.then(Vec::new));
            }
        };
        let mut events = Vec::new();
        for (candidate, outcome) in decision.candidates.iter().zip(outcomes) {
            match outcome {
                FireOutcome::Fired(event) => {
                    self.metrics.alert_triggered(event.condition);
                    events.push(*event);
                }
                FireOutcome::Rejected => self.resync(candidate.alert_id).await?,
            }
        }
        self.metrics.price_evaluated(&tick.symbol);
        self.metrics
            .active_alerts
            .set(self.engine.active_alerts() as i64);
        Ok(Some(events))
    }

    /// Re-reads an alert the fire transaction refused, so the index matches storage.
    async fn resync(&mut self, id: AlertId) -> Result<(), StorageError> {
        let spec = self
            .db
            .active_alert(id)
            .await?
            .as_ref()
            .and_then(IndexedAlert::from_alert);
        tracing::debug!(
            alert_id = id,
            still_active = spec.is_some(),
            "fire rejected by storage"
        );
        match spec {
            Some(spec) => self.engine.replace(&spec),
            None => {
                self.engine.remove(id);
            }
        }
        Ok(())
    }
}
