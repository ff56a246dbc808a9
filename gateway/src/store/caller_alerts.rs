//! The caller's account and a page of their alerts in one round trip: what `GET /alerts` reads
//! when the user cache has no entry for the caller, where it would otherwise wait for the
//! account, then for the page.

use shared::domain::{Alert, UserId};
use shared::on_lease;
use shared::storage::{alerts, AlertRow, StorageResult};
use sqlx::{FromRow, QueryBuilder, Row};

use super::alert_page::push_alert_page;
use super::{AlertFilter, Store, UserRecord};

/// The account's columns, renamed so they cannot collide with the alert's.
const CALLER_COLUMNS: &str = "u.id as caller_id, u.email as caller_email, \
    u.password_hash as caller_password_hash, u.phone as caller_phone, \
    u.is_active as caller_is_active, u.created_at as caller_created_at, \
    u.token_generation as caller_token_generation";

impl Store {
    /// The account `user_id` (active or not) and `filter`'s page of its alerts, newest first;
    /// `None` when there is no such account.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn caller_with_alerts(
        &self,
        user_id: UserId,
        filter: &AlertFilter,
    ) -> StorageResult<Option<(UserRecord, Vec<Alert>)>> {
        // One row per alert of the page, each carrying the account; one row with no alert
        // (its columns null) when the page is empty; no row when the account does not exist.
        let (caller, rows) = on_lease!(&self.db, pool => async {
            let mut sql = QueryBuilder::new(format!("select a.*, {CALLER_COLUMNS} from users u left join ("));
            push_alert_page!(sql, user_id, filter);
            sql.push(") a on true where u.id = ").push_bind(user_id);
            sql.push(" order by a.id desc");
            let rows = sql.build().fetch_all(pool).await?;
            let mut caller = None;
            let mut alerts = Vec::with_capacity(rows.len());
            for row in &rows {
                if caller.is_none() {
                    caller = Some(UserRecord {
                        id: row.try_get("caller_id")?,
                        email: row.try_get("caller_email")?,
                        password_hash: row.try_get("caller_password_hash")?,
                        phone: row.try_get("caller_phone")?,
                        is_active: row.try_get("caller_is_active")?,
                        created_at: row.try_get("caller_created_at")?,
                        token_generation: row.try_get("caller_token_generation")?,
                    });
                }
                if row.try_get::<Option<i64>, _>("id")?.is_some() {
                    alerts.push(AlertRow::from_row(row)?);
                }
            }
            Ok::<_, sqlx::Error>((caller, alerts))
        }.await)?;
        match caller {
            Some(caller) => Ok(Some((caller, alerts(rows)?))),
            None => Ok(None),
        }
    }
}
