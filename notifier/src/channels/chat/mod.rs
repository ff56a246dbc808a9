//! The chat channels: Telegram (the operator's bot), Slack and Discord (the user's incoming
//! webhook), ntfy (the user's server and topic).
//!
//! None of these services takes an idempotency key: once a request may have reached one, a
//! missing answer is an unknown outcome (`unknown`, never resent), exactly as for Twilio. A
//! refused connection delivered nothing and is retried; a 429 is retried no sooner than the
//! service asked.

mod discord;
mod ntfy;
mod slack;
mod telegram;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use shared::config::NotifierSettings;
use shared::domain::{Channel, ChatConfig};

use super::resolver::PublicOnlyResolver;
use super::webhook::is_forbidden_target;
use super::SendOutcome;
use crate::message::Outgoing;
use crate::store::Store;
use crate::NotifierError;

pub use telegram::TelegramBot;

/// What one chat message says, before each service cuts it to its own limit.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// ntfy's title (the email subject).
    pub title: String,
    /// The alert's own message, or the one-line summary SMS sends.
    pub text: String,
}

impl ChatMessage {
    pub fn of(outgoing: &Outgoing) -> ChatMessage {
        ChatMessage {
            title: outgoing.subject(),
            text: outgoing.short_text(usize::MAX),
        }
    }
}

/// Sends on the chat channels.
pub struct ChatSenders {
    /// For the users' own URLs: connects only to public addresses unless private ones are
    /// allowed (the webhook setting), never follows redirects, never uses a proxy.
    users: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
    /// `None` without `TELEGRAM_BOT_TOKEN`.
    pub telegram: Option<TelegramBot>,
}

impl ChatSenders {
    pub fn from_settings(settings: &NotifierSettings) -> Result<ChatSenders, NotifierError> {
        let webhook = &settings.webhook;
        let mut builder = client_builder(webhook.timeout).no_proxy();
        if !webhook.allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let users = builder
            .build()
            .map_err(|e| NotifierError::Config(format!("chat HTTP client: {e}")))?;
        Ok(ChatSenders {
            users,
            allow_private: webhook.allow_private_addresses,
            timeout: webhook.timeout,
            telegram: TelegramBot::from_settings(&settings.telegram)?,
        })
    }

    /// One attempt to send `outgoing` on its chat channel, to the user's configuration.
    #[tracing::instrument(skip_all, fields(channel = outgoing.channel.as_str(), message_id = %outgoing.id))]
    pub async fn send(&self, db: &Store, outgoing: &Outgoing) -> SendOutcome {
        let Some(latest) = outgoing.latest() else {
            return SendOutcome::Permanent("nothing to send".to_owned());
        };
        let channel = outgoing.channel;
        let config = match db.db().chat_channel(latest.user_id, channel).await {
            Ok(Some(record)) => record.config,
            Ok(None) => return SendOutcome::Skipped(super::missing_recipient(channel)),
            // Nothing was sent: tried again with the delivery.
            Err(e) => {
                return SendOutcome::Retryable(format!(
                    "could not read the {} channel: {e}",
                    channel.as_str()
                ))
            }
        };
        self.send_to(&config, &ChatMessage::of(outgoing)).await
    }

