//! The transaction that records decided ticks: each symbol's last price, and for each fire
//! (re-checked against its row) the alert update and its trigger event in the outbox.
//!
//! [`Store::record_tick`] records one tick; [`Store::record_batch`] records a batch of ticks
//! in one transaction with each symbol's last price written once, and only if every tick
//! would have been recorded as it was decided: any refusal writes nothing, and the caller
//! decides the batch again tick by tick (see [`crate::batch`]).

use chrono::{DateTime, Utc};
use matching::Rearmed;
use shared::domain::{Price, RearmWait, TriggerPolicy};
use shared::events::{PriceTick, TriggerEvent};
use shared::on_write_pool;
use shared::storage::{now, BeginWrite, EnginePool, StorageError, StorageResult};

use crate::fire_check::{FireCheck, FireRow, FIRE_ROW_SQL};
use crate::fire_rounds::{FiresInRounds, Refused};
use crate::last_prices::{
    batch_json, sqlite_batch_last_prices_sql, storage_time, symbol_runs, Dialect,
    POSTGRES_BATCH_LAST_PRICES_SQL,
};
use crate::store::{DecidedTick, FireCandidate, FireOutcome, Store, TickRecord};

/// What writing some decided ticks did (nothing was written unless `Recorded`).
enum Written {
    /// The outcomes of each tick's candidates, tick by tick.
    Recorded(Vec<Vec<FireOutcome>>),
    /// A symbol's stored last price was not the one its first tick was decided on, or was
    /// not older than that tick: `stored` is what storage holds.
    LastPriceRefused {
        stored: Option<(Price, DateTime<Utc>)>,
        first_at: DateTime<Utc>,
    },
    /// A candidate or a re-arm was decided on another version of its alert than storage holds.
    AlertChanged,
    /// (Batches only) storage rejected a candidate.
    Rejected,
}

/// `$5`: whether the fire deactivates the alert (its trigger policy is `once`); `$6`: the
/// re-arm wait the fire starts (null without hysteresis). A column this (or [`REARMED_SQL`])
/// writes that is not the owner's to set must also be in what the gateway's one-statement
/// `PATCH` copies from the row into its change announcement (`gateway/src/store/one_statement.rs`):
/// a fire may commit between the gateway's read and its write.
const FIRE_UPDATE_SQL: &str = "update alerts set triggered_count = triggered_count + 1, \
    last_triggered_at = $2, active = active and not $5, rearm_wait = $6, \
    version = version + 1, updated_at = $3 where id = $1 and version = $4";

/// The tick moved the price back beyond the re-arm level: the wait is over. Written like a
/// fire, as a compare-and-set on the version the engine decided on, bumping it: an edit
/// committed in between refuses the tick (it is decided again on the edited alert), and the
/// edit's change event, which still carries the wait, is older than the engine's state.
const REARMED_SQL: &str = "update alerts set rearm_wait = null, version = version + 1, \
    updated_at = $3 where id = $1 and version = $2";

const ALERT_EXISTS_SQL: &str = "select 1 from alerts where id = $1";

const OUTBOX_INSERT_SQL: &str = "insert into evaluator_outbox \
    (event_id, message_key, payload, created_at) values ($1, $2, $3, $4)";

/// The symbol's last price moves to its last tick of the batch (`$2`, `$3`), only over a tick
/// older than its first one (`$6`) whose price is the first decision's previous price (`$5`):
/// the last price is a compare-and-set, so a replayed tick or a decision on a stale previous
/// price (after a rebalance) writes nothing. For a single tick `$6` is `$3`.
const LAST_PRICE_SQL: &str = "insert into evaluator_last_prices \
    (symbol, price, received_at, updated_at) values ($1, $2, $3, $4) \
    on conflict (symbol) do update set price = excluded.price, \
    received_at = excluded.received_at, updated_at = excluded.updated_at \
    where evaluator_last_prices.received_at < $6 \
    and evaluator_last_prices.price = $5";

/// Symbols per multi-row last-price statement: 5 parameters each, well under SQLite's and
/// PostgreSQL's limits.
const LAST_PRICES_PER_STATEMENT: usize = 1_000;

const STORED_LAST_PRICE_SQL: &str =
    "select price, received_at from evaluator_last_prices where symbol = $1";

