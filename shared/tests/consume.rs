//! The consume loop on the in-process bus, wrapped in the fault-injecting bus, which records
//! every commit and makes reads and commits fail on demand.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use shared::bus::{
    BatchHandler, Batching, BusMessage, Consumer, Delivery, EventBus, Handler, InProcessBus,
    MalformedMessages, Position, RetryPolicy, Topic,
};
use testkit::FaultyBus;

const TOPIC: Topic = Topic::PriceEvents;
const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize)]
struct Event {
    n: u32,
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        first_pause: Duration::from_millis(5),
        max_pause: Duration::from_millis(20),
    }
}

fn at(offset: i64) -> Vec<Position> {
    vec![Position {
        partition: 0,
        offset,
    }]
}

async fn publish(bus: &dyn EventBus, n: u32) {
    shared::bus::publish_json(bus, TOPIC, "k", &Event { n })
        .await
        .expect("publish");
}

async fn publish_garbage(bus: &dyn EventBus) {
    bus.publish(TOPIC, "k", b"{not json".to_vec())
        .await
        .expect("publish");
}

/// A consumer of `TOPIC` on `bus`, pausing briefly, counting on a fresh registry.
async fn consumer(
    bus: &dyn EventBus,
    shutdown: &CancellationToken,
) -> (Consumer<Event>, MalformedMessages) {
    let malformed = MalformedMessages::register(&prometheus::Registry::new(), "test", &[TOPIC]);
    let subscription = bus.subscribe(TOPIC, "group").await.expect("subscribe");
    let consumer = Consumer::new(subscription, &malformed, shutdown.clone()).with_retry(fast());
    (consumer, malformed)
}

/// Polls `check` until it holds; fails the test after `DEADLINE`.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn received<T>(channel: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(DEADLINE, channel.recv())
        .await
        .expect("handled before the deadline")
        .expect("handler alive")
}

/// Fails its first `failures` attempts; reports each attempt as (event, commits made so far).
struct Recorder {
    bus: FaultyBus,
    failures: u32,
    attempts: mpsc::UnboundedSender<(u32, usize)>,
    skipped: Arc<Mutex<Vec<i64>>>,
}

impl Recorder {
    fn new(bus: &FaultyBus, failures: u32) -> (Recorder, mpsc::UnboundedReceiver<(u32, usize)>) {
        let (attempts, receiver) = mpsc::unbounded_channel();
        let recorder = Recorder {
            bus: bus.clone(),
            failures,
            attempts,
            skipped: Arc::default(),
        };
        (recorder, receiver)
    }
}

impl Handler<Event> for Recorder {
    type Error = &'static str;

    async fn handle(&mut self, delivery: &Delivery<Event>) -> Result<(), &'static str> {
        let _ = self
            .attempts
            .send((delivery.event.n, self.bus.commits(TOPIC).len()));
        if self.failures > 0 {
            self.failures -= 1;
            return Err("the database is down");
        }
        Ok(())
    }

    fn skipped(&mut self, message: &BusMessage) {
        self.skipped
            .lock()
            .expect("not poisoned")
            .push(message.offset);
    }
}

/// A loop over `bus` running a [`Recorder`] that fails its first `failures` attempts.
struct Running {
    attempts: mpsc::UnboundedReceiver<(u32, usize)>,
    malformed: MalformedMessages,
    skipped: Arc<Mutex<Vec<i64>>>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(bus: &FaultyBus, failures: u32) -> Running {
        let shutdown = CancellationToken::new();
        let (consumer, malformed) = consumer(bus, &shutdown).await;
        let (recorder, attempts) = Recorder::new(bus, failures);
        let skipped = Arc::clone(&recorder.skipped);
        Running {
            attempts,
            malformed,
            skipped,
            shutdown,
            task: tokio::spawn(consumer.run(recorder)),
        }
    }

    async fn attempt(&mut self) -> (u32, usize) {
        received(&mut self.attempts).await
    }

    /// Shuts the loop down and waits for it to end.
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the loop stops at shutdown")
            .expect("the loop ends cleanly");
    }
}

#[tokio::test]
async fn a_malformed_message_is_counted_by_topic_skipped_and_committed_and_the_next_is_handled() {
    let bus = FaultyBus::new(16);
    let mut running = Running::start(&bus, 0).await;
    publish_garbage(&bus).await;
    publish(&bus, 7).await;
    assert_eq!(running.attempt().await.0, 7);
    assert_eq!(running.malformed.value(Topic::PriceEvents), 1);
    assert_eq!(running.malformed.value(Topic::AlertChanges), 0);
    assert_eq!(*running.skipped.lock().expect("not poisoned"), [0]);
    until("both messages are committed", || {
        bus.commits(TOPIC) == [at(0), at(1)]
    })
    .await;
    running.stop().await;
}

