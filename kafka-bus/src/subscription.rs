//! One consumer-group member on one topic.

use std::sync::Arc;

use async_trait::async_trait;
use futures::FutureExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::blocking::{drop_off_async_thread, on_blocking_thread};
use crate::consumer_context::{BusConsumerContext, ConsumerState};
use shared::bus::ConsumerMetrics;
use shared::bus::{BusError, BusMessage, Position, Subscription, Topic};

type BusConsumer = StreamConsumer<BusConsumerContext>;

/// A member of a consumer group: receives the messages of the partitions it is assigned and
/// commits each after its effect is durable.
pub struct KafkaSubscription {
    topic: Topic,
    topic_name: String,
    /// `None` only while being dropped.
    consumer: Option<Arc<BusConsumer>>,
    state: Arc<ConsumerState>,
    /// The last consumer error logged, so a repeating one is logged once, not in a loop.
    last_error: Option<String>,
}

impl KafkaSubscription {
    pub(crate) fn new(
        topic: Topic,
        topic_name: String,
        consumer: BusConsumer,
        state: Arc<ConsumerState>,
    ) -> KafkaSubscription {
        KafkaSubscription {
            topic,
            topic_name,
            consumer: Some(Arc::new(consumer)),
            state,
            last_error: None,
        }
    }

    /// Records partitions the consumer assigned itself (no group, so no rebalance callback).
    pub(crate) fn assigned_manually(&self, partitions: &[i32]) {
        self.state.assign_manually(partitions);
    }

    /// The partitions this member owns right now (empty until its first poll joins the group).
    pub fn assigned_partitions(&self) -> Vec<i32> {
        self.state.assigned_partitions()
    }

    /// Rebalance callbacks seen by this member (assignments, revocations, errors).
    pub fn rebalance_count(&self) -> u64 {
        self.state.rebalance_count()
    }

    fn consumer(&self) -> Result<Arc<BusConsumer>, BusError> {
        self.consumer.clone().ok_or(BusError::Closed)
    }

    /// librdkafka recovers on its own from what it reports here (broker reconnects, coordinator
    /// moves, a topic not created yet), so the consumer keeps waiting for messages.
    fn note_consumer_error(&mut self, error: &KafkaError) {
        let text = error.to_string();
        if self.last_error.as_deref() != Some(text.as_str()) {
            tracing::warn!(topic = %self.topic_name, error = %text, "kafka consumer error; still consuming");
            self.last_error = Some(text);
        }
    }

    fn to_bus_message(&self, message: &BorrowedMessage<'_>) -> BusMessage {
        BusMessage {
            topic: self.topic,
            key: message
                .key()
                .map(|key| String::from_utf8_lossy(key).into_owned())
                .unwrap_or_default(),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    fn topic(&self) -> Topic {
        self.topic
    }

    async fn next(&mut self) -> Result<BusMessage, BusError> {
        let consumer = self.consumer()?;
        loop {
            match consumer.recv().await {
                Ok(message) => {
                    self.last_error = None;
                    return Ok(self.to_bus_message(&message));
                }
                Err(error) => self.note_consumer_error(&error),
            }
        }
    }

    fn try_next(&mut self) -> Result<Option<BusMessage>, BusError> {
        let consumer = self.consumer()?;
        // `recv` is cancel-safe: polling it once either takes a ready message or nothing.
        match consumer.recv().now_or_never() {
            Some(Ok(message)) => {
                self.last_error = None;
                Ok(Some(self.to_bus_message(&message)))
            }
            Some(Err(error)) => {
                self.note_consumer_error(&error);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn commit_positions(&mut self, positions: &[Position]) -> Result<(), BusError> {
        let mut offsets = TopicPartitionList::new();
        for position in Position::highest_per_partition(positions.iter().copied()) {
            if !self.state.is_assigned(position.partition) {
                // The partition moved to another member, which re-reads from the last commit;
                // an old offset committed now could move the group backwards.
                tracing::debug!(
                    topic = %self.topic_name,
                    partition = position.partition,
                    offset = position.offset,
                    "not committing a message of a partition no longer assigned"
                );
                continue;
            }
            offsets
                .add_partition_offset(
                    &self.topic_name,
                    position.partition,
                    Offset::Offset(position.offset + 1),
                )
                .map_err(|e| BusError::Transport(e.to_string()))?;
        }
        if offsets.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer()?;
        // A synchronous commit waits for the coordinator: keep it off the async threads.
        match on_blocking_thread(move || consumer.commit(&offsets, CommitMode::Sync)).await? {
            Ok(()) => Ok(()),
            Err(error) if lost_to_rebalance(&error) => {
                tracing::warn!(
                    topic = %self.topic_name,
                    ?positions,
                    error = %error,
                    "commit lost to a rebalance; the partition's next owner re-reads from the last commit"
                );
                Ok(())
            }
            Err(error) => Err(BusError::Transport(format!("commit failed: {error}"))),
        }
    }

    fn report_metrics_to(&mut self, metrics: &ConsumerMetrics) {
        self.state.attach(metrics);
    }
}

/// Whether a commit failed only because the group is rebalancing: the message's partition is
/// re-read by its next owner from the last commit, so the caller has nothing to do.
fn lost_to_rebalance(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::State
                | RDKafkaErrorCode::AssignmentLost
        )
    )
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        self.state.forget_lag();
        // Closing a consumer leaves the group and waits for the broker: not on an async thread.
        if let Some(consumer) = self.consumer.take() {
            drop_off_async_thread(consumer);
        }
    }
}
