//! The caller's alerts: list, read, patch, delete (create is in `alert_create`); each write
//! with its alert change in the outbox, in one transaction (one statement on PostgreSQL, in
//! `one_statement`).

use shared::domain::{Alert, AlertId, AlertPatch, Symbol, UserId};
use shared::events::AlertChange;
use shared::storage::BeginWrite;
use shared::storage::{AlertRow, StorageError, StorageResult, ALERT_COLUMNS};
use shared::{on_lease, on_write_pool};

use super::alert_create::{take_quota_slot, Slot};
use super::alert_page::{read_page, AlertFilter};
use super::{one_statement, Store};

/// Why a conditional write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertWriteOutcome {
    Done,
    NotFound,
    QuotaExceeded,
}

/// The update of a patch: `$1` the alert, `$2` its owner, `$3`…`$9` as [`bind_patch!`] binds
/// them. Ends with its filter, so that a caller can narrow it further.
pub(super) const UPDATE_ALERT: &str = "update alerts set target_price = $3, \
    target_price_high = $4, notification_types = $5, cooldown_minutes = $6, active = $7, \
    options = $8, version = version + 1, updated_at = $9 where id = $1 and user_id = $2";

/// Binds `$1`…`$9` of [`UPDATE_ALERT`]: the alert, its owner, what the patch writes, the time.
macro_rules! bind_patch {
    ($query:expr, $id:expr, $user_id:expr, $patch:expr) => {{
        let patch: &shared::domain::AlertPatch = $patch;
        let spec = patch.spec();
        $query
            .bind($id)
            .bind($user_id)
            .bind(spec.target_price())
            .bind(spec.target_price_high())
            .bind(spec.notification_types().to_string())
            .bind(spec.cooldown_minutes())
            .bind(patch.active())
            .bind(sqlx::types::Json(spec.options()))
            .bind(shared::storage::now())
    }};
}
pub(super) use bind_patch;

impl Store {
    /// The user's alerts, newest first. Only the filters asked for are in the statement, so
    /// the common page (no filter) is a plain index range scan whatever plan the server caches
    /// for the prepared statement. On PostgreSQL that page is read with the others asked for
    /// meanwhile (`list_batch`).
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn list_alerts(
        &self,
        user_id: UserId,
        filter: &AlertFilter,
    ) -> StorageResult<Vec<Alert>> {
        if let Some(batches) = &self.list_batches {
            if filter.symbol.is_none() && filter.active.is_none() {
                return batches.page(user_id, filter.skip, filter.limit).await;
            }
        }
        read_page(&self.db, user_id, filter).await
    }

    /// One alert of this user; another user's alert is `None`, exactly like a missing one.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn user_alert(&self, user_id: UserId, id: AlertId) -> StorageResult<Option<Alert>> {
        let sql = format!("select {ALERT_COLUMNS} from alerts where id = $1 and user_id = $2");
        let row = on_lease!(&self.db, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(Alert::try_from).transpose()?)
    }

    /// Writes a patch of `current`, one of `user_id`'s alerts, bumping the version, with its
    /// change in the outbox. Activating an alert respects `max_active`.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = current.id()))]
    pub async fn update_alert(
        &self,
        user_id: UserId,
        current: &Alert,
        patch: &AlertPatch,
        max_active: i64,
    ) -> StorageResult<(AlertWriteOutcome, Option<Alert>)> {
        let id = current.id();
        // PostgreSQL (the only engine that leases): one statement, unless the bound is reached.
        if let Some(lease) = self.db.lease().await? {
            match one_statement::patch(lease, user_id, current, patch, max_active).await? {
                Some(alert) => return Ok((AlertWriteOutcome::Done, Some(alert))),
                // No slot to recount: the alert is gone.
                None if !patch.active() => return Ok((AlertWriteOutcome::NotFound, None)),
                None => {}
            }
        }
        let sql = format!("{UPDATE_ALERT} returning {ALERT_COLUMNS}");
        let written = on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            // An activation takes a quota slot first (the user's row, then the alert's: the
            // lock order of every alert write). Patching an alert that is already active takes
            // one too: the bound only overstates, and is recounted at the quota.
            if patch.active() {
                match take_quota_slot!(tx, user_id, max_active, id)? {
                    Slot::Taken => {}
                    Slot::Full => return Ok(Err(AlertWriteOutcome::QuotaExceeded)),
                    Slot::NoSuchUser => return Ok(Err(AlertWriteOutcome::NotFound)),
                }
            }
            let row = bind_patch!(sqlx::query_as::<_, AlertRow>(&sql), id, user_id, patch)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(Err(AlertWriteOutcome::NotFound));
            };
            let alert = Alert::try_from(row)?;
            enqueue_change!(tx, &AlertChange::upserted(alert.clone()))?;
            tx.commit().await?;
            Ok::<_, StorageError>(Ok(alert))
        }.await)?;
        Ok(match written {
            Ok(alert) => (AlertWriteOutcome::Done, Some(alert)),
            Err(refused) => (refused, None),
        })
    }

    /// Deletes one of the user's alerts, with its change in the outbox; returns its symbol
    /// when it existed.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn delete_alert(
        &self,
        user_id: UserId,
        id: AlertId,
    ) -> StorageResult<Option<Symbol>> {
        if let Some(lease) = self.db.lease().await? {
            return one_statement::delete(lease, user_id, id).await;
        }
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            let symbol: Option<String> =
                sqlx::query_scalar("delete from alerts where id = $1 and user_id = $2 returning symbol")
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(symbol) = symbol else {
                return Ok(None);
            };
            let symbol: Symbol = parse_symbol(id, &symbol)?;
            enqueue_change!(tx, &AlertChange::deleted(id, symbol.clone(), user_id))?;
            tx.commit().await?;
            Ok::<_, StorageError>(Some(symbol))
        }.await)
    }

    /// Deletes a user and (by cascade) everything they own, with a deletion change in the
    /// outbox for each of their alerts. Returns whether one existed.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn delete_user(&self, id: UserId) -> StorageResult<bool> {
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            let alerts: Vec<(i64, String)> =
                sqlx::query_as("select id, symbol from alerts where user_id = $1 order by id")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            let deleted = sqlx::query("delete from users where id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for (alert_id, symbol) in alerts {
                let symbol = parse_symbol(alert_id, &symbol)?;
                enqueue_change!(tx, &AlertChange::deleted(alert_id, symbol, id))?;
            }
            tx.commit().await?;
            Ok::<_, StorageError>(deleted > 0)
        }.await)
    }
}

pub(super) fn parse_symbol(id: AlertId, symbol: &str) -> StorageResult<Symbol> {
    symbol
        .parse()
        .map_err(|_| StorageError::corrupt_alert(id, "symbol"))
}
