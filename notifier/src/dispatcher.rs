//! Sends what the delivery table says is due, one task per (user, channel) at a time, at
//! most `max_concurrent_sends` tasks at once.
//!
//! The table is the only queue: the dispatcher scans it at start and whenever woken, so a
//! restart resumes every pending or deferred delivery. Each attempt first claims its row
//! (counting the attempt), then settles it; a claim that outlives `claim_timeout` means the
//! notifier stopped mid-send.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::config::NotifierSettings;
use shared::domain::{Channel, UserId};
use shared::events::TriggerEvent;
use shared::storage::{now, DeliveryStatus, StorageResult};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::channels::Senders;
use crate::limiter::DeliveryRateLimiter;
use crate::message::Outgoing;
use crate::metrics::{NotifierMetrics, SentStatus};
use crate::store::{OpenDelivery, Settlement, Store};

type Key = (UserId, Channel);

/// Keys looked at per scan; more wait for the next scan.
const KEYS_PER_SCAN: i64 = 256;
/// Shortest pause between scans, so a burst of wake-ups costs few queries.
const MIN_SCAN_PAUSE: Duration = Duration::from_millis(10);
/// How often users whose budget is full again are dropped from the budget table.
const LIMITER_CLEANUP_EVERY: Duration = Duration::from_secs(60);

pub struct Dispatcher {
    pub db: Store,
    pub senders: Arc<Senders>,
    pub limiter: Arc<DeliveryRateLimiter>,
    pub metrics: NotifierMetrics,
    pub settings: NotifierSettings,
    pub wake: Arc<Notify>,
    /// Where settled outcomes are announced (`delivery-events`) for live views.
    pub bus: Arc<dyn shared::bus::EventBus>,
}

