//! Publish → consume latency of the Kafka bus over librdkafka's mock cluster (3 brokers on
//! loopback, in this process). The mock cluster is a correctness harness, not a Kafka broker:
//! these figures show the bus's own overhead and its tuning (`fetch.wait.max.ms`, `linger.ms`),
//! not what a real Kafka cluster does.
//!
//!   cargo bench -p shared --bench kafka_bus_latency
//!
//! A plain binary (`harness = false`): criterion reports means, these are percentiles.

use std::time::{Duration, Instant};

use kafka_bus::{KafkaBus, KafkaSubscription, StartFrom};
use rdkafka::mocking::MockCluster;
use serde::{Deserialize, Serialize};
use shared::bus::{decode, publish_json, BusMessage, Decoded, Subscription, Topic};
use shared::config::KafkaSettings;

#[derive(Serialize, Deserialize)]
struct Stamped {
    /// Nanoseconds since the benchmark's start when publishing began (same process, same clock).
    sent_at_nanos: u64,
}

const PARTITIONS: i32 = 6;

fn settings(
    mock: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
) -> KafkaSettings {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    KafkaSettings {
        bootstrap_servers: Some(mock.bootstrap_servers()),
        price_events_topic: format!("bench-price-events-{unique}"),
        alert_changes_topic: format!("bench-alert-changes-{unique}"),
        notifications_topic: format!("bench-notifications-{unique}"),
        delivery_events_topic: format!("bench-delivery-events-{unique}"),
        channel_tests_topic: format!("bench-channel-tests-{unique}"),
        channel_test_results_topic: format!("bench-channel-test-results-{unique}"),
        partitions: PARTITIONS,
        replication_factor: 3,
        session_timeout: Duration::from_secs(6),
        statistics_interval: Duration::ZERO,
        ..KafkaSettings::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<44} n={:<6} p50={:>7.2} ms  p90={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.90)),
        ms(percentile(&samples, 0.99)),
        ms(samples[samples.len() - 1]),
    );
}

/// The next message and how long after its publish began it arrived.
async fn receive(consumer: &mut KafkaSubscription, start: Instant) -> (BusMessage, Duration) {
    let message = tokio::time::timeout(Duration::from_secs(30), consumer.next())
        .await
        .expect("a message within 30 s")
        .expect("open");
    let now = start.elapsed();
    match decode::<Stamped>(&message) {
        Decoded::Ok(stamped) => {
            let latency = now.saturating_sub(Duration::from_nanos(stamped.sent_at_nanos));
            (message, latency)
        }
        Decoded::Malformed(reason) => panic!("malformed benchmark message: {reason}"),
    }
}

async fn publish(bus: &KafkaBus, seq: u64, start: Instant) {
    let stamped = Stamped {
        sent_at_nanos: start.elapsed().as_nanos() as u64,
    };
    publish_json(
        bus,
        Topic::PriceEvents,
        &format!("SYM{}", seq % 55),
        &stamped,
    )
    .await
    .expect("published");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mock = MockCluster::new(3).expect("mock cluster");
    // The shipped defaults first, then the tightest settings, to show what the knobs cost.
    for (fetch_wait_max_ms, linger_ms) in [(10, 2), (1, 0)] {
        let settings = KafkaSettings {
            fetch_wait_max: Duration::from_millis(fetch_wait_max_ms),
            linger: Duration::from_millis(linger_ms),
            ..settings(&mock)
        };
        for topic in [
            &settings.price_events_topic,
            &settings.alert_changes_topic,
            &settings.notifications_topic,
            &settings.delivery_events_topic,
            &settings.channel_tests_topic,
            &settings.channel_test_results_topic,
        ] {
            mock.create_topic(topic, PARTITIONS, 3).expect("topic");
        }
        runtime.block_on(run(settings));
        println!();
    }
}

async fn run(settings: KafkaSettings) {
    println!(
        "Kafka bus over librdkafka's mock cluster (3 brokers, {PARTITIONS} partitions), \
         fetch.wait.max.ms={}, linger.ms={}",
        settings.fetch_wait_max.as_millis(),
        settings.linger.as_millis()
    );
    let bus = KafkaBus::connect(&settings).await.expect("bus");
    let mut consumer = bus
        .subscribe_member(Topic::PriceEvents, "bench", StartFrom::Earliest)
        .await
        .expect("subscribed");
    let start = Instant::now();

    // Warm-up: the group join and the first fetches are not what is measured.
    for seq in 0..200 {
        publish(&bus, seq, start).await;
    }
    for _ in 0..200 {
        receive(&mut consumer, start).await;
    }

    // 1. One message at a time: publish (acks=all), receive, commit.
    const ONE_BY_ONE: u64 = 2_000;
    let mut publish_to_receive = Vec::new();
    let mut commits = Vec::new();
    for seq in 0..ONE_BY_ONE {
        publish(&bus, seq, start).await;
        let (message, message_latency) = receive(&mut consumer, start).await;
        publish_to_receive.push(message_latency);
        let before_commit = Instant::now();
        consumer.commit(&message).await.expect("committed");
        commits.push(before_commit.elapsed());
    }
    report("one at a time: publish -> receive", publish_to_receive);
    report("one at a time: synchronous commit", commits);

    // 2. A steady stream from a separate publisher at a fixed rate.
    for rate in [200u64, 1_000] {
        const STREAMED: u64 = 3_000;
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
                for seq in 0..STREAMED {
                    ticker.tick().await;
                    let bus = bus.clone();
                    // Publishes overlap (each awaits its own acknowledgement), as several
                    // ingestor polls would; the timestamp is taken when publishing starts.
                    tokio::spawn(async move { publish(&bus, seq, start).await });
                }
            })
        };
        let mut latencies = Vec::with_capacity(STREAMED as usize);
        for _ in 0..STREAMED {
            let (_, latency) = receive(&mut consumer, start).await;
            latencies.push(latency);
        }
        publisher.await.expect("publisher");
        report(
            &format!("steady {rate} msg/s: publish -> receive"),
            latencies,
        );
    }

    // 3. Throughput: a burst published concurrently, drained by one consumer (no commits).
    const BURST: u64 = 20_000;
    let began = Instant::now();
    let mut publishers = tokio::task::JoinSet::new();
    for chunk in 0..8u64 {
        let bus = bus.clone();
        publishers.spawn(async move {
            let mut pending = futures::stream::FuturesUnordered::new();
            for seq in (chunk..BURST).step_by(8) {
                let bus = bus.clone();
                pending.push(async move { publish(&bus, seq, start).await });
                if pending.len() >= 256 {
                    futures::StreamExt::next(&mut pending).await;
                }
            }
            while futures::StreamExt::next(&mut pending).await.is_some() {}
        });
    }
    for _ in 0..BURST {
        receive(&mut consumer, start).await;
    }
    let elapsed = began.elapsed();
    while publishers.join_next().await.is_some() {}
    println!(
        "{:<44} {BURST} messages in {:.2} s = {:.0} msg/s (mock cluster, not Kafka)",
        "burst: publish -> receive throughput",
        elapsed.as_secs_f64(),
        BURST as f64 / elapsed.as_secs_f64()
    );
}