impl Store {
    /// Records a tick in one transaction: the symbol's last price, and for each candidate
    /// (re-checked against its row) the alert update and its trigger event in the outbox.
    ///
    /// Cooldown and expiry are decided on the tick's `received_at` (at storage precision), and
    /// the last price is only moved forward from the decision's `previous` price, so replaying
    /// a tick after a crash or a rebalance never fires twice and a decision made on a stale
    /// previous price is refused (see [`TickRecord`]).
    #[tracing::instrument(skip_all, fields(symbol = %tick.symbol, fires = candidates.len()))]
    pub async fn record_tick(
        &self,
        tick: &PriceTick,
        previous: Option<Price>,
        candidates: &[FireCandidate],
        rearmed: &[Rearmed],
    ) -> StorageResult<TickRecord> {
        let decided = DecidedTick {
            tick,
            previous,
            candidates,
            rearmed,
        };
        Ok(match self.write(&[decided], false).await? {
            Written::Recorded(mut outcomes) => {
                TickRecord::Recorded(outcomes.pop().unwrap_or_default())
            }
            Written::LastPriceRefused {
                stored: Some((stored, received_at)),
                first_at,
            } if received_at >= first_at => TickRecord::AlreadyRecorded { stored },
            Written::LastPriceRefused {
                stored: Some((stored, _)),
                ..
            } => TickRecord::PreviousChanged { stored },
            Written::LastPriceRefused { stored: None, .. } => {
                return Err(StorageError::Corrupt(format!(
                    "no last price of {} after refusing to write one",
                    tick.symbol
                )))
            }
            Written::AlertChanged | Written::Rejected => TickRecord::AlertChanged,
        })
    }

