//! Pausing before a retry: the bounded backoff every step of a consumer uses (reading,
//! committing, handling), and the one place a repeating failure is logged once.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Topic;

/// The consumer stopped: shutdown was requested, or the bus is closed. Not a failure; a
/// caller stops what it is doing and returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the consumer stopped (shutdown, or the bus is closed)")]
pub struct Stopped;

/// How long to pause after a failure: `first_pause`, doubled after each further failure in a
/// row, never more than `max_pause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_pause: Duration,
    pub max_pause: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_pause: Duration::from_millis(50),
            max_pause: Duration::from_secs(5),
        }
    }
}

/// The retry state of one step of one consumer.
///
/// A failure is logged when its text differs from the previous one's, so an error repeating
/// on every retry is logged once, and the recovery once more. `pause` is cancel-safe: a
/// pause cut short (by a `select!` that picked another branch) is resumed by the next call.
pub struct Backoff {
    policy: RetryPolicy,
    shutdown: CancellationToken,
    topic: &'static str,
    step: &'static str,
    next_pause: Duration,
    paused_until: Option<Instant>,
    failures: u64,
    last_error: Option<String>,
}

impl Backoff {
    /// `step` names what is retried in the logs ("reading", "committing", "recording a tick").
    pub fn new(
        policy: RetryPolicy,
        shutdown: CancellationToken,
        topic: Topic,
        step: &'static str,
    ) -> Backoff {
        Backoff {
            policy,
            shutdown,
            topic: topic.label(),
            step,
            next_pause: policy.first_pause,
            paused_until: None,
            failures: 0,
            last_error: None,
        }
    }

    /// Records a failure and schedules the pause before the next attempt.
    pub fn failed(&mut self, error: &dyn Display) {
        let text = error.to_string();
        if self.last_error.as_deref() != Some(text.as_str()) {
            tracing::warn!(
                topic = self.topic,
                step = self.step,
                error = %text,
                "bus consumer step failed; pausing, then retrying"
            );
            self.last_error = Some(text);
        }
        self.failures += 1;
        self.paused_until = Some(Instant::now() + self.next_pause);
        self.next_pause = (self.next_pause * 2).min(self.policy.max_pause);
    }

    /// Whether a pause scheduled by [`Backoff::failed`] is still running.
    pub fn is_paused(&self) -> bool {
        self.paused_until
            .is_some_and(|until| until > Instant::now())
    }

    /// Waits out the scheduled pause, if any; `Err(Stopped)` on shutdown.
    pub async fn pause(&mut self) -> Result<(), Stopped> {
        if self.shutdown.is_cancelled() {
            return Err(Stopped);
        }
        if let Some(until) = self.paused_until {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Err(Stopped),
                () = tokio::time::sleep_until(until) => {}
            }
            self.paused_until = None;
        }
        Ok(())
    }

    /// [`Backoff::failed`], then [`Backoff::pause`].
    pub fn retry_after(
        &mut self,
        error: &dyn Display,
    ) -> impl std::future::Future<Output = Result<(), Stopped>> + Send + '_ {
        self.failed(error);
        self.pause()
    }

    /// The step worked: the next failure pauses for `first_pause` again.
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                topic = self.topic,
                step = self.step,
                failures = self.failures,
                "bus consumer step works again"
            );
        }
        self.failures = 0;
        self.last_error = None;
        self.paused_until = None;
        self.next_pause = self.policy.first_pause;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_bound_and_start_over_after_a_success() {
        let policy = RetryPolicy {
            first_pause: Duration::from_millis(10),
            max_pause: Duration::from_millis(35),
        };
        let mut backoff = Backoff::new(
            policy,
            CancellationToken::new(),
            Topic::PriceEvents,
            "testing",
        );
        let mut pauses = Vec::new();
        for _ in 0..4 {
            pauses.push(backoff.next_pause.as_millis());
            backoff.failed(&"down");
        }
        assert_eq!(pauses, [10, 20, 35, 35]);
        assert!(backoff.is_paused());
        backoff.succeeded();
        assert!(!backoff.is_paused());
        assert_eq!(backoff.next_pause.as_millis(), 10);
    }

    #[tokio::test]
    async fn a_pause_ends_at_shutdown() {
        let shutdown = CancellationToken::new();
        let mut backoff = Backoff::new(
            RetryPolicy {
                first_pause: Duration::from_secs(3600),
                max_pause: Duration::from_secs(3600),
            },
            shutdown.clone(),
            Topic::PriceEvents,
            "testing",
        );
        backoff.failed(&"down");
        assert!(backoff.is_paused());
        shutdown.cancel();
        assert_eq!(backoff.pause().await, Err(Stopped));
    }
}
