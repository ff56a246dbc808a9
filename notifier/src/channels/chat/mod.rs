//! The chat channels: Telegram (the operator's bot), Slack and Discord (the user's incoming
//! webhook), ntfy (the user's server and topic).
//!
//! None of these services takes an idempotency key: once a request may have reached one, a
//! missing answer is an unknown outcome (`unknown`, never resent), exactly as for Twilio. A
//! refused connection delivered nothing and is retried; a 429 is retried no sooner than the
//! service asked.

mod discord;
mod http;
mod ntfy;
mod slack;
mod telegram;

use std::sync::Arc;
use std::time::Duration;

use shared::config::NotifierSettings;
use shared::domain::ChatConfig;

use super::resolver::PublicOnlyResolver;
use super::SendOutcome;
use crate::message::Outgoing;
use crate::store::Store;
use crate::NotifierError;

pub use http::ChatMessage;
pub use telegram::TelegramBot;

use http::client_builder;

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
