//! The Kafka bus against librdkafka's mock cluster (three brokers on loopback), one topic per
//! test: keyed ordering, consumer groups, commit after the effect, malformed messages, and a
//! broker going down and coming back.

mod kafka_support;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use kafka_support::{
    deadline, member, next_before, poll_until_sample, sample, until_assigned, EffectStore,
    TestCluster,
};
use prometheus::Registry;
use serde::{Deserialize, Serialize};
use shared::bus::{
    decode, publish_json, BatchHandler, Batching, Consumer, ConsumerMetrics, Decoded, Delivery,
    EventBus, MalformedMessages, Subscription, Topic,
};
use shared::config::KafkaSettings;
use shared::events::PriceTick;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// A test payload: the `seq`-th message about `symbol`, worth `amount` when applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Numbered {
    symbol: String,
    seq: u32,
    amount: u64,
}

impl Numbered {
    fn id(&self) -> String {
        format!("{}#{}", self.symbol, self.seq)
    }
}

fn numbered(message: &shared::bus::BusMessage) -> Numbered {
    match decode::<Numbered>(message) {
        Decoded::Ok(value) => value,
        Decoded::Malformed(reason) => panic!("unexpected malformed message: {reason}"),
    }
}

async fn publish_numbered(bus: &dyn EventBus, symbol: &str, seq: u32) {
    let payload = Numbered {
        symbol: symbol.to_owned(),
        seq,
        amount: u64::from(seq) + 1,
    };
    publish_json(bus, Topic::PriceEvents, symbol, &payload)
        .await
        .expect("published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_symbols_messages_arrive_in_publish_order_while_symbols_spread_over_partitions() {
    let cluster = TestCluster::start(6);
    let bus = cluster.bus().await;
    let mut consumer = member(&bus, &cluster.group("ordering")).await;
    let symbols = ["BTC", "ETH", "SOL", "AAPL", "MSFT", "EURUSD", "XAU", "DOGE"];
    const PER_SYMBOL: u32 = 25;

    // One publisher per symbol, all at once, so batches mix symbols.
    let mut publishers = JoinSet::new();
    for symbol in symbols {
        let bus = bus.clone();
        publishers.spawn(async move {
            for seq in 0..PER_SYMBOL {
                publish_numbered(&bus, symbol, seq).await;
            }
        });
    }

    let mut sequences: HashMap<String, Vec<u32>> = HashMap::new();
    let mut partitions: HashMap<String, BTreeSet<i32>> = HashMap::new();
    let until = deadline(60);
    for _ in 0..symbols.len() * PER_SYMBOL as usize {
        let message = next_before(&mut consumer, until).await;
        let value = numbered(&message);
        assert_eq!(message.key, value.symbol, "messages are keyed by symbol");
        sequences
            .entry(value.symbol.clone())
            .or_default()
            .push(value.seq);
        partitions
            .entry(value.symbol)
            .or_default()
            .insert(message.partition);
    }
    while let Some(result) = publishers.join_next().await {
        result.expect("publisher finished");
    }

    for symbol in symbols {
        assert_eq!(
            sequences[symbol],
            (0..PER_SYMBOL).collect::<Vec<_>>(),
            "{symbol} out of order"
        );
        assert_eq!(
            partitions[symbol].len(),
            1,
            "{symbol} kept to one partition"
        );
    }
    let used: BTreeSet<i32> = partitions.values().flatten().copied().collect();
    assert!(used.len() > 1, "symbols spread over partitions: {used:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_group_share_the_partitions_and_every_group_gets_every_message() {
    let cluster = TestCluster::start(4);
    let bus = cluster.bus().await;
    let registry = Registry::new();
    let metrics = ConsumerMetrics::register(&registry);
    let evaluators = cluster.group("evaluators");
    let mut first = member(&bus, &evaluators).await;
    let mut second = member(&bus, &evaluators).await;
    first.report_metrics_to(&metrics);
    second.report_metrics_to(&metrics);
    let mut gateway = member(&bus, &cluster.group("gateway")).await;
    until_assigned(&mut [&mut first, &mut second], 4).await;
    until_assigned(&mut [&mut gateway], 4).await;
    let first_partitions: BTreeSet<i32> = first.assigned_partitions().into_iter().collect();
    let second_partitions: BTreeSet<i32> = second.assigned_partitions().into_iter().collect();
    assert!(first_partitions.is_disjoint(&second_partitions));

    const MESSAGES: u32 = 40;
    for seq in 0..MESSAGES {
        publish_numbered(&bus, &format!("S{}", seq % 10), seq).await;
    }

    let mut by_first = Vec::new();
    let mut by_second = Vec::new();
    let until = deadline(60);
    while by_first.len() + by_second.len() < MESSAGES as usize {
        tokio::select! {
            message = first.next() => {
                let message = message.expect("open");
                first.commit(&message).await.expect("committed");
                by_first.push(message);
            }
            message = second.next() => {
                let message = message.expect("open");
                second.commit(&message).await.expect("committed");
                by_second.push(message);
            }
            _ = tokio::time::sleep_until(until) => panic!("the group did not get every message"),
        }
    }
    assert!(
        !by_first.is_empty() && !by_second.is_empty(),
        "both members got work"
    );
    assert!(by_first
        .iter()
        .all(|m| first_partitions.contains(&m.partition)));
    assert!(by_second
        .iter()
        .all(|m| second_partitions.contains(&m.partition)));
    let shared: HashSet<String> = by_first
        .iter()
        .chain(&by_second)
        .map(|m| numbered(m).id())
        .collect();
    assert_eq!(
        shared.len(),
        MESSAGES as usize,
        "no message twice, none missing"
    );

    let mut everything = HashSet::new();
    while everything.len() < MESSAGES as usize {
        let message = next_before(&mut gateway, until).await;
        assert!(everything.insert(numbered(&message).id()));
    }

    let assigns = sample(
        &registry,
        "kafka_consumer_rebalances_total",
        &[("group", evaluators.as_str()), ("event", "assign")],
    );
    assert!(
        assigns >= Some(2.0),
        "each member's assignment counted: {assigns:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_gone_before_committing_is_replaced_by_one_that_rereads_without_doubling_effects(
) {
    let cluster = TestCluster::start(3);
    let bus = cluster.bus().await;
    let group = cluster.group("notifier");
    const MESSAGES: u32 = 12;
    const COMMITTED: usize = 5;
    for seq in 0..MESSAGES {
        publish_numbered(&bus, &format!("K{seq}"), seq).await;
    }
    let mut effects = EffectStore::default();
    let mut committed_through: HashMap<i32, i64> = HashMap::new();
    let mut uncommitted = BTreeSet::new();

    let mut doomed = member(&bus, &group).await;
    let until = deadline(60);
    for received in 0..MESSAGES as usize {
        let message = next_before(&mut doomed, until).await;
        let value = numbered(&message);
        assert!(effects.apply(&value.id(), value.amount), "first delivery");
        if received < COMMITTED {
            doomed.commit(&message).await.expect("committed");
            committed_through.insert(message.partition, message.offset);
        } else {
            uncommitted.insert((message.partition, message.offset));
        }
    }
    // The effects of the last messages are durable, their commits never happen.
    drop(doomed);

    let mut successor = member(&bus, &group).await;
    let mut reread = BTreeSet::new();
    while reread.len() < uncommitted.len() {
        let message = next_before(&mut successor, until).await;
        assert!(
            committed_through
                .get(&message.partition)
                .is_none_or(|&done| message.offset > done),
            "a committed message was read again: {message:?}"
        );
        let value = numbered(&message);
        assert!(
            !effects.apply(&value.id(), value.amount),
            "a redelivered message is recognised as applied"
        );
        successor.commit(&message).await.expect("committed");
        reread.insert((message.partition, message.offset));
    }
    assert_eq!(
        reread, uncommitted,
        "exactly the uncommitted messages came back"
    );
    assert_eq!(effects.total, (1..=u64::from(MESSAGES)).sum::<u64>());
    assert_eq!(
        effects.attempts as usize,
        MESSAGES as usize + uncommitted.len()
    );
}

fn tick(price: &str) -> PriceTick {
    let now = chrono::Utc::now();
    PriceTick {
        schema_version: shared::events::SCHEMA_VERSION,
        symbol: "BTC".parse().expect("symbol"),
        price: price.parse().expect("price"),
        previous_price: None,
        currency: "USD".to_owned(),
        source: "simulated".to_owned(),
        timestamp: now,
        received_at: now,
        conversion: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_counted_skipped_and_committed() {
    let cluster = TestCluster::start(3);
    let bus = cluster.bus().await;
    let group = cluster.group("evaluator");
    publish_json(&bus, Topic::PriceEvents, "BTC", &tick("67187.3358936566"))
        .await
        .expect("published");
    bus.publish(Topic::PriceEvents, "BTC", b"{\"symbol\": 42".to_vec())
        .await
        .expect("published");
    publish_json(&bus, Topic::PriceEvents, "BTC", &tick("0.00001234"))
        .await
        .expect("published");

    let mut consumer = member(&bus, &group).await;
    let until = deadline(60);
    let mut prices = Vec::new();
    let mut malformed = 0;
    for _ in 0..3 {
        let message = next_before(&mut consumer, until).await;
        match decode::<PriceTick>(&message) {
            Decoded::Ok(tick) => prices.push(tick.price.to_string()),
            Decoded::Malformed(_) => malformed += 1,
        }
        consumer.commit(&message).await.expect("committed");
    }
    assert_eq!(prices, ["67187.3358936566", "0.00001234"]);
    assert_eq!(malformed, 1);
    drop(consumer);

    // Same key, same partition: a restarted member's first message is the next one, so the
    // malformed message was committed and is not read again.
    publish_json(&bus, Topic::PriceEvents, "BTC", &tick("1.5"))
        .await
        .expect("published");
    let mut restarted = member(&bus, &group).await;
    let message = next_before(&mut restarted, until).await;
    match decode::<PriceTick>(&message) {
        Decoded::Ok(tick) => assert_eq!(tick.price.to_string(), "1.5"),
        Decoded::Malformed(reason) => panic!("the malformed message came back: {reason}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_taken_down_and_brought_back_loses_nothing_and_the_backlog_drains() {
    let cluster = TestCluster::start(3);
    let topic = cluster.settings.price_events_topic.clone();
    const LEADER: i32 = 1;
    for partition in 0..3 {
        cluster
            .mock
            .partition_leader(&topic, partition, Some(LEADER))
            .expect("leader set");
    }
    let bus = cluster.bus().await;
    let mut consumer = member(&bus, &cluster.group("evaluator")).await;
    until_assigned(&mut [&mut consumer], 3).await;
    let until = deadline(90);
    for seq in 0..10 {
        publish_numbered(&bus, &format!("K{}", seq % 4), seq).await;
    }
    for _ in 0..10 {
        let message = next_before(&mut consumer, until).await;
        consumer.commit(&message).await.expect("committed");
    }

    cluster.mock.broker_down(LEADER).expect("broker down");
    const BACKLOG: u32 = 30;
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for seq in 10..10 + BACKLOG {
                publish_numbered(&bus, &format!("K{}", seq % 4), seq).await;
            }
        })
    };
    // Bounded check, not a wait: with every leader down nothing can be delivered.
    assert!(
        timeout(Duration::from_millis(300), consumer.next())
            .await
            .is_err(),
        "nothing is delivered while the leader is down"
    );
    cluster.mock.broker_up(LEADER).expect("broker up");

    let mut last_seq: HashMap<String, u32> = HashMap::new();
    let mut drained = HashSet::new();
    while drained.len() < BACKLOG as usize {
        let message = next_before(&mut consumer, until).await;
        let value = numbered(&message);
        assert!(value.seq >= 10, "an already committed message came back");
        if let Some(previous) = last_seq.insert(value.symbol.clone(), value.seq) {
            assert!(value.seq > previous, "{} reordered", value.symbol);
        }
        drained.insert(value.seq);
        consumer.commit(&message).await.expect("committed");
    }
    timeout(Duration::from_secs(30), publisher)
        .await
        .expect("every publish acknowledged")
        .expect("publisher finished");
    assert_eq!(drained, (10..10 + BACKLOG).collect::<HashSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_from_statistics_is_exported_on_the_services_registry() {
    let cluster = TestCluster::start(1);
    let topic = cluster.settings.price_events_topic.clone();
    let bus = cluster.bus().await;
    let group = cluster.group("notifier");
    let registry = Registry::new();
    let metrics = ConsumerMetrics::register(&registry);
    let mut consumer = member(&bus, &group).await;
    consumer.report_metrics_to(&metrics);
    let labels = [
        ("topic", topic.as_str()),
        ("partition", "0"),
        ("group", group.as_str()),
    ];
    let until = deadline(60);

    publish_numbered(&bus, "BTC", 0).await;
    let first = next_before(&mut consumer, until).await;
    consumer.commit(&first).await.expect("committed");
    // Received but not committed: still lag.
    let mut last = first;
    for seq in 1..=5 {
        publish_numbered(&bus, "BTC", seq).await;
        last = next_before(&mut consumer, until).await;
    }
    poll_until_sample(&mut consumer, &registry, "kafka_consumer_lag", &labels, 5.0).await;

    consumer.commit(&last).await.expect("committed");
    poll_until_sample(&mut consumer, &registry, "kafka_consumer_lag", &labels, 0.0).await;

    drop(consumer);
    assert_eq!(
        sample(&registry, "kafka_consumer_lag", &labels),
        None,
        "a member that left reports no lag"
    );
}

#[tokio::test]
async fn connecting_to_an_unreachable_cluster_fails_instead_of_hanging() {
    let settings = KafkaSettings {
        bootstrap_servers: Some("127.0.0.1:9".to_owned()),
        admin_timeout: Duration::from_secs(1),
        ..KafkaSettings::default()
    };
    let outcome = timeout(
        Duration::from_secs(30),
        kafka_bus::KafkaBus::connect(&settings),
    )
    .await
    .expect("gives up within its timeout");
    assert!(outcome.is_err());
}

#[tokio::test]
async fn startup_carries_on_when_the_broker_cannot_create_a_missing_topic() {
    let mock = rdkafka::mocking::MockCluster::new(kafka_support::BROKERS).expect("mock cluster");
    let settings = KafkaSettings {
        bootstrap_servers: Some(mock.bootstrap_servers()),
        price_events_topic: format!("missing-{}", uuid::Uuid::new_v4().simple()),
        admin_timeout: Duration::from_secs(1),
        ..KafkaSettings::default()
    };
    kafka_bus::KafkaBus::connect(&settings)
        .await
        .expect("the mock cluster has no CreateTopics; startup only warns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_subscriber_gets_only_what_is_published_after_it_joined() {
    let cluster = TestCluster::start(2);
    let bus = cluster.bus().await;
    for seq in 0..5 {
        publish_numbered(&bus, "BTC", seq).await;
    }
    let mut live = bus
        .subscribe_latest(Topic::PriceEvents, &cluster.group("gateway-replica-1"))
        .await
        .expect("subscribes");
    // The end of the log is looked up after the assignment; until a fresh message arrives the
    // subscriber may still be positioning, so keep publishing fresh ones until one arrives.
    let until = deadline(30);
    let mut seq = 100;
    let first = loop {
        publish_numbered(&bus, "BTC", seq).await;
        match timeout(Duration::from_millis(200), live.next()).await {
            Ok(message) => break message.expect("open"),
            Err(_) => {
                assert!(tokio::time::Instant::now() < until, "nothing arrived");
                seq += 1;
            }
        }
    };
    assert!(
        numbered(&first).seq >= 100,
        "a message from before the subscription was delivered"
    );
}

/// An evaluator subscribes to `alert-changes` this way and then loads its snapshot: every
/// change published after the call must arrive (none lost to a late positioning), and none of
/// the history before it is replayed, however long the topic's retention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_from_now_gets_every_later_message_on_every_partition_and_no_earlier_one() {
    let cluster = TestCluster::start(3);
    let bus = cluster.bus().await;
    let symbols = ["BTC", "ETH", "SOL", "AAPL", "MSFT", "XAU"];
    for symbol in symbols {
        for seq in 0..5 {
            publish_numbered(&bus, symbol, seq).await;
        }
    }
    let mut from_now = bus
        .subscribe_from_end(Topic::PriceEvents, &cluster.group("evaluator-changes-1"))
        .await
        .expect("subscribes");
    assert_eq!(
        from_now.assigned_partitions(),
        vec![0, 1, 2],
        "every partition"
    );
    // Published right away, before the first poll: nothing may be skipped.
    for symbol in symbols {
        publish_numbered(&bus, symbol, 100).await;
    }
    let until = deadline(30);
    let mut received = BTreeSet::new();
    let mut partitions = BTreeSet::new();
    for _ in symbols {
        let message = next_before(&mut from_now, until).await;
        let value = numbered(&message);
        assert_eq!(
            value.seq,
            100,
            "replayed a message from before: {}",
            value.id()
        );
        received.insert(value.symbol);
        partitions.insert(message.partition);
    }
    let expected: BTreeSet<String> = symbols.iter().map(|s| s.to_string()).collect();
    assert_eq!(received, expected);
    assert!(partitions.len() > 1, "the symbols spread over partitions");
    // Commits work outside a group too (they only name this consumer's position).
    let message = {
        publish_numbered(&bus, "BTC", 101).await;
        next_before(&mut from_now, until).await
    };
    from_now.commit(&message).await.expect("commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_context_uses_kafka_when_bootstrap_servers_are_set() {
    let cluster = TestCluster::start(3);
    let data_dir = std::env::temp_dir().join(format!("pa-kafka-ctx-{}", uuid::Uuid::new_v4()));
    let defaults = shared::config::Settings::default();
    let settings = shared::config::Settings {
        data_dir: data_dir.clone(),
        bus: shared::config::BusSettings {
            kafka: cluster.settings.clone(),
            ..defaults.bus.clone()
        },
        ..defaults
    };
    let bus = kafka_bus::bus_from_settings(&settings)
        .await
        .expect("the bus over the mock cluster");
    let context = shared::context::ServiceContext::connect(settings, bus)
        .await
        .expect("context over the mock cluster");
    let group = context.consumer_group("evaluator");
    assert!(group.ends_with("-evaluator"));
    let mut subscription = context
        .bus
        .subscribe(Topic::PriceEvents, &group)
        .await
        .expect("subscribes");
    publish_numbered(context.bus.as_ref(), "ETH", 7).await;
    let message = next_before(subscription.as_mut(), deadline(60)).await;
    assert_eq!(numbered(&message).seq, 7);
    assert_eq!(message.topic, Topic::PriceEvents);
    subscription.commit(&message).await.expect("committed");
    drop(subscription);
    drop(context);
    let _ = std::fs::remove_dir_all(data_dir);
}

/// Reports the first batch it is handed, then asks the loop to stop.
struct FirstBatchOnly {
    batches: tokio::sync::mpsc::UnboundedSender<Vec<(i32, u32)>>,
    shutdown: CancellationToken,
}

impl BatchHandler<Numbered> for FirstBatchOnly {
    type Error = std::convert::Infallible;

    async fn handle_batch(
        &mut self,
        deliveries: &[Delivery<Numbered>],
    ) -> Result<(), std::convert::Infallible> {
        let batch = deliveries
            .iter()
            .map(|d| (d.message.partition, d.event.seq))
            .collect();
        let _ = self.batches.send(batch);
        self.shutdown.cancel();
        Ok(())
    }
}

/// The batched consume loop commits a batch, the highest offset of each partition in one
/// call, after its handler; a member restarted in the group resumes right after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_committed_after_its_handler_and_a_restarted_member_resumes_after_it() {
    let cluster = TestCluster::start(3);
    let bus = cluster.bus().await;
    let group = cluster.group("batched");
    const MESSAGES: u32 = 12;
    for seq in 0..MESSAGES {
        publish_numbered(&bus, &format!("K{seq}"), seq).await;
    }
    let malformed = MalformedMessages::register(&Registry::new(), "test", &[Topic::PriceEvents]);
    let shutdown = CancellationToken::new();
    let subscription = Box::new(member(&bus, &group).await);
    let consumer = Consumer::<Numbered>::new(subscription, &malformed, shutdown.clone());
    let (batches, mut handled) = tokio::sync::mpsc::unbounded_channel();
    let handler = FirstBatchOnly {
        batches,
        shutdown: shutdown.clone(),
    };
    let batching = Batching {
        max_messages: 8,
        max_wait: Duration::from_secs(1),
    };
    timeout(
        Duration::from_secs(60),
        consumer.run_batches(batching, handler),
    )
    .await
    .expect("the loop commits its first batch and stops");
    let first = handled.recv().await.expect("one batch handled");
    assert!(handled.try_recv().is_err(), "one batch only");
    assert_eq!(first.len(), 8, "a full batch: {first:?}");
    let partitions: BTreeSet<i32> = first.iter().map(|(partition, _)| *partition).collect();
    assert!(
        partitions.len() > 1,
        "the batch spans partitions: {first:?}"
    );

    let committed: HashSet<u32> = first.iter().map(|(_, seq)| *seq).collect();
    let expected: HashSet<u32> = (0..MESSAGES)
        .filter(|seq| !committed.contains(seq))
        .collect();
    let mut restarted = member(&bus, &group).await;
    let mut reread = HashSet::new();
    let until = deadline(60);
    while reread.len() < expected.len() {
        let seq = numbered(&next_before(&mut restarted, until).await).seq;
        assert!(
            !committed.contains(&seq),
            "a message of the committed batch came back: {seq}"
        );
        reread.insert(seq);
    }
    assert_eq!(reread, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_published_in_one_go_are_all_acknowledged_and_keep_each_keys_order() {
    let cluster = TestCluster::start(6);
    let bus = cluster.bus().await;
    let mut consumer = member(&bus, &cluster.group("in-one-go")).await;
    let symbols = ["BTC", "ETH", "SOL"];
    const PER_SYMBOL: u32 = 50;
    // Interleaved across keys, as an outbox holds the fires of many users.
    let messages: Vec<(String, Vec<u8>)> = (0..PER_SYMBOL)
        .flat_map(|seq| {
            symbols.iter().map(move |symbol| {
                let payload = Numbered {
                    symbol: (*symbol).to_owned(),
                    seq,
                    amount: 1,
                };
                let bytes = serde_json::to_vec(&payload).expect("encodes");
                ((*symbol).to_owned(), bytes)
            })
        })
        .collect();
    bus.publish_in_order(Topic::PriceEvents, messages)
        .await
        .expect("every message acknowledged");

    let mut sequences: HashMap<String, Vec<u32>> = HashMap::new();
    let until = deadline(60);
    for _ in 0..symbols.len() * PER_SYMBOL as usize {
        let value = numbered(&next_before(&mut consumer, until).await);
        sequences.entry(value.symbol).or_default().push(value.seq);
    }
    for symbol in symbols {
        assert_eq!(
            sequences[symbol],
            (0..PER_SYMBOL).collect::<Vec<_>>(),
            "{symbol} out of order"
        );
    }
}
