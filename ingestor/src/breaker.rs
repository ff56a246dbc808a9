//! A circuit breaker per provider: after enough failed cycles in a row the provider is left
//! alone for a while, then one trial cycle decides whether it is back.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    failure_threshold: u32,
    open_for: Duration,
    consecutive_failures: u32,
    /// Set while open; past it, the breaker is half-open and lets one cycle through.
    open_until: Option<Instant>,
}

impl CircuitBreaker {
    pub fn new(failure_threshold: u32, open_for: Duration) -> CircuitBreaker {
        CircuitBreaker {
            failure_threshold: failure_threshold.max(1),
            open_for,
            consecutive_failures: 0,
            open_until: None,
        }
    }

    /// Whether a cycle may run at `now`.
    pub fn permits(&self, now: Instant) -> bool {
        self.open_until.is_none_or(|until| now >= until)
    }

    /// Open, or half-open waiting for its trial cycle to succeed.
    pub fn is_open(&self) -> bool {
        self.open_until.is_some()
    }

    pub fn record_success(&mut self) -> Transition {
        self.consecutive_failures = 0;
        match self.open_until.take() {
            Some(_) => Transition::Closed,
            None => Transition::None,
        }
    }

    /// A failed cycle; a failed trial cycle re-opens at once.
    pub fn record_failure(&mut self, now: Instant) -> Transition {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.consecutive_failures < self.failure_threshold {
            return Transition::None;
        }
        let was_open = self.open_until.is_some();
        self.open_until = Some(
            now.checked_add(self.open_for)
                .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600)),
        );
        if was_open {
            Transition::None
        } else {
            Transition::Opened
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_waits_and_closes_after_a_good_trial() {
        let start = Instant::now();
        let mut breaker = CircuitBreaker::new(3, Duration::from_secs(60));
        assert_eq!(breaker.record_failure(start), Transition::None);
        assert_eq!(breaker.record_failure(start), Transition::None);
        assert!(breaker.permits(start));
        assert_eq!(breaker.record_failure(start), Transition::Opened);
        assert!(breaker.is_open());
        assert!(!breaker.permits(start + Duration::from_secs(59)));
        // Half-open: one trial; it fails, so the breaker opens for another minute.
        let trial = start + Duration::from_secs(60);
        assert!(breaker.permits(trial));
        assert_eq!(breaker.record_failure(trial), Transition::None);
        assert!(!breaker.permits(trial + Duration::from_secs(30)));
        let second_trial = trial + Duration::from_secs(60);
        assert!(breaker.permits(second_trial));
        assert_eq!(breaker.record_success(), Transition::Closed);
        assert!(!breaker.is_open());
        assert_eq!(breaker.record_failure(second_trial), Transition::None);
    }

    #[test]
    fn a_success_resets_the_count() {
        let now = Instant::now();
        let mut breaker = CircuitBreaker::new(2, Duration::from_secs(1));
        breaker.record_failure(now);
        assert_eq!(breaker.record_success(), Transition::None);
        assert_eq!(breaker.record_failure(now), Transition::None);
        assert!(breaker.permits(now));
    }
}
