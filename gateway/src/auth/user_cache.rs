//! A short-lived cache of authenticated users, so a request costs one database round trip
//! (its own query) instead of two.
//!
//! Entries live for `TTL`; deleting an account on this replica evicts it at once. Another
//! replica may accept a deleted user's token for at most `TTL` (the row, and so every query
//! scoped to it, is already gone).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::UserRecord;
use shared::domain::UserId;

const TTL: Duration = Duration::from_secs(2);
/// Beyond this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Default)]
pub struct UserCache {
    entries: Arc<RwLock<HashMap<UserId, (UserRecord, Instant)>>>,
}

impl UserCache {
    pub fn get(&self, id: UserId) -> Option<UserRecord> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(user, _)| user.clone())
    }

    pub fn insert(&self, user: UserRecord) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(user.id, (user, Instant::now()));
    }

    pub fn evict(&self, id: UserId) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.remove(&id);
    }
}
