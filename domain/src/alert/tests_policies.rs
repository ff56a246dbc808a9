//! The issue-17 policies at the edge: re-arm percent, message templates, snooze.

use chrono::TimeDelta;
use serde_json::json;

use super::tests::{create, kinds, now, stored};
use super::*;
use crate::input::Input;

#[test]
fn a_rearm_percent_must_lie_strictly_between_0_and_100_and_not_on_percent_moves() {
    let ok = create(
        json!({"symbol": "BTC", "condition": "above", "target_price": 10,
        "rearm_percent": 0.5}),
    )
    .expect("valid");
    assert_eq!(
        ok.spec().options().rearm_percent().map(|p| p.to_string()),
        Some("0.5".to_owned())
    );
    for wrong in [json!(0), json!(100), json!(-1)] {
        let error = create(
            json!({"symbol": "BTC", "condition": "below", "target_price": 10,
            "rearm_percent": wrong}),
        )
        .expect_err("out of range");
        assert_eq!(kinds(error), [("value_error", "rearm_percent".to_owned())]);
    }
    let error = create(
        json!({"symbol": "BTC", "condition": "percent_move", "target_price": 2,
        "window_minutes": 5, "rearm_percent": 1}),
    )
    .expect_err("not for percent_move");
    assert_eq!(kinds(error), [("value_error", "rearm_percent".to_owned())]);
}

#[test]
fn an_unknown_placeholder_is_a_422_naming_it() {
    let error = create(
        json!({"symbol": "BTC", "condition": "above", "target_price": 10,
        "message": "{{symbol}} hit {{nope}}"}),
    )
    .expect_err("unknown placeholder");
    let AlertInputError::Invalid(errors) = error else {
        panic!("a field error");
    };
    assert_eq!(errors[0].loc, ["message"]);
    assert!(errors[0].msg.contains("{{nope}}"), "{}", errors[0].msg);
}

#[test]
fn a_patch_sets_and_removes_rearm_percent_and_message() {
    let current = stored(
        create(
            json!({"symbol": "BTC", "condition": "above", "target_price": 10,
            "rearm_percent": 1, "message": "{{price}}"}),
        )
        .expect("valid")
        .spec()
        .clone(),
    );
    let input: AlertPatchInput =
        serde_json::from_value(json!({"cooldown_minutes": 2})).expect("reads");
    let kept = AlertPatch::read(input, &current)
        .validate(now())
        .expect("valid");
    assert_eq!(kept.spec().options(), current.spec().options());
    let input: AlertPatchInput =
        serde_json::from_value(json!({"rearm_percent": null, "message": null})).expect("reads");
    let removed = AlertPatch::read(input, &current)
        .validate(now())
        .expect("valid");
    assert_eq!(removed.spec().options().rearm_percent(), None);
    assert_eq!(removed.spec().options().message(), None);
}

#[test]
fn a_snooze_must_end_in_the_future_and_an_unsnooze_clears_it() {
    let current = stored(
        create(json!({"symbol": "BTC", "condition": "above", "target_price": 10}))
            .expect("valid")
            .spec()
            .clone(),
    );
    let until = now() + TimeDelta::hours(1);
    let snoozed = AlertPatch::snooze(&current, &Input::sent(json!(until.to_rfc3339())), now())
        .expect("future");
    assert_eq!(snoozed.spec().options().snoozed_until(), Some(until));
    for wrong in [json!(now().to_rfc3339()), json!("tomorrow"), json!(null)] {
        let error = AlertPatch::snooze(&current, &Input::sent(wrong), now()).expect_err("refused");
        assert_eq!(kinds(error)[0].1, "until");
    }
    let current = Alert {
        spec: snoozed.spec().clone(),
        ..current
    };
    assert!(current.is_snoozed_at(now()));
    assert!(!current.is_snoozed_at(until));
    let cleared = AlertPatch::unsnooze(&current);
    assert_eq!(cleared.spec().options().snoozed_until(), None);
}

#[test]
fn urgent_defaults_to_false_is_set_at_create_and_patch_and_must_be_a_boolean() {
    let plain =
        create(json!({"symbol": "BTC", "condition": "above", "target_price": 10})).expect("valid");
    assert!(!plain.spec().options().urgent());
    let urgent =
        create(json!({"symbol": "BTC", "condition": "above", "target_price": 10, "urgent": true}))
            .expect("valid");
    assert!(urgent.spec().options().urgent());
    let error = create(
        json!({"symbol": "BTC", "condition": "above", "target_price": 10, "urgent": "very"}),
    )
    .expect_err("not a boolean");
    assert_eq!(kinds(error), [("bool_parsing", "urgent".to_owned())]);

    let current = stored(urgent.spec().clone());
    let input: AlertPatchInput =
        serde_json::from_value(json!({"cooldown_minutes": 2})).expect("reads");
    let kept = AlertPatch::read(input, &current)
        .validate(now())
        .expect("valid");
    assert!(
        kept.spec().options().urgent(),
        "a patch without it keeps it"
    );
    let input: AlertPatchInput = serde_json::from_value(json!({"urgent": false})).expect("reads");
    let cleared = AlertPatch::read(input, &current)
        .validate(now())
        .expect("valid");
    assert!(!cleared.spec().options().urgent());
    // Stored before the option existed: not urgent.
    let old: AlertOptions = serde_json::from_value(json!({"trigger": "repeat"})).expect("reads");
    assert!(!old.urgent());
}
