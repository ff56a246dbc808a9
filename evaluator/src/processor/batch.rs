//! Group commit: a batch of ticks decided one by one in memory, recorded in one transaction.
//!
//! Per tick, the evaluator decides a tick in memory, records it in its own transaction, and
//! when storage refuses the record (a redelivered tick, a previous price or alert version
//! another writer changed) it reloads what the decision touched and decides the tick again.
//! A batch keeps exactly those results while paying for one transaction:
//!
//! 1. The ticks are decided one after the other on the engine (each symbol's ticks in their
//!    order), each on the state the ones before it left, as they would be per tick. The engine
//!    marks each symbol's `percent_move` history and last price at its first tick
//!    ([`matching::Engine::begin_batch`]).
//! 2. [`Store::record_batch`](crate::store::Store) writes them in one transaction: each
//!    symbol's last price once, as a compare-and-set from the previous price of its first
//!    tick to its last tick, then every tick's re-arms and fires with their outbox rows, in
//!    tick order, each re-checked against its row as the per-tick transaction does. It commits
//!    only if every tick records exactly as decided. Then per-tick processing would have
//!    recorded the same: its first tick of each symbol passes the same compare-and-set, each
//!    later one is over its predecessor by construction, and every fire passes the same checks
//!    on the same rows. The Kafka offsets are committed after the transaction.
//! 3. Any refusal (or a symbol's ticks not strictly later one after the other) rolls the whole
//!    transaction back: nothing is written. The engine takes back the batch's price histories
//!    and last prices ([`matching::Engine::undo_batch`]); every active alert on the batch's
//!    symbols, and every alert a decision touched, is reloaded from storage, which holds them
//!    as before the batch (so cooldowns and expiries the batch's later ticks reached are back
//!    as they were). Then each tick goes through the per-tick path, with its own refusals and
//!    retries: the result is per-tick processing's by construction.
//!
//! A crash between the transaction and the offset commit redelivers the batch: its first
//! tick of each symbol is no longer over the stored last price, so the batch is refused and
//! replayed per tick, where every tick is refused as already recorded: nothing is recorded or
//! fired twice. The pause point in [`crate::fault`] lets a test kill a process in that window.

use std::collections::BTreeSet;

use shared::bus::{Backoff, Stopped};
use shared::domain::Symbol;
use shared::events::{PriceTick, TriggerEvent};
use shared::storage::StorageError;

use super::{Decision, Processor};
use crate::store::DecidedTick;
use matching::IndexedAlert;

impl Processor {
    /// Decides and records `ticks` (in order), retrying storage errors with `recording`;
    /// returns the trigger events recorded. A single tick takes the per-tick path.
    pub async fn process_batch(
        &mut self,
        ticks: &[&PriceTick],
        recording: &mut Backoff,
    ) -> Result<Vec<TriggerEvent>, Stopped> {
        if let [tick] = ticks {
            self.metrics.batch_ticks.observe(1.0);
            return self.process_tick(tick, recording).await;
        }
        self.engine.begin_batch();
        let decisions: Vec<Decision> = ticks.iter().map(|tick| self.decide(tick)).collect();
        let decided: Vec<DecidedTick> = ticks
            .iter()
            .zip(&decisions)
            .map(|(tick, decision)| DecidedTick {
                tick,
                previous: decision.previous,
                candidates: &decision.candidates,
                rearmed: &decision.rearmed,
            })
            .collect();
        let recorded = loop {
            match self.db.record_batch(&decided).await {
                Ok(recorded) => break recorded,
                Err(error) => recording.retry_after(&error).await?,
            }
        };
        if let Some(events) = recorded {
            self.engine.keep_batch();
            for event in &events {
                self.metrics.alert_triggered(event.condition);
            }
            for tick in ticks {
                self.metrics.price_evaluated(&tick.symbol);
            }
            self.metrics.batch_ticks.observe(ticks.len() as f64);
            self.metrics
                .active_alerts
                .set(self.engine.active_alerts() as i64);
            return Ok(events);
        }
        tracing::debug!(
            ticks = ticks.len(),
            "batch refused by storage; replaying it tick by tick"
        );
        self.metrics.batches_replayed.inc();
        self.engine.undo_batch();
        loop {
            match self.reload_batch_alerts(ticks, &decisions).await {
                Ok(()) => break,
                Err(error) => recording.retry_after(&error).await?,
            }
        }
        let mut events = Vec::new();
        for tick in ticks {
            self.metrics.batch_ticks.observe(1.0);
            events.extend(self.process_tick(tick, recording).await?);
        }
        Ok(events)
    }

    /// Decides and records one tick in its own transaction, deciding it again while storage
    /// refuses the decision; returns the trigger events recorded (none for a redelivery).
    pub async fn process_tick(
        &mut self,
        tick: &PriceTick,
        recording: &mut Backoff,
    ) -> Result<Vec<TriggerEvent>, Stopped> {
        loop {
            let decision = self.decide(tick);
            let recorded = loop {
                match self.record(tick, &decision).await {
                    Ok(recorded) => break recorded,
                    Err(error) => recording.retry_after(&error).await?,
                }
            };
            // `None`: decided on a stale previous price or version; the engine now has storage's.
            if let Some(events) = recorded {
                return Ok(events);
            }
        }
    }

    /// Puts back, from storage, the alerts of a batch that was taken back: every active alert
    /// on its symbols, and every alert its decisions fired or re-armed (gone ones are removed).
    async fn reload_batch_alerts(
        &mut self,
        ticks: &[&PriceTick],
        decisions: &[Decision],
    ) -> Result<(), StorageError> {
        let symbols: BTreeSet<&Symbol> = ticks.iter().map(|tick| &tick.symbol).collect();
        let symbols: Vec<&Symbol> = symbols.into_iter().collect();
        for alert in self.db.active_alerts_on(&symbols).await? {
            if let Some(spec) = IndexedAlert::from_alert(&alert) {
                self.engine.replace(&spec);
            }
        }
        let touched: BTreeSet<_> = decisions
            .iter()
            .flat_map(|d| {
                let fired = d.candidates.iter().map(|c| c.alert_id);
                fired.chain(d.rearmed.iter().map(|r| r.alert_id))
            })
            .collect();
        for id in touched {
            self.resync(id).await?;
        }
        self.metrics
            .active_alerts
            .set(self.engine.active_alerts() as i64);
        Ok(())
    }
}
