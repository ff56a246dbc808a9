//! Email over SMTP with lettre: STARTTLS, implicit TLS or plain, optional credentials.

use std::path::Path;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::Address;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use shared::config::{SmtpSettings, SmtpTls};

use super::SendOutcome;
use crate::message::Outgoing;
use crate::NotifierError;

pub struct EmailSender {
    /// Replaced after an exchange times out: lettre would put that connection back in its
    /// pool mid-command, and the next message sent on it would wait for (or read) the reply
    /// meant for the abandoned one.
    transport: std::sync::Mutex<AsyncSmtpTransport<Tokio1Executor>>,
    /// What the transport is built from, to build it again.
    settings: SmtpSettings,
    from: Mailbox,
    /// lettre bounds only the TCP connect; a relay that accepts and then stalls would hold
    /// the delivery forever, so the whole SMTP exchange gets this budget.
    timeout: Duration,
}

impl EmailSender {
    /// `None` when no SMTP host is configured.
    pub fn from_settings(settings: &SmtpSettings) -> Result<Option<EmailSender>, NotifierError> {
        if settings.host.is_none() {
            return Ok(None);
        }
        let timeout = settings.timeout.max(Duration::from_secs(1));
        // Checked at load; lettre's own address rules are applied here once more.
        let address: Address = settings
            .from_email
            .email()
            .as_str()
            .parse()
            .map_err(|e| NotifierError::Config(format!("FROM_EMAIL: {e}")))?;
        let from = Mailbox::new(settings.from_email.name().map(str::to_owned), address);
        Ok(Some(EmailSender {
            transport: std::sync::Mutex::new(build_transport(settings, timeout)?),
            settings: settings.clone(),
            from,
            timeout,
        }))
    }

    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        self.transport
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A new transport (and connection pool) for the messages after a timed-out exchange.
    fn replace_transport(&self) {
        match build_transport(&self.settings, self.timeout) {
            Ok(fresh) => {
                *self
                    .transport
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
            }
            Err(error) => tracing::warn!(%error, "could not rebuild the SMTP transport"),
        }
    }

    #[tracing::instrument(skip_all, fields(message_id = %outgoing.id, events = outgoing.events.len()))]
    pub async fn send(&self, outgoing: &Outgoing) -> SendOutcome {
        let Some(latest) = outgoing.latest() else {
            return SendOutcome::Permanent("nothing to send".to_owned());
        };
        let to: Mailbox = match latest.user_email.parse() {
            Ok(to) => to,
            Err(_) => return SendOutcome::Permanent("the recipient address is invalid".to_owned()),
        };
        let message_id = outgoing.message_id();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(outgoing.subject())
            .message_id(Some(message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                outgoing.text_body(),
                outgoing.html_body(),
            ));
        let message = match message {
            Ok(message) => message,
            Err(e) => return SendOutcome::Permanent(format!("could not build the email: {e}")),
        };
        let sent = tokio::time::timeout(self.timeout, self.transport().send(message)).await;
        let Ok(sent) = sent else {
            self.replace_transport();
            // Possibly accepted just before the deadline: a resend carries the same
            // Message-ID, so mail systems can recognise the duplicate.
            return SendOutcome::MaybeDelivered(format!(
                "SMTP: no answer within {} s",
                self.timeout.as_secs()
            ));
        };
        match sent {
            Ok(response) => SendOutcome::Sent {
                provider_id: Some(message_id),
                provider_status: Some(response.code().to_string()),
            },
            // 5xx: the relay refuses this message for good.
            Err(e) if e.is_permanent() => SendOutcome::Permanent(format!("SMTP: {e}")),
            // A read that timed out may have been the answer to the end of DATA.
            Err(e) if e.is_timeout() => {
                self.replace_transport();
                SendOutcome::MaybeDelivered(format!("SMTP: {e}"))
            }
            // 4xx, refused connections, TLS trouble: the relay may accept it later.
            Err(e) => SendOutcome::Retryable(format!("SMTP: {e}")),
        }
    }
}

/// The SMTP transport of `settings` (which name a host).
fn build_transport(
    settings: &SmtpSettings,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifierError> {
    let host = settings.host.as_deref().unwrap_or_default();
    // "dangerous" only means no TLS until `tls` below says which kind.
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
    let builder = match settings.tls {
        SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters(
            host,
            settings.ca_file.as_deref(),
        )?)),
        SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(
            host,
            settings.ca_file.as_deref(),
        )?)),
        SmtpTls::None => builder,
    };
    let mut builder = builder.port(settings.port).timeout(Some(timeout));
    if let Some(user) = &settings.user {
        let password = settings
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// Certificate verification against the public roots, plus the operator's own authority for
/// a private relay. There is deliberately no switch to turn verification off.
fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, NotifierError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let unusable =
            |why: String| NotifierError::Config(format!("SMTP_CA_FILE {}: {why}", path.display()));
        let pem = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(unusable("no PEM certificate in it".to_owned()));
        }
        let authority = Certificate::from_pem(&pem).map_err(|e| unusable(e.to_string()))?;
        builder = builder.add_root_certificate(authority);
    }
    builder
        .build_rustls()
        .map_err(|e| NotifierError::Config(format!("SMTP TLS for {host}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pooled transport runs its pool on the Tokio runtime.
    #[tokio::test]
    async fn every_tls_mode_builds_a_transport_with_or_without_credentials() {
        for tls in [SmtpTls::Starttls, SmtpTls::Tls, SmtpTls::None] {
            for user in [None, Some("mailer".to_owned())] {
                let settings = SmtpSettings {
                    host: Some("smtp.example.com".to_owned()),
                    port: 2525,
                    tls,
                    user: user.clone(),
                    password: user.as_ref().map(|_| "pw".to_owned().into()),
                    ..SmtpSettings::default()
                };
                let sender = EmailSender::from_settings(&settings).expect("builds");
                assert!(sender.is_some(), "{tls:?} with user {user:?}");
            }
        }
    }

    #[tokio::test]
    async fn an_unusable_ca_file_is_a_configuration_error() {
        let dir = std::env::temp_dir().join(format!("pa-ca-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let not_pem = dir.join("not-pem.txt");
        std::fs::write(&not_pem, "not a certificate").expect("write");
        for (path, why) in [
            (dir.join("absent.pem"), "No such file"),
            (not_pem, "no PEM certificate"),
        ] {
            let settings = SmtpSettings {
                host: Some("smtp.example.com".to_owned()),
                ca_file: Some(path.clone()),
                ..SmtpSettings::default()
            };
            let error = EmailSender::from_settings(&settings)
                .err()
                .expect("refused")
                .to_string();
            assert!(
                error.contains("SMTP_CA_FILE") && error.contains(why),
                "{error}"
            );
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[tokio::test]
    async fn no_host_means_email_is_not_configured() {
        let sender = EmailSender::from_settings(&SmtpSettings::default()).expect("builds");
        assert!(sender.is_none());
    }

    #[tokio::test]
    async fn the_sender_keeps_its_display_name() {
        let settings = SmtpSettings {
            host: Some("localhost".to_owned()),
            from_email: "Price Alerts <alerts@pricealert.test>"
                .parse()
                .expect("a valid sender"),
            ..SmtpSettings::default()
        };
        let sender = EmailSender::from_settings(&settings)
            .expect("builds")
            .expect("configured");
        assert_eq!(sender.from.name.as_deref(), Some("Price Alerts"));
        assert_eq!(sender.from.email.to_string(), "alerts@pricealert.test");
    }
}
