//! Discord webhooks: `POST <webhook_url>?wait=true` with `{"content"}` (at most 2,000
//! characters); `wait=true` makes Discord answer with the created message, whose id is kept.
//! A 429 names its wait in the JSON body (`retry_after`, seconds) and in `Retry-After`.

use serde_json::json;
use url::Url;

use super::http::{seconds, Answer, Attempt, ChatMessage};
use crate::channels::SendOutcome;
use crate::message::truncate;

/// Discord refuses longer content (error 50035).
const CONTENT_MAX_CHARS: usize = 2000;

pub(super) async fn send(
    client: &reqwest::Client,
    webhook_url: &Url,
    message: &ChatMessage,
) -> Attempt {
    let mut content = message.text.clone();
    truncate(&mut content, CONTENT_MAX_CHARS);
    let mut url = webhook_url.clone();
    url.query_pairs_mut().append_pair("wait", "true");
    let body = json!({
        "content": content,
        // A user's own message text must not ping @everyone or roles.
        "allowed_mentions": { "parse": [] },
    });
    let response = client.post(url).json(&body).send().await?;
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
    let detail = match (field("message").and_then(|m| m.as_str()), field("code")) {
        (Some(message), Some(code)) => format!("{message} (code {code})"),
        (Some(message), None) => message.to_owned(),
        _ => answer.excerpt(),
    };
    let error = format!("Discord answered {}: {detail}", answer.status);
    if answer.status == 429 {
        let retry_after = field("retry_after")
            .and_then(|r| r.as_f64())
            .and_then(seconds)
            .or_else(|| answer.retry_after_header());
        return answer.throttled(error, retry_after);
    }
    // 404 Unknown Webhook (10015): deleted; Discord asks callers to stop using it.
    answer.generic(error)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
    fn the_body_names_the_wait_and_an_unknown_webhook_is_permanent() {
        let throttled = classify(&answer(
            429,
            r#"{"message":"You are being rate limited.","retry_after":64.57,"global":false}"#,
        ));
        assert!(
            matches!(&throttled, SendOutcome::Throttled { retry_after, .. } if *retry_after == Duration::from_secs_f64(64.57)),
            "{throttled:?}"
        );
        let gone = classify(&answer(
            404,
            r#"{"message":"Unknown webhook","code":10015}"#,
        ));
        assert!(matches!(gone, SendOutcome::Permanent(e) if e.contains("10015")));
        let sent = classify(&answer(200, r#"{"id":"334385199974967042","content":"x"}"#));
        assert!(
            matches!(sent, SendOutcome::Sent { provider_id: Some(id), .. } if id == "334385199974967042")
        );
    }
}
