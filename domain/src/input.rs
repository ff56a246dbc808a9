//! Reading what a user sent, field by field, with every problem reported at once.
//!
//! A request type is a struct of [`Input`] fields: deserialising it never fails on a field's
//! value (each keeps the raw JSON), so the domain constructor that reads it can report every
//! wrong field together, each as a [`FieldError`] (`type`, `loc`, `msg`, `input`, the shape
//! API.md's 422 answers use). Types read from input implement [`FromInput`] with the error
//! kinds and messages clients already parse.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{NotificationChannels, Price};

/// One problem with one field: `{"type","loc","msg","input"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: the field's name, after the part of the request it is in once located
    /// (`["body", "target_price"]`).
    pub loc: Vec<String>,
    pub msg: String,
    /// The value as sent (`null` when absent).
    pub input: Value,
}

impl FieldError {
    pub fn new(kind: &'static str, loc: &[&str], msg: impl Into<String>, input: Value) -> Self {
        FieldError {
            kind,
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            input,
        }
    }

    /// The same error inside `part` of the request (`body`, `query`, `path`).
    pub fn located_in(mut self, part: &str) -> FieldError {
        self.loc.insert(0, part.to_owned());
        self
    }
}

/// Why a value could not be read: a pydantic-style error type and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub kind: &'static str,
    pub msg: String,
}

impl Invalid {
    pub fn new(kind: &'static str, msg: impl Into<String>) -> Invalid {
        Invalid {
            kind,
            msg: msg.into(),
        }
    }

    /// A `value_error`, whose message starts "Value error, " as clients expect.
    pub fn value(reason: impl fmt::Display) -> Invalid {
        Invalid::new("value_error", format!("Value error, {reason}"))
    }
}

/// A type read from a JSON value a user sent.
pub trait FromInput: Sized {
    fn from_input(value: &Value) -> Result<Self, Invalid>;
}

/// One field of a request as received: absent, `null`, or a value not yet read.
pub struct Input<T> {
    raw: Raw,
    read_as: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Absent,
    Null,
    Sent(Value),
}

impl<T> Input<T> {
    /// What a request with this field set to `value` holds (tests, query strings).
    pub fn sent(value: Value) -> Input<T> {
        let raw = if value.is_null() {
            Raw::Null
        } else {
            Raw::Sent(value)
        };
        Input {
            raw,
            read_as: PhantomData,
        }
    }

    /// Whether the field was in the request at all, `null` included.
    pub fn was_sent(&self) -> bool {
        !matches!(self.raw, Raw::Absent)
    }

    /// The value as sent, `null` when absent.
    pub fn raw(&self) -> Value {
        match &self.raw {
            Raw::Sent(value) => value.clone(),
            Raw::Absent | Raw::Null => Value::Null,
        }
    }
}

impl<T> Default for Input<T> {
    fn default() -> Self {
        Input {
            raw: Raw::Absent,
            read_as: PhantomData,
        }
    }
}

