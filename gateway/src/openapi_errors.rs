//! Every error status each operation can really answer, added to the OpenAPI document with
//! the error body's schema, so generated clients and fuzzers expect them.
//!
//! The handlers' annotations list what the handler itself decides (404 for a missing alert,
//! 400 for a duplicate email, …); what the layers above decide for every route is added here
//! from the operation's shape: its security, its body, its path parameters.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, RefOr, Response, Schema};
use utoipa::Modify;

/// The name of the error body's schema in `components.schemas`.
const ERROR_SCHEMA: &str = "Error";

/// The statuses the layers can answer on any operation.
const EVERY_OPERATION: &[(u16, &str)] = &[
    (414, "URI too long"),
    (429, "Too many requests in flight from the caller's address (or, with a token, from the user); see Retry-After"),
    (431, "Request headers too large"),
    (503, "Overloaded or timed out; see Retry-After"),
];
/// ... on an operation that needs a bearer token.
const WITH_TOKEN: &[(u16, &str)] = &[(401, "Not authenticated, or the token is invalid")];
/// ... on an operation that reads a body.
const WITH_BODY: &[(u16, &str)] = &[
    (400, "The body could not be read"),
    (408, "The body did not arrive in time"),
    (413, "Body too large"),
    (415, "Wrong Content-Type"),
    (422, "Validation error: every wrong field"),
];
/// ... on an operation with a path parameter: an id that is no integer is 422, an unknown
/// symbol or id 404.
const WITH_PATH: &[(u16, &str)] = &[(404, "Not found"), (422, "Validation error")];
/// ... on an operation with query parameters.
const WITH_QUERY: &[(u16, &str)] = &[(422, "Validation error")];

pub struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(ERROR_SCHEMA.to_owned(), error_schema());
        // Twice: a type that flattens another (`POST /backtest` flattens the body of
        // `POST /alerts`) is merged with the other's already merged object.
        for _ in 0..2 {
            let known: BTreeMap<String, Value> = components
                .schemas
                .iter()
                .filter_map(|(name, schema)| {
                    Some((name.clone(), serde_json::to_value(schema).ok()?))
                })
                .collect();
            for schema in components.schemas.values_mut() {
                merge_inline_all_of(schema, &known);
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                document_errors(operation);
            }
        }
    }
}

fn document_errors(operation: &mut Operation) {
    let has = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|parameter| parameter.parameter_in == place)
    };
    let mut statuses: Vec<(u16, &str)> = EVERY_OPERATION.to_vec();
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        statuses.extend(WITH_TOKEN);
    }
    if operation.request_body.is_some() {
        statuses.extend(WITH_BODY);
    }
    if has(ParameterIn::Path) {
        statuses.extend(WITH_PATH);
    }
    if has(ParameterIn::Query) {
        statuses.extend(WITH_QUERY);
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in statuses {
        responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    // Every error answer, listed by a handler or here, has the error body.
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response) {
            if response.content.is_empty() {
                response.content.insert(
                    "application/json".to_owned(),
                    Content::new(Some(RefOr::<Schema>::Ref(
                        utoipa::openapi::Ref::from_schema_name(ERROR_SCHEMA),
                    ))),
                );
            }
        }
    }
}

/// A request type with flattened fields (`#[serde(flatten)]`) is an `allOf` of inline objects;
/// it becomes the one object it describes, which generators (Schemathesis' hypothesis-jsonschema)
/// can produce data for, where they gave up on the `allOf`.
fn merge_inline_all_of(schema: &mut RefOr<Schema>, known: &BTreeMap<String, Value>) {
    let Ok(Value::Object(mut whole)) = serde_json::to_value(&*schema) else {
        return;
    };
    let Some(Value::Array(parts)) = whole.remove("allOf") else {
        return;
    };
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for part in &parts {
        let part = match part.get("$ref").and_then(Value::as_str) {
            Some(reference) => match reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| known.get(name))
            {
                Some(resolved) => resolved,
                None => return,
            },
            None => part,
        };
        if part.get("type") != Some(&json!("object")) {
            return;
        }
        if let Some(Value::Object(more)) = part.get("properties") {
            properties.extend(more.clone());
        }
        if let Some(Value::Array(more)) = part.get("required") {
            required.extend(more.iter().cloned());
        }
    }
    whole.insert("type".to_owned(), json!("object"));
    whole.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        whole.insert("required".to_owned(), Value::Array(required));
    }
    if let Ok(merged) = serde_json::from_value(Value::Object(whole)) {
        *schema = merged;
    }
}

/// `{"detail": "<message>"}`, or for a validation error `{"detail": [{type, loc, msg,
/// input}, ...]}`.
fn error_schema() -> RefOr<Schema> {
    let schema = json!({
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "loc", "msg", "input"],
                            "properties": {
                                "type": {"type": "string"},
                                "loc": {"type": "array", "items": {"type": "string"}},
                                "msg": {"type": "string"},
                                "input": {}
                            }
                        }
                    }
                ]
            }
        }
    });
    serde_json::from_value(schema).unwrap_or_else(|_| RefOr::T(Schema::default()))
}
