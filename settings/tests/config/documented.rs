//! The documented names are the ones `.env.example` lists, and each reaches a real setting.

use std::collections::HashMap;
use std::path::Path;

use settings::{Settings, DOCUMENTED_ENV};

/// `.env.example`'s assignments, commented out or not, as an environment.
fn env_example() -> HashMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.env.example");
    let text = std::fs::read_to_string(path).expect(".env.example readable");
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.trim_start_matches('#').split_once('=')?;
            (!name.is_empty() && !name.contains(' ')).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[test]
fn every_value_in_env_example_loads() {
    let mut env = env_example();
    for entry in DOCUMENTED_ENV {
        assert!(env.contains_key(entry.name()), "{} missing", entry.name());
    }
    // The example leaves the secret empty; an empty one means "generate one".
    env.insert("JWT_SECRET".to_owned(), "a".repeat(32));
    let settings = Settings::load(None, &env).expect("the example's values load");
    assert_eq!(
        settings.bus.kafka.bootstrap_servers.as_deref(),
        Some("localhost:29092")
    );
    assert!(settings.log.json);
}

/// Each name alone, with a value: a name whose path is not a setting fails to load.
#[test]
fn every_documented_name_reaches_a_setting() {
    let example = env_example();
    let samples = HashMap::from([
        ("JWT_SECRET", "a".repeat(32)),
        ("DATABASE_URL", "postgres://localhost/pricealert".to_owned()),
        ("SMTP_HOST", "relay.internal".to_owned()),
        ("SMTP_USER", "mailer".to_owned()),
        ("SMTP_PASSWORD", "pw".to_owned()),
        ("TWILIO_ACCOUNT_SID", "AC123".to_owned()),
        ("TWILIO_AUTH_TOKEN", "token".to_owned()),
        ("TWILIO_PHONE_NUMBER", "+14155552671".to_owned()),
        ("TELEGRAM_BOT_TOKEN", "123456:ABC-DEF".to_owned()),
        ("COINGECKO_BASE_URL", "http://127.0.0.1:9".to_owned()),
        ("COINGECKO_API_KEY", "key".to_owned()),
        ("CORS_ORIGINS", "https://a.example".to_owned()),
        ("PROVIDER_ORDER_CRYPTO", "binance,coingecko".to_owned()),
    ]);
    let mut names = std::collections::BTreeSet::new();
    for entry in DOCUMENTED_ENV {
        assert!(names.insert(entry.name()), "{} twice", entry.name());
        let value = samples
            .get(entry.name())
            .cloned()
            .or_else(|| example.get(entry.name()).cloned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| panic!("no sample value for {}", entry.name()));
        let env = HashMap::from([(entry.name().to_owned(), value)]);
        if let Err(error) = Settings::load(None, &env) {
            panic!("{} -> {}: {error}", entry.name(), entry.path());
        }
    }
}

#[test]
fn the_readme_example_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(path).expect("README readable");
    let section = readme
        .split_once("## Configuration")
        .expect("a configuration section")
        .1;
    let example = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a TOML example")
        .0;
    let file = crate::settings_file(example);
    let settings = Settings::load(Some(&file), &HashMap::new()).expect("the example loads");
    assert_eq!(
        settings.gateway.token_ttl,
        std::time::Duration::from_secs(24 * 3600)
    );
    assert_eq!(
        settings.notifier.smtp.from_email.name(),
        Some("Price Alerts")
    );
}
