//! How an alert is stored: the row every service reads alerts from (the gateway to serve them,
//! the evaluator to index them), and its decoding into [`Alert`] (the only way, besides the
//! constructors, to build one: from what they stored).
//!
//! API.md's fields are columns; every other field is in `options`, one JSON document
//! ([`AlertOptions`]), so adding an option touches no column and no query.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{Alert, AlertOptions, AlertSpec, RearmWait};
use crate::Price;

/// An `alerts` row as [`ALERT_COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
pub struct AlertRow {
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
    rearm_wait: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
}

/// The columns to select for an [`AlertRow`].
pub const ALERT_COLUMNS: &str = "id, user_id, symbol, condition, target_price, \
    target_price_high, notification_types, cooldown_minutes, active, options, triggered_count, \
    last_triggered_at, rearm_wait, version, created_at";

/// A stored alert holds a value that is not valid for its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert {id}: invalid {what}")]
pub struct CorruptAlert {
    pub id: i64,
    pub what: &'static str,
}

impl CorruptAlert {
    pub fn new(id: i64, what: &'static str) -> CorruptAlert {
        CorruptAlert { id, what }
    }
}

impl TryFrom<AlertRow> for Alert {
    type Error = CorruptAlert;

    fn try_from(row: AlertRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let spec = AlertSpec {
            symbol: row
                .symbol
                .parse()
                .map_err(|_| CorruptAlert::new(id, "symbol"))?,
            condition: row
                .condition
                .parse()
                .map_err(|_| CorruptAlert::new(id, "condition"))?,
            target_price: row.target_price,
            target_price_high: row.target_price_high,
            notification_types: row
                .notification_types
                .parse()
                .map_err(|_| CorruptAlert::new(id, "notification_types"))?,
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
            rearm_wait: row
                .rearm_wait
                .map(|wait| wait.parse::<RearmWait>())
                .transpose()
                .map_err(|_| CorruptAlert::new(id, "rearm_wait"))?,
            version: row.version,
            created_at: row.created_at,
        })
    }
}
