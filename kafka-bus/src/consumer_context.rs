//! What librdkafka tells a consumer in callbacks: rebalances (tracked and counted) and
//! statistics (turned into the lag gauge).
//!
//! Both callbacks run inside the consumer's poll, i.e. while a `next()` is awaited, and do
//! nothing but update a few in-memory values.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, TopicPartitionList};
use serde::Deserialize;

use shared::bus::{ConsumerMetrics, REBALANCE_EVENTS};

/// One consumer's view of its group membership, shared by its callbacks and its subscription.
pub(crate) struct ConsumerState {
    topic: String,
    group: String,
    assigned: Mutex<BTreeSet<i32>>,
    /// Rebalances seen, by `REBALANCE_EVENTS` index, also before metrics were attached.
    rebalances: [AtomicU64; 3],
    metrics: Mutex<Option<ConsumerMetrics>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent even if a holder panicked; keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ConsumerState {
    pub(crate) fn new(topic: &str, group: &str) -> ConsumerState {
        ConsumerState {
            topic: topic.to_owned(),
            group: group.to_owned(),
            assigned: Mutex::new(BTreeSet::new()),
            rebalances: Default::default(),
            metrics: Mutex::new(None),
        }
    }

    pub(crate) fn is_assigned(&self, partition: i32) -> bool {
        lock(&self.assigned).contains(&partition)
    }

    /// Records partitions assigned by the consumer itself (no group balancing, so no
    /// rebalance callback will).
    pub(crate) fn assign_manually(&self, partitions: &[i32]) {
        lock(&self.assigned).extend(partitions);
    }

    pub(crate) fn assigned_partitions(&self) -> Vec<i32> {
        lock(&self.assigned).iter().copied().collect()
    }

    pub(crate) fn rebalance_count(&self) -> u64 {
        self.rebalances
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Starts exporting to `metrics`, carrying over rebalances counted so far.
    pub(crate) fn attach(&self, metrics: &ConsumerMetrics) {
        for (index, event) in REBALANCE_EVENTS.iter().enumerate() {
            let counter = metrics
                .rebalances
                .with_label_values(&[self.group.as_str(), event]);
            counter.inc_by(self.rebalances[index].load(Ordering::Relaxed));
        }
        *lock(&self.metrics) = Some(metrics.clone());
    }

    /// Removes this consumer's lag series, e.g. when it leaves the group.
    pub(crate) fn forget_lag(&self) {
        let partitions = self.assigned_partitions();
        self.remove_lag(&partitions);
    }

    fn count_rebalance(&self, index: usize) {
        self.rebalances[index].fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = lock(&self.metrics).as_ref() {
            metrics
                .rebalances
                .with_label_values(&[self.group.as_str(), REBALANCE_EVENTS[index]])
                .inc();
        }
    }

    fn remove_lag(&self, partitions: &[i32]) {
        if let Some(metrics) = lock(&self.metrics).as_ref() {
            for partition in partitions {
                // Err only means the series was never set.
                let _ = metrics.lag.remove_label_values(&[
                    self.topic.as_str(),
                    &partition.to_string(),
                    self.group.as_str(),
                ]);
            }
        }
    }

    fn partitions_of_our_topic(&self, list: &TopicPartitionList) -> Vec<i32> {
        list.elements()
            .iter()
            .filter(|element| element.topic() == self.topic)
            .map(|element| element.partition())
            .collect()
    }

    fn on_rebalance(&self, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = self.partitions_of_our_topic(list);
                tracing::info!(group = %self.group, topic = %self.topic, ?partitions, "partitions assigned");
                lock(&self.assigned).extend(partitions);
                self.count_rebalance(0);
            }
            Rebalance::Revoke(list) => {
                let partitions = self.partitions_of_our_topic(list);
                tracing::info!(group = %self.group, topic = %self.topic, ?partitions, "partitions revoked");
                self.remove_lag(&partitions);
                let mut assigned = lock(&self.assigned);
                for partition in &partitions {
                    assigned.remove(partition);
                }
                drop(assigned);
                self.count_rebalance(1);
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, error = %error, "consumer group rebalance failed");
                self.count_rebalance(2);
            }
        }
    }

    fn on_statistics(&self, statistics: &Statistics) {
        let metrics = lock(&self.metrics);
        let Some(metrics) = metrics.as_ref() else {
            return;
        };
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let assigned = lock(&self.assigned);
        for (partition, stats) in &topic.partitions {
            let Ok(id) = partition.parse::<i32>() else {
                continue;
            };
            if !assigned.contains(&id) {
                continue;
            }
            if let Some(lag) = stats.lag() {
                metrics
                    .lag
                    .with_label_values(&[self.topic.as_str(), partition, self.group.as_str()])
                    .set(lag);
            }
        }
    }
}

