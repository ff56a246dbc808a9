//! Decoding alert rows for the services' queries (the row itself is the domain's:
//! [`AlertRow`], [`ALERT_COLUMNS`]).

use crate::domain::alert::{AlertRow, CorruptAlert};
use crate::domain::Alert;

use super::{StorageError, StorageResult};

impl From<CorruptAlert> for StorageError {
    fn from(corrupt: CorruptAlert) -> Self {
        StorageError::Corrupt(corrupt.to_string())
    }
}

impl StorageError {
    /// Alert `id` holds a value that is not a valid `what`.
    pub fn corrupt_alert(id: i64, what: &'static str) -> StorageError {
        CorruptAlert::new(id, what).into()
    }
}

/// Decodes rows, failing on the first that does not hold a valid alert.
pub fn alerts(rows: Vec<AlertRow>) -> StorageResult<Vec<Alert>> {
    Ok(rows
        .into_iter()
        .map(Alert::try_from)
        .collect::<Result<_, _>>()?)
}