impl<T> Clone for Input<T> {
    fn clone(&self) -> Self {
        Input {
            raw: self.raw.clone(),
            read_as: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<'de, T> Deserialize<'de> for Input<T> {
    /// Never fails on the value itself: reading it is the constructor's job.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Input::sent(Value::deserialize(deserializer)?))
    }
}

/// The schema of the type the field is read as.
impl<T: utoipa::PartialSchema> utoipa::PartialSchema for Input<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        T::schema()
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Input<T> {}

/// Collects the problems found while reading one request.
#[derive(Debug, Default)]
pub struct InputErrors {
    errors: Vec<FieldError>,
}

impl InputErrors {
    pub fn new() -> InputErrors {
        InputErrors::default()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Records a problem with field `name`, quoting what was sent for it.
    pub fn add<T>(&mut self, name: &str, input: &Input<T>, invalid: Invalid) {
        self.errors.push(FieldError::new(
            invalid.kind,
            &[name],
            invalid.msg,
            input.raw(),
        ));
    }

    /// A required field: `missing` when absent or null.
    pub fn required<T: FromInput>(&mut self, name: &str, input: &Input<T>) -> Option<T> {
        match &input.raw {
            Raw::Absent | Raw::Null => {
                self.add(name, input, Invalid::new("missing", "Field required"));
                None
            }
            Raw::Sent(value) => self.read(name, input, value),
        }
    }

    /// An optional field: `Some(None)` when absent or null, `None` when its value is wrong.
    pub fn optional<T: FromInput>(&mut self, name: &str, input: &Input<T>) -> Option<Option<T>> {
        match &input.raw {
            Raw::Absent | Raw::Null => Some(None),
            Raw::Sent(value) => self.read(name, input, value).map(Some),
        }
    }

    fn read<T: FromInput>(&mut self, name: &str, input: &Input<T>, value: &Value) -> Option<T> {
        match T::from_input(value) {
            Ok(read) => Some(read),
            Err(invalid) => {
                self.add(name, input, invalid);
                None
            }
        }
    }

    /// Every problem, in the order found; `Ok` when there was none.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

impl FromInput for String {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        match value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(Invalid::new(
                "string_type",
                "Input should be a valid string",
            )),
        }
    }
}

impl FromInput for Price {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => {
                return Err(Invalid::new(
                    "decimal_type",
                    "Input should be a valid number",
                ))
            }
        };
        text.parse()
            .map_err(|_| Invalid::new("decimal_parsing", "Input should be a valid number"))
    }
}

impl FromInput for i64 {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => return Err(Invalid::new("int_type", "Input should be a valid integer")),
        };
        text.parse().map_err(|_| {
            Invalid::new(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        })
    }
}

impl FromInput for bool {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
                "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
                _ => Err(Invalid::new(
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                )),
            },
            _ => Err(Invalid::new("bool_type", "Input should be a valid boolean")),
        }
    }
}

impl FromInput for DateTime<Utc> {
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        match value {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    Invalid::new(
                        "datetime_parsing",
                        "Input should be a valid ISO-8601 datetime with a timezone",
                    )
                }),
            _ => Err(Invalid::new(
                "datetime_type",
                "Input should be a valid datetime",
            )),
        }
    }
}

impl FromInput for NotificationChannels {
    /// API.md's comma-separated string, or (extension) a JSON array of names.
    fn from_input(value: &Value) -> Result<Self, Invalid> {
        let parsed = match value {
            Value::String(s) => s.parse(),
            Value::Array(items) => {
                match items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                    Some(names) => NotificationChannels::from_names(&names),
                    None => {
                        return Err(Invalid::new(
                            "value_error",
                            "notification_types items must be strings",
                        ))
                    }
                }
            }
            _ => {
                return Err(Invalid::new(
                    "string_type",
                    "Input should be a comma-separated string or an array of strings",
                ))
            }
        };
        parsed.map_err(Invalid::value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Request {
        name: Input<String>,
        count: Input<i64>,
        price: Input<Price>,
    }

    #[test]
    fn a_request_keeps_absent_null_and_wrong_values_apart() {
        let request: Request =
            serde_json::from_value(json!({"count": null, "price": "1e400x"})).expect("reads");
        assert!(!request.name.was_sent());
        assert!(request.count.was_sent());
        let mut errors = InputErrors::new();
        assert_eq!(errors.required("name", &request.name), None);
        assert_eq!(errors.optional("count", &request.count), Some(None));
        assert_eq!(errors.optional("price", &request.price), None);
        let errors = errors.finish().expect_err("two problems");
        assert_eq!(
            errors,
            vec![
                FieldError::new("missing", &["name"], "Field required", Value::Null),
                FieldError::new(
                    "decimal_parsing",
                    &["price"],
                    "Input should be a valid number",
                    json!("1e400x")
                ),
            ]
        );
        assert_eq!(errors[0].clone().located_in("body").loc, ["body", "name"]);
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        let request: Request =
            serde_json::from_str(r#"{"price": 67187.3358936566, "count": "12"}"#).expect("reads");
        let mut errors = InputErrors::new();
        let price = errors.required("price", &request.price).expect("price");
        assert_eq!(price.to_string(), "67187.3358936566");
        assert_eq!(errors.required("count", &request.count), Some(12));
        assert_eq!(
            i64::from_input(&json!(1.5)).map_err(|e| e.kind),
            Err("int_parsing")
        );
    }
}
