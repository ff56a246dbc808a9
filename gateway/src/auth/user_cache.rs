//! A cache of authenticated users, so a request costs one database round trip (its own
//! query) instead of two.
//!
//! Coherence: a change through this gateway evicts its user at once. A change anywhere else
//! (another replica, an operator's SQL) reaches every gateway as a PostgreSQL notice
//! (`account_notices`), which evicts too; an entry then lives `ttl`. While the notices are not
//! flowing (not connected yet, or reconnecting) entries live at most [`UNNOTIFIED_TTL`], so
//! another replica accepts a deleted user's or an old password's token for at most that long.
//! SQLite has no notices (and several gateways may share its file), so there it is always so.
//!
//! Each entry lives a random 80–100 % of that: accounts read in one burst (a gateway's start,
//! a load test's first second) would otherwise expire in the same instant and all be read
//! again at once. Only ever shorter, so the bounds above hold.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::store::UserRecord;
use shared::domain::UserId;

/// How long an entry is trusted while changes elsewhere would go unnoticed.
pub const UNNOTIFIED_TTL: Duration = Duration::from_secs(2);
/// Beyond this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 100_000;
/// The shortest share of the time-to-live an entry is given (see the module's note).
const SHORTEST_LIFE: f32 = 0.8;

/// A cached account, when it was read, and the share of the time-to-live it is given.
type Entry = (UserRecord, Instant, f32);

#[derive(Clone)]
pub struct UserCache {
    entries: Arc<RwLock<HashMap<UserId, Entry>>>,
    ttl: Duration,
    /// Whether every change made elsewhere evicts (notices are flowing).
    notified: Arc<AtomicBool>,
    /// Bumped by every eviction, so an account read before one is never stored after it.
    evictions: Arc<AtomicU64>,
}

/// Taken before reading an account, handed to [`UserCache::insert`] with what was read.
#[derive(Clone, Copy)]
pub struct UserTicket(u64);

impl UserCache {
    /// Entries live at most [`UNNOTIFIED_TTL`] until [`UserCache::set_notified`] says
    /// changes made elsewhere are noticed; `ttl` from then on.
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            entries: Arc::default(),
            ttl,
            notified: Arc::default(),
            evictions: Arc::default(),
        }
    }

    /// Take before reading an account from the database.
    pub fn ticket(&self) -> UserTicket {
        UserTicket(self.evictions.load(Ordering::Acquire))
    }

    pub fn get(&self, id: UserId) -> Option<UserRecord> {
        let ttl = if self.notified.load(Ordering::Acquire) {
            self.ttl
        } else {
            self.ttl.min(UNNOTIFIED_TTL)
        };
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&id)
            .filter(|(_, at, life)| at.elapsed() < ttl.mul_f32(*life))
            .map(|(user, _, _)| user.clone())
    }

    /// Keeps `user`, read after `ticket` was taken, unless an eviction came since: the
    /// read may then predate the change it announced.
    pub fn insert(&self, user: UserRecord, ticket: UserTicket) {
        let life = rand::thread_rng().gen_range(SHORTEST_LIFE..=1.0);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.evictions.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(user.id, (user, Instant::now(), life));
    }

    pub fn evict(&self, id: UserId) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.remove(&id);
        self.evictions.fetch_add(1, Ordering::AcqRel);
    }

    /// Forgets every entry, and every read still on its way.
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.clear();
        self.evictions.fetch_add(1, Ordering::AcqRel);
    }

    /// Says whether changes made elsewhere are being noticed. Turning it on forgets every
    /// entry: any of them may predate a change nobody was told about.
    pub fn set_notified(&self, notified: bool) {
        if notified {
            self.forget_all();
        }
        self.notified.store(notified, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> UserRecord {
        UserRecord {
            id: 7,
            email: "ana@example.com".to_owned(),
            password_hash: String::new(),
            phone: None,
            is_active: true,
            created_at: chrono::Utc::now(),
            token_generation: 0,
        }
    }

    #[test]
    fn an_account_read_before_an_eviction_is_not_kept_after_it() {
        let cache = UserCache::new(Duration::from_secs(600));
        cache.set_notified(true);
        let before = cache.ticket();
        // The change's notice arrives while the read of the older row is on its way.
        cache.evict(7);
        cache.insert(ana(), before);
        assert!(
            cache.get(7).is_none(),
            "a read older than the eviction was kept"
        );
        cache.insert(ana(), cache.ticket());
        assert!(cache.get(7).is_some());
    }

    #[test]
    fn entries_live_two_seconds_at_most_while_changes_elsewhere_go_unnoticed() {
        let cache = UserCache::new(Duration::from_secs(600));
        cache.insert(ana(), cache.ticket());
        assert!(cache.get(7).is_some());
        let mut entries = cache.entries.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, at, _)) = entries.get_mut(&7) {
            *at -= UNNOTIFIED_TTL;
        }
        drop(entries);
        assert!(
            cache.get(7).is_none(),
            "an unnotified entry outlived {UNNOTIFIED_TTL:?}"
        );
        cache.set_notified(true);
        cache.insert(ana(), cache.ticket());
        let mut entries = cache.entries.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, at, _)) = entries.get_mut(&7) {
            *at -= UNNOTIFIED_TTL;
        }
        drop(entries);
        assert!(cache.get(7).is_some(), "a notified entry lives its ttl");
    }

    /// Ages every entry by `age`.
    fn age_all(cache: &UserCache, age: Duration) {
        let mut entries = cache.entries.write().unwrap_or_else(|p| p.into_inner());
        for (_, at, _) in entries.values_mut() {
            *at -= age;
        }
    }

    fn kept(cache: &UserCache, users: std::ops::Range<UserId>) -> usize {
        users.filter(|&id| cache.get(id).is_some()).count()
    }

    #[test]
    fn accounts_read_together_expire_spread_over_the_last_fifth_of_the_ttl_and_never_later() {
        // Short enough that aging the entries by it never goes before the machine's boot.
        let ttl = Duration::from_secs(10);
        let cache = UserCache::new(ttl);
        cache.set_notified(true);
        let users = 1..1001;
        for id in users.clone() {
            cache.insert(UserRecord { id, ..ana() }, cache.ticket());
        }
        age_all(&cache, ttl.mul_f32(0.79));
        assert_eq!(
            kept(&cache, users.clone()),
            1000,
            "an entry died before 80 % of its ttl"
        );
        // Each entry expires at a uniform 80–100 % of the ttl: at 90 %, about half are gone.
        age_all(&cache, ttl.mul_f32(0.11));
        let left = kept(&cache, users.clone());
        assert!(
            (300..=700).contains(&left),
            "{left} of 1000 left at 90 % of the ttl"
        );
        age_all(&cache, ttl.mul_f32(0.1));
        assert_eq!(kept(&cache, users), 0, "an entry outlived its ttl");
    }
}
