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
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Webhook];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }

    /// Why a delivery on this channel has nowhere to go when the account lacks its recipient
    /// (no phone for `sms`, no webhook for `webhook`): the warning the API answers when such
    /// an alert is saved, and the `last_error` of each delivery the notifier skips for it.
    pub fn missing_recipient(&self) -> Option<&'static str> {
        match self {
            Channel::Email => None,
            Channel::Sms => Some("no phone number on the account"),
            Channel::Webhook => Some("no webhook on the account"),
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
    #[error("unknown notification type '{0}' (expected email, sms or webhook)")]
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
    fn unknown_and_empty_are_rejected() {
        assert!("email,fax".parse::<NotificationChannels>().is_err());
        assert_eq!(
            "".parse::<NotificationChannels>(),
            Err(ChannelsError::Empty)
        );
    }
}
