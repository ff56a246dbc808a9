use settings::{ConfigError, Settings};

use crate::{env, settings_file};

#[test]
fn unknown_keys_and_short_secrets_are_rejected() {
    let path = settings_file("[gateway]\nprot = 9000\n");
    assert!(matches!(
        Settings::load(Some(&path), &env(&[])),
        Err(ConfigError::Parse { .. })
    ));
    assert!(matches!(
        Settings::load(None, &env(&[("JWT_SECRET", "short")])),
        Err(ConfigError::Invalid(_))
    ));
    assert!(matches!(
        Settings::load(None, &env(&[("GATEWAY_PORT", "eighty")])),
        Err(ConfigError::Env { .. })
    ));
}

#[test]
fn a_bad_value_in_the_file_is_reported_with_path_line_and_key() {
    let path = settings_file("# tuned\n[gateway]\nport = 80\nrequest_timeout = \"soon\"\n");
    let error = Settings::load(Some(&path), &env(&[])).expect_err("bad duration");
    let ConfigError::Parse {
        line, column, key, ..
    } = &error
    else {
        panic!("not a file error: {error}");
    };
    assert_eq!((*line, *column), (4, 19));
    assert_eq!(key.as_deref(), Some("gateway.request_timeout"));
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("line 4"), "{text}");
    assert!(text.contains("gateway.request_timeout"), "{text}");

    let path = settings_file("[notifier.smtp]\nport = 25\nfrom_emial = \"a@b.example\"\n");
    let error = Settings::load(Some(&path), &env(&[])).expect_err("unknown key");
    let text = error.to_string();
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("notifier.smtp.from_emial"), "{text}");
    assert!(text.contains("unknown field"), "{text}");
}

#[test]
fn a_file_that_is_not_toml_is_reported_with_its_line() {
    let path = settings_file("[gateway]\nport = = 1\n");
    let error = Settings::load(Some(&path), &env(&[])).expect_err("not TOML");
    assert!(
        matches!(error, ConfigError::Parse { line: 2, .. }),
        "{error}"
    );
}

#[test]
fn a_bad_environment_value_is_reported_with_the_variable_and_the_setting() {
    let error = Settings::load(None, &env(&[("GATEWAY_PORT", "eighty")])).expect_err("bad port");
    assert_eq!(
        error.to_string(),
        "environment variable GATEWAY_PORT (gateway.port): invalid digit found in string"
    );
    let error = Settings::load(None, &env(&[("GATEWAY_PORT", "70000")])).expect_err("too big");
    assert!(
        error
            .to_string()
            .starts_with("environment variable GATEWAY_PORT (gateway.port): "),
        "{error}"
    );
    let error = Settings::load(
        None,
        &env(&[("PRICEALERT__GATEWAY__REQUEST_TIMEOUT", "45")]),
    )
    .expect_err("a duration needs a unit");
    assert!(
        error.to_string().starts_with(
            "environment variable PRICEALERT__GATEWAY__REQUEST_TIMEOUT (gateway.request_timeout): "
        ),
        "{error}"
    );
    let error = Settings::load(None, &env(&[("EVALUATOR_HISTORY_MINUTES", "-5")]))
        .expect_err("negative minutes");
    assert!(
        error
            .to_string()
            .contains("EVALUATOR_HISTORY_MINUTES (evaluator.history)"),
        "{error}"
    );
}

#[test]
fn a_missing_file_is_reported_with_its_path() {
    let path = std::env::temp_dir().join("pa-config-does-not-exist/settings.toml");
    let error = Settings::load(Some(&path), &env(&[])).expect_err("missing file");
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("pa-config-does-not-exist"));
}
