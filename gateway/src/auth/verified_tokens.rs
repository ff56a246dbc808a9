//! Tokens already verified, so a client's next request with the same token skips the HMAC and
//! the claims' two JSON parses (`jsonwebtoken` parses them once to validate and once for us):
//! about 5 % of the gateway's time on `GET /alerts` (docs/BENCHMARKS.md).
//!
//! What a token says is a pure function of its text and the signing key, which does not change
//! while the gateway runs, so a hit stands for a verification except for time: each hit checks
//! `exp` and `nbf` again, with the leeway `jsonwebtoken` uses. Whether the account still accepts
//! the token (active, same generation) is checked on every request, hit or miss, by the caller.
//!
//! The key is the whole token. Keyed by its signature alone, a hit would vouch for any header
//! and claims glued to a signature once seen.

use quick_cache::sync::Cache;
use shared::domain::UserId;
use std::sync::Arc;

/// Verified tokens kept at most; beyond that the least useful go (S3-FIFO). At ~300 bytes an
/// entry, about 30 MB.
const CAPACITY: usize = 100_000;

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user_id: UserId,
    /// The account's token generation when the token was issued.
    pub generation: i64,
    /// `exp`, seconds since the epoch: a long-lived WebSocket stops trusting the token then.
    pub expires_at: i64,
}

/// A verified token's claims and the times between which it holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Holds {
    pub verified: Verified,
    /// `nbf`, when the token has one.
    pub not_before: Option<i64>,
}

impl Holds {
    /// Whether the token holds at `now` (seconds since the epoch), `leeway` seconds either side,
    /// as `jsonwebtoken` judges `exp` and `nbf`.
    pub fn at(&self, now: i64, leeway: i64) -> bool {
        let started = self.not_before.is_none_or(|nbf| nbf <= now + leeway);
        started && self.verified.expires_at >= now - leeway
    }
}

/// Cheap to clone: clones share the entries.
#[derive(Clone)]
pub(super) struct VerifiedTokens(Arc<Cache<String, Holds>>);

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens(Arc::new(Cache::new(CAPACITY)))
    }
}

impl VerifiedTokens {
    /// What `token` was verified to say, if it was.
    pub fn get(&self, token: &str) -> Option<Holds> {
        self.0.get(token)
    }

    pub fn insert(&self, token: &str, holds: Holds) {
        self.0.insert(token.to_owned(), holds);
    }
}
