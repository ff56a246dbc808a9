//! The notifier: its channels (email, SMS, webhooks, chat services) and its delivery policy.
//! Slack, Discord and ntfy targets are the users' own URLs: they follow the webhook settings
//! (time-out, private addresses).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{fields, ConfigError};

mod sms;
mod smtp;
mod telegram;

pub use sms::TwilioSettings;
pub use smtp::{FromAddress, SmtpSettings, SmtpTls};
pub use telegram::TelegramSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierSettings {
    pub port: u16,
    pub smtp: SmtpSettings,
    pub twilio: TwilioSettings,
    pub webhook: WebhookSettings,
    pub telegram: TelegramSettings,
    pub rate_limit: NotifierRateLimitSettings,
    pub retry: NotifierRetrySettings,
    /// How long one attempt may hold a delivery. Longer than any send timeout: a claim that
    /// outlives it means the notifier stopped mid-send (email/webhook are then resent with the
    /// same Message-ID / event id; an SMS becomes `unknown`).
    #[serde(with = "humantime_serde")]
    pub claim_timeout: Duration,
    /// Longest pause between scans of the delivery table (new events wake it at once).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// At most this many held-back deliveries go into one digest message.
    pub digest_max_items: usize,
    /// Users (per channel) served at once; bounds connections to the providers.
    pub max_concurrent_sends: usize,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            port: 8003,
            smtp: SmtpSettings::default(),
            twilio: TwilioSettings::default(),
            webhook: WebhookSettings::default(),
            telegram: TelegramSettings::default(),
            rate_limit: NotifierRateLimitSettings::default(),
            retry: NotifierRetrySettings::default(),
            claim_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            digest_max_items: 50,
            max_concurrent_sends: 32,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Allow loopback/private/link-local targets (tests, trusted networks). Off by default.
    pub allow_private_addresses: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Duration::from_secs(5),
            allow_private_addresses: false,
        }
    }
}

/// Per user and channel: at most `max_per_period` messages per `period`; the excess is held
/// back and sent as one digest when the budget allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierRateLimitSettings {
    pub max_per_period: u32,
    #[serde(with = "humantime_serde")]
    pub period: Duration,
}

impl Default for NotifierRateLimitSettings {
    fn default() -> Self {
        NotifierRateLimitSettings {
            max_per_period: 10,
            period: Duration::from_secs(60),
        }
    }
}

/// Retries of transient failures: exponential backoff from `initial_backoff`, capped at
/// `max_backoff`, until `max_attempts`; then the delivery is `failed` and kept as a dead letter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierRetrySettings {
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for NotifierRetrySettings {
    fn default() -> Self {
        NotifierRetrySettings {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
        }
    }
}

impl NotifierSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.rate_limit.max_per_period == 0 || self.rate_limit.period.is_zero() {
            return Err(ConfigError::Invalid(
                "notifier.rate_limit needs max_per_period >= 1 and a period longer than 0"
                    .to_owned(),
            ));
        }
        if self.twilio.timeout.is_zero()
            || self.webhook.timeout.is_zero()
            || self.telegram.timeout.is_zero()
        {
            return Err(ConfigError::Invalid(
                "notifier timeouts must be longer than 0".to_owned(),
            ));
        }
        let longest_send = self
            .smtp
            .timeout
            .max(self.twilio.timeout)
            .max(self.webhook.timeout)
            // Only a configured bot sends: settings valid before Telegram existed stay valid.
            .max(match self.telegram.bot_token {
                Some(_) => self.telegram.timeout + self.telegram.per_chat_interval,
                None => Duration::ZERO,
            });
        if self.claim_timeout <= longest_send {
            return Err(ConfigError::Invalid(
                "notifier.claim_timeout must be longer than every send timeout".to_owned(),
            ));
        }
        if self.retry.max_attempts == 0
            || self.digest_max_items == 0
            || self.max_concurrent_sends == 0
        {
            return Err(ConfigError::Invalid(
                "notifier.retry.max_attempts, digest_max_items and max_concurrent_sends must be \
                 at least 1"
                    .to_owned(),
            ));
        }
        if self.telegram.max_messages_per_second == 0 {
            return Err(ConfigError::Invalid(
                "notifier.telegram.max_messages_per_second must be at least 1".to_owned(),
            ));
        }
        fields::check_http_url(
            "notifier.telegram.api_base_url",
            &self.telegram.api_base_url,
        )?;
        fields::check_http_url("notifier.twilio.base_url", &self.twilio.base_url)
    }
}
