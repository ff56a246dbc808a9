//! What a user configures for a chat channel (`PUT /auth/me/channels/{kind}`): a Telegram chat,
//! a Slack or Discord incoming webhook, an ntfy topic. Parsed once at the edge; the stored
//! JSON is read back with the same rules, and the notifier checks the target again at send
//! time (the private-address setting may have changed).

use serde_json::{json, Map, Value};
use url::Url;

use crate::input::FieldError;
use crate::webhook::validate_webhook_url;
use crate::Channel;

/// A Telegram `chat_id`: a numeric id, or `@username` of a public channel or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramChatId {
    Id(i64),
    Username(String),
}

impl TelegramChatId {
    /// As the Bot API takes it: a JSON integer or a string.
    pub fn to_json(&self) -> Value {
        match self {
            TelegramChatId::Id(id) => json!(id),
            TelegramChatId::Username(name) => json!(name),
        }
    }
}

/// One user's configuration of one chat channel, valid by construction.
#[derive(Clone, PartialEq, Eq)]
pub enum ChatConfig {
    Telegram {
        chat_id: TelegramChatId,
    },
    Slack {
        webhook_url: Url,
    },
    Discord {
        webhook_url: Url,
    },
    Ntfy {
        server: Url,
        topic: String,
        token: Option<String>,
    },
}

/// Never prints a webhook URL's path or a token: they are credentials.
impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatConfig({})", self.masked())
    }
}

/// ntfy's own topic rule (`^[-_A-Za-z0-9]{1,64}$`).
const NTFY_TOPIC_MAX_CHARS: usize = 64;
const NTFY_TOKEN_MAX_CHARS: usize = 256;

impl ChatConfig {
    /// Reads the body of `PUT /auth/me/channels/{kind}` for a chat `channel`; every problem
    /// is reported at once, as a 422 `detail` entry. `allow_private` is the webhook setting:
    /// without it, targets must be https and must not name a private or loopback address.
    pub fn parse(
        channel: Channel,
        body: &Value,
        allow_private: bool,
    ) -> Result<ChatConfig, Vec<FieldError>> {
        let Some(fields) = body.as_object() else {
            return Err(vec![FieldError::new(
                "model_attributes_type",
                &[],
                "Input should be a valid dictionary or object",
                body.clone(),
            )]);
        };
        let mut errors = Vec::new();
        let allowed: &[&str] = match channel {
            Channel::Telegram => &["chat_id"],
            Channel::Slack | Channel::Discord => &["webhook_url"],
            Channel::Ntfy => &["server", "topic", "token"],
            _ => {
                return Err(vec![FieldError::new(
                    "value_error",
                    &[],
                    format!("Value error, {} is not a chat channel", channel.as_str()),
                    body.clone(),
                )])
            }
        };
        for (name, value) in fields {
            if !allowed.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    "extra_forbidden",
                    &[name.as_str()],
                    "Extra inputs are not permitted",
                    value.clone(),
                ));
            }
        }
        let config = match channel {
            Channel::Telegram => read(&mut errors, fields, "chat_id", chat_id)
                .map(|chat_id| ChatConfig::Telegram { chat_id }),
            Channel::Slack => read(&mut errors, fields, "webhook_url", |v| {
                https_url(v, allow_private)
            })
            .map(|webhook_url| ChatConfig::Slack { webhook_url }),
            Channel::Discord => read(&mut errors, fields, "webhook_url", |v| {
                https_url(v, allow_private)
            })
            .map(|webhook_url| ChatConfig::Discord { webhook_url }),
            _ => {
                let server = read(&mut errors, fields, "server", |v| {
                    server_url(v, allow_private)
                });
                let topic = read(&mut errors, fields, "topic", ntfy_topic);
                let token = match fields.get("token") {
                    None | Some(Value::Null) => Some(None),
                    Some(value) => match ntfy_token(value) {
                        Ok(token) => Some(Some(token)),
                        Err((kind, msg)) => {
                            errors.push(FieldError::new(kind, &["token"], msg, value.clone()));
                            None
                        }
                    },
                };
                match (server, topic, token) {
                    (Some(server), Some(topic), Some(token)) => Some(ChatConfig::Ntfy {
                        server,
                        topic,
                        token,
                    }),
                    _ => None,
                }
            }
        };
        match config {
            Some(config) if errors.is_empty() => Ok(config),
            _ => Err(errors),
        }
    }

    /// Reads a stored configuration back (it was valid when saved; the send-time checks
    /// apply the private-address rule again).
    pub fn from_stored(channel: Channel, stored: &str) -> Result<ChatConfig, String> {
        let value: Value = serde_json::from_str(stored).map_err(|e| e.to_string())?;
        ChatConfig::parse(channel, &value, true).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.loc.join("."), e.msg))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn channel(&self) -> Channel {
        match self {
            ChatConfig::Telegram { .. } => Channel::Telegram,
            ChatConfig::Slack { .. } => Channel::Slack,
            ChatConfig::Discord { .. } => Channel::Discord,
            ChatConfig::Ntfy { .. } => Channel::Ntfy,
        }
    }

    /// The whole configuration, secrets included: what is stored.
    pub fn to_stored(&self) -> Value {
        match self {
            ChatConfig::Telegram { chat_id } => json!({ "chat_id": chat_id.to_json() }),
            ChatConfig::Slack { webhook_url } | ChatConfig::Discord { webhook_url } => {
                json!({ "webhook_url": webhook_url.as_str() })
            }
            ChatConfig::Ntfy {
                server,
                topic,
                token,
            } => {
                let mut stored = json!({ "server": server.as_str(), "topic": topic });
                if let Some(token) = token {
                    stored["token"] = json!(token);
                }
                stored
            }
        }
    }

    /// What the API shows back: a Slack or Discord webhook URL's path is its secret, so only
    /// the scheme and host are shown; an ntfy token is only said to be set.
    pub fn masked(&self) -> Value {
        match self {
            ChatConfig::Telegram { chat_id } => json!({ "chat_id": chat_id.to_json() }),
            ChatConfig::Slack { webhook_url } | ChatConfig::Discord { webhook_url } => {
                json!({ "webhook_url": format!("{}…", origin(webhook_url)) })
            }
            ChatConfig::Ntfy {
                server,
                topic,
                token,
            } => json!({
                "server": server.as_str(),
                "topic": topic,
                "token_set": token.is_some(),
            }),
        }
    }
}

