//! Who watches what on this replica: sockets by symbol (and those watching every symbol),
//! sockets by authenticated user; and the fan-out task between the bus and the sockets.
//!
//! The bus consumer only hands each tick, serialised once, to [`Hub::offer_tick`] and returns:
//! it never waits for the fan-out, which takes the newest frame of each symbol when it gets
//! to it (a fan-out that falls behind skips stale prices instead of holding the bus back and,
//! with it, the evaluator's feed). Each tick then costs work only for the sockets subscribed
//! to its symbol.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::extract::ws::Utf8Bytes;
use shared::domain::UserId;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::metrics::LiveMetrics;
use super::outbox::Outbox;

pub type SocketId = u64;

type Sockets = HashMap<SocketId, Arc<Outbox>>;
/// A user's signed-in sockets, each with the token generation it signed in with.
type UserSockets = HashMap<SocketId, (Arc<Outbox>, i64)>;

#[derive(Default)]
struct Routes {
    /// Sockets watching every symbol (the default of a client that names none).
    everything: Sockets,
    by_symbol: HashMap<Arc<str>, Sockets>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    routes: RwLock<Routes>,
    users: RwLock<HashMap<UserId, UserSockets>>,
    next_id: AtomicU64,
    /// Ticks not yet fanned out: the newest frame per symbol.
    incoming: Mutex<Vec<(Arc<str>, Utf8Bytes)>>,
    tick_arrived: Notify,
    metrics: LiveMetrics,
}

impl Hub {
    pub fn new(metrics: LiveMetrics) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                routes: RwLock::default(),
                users: RwLock::default(),
                next_id: AtomicU64::new(1),
                incoming: Mutex::default(),
                tick_arrived: Notify::new(),
                metrics,
            }),
        }
    }

    pub fn metrics(&self) -> &LiveMetrics {
        &self.inner.metrics
    }

    pub fn next_socket_id(&self) -> SocketId {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands a tick to the fan-out; never waits. A tick of a symbol whose previous one is
    /// still waiting replaces it.
    pub fn offer_tick(&self, symbol: Arc<str>, frame: Utf8Bytes) {
        let mut incoming = self
            .inner
            .incoming
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match incoming.iter_mut().find(|(s, _)| *s == symbol) {
            Some(slot) => {
                slot.1 = frame;
                self.inner.metrics.conflated_in_feed.inc();
            }
            None => incoming.push((symbol, frame)),
        }
        drop(incoming);
        self.inner.tick_arrived.notify_one();
    }

    /// Fans ticks out to the sockets watching their symbol until `shutdown`.
    pub async fn fan_out(self, shutdown: CancellationToken) {
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.inner.tick_arrived.notified() => {}
            }
            std::mem::swap(
                &mut batch,
                &mut *self
                    .inner
                    .incoming
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            let mut conflated = 0;
            {
                let routes = self
                    .inner
                    .routes
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                for (symbol, frame) in &batch {
                    let watching = routes.by_symbol.get(symbol).into_iter().flatten();
                    for (_, outbox) in routes.everything.iter().chain(watching) {
                        conflated += u64::from(outbox.offer_price(symbol, frame));
                    }
                }
            }
            self.inner.metrics.conflated_per_socket.inc_by(conflated);
            batch.clear();
            // Let sockets run between batches on a busy runtime.
            tokio::task::yield_now().await;
        }
    }

    pub fn watch_everything(&self, id: SocketId, outbox: &Arc<Outbox>) {
        let mut routes = self.write_routes();
        routes.everything.insert(id, Arc::clone(outbox));
    }

    pub fn stop_watching_everything(&self, id: SocketId) {
        self.write_routes().everything.remove(&id);
    }

    pub fn watch(&self, id: SocketId, outbox: &Arc<Outbox>, symbols: &[Arc<str>]) {
        let mut routes = self.write_routes();
        for symbol in symbols {
            let sockets = routes.by_symbol.entry(Arc::clone(symbol)).or_default();
            sockets.insert(id, Arc::clone(outbox));
        }
    }

    pub fn stop_watching(&self, id: SocketId, symbols: &[Arc<str>]) {
        let mut routes = self.write_routes();
        for symbol in symbols {
            if let Some(sockets) = routes.by_symbol.get_mut(symbol) {
                sockets.remove(&id);
                if sockets.is_empty() {
                    routes.by_symbol.remove(symbol);
                }
            }
        }
    }

    /// From now on `user_id`'s alerts and deliveries reach this socket too, while the account
    /// stays in token `generation`.
    pub fn sign_in(&self, id: SocketId, outbox: &Arc<Outbox>, user_id: UserId, generation: i64) {
        let mut users = self.write_users();
        users
            .entry(user_id)
            .or_default()
            .insert(id, (Arc::clone(outbox), generation));
    }

    pub fn sign_out(&self, id: SocketId, user_id: UserId) {
        let mut users = self.write_users();
        if let Some(sockets) = users.get_mut(&user_id) {
            sockets.remove(&id);
            if sockets.is_empty() {
                users.remove(&user_id);
            }
        }
    }

    /// Queues `frame` on every socket of `user_id`; how many got it.
    pub fn push_to_user(&self, user_id: UserId, frame: &Utf8Bytes) -> usize {
        let users = self
            .inner
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(sockets) = users.get(&user_id) else {
            return 0;
        };
        for (outbox, _) in sockets.values() {
            if !outbox.offer_event(frame.clone()) {
                self.inner.metrics.events_dropped.inc();
            }
        }
        sockets.len()
    }

    /// Ends the authenticated part of every socket of `user_id` (the account is gone).
    pub fn revoke_user(&self, user_id: UserId) {
        let sockets = self.write_users().remove(&user_id).unwrap_or_default();
        for (outbox, _) in sockets.values() {
            outbox.revoke();
        }
    }

    /// Ends the authenticated part of `user_id`'s sockets signed in with a token generation
    /// other than `generation`, the account's current one (its password changed).
    pub fn revoke_other_generations(&self, user_id: UserId, generation: i64) {
        let mut users = self.write_users();
        let Some(sockets) = users.get_mut(&user_id) else {
            return;
        };
        sockets.retain(|_, (outbox, signed_in)| {
            let current = *signed_in == generation;
            if !current {
                outbox.revoke();
            }
            current
        });
        if sockets.is_empty() {
            users.remove(&user_id);
        }
    }

    /// Whether `user_id` has an authenticated socket here now.
    pub fn is_signed_in(&self, user_id: UserId) -> bool {
        self.inner
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&user_id)
    }

    /// The users with an authenticated socket here now.
    pub fn signed_in_users(&self) -> Vec<UserId> {
        let users = self
            .inner
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        users.keys().copied().collect()
    }

    fn write_routes(&self) -> std::sync::RwLockWriteGuard<'_, Routes> {
        self.inner
            .routes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_users(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<UserId, UserSockets>> {
        self.inner
            .users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
