//! A short-lived cache of each user's alert list, so the hot `GET /alerts` answers from memory.
//!
//! Coherence: every write through this gateway evicts the user at once; writes through other
//! replicas (alert changes) and fires (trigger events) arrive on the bus and evict too; and
//! no entry outlives `ttl` whatever happens, nor the expiry of an alert it lists as active. A
//! read that raced with a write never stores its (possibly older) result: each user has a
//! generation, bumped on eviction, checked on insert.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use shared::domain::{Alert, UserId};

/// Users with more alerts than this are always read from the database.
pub const MAX_CACHED_ALERTS: usize = 500;

/// A user's whole alert list, newest first, and its default page (no filters, the first 50)
/// rendered once as JSON: the hot request then only copies bytes.
pub struct CachedList {
    pub alerts: Vec<Alert>,
    first_page: OnceLock<Bytes>,
    /// When the first of its active alerts expires: an alert then reads `active: false`, so
    /// the list (and its rendered page) is stale from that instant, whatever the cache's ttl.
    stale_at: Option<DateTime<Utc>>,
}

impl CachedList {
    pub fn new(alerts: Vec<Alert>) -> CachedList {
        let now = Utc::now();
        let stale_at = alerts
            .iter()
            .filter(|alert| alert.is_active_at(now))
            .filter_map(|alert| alert.spec().options().expires_at())
            .min();
        CachedList {
            alerts,
            first_page: OnceLock::new(),
            stale_at,
        }
    }

    fn fresh(&self) -> bool {
        self.stale_at.is_none_or(|stale_at| Utc::now() < stale_at)
    }

    /// The default page as JSON, rendered by `render` the first time it is asked for.
    pub fn first_page(&self, render: impl FnOnce(&[Alert]) -> Bytes) -> Bytes {
        self.first_page.get_or_init(|| render(&self.alerts)).clone()
    }
}

#[derive(Default)]
struct Entry {
    generation: u64,
    list: Option<(Arc<CachedList>, Instant)>,
}

#[derive(Clone)]
pub struct AlertCache {
    ttl: Duration,
    entries: Arc<Mutex<HashMap<UserId, Entry>>>,
    /// Bumped by `clear`, so a read that started before it never stores its result.
    epoch: Arc<Mutex<u64>>,
}

/// What a reader must hand back to `insert`, proving nothing was evicted meanwhile.
#[derive(Clone, Copy)]
pub struct Ticket {
    generation: u64,
    epoch: u64,
}

const MAX_USERS: usize = 50_000;

impl AlertCache {
    /// `ttl` of zero disables the cache.
    pub fn new(ttl: Duration) -> AlertCache {
        AlertCache {
            ttl,
            entries: Arc::default(),
            epoch: Arc::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user's whole alert list (newest first) if cached and fresh, else a ticket to fill it.
    pub fn get(&self, user: UserId) -> Result<Arc<CachedList>, Ticket> {
        let epoch = self.epoch();
        let entries = self.lock();
        let entry = entries.get(&user);
        match entry.and_then(|e| e.list.as_ref()) {
            Some((list, at)) if at.elapsed() < self.ttl && list.fresh() => Ok(list.clone()),
            _ => Err(Ticket {
                generation: entry.map_or(0, |e| e.generation),
                epoch,
            }),
        }
    }

    /// Stores a list read from the database, unless the user was evicted since `ticket`.
    pub fn insert(&self, user: UserId, ticket: Ticket, list: Arc<CachedList>) {
        if !self.enabled() || ticket.epoch != self.epoch() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_USERS && !entries.contains_key(&user) {
            entries.retain(|_, e| {
                e.list
                    .as_ref()
                    .is_some_and(|(_, at)| at.elapsed() < self.ttl)
            });
        }
        let entry = entries.entry(user).or_default();
        if entry.generation == ticket.generation {
            entry.list = Some((list, Instant::now()));
        }
    }

    pub fn evict(&self, user: UserId) {
        let mut entries = self.lock();
        let entry = entries.entry(user).or_default();
        entry.generation += 1;
        entry.list = None;
    }

    /// Forgets everyone (an alert was deleted elsewhere and its owner is not known here).
    pub fn clear(&self) {
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let mut entries = self.lock();
        for entry in entries.values_mut() {
            entry.generation += 1;
            entry.list = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_with_an_eviction_is_not_stored() {
        let cache = AlertCache::new(Duration::from_secs(60));
        let Err(ticket) = cache.get(1) else {
            panic!("empty cache hit")
        };
        cache.evict(1);
        cache.insert(1, ticket, Arc::new(CachedList::new(Vec::new())));
        assert!(cache.get(1).is_err(), "stale list must not be cached");
        let Err(ticket) = cache.get(1) else {
            panic!("miss expected")
        };
        cache.insert(1, ticket, Arc::new(CachedList::new(Vec::new())));
        assert!(cache.get(1).is_ok());
        let Err(ticket) = cache.get(2) else {
            panic!("miss expected")
        };
        cache.clear();
        cache.insert(2, ticket, Arc::new(CachedList::new(Vec::new())));
        assert!(cache.get(2).is_err());
        assert!(cache.get(1).is_err(), "clear forgets everyone");
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = AlertCache::new(Duration::ZERO);
        let Err(ticket) = cache.get(1) else {
            panic!("miss expected")
        };
        cache.insert(1, ticket, Arc::new(CachedList::new(Vec::new())));
        assert!(cache.get(1).is_err());
    }
}
