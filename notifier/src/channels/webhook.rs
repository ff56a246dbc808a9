//! Signed webhooks: JSON body, `X-Pricealert-Signature: sha256=<hex HMAC-SHA256 of the body>`,
//! a 5 s timeout, no redirects, and no private targets unless configured.

use std::error::Error as _;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared::config::WebhookSettings;
use shared::webhook::validate_webhook_url;

use super::resolver::{ForbiddenTarget, PublicOnlyResolver};
use super::SendOutcome;
use crate::message::Outgoing;
use crate::store::Store;
use crate::NotifierError;

pub const SIGNATURE_HEADER: &str = "X-Pricealert-Signature";
/// The event id (or digest id): stable across retries, so receivers can drop duplicates.
pub const EVENT_HEADER: &str = "X-Pricealert-Event";

pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookSender {
    pub fn from_settings(settings: &WebhookSettings) -> Result<WebhookSender, NotifierError> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the address checks.
            .no_proxy()
            .user_agent(concat!("pricealert-notifier/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder
            .build()
            .map_err(|e| NotifierError::Config(format!("webhook HTTP client: {e}")))?;
        Ok(WebhookSender {
            client,
            allow_private: settings.allow_private_addresses,
        })
    }

    #[tracing::instrument(skip_all, fields(message_id = %outgoing.id, events = outgoing.events.len()))]
    pub async fn send(&self, db: &Store, outgoing: &Outgoing) -> SendOutcome {
        let Some(latest) = outgoing.latest() else {
            return SendOutcome::Permanent("nothing to send".to_owned());
        };
        let hook = match db.db().webhook(latest.user_id).await {
            Ok(Some(hook)) => hook,
            Ok(None) => {
                return SendOutcome::Skipped(super::missing_recipient(
                    shared::domain::Channel::Webhook,
                ))
            }
            Err(e) => return SendOutcome::Retryable(format!("could not read the webhook: {e}")),
        };
        // Checked again at send time: the setting may have changed since the URL was saved.
        let url = match validate_webhook_url(&hook.url, self.allow_private) {
            Ok(url) => url,
            Err(e) => return SendOutcome::Permanent(e.to_string()),
        };
        let body = match serde_json::to_vec(&outgoing.webhook_body()) {
            Ok(body) => body,
            Err(e) => return SendOutcome::Permanent(format!("could not encode the body: {e}")),
        };
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&hook.secret, &body))
            .header(EVENT_HEADER, outgoing.id.to_string())
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => classify(response.status()),
            Err(e) if is_forbidden_target(&e) => {
                SendOutcome::Permanent(format!("refused: {}", ForbiddenTarget(hostname(&hook.url))))
            }
            // A timeout may come after the receiver took the request; it deduplicates on the
            // event header.
            Err(e) if e.is_timeout() => {
                SendOutcome::MaybeDelivered(format!("webhook request failed: {e}"))
            }
            // Connection failures: nothing was delivered.
            Err(e) => SendOutcome::Retryable(format!("webhook request failed: {e}")),
        }
    }
}

fn classify(status: reqwest::StatusCode) -> SendOutcome {
    let code = status.as_u16();
    if status.is_success() {
        SendOutcome::Sent {
            provider_id: None,
            provider_status: Some(code.to_string()),
        }
    } else if status.is_redirection() {
        SendOutcome::Permanent(format!(
            "webhook answered {code} (a redirect); redirects are not followed"
        ))
    } else if code == 429 || status.is_server_error() {
        SendOutcome::Retryable(format!("webhook answered {code}"))
    } else {
        SendOutcome::Permanent(format!("webhook answered {code}"))
    }
}

pub(super) fn is_forbidden_target(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<ForbiddenTarget>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn hostname(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