impl Dispatcher {
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut in_flight: HashSet<Key> = HashSet::new();
        let mut tasks: JoinSet<Key> = JoinSet::new();
        let mut last_cleanup = Instant::now();
        while !shutdown.is_cancelled() {
            let mut pause = None;
            if let Err(e) = self.start_due(&mut in_flight, &mut tasks).await {
                tracing::error!(error = %e, "could not scan the delivery table");
                pause = Some(self.poll_interval());
            }
            if last_cleanup.elapsed() >= LIMITER_CLEANUP_EVERY {
                if let Err(e) = self.limiter.forget_idle().await {
                    tracing::warn!(error = %e, "could not drop idle rate-limit budgets");
                }
                last_cleanup = Instant::now();
            }
            let pause = match pause {
                Some(pause) => pause,
                None => self.pause_until_next_due().await,
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    finished(&mut in_flight, done);
                }
            }
            while let Some(done) = tasks.try_join_next() {
                finished(&mut in_flight, done);
            }
        }
        // Let sends in flight settle; each is bounded by its channel's timeout.
        while let Some(done) = tasks.join_next().await {
            finished(&mut in_flight, done);
        }
    }

    async fn start_due(
        self: &Arc<Self>,
        in_flight: &mut HashSet<Key>,
        tasks: &mut JoinSet<Key>,
    ) -> StorageResult<()> {
        let at = now();
        for (channel, interrupted) in self.db.expire_interrupted_sends(at).await? {
            tracing::warn!(
                channel = channel.as_str(),
                deliveries = interrupted,
                "deliveries interrupted mid-send are now unknown (the channel has no idempotency)"
            );
            self.metrics
                .settled(channel, SentStatus::Error, interrupted);
        }
        let room = self.settings.max_concurrent_sends.max(1);
        if tasks.len() >= room {
            return Ok(());
        }
        for key in self.db.due_delivery_keys(at, KEYS_PER_SCAN).await? {
            if tasks.len() >= room {
                // The rest are picked up as running tasks finish.
                break;
            }
            if in_flight.insert(key) {
                let dispatcher = Arc::clone(self);
                tasks.spawn(async move {
                    if let Err(e) = dispatcher.process_key(key).await {
                        tracing::error!(user_id = key.0, channel = key.1.as_str(), error = %e,
                            "could not process deliveries; they stay open");
                        // Hold the key a while so a failing database is not hammered.
                        tokio::time::sleep(dispatcher.poll_interval()).await;
                    }
                    key
                });
            }
        }
        Ok(())
    }

    fn poll_interval(&self) -> Duration {
        self.settings.poll_interval.max(Duration::from_millis(1))
    }

    async fn pause_until_next_due(&self) -> Duration {
        let longest = self.poll_interval();
        match self.db.next_delivery_due_at().await {
            Ok(Some(due)) => (due - now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_SCAN_PAUSE, longest),
            Ok(None) => longest,
            Err(e) => {
                tracing::error!(error = %e, "could not read the next due delivery");
                longest
            }
        }
    }

    /// One pass over the open deliveries of one user on one channel.
    async fn process_key(&self, (user_id, channel): Key) -> StorageResult<()> {
        let at = now();
        let limit =
            i64::try_from(self.settings.digest_max_items.saturating_mul(4)).unwrap_or(i64::MAX);
        let open = self.db.open_deliveries(user_id, channel, at, limit).await?;
        let (admitted, fresh): (Vec<OpenDelivery>, Vec<OpenDelivery>) =
            open.into_iter().partition(|d| d.attempts > 0);
        let fresh = self
            .hold_for_quiet_hours(user_id, channel, fresh, at)
            .await?;

        // Retries were admitted by the rate limit on their first attempt; a digest is
        // retried as the same digest.
        let mut retries: BTreeMap<String, Vec<OpenDelivery>> = BTreeMap::new();
        for delivery in admitted.into_iter().filter(|d| d.next_attempt_at <= at) {
            let group = delivery
                .digest_id
                .clone()
                .unwrap_or_else(|| delivery.event_id.to_string());
            retries.entry(group).or_default().push(delivery);
        }
        for group in retries.into_values() {
            self.attempt(channel, group).await?;
        }
        // A budget slot taken for a message another replica claimed first is given back.
        let refund = || async {
            self.limiter.refund(user_id, channel).await?;
            StorageResult::Ok(())
        };

        if fresh.iter().any(|d| d.status == DeliveryStatus::Deferred) {
            // A queue of held-back deliveries exists: newcomers join it, and it goes out as
            // one digest as soon as the budget allows.
            match self.limiter.check(user_id, channel).await? {
                Ok(()) => {
                    let batch: Vec<OpenDelivery> = fresh
                        .into_iter()
                        .take(self.settings.digest_max_items)
                        .collect();
                    if !self.attempt(channel, batch).await? {
                        refund().await?;
                    }
                }
                Err(wait) => self.defer(channel, &fresh, wait).await?,
            }
            return Ok(());
        }
        for (index, delivery) in fresh.iter().enumerate() {
            match self.limiter.check(user_id, channel).await? {
                Ok(()) => {
                    if !self.attempt(channel, vec![delivery.clone()]).await? {
                        refund().await?;
                    }
                }
                Err(wait) => {
                    self.defer(channel, &fresh[index..], wait).await?;
                    break;
                }
            }
        }
        Ok(())
    }

    async fn defer(
        &self,
        channel: Channel,
        deliveries: &[OpenDelivery],
        wait: Duration,
    ) -> StorageResult<()> {
        let until = now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
        let mut newly_deferred = 0;
        for delivery in deliveries {
            let open = self
                .db
                .defer_delivery(delivery.event_id, channel, until)
                .await?;
            if open && delivery.status == DeliveryStatus::Pending {
                newly_deferred += 1;
            }
        }
        if newly_deferred > 0 {
            tracing::info!(
                user_id = deliveries.first().map(|d| d.user_id),
                channel = channel.as_str(),
                deliveries = newly_deferred,
                "rate limit reached; deliveries held back for a digest"
            );
            self.metrics.deferred(channel, newly_deferred);
        }
        Ok(())
    }

    /// Claims `deliveries`, sends them as one message (a digest when more than one) and
    /// settles each with the outcome. `false` when none could be claimed (another replica
    /// took them, or they were settled meanwhile): nothing was sent.
    async fn attempt(
        &self,
        channel: Channel,
        deliveries: Vec<OpenDelivery>,
    ) -> StorageResult<bool> {
        let digest_id = match deliveries.as_slice() {
            [] => return Ok(false),
            [single] => single.digest_id.clone(),
            [first, ..] => Some(
                first
                    .digest_id
                    .clone()
                    .unwrap_or_else(|| Uuid::now_v7().to_string()),
            ),
        };
        let claim_for = chrono::Duration::from_std(self.settings.claim_timeout)
            .unwrap_or(chrono::Duration::MAX);
        let claim_until = now()
            .checked_add_signed(claim_for)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let mut claimed = Vec::with_capacity(deliveries.len());
        let mut events = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let Some(possible_duplicates) = self
                .db
                .claim(
                    delivery.event_id,
                    channel,
                    digest_id.as_deref(),
                    claim_until,
                )
                .await?
            else {
                continue;
            };
            if possible_duplicates > delivery.possible_duplicates {
                tracing::warn!(channel = channel.as_str(), event_id = %delivery.event_id,
                    "resending a message an interrupted attempt may have delivered");
                self.metrics.possible_duplicate(channel);
            }
            match serde_json::from_str::<TriggerEvent>(&delivery.payload) {
                Ok(event) => {
                    events.push(event);
                    claimed.push(delivery);
                }
                Err(e) => {
                    let error = format!("the stored trigger event is unreadable: {e}");
                    self.settle(channel, &[delivery], &Settlement::Failed { error })
                        .await?;
                    self.metrics.settled(channel, SentStatus::Failed, 1);
                }
            }
        }
        if claimed.is_empty() {
            return Ok(false);
        }
        let id = match (&digest_id, claimed.as_slice()) {
            (Some(digest), _) => digest.parse().unwrap_or_else(|_| Uuid::now_v7()),
            (None, [first, ..]) => first.event_id,
            (None, []) => return Ok(false),
        };
        let outgoing = Outgoing {
            id,
            channel,
            events,
        };
        let started = Instant::now();
        let outcome = self.senders.send(&self.db, &outgoing).await;
        self.metrics
            .observe_latency(channel, started.elapsed().as_secs_f64());
        self.record_outcome(channel, &claimed, &outgoing, outcome)
            .await?;
        Ok(true)
    }
}

fn finished(in_flight: &mut HashSet<Key>, done: Result<Key, tokio::task::JoinError>) {
    match done {
        Ok(key) => {
            in_flight.remove(&key);
        }
        Err(e) => {
            // A panicking task loses its key; clearing all lets every key be scanned again
            // (claims keep rows from being taken twice).
            tracing::error!(error = %e, "a delivery task failed");
            in_flight.clear();
        }
    }
}