/// `https://host[:port]/`, the part of a URL that is no secret.
fn origin(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push('/');
    shown
}

type Problem = (&'static str, String);

fn read<T>(
    errors: &mut Vec<FieldError>,
    fields: &Map<String, Value>,
    name: &'static str,
    parse: impl FnOnce(&Value) -> Result<T, Problem>,
) -> Option<T> {
    match fields.get(name) {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "missing",
                &[name],
                "Field required",
                Value::Null,
            ));
            None
        }
        Some(value) => match parse(value) {
            Ok(parsed) => Some(parsed),
            Err((kind, msg)) => {
                errors.push(FieldError::new(kind, &[name], msg, value.clone()));
                None
            }
        },
    }
}

fn value_error(reason: &str) -> Problem {
    ("value_error", format!("Value error, {reason}"))
}

fn string(value: &Value) -> Result<&str, Problem> {
    value
        .as_str()
        .ok_or_else(|| ("string_type", "Input should be a valid string".to_owned()))
}

/// An integer id (JSON number or its digits as a string), or `@username` (5 to 32 letters,
/// digits or underscores, as Telegram allows).
fn chat_id(value: &Value) -> Result<TelegramChatId, Problem> {
    let invalid = || value_error("chat_id must be a non-zero integer or @channelusername");
    if let Some(id) = value.as_i64() {
        return (id != 0)
            .then_some(TelegramChatId::Id(id))
            .ok_or_else(invalid);
    }
    let text = value.as_str().ok_or_else(invalid)?.trim();
    if let Ok(id) = text.parse::<i64>() {
        return (id != 0)
            .then_some(TelegramChatId::Id(id))
            .ok_or_else(invalid);
    }
    let name = text.strip_prefix('@').ok_or_else(invalid)?;
    let valid = (5..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid
        .then(|| TelegramChatId::Username(text.to_owned()))
        .ok_or_else(invalid)
}

/// A Slack or Discord incoming webhook: https (http only where private targets are allowed,
/// i.e. tests on loopback), and the webhook rules for hosts and addresses.
fn https_url(value: &Value, allow_private: bool) -> Result<Url, Problem> {
    let url = validate_webhook_url(string(value)?, allow_private)
        .map_err(|e| value_error(&e.to_string()))?;
    if url.scheme() != "https" && !allow_private {
        return Err(value_error("webhook url must use https"));
    }
    Ok(url)
}

/// An ntfy server's base URL (http or https; self-hosted servers often run plain http on a
/// public address), without query or fragment.
fn server_url(value: &Value, allow_private: bool) -> Result<Url, Problem> {
    let url = validate_webhook_url(string(value)?, allow_private)
        .map_err(|e| value_error(&e.to_string().replace("webhook url", "server")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(value_error("server must not carry a query or fragment"));
    }
    Ok(url)
}

fn ntfy_topic(value: &Value) -> Result<String, Problem> {
    let topic = string(value)?;
    let valid = (1..=NTFY_TOPIC_MAX_CHARS).contains(&topic.len())
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid
        .then(|| topic.to_owned())
        .ok_or_else(|| value_error("topic must be 1 to 64 letters, digits, '-' or '_'"))
}

/// Sent as `Authorization: Bearer <token>`, so only visible ASCII.
fn ntfy_token(value: &Value) -> Result<String, Problem> {
    let token = string(value)?;
    let valid = (1..=NTFY_TOKEN_MAX_CHARS).contains(&token.len())
        && token.chars().all(|c| c.is_ascii_graphic());
    valid
        .then(|| token.to_owned())
        .ok_or_else(|| value_error("token must be 1 to 256 visible ASCII characters"))
}

#[cfg(test)]
mod tests;
