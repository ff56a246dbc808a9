//! The event bus: six topics, keyed messages, consumer groups, commit after the effect.
//!
//! Two transports implement [`EventBus`]: [`InProcessBus`] for the embedded default and Kafka
//! (crate `kafka-bus`) for the scaled deployment. Payloads are JSON bytes on both, so malformed-message handling
//! is the same everywhere.
//!
//! Services consume through one loop: [`Consumer::run`] with a [`Handler`] (or
//! [`Consumer::run_batches`] with a [`BatchHandler`]) decodes, counts and skips malformed
//! messages ([`MalformedMessages`]), pauses on transport errors, retries a failing handler and
//! commits only after it succeeded. A consumer that must interleave several subscriptions and
//! timers (the evaluator) uses the same [`Consumer`]'s `next`/`try_next`/`commit` in its own
//! `select!`.

mod consume;
mod consumer;
mod consumer_metrics;
mod in_process;
mod malformed;
mod relay;
mod retry;
mod typed;

use async_trait::async_trait;

pub use consume::{BatchHandler, Handler};
pub use consumer::{Batch, Batching, Consumer, Delivery};
pub use consumer_metrics::{ConsumerMetrics, REBALANCE_EVENTS};
pub use in_process::InProcessBus;
pub use malformed::MalformedMessages;
pub use relay::{OutboxRelay, RelayError};
pub use retry::{Backoff, RetryPolicy, Stopped};
pub use typed::{decode, publish_json, Decoded};

pub use settings::Topic;

/// One message as received: where it came from, so it can be committed.
#[derive(Debug, Clone)]
pub struct BusMessage {
    pub topic: Topic,
    pub key: String,
    pub payload: Vec<u8>,
    pub partition: i32,
    pub offset: i64,
}

impl BusMessage {
    /// Where this message sits: committing it marks it and everything before it in its
    /// partition done.
    pub fn position(&self) -> Position {
        Position {
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// A message's place in its topic (the topic is the subscription's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

impl Position {
    /// The highest position of each partition among `positions`, by partition: what committing
    /// all of them at once needs.
    pub fn highest_per_partition(positions: impl IntoIterator<Item = Position>) -> Vec<Position> {
        let mut highest: std::collections::BTreeMap<i32, i64> = Default::default();
        for position in positions {
            let offset = highest.entry(position.partition).or_insert(position.offset);
            *offset = (*offset).max(position.offset);
        }
        highest
            .into_iter()
            .map(|(partition, offset)| Position { partition, offset })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the bus is closed")]
    Closed,
    #[error("bus transport error: {0}")]
    Transport(String),
    #[error("could not encode a message: {0}")]
    Encode(#[from] serde_json::Error),
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes one message; returns once the transport has accepted it durably
    /// (in-process: queued for every subscribed group; Kafka: acknowledged by all replicas).
    /// Waits while a consumer is behind instead of dropping.
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError>;

    /// Publishes `messages` (key, payload) in their order, as [`EventBus::publish`] one after
    /// the other would; on an error, `Err((accepted, error))` where the first `accepted` were
    /// accepted. A transport may have them in flight at once while keeping their order (Kafka:
    /// one wait for the acknowledgements instead of one per message, ~linger each).
    async fn publish_in_order(
        &self,
        topic: Topic,
        messages: Vec<(String, Vec<u8>)>,
    ) -> Result<(), (usize, BusError)> {
        for (accepted, (key, payload)) in messages.into_iter().enumerate() {
            self.publish(topic, &key, payload)
                .await
                .map_err(|error| (accepted, error))?;
        }
        Ok(())
    }

    /// Joins consumer group `group` on `topic`. Every group sees every message; members of one
    /// group share them (one member per group in-process).
    async fn subscribe(&self, topic: Topic, group: &str)
        -> Result<Box<dyn Subscription>, BusError>;

    /// Like [`EventBus::subscribe`], for consumers that only want what is published from now on
    /// (a gateway replica fanning ticks out to its WebSocket clients, in a group of its own).
    /// Kafka starts a group that has never committed at the end of the log instead of the
    /// beginning; in-process every subscription already starts there.
    async fn subscribe_latest(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.subscribe(topic, group).await
    }

    /// Every message of `topic` published after this returns, on every partition, outside
    /// any group's balancing; nothing published before. For a process that loads a snapshot
    /// and then needs every later change (an evaluator and `alert-changes`): subscribe with
    /// this first, then load. In-process every subscription already starts there; Kafka looks
    /// up the end of each partition before returning.
    async fn subscribe_from_now(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.subscribe(topic, group).await
    }
}

/// One consumer of one topic. Services read it through [`Consumer`], which decodes, skips
/// malformed messages, retries and commits; this is what each transport implements.
#[async_trait]
pub trait Subscription: Send {
    /// The topic this subscription reads.
    fn topic(&self) -> Topic;

    /// The next message; `Err(BusError::Closed)` once the bus is shut down. Cancel-safe.
    async fn next(&mut self) -> Result<BusMessage, BusError>;

    /// The next message if one is ready now, without waiting.
    fn try_next(&mut self) -> Result<Option<BusMessage>, BusError>;

    /// Marks `message` (and everything before it in its partition) as done. Call only after
    /// its effect is durable.
    async fn commit(&mut self, message: &BusMessage) -> Result<(), BusError> {
        if message.topic != self.topic() {
            return Err(BusError::Transport(format!(
                "a {:?} message cannot be committed on a {:?} subscription",
                message.topic,
                self.topic()
            )));
        }
        self.commit_positions(&[message.position()]).await
    }

    /// Marks each of `positions` (and everything before it in its partition) as done, in one
    /// call to the transport (a batch commits the highest position of each partition it
    /// took). Call only after their effects are durable.
    async fn commit_positions(&mut self, positions: &[Position]) -> Result<(), BusError>;

    /// Exports this consumer's lag and rebalances on a service's registry (see
    /// [`ConsumerMetrics`]). Transports without either (in-process) ignore it.
    fn report_metrics_to(&mut self, _metrics: &ConsumerMetrics) {}
}
