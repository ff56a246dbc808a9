//! The Kafka transport of the bus (scaled mode), on librdkafka through rdkafka: an
//! [`EventBus`] for `shared::bus`, in a crate of its own so the kernel does not carry
//! librdkafka. [`bus_from_settings`] picks it, or the in-process bus, from the settings.
//!
//! - Topics: one per [`Topic`], names from [`KafkaSettings`], created at start if missing.
//! - Producer: idempotent, `acks=all`, batching for `linger`; `publish` returns once the
//!   broker has acknowledged the message (its delivery report).
//! - Consumers: one librdkafka consumer per subscription, auto-commit and offset store off;
//!   `commit` synchronously commits the message's offset + 1 after the caller's effect is
//!   durable. Rebalances are counted and statistics feed `kafka_consumer_lag` (see
//!   `shared::bus::ConsumerMetrics`).
//! - librdkafka calls that block (client creation and destruction, synchronous commits) run on
//!   the blocking pool, never on an async thread.
//!
//! For services:
//! - Members of one group (`ServiceContext::consumer_group("evaluator")`) share the partitions;
//!   a process that needs every message (each gateway replica) uses a group of its own, e.g.
//!   `format!("{}-{}", context.consumer_group("gateway"), instance_id)`, with
//!   `subscribe_latest` so it starts at the end of the log. A process that loads a snapshot
//!   and then needs every later message (an evaluator on `alert-changes`) uses
//!   `subscribe_from_now` before loading: every partition, positioned at its end before the
//!   call returns, no group balancing.
//! - A message may come again after a crash or a rebalance (at-least-once): effects must be
//!   idempotent. A commit that loses a race with a rebalance returns `Ok` (logged): the
//!   partition's next owner re-reads from the last commit.
//! - `ConsumerMetrics::register(&registry)`, once per service registry, then
//!   `subscription.report_metrics_to(&metrics)` for each subscription, exports the consumers'
//!   lag and rebalances on the service's own registry.

mod admin;
mod blocking;
mod client_config;
mod connect;
mod consumer_context;
mod subscription;

use std::sync::Arc;

use async_trait::async_trait;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::error::KafkaResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use shared::bus::{BusError, EventBus, Subscription, Topic};
use shared::config::KafkaSettings;

use self::blocking::{drop_off_async_thread, on_blocking_thread};
use self::consumer_context::{BusConsumerContext, ConsumerState};

pub use self::client_config::StartFrom;
pub use self::connect::bus_from_settings;
pub use self::subscription::KafkaSubscription;

/// How long a metadata or end-offset lookup may take before subscribing fails.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The bus over a Kafka cluster. Cheap to clone; all clones share one producer.
#[derive(Clone)]
pub struct KafkaBus {
    inner: Arc<Inner>,
}

struct Inner {
    settings: KafkaSettings,
    bootstrap_servers: String,
    /// `None` only while being dropped.
    producer: Option<FutureProducer>,
}

impl KafkaBus {
    /// Creates the topics that are missing, then the producer. Fails if
    /// `settings.bootstrap_servers` is unset or the cluster cannot be reached.
    #[tracing::instrument(skip_all)]
    pub async fn connect(settings: &KafkaSettings) -> Result<KafkaBus, BusError> {
        let bootstrap_servers = settings
            .bootstrap_servers
            .clone()
            .ok_or_else(|| BusError::Transport("no Kafka bootstrap servers set".to_owned()))?;
        let settings = settings.clone();
        let topics: Vec<&str> = Topic::ALL
            .iter()
            .map(|topic| topic_name(&settings, *topic))
            .collect();
        admin::ensure_topics(&settings, &bootstrap_servers, &topics).await?;
        let config = client_config::producer(&settings, &bootstrap_servers);
        let producer: FutureProducer = on_blocking_thread(move || config.create())
            .await?
            .map_err(|e| BusError::Transport(format!("could not create the producer: {e}")))?;
        tracing::info!(%bootstrap_servers, "connected to kafka");
        Ok(KafkaBus {
            inner: Arc::new(Inner {
                settings,
                bootstrap_servers,
                producer: Some(producer),
            }),
        })
    }

    /// The Kafka topic name of `topic`.
    pub fn topic_name(&self, topic: Topic) -> &str {
        topic_name(&self.inner.settings, topic)
    }

    /// Joins `group` on `topic` and returns the concrete member (the trait's `subscribe` boxes
    /// it). Membership starts with the first `next()`, which is when partitions are assigned.
    pub async fn subscribe_member(
        &self,
        topic: Topic,
        group: &str,
        start: StartFrom,
    ) -> Result<KafkaSubscription, BusError> {
        let (subscription, ()) = self
            .consumer(topic, group, start, |consumer, topic_name| {
                consumer.subscribe(&[topic_name])
            })
            .await?;
        Ok(subscription)
    }

