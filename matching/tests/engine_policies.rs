//! Re-arm hysteresis and snooze at their boundaries, on the indexed engine and on the reference
//! scan alike (every tick must agree), plus the state the engine reports for storage.

mod support;

use domain::RearmWait;
use matching::{IndexedAlert, Rearmed, Rule, Upsert};
use support::{p, spec, Both, MINUTE, T0};

/// An alert with a one-minute cooldown and 2 % hysteresis.
fn hysteretic(rule: Rule) -> IndexedAlert {
    IndexedAlert {
        cooldown_minutes: 1,
        rearm_percent: Some(p("2")),
        ..spec(1, rule)
    }
}

#[test]
fn an_above_alert_rearms_exactly_at_the_level_and_not_just_before_it() {
    let mut both = Both::with(hysteretic(Rule::Above(p("100"))));
    assert_eq!(both.tick("101", T0), vec![1]);
    // The cooldown is over, but the price never went back to 98.
    assert!(both.tick("101", T0 + 2 * MINUTE).is_empty());
    assert!(both.tick("98.01", T0 + 3 * MINUTE).is_empty());
    assert!(both.tick("100", T0 + 4 * MINUTE).is_empty());
    assert!(both.engine.rearmed().is_empty());
    // Exactly at the re-arm level: re-armed, but that tick fires nothing.
    assert!(both.tick("98", T0 + 5 * MINUTE).is_empty());
    assert_eq!(rearmed_ids(&both), [1]);
    assert_eq!(both.tick("100", T0 + 6 * MINUTE), vec![1]);
}

/// The ids of the alerts the last tick re-armed.
fn rearmed_ids(both: &Both) -> Vec<i64> {
    both.engine.rearmed().iter().map(|r| r.alert_id).collect()
}

#[test]
fn ending_a_rearm_wait_bumps_the_version_so_older_snapshots_are_stale() {
    let mut both = Both::with(hysteretic(Rule::Above(p("100"))));
    assert_eq!(both.tick("101", T0), vec![1]);
    assert_eq!(both.engine.version(1), Some(2), "a fire bumps the version");
    assert!(both.tick("98", T0 + 2 * MINUTE).is_empty());
    // Storage clears the wait only on the version the engine decided on.
    assert_eq!(
        both.engine.rearmed(),
        [Rearmed {
            alert_id: 1,
            version: 2
        }]
    );
    assert_eq!(both.engine.version(1), Some(3));
    assert_eq!(both.reference.version(1), Some(3));
    // A change event written before the wait ended (it still carries the wait) is stale now.
    let snapshot = IndexedAlert {
        version: 2,
        rearm_wait: Some(RearmWait::Below),
        ..hysteretic(Rule::Above(p("100")))
    };
    assert_eq!(both.engine.upsert(&snapshot), Upsert::Stale);
    assert_eq!(both.tick("100", T0 + 3 * MINUTE), vec![1]);
}

#[test]
fn a_below_alert_rearms_at_the_upper_level() {
    let mut both = Both::with(hysteretic(Rule::Below(p("100"))));
    assert_eq!(both.tick("99", T0), vec![1]);
    assert!(both.tick("101.99", T0 + 2 * MINUTE).is_empty());
    assert!(both.tick("99", T0 + 3 * MINUTE).is_empty());
    assert!(both.tick("102", T0 + 4 * MINUTE).is_empty());
    assert_eq!(both.tick("99", T0 + 5 * MINUTE), vec![1]);
}

#[test]
fn a_range_alert_rearms_once_it_left_the_band_by_the_percent() {
    let mut both = Both::with(hysteretic(Rule::Range {
        low: p("50"),
        high: p("60"),
    }));
    assert_eq!(both.tick("55", T0), vec![1]);
    assert!(both.tick("61", T0 + 2 * MINUTE).is_empty());
    assert!(both.tick("55", T0 + 3 * MINUTE).is_empty());
    assert!(both.tick("49", T0 + 4 * MINUTE).is_empty());
    assert_eq!(rearmed_ids(&both), [1]);
    assert_eq!(both.tick("55", T0 + 5 * MINUTE), vec![1]);
}

