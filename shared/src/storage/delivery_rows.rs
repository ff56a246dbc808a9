//! The delivery row two services read: the notifier's table of one row per (trigger event,
//! channel), which the gateway shows as an alert's delivery history.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{StorageError, StorageResult};
use crate::domain::Channel;

/// Where a delivery stands. `sent`, `failed` and `unknown` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// Held back by the user's rate limit; goes out in a digest.
    Deferred,
    Sent,
    /// Permanently rejected, or the retry budget is spent (kept as a dead letter).
    Failed,
    /// The provider may or may not have sent it (e.g. a Twilio timeout); never resent.
    Unknown,
    /// Not sent: the account has no recipient on this channel (no phone for `sms`, no
    /// webhook for `webhook`); `last_error` says which.
    Skipped,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Deferred,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
        DeliveryStatus::Unknown,
        DeliveryStatus::Skipped,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Unknown => "unknown",
            DeliveryStatus::Skipped => "skipped",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = StorageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown delivery status '{text}'")))
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery as the API shows it (`GET /alerts/{id}/notifications`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    pub event_id: Uuid,
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub provider_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Attempts made after one whose outcome was unknown (a send interrupted after the
    /// provider may have accepted it): each may have delivered a second copy.
    pub possible_duplicates: i64,
}

#[derive(sqlx::FromRow)]
/// A `deliveries` row as [`DELIVERY_COLUMNS`] selects it.
pub struct DeliveryRow {
    event_id: String,
    channel: String,
    status: String,
    attempts: i64,
    provider_id: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    possible_duplicates: i64,
}

/// The columns to select for a [`DeliveryRow`].
pub const DELIVERY_COLUMNS: &str = "event_id, channel, status, attempts, provider_id, last_error, \
    created_at, updated_at, sent_at, possible_duplicates";
pub fn parse_event_id(text: &str) -> StorageResult<Uuid> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("delivery with invalid event id '{text}'")))
}

pub fn parse_channel(text: &str) -> StorageResult<Channel> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("delivery with unknown channel '{text}'")))
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StorageError;

    fn try_from(row: DeliveryRow) -> Result<Self, Self::Error> {
        Ok(DeliveryRecord {
            event_id: parse_event_id(&row.event_id)?,
            channel: parse_channel(&row.channel)?,
            status: row.status.parse()?,
            attempts: row.attempts,
            provider_id: row.provider_id,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            sent_at: row.sent_at,
            possible_duplicates: row.possible_duplicates,
        })
    }
}
