//! Checks a request against the `CreateMessage` operation of Twilio's OpenAPI spec
//! (shared/fixtures/twilio_api_v2010.json): path parameters, required form fields, known
//! field names and their types.

use std::sync::OnceLock;

use serde_json::Value;

use super::twilio::{fixture, TwilioRequest};

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(&fixture("twilio_api_v2010.json")).expect("the spec is JSON")
    })
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            spec.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"))
        }
        None => schema,
    }
}

/// (path template, method, operation) of `CreateMessage`.
fn create_message() -> (&'static str, &'static str, &'static Value) {
    let paths = spec()["paths"].as_object().expect("paths");
    for (template, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            if operation.get("operationId").and_then(Value::as_str) == Some("CreateMessage") {
                return (template.as_str(), method.as_str(), operation);
            }
        }
    }
    panic!("the spec has no CreateMessage operation");
}

/// Everything about `request` that `CreateMessage` does not allow; empty when it conforms.
pub fn violations(request: &TwilioRequest) -> Vec<String> {
    let spec = spec();
    let (template, method, operation) = create_message();
    let mut problems = Vec::new();
    if !request.method.as_str().eq_ignore_ascii_case(method) {
        problems.push(format!("method {} is not {method}", request.method));
    }
    let wanted: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = request.path.split('/').collect();
    if wanted.len() != got.len() {
        problems.push(format!("path {} does not match {template}", request.path));
    } else {
        for (w, g) in wanted.iter().zip(&got) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) => {
                    let parameter = operation["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .chain(
                            spec["paths"][template]["parameters"]
                                .as_array()
                                .into_iter()
                                .flatten(),
                        )
                        .map(|p| resolve(spec, p))
                        .find(|p| p["name"] == name && p["in"] == "path")
                        .unwrap_or_else(|| panic!("no path parameter {name}"));
                    if let Some(problem) = check_value(spec, &parameter["schema"], g) {
                        problems.push(format!("path parameter {name}: {problem}"));
                    }
                }
                None if w != g => {
                    problems.push(format!("path {} does not match {template}", request.path))
                }
                None => {}
            }
        }
    }
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(body) = operation["requestBody"]["content"].get(media) else {
        problems.push(format!("content type {content_type:?} is not accepted"));
        return problems;
    };
    let schema = resolve(spec, &body["schema"]);
    let properties = schema["properties"].as_object().expect("schema properties");
    let form = request.form();
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().expect("required names are strings");
        if !form.iter().any(|(k, _)| k == name) {
            problems.push(format!("required field {name} is missing"));
        }
    }
    for (name, value) in &form {
        match properties.get(name) {
            None => problems.push(format!("unknown field {name}")),
            Some(property) => {
                if let Some(problem) = check_value(spec, property, value) {
                    problems.push(format!("field {name}: {problem}"));
                }
            }
        }
    }
    problems
}

/// Checks one form value against its schema: type, enum, lengths, SID patterns, E.164.
fn check_value(spec: &Value, schema: &Value, value: &str) -> Option<String> {
    let schema = resolve(spec, schema);
    let kind = schema["type"].as_str().unwrap_or("string");
    let kind = if kind == "array" {
        resolve(spec, &schema["items"])["type"]
            .as_str()
            .unwrap_or("string")
    } else {
        kind
    };
    match kind {
        "integer" if value.parse::<i64>().is_err() => {
            return Some(format!("{value:?} is not an integer"))
        }
        "number" if value.parse::<f64>().is_err() => {
            return Some(format!("{value:?} is not a number"))
        }
        "boolean" if !matches!(value, "true" | "false") => {
            return Some(format!("{value:?} is not a boolean"))
        }
        _ => {}
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.iter().any(|a| a == value) {
            return Some(format!("{value:?} is not one of {allowed:?}"));
        }
    }
    let length = value.chars().count() as u64;
    if schema["minLength"].as_u64().is_some_and(|min| length < min)
        || schema["maxLength"].as_u64().is_some_and(|max| length > max)
    {
        return Some(format!("{value:?} has the wrong length"));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        if !matches_sid_pattern(pattern, value) {
            return Some(format!("{value:?} does not match {pattern}"));
        }
    }
    if schema["format"] == "phone-number" {
        let digits = value.strip_prefix('+').unwrap_or_default();
        if digits.is_empty() || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!("{value:?} is not an E.164 phone number"));
        }
    }
    None
}

/// Twilio's SID patterns all read `^XX[0-9a-fA-F]{32}$`.
fn matches_sid_pattern(pattern: &str, value: &str) -> bool {
    let Some(prefix) = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix("[0-9a-fA-F]{32}$"))
    else {
        panic!("unexpected pattern shape {pattern}; extend the checker");
    };
    value.len() == prefix.len() + 32
        && value.starts_with(prefix)
        && value[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit())
}