/// The few fields of librdkafka's statistics JSON the lag gauge needs; the rest is ignored so
/// a newer librdkafka adding fields cannot break it.
#[derive(Debug, Deserialize)]
struct Statistics {
    #[serde(default)]
    topics: HashMap<String, TopicStatistics>,
}

#[derive(Debug, Deserialize)]
struct TopicStatistics {
    #[serde(default)]
    partitions: HashMap<String, PartitionStatistics>,
}

#[derive(Debug, Deserialize)]
struct PartitionStatistics {
    #[serde(default = "unknown")]
    hi_offset: i64,
    #[serde(default = "unknown")]
    app_offset: i64,
    #[serde(default = "unknown")]
    consumer_lag: i64,
    /// The fetcher's position: where an idle consumer (nothing delivered yet, e.g. a replica
    /// that starts at the end of the log) stands.
    #[serde(default = "unknown")]
    next_offset: i64,
}

fn unknown() -> i64 {
    -1
}

impl PartitionStatistics {
    /// Lag from the committed offset; before the group's first commit on this partition, from
    /// what was handed to the application (librdkafka reports -1 for unknown values).
    fn lag(&self) -> Option<i64> {
        if self.consumer_lag >= 0 {
            Some(self.consumer_lag)
        } else if self.hi_offset >= 0 && self.app_offset >= 0 {
            Some((self.hi_offset - self.app_offset).max(0))
        } else if self.hi_offset >= 0 && self.next_offset >= 0 {
            Some((self.hi_offset - self.next_offset).max(0))
        } else {
            None
        }
    }
}

/// The rdkafka context of every bus consumer.
pub(crate) struct BusConsumerContext {
    pub(crate) state: std::sync::Arc<ConsumerState>,
}

impl ClientContext for BusConsumerContext {
    fn stats_raw(&self, statistics: &[u8]) {
        match serde_json::from_slice::<Statistics>(statistics) {
            Ok(statistics) => self.state.on_statistics(&statistics),
            Err(error) => tracing::debug!(error = %error, "unreadable librdkafka statistics"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // librdkafka retries on its own (reconnects, coordinator moves); these are reports.
        tracing::warn!(group = %self.state.group, error = %error, reason, "kafka consumer error");
    }
}

impl ConsumerContext for BusConsumerContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.state.on_rebalance(rebalance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_comes_from_the_committed_offset_and_falls_back_to_the_delivered_one() {
        let stats: PartitionStatistics =
            serde_json::from_str(r#"{"hi_offset":10,"app_offset":7,"consumer_lag":5}"#)
                .expect("parses");
        assert_eq!(stats.lag(), Some(5));
        let never_committed: PartitionStatistics =
            serde_json::from_str(r#"{"hi_offset":10,"app_offset":7,"consumer_lag":-1}"#)
                .expect("parses");
        assert_eq!(never_committed.lag(), Some(3));
        let unknown: PartitionStatistics =
            serde_json::from_str(r#"{"hi_offset":-1,"app_offset":-1,"consumer_lag":-1}"#)
                .expect("parses");
        assert_eq!(unknown.lag(), None);
        let idle_at_the_end: PartitionStatistics = serde_json::from_str(
            r#"{"hi_offset":10,"app_offset":-1,"consumer_lag":-1,"next_offset":10}"#,
        )
        .expect("statistics");
        assert_eq!(idle_at_the_end.lag(), Some(0));
    }
}
