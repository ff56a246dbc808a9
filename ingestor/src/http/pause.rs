//! A provider-wide pause: after a 429, no request of that provider leaves before `Retry-After`.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct PauseGate {
    until: Mutex<Option<Instant>>,
}

impl PauseGate {
    /// Holds every request back for `wait` from now (a longer pause already set is kept).
    pub fn pause_for(&self, wait: Duration) {
        let now = Instant::now();
        // An absurd wait must not overflow the clock: a year is "not any time soon" enough.
        let target = now
            .checked_add(wait)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        *until = Some(until.map_or(target, |current| current.max(target)));
    }

    pub fn is_paused(&self) -> bool {
        let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|when| when > Instant::now())
    }

    /// Returns once no pause is in force.
    pub async fn wait(&self) {
        loop {
            let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(when) if when > Instant::now() => tokio::time::sleep_until(when).await,
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_holds_requests_back_until_it_ends_and_never_shrinks() {
        let gate = PauseGate::default();
        let started = Instant::now();
        gate.wait().await;
        assert!(started.elapsed() < Duration::from_millis(100));

        gate.pause_for(Duration::from_millis(300));
        gate.pause_for(Duration::from_millis(10));
        gate.wait().await;
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
