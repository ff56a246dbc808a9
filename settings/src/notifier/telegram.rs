//! Telegram through the Bot API (one bot, operated by whoever runs pricealert).

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::fields;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot's token from @BotFather; without it Telegram deliveries fail as not configured.
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub bot_token: Option<SecretString>,
    /// `https://api.telegram.org`; tests point it at a local server.
    pub api_base_url: String,
    /// A request without an answer by then has an unknown outcome and is not resent.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The bot-wide budget: Telegram refuses more than about 30 messages per second.
    pub max_messages_per_second: u32,
    /// Telegram asks for no more than one message per second to one chat.
    #[serde(with = "humantime_serde")]
    pub per_chat_interval: Duration,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            bot_token: None,
            api_base_url: "https://api.telegram.org".to_owned(),
            timeout: Duration::from_secs(10),
            max_messages_per_second: 30,
            per_chat_interval: Duration::from_secs(1),
        }
    }
}
