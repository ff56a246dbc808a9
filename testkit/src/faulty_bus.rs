//! A bus whose subscriptions fail on demand, to test how consumers live through transport
//! errors: it wraps a real [`InProcessBus`], and a switch per topic makes that topic's
//! subscriptions return `Err(BusError::Transport(..))` from `next()`/`try_next()` and
//! `commit()` until it is switched back; another makes publishing on a topic fail, and a third
//! holds the acknowledgement of what is published on a topic (the message is on the bus, its
//! publisher still waits) until it is released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;

use shared::bus::{BusError, BusMessage, EventBus, InProcessBus, Position, Subscription, Topic};

/// What fails on a topic's subscriptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fault {
    reads: bool,
    commits: bool,
    publishes: bool,
    held_acks: bool,
}

/// An [`InProcessBus`] with a fault switch per topic. Cheap to clone; clones share the
/// switches. It also records what its subscriptions commit and how many errors they returned,
/// so tests can see a consumer retry and commit.
#[derive(Clone)]
pub struct FaultyBus {
    inner: InProcessBus,
    faults: watch::Sender<HashMap<Topic, Fault>>,
    record: Arc<Mutex<Record>>,
}

#[derive(Default)]
struct Record {
    errors: HashMap<Topic, u64>,
    refused_publishes: HashMap<Topic, u64>,
    held: HashMap<Topic, u64>,
    commits: HashMap<Topic, Vec<Vec<Position>>>,
}

impl FaultyBus {
    pub fn new(capacity: usize) -> FaultyBus {
        FaultyBus {
            inner: InProcessBus::new(capacity),
            faults: watch::Sender::new(HashMap::new()),
            record: Arc::default(),
        }
    }

    /// The real bus underneath (publishing on it is the same as publishing on this one).
    pub fn in_process(&self) -> InProcessBus {
        self.inner.clone()
    }

    /// Makes reads and commits on `topic` fail, including a `next()` already waiting.
    pub fn fail(&self, topic: Topic) {
        self.set(
            topic,
            Fault {
                reads: true,
                commits: true,
                ..Fault::default()
            },
        );
    }

    /// Makes only commits on `topic` fail; reads go on.
    pub fn fail_commits(&self, topic: Topic) {
        self.set(
            topic,
            Fault {
                commits: true,
                ..Fault::default()
            },
        );
    }

    /// Makes publishing on `topic` fail (subscriptions go on), as a broker that refuses
    /// writes would.
    pub fn fail_publishes(&self, topic: Topic) {
        self.set(
            topic,
            Fault {
                publishes: true,
                ..Fault::default()
            },
        );
    }

    /// Holds the acknowledgement of every publish on `topic`: the message reaches the bus (its
    /// subscribers see it) but its publisher waits, as for a broker's slow ack, until
    /// [`FaultyBus::heal`].
    pub fn hold_acks(&self, topic: Topic) {
        self.set(
            topic,
            Fault {
                held_acks: true,
                ..Fault::default()
            },
        );
    }

    /// How many publishes on `topic` have waited for a held acknowledgement.
    pub fn held_publishes(&self, topic: Topic) -> u64 {
        self.record().held.get(&topic).copied().unwrap_or(0)
    }

    /// How many publishes on `topic` were refused.
    pub fn refused_publishes(&self, topic: Topic) -> u64 {
        self.record()
            .refused_publishes
            .get(&topic)
            .copied()
            .unwrap_or(0)
    }

    /// Makes `topic` work again.
    pub fn heal(&self, topic: Topic) {
        self.set(topic, Fault::default());
    }

    /// How many transport errors the subscriptions of `topic` have returned.
    pub fn errors(&self, topic: Topic) -> u64 {
        self.record().errors.get(&topic).copied().unwrap_or(0)
    }

    /// Every commit that succeeded on `topic`, in order, each as the positions it committed.
    pub fn commits(&self, topic: Topic) -> Vec<Vec<Position>> {
        self.record()
            .commits
            .get(&topic)
            .cloned()
            .unwrap_or_default()
    }

    fn set(&self, topic: Topic, fault: Fault) {
        self.faults.send_modify(|faults| {
            faults.insert(topic, fault);
        });
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        lock(&self.record)
    }

    fn wrap(&self, inner: Box<dyn Subscription>) -> Box<dyn Subscription> {
        Box::new(FaultySubscription {
            topic: inner.topic(),
            inner,
            faults: self.faults.subscribe(),
            record: Arc::clone(&self.record),
        })
    }
}

#[async_trait]
impl EventBus for FaultyBus {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let refused = self
            .faults
            .borrow()
            .get(&topic)
            .is_some_and(|fault| fault.publishes);
        if refused {
            *self.record().refused_publishes.entry(topic).or_default() += 1;
            return Err(BusError::Transport(
                "injected fault: publish failed".to_owned(),
            ));
        }
        self.inner.publish(topic, key, payload).await?;
        let mut faults = self.faults.subscribe();
        let held = |faults: &HashMap<Topic, Fault>| {
            faults.get(&topic).is_some_and(|fault| fault.held_acks)
        };
        if held(&faults.borrow_and_update()) {
            *self.record().held.entry(topic).or_default() += 1;
            // The sender lives as long as this bus, so `wait_for` ends only when released.
            let _ = faults.wait_for(|faults| !held(faults)).await;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        Ok(self.wrap(self.inner.subscribe(topic, group).await?))
    }
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}

struct FaultySubscription {
    topic: Topic,
    inner: Box<dyn Subscription>,
    faults: watch::Receiver<HashMap<Topic, Fault>>,
    /// Not the bus itself: a subscription must not keep the bus open.
    record: Arc<Mutex<Record>>,
}

impl FaultySubscription {
    /// The current fault of this topic (and marks the switch as seen).
    fn fault(&mut self) -> Fault {
        self.faults
            .borrow_and_update()
            .get(&self.topic)
            .copied()
            .unwrap_or_default()
    }

    fn injected(&self, what: &str) -> BusError {
        *lock(&self.record).errors.entry(self.topic).or_default() += 1;
        BusError::Transport(format!("injected fault: {what} failed"))
    }
}

#[async_trait]
impl Subscription for FaultySubscription {
    fn topic(&self) -> Topic {
        self.topic
    }

    async fn next(&mut self) -> Result<BusMessage, BusError> {
        loop {
            if self.fault().reads {
                // As a real transport would, let other tasks run: a caller that retries at
                // once spins visibly instead of starving the test that watches it.
                tokio::task::yield_now().await;
                return Err(self.injected("read"));
            }
            tokio::select! {
                message = self.inner.next() => return message,
                changed = self.faults.changed() => {
                    if changed.is_err() {
                        // Every switch is gone: nothing can fail any more.
                        return self.inner.next().await;
                    }
                }
            }
        }
    }

    fn try_next(&mut self) -> Result<Option<BusMessage>, BusError> {
        if self.fault().reads {
            return Err(self.injected("read"));
        }
        self.inner.try_next()
    }

    async fn commit_positions(&mut self, positions: &[Position]) -> Result<(), BusError> {
        if self.fault().commits {
            tokio::task::yield_now().await;
            return Err(self.injected("commit"));
        }
        self.inner.commit_positions(positions).await?;
        lock(&self.record)
            .commits
            .entry(self.topic)
            .or_default()
            .push(positions.to_vec());
        Ok(())
    }
}
