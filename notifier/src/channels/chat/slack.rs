//! Slack incoming webhooks: `POST <webhook_url>` with `{"text"}`. Errors are plain-text
//! bodies (`channel_is_archived`, `no_service`, …); a 429 says when to retry in `Retry-After`.

use serde_json::json;
use url::Url;

use super::http::{Answer, Attempt, ChatMessage};
use crate::channels::SendOutcome;
use crate::message::truncate;

/// Slack truncates a message's text past 40,000 characters; cut it ourselves, between words.
const TEXT_MAX_CHARS: usize = 40_000;

pub(super) async fn send(
    client: &reqwest::Client,
    webhook_url: &Url,
    message: &ChatMessage,
) -> Attempt {
    let mut text = message.text.clone();
    truncate(&mut text, TEXT_MAX_CHARS);
    let response = client
        .post(webhook_url.clone())
        .json(&json!({ "text": text }))
        .send()
        .await?;
    Ok(classify(&Answer::read(response).await))
}

fn classify(answer: &Answer) -> SendOutcome {
    if (200..300).contains(&answer.status) {
        return SendOutcome::Sent {
            provider_id: None,
            provider_status: Some(answer.status.to_string()),
        };
    }
    // 404 no_team / channel_not_found, 410 channel_is_archived, 403 action_prohibited, 400
    // invalid_payload: the webhook will not take this message, ever.
    answer.generic(format!(
        "Slack answered {}: {}",
        answer.status,
        answer.excerpt()
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    #[test]
    fn a_429_is_retried_after_its_header_and_archived_channels_are_permanent() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        let throttled = classify(&Answer {
            status: 429,
            headers,
            body: String::new(),
        });
        assert!(
            matches!(&throttled, SendOutcome::Throttled { retry_after, .. } if *retry_after == Duration::from_secs(1)),
            "{throttled:?}"
        );
        let archived = classify(&Answer {
            status: 410,
            headers: HeaderMap::new(),
            body: "channel_is_archived".to_owned(),
        });
        assert!(matches!(archived, SendOutcome::Permanent(e) if e.contains("channel_is_archived")));
    }
}
