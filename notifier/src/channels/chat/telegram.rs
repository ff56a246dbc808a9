//! Telegram's Bot API: `POST {base}/bot{token}/sendMessage` with `{"chat_id","text"}`.
//!
//! The bot is shared by every user, and Telegram limits it as a whole (about 30 messages a
//! second) and per chat (about one a second): both are waited for before each request, so
//! the notifier does not run into the 429s that flood control answers. A 429 still says how
//! long to wait in `parameters.retry_after`, which the retry honours.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;
use serde_json::json;
use shared::config::TelegramSettings;
use shared::domain::TelegramChatId;

use super::http::{client_builder, seconds, Answer, Attempt, ChatMessage};
use crate::channels::SendOutcome;
use crate::message::truncate;
use crate::NotifierError;

/// `sendMessage` refuses longer texts.
const TEXT_MAX_CHARS: usize = 4096;

pub struct TelegramBot {
    client: reqwest::Client,
    /// Holds the bot token: never logged, never in an error.
    send_message_url: String,
    bot_wide: DefaultDirectRateLimiter,
    per_chat: DefaultKeyedRateLimiter<String>,
    pub(super) timeout: Duration,
}

impl TelegramBot {
    /// `None` unless a bot token is configured.
    pub fn from_settings(
        settings: &TelegramSettings,
    ) -> Result<Option<TelegramBot>, NotifierError> {
        let Some(token) = &settings.bot_token else {
            return Ok(None);
        };
        let invalid = |what: &str| NotifierError::Config(format!("telegram {what}"));
        // The operator's own endpoint: no address filtering (tests run it on loopback).
        let client = client_builder(settings.timeout)
            .build()
            .map_err(|e| invalid(&format!("HTTP client: {e}")))?;
        let per_second = NonZeroU32::new(settings.max_messages_per_second)
            .ok_or_else(|| invalid("max_messages_per_second must be at least 1"))?;
        let per_chat = Quota::with_period(settings.per_chat_interval.max(Duration::from_millis(1)))
            .ok_or_else(|| invalid("per_chat_interval must be longer than 0"))?;
        let base = settings.api_base_url.trim_end_matches('/');
        Ok(Some(TelegramBot {
            client,
            send_message_url: format!("{base}/bot{}/sendMessage", token.expose_secret()),
            bot_wide: RateLimiter::direct(Quota::per_second(per_second)),
            per_chat: RateLimiter::keyed(per_chat),
            timeout: settings.timeout,
        }))
    }

    pub(super) async fn send(&self, chat_id: &TelegramChatId, message: &ChatMessage) -> Attempt {
        let chat = chat_id.to_json();
        // Waiting here holds the delivery's claim; both waits are a second or less, far
        // inside the claim time-out.
        self.per_chat.until_key_ready(&chat.to_string()).await;
        self.bot_wide.until_ready().await;
        let mut text = message.text.clone();
        truncate(&mut text, TEXT_MAX_CHARS);
        let response = self
            .client
            .post(&self.send_message_url)
            .json(&json!({ "chat_id": chat, "text": text }))
            .send()
            .await?;
        Ok(classify(&Answer::read(response).await))
    }
}

/// What a Bot API answer means: `{"ok":true,"result":{"message_id"}}`, or
/// `{"ok":false,"error_code","description","parameters"?:{"retry_after"}}`.
fn classify(answer: &Answer) -> SendOutcome {
    let body = answer.json();
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name));
    let ok = field("ok").and_then(|v| v.as_bool()) == Some(true);
    if (200..300).contains(&answer.status) && ok {
        let message_id = field("result")
            .and_then(|r| r.get("message_id"))
            .map(|id| id.to_string());
        return SendOutcome::Sent {
            provider_id: message_id,
            provider_status: Some(answer.status.to_string()),
        };
    }
    let description = field("description")
        .and_then(|d| d.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| answer.excerpt());
    let error = format!("Telegram answered {}: {description}", answer.status);
    if answer.status == 429 {
        let retry_after = field("parameters")
            .and_then(|p| p.get("retry_after"))
            .and_then(|r| r.as_f64())
            .and_then(seconds)
            .or_else(|| answer.retry_after_header());
        return answer.throttled(error, retry_after);
    }
    // 400 chat not found, 403 blocked by the user, 401 a wrong token: resending won't help.
    answer.generic(error)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderMap;

    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn flood_control_is_retried_after_the_wait_it_names() {
        let outcome = classify(&answer(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#,
        ));
        assert!(
            matches!(&outcome, SendOutcome::Throttled { retry_after, .. } if *retry_after == Duration::from_secs(5)),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_success_records_the_message_id_and_errors_are_permanent() {
        let sent = classify(&answer(200, r#"{"ok":true,"result":{"message_id":42}}"#));
        assert!(matches!(sent, SendOutcome::Sent { provider_id: Some(id), .. } if id == "42"));
        let blocked = classify(&answer(
            403,
            r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        ));
        assert!(matches!(blocked, SendOutcome::Permanent(e) if e.contains("blocked")));
        assert!(matches!(
            classify(&answer(502, "")),
            SendOutcome::Retryable(_)
        ));
    }
}
