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

#[test]
fn a_tick_without_a_conversion_still_decodes_and_a_converted_one_round_trips() {
    use shared::events::PriceTick;
    let old = json!({
        "schema_version": 2, "symbol": "BTC", "price": 67187.33, "previous_price": null,
        "currency": "USD", "source": "coingecko", "timestamp": "2026-12-03T08:00:00Z",
        "received_at": "2026-12-03T08:00:01Z",
    });
    let tick: PriceTick = serde_json::from_value(old).expect("an older tick decodes");
    assert_eq!(tick.conversion, None);
    let unconverted = serde_json::to_string(&tick).expect("serialises");
    assert!(!unconverted.contains("conversion"), "{unconverted}");

    let mut converted = tick;
    converted.source = "binance".to_owned();
    converted.conversion = Some(serde_json::from_value(json!({
        "from_currency": "USDT", "provider_price": 67200.1, "rate_symbol": "USDT", "rate": 0.9998,
    })).expect("a conversion"));
    let json = serde_json::to_string(&converted).expect("serialises");
    assert!(json.contains(r#""provider_price":67200.1"#), "{json}");
    let back: PriceTick = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, converted);
}
