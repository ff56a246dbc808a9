use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{BusError, BusMessage, EventBus, Position, Subscription, Topic};

/// The bus of the embedded default: one bounded channel per (topic, group).
///
/// Publishing waits for room in every group's channel, so a slow consumer applies backpressure
/// and no message is ever dropped. Groups must subscribe before messages they need are published
/// (the embedded application subscribes every consumer before it starts any producer).
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    groups: Mutex<HashMap<(Topic, String), GroupChannel>>,
}

struct GroupChannel {
    sender: mpsc::Sender<BusMessage>,
    next_offset: i64,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        InProcessBus {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                groups: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn senders_for(
        &self,
        topic: Topic,
        key: &str,
        payload: &[u8],
    ) -> Vec<(mpsc::Sender<BusMessage>, BusMessage)> {
        let mut groups = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.retain(|_, g| !g.sender.is_closed());
        groups
            .iter_mut()
            .filter(|((t, _), _)| *t == topic)
            .map(|(_, group)| {
                let message = BusMessage {
                    topic,
                    key: key.to_owned(),
                    payload: payload.to_vec(),
                    partition: 0,
                    offset: group.next_offset,
                };
                group.next_offset += 1;
                (group.sender.clone(), message)
            })
            .collect()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        for (sender, message) in self.senders_for(topic, key, &payload) {
            // A group whose consumer has gone away is simply skipped: nobody is left to read it.
            let _ = sender.send(message).await;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        let (sender, receiver) = mpsc::channel(self.inner.capacity);
        let mut groups = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.insert(
            (topic, group.to_owned()),
            GroupChannel {
                sender,
                next_offset: 0,
            },
        );
        Ok(Box::new(InProcessSubscription { topic, receiver }))
    }
}

struct InProcessSubscription {
    topic: Topic,
    receiver: mpsc::Receiver<BusMessage>,
}

#[async_trait]
impl Subscription for InProcessSubscription {
    fn topic(&self) -> Topic {
        self.topic
    }

    async fn next(&mut self) -> Result<BusMessage, BusError> {
        self.receiver.recv().await.ok_or(BusError::Closed)
    }

    fn try_next(&mut self) -> Result<Option<BusMessage>, BusError> {
        match self.receiver.try_recv() {
            Ok(message) => Ok(Some(message)),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(BusError::Closed),
        }
    }

    async fn commit_positions(&mut self, _positions: &[Position]) -> Result<(), BusError> {
        // In-process delivery has no redelivery; durability lives in the database (outbox,
        // delivery table), which is re-scanned at start.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_group_gets_every_message_in_order() {
        let bus = InProcessBus::new(4);
        let mut a = bus
            .subscribe(Topic::PriceEvents, "a")
            .await
            .expect("subscribe");
        let mut b = bus
            .subscribe(Topic::PriceEvents, "b")
            .await
            .expect("subscribe");
        for i in 0..3u8 {
            bus.publish(Topic::PriceEvents, "BTC", vec![i])
                .await
                .expect("publish");
        }
        for sub in [&mut a, &mut b] {
            for i in 0..3u8 {
                let message = sub.next().await.expect("message");
                assert_eq!(message.payload, vec![i]);
                assert_eq!(message.offset, i64::from(i));
            }
        }
    }

    #[tokio::test]
    async fn a_full_channel_makes_the_publisher_wait_instead_of_dropping() {
        let bus = InProcessBus::new(2);
        let mut sub = bus
            .subscribe(Topic::Notifications, "n")
            .await
            .expect("subscribe");
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move {
                for i in 0..10u8 {
                    bus.publish(Topic::Notifications, "1", vec![i])
                        .await
                        .expect("publish");
                }
            })
        };
        let mut received = Vec::new();
        while received.len() < 10 {
            let message = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .expect("no message within 5 s")
                .expect("message");
            received.push(message.payload[0]);
        }
        publisher.await.expect("publisher finished");
        assert_eq!(received, (0..10).collect::<Vec<u8>>());
    }

    #[tokio::test]
    async fn topics_are_kept_apart() {
        let bus = InProcessBus::new(4);
        let mut prices = bus
            .subscribe(Topic::PriceEvents, "g")
            .await
            .expect("subscribe");
        bus.publish(Topic::AlertChanges, "BTC", vec![1])
            .await
            .expect("publish");
        assert!(prices.try_next().expect("open").is_none());
    }
}
