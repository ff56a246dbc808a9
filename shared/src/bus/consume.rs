//! The consume loop: a service supplies the handler, the loop owns the rest.
//!
//! ```ignore
//! let malformed = MalformedMessages::register(&registry, "notifier", &[Topic::Notifications]);
//! let subscription = bus.subscribe(Topic::Notifications, &group).await?;
//! Consumer::<TriggerEvent>::new(subscription, &malformed, shutdown)
//!     .run(RecordDeliveries { db, wake })
//!     .await;
//! ```
//!
//! For each message the loop decodes it (a malformed one is counted with its topic label,
//! shown to [`Handler::skipped`] and committed past), hands the event to the handler, retries
//! the handler after a pause until it succeeds (its effect is not durable before that, so the
//! message is not committed), then commits. Transport errors pause and retry; the loop ends
//! only at shutdown or when the bus is closed. [`Consumer::run_batches`] does the same with a
//! batch of messages and one commit after it.

use std::fmt::Display;
use std::future::Future;

use serde::de::DeserializeOwned;

use super::consumer::{Batching, Consumer, Delivery, Received};
use super::retry::Stopped;
use super::BusMessage;

/// What a service does with each event of a consume loop.
pub trait Handler<T>: Send {
    type Error: Display + Send;

    /// Applies `delivery`'s event; `Ok` only once the effect is durable, for the message is
    /// then committed. After an `Err` the same delivery is handled again, after a pause, until
    /// it succeeds or the consumer stops: effects must be idempotent.
    fn handle(
        &mut self,
        delivery: &Delivery<T>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Told of each malformed message the loop skips (already counted and logged), e.g. to
    /// forget cached state it might have concerned. Does nothing by default.
    fn skipped(&mut self, _message: &BusMessage) {}
}

/// What a service does with each batch of a batched consume loop.
pub trait BatchHandler<T>: Send {
    type Error: Display + Send;

    /// Applies every event of `deliveries` (never empty); `Ok` only once all their effects
    /// are durable. After an `Err` the same batch is handled again, after a pause.
    fn handle_batch(
        &mut self,
        deliveries: &[Delivery<T>],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<T: DeserializeOwned + Send + Sync> Consumer<T> {
    /// Hands each event to `handler` and commits it after the handler succeeded, until
    /// shutdown or the bus closes.
    pub async fn run<H: Handler<T>>(mut self, mut handler: H) {
        let mut handling = self.backoff("handling");
        loop {
            let delivery = match self.receive().await {
                Ok(Received::Event(delivery)) => delivery,
                Ok(Received::Malformed(message)) => {
                    handler.skipped(&message);
                    match self.commit_past(&message).await {
                        Ok(()) => continue,
                        Err(Stopped) => return,
                    }
                }
                Err(Stopped) => return,
            };
            loop {
                match handler.handle(&delivery).await {
                    Ok(()) => break,
                    Err(error) => {
                        if handling.retry_after(&error).await.is_err() {
                            return;
                        }
                    }
                }
            }
            handling.succeeded();
            if self.commit(&delivery).await.is_err() {
                return;
            }
        }
    }

    /// Hands `handler` the events in batches (see [`Batching`]) and commits each batch, the
    /// highest position of each partition, after the handler succeeded; a batch of nothing
    /// but malformed messages is committed without the handler.
    pub async fn run_batches<H: BatchHandler<T>>(mut self, batching: Batching, mut handler: H) {
        let mut handling = self.backoff("handling a batch");
        loop {
            let Ok(batch) = self.next_batch(batching).await else {
                return;
            };
            while !batch.deliveries.is_empty() {
                match handler.handle_batch(&batch.deliveries).await {
                    Ok(()) => break,
                    Err(error) => {
                        if handling.retry_after(&error).await.is_err() {
                            return;
                        }
                    }
                }
            }
            handling.succeeded();
            if self.commit_batch(&batch).await.is_err() {
                return;
            }
        }
    }
}
