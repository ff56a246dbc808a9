//! How an alert is stored: the row every service reads alerts from (the gateway to serve them,
//! the evaluator to index them), and its decoding into [`Alert`] (the only way, besides the
//! constructors, to build one: from what they stored).
//!
//! API.md's fields are columns; every other field is in `options`, one JSON document
//! ([`AlertOptions`]), so adding an option touches no column and no query.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::decode::Decode;
use sqlx::types::{Json, Type};
use sqlx::{Column, ColumnIndex, FromRow, Row};

use super::{Alert, AlertOptions, AlertSpec, RearmWait};
use crate::Price;

/// An `alerts` row as [`ALERT_COLUMNS`] selects it.
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

/// [`ALERT_COLUMNS`] one by one, in its order (split once: the list has one home).
static COLUMN_NAMES: LazyLock<Vec<&str>> =
    LazyLock::new(|| ALERT_COLUMNS.split(',').map(str::trim).collect());

/// Where [`ALERT_COLUMNS`] start in `row`, when the row holds them together and in order (as
/// every statement that selects them does): its columns are then read by place. Looking a
/// column up by name hashes the name, for every column of every row: ~2 % of the gateway's CPU
/// on a list page (docs/BENCHMARKS.md, "Row and time decoding"). Comparing the names once per
/// row keeps a statement that selects them otherwise correct: it is read by name.
fn first_column<R: Row>(row: &R) -> Option<usize> {
    let columns = row.columns();
    let first = columns
        .iter()
        .position(|column| column.name() == COLUMN_NAMES[0])?;
    let ours = columns.get(first..first + COLUMN_NAMES.len())?;
    ours.iter()
        .zip(COLUMN_NAMES.iter())
        .all(|(column, name)| column.name() == *name)
        .then_some(first)
}

/// The `nth` of [`ALERT_COLUMNS`]: by place from `first`, or by name.
fn column<'r, R, T>(row: &'r R, first: Option<usize>, nth: usize) -> sqlx::Result<T>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: ColumnIndex<R>,
    usize: ColumnIndex<R>,
{
    match first {
        Some(first) => row.try_get(first + nth),
        None => row.try_get(COLUMN_NAMES[nth]),
    }
}

impl<'r, R> FromRow<'r, R> for AlertRow
where
    R: Row,
    &'r str: ColumnIndex<R>,
    usize: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Price: Decode<'r, R::Database> + Type<R::Database>,
    Json<AlertOptions>: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        let first = first_column(row);
        Ok(AlertRow {
            id: column(row, first, 0)?,
            user_id: column(row, first, 1)?,
            symbol: column(row, first, 2)?,
            condition: column(row, first, 3)?,
            target_price: column(row, first, 4)?,
            target_price_high: column(row, first, 5)?,
            notification_types: column(row, first, 6)?,
            cooldown_minutes: column(row, first, 7)?,
            active: column(row, first, 8)?,
            options: column(row, first, 9)?,
            triggered_count: column(row, first, 10)?,
            last_triggered_at: column(row, first, 11)?,
            rearm_wait: column(row, first, 12)?,
            version: column(row, first, 13)?,
            created_at: column(row, first, 14)?,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::COLUMN_NAMES;

    #[test]
    fn every_field_has_a_column_name_of_its_own() {
        // `from_row` reads the 15 fields by their place in this list.
        assert_eq!(COLUMN_NAMES.len(), 15);
        let mut names = COLUMN_NAMES.clone();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 15);
    }
}
