//! A user's own notification text with `{{placeholder}}`s, checked when it is set so a stored
//! template always renders: an unknown placeholder is refused at the edge, never at send time.
//!
//! Rendering here produces plain text; each channel escapes the result for its own format
//! (HTML for email, JSON for webhooks) and bounds its length (SMS), in the notifier.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::input::{FromInput, Invalid};

/// Longest template accepted: far above an SMS, short enough to keep alert rows small.
pub const MAX_TEMPLATE_CHARS: usize = 2_000;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Symbol,
    Price,
    Currency,
    Condition,
    Target,
    TargetHigh,
    Time,
    AlertId,
}

impl Placeholder {
    pub const ALL: [Placeholder; 8] = [
        Placeholder::Symbol,
        Placeholder::Price,
        Placeholder::Currency,
        Placeholder::Condition,
        Placeholder::Target,
        Placeholder::TargetHigh,
        Placeholder::Time,
        Placeholder::AlertId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Symbol => "symbol",
            Placeholder::Price => "price",
            Placeholder::Currency => "currency",
            Placeholder::Condition => "condition",
            Placeholder::Target => "target",
            Placeholder::TargetHigh => "target_high",
            Placeholder::Time => "time",
            Placeholder::AlertId => "alert_id",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Why a text is not a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{{{0}}}}} (known: symbol, price, currency, condition, target, target_high, time, alert_id)")]
    UnknownPlaceholder(String),
    #[error("unclosed placeholder: '{{{{' without '}}}}'")]
    Unclosed,
    #[error("message must not be empty")]
    Empty,
    #[error("message must be at most {MAX_TEMPLATE_CHARS} characters")]
    TooLong,
    #[error("message must not contain control characters other than line breaks and tabs")]
    ControlCharacter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A valid template: its text as the user wrote it, and its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageTemplate {
    text: String,
    parts: Vec<Part>,
}

impl MessageTemplate {
    pub fn parse(text: &str) -> Result<MessageTemplate, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        if text.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong);
        }
        // A NUL cannot be stored in PostgreSQL text (it was a 500), and no channel shows the
        // others.
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(TemplateError::ControlCharacter);
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let name = after[..close].trim();
            let placeholder = Placeholder::from_name(name)
                .ok_or_else(|| TemplateError::UnknownPlaceholder(name.to_owned()))?;
            parts.push(Part::Value(placeholder));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(MessageTemplate {
            text: text.to_owned(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text with each placeholder replaced by `value(placeholder)`, unescaped.
    pub fn render(&self, mut value: impl FnMut(Placeholder) -> String) -> String {
        let mut out = String::with_capacity(self.text.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(placeholder) => out.push_str(&value(*placeholder)),
            }
        }
        out
    }
}

impl TryFrom<String> for MessageTemplate {
    type Error = TemplateError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        MessageTemplate::parse(&text)
    }
}

impl From<MessageTemplate> for String {
    fn from(template: MessageTemplate) -> String {
        template.text
    }
}

impl fmt::Display for MessageTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromInput for MessageTemplate {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        match value {
            Value::String(text) => MessageTemplate::parse(text).map_err(Invalid::value),
            _ => Err(Invalid::new(
                "string_type",
                "Input should be a valid string",
            )),
        }
    }
}

impl utoipa::PartialSchema for MessageTemplate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

impl utoipa::ToSchema for MessageTemplate {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_placeholder_renders_and_text_stays_as_written() {
        let template =
            MessageTemplate::parse("{{symbol}} at {{ price }} <{{currency}}>").expect("valid");
        let text = template.render(|p| p.name().to_uppercase());
        assert_eq!(text, "SYMBOL at PRICE <CURRENCY>");
        assert_eq!(
            template.as_str(),
            "{{symbol}} at {{ price }} <{{currency}}>"
        );
    }

    #[test]
    fn an_unknown_placeholder_is_refused_by_name() {
        let error = MessageTemplate::parse("hi {{volume}}").expect_err("unknown");
        assert_eq!(error, TemplateError::UnknownPlaceholder("volume".into()));
        assert!(error.to_string().contains("{{volume}}"));
    }

    #[test]
    fn unclosed_empty_and_long_texts_are_refused() {
        assert_eq!(
            MessageTemplate::parse("{{symbol"),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(MessageTemplate::parse("  "), Err(TemplateError::Empty));
        let long = "x".repeat(MAX_TEMPLATE_CHARS + 1);
        assert_eq!(MessageTemplate::parse(&long), Err(TemplateError::TooLong));
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_and_tabs_kept() {
        for text in ["a\u{0}b", "{{symbol}}\u{7}", "\u{1b}[31mred"] {
            assert_eq!(
                MessageTemplate::parse(text),
                Err(TemplateError::ControlCharacter),
                "{text:?}"
            );
        }
        let kept = MessageTemplate::parse("{{symbol}}\r\n\tat {{price}}").expect("valid");
        assert_eq!(kept.as_str(), "{{symbol}}\r\n\tat {{price}}");
    }

    #[test]
    fn a_stored_template_is_checked_when_decoded() {
        let ok: MessageTemplate = serde_json::from_str(r#""{{alert_id}}""#).expect("valid");
        assert_eq!(
            serde_json::to_string(&ok).expect("encodes"),
            r#""{{alert_id}}""#
        );
        assert!(serde_json::from_str::<MessageTemplate>(r#""{{nope}}""#).is_err());
    }
}
