//! The notifier's delivery table: one row per (trigger event, channel).
//!
//! A delivery row is inserted (if absent) before its bus message is committed; every later
//! step is a conditional update on that row, so a redelivered event or a restarted notifier
//! never sends twice and never forgets a delivery.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{now, Database, StorageError, StorageResult};
use crate::domain::{AlertId, Channel, UserId};
use crate::on_pool;

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
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Deferred,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
        DeliveryStatus::Unknown,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Unknown => "unknown",
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
}

/// A delivery that still has to go out, with what the notifier needs to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDelivery {
    pub event_id: Uuid,
    pub channel: Channel,
    pub alert_id: AlertId,
    pub user_id: UserId,
    pub status: DeliveryStatus,
    /// Attempts started so far; a row with attempts was already admitted by the rate limit.
    pub attempts: i64,
    /// Set when the row went out in a digest; a retry resends the whole digest.
    pub digest_id: Option<String>,
    /// The trigger event as received (JSON).
    pub payload: String,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One delivery to record for a received trigger event.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub event_id: Uuid,
    pub channel: Channel,
    pub alert_id: AlertId,
    pub user_id: UserId,
    pub payload: &'a str,
}

/// What recording a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Inserted,
    /// A redelivered event: the row exists and is left exactly as it was.
    AlreadyRecorded,
    /// The user was deleted meanwhile; there is nobody to notify.
    UserGone,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    Sent {
        provider_id: Option<String>,
        provider_status: Option<String>,
    },
    Failed {
        error: String,
    },
    Unknown {
        error: String,
    },
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    event_id: String,
    channel: String,
    status: String,
    attempts: i64,
    provider_id: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    event_id: String,
    channel: String,
    alert_id: i64,
    user_id: i64,
    status: String,
    attempts: i64,
    digest_id: Option<String>,
    payload: String,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

const RECORD_COLUMNS: &str = "event_id, channel, status, attempts, provider_id, last_error, \
    created_at, updated_at, sent_at";
const OPEN_COLUMNS: &str = "event_id, channel, alert_id, user_id, status, attempts, digest_id, \
    payload, next_attempt_at, created_at";
/// Rows a sender may take: open, and not claimed by a send in flight. An SMS whose claim
/// expired is not taken again: it is settled as `unknown` instead (see `expire_interrupted_sms`).
const CLAIMABLE: &str = "status in ('pending', 'deferred') \
    and (claimed_until is null or (claimed_until < $now and channel <> 'sms'))";

fn claimable(now_placeholder: &str) -> String {
    CLAIMABLE.replace("$now", now_placeholder)
}

fn parse_event_id(text: &str) -> StorageResult<Uuid> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("delivery with invalid event id '{text}'")))
}

fn parse_channel(text: &str) -> StorageResult<Channel> {
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
        })
    }
}

impl TryFrom<OpenRow> for OpenDelivery {
    type Error = StorageError;

    fn try_from(row: OpenRow) -> Result<Self, Self::Error> {
        Ok(OpenDelivery {
            event_id: parse_event_id(&row.event_id)?,
            channel: parse_channel(&row.channel)?,
            alert_id: row.alert_id,
            user_id: row.user_id,
            status: row.status.parse()?,
            attempts: row.attempts,
            digest_id: row.digest_id,
            payload: row.payload,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        })
    }
}

