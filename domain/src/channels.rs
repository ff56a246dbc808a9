use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One way of delivering a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    Webhook,
    Telegram,
    Slack,
    Discord,
    Ntfy,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Email,
        Channel::Sms,
        Channel::Webhook,
        Channel::Telegram,
        Channel::Slack,
        Channel::Discord,
        Channel::Ntfy,
    ];

    /// The chat channels a user configures under `/auth/me/channels/{kind}`.
    pub const CHAT: [Channel; 4] = [
        Channel::Telegram,
        Channel::Slack,
        Channel::Discord,
        Channel::Ntfy,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
            Channel::Telegram => "telegram",
            Channel::Slack => "slack",
            Channel::Discord => "discord",
            Channel::Ntfy => "ntfy",
        }
    }

    /// Whether this is one of the chat channels configured per user (`/auth/me/channels`).
    pub fn is_chat(&self) -> bool {
        Channel::CHAT.contains(self)
    }

    /// Whether a resend can be recognised as the same message: email carries a stable
    /// Message-ID and webhooks an event header. Twilio and the chat services take no
    /// idempotency key, so a send cut off mid-request is recorded `unknown`, never resent.
    pub fn has_idempotency(&self) -> bool {
        matches!(self, Channel::Email | Channel::Webhook)
    }

    /// Why a delivery on this channel has nowhere to go when the account lacks its recipient
    /// (no phone for `sms`, no webhook for `webhook`): the warning the API answers when such
    /// an alert is saved, and the `last_error` of each delivery the notifier skips for it.
    pub fn missing_recipient(&self) -> Option<&'static str> {
        match self {
            Channel::Email => None,
            Channel::Sms => Some("no phone number on the account"),
            Channel::Webhook => Some("no webhook on the account"),
            Channel::Telegram => Some("no telegram channel configured on the account"),
            Channel::Slack => Some("no slack channel configured on the account"),
            Channel::Discord => Some("no discord channel configured on the account"),
            Channel::Ntfy => Some("no ntfy channel configured on the account"),
        }
    }
}

impl FromStr for Channel {
    type Err = ChannelsError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| ChannelsError::Unknown(text.to_owned()))
    }
}

/// A non-empty, duplicate-free, ordered set of channels; written as `"email,sms"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotificationChannels(Vec<Channel>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelsError {
    #[error("unknown notification type '{0}' (expected email, sms, webhook, telegram, slack, discord or ntfy)")]
    Unknown(String),
    #[error("at least one notification type is required")]
    Empty,
}

impl NotificationChannels {
    pub fn new(channels: impl IntoIterator<Item = Channel>) -> Result<Self, ChannelsError> {
        let mut list: Vec<Channel> = Vec::new();
        for channel in channels {
            if !list.contains(&channel) {
                list.push(channel);
            }
        }
        if list.is_empty() {
            return Err(ChannelsError::Empty);
        }
        Ok(NotificationChannels(list))
    }

    pub fn email_only() -> Self {
        NotificationChannels(vec![Channel::Email])
    }

    pub fn contains(&self, channel: Channel) -> bool {
        self.0.contains(&channel)
    }

    pub fn iter(&self) -> impl Iterator<Item = Channel> + '_ {
        self.0.iter().copied()
    }

    /// Parses a JSON array of names.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, ChannelsError> {
        let channels = names
            .iter()
            .map(|n| n.as_ref().trim().to_ascii_lowercase().parse())
            .collect::<Result<Vec<Channel>, _>>()?;
        NotificationChannels::new(channels)
    }
}

impl Default for NotificationChannels {
    fn default() -> Self {
        NotificationChannels::email_only()
    }
}

impl FromStr for NotificationChannels {
    type Err = ChannelsError;

    /// `"email, sms"`: comma-separated, whitespace around items tolerated.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let names: Vec<&str> = text.split(',').filter(|s| !s.trim().is_empty()).collect();
        NotificationChannels::from_names(&names)
    }
}

impl fmt::Display for NotificationChannels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(Channel::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl Serialize for NotificationChannels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NotificationChannels {
    /// Accepts the API's comma-separated string or (extension) a JSON array of names.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            List(Vec<String>),
        }
        match Form::deserialize(deserializer)? {
            Form::Text(text) => text.parse().map_err(serde::de::Error::custom),
            Form::List(list) => {
                NotificationChannels::from_names(&list).map_err(serde::de::Error::custom)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_separated_with_spaces_is_accepted() {
        let channels: NotificationChannels = "email, sms".parse().expect("valid");
        assert_eq!(channels.to_string(), "email,sms");
    }

    #[test]
    fn json_arrays_are_accepted() {
        let channels: NotificationChannels =
            serde_json::from_str(r#"["sms","email","sms"]"#).expect("valid");
        assert_eq!(channels.to_string(), "sms,email");
    }

    #[test]
    fn chat_channels_are_named_like_the_others() {
        let channels: NotificationChannels =
            "email, slack,telegram,discord,ntfy".parse().expect("valid");
        assert_eq!(channels.to_string(), "email,slack,telegram,discord,ntfy");
        assert!(Channel::CHAT
            .iter()
            .all(|c| c.is_chat() && !c.has_idempotency()));
        assert!(!Channel::Sms.has_idempotency() && Channel::Email.has_idempotency());
    }

    #[test]
    fn unknown_and_empty_are_rejected() {
        assert!("email,fax".parse::<NotificationChannels>().is_err());
        assert_eq!(
            "".parse::<NotificationChannels>(),
            Err(ChannelsError::Empty)
        );
    }
}
