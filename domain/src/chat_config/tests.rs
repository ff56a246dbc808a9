use super::*;

fn parse(channel: Channel, body: Value) -> Result<ChatConfig, Vec<FieldError>> {
    ChatConfig::parse(channel, &body, false)
}

#[test]
fn telegram_takes_an_integer_id_or_a_channel_username() {
    for (sent, id) in [
        (json!(123456789), TelegramChatId::Id(123456789)),
        (json!("-1001234567890"), TelegramChatId::Id(-1001234567890)),
        (
            json!("@price_news"),
            TelegramChatId::Username("@price_news".into()),
        ),
    ] {
        let config = parse(Channel::Telegram, json!({ "chat_id": sent })).expect("valid");
        assert_eq!(config, ChatConfig::Telegram { chat_id: id });
    }
    for bad in [
        json!(0),
        json!("@ab"),
        json!("news"),
        json!(1.5),
        json!(true),
    ] {
        let errors = parse(Channel::Telegram, json!({ "chat_id": bad })).expect_err("invalid");
        assert_eq!(errors[0].loc, vec!["chat_id"]);
    }
    let errors = parse(Channel::Telegram, json!({})).expect_err("missing");
    assert_eq!(errors[0].kind, "missing");
}

#[test]
fn slack_and_discord_need_a_public_https_webhook() {
    let url = "https://hooks.slack.com/services/T000/B000/XXXX";
    let config = parse(Channel::Slack, json!({ "webhook_url": url })).expect("valid");
    assert_eq!(config.to_stored(), json!({ "webhook_url": url }));
    for bad in [
        "http://hooks.slack.com/services/T000/B000/XXXX",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "not a url",
    ] {
        assert!(
            parse(Channel::Discord, json!({ "webhook_url": bad })).is_err(),
            "{bad}"
        );
    }
    let loopback = json!({ "webhook_url": "http://127.0.0.1:9/hook" });
    assert!(ChatConfig::parse(Channel::Slack, &loopback, true).is_ok());
}

#[test]
fn secrets_are_masked_in_what_is_shown_back() {
    let slack = parse(
        Channel::Slack,
        json!({ "webhook_url": "https://hooks.slack.com/services/T000/B000/SECRET" }),
    )
    .expect("valid");
    assert_eq!(
        slack.masked(),
        json!({ "webhook_url": "https://hooks.slack.com/…" })
    );
    let ntfy = parse(
        Channel::Ntfy,
        json!({ "server": "https://ntfy.sh", "topic": "alerts_1", "token": "tk_SECRET" }),
    )
    .expect("valid");
    let shown = ntfy.masked().to_string();
    assert!(
        !shown.contains("SECRET") && shown.contains("\"token_set\":true"),
        "{shown}"
    );
    assert!(!format!("{slack:?} {ntfy:?}").contains("SECRET"));
    assert_eq!(
        ChatConfig::from_stored(Channel::Ntfy, &ntfy.to_stored().to_string()),
        Ok(ntfy)
    );
}

#[test]
fn ntfy_checks_topic_token_and_unknown_fields_together() {
    let errors = parse(
        Channel::Ntfy,
        json!({ "server": "https://ntfy.sh", "topic": "a b", "token": "", "extra": 1 }),
    )
    .expect_err("invalid");
    let fields: Vec<String> = errors.iter().map(|e| e.loc.join(".")).collect();
    assert_eq!(fields, vec!["extra", "topic", "token"]);
    let no_token = parse(
        Channel::Ntfy,
        json!({ "server": "https://ntfy.sh", "topic": "t" }),
    );
    assert!(matches!(no_token, Ok(ChatConfig::Ntfy { token: None, .. })));
}