    /// Records a batch of decided ticks in one transaction, each symbol's last price written
    /// once (to its last tick), if every tick records exactly as it was decided: returns the
    /// trigger events written, in tick order. `None` when storage refuses any of it (a replay,
    /// a stale previous price or alert version, a fire its row no longer allows, or ticks of a
    /// symbol not strictly later one after the other): nothing was written, and each tick is
    /// to be decided and recorded again on its own ([`Store::record_tick`]).
    #[tracing::instrument(skip_all, fields(ticks = ticks.len()))]
    pub async fn record_batch(
        &self,
        ticks: &[DecidedTick<'_>],
    ) -> StorageResult<Option<Vec<TriggerEvent>>> {
        let Written::Recorded(outcomes) = self.write(ticks, true).await? else {
            return Ok(None);
        };
        let mut events = Vec::new();
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                FireOutcome::Fired(event) => events.push(*event),
                FireOutcome::Rejected => {
                    return Err(StorageError::Corrupt(
                        "a batch recorded with a rejected fire".to_owned(),
                    ))
                }
            }
        }
        Ok(Some(events))
    }

    /// Writes `ticks` in one transaction, or nothing (see [`Written`]); with `strict`, a
    /// candidate its row rejects refuses the whole write.
    async fn write(&self, ticks: &[DecidedTick<'_>], strict: bool) -> StorageResult<Written> {
        let Some(runs) = symbol_runs(ticks) else {
            return Ok(Written::AlertChanged);
        };
        let written = now();
        let dialect = match self.database().engine_pool() {
            EnginePool::Postgres(_) => Dialect::Postgres,
            EnginePool::Sqlite(_) => Dialect::Sqlite,
        };
        on_write_pool!(self.database(), pool => async {
            let mut tx = pool.begin_write().await?;
            if strict {
                // A batch: every symbol's last price in one statement per chunk; any symbol
                // refused refuses the batch (which one does not matter: it is replayed).
                for chunk in runs.chunks(LAST_PRICES_PER_STATEMENT) {
                    let moved = match dialect {
                        Dialect::Postgres => sqlx::query(POSTGRES_BATCH_LAST_PRICES_SQL)
                            .bind(batch_json(chunk))
                            .bind(written)
                            .fetch_all(&mut *tx)
                            .await?
                            .len(),
                        Dialect::Sqlite => {
                            let sql = sqlite_batch_last_prices_sql(chunk.len());
                            let mut query = sqlx::query(&sql);
                            for run in chunk {
                                query = query
                                    .bind(run.last.tick.symbol.as_str())
                                    .bind(run.last.tick.price)
                                    .bind(storage_time(run.last.tick))
                                    .bind(storage_time(run.first.tick))
                                    .bind(run.first.previous);
                            }
                            query.bind(written).fetch_all(&mut *tx).await?.len()
                        }
                    };
                    if moved != chunk.len() {
                        tx.rollback().await?;
                        return Ok(Written::AlertChanged);
                    }
                }
            }
            for run in runs.iter().filter(|_| !strict) {
                let first_at = storage_time(run.first.tick);
                let moved = sqlx::query(LAST_PRICE_SQL)
                    .bind(run.last.tick.symbol.as_str())
                    .bind(run.last.tick.price)
                    .bind(storage_time(run.last.tick))
                    .bind(written)
                    .bind(run.first.previous)
                    .bind(first_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved == 0 {
                    let stored: Option<(Price, DateTime<Utc>)> =
                        sqlx::query_as(STORED_LAST_PRICE_SQL)
                            .bind(run.first.tick.symbol.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                    tx.rollback().await?;
                    return Ok(Written::LastPriceRefused { stored, first_at });
                }
            }
            if strict && ticks.iter().all(|decided| decided.rearmed.is_empty()) {
                if let Some(rounds) = (*tx).fires_in_rounds(ticks, written).await? {
                    let recorded = match rounds {
                        Ok(recorded) => recorded,
                        Err(refused) => {
                            tx.rollback().await?;
                            return Ok(match refused {
                                Refused::AlertChanged => Written::AlertChanged,
                                Refused::Rejected => Written::Rejected,
                            });
                        }
                    };
                    tx.commit().await?;
                    return Ok(Written::Recorded(recorded));
                }
            }
            let mut recorded = Vec::with_capacity(ticks.len());
            for decided in ticks {
                let tick = decided.tick;
                let at = storage_time(tick);
                for rearmed in decided.rearmed {
                    let cleared = sqlx::query(REARMED_SQL)
                        .bind(rearmed.alert_id)
                        .bind(rearmed.version)
                        .bind(written)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    // A deleted alert has no wait left to clear; an edited one is decided again.
                    let exists = cleared == 0
                        && sqlx::query(ALERT_EXISTS_SQL)
                            .bind(rearmed.alert_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                    if exists {
                        tx.rollback().await?;
                        return Ok(Written::AlertChanged);
                    }
                }
                let mut outcomes = Vec::with_capacity(decided.candidates.len());
                for candidate in decided.candidates {
                    let row = sqlx::query_as::<_, FireRow>(FIRE_ROW_SQL)
                        .bind(candidate.alert_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let check = row.map(FireCheck::try_from).transpose()?;
                    if check.as_ref().is_some_and(|c| c.alert.version() != candidate.version) {
                        tx.rollback().await?;
                        return Ok(Written::AlertChanged);
                    }
                    let updated = match check.filter(|c| c.allows(candidate, &tick.symbol, at)) {
                        Some(row) => sqlx::query(FIRE_UPDATE_SQL)
                            .bind(candidate.alert_id)
                            .bind(at)
                            .bind(written)
                            .bind(candidate.version)
                            .bind(row.alert.spec().options().trigger() == TriggerPolicy::Once)
                            .bind(candidate.rearm_wait.map(RearmWait::as_str))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                            .eq(&1)
                            .then_some(row),
                        None => None,
                    };
                    let Some(row) = updated else {
                        if strict {
                            tx.rollback().await?;
                            return Ok(Written::Rejected);
                        }
                        outcomes.push(FireOutcome::Rejected);
                        continue;
                    };
                    let event = row.event(tick, decided.previous, at);
                    let payload = serde_json::to_string(&event)
                        .map_err(|e| StorageError::Corrupt(format!("unencodable event: {e}")))?;
                    sqlx::query(OUTBOX_INSERT_SQL)
                        .bind(event.event_id.to_string())
                        .bind(event.user_id.to_string())
                        .bind(payload)
                        .bind(written)
                        .execute(&mut *tx)
                        .await?;
                    outcomes.push(FireOutcome::Fired(Box::new(event)));
                }
                recorded.push(outcomes);
            }
            tx.commit().await?;
            Ok::<_, StorageError>(Written::Recorded(recorded))
        }.await)
    }
}
