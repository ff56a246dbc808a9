//! [`Consumer`]: a subscription read as typed events. It decodes, counts and skips malformed
//! messages, pauses on transport errors, and retries commits; what is left to its caller is
//! the effect of each event and when to commit it.

use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::retry::{Backoff, RetryPolicy, Stopped};
use super::{
    decode, BusError, BusMessage, Decoded, MalformedMessages, Position, Subscription, Topic,
};

/// One decoded event and the message it came in (its key, payload and position).
#[derive(Debug, Clone)]
pub struct Delivery<T> {
    pub event: T,
    pub message: BusMessage,
}

/// How [`Consumer::next_batch`] groups messages: up to `max_messages`, or what arrives within
/// `max_wait` of the first one, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub max_messages: usize,
    pub max_wait: Duration,
}

/// The messages one [`Consumer::next_batch`] took: the events decoded (possibly none, when
/// every message was malformed) and where to commit once their effects are durable.
#[derive(Debug)]
pub struct Batch<T> {
    pub deliveries: Vec<Delivery<T>>,
    /// Every message taken, malformed ones included.
    taken: Vec<Position>,
}

impl<T> Batch<T> {
    /// How many messages the batch took, malformed ones included (at most `max_messages`).
    pub fn messages(&self) -> usize {
        self.taken.len()
    }

    /// What committing the batch commits: the highest position of each partition it took.
    pub fn positions(&self) -> Vec<Position> {
        Position::highest_per_partition(self.taken.iter().copied())
    }
}

/// A message as received: an event, or a malformed message already counted and logged.
pub(super) enum Received<T> {
    Event(Delivery<T>),
    Malformed(BusMessage),
}

/// A subscription read as events of type `T` (JSON), until `shutdown` or the bus closes.
///
/// - Malformed messages are counted on `<service>_malformed_messages_total{topic}` and never
///   handed out. [`Consumer::next`] and [`Consumer::try_next`] commit past them at once, which
///   also marks everything before them in their partition done: commit each delivery before
///   asking for the next one. [`Consumer::next_batch`] folds them into the batch's commit.
/// - Transport errors are never returned: reads and commits pause (bounded backoff, logged
///   once) and try again. Only shutdown and a closed bus end a consumer (`Err(Stopped)`).
/// - `next` is cancel-safe: a `select!` may drop it without losing a message.
pub struct Consumer<T> {
    subscription: Box<dyn Subscription>,
    topic: Topic,
    malformed: MalformedMessages,
    shutdown: CancellationToken,
    policy: RetryPolicy,
    reads: Backoff,
    commits: Backoff,
    last_malformed: Option<String>,
    _event: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Consumer<T> {
    pub fn new(
        subscription: Box<dyn Subscription>,
        malformed: &MalformedMessages,
        shutdown: CancellationToken,
    ) -> Consumer<T> {
        let topic = subscription.topic();
        let policy = RetryPolicy::default();
        Consumer {
            reads: Backoff::new(policy, shutdown.clone(), topic, "reading"),
            commits: Backoff::new(policy, shutdown.clone(), topic, "committing"),
            subscription,
            topic,
            malformed: malformed.clone(),
            shutdown,
            policy,
            last_malformed: None,
            _event: PhantomData,
        }
    }

    /// The same consumer pausing by `policy` instead of the default (50 ms doubling to 5 s).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Consumer<T> {
        self.policy = policy;
        self.reads = self.backoff("reading");
        self.commits = self.backoff("committing");
        self
    }

    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// A backoff by this consumer's policy that ends at its shutdown, for a step of the
    /// caller's own (the handler's effect) named `step` in the logs.
    pub fn backoff(&self, step: &'static str) -> Backoff {
        Backoff::new(self.policy, self.shutdown.clone(), self.topic, step)
    }

    /// The next event, waiting as long as it takes.
    pub async fn next(&mut self) -> Result<Delivery<T>, Stopped> {
        loop {
            match self.receive().await? {
                Received::Event(delivery) => return Ok(delivery),
                Received::Malformed(message) => self.commit_past(&message).await?,
            }
        }
    }