impl Database {
    /// Inserts a `pending` delivery unless one exists for (event, channel).
    #[tracing::instrument(skip_all, fields(event_id = %delivery.event_id, channel = delivery.channel.as_str()))]
    pub async fn record_delivery(
        &self,
        delivery: &NewDelivery<'_>,
    ) -> StorageResult<RecordOutcome> {
        // `seq` keeps arrival order even when rows share a timestamp; one consumer inserts
        // per partition, so max + 1 is not contended.
        const SQL: &str = "insert into deliveries (event_id, channel, alert_id, user_id, status, \
             attempts, next_attempt_at, payload, seq, created_at, updated_at) \
             values ($1, $2, $3, $4, 'pending', 0, $5, $6, \
             (select coalesce(max(seq), 0) + 1 from deliveries), $5, $5) \
             on conflict (event_id, channel) do nothing";
        let at = now();
        let result = on_pool!(self, pool => sqlx::query(SQL)
            .bind(delivery.event_id.to_string())
            .bind(delivery.channel.as_str())
            .bind(delivery.alert_id)
            .bind(delivery.user_id)
            .bind(at)
            .bind(delivery.payload)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()));
        match result {
            Ok(1) => Ok(RecordOutcome::Inserted),
            Ok(_) => Ok(RecordOutcome::AlreadyRecorded),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Ok(RecordOutcome::UserGone)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The deliveries of one of the user's alerts, newest first. Another user's alert has none.
    #[tracing::instrument(skip_all, fields(user_id, alert_id))]
    pub async fn deliveries_for_alert(
        &self,
        user_id: UserId,
        alert_id: AlertId,
    ) -> StorageResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "select {RECORD_COLUMNS} from deliveries where user_id = $1 and alert_id = $2 \
             order by seq desc, channel"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(user_id)
            .bind(alert_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }

    /// The deliveries of one trigger event, in channel order.
    pub async fn deliveries_for_event(&self, event_id: Uuid) -> StorageResult<Vec<DeliveryRecord>> {
        let sql =
            format!("select {RECORD_COLUMNS} from deliveries where event_id = $1 order by channel");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(event_id.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }

    /// (user, channel) pairs with a delivery due by `at`.
    pub async fn due_delivery_keys(
        &self,
        at: DateTime<Utc>,
        limit: i64,
    ) -> StorageResult<Vec<(UserId, Channel)>> {
        // Longest-waiting first, so a busy user cannot starve the others.
        let sql = format!(
            "select user_id, channel from deliveries \
             where next_attempt_at <= $1 and {} group by user_id, channel \
             order by min(next_attempt_at) limit $2",
            claimable("$1")
        );
        let rows: Vec<(i64, String)> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(at)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user, channel)| Ok((user, parse_channel(&channel)?)))
            .collect()
    }

    /// When the earliest open delivery becomes due (claimed ones included: their claim may
    /// expire), or `None` when nothing is open.
    pub async fn next_delivery_due_at(&self) -> StorageResult<Option<DateTime<Utc>>> {
        const SQL: &str = "select min(case when claimed_until is not null \
             and claimed_until > next_attempt_at then claimed_until else next_attempt_at end) \
             from deliveries where status in ('pending', 'deferred')";
        let next: Option<DateTime<Utc>> =
            on_pool!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(next)
    }

    /// The open, unclaimed deliveries of one user on one channel, in arrival order.
    pub async fn open_deliveries(
        &self,
        user_id: UserId,
        channel: Channel,
        at: DateTime<Utc>,
        limit: i64,
    ) -> StorageResult<Vec<OpenDelivery>> {
        let sql = format!(
            "select {OPEN_COLUMNS} from deliveries where user_id = $1 and channel = $2 and {} \
             order by seq limit $4",
            claimable("$3")
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, OpenRow>(&sql)
            .bind(user_id)
            .bind(channel.as_str())
            .bind(at)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OpenDelivery::try_from).collect()
    }

