//! How many backtests each user has running: a few at once, 429 beyond.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared::domain::UserId;

#[derive(Clone)]
pub struct BacktestSlots {
    running: Arc<Mutex<HashMap<UserId, u32>>>,
    per_user: u32,
}

/// A running backtest; its slot is given back when dropped.
pub struct BacktestSlot {
    running: Arc<Mutex<HashMap<UserId, u32>>>,
    user: UserId,
}

impl BacktestSlots {
    pub fn new(per_user: u32) -> BacktestSlots {
        BacktestSlots {
            running: Arc::default(),
            per_user: per_user.max(1),
        }
    }

    /// A slot for `user`, or `None` when they already run as many as allowed.
    pub fn try_acquire(&self, user: UserId) -> Option<BacktestSlot> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let count = running.entry(user).or_insert(0);
        if *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(BacktestSlot {
            running: self.running.clone(),
            user,
        })
    }
}

impl Drop for BacktestSlot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = running.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_runs_at_most_the_allowed_backtests_at_once() {
        let slots = BacktestSlots::new(2);
        let first = slots.try_acquire(1).expect("first");
        let _second = slots.try_acquire(1).expect("second");
        assert!(slots.try_acquire(1).is_none(), "a third is refused (429)");
        assert!(
            slots.try_acquire(2).is_some(),
            "another user is not affected"
        );
        drop(first);
        assert!(
            slots.try_acquire(1).is_some(),
            "a finished one frees its slot"
        );
    }
}