    /// Sends `message` to one configuration (a delivery, or the channel's test message).
    pub async fn send_to(&self, config: &ChatConfig, message: &ChatMessage) -> SendOutcome {
        // Checked again at send time: the private-address setting may have changed.
        let target = match config {
            ChatConfig::Telegram { .. } => None,
            ChatConfig::Slack { webhook_url } | ChatConfig::Discord { webhook_url } => {
                Some(webhook_url)
            }
            ChatConfig::Ntfy { server, .. } => Some(server),
        };
        if let Some(url) = target {
            if let Err(e) = shared::webhook::validate_webhook_url(url.as_str(), self.allow_private)
            {
                return SendOutcome::Permanent(e.to_string());
            }
        }
        let outcome = match config {
            ChatConfig::Telegram { chat_id } => match &self.telegram {
                Some(bot) => bot.send(chat_id, message).await,
                None => {
                    return SendOutcome::Permanent(
                        "telegram is not configured (TELEGRAM_BOT_TOKEN)".to_owned(),
                    )
                }
            },
            ChatConfig::Slack { webhook_url } => {
                slack::send(&self.users, webhook_url, message).await
            }
            ChatConfig::Discord { webhook_url } => {
                discord::send(&self.users, webhook_url, message).await
            }
            ChatConfig::Ntfy {
                server,
                topic,
                token,
            } => ntfy::send(&self.users, server, topic, token.as_deref(), message).await,
        };
        let timeout = match (config, &self.telegram) {
            (ChatConfig::Telegram { .. }, Some(bot)) => bot.timeout,
            _ => self.timeout,
        };
        outcome.unwrap_or_else(|failure| failure.outcome(config.channel(), timeout))
    }
}

/// reqwest with what every chat request needs: a time-out, no redirects, our user agent.
fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pricealert-notifier/", env!("CARGO_PKG_VERSION")))
}

/// A request that got no HTTP answer.
pub(crate) struct TransportFailure(reqwest::Error);

impl From<reqwest::Error> for TransportFailure {
    fn from(error: reqwest::Error) -> Self {
        // The URL carries the secret (a webhook path, the bot token): never in an error.
        TransportFailure(error.without_url())
    }
}

impl TransportFailure {
    /// Without an idempotency key, only a request that never left is safe to repeat.
    fn outcome(&self, channel: Channel, timeout: Duration) -> SendOutcome {
        let service = channel.as_str();
        let error = &self.0;
        if is_forbidden_target(error) {
            SendOutcome::Permanent(format!(
                "refused: the {service} target resolves only to loopback, private, link-local \
                 or metadata addresses"
            ))
        } else if error.is_connect() {
            SendOutcome::Retryable(format!("could not reach {service}: {error}"))
        } else if error.is_timeout() {
            SendOutcome::Unknown(format!(
                "{service} did not answer within {:.1} s; the message may have been sent",
                timeout.as_secs_f64()
            ))
        } else {
            SendOutcome::Unknown(format!(
                "the connection to {service} failed mid-request; the message may have been \
                 sent: {error}"
            ))
        }
    }
}

/// The result of one request: an outcome from the service's answer, or no answer at all.
type Attempt = Result<SendOutcome, TransportFailure>;

/// A response's status, headers and (start of the) body.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    /// Reads the answer; a body cut off after the status arrived counts as an empty one (the
    /// status alone decides).
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body as an error message quotes it: trimmed, at most 200 characters.
    fn excerpt(&self) -> String {
        let trimmed = self.body.trim();
        let mut excerpt: String = trimmed.chars().take(200).collect();
        if excerpt.len() < trimmed.len() {
            excerpt.push('…');
        }
        excerpt
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by these services).
    fn retry_after_header(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?;
        seconds(value.trim().parse::<f64>().ok()?)
    }

    /// A 429: retried no sooner than `retry_after` when the service said, else with backoff.
    fn throttled(&self, error: String, retry_after: Option<Duration>) -> SendOutcome {
        match retry_after {
            Some(retry_after) => SendOutcome::Throttled { error, retry_after },
            None => SendOutcome::Retryable(error),
        }
    }

    /// What an answer without a service-specific meaning says: 2xx sent, 429 and 5xx worth
    /// another try, anything else (redirects included: never followed) refused for good.
    fn generic(&self, error: String) -> SendOutcome {
        match self.status {
            429 => self.throttled(error, self.retry_after_header()),
            500..=599 => SendOutcome::Retryable(error),
            _ => SendOutcome::Permanent(error),
        }
    }
}

/// A duration from a number of seconds a service sent, when it is one.
fn seconds(value: f64) -> Option<Duration> {
    // A day is far beyond any documented wait; a larger value is not a wait to honour.
    (value.is_finite() && (0.0..=86_400.0).contains(&value)).then(|| Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_waits_are_read_as_retry_after() {
        assert_eq!(seconds(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(1e12), None);
    }
}