#[tokio::test]
async fn a_handler_that_fails_twice_is_retried_and_its_message_committed_once_after_it_succeeds() {
    let bus = FaultyBus::new(16);
    let mut running = Running::start(&bus, 2).await;
    publish(&bus, 1).await;
    for _ in 0..3 {
        assert_eq!(
            running.attempt().await,
            (1, 0),
            "the same event again, nothing committed before it succeeded"
        );
    }
    until("the message is committed", || bus.commits(TOPIC) == [at(0)]).await;
    publish(&bus, 2).await;
    assert_eq!(running.attempt().await, (2, 1));
    until("the next message is committed", || {
        bus.commits(TOPIC) == [at(0), at(1)]
    })
    .await;
    running.stop().await;
}

/// Reports each batch as (its events, commits made before it).
struct BatchRecorder {
    bus: FaultyBus,
    batches: mpsc::UnboundedSender<(Vec<u32>, usize)>,
}

impl BatchHandler<Event> for BatchRecorder {
    type Error = &'static str;

    async fn handle_batch(&mut self, deliveries: &[Delivery<Event>]) -> Result<(), &'static str> {
        let events = deliveries.iter().map(|d| d.event.n).collect();
        let _ = self.batches.send((events, self.bus.commits(TOPIC).len()));
        Ok(())
    }
}

async fn run_batches(
    bus: &FaultyBus,
    batching: Batching,
) -> (
    mpsc::UnboundedReceiver<(Vec<u32>, usize)>,
    MalformedMessages,
    CancellationToken,
) {
    let shutdown = CancellationToken::new();
    let (consumer, malformed) = consumer(bus, &shutdown).await;
    let (batches, receiver) = mpsc::unbounded_channel();
    let handler = BatchRecorder {
        bus: bus.clone(),
        batches,
    };
    tokio::spawn(consumer.run_batches(batching, handler));
    (receiver, malformed, shutdown)
}

