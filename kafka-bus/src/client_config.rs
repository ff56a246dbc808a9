//! librdkafka configuration of the bus's producer, consumers and admin client.

use rdkafka::ClientConfig;

use shared::config::KafkaSettings;

/// Where a new consumer group starts reading a partition it has never committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// Every retained message: nothing published before the group's first start is missed.
    Earliest,
    /// Only messages published from now on (live fan-out, e.g. a gateway's WebSockets).
    Latest,
}

fn common(bootstrap_servers: &str, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("client.id", client_id)
        // Small messages on a latency budget: send each as soon as it is ready.
        .set("socket.nagle.disable", "true");
    config
}

/// Idempotent (no duplicates or reordering on retries), acknowledged by every in-sync replica,
/// batching for `linger`.
pub(crate) fn producer(settings: &KafkaSettings, bootstrap_servers: &str) -> ClientConfig {
    let mut config = common(bootstrap_servers, "pricealert-producer");
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", settings.linger.as_millis().to_string());
    config
}

/// A group member that commits only what the application says is done.
pub(crate) fn consumer(
    settings: &KafkaSettings,
    bootstrap_servers: &str,
    group: &str,
    start: StartFrom,
) -> ClientConfig {
    let mut config = common(bootstrap_servers, &format!("pricealert-{group}"));
    // Heartbeats must come several times per session or a healthy member is evicted.
    let heartbeat_ms = (settings.session_timeout.as_millis() / 3).clamp(100, 3_000);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        // Offsets are committed explicitly per message, never from librdkafka's offset store.
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            match start {
                StartFrom::Earliest => "earliest",
                StartFrom::Latest => "latest",
            },
        )
        .set(
            "session.timeout.ms",
            settings.session_timeout.as_millis().to_string(),
        )
        .set("heartbeat.interval.ms", heartbeat_ms.to_string())
        .set(
            "fetch.wait.max.ms",
            settings.fetch_wait_max.as_millis().to_string(),
        )
        .set(
            "statistics.interval.ms",
            settings.statistics_interval.as_millis().to_string(),
        );
    config
}

pub(crate) fn admin(bootstrap_servers: &str) -> ClientConfig {
    common(bootstrap_servers, "pricealert-admin")
}
