//! Alerts in storage: the row every service reads alerts from, and the gateway's writes.
//!
//! API.md's fields are columns; every other field is in `options`, one JSON document
//! ([`AlertOptions`]), so adding an option touches no query here.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{now, Database, StorageError, StorageResult};
use crate::domain::{
    Alert, AlertId, AlertOptions, AlertPatch, AlertSpec, NewAlert, Price, Symbol, UserId,
};
use crate::on_pool;

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
    options: Json<AlertOptions>,
    triggered_count: i64,
    last_triggered_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
}

pub(crate) const ALERT_COLUMNS: &str = "id, user_id, symbol, condition, target_price, \
    target_price_high, notification_types, cooldown_minutes, active, options, triggered_count, \
    last_triggered_at, version, created_at";

fn corrupt(what: &str, id: i64) -> StorageError {
    StorageError::Corrupt(format!("alert {id}: invalid {what}"))
}

impl TryFrom<AlertRow> for Alert {
    type Error = StorageError;

    fn try_from(row: AlertRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let spec = AlertSpec {
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
            options: row.options.0,
        };
        Ok(Alert {
            id,
            user_id: row.user_id,
            spec,
            active: row.active,
            triggered_count: row.triggered_count,
            last_triggered_at: row.last_triggered_at,
            version: row.version,
            created_at: row.created_at,
        })
    }
}

pub(crate) fn alerts(rows: Vec<AlertRow>) -> StorageResult<Vec<Alert>> {
    rows.into_iter().map(Alert::try_from).collect()
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
    ) -> StorageResult<Option<Alert>> {
        let sql = format!(
            "insert into alerts (user_id, symbol, condition, target_price, target_price_high, \
             notification_types, cooldown_minutes, active, options, triggered_count, version, \
             created_at, updated_at) \
             select $1, $2, $3, $4, $5, $6, $7, true, $8, 0, 1, $9, $9 \
             where (select count(*) from alerts where user_id = $1 and active) < $10 \
             returning {ALERT_COLUMNS}"
        );
        let spec = alert.spec();
        let created = now();
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(user_id)
            .bind(spec.symbol().as_str())
            .bind(spec.condition().as_str())
            .bind(spec.target_price())
            .bind(spec.target_price_high())
            .bind(spec.notification_types().to_string())
            .bind(spec.cooldown_minutes())
            .bind(Json(spec.options()))
            .bind(created)
            .bind(max_active)
            .fetch_optional(pool)
            .await)?;
        row.map(Alert::try_from).transpose()
    }

    /// The user's alerts, newest first.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn list_alerts(
        &self,
        user_id: UserId,
        filter: &AlertFilter,
    ) -> StorageResult<Vec<Alert>> {
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
        alerts(rows)
    }

    /// One alert of this user; another user's alert is `None`, exactly like a missing one.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn user_alert(&self, user_id: UserId, id: AlertId) -> StorageResult<Option<Alert>> {
        let sql = format!("select {ALERT_COLUMNS} from alerts where id = $1 and user_id = $2");
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        row.map(Alert::try_from).transpose()
    }

    /// Writes a patch, bumping the version. Activating an alert respects `max_active`.
    #[tracing::instrument(skip_all, fields(user_id, alert_id = id))]
    pub async fn update_alert(
        &self,
        user_id: UserId,
        id: AlertId,
        patch: &AlertPatch,
        max_active: i64,
    ) -> StorageResult<(AlertWriteOutcome, Option<Alert>)> {
        let sql = format!(
            "update alerts set target_price = $3, target_price_high = $4, notification_types = $5, \
             cooldown_minutes = $6, active = $7, options = $8, version = version + 1, \
             updated_at = $9 \
             where id = $1 and user_id = $2 \
             and (active or not $7 or (select count(*) from alerts a where a.user_id = $2 and a.active) < $10) \
             returning {ALERT_COLUMNS}"
        );
        let spec = patch.spec();
        let row = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(id)
            .bind(user_id)
            .bind(spec.target_price())
            .bind(spec.target_price_high())
            .bind(spec.notification_types().to_string())
            .bind(spec.cooldown_minutes())
            .bind(patch.active())
            .bind(Json(spec.options()))
            .bind(now())
            .bind(max_active)
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => Ok((AlertWriteOutcome::Done, Some(Alert::try_from(row)?))),
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
    pub async fn active_alerts(&self) -> StorageResult<Vec<Alert>> {
        let sql = format!(
            "select {ALERT_COLUMNS} from alerts where active \
             and user_id in (select id from users where is_active) order by id"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .fetch_all(pool)
            .await)?;
        alerts(rows)
    }
}