#[tokio::test]
async fn batch_mode_hands_over_a_backlog_in_batches_of_at_most_n_each_committed_after_it() {
    let bus = FaultyBus::new(16);
    let subscribed = run_batches(
        &bus,
        Batching {
            max_messages: 4,
            max_wait: Duration::from_millis(20),
        },
    );
    let (mut batches, _, shutdown) = subscribed.await;
    for n in 0..10 {
        publish(&bus, n).await;
    }
    assert_eq!(received(&mut batches).await, (vec![0, 1, 2, 3], 0));
    assert_eq!(received(&mut batches).await, (vec![4, 5, 6, 7], 1));
    assert_eq!(
        received(&mut batches).await,
        (vec![8, 9], 2),
        "the rest, once nothing more came within the wait"
    );
    until("each batch is committed once, at its last message", || {
        bus.commits(TOPIC) == [at(3), at(7), at(9)]
    })
    .await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_malformed_message_in_a_batch_is_committed_with_the_batch_not_before_it() {
    let bus = FaultyBus::new(16);
    let (mut batches, malformed, shutdown) = run_batches(
        &bus,
        Batching {
            max_messages: 3,
            max_wait: Duration::from_secs(5),
        },
    )
    .await;
    publish(&bus, 0).await;
    publish_garbage(&bus).await;
    publish(&bus, 2).await;
    assert_eq!(received(&mut batches).await, (vec![0, 2], 0));
    until("the batch is committed", || bus.commits(TOPIC) == [at(2)]).await;
    assert_eq!(malformed.value(TOPIC), 1);
    shutdown.cancel();
}

#[tokio::test]
async fn shutdown_stops_an_idle_loop_and_one_whose_handler_keeps_failing() {
    let bus = FaultyBus::new(16);
    Running::start(&bus, 0).await.stop().await;
    let mut failing = Running::start(&bus, u32::MAX).await;
    publish(&bus, 1).await;
    failing.attempt().await;
    failing.attempt().await;
    failing.stop().await;
    assert!(
        bus.commits(TOPIC).is_empty(),
        "a failed event is never committed"
    );
}

#[tokio::test]
async fn the_loop_ends_when_the_bus_is_closed() {
    let bus = InProcessBus::new(16);
    let (consumer, _) = consumer(&bus, &CancellationToken::new()).await;
    let (recorder, _attempts) = Recorder::new(&FaultyBus::new(1), 0);
    drop(bus);
    tokio::time::timeout(DEADLINE, consumer.run(recorder))
        .await
        .expect("the loop ends once the bus is gone");
}

#[tokio::test]
async fn the_loop_pauses_on_transport_errors_and_consumes_again_when_the_transport_is_back() {
    let bus = FaultyBus::new(16);
    bus.fail(TOPIC);
    let mut running = Running::start(&bus, 0).await;
    publish(&bus, 1).await;
    until("reads were retried", || bus.errors(TOPIC) >= 5).await;
    assert!(
        bus.errors(TOPIC) < 50,
        "the loop pauses between reads instead of spinning: {} errors",
        bus.errors(TOPIC)
    );
    assert!(
        running.attempts.try_recv().is_err(),
        "nothing read while failing"
    );

    bus.heal(TOPIC);
    assert_eq!(running.attempt().await, (1, 0));
    until("the message is committed", || bus.commits(TOPIC) == [at(0)]).await;
    running.stop().await;
}

#[tokio::test]
async fn a_failed_commit_is_retried_without_handling_the_event_again() {
    let bus = FaultyBus::new(16);
    bus.fail_commits(TOPIC);
    let mut running = Running::start(&bus, 0).await;
    publish(&bus, 1).await;
    assert_eq!(running.attempt().await, (1, 0));
    until("the commit was retried", || bus.errors(TOPIC) >= 3).await;
    bus.heal(TOPIC);
    until("the message is committed", || bus.commits(TOPIC) == [at(0)]).await;
    publish(&bus, 2).await;
    assert_eq!(
        running.attempt().await,
        (2, 1),
        "the first event was handled once"
    );
    running.stop().await;
}

#[tokio::test]
async fn the_building_block_reads_decoded_events_and_commits_past_malformed_ones() {
    let bus = FaultyBus::new(16);
    let shutdown = CancellationToken::new();
    let (mut consumer, malformed) = consumer(&bus, &shutdown).await;
    assert!(consumer.try_next().await.expect("running").is_none());

    publish_garbage(&bus).await;
    publish(&bus, 3).await;
    let delivery = consumer.try_next().await.expect("running").expect("queued");
    assert_eq!(delivery.event.n, 3);
    assert_eq!(malformed.value(TOPIC), 1);
    assert_eq!(
        bus.commits(TOPIC),
        [at(0)],
        "committed past the malformed one"
    );
    consumer.commit(&delivery).await.expect("committed");
    assert_eq!(bus.commits(TOPIC), [at(0), at(1)]);

    bus.fail(TOPIC);
    publish(&bus, 4).await;
    assert!(
        consumer.try_next().await.expect("running").is_none(),
        "a transport error reads as nothing ready"
    );
    bus.heal(TOPIC);
    let next = tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("read after the pause")
        .expect("running");
    assert_eq!(next.event.n, 4);
    shutdown.cancel();
    assert!(consumer.next().await.is_err(), "stopped at shutdown");
}

/// The evaluator's shape: the first event from `next` (in a `select!`), the rest of its batch
/// from `batch_from`; a malformed message inside is folded into the batch's one commit.
#[tokio::test]
async fn a_batch_started_from_a_delivery_takes_the_rest_and_commits_once_after_it() {
    let bus = FaultyBus::new(16);
    let shutdown = CancellationToken::new();
    let (mut consumer, malformed) = consumer(&bus, &shutdown).await;
    publish(&bus, 0).await;
    publish(&bus, 1).await;
    publish_garbage(&bus).await;
    publish(&bus, 3).await;
    publish(&bus, 4).await;
    let first = consumer.next().await.expect("a first event");
    let batching = Batching {
        max_messages: 4,
        max_wait: Duration::from_secs(5),
    };
    let batch = consumer.batch_from(first, batching).await.expect("a batch");
    let events: Vec<u32> = batch.deliveries.iter().map(|d| d.event.n).collect();
    assert_eq!(
        events,
        vec![0, 1, 3],
        "four messages, one of them malformed"
    );
    assert!(
        bus.commits(TOPIC).is_empty(),
        "nothing committed before the batch"
    );
    consumer.commit_batch(&batch).await.expect("commit");
    assert_eq!(bus.commits(TOPIC), [at(3)]);
    assert_eq!(malformed.value(TOPIC), 1);
    shutdown.cancel();
}
