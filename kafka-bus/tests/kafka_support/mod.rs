//! A three-broker librdkafka mock cluster per test, and deadline-bounded polling helpers.

use std::collections::HashSet;
use std::time::Duration;

use kafka_bus::{KafkaBus, KafkaSubscription, StartFrom};
use prometheus::Registry;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use shared::bus::{BusMessage, Subscription, Topic};
use shared::config::KafkaSettings;
use tokio::time::{timeout, timeout_at, Instant};

pub const BROKERS: i32 = 3;

/// A mock cluster with the bus's three topics, named for this test alone.
pub struct TestCluster {
    pub mock: MockCluster<'static, DefaultProducerContext>,
    pub settings: KafkaSettings,
}

impl TestCluster {
    /// Three brokers; the test's topic created with `partitions` partitions, replicated to all.
    pub fn start(partitions: i32) -> TestCluster {
        let mock = MockCluster::new(BROKERS).expect("mock cluster starts");
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let settings = KafkaSettings {
            bootstrap_servers: Some(mock.bootstrap_servers()),
            price_events_topic: format!("price-events-{unique}"),
            alert_changes_topic: format!("alert-changes-{unique}"),
            notifications_topic: format!("notifications-{unique}"),
            delivery_events_topic: format!("delivery-events-{unique}"),
            channel_tests_topic: format!("channel-tests-{unique}"),
            channel_test_results_topic: format!("channel-test-results-{unique}"),
            consumer_group_prefix: format!("test-{unique}"),
            partitions,
            replication_factor: BROKERS,
            session_timeout: Duration::from_secs(6),
            fetch_wait_max: Duration::from_millis(10),
            linger: Duration::from_millis(2),
            statistics_interval: Duration::from_millis(100),
            admin_timeout: Duration::from_secs(5),
        };
        // The mock broker has no CreateTopics: the test creates its topic, as an operator would.
        for topic in [
            &settings.price_events_topic,
            &settings.alert_changes_topic,
            &settings.notifications_topic,
            &settings.delivery_events_topic,
            &settings.channel_tests_topic,
            &settings.channel_test_results_topic,
        ] {
            mock.create_topic(topic, partitions, BROKERS)
                .expect("topic created");
        }
        TestCluster { mock, settings }
    }

    pub async fn bus(&self) -> KafkaBus {
        KafkaBus::connect(&self.settings)
            .await
            .expect("bus connects to the mock cluster")
    }

    pub fn group(&self, name: &str) -> String {
        format!("{}-{name}", self.settings.consumer_group_prefix)
    }
}

pub async fn member(bus: &KafkaBus, group: &str) -> KafkaSubscription {
    bus.subscribe_member(Topic::PriceEvents, group, StartFrom::Earliest)
        .await
        .expect("subscribes")
}

pub fn deadline(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

/// The next message, failing the test if none arrives before `deadline`.
pub async fn next_before(subscription: &mut dyn Subscription, deadline: Instant) -> BusMessage {
    timeout_at(deadline, subscription.next())
        .await
        .expect("a message before the deadline")
        .expect("the subscription is open")
}

/// Polls every member (serving their rebalances) until each owns at least one partition and
/// together they own all `partitions`; no message may arrive meanwhile.
pub async fn until_assigned(members: &mut [&mut KafkaSubscription], partitions: usize) {
    let deadline = deadline(30);
    loop {
        let mut owned: Vec<i32> = members
            .iter()
            .flat_map(|m| m.assigned_partitions())
            .collect();
        let total = owned.len();
        owned.sort_unstable();
        owned.dedup();
        if members.iter().all(|m| !m.assigned_partitions().is_empty())
            && owned.len() == partitions
            && total == partitions
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "partitions not assigned before the deadline"
        );
        for member in members.iter_mut() {
            if let Ok(message) = timeout(Duration::from_millis(20), member.next()).await {
                panic!("no message expected while joining: {message:?}");
            }
        }
    }
}

/// An effect applied at most once per event id, like a row with a unique key: redelivered
/// messages are recognised and not applied twice. The effect is adding `amount` to a total.
#[derive(Default)]
pub struct EffectStore {
    seen: HashSet<String>,
    pub total: u64,
    pub attempts: u32,
}

impl EffectStore {
    /// Applies the effect of `event_id`; false if it was already applied.
    pub fn apply(&mut self, event_id: &str, amount: u64) -> bool {
        self.attempts += 1;
        let first_time = self.seen.insert(event_id.to_owned());
        if first_time {
            self.total += amount;
        }
        first_time
    }
}

/// Keeps the consumer polling (statistics are served by its poll) until the sample has `want`.
pub async fn poll_until_sample(
    consumer: &mut KafkaSubscription,
    registry: &Registry,
    name: &str,
    labels: &[(&str, &str)],
    want: f64,
) {
    let until = deadline(30);
    while sample(registry, name, labels) != Some(want) {
        assert!(
            tokio::time::Instant::now() < until,
            "{name}{labels:?} never became {want}: {:?}",
            sample(registry, name, labels)
        );
        if let Ok(message) = timeout(Duration::from_millis(50), consumer.next()).await {
            panic!("no message expected: {message:?}");
        }
    }
}

/// The value of the sample of `name` with exactly `labels`, if present.
pub fn sample(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = registry
        .gather()
        .into_iter()
        .find(|f| f.get_name() == name)?;
    family.get_metric().iter().find_map(|metric| {
        let matches = metric.get_label().len() == labels.len()
            && labels.iter().all(|(key, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|pair| pair.get_name() == *key && pair.get_value() == *value)
            });
        matches.then(|| {
            if metric.has_gauge() {
                metric.get_gauge().get_value()
            } else {
                metric.get_counter().get_value()
            }
        })
    })
}