    /// A consumer assigned every partition of `topic` at its current end (see
    /// [`EventBus::subscribe_from_now`]). `group` only names its commits; it joins no group.
    pub async fn subscribe_from_end(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<KafkaSubscription, BusError> {
        let (subscription, partitions) = self
            .consumer(topic, group, StartFrom::Latest, |consumer, topic_name| {
                let metadata = consumer.fetch_metadata(Some(topic_name), LOOKUP_TIMEOUT)?;
                let partitions: Vec<i32> = metadata
                    .topics()
                    .iter()
                    .filter(|t| t.name() == topic_name && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect();
                let mut ends = TopicPartitionList::new();
                for &partition in &partitions {
                    let (_, end) =
                        consumer.fetch_watermarks(topic_name, partition, LOOKUP_TIMEOUT)?;
                    ends.add_partition_offset(topic_name, partition, Offset::Offset(end))?;
                }
                consumer.assign(&ends)?;
                Ok(partitions)
            })
            .await?;
        if partitions.is_empty() {
            return Err(BusError::Transport(format!(
                "topic {} has no partitions (does it exist?)",
                self.topic_name(topic)
            )));
        }
        subscription.assigned_manually(&partitions);
        Ok(subscription)
    }

    /// Creates a consumer of `topic` and, still on the blocking pool, positions it with
    /// `position` (join the group, or assign partitions), which gets the topic's name.
    async fn consumer<T: Send + 'static>(
        &self,
        topic: Topic,
        group: &str,
        start: StartFrom,
        position: impl FnOnce(&StreamConsumer<BusConsumerContext>, &str) -> KafkaResult<T>
            + Send
            + 'static,
    ) -> Result<(KafkaSubscription, T), BusError> {
        let topic_name = self.topic_name(topic).to_owned();
        let state = Arc::new(ConsumerState::new(&topic_name, group));
        let config = client_config::consumer(
            &self.inner.settings,
            &self.inner.bootstrap_servers,
            group,
            start,
        );
        let context = BusConsumerContext {
            state: Arc::clone(&state),
        };
        let name = topic_name.clone();
        let (consumer, positioned) = on_blocking_thread(move || {
            let consumer = StreamConsumer::from_config_and_context(&config, context)?;
            let positioned = position(&consumer, &name)?;
            Ok::<_, rdkafka::error::KafkaError>((consumer, positioned))
        })
        .await?
        .map_err(|e| BusError::Transport(format!("could not create a consumer: {e}")))?;
        Ok((
            KafkaSubscription::new(topic, topic_name, consumer, state),
            positioned,
        ))
    }
}

fn topic_name(settings: &KafkaSettings, topic: Topic) -> &str {
    match topic {
        Topic::PriceEvents => &settings.price_events_topic,
        Topic::AlertChanges => &settings.alert_changes_topic,
        Topic::Notifications => &settings.notifications_topic,
        Topic::DeliveryEvents => &settings.delivery_events_topic,
        Topic::ChannelTests => &settings.channel_tests_topic,
        Topic::ChannelTestResults => &settings.channel_test_results_topic,
    }
}

#[async_trait]
impl EventBus for KafkaBus {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let producer = self.inner.producer.as_ref().ok_or(BusError::Closed)?;
        let record = FutureRecord::to(self.topic_name(topic))
            .key(key)
            .payload(&payload);
        // `Never` for the local queue: a full queue makes the publisher wait, as on the
        // in-process bus; the delivery itself is bounded by librdkafka's `message.timeout.ms`.
        producer
            .send(record, Timeout::Never)
            .await
            .map(|_delivered| ())
            .map_err(|(error, _message)| publish_failed(&error))
    }

    /// Every message enqueued on the producer first, in order (the idempotent producer keeps
    /// a partition's order), then the acknowledgements awaited together: one round trip and
    /// one `linger` for the lot instead of one each.
    async fn publish_in_order(
        &self,
        topic: Topic,
        messages: Vec<(String, Vec<u8>)>,
    ) -> Result<(), (usize, BusError)> {
        let producer = self.inner.producer.as_ref().ok_or((0, BusError::Closed))?;
        let name = self.topic_name(topic);
        let mut in_flight = Vec::with_capacity(messages.len());
        // Messages before those in flight, all acknowledged.
        let mut acknowledged = 0;
        for (key, payload) in &messages {
            let record = FutureRecord::to(name).key(key.as_str()).payload(payload);
            match producer.send_result(record) {
                Ok(delivery) => in_flight.push(delivery),
                // The local queue is full: what is queued is acknowledged first, then this one
                // waits for room, as `publish` would; the order holds.
                Err((_full, record)) => {
                    acknowledged += all_acknowledged(std::mem::take(&mut in_flight))
                        .await
                        .map_err(|(accepted, error)| (acknowledged + accepted, error))?;
                    producer
                        .send(record, Timeout::Never)
                        .await
                        .map_err(|(error, _message)| (acknowledged, publish_failed(&error)))?;
                    acknowledged += 1;
                }
            }
        }
        all_acknowledged(in_flight)
            .await
            .map(|_| ())
            .map_err(|(accepted, error)| (acknowledged + accepted, error))
    }

    async fn subscribe(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(
            self.subscribe_member(topic, group, StartFrom::Earliest)
                .await?,
        ))
    }

    async fn subscribe_latest(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(
            self.subscribe_member(topic, group, StartFrom::Latest)
                .await?,
        ))
    }

    async fn subscribe_from_now(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(self.subscribe_from_end(topic, group).await?))
    }
}

fn publish_failed(error: &KafkaError) -> BusError {
    BusError::Transport(format!("publish failed: {error}"))
}

/// Awaits each delivery in order: how many were acknowledged, or how many were before the
/// first that failed, and its error.
async fn all_acknowledged(deliveries: Vec<DeliveryFuture>) -> Result<usize, (usize, BusError)> {
    let count = deliveries.len();
    for (accepted, delivery) in deliveries.into_iter().enumerate() {
        match delivery.await {
            Ok(Ok(_delivered)) => {}
            Ok(Err((error, _message))) => return Err((accepted, publish_failed(&error))),
            // The producer went away with the message (shutdown).
            Err(_canceled) => return Err((accepted, BusError::Closed)),
        }
    }
    Ok(count)
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Destroying the producer joins its threads and flushes: not on an async thread.
        if let Some(producer) = self.producer.take() {
            drop_off_async_thread(producer);
        }
    }
}
