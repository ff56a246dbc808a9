//! The per-user, per-channel rate limit (GCRA via governor): a burst of `max_per_period`,
//! then one more message every `period / max_per_period`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::config::NotifierRateLimitSettings;
use shared::domain::{Channel, UserId};

use crate::NotifierError;

pub struct DeliveryRateLimiter {
    limiter: DefaultKeyedRateLimiter<(UserId, Channel)>,
    max_per_period: u32,
    period: Duration,
}

impl DeliveryRateLimiter {
    pub fn new(settings: &NotifierRateLimitSettings) -> Result<DeliveryRateLimiter, NotifierError> {
        let invalid = || NotifierError::Config("invalid notifier rate limit".to_owned());
        let burst = NonZeroU32::new(settings.max_per_period).ok_or_else(invalid)?;
        let period = settings.period;
        let quota = Quota::with_period(period / settings.max_per_period)
            .ok_or_else(invalid)?
            .allow_burst(burst);
        Ok(DeliveryRateLimiter {
            limiter: RateLimiter::keyed(quota),
            max_per_period: settings.max_per_period,
            period,
        })
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// Takes one message from the budget, or says how long until one is available.
    pub fn check(&self, user_id: UserId, channel: Channel) -> Result<(), Duration> {
        self.limiter
            .check_key(&(user_id, channel))
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Spends what was already sent in the current period (read back from the delivery table
    /// at start), so a restart does not hand out a fresh budget.
    pub fn spend(&self, user_id: UserId, channel: Channel, messages: i64) {
        let messages = u32::try_from(messages.max(0))
            .unwrap_or(u32::MAX)
            .min(self.max_per_period);
        for _ in 0..messages {
            let _ = self.limiter.check_key(&(user_id, channel));
        }
    }

    /// Forgets users whose budget is full again (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_passes_then_the_next_waits_one_interval() {
        let limiter = DeliveryRateLimiter::new(&NotifierRateLimitSettings {
            max_per_period: 10,
            period: Duration::from_secs(60),
        })
        .expect("valid");
        for _ in 0..10 {
            assert!(limiter.check(1, Channel::Email).is_ok());
        }
        let wait = limiter
            .check(1, Channel::Email)
            .expect_err("11th is held back");
        assert!(
            wait <= Duration::from_secs(6) && wait > Duration::from_secs(5),
            "{wait:?}"
        );
        assert!(
            limiter.check(1, Channel::Sms).is_ok(),
            "channels are separate"
        );
        assert!(
            limiter.check(2, Channel::Email).is_ok(),
            "users are separate"
        );
    }

    #[test]
    fn spent_budget_is_remembered() {
        let limiter = DeliveryRateLimiter::new(&NotifierRateLimitSettings {
            max_per_period: 3,
            period: Duration::from_secs(60),
        })
        .expect("valid");
        limiter.spend(7, Channel::Email, 3);
        assert!(limiter.check(7, Channel::Email).is_err());
    }
}
