//! SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
//!
//! Twilio has no idempotency key: once a request may have reached it, a missing answer is an
//! unknown outcome, recorded as such and never blindly resent.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::config::TwilioSettings;

use super::SendOutcome;
use crate::message::Outgoing;
use crate::store::Store;
use crate::NotifierError;

/// Twilio error codes that decide what happens next.
const INVALID_TO: i64 = 21211;
const AUTHENTICATION: i64 = 20003;
const OPTED_OUT: i64 = 21610;
const TOO_MANY_REQUESTS: i64 = 20429;

pub struct SmsSender {
    client: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
    timeout: Duration,
}

#[derive(Deserialize)]
struct CreatedMessage {
    sid: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl SmsSender {
    /// `None` unless account SID, auth token and sender number are all set.
    pub fn from_settings(settings: &TwilioSettings) -> Result<Option<SmsSender>, NotifierError> {
        let (Some(account_sid), Some(auth_token), Some(from)) = (
            settings.account_sid.as_ref(),
            settings.auth_token.as_ref(),
            settings.phone_number.as_ref(),
        ) else {
            return Ok(None);
        };
        let timeout = settings.timeout;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifierError::Config(format!("Twilio HTTP client: {e}")))?;
        let base = settings.base_url.trim_end_matches('/');
        Ok(Some(SmsSender {
            client,
            messages_url: format!("{base}/2010-04-01/Accounts/{account_sid}/Messages.json"),
            account_sid: account_sid.clone(),
            auth_token: auth_token.clone(),
            from: from.as_str().to_owned(),
            timeout,
        }))
    }

    #[tracing::instrument(skip_all, fields(message_id = %outgoing.id, events = outgoing.events.len()))]
    pub async fn send(&self, db: &Store, outgoing: &Outgoing) -> SendOutcome {
        let Some(latest) = outgoing.latest() else {
            return SendOutcome::Permanent("nothing to send".to_owned());
        };
        let Some(phone) = latest.user_phone.as_deref().filter(|p| !p.is_empty()) else {
            return SendOutcome::Skipped(super::missing_recipient(shared::domain::Channel::Sms));
        };
        match db.phone_opted_out(latest.user_id, phone).await {
            Ok(true) => {
                return SendOutcome::Permanent(
                    "the recipient opted out of SMS (replied STOP)".to_owned(),
                )
            }
            Ok(false) => {}
            // Nothing was sent: the check is tried again with the delivery.
            Err(e) => return SendOutcome::Retryable(format!("opt-out check failed: {e}")),
        }
        let form = [
            ("To", phone),
            ("From", self.from.as_str()),
            ("Body", &outgoing.sms_body()),
        ];
        let response = self
            .client
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            // Twilio answered with a status: for a success the message exists even if the
            // body was cut off; for an error nothing was sent.
            Err(e) if status.is_success() => {
                tracing::warn!(error = %e, "twilio accepted the message but its body was unreadable");
                return SendOutcome::Sent {
                    provider_id: None,
                    provider_status: None,
                };
            }
            Err(e) => return self.transport_failure(&e),
        };
        if status.is_success() {
            let created: Option<CreatedMessage> = serde_json::from_slice(&body).ok();
            return SendOutcome::Sent {
                provider_id: created.as_ref().and_then(|c| c.sid.clone()),
                provider_status: created.and_then(|c| c.status),
            };
        }
        let error: Option<TwilioError> = serde_json::from_slice(&body).ok();
        let code = error.as_ref().and_then(|e| e.code);
        let detail = format!(
            "Twilio answered {}{}: {}",
            status.as_u16(),
            code.map(|c| format!(" (code {c})")).unwrap_or_default(),
            error
                .and_then(|e| e.message)
                .unwrap_or_else(|| "no error message".to_owned())
        );
        classify(status.as_u16(), code, detail)
    }

    fn transport_failure(&self, error: &reqwest::Error) -> SendOutcome {
        if error.is_connect() {
            // The request never reached Twilio: safe to try again.
            SendOutcome::Retryable(format!("could not reach Twilio: {error}"))
        } else if error.is_timeout() {
            SendOutcome::Unknown(format!(
                "Twilio did not answer within {:.1} s; the message may have been sent",
                self.timeout.as_secs_f64()
            ))
        } else {
            SendOutcome::Unknown(format!(
                "the connection to Twilio failed mid-request; the message may have been sent: {error}"
            ))
        }
    }
}

/// What a Twilio error answer means for the delivery.
fn classify(status: u16, code: Option<i64>, detail: String) -> SendOutcome {
    match code {
        Some(OPTED_OUT) => return SendOutcome::OptedOut(detail),
        Some(INVALID_TO) | Some(AUTHENTICATION) => return SendOutcome::Permanent(detail),
        Some(TOO_MANY_REQUESTS) => return SendOutcome::Retryable(detail),
        _ => {}
    }
    if status == 429 || status >= 500 {
        SendOutcome::Retryable(detail)
    } else {
        SendOutcome::Permanent(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_errors_are_classified_by_code_then_status() {
        let d = || "x".to_owned();
        assert!(matches!(
            classify(400, Some(21211), d()),
            SendOutcome::Permanent(_)
        ));
        assert!(matches!(
            classify(401, Some(20003), d()),
            SendOutcome::Permanent(_)
        ));
        assert!(matches!(
            classify(400, Some(21610), d()),
            SendOutcome::OptedOut(_)
        ));
        assert!(matches!(
            classify(429, Some(20429), d()),
            SendOutcome::Retryable(_)
        ));
        assert!(matches!(
            classify(429, None, d()),
            SendOutcome::Retryable(_)
        ));
        assert!(matches!(
            classify(503, None, d()),
            SendOutcome::Retryable(_)
        ));
        assert!(matches!(
            classify(400, Some(20001), d()),
            SendOutcome::Permanent(_)
        ));
    }
}
