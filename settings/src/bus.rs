//! The message bus: in-process channels, or Kafka when bootstrap servers are set.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// Capacity of each in-process channel; a full channel makes publishers wait.
    pub channel_capacity: usize,
    pub kafka: KafkaSettings,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            channel_capacity: 4096,
            kafka: KafkaSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// Set to use Kafka instead of the in-process bus (`KAFKA_BOOTSTRAP_SERVERS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<String>,
    /// `PriceTick`s keyed by symbol (`KAFKA_PRICE_EVENTS_TOPIC`).
    pub price_events_topic: String,
    /// `TriggerEvent`s keyed by user id (`KAFKA_NOTIFICATIONS_TOPIC`).
    pub notifications_topic: String,
    /// `AlertChange`s keyed by symbol (`KAFKA_ALERT_CHANGES_TOPIC`).
    pub alert_changes_topic: String,
    /// `DeliveryEvent`s keyed by user id (`KAFKA_DELIVERY_EVENTS_TOPIC`).
    pub delivery_events_topic: String,
    /// `ChannelTestRequest`s keyed by user id (`KAFKA_CHANNEL_TESTS_TOPIC`).
    pub channel_tests_topic: String,
    /// `ChannelTestResult`s keyed by user id (`KAFKA_CHANNEL_TEST_RESULTS_TOPIC`).
    pub channel_test_results_topic: String,
    /// Consumer groups are named `{prefix}-{service}` (`KAFKA_CONSUMER_GROUP_PREFIX`).
    pub consumer_group_prefix: String,
    /// Partitions of each topic created at start (`KAFKA_PARTITIONS`); existing topics are kept.
    pub partitions: i32,
    /// Replicas of each topic created at start (`KAFKA_REPLICATION_FACTOR`).
    pub replication_factor: i32,
    /// How long a silent consumer keeps its partitions (`KAFKA_SESSION_TIMEOUT_MS`): a killed
    /// process's partitions move after this long, so keep it low.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// How long a broker may hold a fetch waiting for data (`KAFKA_FETCH_WAIT_MAX_MS`); librdkafka's
    /// 500 ms default would dominate tick-to-email latency.
    #[serde(with = "humantime_serde")]
    pub fetch_wait_max: Duration,
    /// How long the producer waits to batch messages (`KAFKA_LINGER_MS`).
    #[serde(with = "humantime_serde")]
    pub linger: Duration,
    /// How often consumers report statistics, which feed `kafka_consumer_lag`
    /// (`KAFKA_STATISTICS_INTERVAL_MS`; 0 turns statistics and the lag gauge off).
    #[serde(with = "humantime_serde")]
    pub statistics_interval: Duration,
    /// How long a topic creation at start may take (`KAFKA_ADMIN_TIMEOUT_MS`).
    #[serde(with = "humantime_serde")]
    pub admin_timeout: Duration,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            bootstrap_servers: None,
            price_events_topic: Topic::PriceEvents.default_name().to_owned(),
            notifications_topic: Topic::Notifications.default_name().to_owned(),
            alert_changes_topic: Topic::AlertChanges.default_name().to_owned(),
            delivery_events_topic: Topic::DeliveryEvents.default_name().to_owned(),
            channel_tests_topic: Topic::ChannelTests.default_name().to_owned(),
            channel_test_results_topic: Topic::ChannelTestResults.default_name().to_owned(),
            consumer_group_prefix: "price-alert".to_owned(),
            partitions: 6,
            replication_factor: 1,
            session_timeout: Duration::from_secs(10),
            fetch_wait_max: Duration::from_millis(10),
            linger: Duration::from_millis(2),
            statistics_interval: Duration::from_secs(5),
            admin_timeout: Duration::from_secs(10),
        }
    }
}

impl BusSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.channel_capacity == 0 {
            return Err(ConfigError::Invalid(
                "bus.channel_capacity must be at least 1".to_owned(),
            ));
        }
        self.kafka.validate()
    }
}

impl KafkaSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.partitions < 1 || self.replication_factor < 1 {
            return Err(ConfigError::Invalid(
                "bus.kafka.partitions and bus.kafka.replication_factor must be at least 1"
                    .to_owned(),
            ));
        }
        let topics = [
            &self.price_events_topic,
            &self.alert_changes_topic,
            &self.notifications_topic,
            &self.delivery_events_topic,
            &self.channel_tests_topic,
            &self.channel_test_results_topic,
        ];
        let distinct: std::collections::BTreeSet<&String> = topics.iter().copied().collect();
        if topics.iter().any(|t| t.trim().is_empty()) || distinct.len() != topics.len() {
            return Err(ConfigError::Invalid(
                "the Kafka topic names must be set and distinct".to_owned(),
            ));
        }
        // librdkafka takes its times as a C `int` of milliseconds.
        let durations = [
            self.session_timeout,
            self.fetch_wait_max,
            self.linger,
            self.statistics_interval,
            self.admin_timeout,
        ];
        if durations.iter().any(|d| d.as_millis() > i32::MAX as u128) {
            return Err(ConfigError::Invalid(
                "bus.kafka durations must be below 2^31 ms (about 24 days)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The bus's topics; their names are settings (Kafka may rename them), so they live here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// `PriceTick`s keyed by symbol.
    PriceEvents,
    /// `AlertChange`s keyed by symbol.
    AlertChanges,
    /// `TriggerEvent`s keyed by user id.
    Notifications,
    /// `DeliveryEvent`s keyed by user id: how each delivery of a fire settled (for live views).
    DeliveryEvents,
    /// `ChannelTestRequest`s keyed by user id: a gateway asks the notifier to send a test
    /// message on a user's chat channel.
    ChannelTests,
    /// `ChannelTestResult`s keyed by user id: how each test send ended; every gateway replica
    /// reads them all and answers the requests it is waiting on.
    ChannelTestResults,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::PriceEvents,
        Topic::AlertChanges,
        Topic::Notifications,
        Topic::DeliveryEvents,
        Topic::ChannelTests,
        Topic::ChannelTestResults,
    ];

    /// The default topic name (Kafka settings may rename them).
    pub fn default_name(&self) -> &'static str {
        match self {
            Topic::PriceEvents => "price-events",
            Topic::AlertChanges => "alert-changes",
            Topic::Notifications => "notifications",
            Topic::DeliveryEvents => "delivery-events",
            Topic::ChannelTests => "channel-tests",
            Topic::ChannelTestResults => "channel-test-results",
        }
    }

    /// The value of a metric's `topic` label: the default name, whatever Kafka settings call
    /// the topic, so labels stay a closed set and dashboards need no per-deployment names.
    pub fn label(&self) -> &'static str {
        self.default_name()
    }
}
