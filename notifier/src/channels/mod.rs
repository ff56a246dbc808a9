//! The delivery channels and what an attempt on one of them can end in.

pub mod chat;
mod email;
mod resolver;
mod sms;
mod webhook;

pub use chat::ChatSenders;
pub use email::EmailSender;
pub use sms::SmsSender;
pub use webhook::WebhookSender;

use shared::config::NotifierSettings;
use shared::domain::Channel;

/// The `last_error` of a delivery skipped for want of a recipient on `channel`.
pub(crate) fn missing_recipient(channel: Channel) -> String {
    channel
        .missing_recipient()
        .unwrap_or("no recipient on the account")
        .to_owned()
}

use crate::message::Outgoing;
use crate::store::Store;
use crate::NotifierError;

/// How one attempt ended, as far as the notifier can tell.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// The provider accepted the message.
    Sent {
        provider_id: Option<String>,
        provider_status: Option<String>,
    },
    /// Nothing was delivered and trying again may work (throttled, 5xx, relay down).
    Retryable(String),
    /// Nothing was delivered: the service is throttling and said how long to wait (a 429's
    /// `retry_after`); retried no sooner than that.
    Throttled {
        error: String,
        retry_after: std::time::Duration,
    },
    /// No answer after the message may have been handed over (an SMTP server silent after
    /// the end of DATA, a webhook timing out): retried, and the retry counted as a possible
    /// duplicate (it carries the same Message-ID / event header).
    MaybeDelivered(String),
    /// Nothing was delivered and trying again will not help.
    Permanent(String),
    /// The recipient replied STOP (Twilio 21610): permanent, and the phone is opted out.
    OptedOut(String),
    /// The provider may have sent it; resending could duplicate (Twilio timeout).
    Unknown(String),
    /// Nothing was sent because the account has no recipient on the channel (no phone, no
    /// webhook): settled as `skipped`, never retried.
    Skipped(String),
}

/// The configured senders. Email, SMS and Telegram need settings; webhooks, Slack, Discord
/// and ntfy are always available (each user brings their own URL).
pub struct Senders {
    pub email: Option<EmailSender>,
    pub sms: Option<SmsSender>,
    pub webhook: WebhookSender,
    pub chat: ChatSenders,
}

impl Senders {
    pub fn from_settings(settings: &NotifierSettings) -> Result<Senders, NotifierError> {
        Ok(Senders {
            email: EmailSender::from_settings(&settings.smtp)?,
            sms: SmsSender::from_settings(&settings.twilio)?,
            webhook: WebhookSender::from_settings(&settings.webhook)?,
            chat: ChatSenders::from_settings(settings)?,
        })
    }

    pub fn configured(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
            Channel::Telegram => self.chat.telegram.is_some(),
            Channel::Webhook | Channel::Slack | Channel::Discord | Channel::Ntfy => true,
        }
    }

    /// One attempt to send `outgoing` on its channel.
    pub async fn send(&self, db: &Store, outgoing: &Outgoing) -> SendOutcome {
        match outgoing.channel {
            Channel::Email => match &self.email {
                Some(sender) => sender.send(outgoing).await,
                None => SendOutcome::Permanent("email is not configured (SMTP_HOST)".to_owned()),
            },
            Channel::Sms
                if outgoing
                    .latest()
                    .is_some_and(|event| event.user_phone.as_deref().is_none_or(str::is_empty)) =>
            {
                SendOutcome::Skipped(missing_recipient(Channel::Sms))
            }
            Channel::Sms => match &self.sms {
                Some(sender) => sender.send(db, outgoing).await,
                None => SendOutcome::Permanent("SMS is not configured (TWILIO_*)".to_owned()),
            },
            Channel::Webhook => self.webhook.send(db, outgoing).await,
            Channel::Telegram | Channel::Slack | Channel::Discord | Channel::Ntfy => {
                self.chat.send(db, outgoing).await
            }
        }
    }
}