    /// Takes a delivery for one attempt until `until`: counts the attempt and, for a digest,
    /// records which digest it belongs to. `false` when someone else holds it or it is settled.
    pub async fn claim_delivery(
        &self,
        event_id: Uuid,
        channel: Channel,
        digest_id: Option<&str>,
        until: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let sql = format!(
            "update deliveries set claimed_until = $3, attempts = attempts + 1, \
             digest_id = coalesce($4, digest_id), updated_at = $5 \
             where event_id = $1 and channel = $2 and {}",
            claimable("$5")
        );
        let changed = on_pool!(self, pool => sqlx::query(&sql)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .bind(until)
            .bind(digest_id)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Holds a not-yet-attempted delivery back until `next_attempt_at` (rate limit).
    /// Returns whether the row was open to defer.
    pub async fn defer_delivery(
        &self,
        event_id: Uuid,
        channel: Channel,
        next_attempt_at: DateTime<Utc>,
    ) -> StorageResult<bool> {
        const SQL: &str = "update deliveries set status = 'deferred', next_attempt_at = $3, \
             updated_at = $4 where event_id = $1 and channel = $2 \
             and status in ('pending', 'deferred') and attempts = 0 and claimed_until is null";
        let changed = on_pool!(self, pool => sqlx::query(SQL)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .bind(next_attempt_at)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Records how a claimed attempt ended and releases the claim.
    pub async fn settle_delivery(
        &self,
        event_id: Uuid,
        channel: Channel,
        settlement: &Settlement,
    ) -> StorageResult<()> {
        let at = now();
        let mut provider = (None, None);
        let (status, error, next_attempt_at, sent_at) = match settlement {
            Settlement::Sent {
                provider_id,
                provider_status,
            } => {
                provider = (provider_id.as_deref(), provider_status.as_deref());
                ("sent", None, at, Some(at))
            }
            Settlement::Failed { error } => ("failed", Some(error.as_str()), at, None),
            Settlement::Unknown { error } => ("unknown", Some(error.as_str()), at, None),
            Settlement::Retry {
                error,
                next_attempt_at,
            } => ("pending", Some(error.as_str()), *next_attempt_at, None),
        };
        let (provider_id, provider_status) = provider;
        const SQL: &str = "update deliveries set status = $3, \
             provider_id = coalesce($4, provider_id), last_error = coalesce($5, last_error), \
             next_attempt_at = $6, sent_at = coalesce($7, sent_at), claimed_until = null, \
             updated_at = $8, provider_status = coalesce($9, provider_status) \
             where event_id = $1 and channel = $2";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .bind(status)
            .bind(provider_id)
            .bind(error)
            .bind(next_attempt_at)
            .bind(sent_at)
            .bind(at)
            .bind(provider_status)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// SMS deliveries whose sender stopped mid-send become `unknown`: Twilio has no
    /// idempotency key, so resending could text the user twice. Returns how many.
    pub async fn expire_interrupted_sms(&self, at: DateTime<Utc>) -> StorageResult<u64> {
        const SQL: &str = "update deliveries set status = 'unknown', claimed_until = null, \
             last_error = 'the notifier stopped while sending; the outcome is unknown', \
             updated_at = $1 where channel = 'sms' and status in ('pending', 'deferred') \
             and claimed_until < $1";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
            .bind(at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// The provider's status of a sent delivery (`queued` from Twilio, the SMTP reply code).
    pub async fn delivery_provider_status(
        &self,
        event_id: Uuid,
        channel: Channel,
    ) -> StorageResult<Option<String>> {
        const SQL: &str =
            "select provider_status from deliveries where event_id = $1 and channel = $2";
        let status: Option<Option<String>> = on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(status.flatten())
    }

    /// Messages sent since `since` per (user, channel), a digest counting once: what the
    /// rate limiter has already spent, so a restart does not hand out a fresh budget.
    pub async fn recent_sends(
        &self,
        since: DateTime<Utc>,
    ) -> StorageResult<Vec<(UserId, Channel, i64)>> {
        const SQL: &str = "select user_id, channel, \
             count(distinct coalesce(digest_id, event_id)) from deliveries \
             where status = 'sent' and sent_at > $1 group by user_id, channel";
        let rows: Vec<(i64, String, i64)> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(since)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user, channel, count)| Ok((user, parse_channel(&channel)?, count)))
            .collect()
    }

    /// How many deliveries are in each status.
    pub async fn delivery_status_counts(&self) -> StorageResult<Vec<(DeliveryStatus, i64)>> {
        const SQL: &str = "select status, count(*) from deliveries group by status order by status";
        let rows: Vec<(String, i64)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(status, count)| Ok((status.parse()?, count)))
            .collect()
    }
}