    /// The next event if one is queued now, without waiting for one (`Ok(None)` too while a
    /// transport error pauses reading).
    pub async fn try_next(&mut self) -> Result<Option<Delivery<T>>, Stopped> {
        loop {
            if self.shutdown.is_cancelled() {
                return Err(Stopped);
            }
            if self.reads.is_paused() {
                return Ok(None);
            }
            let message = match self.subscription.try_next() {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(None),
                Err(BusError::Closed) => return Err(Stopped),
                Err(error) => {
                    self.reads.failed(&error);
                    return Ok(None);
                }
            };
            self.reads.succeeded();
            match self.received(message) {
                Received::Event(delivery) => return Ok(Some(delivery)),
                Received::Malformed(message) => self.commit_past(&message).await?,
            }
        }
    }

    /// Commits `delivery` once its effect is durable, retrying until the transport takes it.
    pub async fn commit(&mut self, delivery: &Delivery<T>) -> Result<(), Stopped> {
        self.commit_positions(&[delivery.message.position()]).await
    }

    /// Waits for a first message, then takes what arrives until `batching` says stop.
    pub async fn next_batch(&mut self, batching: Batching) -> Result<Batch<T>, Stopped> {
        let first = self.receive().await?;
        self.fill_batch(first, batching).await
    }

    /// A batch starting with `first`, a delivery [`Consumer::next`] gave out and nothing has
    /// committed since: for a loop that waits on other things too (`next` is cancel-safe in a
    /// `select!`, a half-taken batch is not), then takes the rest of the batch.
    pub async fn batch_from(
        &mut self,
        first: Delivery<T>,
        batching: Batching,
    ) -> Result<Batch<T>, Stopped> {
        self.fill_batch(Received::Event(first), batching).await
    }

    async fn fill_batch(
        &mut self,
        first: Received<T>,
        batching: Batching,
    ) -> Result<Batch<T>, Stopped> {
        let mut batch = Batch {
            deliveries: Vec::new(),
            taken: Vec::new(),
        };
        batch.take(first);
        let deadline = Instant::now() + batching.max_wait;
        while batch.messages() < batching.max_messages {
            // `timeout_at` polls `receive` before its deadline: what is queued is taken even
            // once the deadline has passed.
            match tokio::time::timeout_at(deadline, self.receive()).await {
                Ok(received) => batch.take(received?),
                Err(_elapsed) => break,
            }
        }
        Ok(batch)
    }

    /// Commits `batch` in one call once its effects are durable, retrying until it is taken.
    pub async fn commit_batch(&mut self, batch: &Batch<T>) -> Result<(), Stopped> {
        self.commit_positions(&batch.positions()).await
    }

    /// The next message, decoded or counted as malformed; pauses on transport errors.
    pub(super) async fn receive(&mut self) -> Result<Received<T>, Stopped> {
        loop {
            self.reads.pause().await?;
            let message = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(Stopped),
                message = self.subscription.next() => message,
            };
            match message {
                Ok(message) => {
                    self.reads.succeeded();
                    return Ok(self.received(message));
                }
                Err(BusError::Closed) => return Err(Stopped),
                Err(error) => self.reads.failed(&error),
            }
        }
    }

    /// Commits past a malformed message (see the type's documentation).
    pub(super) async fn commit_past(&mut self, message: &BusMessage) -> Result<(), Stopped> {
        self.commit_positions(&[message.position()]).await
    }

    async fn commit_positions(&mut self, positions: &[Position]) -> Result<(), Stopped> {
        loop {
            match self.subscription.commit_positions(positions).await {
                Ok(()) => {
                    self.commits.succeeded();
                    return Ok(());
                }
                Err(BusError::Closed) => return Err(Stopped),
                Err(error) => self.commits.retry_after(&error).await?,
            }
        }
    }

    fn received(&mut self, message: BusMessage) -> Received<T> {
        match decode::<T>(&message) {
            Decoded::Ok(event) => {
                self.last_malformed = None;
                Received::Event(Delivery { event, message })
            }
            Decoded::Malformed(reason) => {
                self.malformed.count(message.topic);
                // The same garbage several times in a row is logged once.
                if self.last_malformed.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(
                        topic = message.topic.label(),
                        partition = message.partition,
                        offset = message.offset,
                        key = %message.key,
                        reason,
                        "skipping a malformed message"
                    );
                    self.last_malformed = Some(reason);
                }
                Received::Malformed(message)
            }
        }
    }
}

impl<T> Batch<T> {
    fn take(&mut self, received: Received<T>) {
        match received {
            Received::Event(delivery) => {
                self.taken.push(delivery.message.position());
                self.deliveries.push(delivery);
            }
            Received::Malformed(message) => self.taken.push(message.position()),
        }
    }
}
