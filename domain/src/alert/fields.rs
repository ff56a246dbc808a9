//! How each alert field is read from a request, and the schema it is documented with.

use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::PartialSchema;

use crate::input::{FromInput, Invalid};
use crate::{AlertCondition, MoveDirection, NotificationChannels, Symbol, TriggerPolicy};

/// Longest symbol a user may write (API.md: 1..20 characters).
const MAX_SYMBOL_CHARS: usize = 20;

impl FromInput for Symbol {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        let text = String::from_input(value)?;
        match text.trim().chars().count() {
            0 => Err(Invalid::new(
                "string_too_short",
                "String should have at least 1 character",
            )),
            n if n > MAX_SYMBOL_CHARS => Err(Invalid::new(
                "string_too_long",
                "String should have at most 20 characters",
            )),
            _ => text.parse().map_err(Invalid::value),
        }
    }
}

/// Reads a lower-case name of one of `T`'s values; `expected` lists them for the message.
fn one_of<T: std::str::FromStr>(value: &Value, expected: &str) -> Result<T, Invalid> {
    String::from_input(value)?
        .parse()
        .map_err(|_| Invalid::new("enum", format!("Input should be {expected}")))
}

impl FromInput for AlertCondition {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        one_of(
            value,
            "'above', 'below', 'crosses', 'range' or 'percent_move'",
        )
    }
}

impl FromInput for TriggerPolicy {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        one_of(value, "'repeat' or 'once'")
    }
}

impl FromInput for MoveDirection {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        one_of(value, "'up', 'down' or 'either'")
    }
}

fn string_schema(description: &str, values: Option<&[&str]>) -> RefOr<Schema> {
    let mut schema = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description));
    if let Some(values) = values {
        schema = schema.enum_values(Some(values.iter().copied()));
    }
    schema.into()
}

impl PartialSchema for Symbol {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "an instrument symbol, 1..20 characters, case-insensitive",
            None,
        )
    }
}
impl utoipa::ToSchema for Symbol {}

impl PartialSchema for AlertCondition {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = AlertCondition::ALL.iter().map(|c| c.as_str()).collect();
        string_schema(
            "`above`, `below`, `crosses`, `range` (API.md) or `percent_move` (extension)",
            Some(&names),
        )
    }
}
impl utoipa::ToSchema for AlertCondition {}

impl PartialSchema for TriggerPolicy {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "`repeat`: fire again after each cooldown; `once`: deactivate after the first fire",
            Some(&["repeat", "once"]),
        )
    }
}
impl utoipa::ToSchema for TriggerPolicy {}

impl PartialSchema for MoveDirection {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "which way a `percent_move` counts",
            Some(&["up", "down", "either"]),
        )
    }
}
impl utoipa::ToSchema for MoveDirection {}

impl PartialSchema for NotificationChannels {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "comma-separated `email`, `sms`, `webhook` (whitespace around items tolerated); a \
             JSON array of the names is accepted too",
            None,
        )
    }
}
impl utoipa::ToSchema for NotificationChannels {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn symbols_are_checked_for_length_before_their_characters() {
        let kind = |value: Value| Symbol::from_input(&value).map_err(|e| e.kind);
        assert_eq!(
            kind(json!(" btc ")).map(|s| s.to_string()),
            Ok("BTC".to_owned())
        );
        assert_eq!(kind(json!("  ")), Err("string_too_short"));
        assert_eq!(kind(json!("A".repeat(21))), Err("string_too_long"));
        assert_eq!(kind(json!("BT C")), Err("value_error"));
        assert_eq!(kind(json!(7)), Err("string_type"));
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let invalid = AlertCondition::from_input(&json!("Above")).expect_err("case matters");
        assert_eq!(invalid.kind, "enum");
        assert_eq!(
            invalid.msg,
            "Input should be 'above', 'below', 'crosses', 'range' or 'percent_move'"
        );
    }
}
