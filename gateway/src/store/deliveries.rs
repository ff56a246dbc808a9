//! The delivery history of an alert, as `GET /alerts/{id}/notifications` shows it.

use shared::domain::{AlertId, UserId};
use shared::on_pool;
use shared::storage::{DeliveryRecord, DeliveryRow, StorageResult, DELIVERY_COLUMNS};

use super::Store;

impl Store {
    /// The deliveries of one of the user's alerts, newest first. Another user's alert has none.
    #[tracing::instrument(skip_all, fields(user_id, alert_id))]
    pub async fn deliveries_for_alert(
        &self,
        user_id: UserId,
        alert_id: AlertId,
    ) -> StorageResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "select {DELIVERY_COLUMNS} from deliveries where user_id = $1 and alert_id = $2 \
             order by seq desc, channel"
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(user_id)
            .bind(alert_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }
}
