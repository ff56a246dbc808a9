//! The evaluator's queries: per-symbol last prices, the alerts it indexes, and the outbox
//! relay's reads. The transaction that records ticks (last prices, fires and their trigger
//! events in the outbox) is in [`crate::record`]; its outcomes are declared here.

use chrono::{DateTime, Utc};

use matching::Rearmed;
use shared::domain::{Alert, AlertId, Price, RearmWait, Symbol};
use shared::events::{PriceTick, TriggerEvent};
use shared::on_pool;
pub use shared::storage::OutboxMessage;
use shared::storage::{
    alerts, AlertRow, Database, OutboxTable, StorageError, StorageResult, ALERT_COLUMNS,
};

/// The evaluator's view of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
}

/// A fire the evaluator decided on: the alert and the version it was decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FireCandidate {
    pub alert_id: AlertId,
    pub version: i64,
    /// With re-arm hysteresis: the wait the fire starts (stored with it).
    pub rearm_wait: Option<RearmWait>,
}

/// A tick as the engine decided it, to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct DecidedTick<'a> {
    pub tick: &'a PriceTick,
    /// The symbol's last price before this tick, as the engine had it.
    pub previous: Option<Price>,
    pub candidates: &'a [FireCandidate],
    pub rearmed: &'a [Rearmed],
}

/// What the fire transaction did with one candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum FireOutcome {
    /// Recorded: count, last trigger, version + 1 (and inactive for `once`), event in the outbox.
    Fired(Box<TriggerEvent>),
    /// The row no longer allows it (deleted, paused, changed, expired, cooling down, owner
    /// inactive). Nothing was written for it.
    Rejected,
}

/// What recording a tick did.
#[derive(Debug, Clone, PartialEq)]
pub enum TickRecord {
    /// The tick's last price and the outcome of each candidate, in candidate order.
    Recorded(Vec<FireOutcome>),
    /// Storage already holds this tick or a later one of its symbol (a replay after a crash or
    /// a rebalance): nothing was written; `stored` is the symbol's last price there.
    AlreadyRecorded { stored: Price },
    /// The decision was made on another previous price than storage holds (another evaluator
    /// evaluated the symbol's ticks meanwhile): nothing was written; decide again on `stored`.
    PreviousChanged { stored: Price },
    /// A candidate was decided on another version of its alert than storage holds (another
    /// evaluator fired it, or it was changed, meanwhile): nothing was written; re-read the
    /// candidates and decide again.
    AlertChanged,
}

impl Store {
    pub fn new(db: Database) -> Store {
        Store { db }
    }

    /// Every active alert of an active user: what the evaluator indexes at start.
    #[tracing::instrument(skip_all)]
    pub async fn active_alerts(&self) -> StorageResult<Vec<Alert>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where active \
             and user_id in (select id from users where is_active) order by id"
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .fetch_all(pool)
            .await)?;
        alerts(rows)
    }

    /// The active alerts of an active user on any of `symbols`: what the evaluator reloads
    /// after taking back a batch storage refused.
    pub async fn active_alerts_on(&self, symbols: &[&Symbol]) -> StorageResult<Vec<Alert>> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=symbols.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where active and symbol in ({}) \
             and user_id in (select id from users where is_active) order by id",
            placeholders.join(", ")
        );
        let rows = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_as::<_, AlertRow>(&sql);
            for symbol in symbols {
                query = query.bind(symbol.as_str());
            }
            query.fetch_all(pool).await
        })?;
        alerts(rows)
    }

    /// The evaluator's last price of every symbol it has seen.
    pub async fn evaluator_last_prices(&self) -> StorageResult<Vec<(Symbol, Price)>> {
        const SQL: &str = "select symbol, price from evaluator_last_prices order by symbol";
        let rows: Vec<(String, Price)> =
            on_pool!(&self.db, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(symbol, price)| {
                let symbol = symbol
                    .parse()
                    .map_err(|_| StorageError::Corrupt(format!("last price symbol {symbol}")))?;
                Ok((symbol, price))
            })
            .collect()
    }

    /// One alert if it is active and its owner too (what the evaluator may index).
    pub async fn active_alert(&self, id: AlertId) -> StorageResult<Option<Alert>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where id = $1 and active \
             and user_id in (select id from users where is_active)"
        );
        let row = on_pool!(&self.db, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(Alert::try_from).transpose()?)
    }

    /// Every alert of an active user written at or after `since`, active or not: the
    /// evaluator compares their versions with its index to repair changes whose bus message
    /// never arrived. (An owner's deactivation is not an alert write; the fire transaction
    /// rejects their alerts instead.)
    pub async fn alerts_written_since(&self, since: DateTime<Utc>) -> StorageResult<Vec<Alert>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where updated_at >= $1 \
             and user_id in (select id from users where is_active) order by id"
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(since)
            .fetch_all(pool)
            .await)?;
        alerts(rows)
    }

    /// The database itself, for the outbox relay every outbox shares.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The oldest unpublished outbox rows, in the order they were written.
    pub async fn unpublished_outbox(&self, limit: i64) -> StorageResult<Vec<OutboxMessage>> {
        self.db
            .unpublished_outbox(OutboxTable::TriggerEvents, limit)
            .await
    }

    /// Marks an outbox row as published.
    pub async fn mark_outbox_published(&self, id: i64) -> StorageResult<()> {
        self.db
            .settle_outbox(OutboxTable::TriggerEvents, &[id])
            .await
    }

    /// Outbox rows not yet published.
    pub async fn outbox_backlog(&self) -> StorageResult<i64> {
        self.db.outbox_backlog(OutboxTable::TriggerEvents).await
    }

    /// Deletes published outbox rows older than `before`, so the table stays small.
    pub async fn prune_published_outbox(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        self.db
            .prune_published_outbox(OutboxTable::TriggerEvents, before)
            .await
    }
}
