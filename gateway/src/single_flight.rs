//! One database read per user at a time when a cache misses, so a burst of requests for the
//! same user (or an expiring entry under load) becomes one query, not a thundering herd.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared::domain::UserId;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Beyond this many users the map of locks starts over (idle locks hold no data).
const MAX_LOCKS: usize = 50_000;

#[derive(Clone, Default)]
pub struct SingleFlight {
    locks: Arc<Mutex<HashMap<UserId, Arc<AsyncMutex<()>>>>>,
}

impl SingleFlight {
    /// Waits until no other task is filling `user`'s entry; hold the guard while filling.
    pub async fn enter(&self, user: UserId) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() >= MAX_LOCKS {
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            locks.entry(user).or_default().clone()
        };
        lock.lock_owned().await
    }
}
