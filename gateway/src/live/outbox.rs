//! One socket's outgoing queue: bounded, and conflating for prices.
//!
//! The fan-out never waits for a socket: it drops the newest frame of a symbol into the
//! socket's slot for that symbol (replacing one still waiting, which is then counted as
//! conflated) and wakes the socket's task. So a slow client holds at most one price per
//! symbol plus a short queue of its own events, skips stale prices, and delays nobody else.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

/// Alert and delivery messages that may wait for one socket; beyond it the oldest is dropped
/// (a client that far behind has stopped reading; the delivery history keeps every outcome).
const MAX_WAITING_EVENTS: usize = 256;

/// What a socket's task finds when it wakes.
#[derive(Default)]
pub struct Drained {
    pub frames: Vec<Utf8Bytes>,
    /// The hub dropped this socket's authentication (user deleted).
    pub revoked: bool,
}

#[derive(Default)]
struct Waiting {
    /// The newest unsent price of each symbol, in the order symbols first arrived.
    prices: Vec<(Arc<str>, Utf8Bytes)>,
    events: VecDeque<Utf8Bytes>,
    revoked: bool,
}

#[derive(Default)]
pub struct Outbox {
    waiting: Mutex<Waiting>,
    ready: Notify,
}

impl Outbox {
    /// Queues `frame` as the newest price of `symbol`; true when it replaced one not yet sent.
    pub fn offer_price(&self, symbol: &Arc<str>, frame: &Utf8Bytes) -> bool {
        let mut waiting = self.lock();
        let replaced = match waiting.prices.iter_mut().find(|(s, _)| s == symbol) {
            Some(slot) => {
                slot.1 = frame.clone();
                true
            }
            None => {
                waiting.prices.push((Arc::clone(symbol), frame.clone()));
                false
            }
        };
        drop(waiting);
        if !replaced {
            self.ready.notify_one();
        }
        replaced
    }

    /// Queues an event for this socket; false when the oldest waiting one had to make room.
    pub fn offer_event(&self, frame: Utf8Bytes) -> bool {
        let mut waiting = self.lock();
        let kept_all = waiting.events.len() < MAX_WAITING_EVENTS;
        if !kept_all {
            waiting.events.pop_front();
        }
        waiting.events.push_back(frame);
        drop(waiting);
        self.ready.notify_one();
        kept_all
    }

    /// Marks this socket's authentication as gone; its task says so to the client.
    pub fn revoke(&self) {
        self.lock().revoked = true;
        self.ready.notify_one();
    }

    /// Forgets waiting prices of symbols the socket no longer watches.
    pub fn retain_prices(&self, keep: impl Fn(&str) -> bool) {
        self.lock().prices.retain(|(symbol, _)| keep(symbol));
    }

    /// Waits until something is queued (or was queued since the last drain).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Takes everything waiting, events first (they are rarer and matter more), into `into`.
    pub fn drain(&self, into: &mut Drained) {
        let mut waiting = self.lock();
        into.frames.extend(waiting.events.drain(..));
        into.frames
            .extend(waiting.prices.drain(..).map(|(_, frame)| frame));
        into.revoked |= std::mem::take(&mut waiting.revoked);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
