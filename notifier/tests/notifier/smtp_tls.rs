//! Email over a secured relay: STARTTLS and implicit TLS with the relay's certificate verified
//! against a private authority (`SMTP_CA_FILE`), and AUTH PLAIN / LOGIN. The relay is a real
//! SMTP server on loopback with a freshly generated certificate.

use std::path::Path;

use mailin_embedded::AuthMechanism;
use shared::config::{Settings, SmtpTls};
use shared::domain::Channel;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine, TestUser};

use crate::helpers::smtp::{Login, Security, SmtpServer, SMTP_PASSWORD, SMTP_USER};
use crate::helpers::{
    delivery, eventually, settled, test_settings, trigger, user, with_smtp, TestNotifier,
};
use testkit::tls::TestAuthority;

fn secured(port: u16, tls: SmtpTls, ca_file: Option<&Path>, password: &str) -> Settings {
    let mut settings = with_smtp(test_settings(), port);
    let smtp = &mut settings.notifier.smtp;
    smtp.tls = tls;
    smtp.ca_file = ca_file.map(Path::to_path_buf);
    smtp.user = Some(SMTP_USER.to_owned());
    smtp.password = Some(password.to_owned().into());
    settings
}

fn starttls_with(authority: &TestAuthority, auth: AuthMechanism) -> SmtpServer {
    SmtpServer::start_secured(Security {
        starttls: Some((authority.cert_file.clone(), authority.key_file.clone())),
        auth: vec![auth],
    })
}

/// Sends one alert email through `settings`' relay and returns how its delivery settled.
async fn send_one(settings: Settings) -> (DeliveryStatus, Option<String>, i64) {
    let test = fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let alice: TestUser = user(&test.db, "alice@example.com", None).await;
    let event = trigger(&alice, 7, "email");
    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Email).await;
    notifier.stop().await;
    (record.status, record.last_error, record.attempts)
}

// mailin offers AUTH only inside TLS and refuses MAIL before AUTH, so an accepted message
// proves the session was upgraded and authenticated.
async fn delivers_over_starttls_authenticating_with(mechanism: AuthMechanism, name: &str) {
    let authority = TestAuthority::new(&["127.0.0.1"]);
    let smtp = starttls_with(&authority, mechanism);
    let settings = secured(
        smtp.port,
        SmtpTls::Starttls,
        Some(&authority.ca_file),
        SMTP_PASSWORD,
    );

    let (status, error, _) = send_one(settings).await;

    assert_eq!(status, DeliveryStatus::Sent, "{error:?}");
    assert_eq!(smtp.messages().len(), 1);
    let logins = smtp.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].mechanism, name);
    assert!(
        logins[0].accepted && logins[0].user == SMTP_USER,
        "{logins:?}"
    );
}

#[tokio::test]
async fn starttls_with_auth_plain_delivers_over_a_verified_connection() {
    delivers_over_starttls_authenticating_with(AuthMechanism::Plain, "PLAIN").await;
}

#[tokio::test]
async fn auth_login_is_used_when_the_relay_offers_only_login() {
    delivers_over_starttls_authenticating_with(AuthMechanism::Login, "LOGIN").await;
}

#[tokio::test]
async fn implicit_tls_speaks_tls_from_the_first_byte() {
    let authority = TestAuthority::new(&["127.0.0.1"]);
    let relay = SmtpServer::start();
    let front = authority
        .tls_front(&format!("127.0.0.1:{}", relay.port))
        .await;
    let mut settings = secured(front, SmtpTls::Tls, Some(&authority.ca_file), SMTP_PASSWORD);
    // The relay behind the TLS front has no AUTH (mailin offers it only after its own STARTTLS).
    settings.notifier.smtp.user = None;
    settings.notifier.smtp.password = None;

    let (status, error, _) = send_one(settings).await;

    assert_eq!(status, DeliveryStatus::Sent, "{error:?}");
    assert_eq!(relay.messages().len(), 1);
}

#[tokio::test]
async fn a_relay_certificate_from_an_unknown_authority_is_refused() {
    let authority = TestAuthority::new(&["127.0.0.1"]);
    let smtp = starttls_with(&authority, AuthMechanism::Plain);
    // Verification is on by default: without SMTP_CA_FILE the private authority is unknown.
    let settings = secured(smtp.port, SmtpTls::Starttls, None, SMTP_PASSWORD);
    let test = fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let alice = user(&test.db, "alice@example.com", None).await;
    let event = trigger(&alice, 8, "email");

    notifier.publish(&event).await;
    let record = eventually("two refused attempts", || async {
        delivery(&test.db, event.event_id, Channel::Email)
            .await
            .filter(|d| d.attempts >= 2)
    })
    .await;
    notifier.stop().await;

    assert_eq!(record.status, DeliveryStatus::Pending, "retried, not sent");
    let error = record.last_error.unwrap_or_default();
    assert!(error.contains("certificate"), "{error}");
    assert!(smtp.messages().is_empty());
    assert!(
        smtp.logins().is_empty(),
        "no credentials before verification"
    );
}

#[tokio::test]
async fn required_starttls_never_falls_back_to_plain_text() {
    let plain_relay = SmtpServer::start();
    let mut settings = secured(plain_relay.port, SmtpTls::Starttls, None, SMTP_PASSWORD);
    // Without credentials nothing else stops the message: only the TLS requirement does.
    settings.notifier.smtp.user = None;
    settings.notifier.smtp.password = None;
    let test = fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let alice = user(&test.db, "alice@example.com", None).await;
    let event = trigger(&alice, 9, "email");

    notifier.publish(&event).await;
    let record = eventually("an attempt refused or sent", || async {
        delivery(&test.db, event.event_id, Channel::Email)
            .await
            .filter(|d| d.last_error.is_some() || d.status == DeliveryStatus::Sent)
    })
    .await;
    notifier.stop().await;

    assert_ne!(record.status, DeliveryStatus::Sent);
    assert!(plain_relay.messages().is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_refused_for_good() {
    let authority = TestAuthority::new(&["127.0.0.1"]);
    let smtp = starttls_with(&authority, AuthMechanism::Plain);
    let settings = secured(
        smtp.port,
        SmtpTls::Starttls,
        Some(&authority.ca_file),
        "not the password",
    );

    let (status, error, attempts) = send_one(settings).await;

    assert_eq!(status, DeliveryStatus::Failed, "{error:?}");
    assert_eq!(attempts, 1);
    assert!(smtp.messages().is_empty());
    assert_eq!(
        smtp.logins(),
        vec![Login {
            mechanism: "PLAIN",
            user: SMTP_USER.to_owned(),
            accepted: false,
        }]
    );
}
