//! The evaluator's queries: per-symbol last prices, fires recorded together with their trigger
//! events (the outbox) in one transaction, the alerts it indexes, and the outbox relay's reads.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use shared::storage::BeginWrite;

use matching::Rearmed;
use shared::domain::{Alert, AlertId, Price, RearmWait, Symbol, TriggerPolicy};
use shared::events::{PriceTick, TriggerEvent, SCHEMA_VERSION};
use shared::on_pool;
pub use shared::storage::OutboxMessage;
use shared::storage::{
    alerts, now, AlertRow, Database, OutboxTable, StorageError, StorageResult, ALERT_COLUMNS,
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

/// An alert as the fire transaction re-reads it, with its owner's contact and standing.
#[derive(sqlx::FromRow)]
struct FireRow {
    #[sqlx(flatten)]
    alert: AlertRow,
    email: String,
    phone: Option<String>,
    user_active: bool,
}

/// The stored alert a candidate fire is checked against, and its owner.
struct FireCheck {
    alert: Alert,
    email: String,
    phone: Option<String>,
    user_active: bool,
}

impl TryFrom<FireRow> for FireCheck {
    type Error = StorageError;

    fn try_from(row: FireRow) -> Result<Self, Self::Error> {
        Ok(FireCheck {
            alert: Alert::try_from(row.alert)?,
            email: row.email,
            phone: row.phone,
            user_active: row.user_active,
        })
    }
}

impl FireCheck {
    /// Whether the stored alert still fires at `at` on the version the decision was made on.
    fn allows(&self, candidate: &FireCandidate, symbol: &Symbol, at: DateTime<Utc>) -> bool {
        let (alert, spec) = (&self.alert, self.alert.spec());
        let cooled_down = alert.last_triggered_at().is_none_or(|last| {
            let cooldown =
                Duration::try_minutes(spec.cooldown_minutes().max(0)).unwrap_or(Duration::MAX);
            last.checked_add_signed(cooldown)
                .is_none_or(|end| at >= end)
        });
        let rearm_pending =
            spec.options().rearm_percent().is_some() && alert.rearm_wait().is_some();
        alert.active()
            && self.user_active
            && alert.version() == candidate.version
            && spec.symbol() == symbol
            && spec.options().expires_at().is_none_or(|expiry| at < expiry)
            && !alert.is_snoozed_at(at)
            && !rearm_pending
            && cooled_down
    }

    fn event(&self, tick: &PriceTick, previous: Option<Price>, at: DateTime<Utc>) -> TriggerEvent {
        let spec = self.alert.spec();
        TriggerEvent {
            schema_version: SCHEMA_VERSION,
            event_id: uuid::Uuid::now_v7(),
            alert_id: self.alert.id(),
            user_id: self.alert.user_id(),
            user_email: self.email.clone(),
            user_phone: self.phone.clone(),
            symbol: tick.symbol.clone(),
            condition: spec.condition(),
            target_price: spec.target_price(),
            target_price_high: spec.target_price_high(),
            current_price: tick.price,
            previous_price: previous,
            currency: tick.currency.clone(),
            notification_types: spec.notification_types().clone(),
            options: spec.options().clone(),
            timestamp: at,
        }
    }
}

/// Every column of the alert (decoded as an [`AlertRow`]) and the owner's contact.
const FIRE_ROW_SQL: &str = "select a.*, u.email, u.phone, u.is_active as user_active \
    from alerts a join users u on u.id = a.user_id where a.id = $1";

/// `$5`: whether the fire deactivates the alert (its trigger policy is `once`); `$6`: the
/// re-arm wait the fire starts (null without hysteresis).
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

/// Only over an earlier tick whose price is the decision's previous price (`$5`): the last
/// price is a compare-and-set, so a replayed tick or a decision on a stale previous price
/// (after a rebalance) writes nothing.
const LAST_PRICE_SQL: &str = "insert into evaluator_last_prices \
    (symbol, price, received_at, updated_at) values ($1, $2, $3, $4) \
    on conflict (symbol) do update set price = excluded.price, \
    received_at = excluded.received_at, updated_at = excluded.updated_at \
    where evaluator_last_prices.received_at < excluded.received_at \
    and evaluator_last_prices.price = $5";

const STORED_LAST_PRICE_SQL: &str =
    "select price, received_at from evaluator_last_prices where symbol = $1";

impl Store {
    pub fn new(db: Database) -> Store {
        Store { db }
    }

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
        let at = tick.received_at.trunc_subsecs(6);
        let written = now();
        on_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query(LAST_PRICE_SQL)
                .bind(tick.symbol.as_str())
                .bind(tick.price)
                .bind(at)
                .bind(written)
                .bind(previous)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved == 0 {
                let stored: Option<(Price, DateTime<Utc>)> =
                    sqlx::query_as(STORED_LAST_PRICE_SQL)
                        .bind(tick.symbol.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.rollback().await?;
                return match stored {
                    Some((stored, received_at)) if received_at >= at => {
                        Ok(TickRecord::AlreadyRecorded { stored })
                    }
                    Some((stored, _)) => Ok(TickRecord::PreviousChanged { stored }),
                    None => Err(StorageError::Corrupt(format!(
                        "no last price of {} after refusing to write one",
                        tick.symbol
                    ))),
                };
            }
            for rearmed in rearmed {
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
                    return Ok(TickRecord::AlertChanged);
                }
            }
            let mut outcomes = Vec::with_capacity(candidates.len());
            for candidate in candidates {
                let row = sqlx::query_as::<_, FireRow>(FIRE_ROW_SQL)
                    .bind(candidate.alert_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let check = row.map(FireCheck::try_from).transpose()?;
                if check.as_ref().is_some_and(|c| c.alert.version() != candidate.version) {
                    tx.rollback().await?;
                    return Ok(TickRecord::AlertChanged);
                }
                let Some(row) = check.filter(|c| c.allows(candidate, &tick.symbol, at)) else {
                    outcomes.push(FireOutcome::Rejected);
                    continue;
                };
                let updated = sqlx::query(FIRE_UPDATE_SQL)
                    .bind(candidate.alert_id)
                    .bind(at)
                    .bind(written)
                    .bind(candidate.version)
                    .bind(row.alert.spec().options().trigger() == TriggerPolicy::Once)
                    .bind(candidate.rearm_wait.map(RearmWait::as_str))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if updated != 1 {
                    outcomes.push(FireOutcome::Rejected);
                    continue;
                }
                let event = row.event(tick, previous, at);
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
            tx.commit().await?;
            Ok::<_, StorageError>(TickRecord::Recorded(outcomes))
        }.await)
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
        self.db.settle_outbox(OutboxTable::TriggerEvents, id).await
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
