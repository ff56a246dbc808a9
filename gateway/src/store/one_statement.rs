//! PostgreSQL's one-statement forms of a patch and a deletion: the write and its change
//! announcement in the outbox in one round trip, where a transaction takes four or five
//! (`POST` has its own, in `alert_create`). SQLite keeps the transactions: it has no round
//! trips to save.
//!
//! The announcement is built before the statement, from what the gateway knows, with what
//! only the row knows patched in by the statement itself: a deletion's symbol, and a patched
//! alert's firing state and version, which a fire committed since the gateway read the alert
//! may have changed. The tests in `gateway/tests/quota.rs` compare each announcement with the
//! row, on both engines.

use shared::domain::{Alert, AlertId, AlertPatch, Symbol, UserId};
use shared::events::AlertChange;
use shared::storage::ALERT_COLUMNS;
use shared::storage::{now, AlertRow, Lease, OutboxTable, StorageError, StorageResult};

use super::alerts::{bind_patch, UPDATE_ALERT};
use super::encode_change;

/// Patches `current` if it is `user_id`'s (as [`super::Store::update_alert`] does), taking a
/// quota slot first when the patch leaves it on. `None` when the alert is gone (or not
/// theirs), or when the slot could not be taken within the bound: the caller's transaction,
/// which recounts, then says which.
pub(super) async fn patch(
    mut lease: Lease<'_>,
    user_id: UserId,
    current: &Alert,
    patch: &AlertPatch,
    max_active: i64,
) -> StorageResult<Option<Alert>> {
    // The user's row before the alert's: the lock order of every alert write. The update
    // waits for the slot's sub-statement, as its filter reads it.
    let (slot, in_slot) = if patch.active() {
        (
            "slot as ( \
                update users set active_alerts_bound = active_alerts_bound + 1 \
                where id = $2 and active_alerts_bound < $11 returning id), ",
            "and exists (select 1 from slot)",
        )
    } else {
        ("", "")
    };
    let sql = format!(
        "with {slot} \
         updated as ({UPDATE_ALERT} {in_slot} returning {ALERT_COLUMNS}), \
         announced as ( \
            insert into {outbox} (message_key, payload, created_at) \
            select updated.symbol, \
                jsonb_set(jsonb_set(jsonb_set(jsonb_set($10::jsonb, \
                    '{{alert,triggered_count}}', to_jsonb(updated.triggered_count)), \
                    '{{alert,last_triggered_at}}', \
                        coalesce(to_jsonb(updated.last_triggered_at), 'null')), \
                    '{{alert,rearm_wait}}', coalesce(to_jsonb(updated.rearm_wait), 'null')), \
                    '{{alert,version}}', to_jsonb(updated.version))::text, \
                $9 \
            from updated) \
         select {ALERT_COLUMNS} from updated",
        outbox = OutboxTable::AlertChanges.name(),
    );
    // The fields patched in above are what the evaluator's fire and re-arm statements write
    // (`evaluator/src/record.rs`), bar `active` and `updated_at`: this update sets the one, and
    // an alert's JSON does not carry the other.
    let announcement = encode_change(&AlertChange::upserted(patch.applied_to(current)))?;
    let query = bind_patch!(
        sqlx::query_as::<_, AlertRow>(&sql),
        current.id(),
        user_id,
        patch
    )
    .bind(announcement);
    let query = if patch.active() {
        query.bind(max_active)
    } else {
        query
    };
    let row = query.fetch_optional(&mut *lease).await?;
    lease.release();
    Ok(row.map(Alert::try_from).transpose()?)
}

/// Deletes one of the user's alerts (as [`super::Store::delete_alert`] does); its symbol when
/// it existed.
pub(super) async fn delete(
    mut lease: Lease<'_>,
    user_id: UserId,
    id: AlertId,
) -> StorageResult<Option<Symbol>> {
    let sql = format!(
        "with deleted as ( \
            delete from alerts where id = $1 and user_id = $2 returning symbol), \
         announced as ( \
            insert into {outbox} (message_key, payload, created_at) \
            select deleted.symbol, \
                jsonb_set($3::jsonb, '{{symbol}}', to_jsonb(deleted.symbol))::text, $4 \
            from deleted) \
         select symbol from deleted",
        outbox = OutboxTable::AlertChanges.name(),
    );
    // Any well-formed symbol: the statement writes the deleted row's in its place.
    let stand_in: Symbol = "X"
        .parse()
        .map_err(|_| StorageError::Corrupt("the stand-in symbol is malformed".into()))?;
    let announcement = encode_change(&AlertChange::deleted(id, stand_in, user_id))?;
    let symbol: Option<String> = sqlx::query_scalar(&sql)
        .bind(id)
        .bind(user_id)
        .bind(announcement)
        .bind(now())
        .fetch_optional(&mut *lease)
        .await?;
    lease.release();
    symbol
        .map(|symbol| super::alerts::parse_symbol(id, &symbol))
        .transpose()
}
