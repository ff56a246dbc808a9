//! Publishes an outbox ([`OutboxTable`]): messages recorded in the transaction of the change
//! they announce go to the bus in the order they were written, each settled (marked or
//! deleted) once the bus has accepted it. What a crash leaves unpublished is published by the
//! next flush of any relay of that table; a crash between publish and settle costs at most a
//! duplicate message (consumers deduplicate on event id or alert version), never a lost one.
//!
//! One flush at a time per table: within a process by a mutex, across processes by the
//! table's relay lock, so two replicas never interleave (and reorder) the messages of a key.
//! Writers that want their rows published before they answer share flushes
//! ([`OutboxRelay::flush_committed`]): under load one flush publishes the rows of every write
//! that committed before it started, instead of each write queueing a flush of its own.
//!
//! A writer's flush runs on a task of its own, so a request that goes away mid-flush (cancelled
//! by its client or its time-out) does not cut it short for the writers sharing it: cut between
//! publish and settle, the next flush would publish its rows again, and its connection, closed
//! mid-transaction (which releases the lock), would have to be opened anew. A relay loop's
//! own flush ([`OutboxRelay::flush`]) stays on the loop's task, so stopping the loop (a service
//! shutting down, or killed in a test) stops its flush too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::{BusError, EventBus, Topic};

use crate::storage::{Database, OutboxAccess, OutboxTable, StorageError};

const BATCH: i64 = 256;

/// The relay of one outbox table onto one topic. Cheap to clone; clones share the mutex.
#[derive(Clone)]
pub struct OutboxRelay {
    db: Database,
    bus: Arc<dyn EventBus>,
    table: OutboxTable,
    topic: Topic,
    flushing: Arc<Mutex<()>>,
    flushes: Arc<FlushCount>,
}

/// Flushes numbered in the order they start (under the mutex), and the latest that published
/// everything it found.
#[derive(Default)]
struct FlushCount {
    started: AtomicU64,
    completed: AtomicU64,
}

/// Why a flush stopped: the rows it did not publish stay for the next one.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("the flush's task ended before it did: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

impl OutboxRelay {
    pub fn new(
        db: Database,
        bus: Arc<dyn EventBus>,
        table: OutboxTable,
        topic: Topic,
    ) -> OutboxRelay {
        OutboxRelay {
            db,
            bus,
            table,
            topic,
            flushing: Arc::default(),
            flushes: Arc::default(),
        }
    }

    /// Publishes every row committed before this call, returning as soon as some flush has:
    /// a flush that started after the call began reads those rows, so if one completed while
    /// this call waited for its turn there is nothing left to do.
    pub async fn flush_committed(&self) -> Result<(), RelayError> {
        let started_before = self.flushes.started.load(Ordering::SeqCst);
        let relay = self.clone();
        tokio::spawn(async move {
            let _one_per_process = relay.flushing.lock().await;
            if relay.flushes.completed.load(Ordering::SeqCst) > started_before {
                return Ok(());
            }
            relay.flush_locked().await.map(|_| ())
        })
        .await?
    }

    /// Publishes every unpublished row, oldest first; returns how many.
    #[tracing::instrument(skip_all, fields(topic = self.topic.label()))]
    pub async fn flush(&self) -> Result<usize, RelayError> {
        let _one_per_process = self.flushing.lock().await;
        self.flush_locked().await
    }

    /// A flush, by the holder of `flushing`.
    async fn flush_locked(&self) -> Result<usize, RelayError> {
        let number = self.flushes.started.fetch_add(1, Ordering::SeqCst) + 1;
        let published = self.publish_all().await;
        if published.is_ok() {
            self.flushes.completed.store(number, Ordering::SeqCst);
        }
        published
    }

    async fn publish_all(&self) -> Result<usize, RelayError> {
        let (mut outbox, mut batch) = OutboxAccess::open(&self.db, self.table, BATCH).await?;
        let mut published = 0;
        loop {
            // A short batch was everything committed when it was read; what commits later is
            // its writer's to flush (`flush_committed`) or the next background flush's.
            let last = batch.len() < BATCH as usize;
            // The rows in flight at once and settled in one statement: one acknowledgement
            // wait and one write per batch instead of per row (a burst of fires was ~3 ms of
            // Kafka round trip and an SQLite commit each).
            let ids: Vec<i64> = batch.iter().map(|message| message.id).collect();
            let messages: Vec<_> = batch
                .into_iter()
                .map(|message| (message.message_key, message.payload.into_bytes()))
                .collect();
            let (accepted, failed) = if messages.is_empty() {
                (0, None)
            } else {
                match self.bus.publish_in_order(self.topic, messages).await {
                    Ok(()) => (ids.len(), None),
                    Err((accepted, error)) => (accepted, Some(error)),
                }
            };
            published += accepted;
            if last || failed.is_some() {
                // What the bus accepted before a failure is settled all the same.
                outbox.settle_and_end(self.table, &ids[..accepted]).await?;
                return failed.map_or(Ok(published), |error| Err(error.into()));
            }
            batch = outbox.settle_and_read(self.table, &ids, BATCH).await?;
        }
    }

    /// Rows not yet published.
    pub async fn backlog(&self) -> Result<i64, StorageError> {
        self.db.outbox_backlog(self.table).await
    }
}
