//! What a notification says, for every channel: one trigger event, or a digest of several.

use std::fmt::Write as _;

use serde_json::json;
use shared::domain::{AlertCondition, Channel};
use shared::events::TriggerEvent;
use uuid::Uuid;

use crate::custom_message;

/// Twilio refuses bodies longer than this.
pub(crate) const SMS_MAX_CHARS: usize = 1600;

/// One message to send: a single trigger event, or a digest settling several.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The event id for a single event, the digest id for a digest: stable across retries,
    /// so it names the message (email Message-ID, webhook event header).
    pub id: Uuid,
    pub channel: Channel,
    /// In arrival order; never empty.
    pub events: Vec<TriggerEvent>,
}

impl Outgoing {
    pub fn is_digest(&self) -> bool {
        self.events.len() > 1
    }

    /// The newest event: its recipient details are the freshest.
    pub fn latest(&self) -> Option<&TriggerEvent> {
        self.events.last()
    }

    /// The stable RFC 5322 Message-ID, derived from (id, channel).
    pub fn message_id(&self) -> String {
        format!("<{}.{}@pricealert>", self.id, self.channel.as_str())
    }

    fn symbols(&self) -> String {
        let mut symbols: Vec<&str> = Vec::new();
        for event in &self.events {
            if !symbols.contains(&event.symbol.as_str()) {
                symbols.push(event.symbol.as_str());
            }
        }
        symbols.join(", ")
    }

    pub fn subject(&self) -> String {
        match self.events.as_slice() {
            [event] => format!(
                "{} price alert: {} (now {} {})",
                event.symbol,
                condition_text(event),
                event.current_price,
                event.currency
            ),
            events => format!("{} price alerts: {}", events.len(), self.symbols()),
        }
    }

    /// The alert's own message when this is one event of an alert that has one.
    fn custom(&self) -> Option<String> {
        match self.events.as_slice() {
            [event] => custom_message::render(event, &time_text(event)),
            _ => None,
        }
    }

    pub fn text_body(&self) -> String {
        if let Some(custom) = self.custom() {
            return custom;
        }
        let mut text = String::new();
        if self.is_digest() {
            let _ = writeln!(
                text,
                "{} price alerts were held back (your quiet hours or notification rate limit):\n",
                self.events.len()
            );
        }
        for event in &self.events {
            let _ = writeln!(text, "{}", event_line(event));
            let _ = writeln!(text, "  Condition: {}", condition_text(event));
            let _ = writeln!(
                text,
                "  Current price: {} {}",
                event.current_price, event.currency
            );
            let _ = writeln!(text, "  Time: {}", time_text(event));
            let _ = writeln!(text, "  Alert id: {}\n", event.alert_id);
        }
        text.push_str("-- pricealert\n");
        text
    }

    pub fn html_body(&self) -> String {
        if let Some(custom) = self.custom() {
            let paragraph = escape_html(&custom).replace('\n', "<br>");
            return format!("<!DOCTYPE html><html><body><p>{paragraph}</p></body></html>");
        }
        let mut html = String::from("<!DOCTYPE html><html><body>");
        if self.is_digest() {
            let _ = write!(
                html,
                "<p>{} price alerts were held back (your quiet hours or notification rate limit):</p>",
                self.events.len()
            );
        }
        for event in &self.events {
            let _ = write!(
                html,
                "<h2>{}</h2><table>\
                 <tr><th align=\"left\">Condition</th><td>{}</td></tr>\
                 <tr><th align=\"left\">Current price</th><td>{} {}</td></tr>\
                 <tr><th align=\"left\">Time</th><td>{}</td></tr>\
                 <tr><th align=\"left\">Alert id</th><td>{}</td></tr></table>",
                escape_html(&event_line(event)),
                escape_html(&condition_text(event)),
                event.current_price,
                escape_html(&event.currency),
                escape_html(&time_text(event)),
                event.alert_id
            );
        }
        html.push_str("<p>&mdash; pricealert</p></body></html>");
        html
    }

    pub fn sms_body(&self) -> String {
        self.short_text(SMS_MAX_CHARS)
    }

    /// The text of an SMS or a chat message: the alert's own message, or a one-line summary
    /// (a digest lists its alerts), cut to `max_chars` between words.
    pub fn short_text(&self, max_chars: usize) -> String {
        let mut body = match self.events.as_slice() {
            [event] if event.options.message().is_some() => {
                custom_message::render(event, &time_text(event)).unwrap_or_default()
            }
            [event] => format!(
                "pricealert: {} {}, now {} {} ({}, alert {})",
                event.symbol,
                condition_text(event),
                event.current_price,
                event.currency,
                time_text(event),
                event.alert_id
            ),
            events => {
                let items: Vec<String> = events
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}, now {} {} (alert {})",
                            e.symbol,
                            condition_text(e),
                            e.current_price,
                            e.currency,
                            e.alert_id
                        )
                    })
                    .collect();
                format!("pricealert: {} alerts: {}", events.len(), items.join("; "))
            }
        };
        truncate(&mut body, max_chars);
        body
    }

    /// The webhook's JSON body.
    pub fn webhook_body(&self) -> serde_json::Value {
        match self.events.as_slice() {
            [event] => {
                let mut body = event_json(event);
                body["type"] = json!("price_alert");
                body
            }
            events => json!({
                "type": "price_alert_digest",
                "digest_id": self.id,
                "count": events.len(),
                "alerts": events.iter().map(event_json).collect::<Vec<_>>(),
            }),
        }
    }
}

