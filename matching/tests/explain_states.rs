//! `explain` reports the first state that applies, in the API's order, from stored state.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::Alert;
use matching::explain::{explain, ExplainState, Observed};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0)
        .single()
        .expect("time")
}

/// A stored alert as the bus carries it: `spec` overrides and top-level overrides.
fn alert(spec: Value, top: Value) -> Alert {
    let mut value = json!({
        "id": 7, "user_id": 1,
        "spec": {"symbol": "BTC", "condition": "above", "target_price": "100",
                 "target_price_high": null, "notification_types": "email",
                 "cooldown_minutes": 60, "options": {}},
        "active": true, "triggered_count": 0, "last_triggered_at": null,
        "version": 1, "created_at": "2026-12-01T00:00:00Z",
    });
    for (key, field) in spec.as_object().expect("object") {
        value["spec"][key] = field.clone();
    }
    for (key, field) in top.as_object().expect("object") {
        value[key] = field.clone();
    }
    serde_json::from_value(value).expect("an alert")
}

fn seen(price: &str) -> Observed {
    Observed {
        owner_active: true,
        last_price: Some(price.parse().expect("price")),
        history_since: None,
    }
}

fn state(alert: &Alert, observed: &Observed) -> ExplainState {
    explain(alert, observed, now()).state
}

fn at(offset_minutes: i64) -> String {
    (now() + TimeDelta::minutes(offset_minutes)).to_rfc3339()
}

#[test]
fn every_state_is_reported_in_the_documented_order() {
    let everything = alert(
        json!({"options": {"expires_at": at(-1), "snoozed_until": at(5), "rearm_percent": "1"}}),
        json!({"active": false, "last_triggered_at": at(-1), "rearm_wait": "below"}),
    );
    assert_eq!(state(&everything, &seen("99")), ExplainState::Paused);
    let on = alert(
        json!({"options": {"expires_at": at(-1), "snoozed_until": at(5)}}),
        json!({}),
    );
    assert_eq!(state(&on, &seen("99")), ExplainState::Expired);
    let snoozed = alert(json!({"options": {"snoozed_until": at(5)}}), json!({}));
    let inactive_owner = Observed {
        owner_active: false,
        ..seen("99")
    };
    assert_eq!(
        state(&snoozed, &inactive_owner),
        ExplainState::OwnerInactive
    );
    let explained = explain(&snoozed, &seen("99"), now());
    assert_eq!(explained.state, ExplainState::Snoozed);
    assert_eq!(explained.until.map(|u| u.to_rfc3339()), Some(at(5)));
}

#[test]
fn a_percent_move_waits_for_its_window_then_cools_down_then_is_armed() {
    let percent = json!({"condition": "percent_move", "target_price": "2",
        "options": {"window_minutes": 30, "direction": "either"}});
    let young = Observed {
        history_since: Some(now() - TimeDelta::minutes(10)),
        ..seen("99")
    };
    let explained = explain(&alert(percent.clone(), json!({})), &young, now());
    assert_eq!(explained.state, ExplainState::WaitingForWindow);
    assert_eq!(explained.missing_window_seconds, Some(20 * 60));
    assert_eq!(explained.distance, None);
    let full = Observed {
        history_since: Some(now() - TimeDelta::minutes(30)),
        ..seen("99")
    };
    let fired = alert(percent.clone(), json!({"last_triggered_at": at(-59)}));
    let explained = explain(&fired, &full, now());
    assert_eq!(explained.state, ExplainState::CoolingDown);
    assert_eq!(explained.until.map(|u| u.to_rfc3339()), Some(at(1)));
    let cooled = alert(percent, json!({"last_triggered_at": at(-60)}));
    assert_eq!(state(&cooled, &full), ExplainState::Armed);
}

#[test]
fn a_fired_hysteretic_alert_names_the_level_to_pass() {
    let waiting = alert(
        json!({"options": {"rearm_percent": "2"}}),
        json!({"last_triggered_at": at(-120), "rearm_wait": "below"}),
    );
    let explained = explain(&waiting, &seen("101"), now());
    assert_eq!(explained.state, ExplainState::WaitingRearm);
    assert_eq!(
        explained.level.map(|l| l.to_string()),
        Some("98".to_owned())
    );
    // Without the percent any more, a stored wait means nothing.
    let unpatched = alert(
        json!({}),
        json!({"last_triggered_at": at(-120), "rearm_wait": "below"}),
    );
    assert_eq!(state(&unpatched, &seen("101")), ExplainState::Armed);
}

#[test]
fn a_crosses_alert_waits_for_the_cross_and_distances_are_to_firing() {
    let crosses = alert(json!({"condition": "crosses"}), json!({}));
    let explained = explain(&crosses, &seen("95"), now());
    assert_eq!(explained.state, ExplainState::WaitingForCross);
    assert_eq!(
        explained.level.map(|l| l.to_string()),
        Some("100".to_owned())
    );
    assert_eq!(
        explained.distance.map(|d| d.to_string()),
        Some("5".to_owned())
    );
    let above = explain(&alert(json!({}), json!({})), &seen("80"), now());
    assert_eq!(above.state, ExplainState::Armed);
    assert_eq!(above.distance.map(|d| d.to_string()), Some("20".to_owned()));
    assert_eq!(
        above.distance_percent.map(|d| d.to_string()),
        Some("25".to_owned())
    );
    let range = alert(
        json!({"condition": "range", "target_price": "90", "target_price_high": "110"}),
        json!({}),
    );
    let inside = explain(&range, &seen("100"), now());
    assert_eq!(inside.distance.map(|d| d.to_string()), Some("0".to_owned()));
    let unseen = Observed {
        last_price: None,
        ..seen("1")
    };
    assert_eq!(explain(&range, &unseen, now()).distance, None);
}
