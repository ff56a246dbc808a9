//! Bus messages keep exact prices and every field through a round trip.

use serde_json::json;
use shared::domain::Alert;
use shared::events::AlertChange;

#[test]
fn alert_changes_round_trip_with_exact_prices() {
    let alert: Alert = serde_json::from_value(json!({
        "id": 7, "user_id": 1, "active": true, "triggered_count": 0,
        "last_triggered_at": null, "version": 3, "created_at": "2026-12-03T08:00:00Z",
        "spec": {
            "symbol": "BTC", "condition": "range", "target_price": 0.1,
            "target_price_high": 67187.3358936566, "notification_types": "email,sms",
            "cooldown_minutes": 60, "options": {"trigger": "once"},
        },
    }))
    .expect("an alert");
    let change = AlertChange::upserted(alert);
    let json = serde_json::to_string(&change).expect("serialises");
    assert!(json.contains(r#""target_price":0.1"#), "{json}");
    assert!(
        json.contains(r#""target_price_high":67187.3358936566"#),
        "{json}"
    );
    let back: AlertChange = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, change);
}