#[test]
fn a_gate_opened_during_the_cooldown_still_waits_for_the_cooldown() {
    let mut both = Both::with(IndexedAlert {
        cooldown_minutes: 10,
        ..hysteretic(Rule::Above(p("100")))
    });
    assert_eq!(both.tick("101", T0), vec![1]);
    assert!(both.tick("90", T0 + MINUTE).is_empty());
    assert!(both.tick("101", T0 + 10 * MINUTE - 1).is_empty());
    assert_eq!(both.tick("101", T0 + 10 * MINUTE), vec![1]);
}

#[test]
fn a_crosses_alert_waits_on_the_side_it_crossed_from() {
    let mut both = Both::with(hysteretic(Rule::Crosses(p("100"))));
    both.previous("99");
    assert_eq!(both.tick("100", T0), vec![1]);
    // A cross down to 99 is not enough: the price must reach 98 first.
    assert!(both.tick("99", T0 + 2 * MINUTE).is_empty());
    assert!(both.tick("101", T0 + 3 * MINUTE).is_empty());
    assert!(both.tick("98", T0 + 4 * MINUTE).is_empty());
    assert_eq!(both.tick("100", T0 + 5 * MINUTE), vec![1]);
}

#[test]
fn a_stored_wait_survives_a_restart() {
    let mut both = Both::with(IndexedAlert {
        rearm_wait: Some(RearmWait::Below),
        last_triggered_at: Some(T0 - 60 * MINUTE),
        ..hysteretic(Rule::Above(p("100")))
    });
    assert!(both.tick("150", T0).is_empty());
    assert!(both.tick("97", T0 + MINUTE).is_empty());
    assert_eq!(both.tick("150", T0 + 2 * MINUTE), vec![1]);
}

#[test]
fn a_fire_reports_the_wait_storage_keeps() {
    let mut both = Both::with(hysteretic(Rule::Below(p("100"))));
    let fires = both.fires("99", T0);
    assert_eq!(fires.len(), 1);
    assert_eq!(fires[0].rearm_wait, Some(RearmWait::Above));
}

#[test]
fn a_snoozed_alert_fires_from_until_on_and_not_a_microsecond_before() {
    let until = T0 + 30 * MINUTE;
    let mut both = Both::with(IndexedAlert {
        snoozed_until: Some(until),
        ..spec(1, Rule::Above(p("100")))
    });
    assert!(both.tick("101", T0).is_empty());
    assert!(both.tick("101", until - 1).is_empty());
    assert_eq!(both.tick("101", until), vec![1]);
}

#[test]
fn a_snooze_past_the_cooldown_end_holds_the_alert_longer() {
    let mut both = Both::with(IndexedAlert {
        cooldown_minutes: 1,
        last_triggered_at: Some(T0),
        snoozed_until: Some(T0 + 10 * MINUTE),
        ..spec(1, Rule::Above(p("100")))
    });
    assert!(both.tick("101", T0 + 2 * MINUTE).is_empty());
    assert!(both.tick("101", T0 + 10 * MINUTE - 1).is_empty());
    assert_eq!(both.tick("101", T0 + 10 * MINUTE), vec![1]);
}

#[test]
fn an_unsnooze_arms_the_alert_for_the_next_tick() {
    let snoozed = IndexedAlert {
        snoozed_until: Some(T0 + 60 * MINUTE),
        ..spec(1, Rule::Above(p("100")))
    };
    let mut both = Both::with(snoozed.clone());
    assert!(both.tick("101", T0).is_empty());
    both.upsert(&IndexedAlert {
        snoozed_until: None,
        version: 2,
        ..snoozed
    });
    assert_eq!(both.tick("101", T0 + MINUTE), vec![1]);
}
