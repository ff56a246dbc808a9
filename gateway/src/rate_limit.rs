//! Request budgets (governor): login attempts per account and per client IP, and a general
//! per-user API rate.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::config::GatewaySettings;
use shared::domain::UserId;

use crate::error::ApiError;
use crate::metrics::GatewayMetrics;

#[derive(Clone)]
pub struct Limits {
    login_per_account: Arc<DefaultKeyedRateLimiter<String>>,
    login_per_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    api_per_user: Arc<DefaultKeyedRateLimiter<UserId>>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn retry_after<C: Clock>(not_until: governor::NotUntil<C::Instant>, clock: &C) -> u64 {
    not_until.wait_time_from(clock.now()).as_secs().max(1)
}

impl Limits {
    pub fn new(settings: &GatewaySettings) -> Limits {
        let api =
            NonZeroU32::new(settings.api_requests_per_second_per_user).unwrap_or(NonZeroU32::MIN);
        Limits {
            login_per_account: Arc::new(RateLimiter::keyed(per_minute(
                settings.login_attempts_per_minute_per_account,
            ))),
            login_per_ip: Arc::new(RateLimiter::keyed(per_minute(
                settings.login_attempts_per_minute_per_ip,
            ))),
            api_per_user: Arc::new(RateLimiter::keyed(Quota::per_second(api))),
        }
    }

    /// One login attempt for `account` from `ip`.
    pub fn check_login(
        &self,
        account: &str,
        ip: IpAddr,
        metrics: &GatewayMetrics,
    ) -> Result<(), ApiError> {
        let clock = DefaultClock::default();
        let limited = self
            .login_per_ip
            .check_key(&ip)
            .err()
            .map(|n| ("ip", retry_after(n, &clock)))
            .or_else(|| {
                self.login_per_account
                    .check_key(&account.to_lowercase())
                    .err()
                    .map(|n| ("account", retry_after(n, &clock)))
            });
        match limited {
            None => Ok(()),
            Some((scope, retry_after_secs)) => {
                metrics.rate_limited.with_label_values(&[scope]).inc();
                Err(ApiError::RateLimited {
                    retry_after_secs,
                    detail: "Too many login attempts; try again later",
                })
            }
        }
    }

    pub fn check_api(&self, user_id: UserId, metrics: &GatewayMetrics) -> Result<(), ApiError> {
        self.api_per_user.check_key(&user_id).map_err(|n| {
            metrics.rate_limited.with_label_values(&["api"]).inc();
            ApiError::RateLimited {
                retry_after_secs: retry_after(n, &DefaultClock::default()),
                detail: "Too many requests; slow down",
            }
        })
    }

    /// Forgets keys whose budget is full again, so the maps stay small.
    pub fn shrink(&self) {
        self.login_per_account.retain_recent();
        self.login_per_ip.retain_recent();
        self.api_per_user.retain_recent();
    }
}