/// An event as webhooks send it; the alert's own message (JSON-escaped by serde) is in
/// `message` when it has one.
fn event_json(event: &TriggerEvent) -> serde_json::Value {
    let mut body = event_fields(event);
    if let Some(custom) = custom_message::render(event, &time_text(event)) {
        body["message"] = json!(custom);
    }
    body
}

fn event_fields(event: &TriggerEvent) -> serde_json::Value {
    json!({
        "event_id": event.event_id,
        "alert_id": event.alert_id,
        "symbol": event.symbol,
        "condition": event.condition,
        "target_price": event.target_price,
        "target_price_high": event.target_price_high,
        "current_price": event.current_price,
        "previous_price": event.previous_price,
        "currency": event.currency,
        "triggered_at": event.timestamp,
    })
}

fn event_line(event: &TriggerEvent) -> String {
    format!(
        "{} is {} {}",
        event.symbol, event.current_price, event.currency
    )
}

/// The condition with its bound(s), e.g. `between 100 and 200 USD`.
pub fn condition_text(event: &TriggerEvent) -> String {
    let currency = &event.currency;
    let target = event.target_price;
    match event.condition {
        AlertCondition::Above => format!("at or above {target} {currency}"),
        AlertCondition::Below => format!("at or below {target} {currency}"),
        AlertCondition::Crosses => format!("crossed {target} {currency}"),
        AlertCondition::Range => match event.target_price_high {
            Some(high) => format!("between {target} and {high} {currency}"),
            None => format!("in range from {target} {currency}"),
        },
        AlertCondition::PercentMove => format!("moved by {target}%"),
    }
}

fn time_text(event: &TriggerEvent) -> String {
    event.timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Cuts `body` to `max_chars` (Twilio's or a chat service's limit), at the last space of the
/// final stretch when there is one (a word is not split), and marks the cut with an ellipsis.
pub(crate) fn truncate(body: &mut String, max_chars: usize) {
    if body.chars().count() <= max_chars {
        return;
    }
    let kept: String = body.chars().take(max_chars.saturating_sub(1)).collect();
    let word_start = kept
        .char_indices()
        .rev()
        .take(40)
        .find(|(_, c)| c.is_whitespace())
        .map(|(index, _)| index);
    *body = match word_start {
        Some(index) => kept[..index].trim_end().to_owned(),
        None => kept,
    };
    body.push('…');
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// A trigger event for tests: BTC at 150.25 USD firing alert 42.
#[cfg(test)]
pub(crate) fn test_event(condition: &str, high: Option<&str>) -> TriggerEvent {
    TriggerEvent {
        schema_version: 1,
        event_id: Uuid::new_v4(),
        alert_id: 42,
        user_id: 1,
        user_email: "a@example.com".into(),
        user_phone: None,
        symbol: "BTC".parse().expect("symbol"),
        condition: condition.parse().expect("condition"),
        target_price: "100".parse().expect("price"),
        target_price_high: high.map(|h| h.parse().expect("price")),
        current_price: "150.25".parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        notification_types: "email".parse().expect("channels"),
        options: Default::default(),
        timestamp: "2026-11-23T07:00:00Z".parse().expect("time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(condition: &str, high: Option<&str>) -> TriggerEvent {
        test_event(condition, high)
    }

    #[test]
    fn a_range_alert_names_both_bounds() {
        let outgoing = Outgoing {
            id: Uuid::new_v4(),
            channel: Channel::Email,
            events: vec![event("range", Some("200"))],
        };
        assert!(outgoing.text_body().contains("between 100 and 200 USD"));
        assert!(outgoing.html_body().contains("between 100 and 200 USD"));
        assert!(outgoing.subject().starts_with("BTC price alert"));
    }

    #[test]
    fn a_digest_lists_every_event_and_its_sms_fits_twilio() {
        let events: Vec<TriggerEvent> = (0..200).map(|_| event("above", None)).collect();
        let outgoing = Outgoing {
            id: Uuid::new_v4(),
            channel: Channel::Sms,
            events,
        };
        assert_eq!(outgoing.subject(), "200 price alerts: BTC");
        assert!(outgoing.sms_body().chars().count() <= SMS_MAX_CHARS);
        assert_eq!(outgoing.webhook_body()["count"], 200);
    }

    #[test]
    fn html_escapes_provider_text() {
        let mut e = event("above", None);
        e.currency = "<b>USD</b>".into();
        let outgoing = Outgoing {
            id: Uuid::new_v4(),
            channel: Channel::Email,
            events: vec![e],
        };
        assert!(!outgoing.html_body().contains("<b>USD"));
    }
}
