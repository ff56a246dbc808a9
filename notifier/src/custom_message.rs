//! A user's own message text (the alert's `message` template) filled in for one trigger event.
//! The text comes back plain; each channel escapes it for its format where the message is
//! built (`message.rs`): HTML for email, JSON (by serde) for webhooks, SMS length there too.

use shared::domain::Placeholder;
use shared::events::TriggerEvent;

/// The alert's own text for `event` (`time`: the event's time as messages write it), or
/// `None` when the alert has none.
pub fn render(event: &TriggerEvent, time: &str) -> Option<String> {
    let template = event.options.message()?;
    Some(template.render(|placeholder| value(event, time, placeholder)))
}

fn value(event: &TriggerEvent, time: &str, placeholder: Placeholder) -> String {
    match placeholder {
        Placeholder::Symbol => event.symbol.to_string(),
        Placeholder::Price => event.current_price.to_string(),
        Placeholder::Currency => event.currency.clone(),
        Placeholder::Condition => event.condition.as_str().to_owned(),
        Placeholder::Target => event.target_price.to_string(),
        // An alert without an upper bound renders it empty rather than refusing to send.
        Placeholder::TargetHigh => event
            .target_price_high
            .map(|high| high.to_string())
            .unwrap_or_default(),
        Placeholder::Time => time.to_owned(),
        Placeholder::AlertId => event.alert_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::domain::{AlertOptions, Channel};
    use uuid::Uuid;

    use crate::message::{test_event, Outgoing, SMS_MAX_CHARS};

    fn outgoing(channel: Channel, message: &str) -> Outgoing {
        let mut event = test_event("above", None);
        event.options =
            serde_json::from_value::<AlertOptions>(json!({ "message": message })).expect("valid");
        Outgoing {
            id: Uuid::new_v4(),
            channel,
            events: vec![event],
        }
    }

    const TRICKY: &str = "<b>{{symbol}}</b> & \"{{price}}\" {{currency}}\n{{condition}} \
        {{target}}/{{target_high}} at {{time}} #{{alert_id}} \\ done";

    #[test]
    fn the_template_is_the_whole_text_and_email_keeps_its_subject() {
        let email = outgoing(Channel::Email, TRICKY);
        assert_eq!(
            email.text_body(),
            "<b>BTC</b> & \"150.25\" USD\nabove 100/ at 2026-11-23 07:00:00 UTC #42 \\ done"
        );
        assert!(email.subject().starts_with("BTC price alert"));
    }

    #[test]
    fn the_template_is_html_escaped_in_email_html() {
        let html = outgoing(Channel::Email, TRICKY).html_body();
        assert!(html.contains("&lt;b&gt;BTC&lt;/b&gt; &amp; &quot;150.25&quot; USD<br>above"));
        assert!(!html.contains("<b>BTC"));
    }

    #[test]
    fn the_template_is_json_escaped_in_webhooks() {
        let body = outgoing(Channel::Webhook, TRICKY).webhook_body();
        let encoded = serde_json::to_string(&body).expect("encodes");
        let decoded: serde_json::Value = serde_json::from_str(&encoded).expect("valid JSON");
        assert_eq!(
            decoded["message"],
            "<b>BTC</b> & \"150.25\" USD\nabove 100/ at 2026-11-23 07:00:00 UTC #42 \\ done"
        );
        assert!(encoded.contains(r#"\"150.25\""#) && encoded.contains(r"\n"));
        assert_eq!(decoded["alert_id"], 42);
    }

    #[test]
    fn chat_messages_carry_the_template_as_is_cut_to_the_service_limit() {
        let slack = outgoing(Channel::Slack, TRICKY).short_text(usize::MAX);
        assert_eq!(
            slack,
            "<b>BTC</b> & \"150.25\" USD\nabove 100/ at 2026-11-23 07:00:00 UTC #42 \\ done"
        );
        let long = "{{symbol}} at {{time}}; ".repeat(80);
        let discord = outgoing(Channel::Discord, &long).short_text(2000);
        assert!(discord.chars().count() <= 2000 && discord.ends_with('…'));
    }

    #[test]
    fn a_long_template_is_cut_to_the_sms_limit_between_words() {
        let long = "{{symbol}} at {{time}}; ".repeat(80);
        let full = outgoing(Channel::Email, &long).text_body();
        let sms = outgoing(Channel::Sms, &long).sms_body();
        assert!(
            sms.chars().count() <= SMS_MAX_CHARS,
            "{}",
            sms.chars().count()
        );
        assert!(sms.chars().count() > SMS_MAX_CHARS - 40);
        let kept = sms.strip_suffix('…').expect("the cut is marked");
        assert!(full.starts_with(kept));
        assert!(
            full[kept.len()..].starts_with(' '),
            "a word was split: {kept}"
        );
        let short = outgoing(Channel::Sms, "{{symbol}} {{price}}").sms_body();
        assert_eq!(short, "BTC 150.25");
    }
}
