//! Creating an alert, and taking a slot of the active-alert quota (for a create or an
//! activation).
//!
//! The quota is checked against `users.active_alerts_bound`, an upper bound on the user's active
//! alerts (see its migration). Taking a slot is one conditional update of the user's row, which
//! also holds that row's lock until commit, so two concurrent creates of one user cannot both
//! take the last slot (a `count(*)` in the insert could: neither saw the other's row). Only
//! when the bound has reached the quota is it recounted, under the same lock: deactivations and
//! deletions leave it high, never too low.
//!
//! Locks are taken user row first, then alert rows, and the evaluator takes alert rows only, so
//! these writes cannot deadlock with each other or with fires.
//!
//! On PostgreSQL a create within the bound is one statement: the slot, the insert and its change
//! in the outbox, one round trip where a transaction took four.

use shared::domain::{Alert, NewAlert, UserId};
use shared::events::AlertChange;
use shared::on_write_pool;
use shared::storage::{now, AlertRow, StorageError, StorageResult, ALERT_COLUMNS};
use shared::storage::{BeginWrite, OutboxTable};
use sqlx::types::Json;

use super::Store;

/// Why a create did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateRefused {
    QuotaExceeded,
    /// The account was deleted meanwhile.
    NoSuchUser,
}

/// The outcome of [`take_quota_slot!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Taken,
    Full,
    NoSuchUser,
}

/// Binds `$1`…`$9` of an insert of [`INSERT_ALERT`]'s columns: the owner, the alert's spec,
/// its creation time.
macro_rules! bind_new_alert {
    ($query:expr, $user_id:expr, $alert:expr, $created:expr) => {{
        let spec = $alert.spec();
        $query
            .bind($user_id)
            .bind(spec.symbol().as_str())
            .bind(spec.condition().as_str())
            .bind(spec.target_price())
            .bind(spec.target_price_high())
            .bind(spec.notification_types().to_string())
            .bind(spec.cooldown_minutes())
            .bind(Json(spec.options()))
            .bind($created)
    }};
}

/// No alert: what a create passes as the alert not to count.
const NO_ALERT: i64 = 0;

/// Takes one slot of `$user_id`'s quota of `$max_active` active alerts in transaction `$tx`,
/// recounting the bound when it is reached; `$except` is the alert being activated, which the
/// recount leaves out. Evaluates to `StorageResult<Slot>`.
macro_rules! take_quota_slot {
    ($tx:expr, $user_id:expr, $max_active:expr, $except:expr) => {{
        let (user_id, max_active, except): (i64, i64, i64) = ($user_id, $max_active, $except);
        async {
            let taken = sqlx::query(
                "update users set active_alerts_bound = active_alerts_bound + 1 \
                 where id = $1 and active_alerts_bound < $2",
            )
            .bind(user_id)
            .bind(max_active)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if taken == 1 {
                return Ok($crate::store::alert_create::Slot::Taken);
            }
            // Lock the row before counting, so no create of this user commits in between.
            let exists = sqlx::query(
                "update users set active_alerts_bound = active_alerts_bound where id = $1",
            )
            .bind(user_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if exists == 0 {
                return Ok($crate::store::alert_create::Slot::NoSuchUser);
            }
            let active: i64 = sqlx::query_scalar(
                "select count(*) from alerts where user_id = $1 and active and id <> $2",
            )
            .bind(user_id)
            .bind(except)
            .fetch_one(&mut *$tx)
            .await?;
            if active >= max_active {
                return Ok($crate::store::alert_create::Slot::Full);
            }
            sqlx::query("update users set active_alerts_bound = $2 where id = $1")
                .bind(user_id)
                .bind(active + 1)
                .execute(&mut *$tx)
                .await?;
            Ok::<_, shared::storage::StorageError>($crate::store::alert_create::Slot::Taken)
        }
        .await
    }};
}
pub(super) use take_quota_slot;

impl Store {
    /// Inserts an active alert in a slot of the user's quota of `max_active`, with its change
    /// queued in the outbox in the same transaction.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn create_alert(
        &self,
        user_id: UserId,
        alert: &NewAlert,
        max_active: i64,
    ) -> StorageResult<Result<Alert, CreateRefused>> {
        let created = now();
        // PostgreSQL (the only engine that leases): one statement, unless the bound is reached.
        if let Some(lease) = self.db.lease().await? {
            if let Some(alert) =
                create_within_bound(lease, user_id, alert, max_active, created).await?
            {
                return Ok(Ok(alert));
            }
        }
        let sql = format!("{INSERT_ALERT} values ($1, $2, $3, $4, $5, $6, $7, true, $8, 0, 1, $9, $9) returning {ALERT_COLUMNS}");
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            match take_quota_slot!(tx, user_id, max_active, NO_ALERT)? {
                Slot::Taken => {}
                Slot::Full => return Ok(Err(CreateRefused::QuotaExceeded)),
                Slot::NoSuchUser => return Ok(Err(CreateRefused::NoSuchUser)),
            }
            let row = bind_new_alert!(sqlx::query_as::<_, AlertRow>(&sql), user_id, alert, created)
                .fetch_one(&mut *tx)
                .await?;
            let alert = Alert::try_from(row)?;
            enqueue_change!(tx, &AlertChange::upserted(alert.clone()))?;
            tx.commit().await?;
            Ok::<_, StorageError>(Ok(alert))
        }.await)
    }
}

const INSERT_ALERT: &str = "insert into alerts (user_id, symbol, condition, target_price, \
    target_price_high, notification_types, cooldown_minutes, active, options, triggered_count, \
    version, created_at, updated_at)";

/// PostgreSQL, one statement: takes a slot if the bound allows, inserts the alert and queues its
/// change, whose payload is the alert as it will be stored with the id the insert assigns
/// patched in. `None` when the bound is reached (or the user is gone): the caller then takes
/// the slow path, which recounts.
async fn create_within_bound(
    mut lease: shared::storage::Lease<'_>,
    user_id: UserId,
    alert: &NewAlert,
    max_active: i64,
    created: chrono::DateTime<chrono::Utc>,
) -> StorageResult<Option<Alert>> {
    let sql = format!(
        "with slot as ( \
            update users set active_alerts_bound = active_alerts_bound + 1 \
            where id = $1 and active_alerts_bound < $10 returning id), \
         created as ( \
            {INSERT_ALERT} select slot.id, $2, $3, $4, $5, $6, $7, true, $8, 0, 1, $9, $9 \
            from slot returning {ALERT_COLUMNS}), \
         announced as ( \
            insert into {outbox} (message_key, payload, created_at) \
            select created.symbol, jsonb_set($11::jsonb, '{{alert,id}}', to_jsonb(created.id))::text, $9 \
            from created) \
         select {ALERT_COLUMNS} from created",
        outbox = OutboxTable::AlertChanges.name(),
    );
    let announcement = super::encode_change(&AlertChange::upserted(
        alert.stored(NO_ALERT, user_id, created),
    ))?;
    let row = bind_new_alert!(sqlx::query_as::<_, AlertRow>(&sql), user_id, alert, created)
        .bind(max_active)
        .bind(announcement)
        .fetch_optional(&mut *lease)
        .await?;
    lease.release();
    Ok(row.map(Alert::try_from).transpose()?)
}
