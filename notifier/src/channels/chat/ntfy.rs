//! ntfy: a JSON publish (`POST <server>/` with `{"topic","message","title"}`), with
//! `Authorization: Bearer <token>` when the user gave one. The answer is the published
//! message, whose id is kept. 401/403: the token does not grant the topic, for good.

use serde_json::json;
use url::Url;

use super::http::{Answer, Attempt, ChatMessage};
use crate::channels::SendOutcome;
use crate::message::truncate;

/// ntfy's default message size limit is 4,096 bytes; characters can take up to four.
const MESSAGE_MAX_CHARS: usize = 1024;
const MESSAGE_MAX_BYTES: usize = 4096;

pub(super) async fn send(
    client: &reqwest::Client,
    server: &Url,
    topic: &str,
    token: Option<&str>,
    message: &ChatMessage,
) -> Attempt {
    let mut text = message.text.clone();
    if text.len() > MESSAGE_MAX_BYTES {
        truncate(&mut text, MESSAGE_MAX_CHARS);
    }
    let body = json!({ "topic": topic, "message": text, "title": message.title });
    let mut request = client.post(server.clone()).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok(classify(&Answer::read(response).await))
}

fn classify(answer: &Answer) -> SendOutcome {
    let body = answer.json();
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name));
    if (200..300).contains(&answer.status) {
        return SendOutcome::Sent {
            provider_id: field("id").and_then(|id| id.as_str()).map(str::to_owned),
            provider_status: Some(answer.status.to_string()),
        };
    }
    let detail = match (field("error").and_then(|e| e.as_str()), field("code")) {
        (Some(error), Some(code)) => format!("{error} (code {code})"),
        _ => answer.excerpt(),
    };
    answer.generic(format!("ntfy answered {}: {detail}", answer.status))
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
    fn refused_credentials_are_permanent_and_limits_are_retried() {
        let refused = classify(&answer(
            403,
            r#"{"code":40301,"http":403,"error":"forbidden","link":"https://ntfy.sh/docs/publish/#authentication"}"#,
        ));
        assert!(matches!(refused, SendOutcome::Permanent(e) if e.contains("40301")));
        let limited = classify(&answer(
            429,
            r#"{"code":42901,"http":429,"error":"limit reached: too many requests"}"#,
        ));
        assert!(matches!(limited, SendOutcome::Retryable(e) if e.contains("42901")));
    }
}
