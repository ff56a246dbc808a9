//! Recording and settling deliveries: one row per (trigger event, channel), inserted (if
//! absent) before its bus message is committed; every later step is a conditional update on
//! that row, so a redelivered event or a restarted notifier never sends twice and never
//! forgets a delivery.

use chrono::{DateTime, Utc};
use shared::domain::{AlertId, Channel, UserId};
use shared::storage::{
    now, parse_channel, parse_event_id, DeliveryRecord, DeliveryRow, DeliveryStatus, StorageError,
    StorageResult, DELIVERY_COLUMNS,
};
use shared::{on_pool, on_write_pool};
use uuid::Uuid;

use super::Store;

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
    /// Attempts so far made after one whose outcome was unknown.
    pub possible_duplicates: i64,
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
    /// Not sent, for good: nobody to send it to on this channel.
    Skipped {
        error: String,
    },
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
        /// The attempt may have delivered the message (no answer after handing it over).
        in_doubt: bool,
    },
}

impl Settlement {
    /// The delivery history's status once this settlement is written, when it is final
    /// (`None` for a retry: the row stays open).
    pub fn final_status(&self) -> Option<DeliveryStatus> {
        match self {
            Settlement::Sent { .. } => Some(DeliveryStatus::Sent),
            Settlement::Failed { .. } => Some(DeliveryStatus::Failed),
            Settlement::Unknown { .. } => Some(DeliveryStatus::Unknown),
            Settlement::Skipped { .. } => Some(DeliveryStatus::Skipped),
            Settlement::Retry { .. } => None,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct OpenRow {
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
    possible_duplicates: i64,
}

pub(super) const OPEN_COLUMNS: &str =
    "event_id, channel, alert_id, user_id, status, attempts, digest_id, \
    payload, next_attempt_at, created_at, possible_duplicates";
/// Rows a sender may take: open, and not claimed by a send in flight. A row of a channel
/// without idempotency (SMS, the chat services) whose claim expired is not taken again: it is
/// settled as `unknown` instead (see `expire_interrupted_sends`).
pub(super) fn claimable(now_placeholder: &str) -> String {
    format!(
        "status in ('pending', 'deferred') and (claimed_until is null or \
         (claimed_until < {now_placeholder} and channel not in ({})))",
        channels_without_idempotency()
    )
}

/// `'sms', 'telegram', …`: the channels whose interrupted sends must not be repeated.
pub(super) fn channels_without_idempotency() -> String {
    Channel::ALL
        .iter()
        .filter(|channel| !channel.has_idempotency())
        .map(|channel| format!("'{}'", channel.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
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
            possible_duplicates: row.possible_duplicates,
        })
    }
}

impl Store {
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
        let result = on_write_pool!(&self.db, pool => sqlx::query(SQL)
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

    /// The deliveries of one trigger event, in channel order.
    pub async fn deliveries_for_event(&self, event_id: Uuid) -> StorageResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "select {DELIVERY_COLUMNS} from deliveries where event_id = $1 order by channel"
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(event_id.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
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
        Ok(self
            .claim(event_id, channel, digest_id, until)
            .await?
            .is_some())
    }

    /// [`Store::claim_delivery`], returning the row's count of possible duplicates after the
    /// claim (`None`: not claimed). The claim marks the row in doubt until it is settled; a
    /// claim that finds it still in doubt (an earlier attempt's outcome never recorded: the
    /// sender was killed, or the provider did not answer) counts one possible duplicate.
    pub async fn claim(
        &self,
        event_id: Uuid,
        channel: Channel,
        digest_id: Option<&str>,
        until: DateTime<Utc>,
    ) -> StorageResult<Option<i64>> {
        let sql = format!(
            "update deliveries set claimed_until = $3, attempts = attempts + 1, \
             digest_id = coalesce($4, digest_id), updated_at = $5, \
             possible_duplicates = possible_duplicates + case when in_doubt then 1 else 0 end, \
             in_doubt = true \
             where event_id = $1 and channel = $2 and {} returning possible_duplicates",
            claimable("$5")
        );
        Ok(
            on_write_pool!(&self.db, pool => sqlx::query_scalar::<_, i64>(&sql)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .bind(until)
            .bind(digest_id)
            .bind(now())
            .fetch_optional(pool)
            .await)?,
        )
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
        let changed = on_write_pool!(&self.db, pool => sqlx::query(SQL)
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
        // Only an attempt that may have delivered leaves the row in doubt.
        let in_doubt = matches!(settlement, Settlement::Retry { in_doubt: true, .. });
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
            Settlement::Skipped { error } => ("skipped", Some(error.as_str()), at, None),
            Settlement::Retry {
                error,
                next_attempt_at,
                ..
            } => ("pending", Some(error.as_str()), *next_attempt_at, None),
        };
        let (provider_id, provider_status) = provider;
        const SQL: &str = "update deliveries set status = $3, \
             provider_id = coalesce($4, provider_id), last_error = coalesce($5, last_error), \
             next_attempt_at = $6, sent_at = coalesce($7, sent_at), claimed_until = null, \
             updated_at = $8, provider_status = coalesce($9, provider_status), in_doubt = $10 \
             where event_id = $1 and channel = $2";
        on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .bind(status)
            .bind(provider_id)
            .bind(error)
            .bind(next_attempt_at)
            .bind(sent_at)
            .bind(at)
            .bind(provider_status)
            .bind(in_doubt)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The provider's status of a sent delivery (`queued` from Twilio, the SMTP reply code).
    pub async fn delivery_provider_status(
        &self,
        event_id: Uuid,
        channel: Channel,
    ) -> StorageResult<Option<String>> {
        const SQL: &str =
            "select provider_status from deliveries where event_id = $1 and channel = $2";
        let status: Option<Option<String>> = on_pool!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(event_id.to_string())
            .bind(channel.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(status.flatten())
    }
}
