//! The constructors against the rules; the exact answers clients see are pinned by the
//! gateway's golden test.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::catalogue::Catalogue;
use crate::{MoveDirection, TriggerPolicy};

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0)
        .single()
        .expect("time")
}

pub(super) fn create(body: Value) -> Result<NewAlert, AlertInputError> {
    let input: NewAlertInput = serde_json::from_value(body).expect("any object reads");
    NewAlert::read(input, &Catalogue::default())?.validate(now())
}

pub(super) fn kinds(error: AlertInputError) -> Vec<(&'static str, String)> {
    match error {
        AlertInputError::Invalid(errors) => errors
            .into_iter()
            .map(|e| (e.kind, e.loc.join(".")))
            .collect(),
        AlertInputError::RangeNeedsHigh => vec![("range_needs_high", String::new())],
    }
}

pub(super) fn stored(spec: AlertSpec) -> Alert {
    Alert {
        id: 1,
        user_id: 1,
        spec,
        active: true,
        triggered_count: 0,
        last_triggered_at: None,
        rearm_wait: None,
        version: 1,
        created_at: now(),
    }
}

#[test]
fn a_create_request_with_defaults_makes_the_documented_alert() {
    let alert =
        create(json!({"symbol": "btc", "condition": "above", "target_price": 67187.3358936566}))
            .expect("valid");
    let spec = alert.spec();
    assert_eq!(spec.symbol().as_str(), "BTC");
    assert_eq!(spec.target_price().to_string(), "67187.3358936566");
    assert_eq!(spec.notification_types().to_string(), "email");
    assert_eq!(spec.cooldown_minutes(), 60);
    assert_eq!(spec.options(), &AlertOptions::default());
}

#[test]
fn options_nested_in_a_request_keep_exact_numbers_and_their_defaults() {
    let alert = create(json!({
        "symbol": "ETH", "condition": "percent_move", "target_price": 2.5,
        "window_minutes": 30, "expires_at": "2027-01-01T00:00:00+01:00", "trigger": "once",
    }))
    .expect("valid");
    let options = alert.spec().options();
    assert_eq!(options.window_minutes(), Some(30));
    assert_eq!(options.direction(), Some(MoveDirection::Either));
    assert_eq!(options.trigger(), TriggerPolicy::Once);
    assert_eq!(
        options.expires_at(),
        Some(
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0)
                .single()
                .expect("time")
        )
    );
}

#[test]
fn a_range_without_its_upper_bound_is_refused_whatever_else_is_wrong() {
    let error = create(json!({"symbol": "??", "condition": "range", "target_price": "x"}))
        .expect_err("invalid");
    assert_eq!(error, AlertInputError::RangeNeedsHigh);
}

#[test]
fn every_wrong_field_is_reported_before_any_rule() {
    let error = create(json!({
        "symbol": "NOPE", "condition": "above", "target_price": "abc", "cooldown_minutes": 0,
    }))
    .expect_err("invalid");
    assert_eq!(
        kinds(error),
        [
            ("value_error", "symbol".to_owned()),
            ("decimal_parsing", "target_price".to_owned())
        ]
    );
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let error = create(json!({
        "symbol": "ETH", "condition": "above", "target_price": 0,
        "notification_types": "webhook,sms,email", "cooldown_minutes": 0,
        "expires_at": "2001-01-01T00:00:00Z", "direction": "up", "window_minutes": 3,
    }))
    .expect_err("invalid");
    assert_eq!(
        kinds(error),
        [
            ("greater_than", "target_price".to_owned()),
            ("greater_than_equal", "cooldown_minutes".to_owned()),
            ("value_error", "expires_at".to_owned()),
            ("value_error", "direction".to_owned()),
            ("value_error", "window_minutes".to_owned()),
        ]
    );
}

#[test]
fn a_patch_keeps_what_it_does_not_send_and_checks_only_what_it_sends() {
    let expired = AlertSpec {
        options: AlertOptions {
            expires_at: Some(now() - chrono::TimeDelta::days(1)),
            ..AlertOptions::default()
        },
        ..create(json!({"symbol": "BTC", "condition": "above", "target_price": 10}))
            .expect("valid")
            .spec()
            .clone()
    };
    let current = stored(expired);
    let input: AlertPatchInput =
        serde_json::from_value(json!({"cooldown_minutes": 5, "active": null})).expect("reads");
    let patch = AlertPatch::read(input, &current)
        .validate(now())
        .expect("the stored expiry is not the patch's problem");
    assert_eq!(patch.spec().cooldown_minutes(), 5);
    assert_eq!(patch.spec().target_price(), current.spec().target_price());
    assert_eq!(patch.spec().options(), current.spec().options());
    assert!(patch.active());

    let input: AlertPatchInput =
        serde_json::from_value(json!({"expires_at": null, "target_price": "x"})).expect("reads");
    let error = AlertPatch::read(input, &current)
        .validate(now())
        .expect_err("wrong price");
    assert_eq!(
        kinds(error),
        [("decimal_parsing", "target_price".to_owned())]
    );
}

#[test]
fn a_range_patch_that_removes_the_upper_bound_is_refused() {
    let range = create(
        json!({"symbol": "BTC", "condition": "range", "target_price": 1, "target_price_high": 2}),
    )
    .expect("valid");
    let current = stored(range.spec().clone());
    let input: AlertPatchInput =
        serde_json::from_value(json!({"target_price_high": null})).expect("reads");
    let error = AlertPatch::read(input, &current)
        .validate(now())
        .expect_err("invalid");
    assert_eq!(
        kinds(error),
        [("value_error", "target_price_high".to_owned())]
    );
    let toggled = AlertPatch::toggle(&current);
    assert!(!toggled.active());
    assert_eq!(toggled.spec(), current.spec());
}
