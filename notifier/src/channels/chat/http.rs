//! What every chat request shares: the message, the client's settings, reading an answer
//! (status, `Retry-After`, body excerpt) and what a request without an answer means.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use shared::domain::Channel;

use crate::channels::webhook::is_forbidden_target;
use crate::channels::SendOutcome;
use crate::message::Outgoing;

/// What one chat message says, before each service cuts it to its own limit.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// ntfy's title (the email subject).
    pub title: String,
    /// The alert's own message, or the one-line summary SMS sends.
    pub text: String,
}

impl ChatMessage {
    pub fn of(outgoing: &Outgoing) -> ChatMessage {
        ChatMessage {
            title: outgoing.subject(),
            text: outgoing.short_text(usize::MAX),
        }
    }
}

/// reqwest with what every chat request needs: a time-out, no redirects, our user agent.
pub(super) fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pricealert-notifier/", env!("CARGO_PKG_VERSION")))
}

/// A request that got no HTTP answer.
pub(crate) struct TransportFailure(reqwest::Error);

impl From<reqwest::Error> for TransportFailure {
    fn from(error: reqwest::Error) -> Self {
        // The URL carries the secret (a webhook path, the bot token): never in an error.
        TransportFailure(error.without_url())
    }
}

impl TransportFailure {
    /// Without an idempotency key, only a request that never left is safe to repeat.
    pub(super) fn outcome(&self, channel: Channel, timeout: Duration) -> SendOutcome {
        let service = channel.as_str();
        let error = &self.0;
        if is_forbidden_target(error) {
            SendOutcome::Permanent(format!(
                "refused: the {service} target resolves only to loopback, private, link-local \
                 or metadata addresses"
            ))
        } else if error.is_connect() {
            SendOutcome::Retryable(format!("could not reach {service}: {error}"))
        } else if error.is_timeout() {
            SendOutcome::Unknown(format!(
                "{service} did not answer within {:.1} s; the message may have been sent",
                timeout.as_secs_f64()
            ))
        } else {
            SendOutcome::Unknown(format!(
                "the connection to {service} failed mid-request; the message may have been \
                 sent: {error}"
            ))
        }
    }
}

/// The result of one request: an outcome from the service's answer, or no answer at all.
pub(super) type Attempt = Result<SendOutcome, TransportFailure>;

/// A response's status, headers and (start of the) body.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Answer {
    /// Reads the answer; a body cut off after the status arrived counts as an empty one (the
    /// status alone decides).
    pub(super) async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(super) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The body as an error message quotes it: trimmed, at most 200 characters.
    pub(super) fn excerpt(&self) -> String {
        let trimmed = self.body.trim();
        let mut excerpt: String = trimmed.chars().take(200).collect();
        if excerpt.len() < trimmed.len() {
            excerpt.push('…');
        }
        excerpt
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by these services).
    pub(super) fn retry_after_header(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?;
        seconds(value.trim().parse::<f64>().ok()?)
    }

    /// A 429: retried no sooner than `retry_after` when the service said, else with backoff.
    pub(super) fn throttled(&self, error: String, retry_after: Option<Duration>) -> SendOutcome {
        match retry_after {
            Some(retry_after) => SendOutcome::Throttled { error, retry_after },
            None => SendOutcome::Retryable(error),
        }
    }

    /// What an answer without a service-specific meaning says: 2xx sent, 429 and 5xx worth
    /// another try, anything else (redirects included: never followed) refused for good.
    pub(super) fn generic(&self, error: String) -> SendOutcome {
        match self.status {
            429 => self.throttled(error, self.retry_after_header()),
            500..=599 => SendOutcome::Retryable(error),
            _ => SendOutcome::Permanent(error),
        }
    }
}

/// A duration from a number of seconds a service sent, when it is one.
pub(super) fn seconds(value: f64) -> Option<Duration> {
    // A day is far beyond any documented wait; a larger value is not a wait to honour.
    (value.is_finite() && (0.0..=86_400.0).contains(&value)).then(|| Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_waits_are_read_as_retry_after() {
        assert_eq!(seconds(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(1e12), None);
    }
}
