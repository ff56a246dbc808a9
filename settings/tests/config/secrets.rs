use settings::Settings;

use crate::{env, settings_file};

#[test]
fn secrets_are_redacted_in_debug_output() {
    let settings = Settings::load(
        None,
        &env(&[
            ("SMTP_PASSWORD", "hunter2-very-secret"),
            ("JWT_SECRET", &"x".repeat(40)),
        ]),
    )
    .expect("loads");
    let debug = format!("{settings:?}");
    assert!(!debug.contains("hunter2"));
    assert!(!debug.contains(&"x".repeat(40)));
}

#[test]
fn the_api_key_is_redacted_in_debug_output() {
    let settings =
        Settings::load(None, &env(&[("COINGECKO_API_KEY", "cg-secret-key-987")])).expect("loads");
    assert!(!format!("{settings:?}").contains("cg-secret-key-987"));
}

#[test]
fn secrets_from_every_layer_are_kept_but_never_shown() {
    let path = settings_file(
        "[database]\nurl = \"postgres://u:file-secret-1@db/x\"\n\
         [notifier.twilio]\nauth_token = \"file-secret-2\"\n",
    );
    let settings = Settings::load(
        Some(&path),
        &env(&[
            ("PRICEALERT__NOTIFIER__SMTP__PASSWORD", "generic-secret-3"),
            ("JWT_SECRET", "documented-secret-4-documented-secret-4"),
        ]),
    )
    .expect("loads");
    use secrecy::ExposeSecret;
    let exposed = |secret: &Option<secrecy::SecretString>| {
        secret.as_ref().map(|s| s.expose_secret().to_owned())
    };
    assert_eq!(
        exposed(&settings.database.url).as_deref(),
        Some("postgres://u:file-secret-1@db/x")
    );
    assert_eq!(
        exposed(&settings.notifier.twilio.auth_token).as_deref(),
        Some("file-secret-2")
    );
    assert_eq!(
        exposed(&settings.notifier.smtp.password).as_deref(),
        Some("generic-secret-3")
    );
    let shown = format!("{settings:?}");
    for secret in [
        "file-secret-1",
        "file-secret-2",
        "generic-secret-3",
        "documented-secret-4",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn secrets_never_appear_in_error_text() {
    let bad_files = [
        // A secret of the wrong type: the message would quote it.
        "[notifier.smtp]\npassword = 987654321\n",
        "[gateway]\njwt_secret = [\"s3cr3t-in-an-array\"]\n",
        // A secret that is not even valid TOML.
        "[notifier.twilio]\nauth_token = s3cr3t-unquoted\n",
        // A file that is fine but for another key: the secret is not echoed as context.
        "[database]\nurl = \"postgres://u:s3cr3t-pw@db/x\"\nmax_connections = \"many\"\n",
    ];
    for text in bad_files {
        let path = settings_file(text);
        let error = Settings::load(Some(&path), &env(&[])).expect_err(text);
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("987654321"), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
    let error = Settings::load(None, &env(&[("JWT_SECRET", "s3cr3t-too-short")]))
        .expect_err("short secret");
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
    assert!(!format!("{error:?}").contains("s3cr3t"), "{error:?}");
}

#[test]
fn serialised_settings_show_that_a_secret_is_set_never_what_it_is() {
    let settings = Settings::load(
        None,
        &env(&[
            ("DATABASE_URL", "postgres://u:s3cr3t@db/x"),
            ("SMTP_PASSWORD", "s3cr3t"),
            ("TWILIO_AUTH_TOKEN", "s3cr3t"),
            ("COINGECKO_API_KEY", "s3cr3t"),
            ("JWT_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"),
        ]),
    )
    .expect("loads");
    let text = toml::to_string(&settings).expect("serialises");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_eq!(text.matches("[redacted]").count(), 5, "{text}");
}
