use chrono::{DateTime, Utc};

use super::{now, Database, StorageError, StorageResult};
use crate::domain::{
    AlertCondition, AlertId, MoveDirection, NotificationChannels, Price, Symbol, TriggerPolicy,
    UserId,
};
use crate::events::AlertSnapshot;
use crate::on_pool;

/// An alert as stored, with its fields parsed back into domain types.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: AlertId,
    pub user_id: UserId,
    pub symbol: Symbol,
    pub condition: AlertCondition,
    pub target_price: Price,
    pub target_price_high: Option<Price>,
    pub notification_types: NotificationChannels,
    pub cooldown_minutes: i64,
    pub active: bool,
    pub trigger: TriggerPolicy,
    pub direction: Option<MoveDirection>,
    pub window_minutes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub triggered_count: i64,
    pub last_triggered_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl AlertRecord {
    /// An expired alert reads as inactive.
    pub fn is_effectively_active(&self, at: DateTime<Utc>) -> bool {
        self.active && self.expires_at.is_none_or(|expiry| at < expiry)
    }

    pub fn snapshot(&self) -> AlertSnapshot {
        AlertSnapshot {
            id: self.id,
            user_id: self.user_id,
            symbol: self.symbol.clone(),
            condition: self.condition,
            target_price: self.target_price,
            target_price_high: self.target_price_high,
            notification_types: self.notification_types.clone(),
            cooldown_minutes: self.cooldown_minutes,
            active: self.active,
            trigger: self.trigger,
            direction: self.direction,
            window_minutes: self.window_minutes,
            expires_at: self.expires_at,
            last_triggered_at: self.last_triggered_at,
            version: self.version,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AlertRow {
    id: i64,
    user_id: i64,
    symbol: String,
    condition: String,
    target_price: Price,
    target_price_high: Option<Price>,
    notification_types: String,
    cooldown_minutes: i64,
    active: bool,
    trigger_policy: String,
    direction: Option<String>,
    window_minutes: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
    triggered_count: i64,
    last_triggered_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
}

pub(crate) const ALERT_COLUMNS: &str = "id, user_id, symbol, condition, target_price, \
    target_price_high, notification_types, cooldown_minutes, active, trigger_policy, direction, \
    window_minutes, expires_at, triggered_count, last_triggered_at, version, created_at";

fn corrupt(what: &str, id: i64) -> StorageError {
    StorageError::Corrupt(format!("alert {id}: invalid {what}"))
}

impl TryFrom<AlertRow> for AlertRecord {
    type Error = StorageError;

    fn try_from(row: AlertRow) -> Result<Self, Self::Error> {
        let id = row.id;
        Ok(AlertRecord {
            id,
            user_id: row.user_id,
            symbol: row.symbol.parse().map_err(|_| corrupt("symbol", id))?,
            condition: row
                .condition
                .parse()
                .map_err(|_| corrupt("condition", id))?,
            target_price: row.target_price,
            target_price_high: row.target_price_high,
            notification_types: row
                .notification_types
                .parse()
                .map_err(|_| corrupt("notification_types", id))?,
            cooldown_minutes: row.cooldown_minutes,
            active: row.active,
            trigger: row
                .trigger_policy
                .parse()
                .map_err(|_| corrupt("trigger", id))?,
            direction: row
                .direction
                .map(|d| d.parse())
                .transpose()
                .map_err(|_| corrupt("direction", id))?,
            window_minutes: row.window_minutes,
            expires_at: row.expires_at,
            triggered_count: row.triggered_count,
            last_triggered_at: row.last_triggered_at,
            version: row.version,
            created_at: row.created_at,
        })
    }
}

fn records(rows: Vec<AlertRow>) -> StorageResult<Vec<AlertRecord>> {
    rows.into_iter().map(AlertRecord::try_from).collect()
}

/// A validated new alert.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub symbol: Symbol,
    pub condition: AlertCondition,
    pub target_price: Price,
    pub target_price_high: Option<Price>,
    pub notification_types: NotificationChannels,
    pub cooldown_minutes: i64,
    pub trigger: TriggerPolicy,
    pub direction: Option<MoveDirection>,
    pub window_minutes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The new values of a patched alert (the caller merges the request into the current alert
/// and validates the result).
#[derive(Debug, Clone)]
pub struct AlertPatch {
    pub target_price: Price,
    pub target_price_high: Option<Price>,
    pub notification_types: NotificationChannels,
    pub cooldown_minutes: i64,
    pub active: bool,
    pub trigger: TriggerPolicy,
    pub direction: Option<MoveDirection>,
    pub window_minutes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl AlertPatch {
    /// A patch that leaves `alert` as it is; callers override what changes.
    pub fn unchanged(alert: &AlertRecord) -> AlertPatch {
        AlertPatch {
            target_price: alert.target_price,
            target_price_high: alert.target_price_high,
            notification_types: alert.notification_types.clone(),
            cooldown_minutes: alert.cooldown_minutes,
            active: alert.active,
            trigger: alert.trigger,
            direction: alert.direction,
            window_minutes: alert.window_minutes,
            expires_at: alert.expires_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub symbol: Option<Symbol>,
    pub active: Option<bool>,
    pub skip: i64,
    pub limit: i64,
}

/// Why a conditional write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertWriteOutcome {
    Done,
    NotFound,
    QuotaExceeded,
}

impl Database {
    /// Inserts an active alert unless the user already has `max_active` active ones
    /// (`Ok(None)` then). The check and the insert are one statement.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn create_alert(
        &self,
        user_id: UserId,
        alert: &NewAlert,
        max_active: i64,
    ) -> StorageResult<Option<AlertRecord>> {
        let sql = format!(
            "insert into alerts (user_id, symbol, condition, target_price, target_price_high, \
             notification_types, cooldown_minutes, active, trigger_policy, direction, \
             window_minutes, expires_at, triggered_count, version, created_at, updated_at) \
             select $1, $2, $3, $4, $5, $6, $7, true, $8, $9, $10, $11, 0, 1, $12, $12 \
             where (select count(*) from alerts where user_id = $1 and active) < $13 \
             returning {ALERT_COLUMNS}"
        );
        let created = now();
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(user_id)
            .bind(alert.symbol.as_str())
            .bind(alert.condition.as_str())
            .bind(alert.target_price)
            .bind(alert.target_price_high)
            .bind(alert.notification_types.to_string())
            .bind(alert.cooldown_minutes)
            .bind(alert.trigger.as_str())
            .bind(alert.direction.map(|d| d.as_str()))
            .bind(alert.window_minutes)
            .bind(alert.expires_at)
            .bind(created)
            .bind(max_active)
            .fetch_optional(pool)
            .await)?;
        row.map(AlertRecord::try_from).transpose()
    }

    /// The user's alerts, newest first.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn list_alerts(
        &self,
        user_id: UserId,
        filter: &AlertFilter,
    ) -> StorageResult<Vec<AlertRecord>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where user_id = $1 \
             and ($2 is null or symbol = $2) and ($3 is null or active = $3) \
             order by id desc limit $4 offset $5"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(user_id)
            .bind(filter.symbol.as_ref().map(Symbol::as_str))
            .bind(filter.active)
            .bind(filter.limit)
            .bind(filter.skip)
            .fetch_all(pool)
            .await)?;
        records(rows)
    }

    /// One alert of this user; another user's alert is `None`, exactly like a missing one.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn user_alert(
        &self,
        user_id: UserId,
        id: AlertId,
    ) -> StorageResult<Option<AlertRecord>> {
        let sql = format!("select {ALERT_COLUMNS} from alerts where id = $1 and user_id = $2");
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        row.map(AlertRecord::try_from).transpose()
    }

    /// Writes a patch, bumping the version. Activating an alert respects `max_active`.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn update_alert(
        &self,
        user_id: UserId,
        id: AlertId,
        patch: &AlertPatch,
        max_active: i64,
    ) -> StorageResult<(AlertWriteOutcome, Option<AlertRecord>)> {
        let sql = format!(
            "update alerts set target_price = $3, target_price_high = $4, notification_types = $5, \
             cooldown_minutes = $6, active = $7, trigger_policy = $8, direction = $9, \
             window_minutes = $10, expires_at = $11, version = version + 1, updated_at = $12 \
             where id = $1 and user_id = $2 \
             and (active or not $7 or (select count(*) from alerts a where a.user_id = $2 and a.active) < $13) \
             returning {ALERT_COLUMNS}"
        );
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .bind(user_id)
            .bind(patch.target_price)
            .bind(patch.target_price_high)
            .bind(patch.notification_types.to_string())
            .bind(patch.cooldown_minutes)
            .bind(patch.active)
            .bind(patch.trigger.as_str())
            .bind(patch.direction.map(|d| d.as_str()))
            .bind(patch.window_minutes)
            .bind(patch.expires_at)
            .bind(now())
            .bind(max_active)
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => Ok((AlertWriteOutcome::Done, Some(AlertRecord::try_from(row)?))),
            None => match self.user_alert(user_id, id).await? {
                Some(_) => Ok((AlertWriteOutcome::QuotaExceeded, None)),
                None => Ok((AlertWriteOutcome::NotFound, None)),
            },
        }
    }

    /// Deletes one of the user's alerts; returns its symbol when it existed.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn delete_alert(
        &self,
        user_id: UserId,
        id: AlertId,
    ) -> StorageResult<Option<Symbol>> {
        let symbol: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
            "delete from alerts where id = $1 and user_id = $2 returning symbol")
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        symbol
            .map(|s| s.parse().map_err(|_| corrupt("symbol", id)))
            .transpose()
    }

    /// (id, symbol) of every alert of a user, e.g. to announce their removal.
    pub async fn user_alert_keys(&self, user_id: UserId) -> StorageResult<Vec<(AlertId, Symbol)>> {
        let rows: Vec<(i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "select id, symbol from alerts where user_id = $1")
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, s)| Ok((id, s.parse().map_err(|_| corrupt("symbol", id))?)))
            .collect()
    }

    /// Every active alert of an active user: what the evaluator indexes at start.
    #[tracing::instrument(skip_all)]
    pub async fn active_alerts(&self) -> StorageResult<Vec<AlertRecord>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where active \
             and user_id in (select id from users where is_active) order by id"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .fetch_all(pool)
            .await)?;
        records(rows)
    }
}
