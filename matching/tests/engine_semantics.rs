//! Every semantic case of API.md "Alert semantics" (and the extensions), table-driven, on the
//! indexed engine and on the reference scan alike.

mod support;

use domain::{MoveDirection, TriggerPolicy};
use matching::{IndexedAlert, Rule};
use support::{p, spec, Both, MINUTE, T0};

struct Case {
    name: &'static str,
    rule: Rule,
    previous: Option<&'static str>,
    price: &'static str,
    fires: bool,
}

fn cases() -> Vec<Case> {
    let above = Rule::Above(p("100"));
    let below = Rule::Below(p("100"));
    let crosses = Rule::Crosses(p("100"));
    let range = Rule::Range {
        low: p("90"),
        high: p("110"),
    };
    let case = |name, rule, previous, price, fires| Case {
        name,
        rule,
        previous,
        price,
        fires,
    };
    vec![
        case("above fires at the target", above, None, "100", true),
        case("above fires over the target", above, None, "100.5", true),
        case("above waits just under", above, None, "99.999999", false),
        case("below fires at the target", below, None, "100", true),
        case("below fires under the target", below, None, "42", true),
        case("below waits just over", below, None, "100.00000001", false),
        case("range fires at its low bound", range, None, "90", true),
        case("range fires at its high bound", range, None, "110", true),
        case("range fires inside", range, None, "100", true),
        case("range waits below", range, None, "89.99", false),
        case("range waits above", range, None, "110.01", false),
        case(
            "an inverted range never fires",
            Rule::Range {
                low: p("110"),
                high: p("90"),
            },
            None,
            "100",
            false,
        ),
        case("crosses 99→100 fires", crosses, Some("99"), "100", true),
        case(
            "crosses 100→101 does not",
            crosses,
            Some("100"),
            "101",
            false,
        ),
        case("crosses 101→100 fires", crosses, Some("101"), "100", true),
        case(
            "crosses 100→100 does not",
            crosses,
            Some("100"),
            "100",
            false,
        ),
        case("crosses 99→101 fires", crosses, Some("99"), "101", true),
        case("crosses 101→99 fires", crosses, Some("101"), "99", true),
        case(
            "crosses 99→99.5 does not",
            crosses,
            Some("99"),
            "99.5",
            false,
        ),
        case(
            "crosses without a previous price does not",
            crosses,
            None,
            "100",
            false,
        ),
        case(
            "an off-grid above target is exact",
            Rule::Above(p("100.0000000000000000001")),
            None,
            "100.0000000000000000001",
            true,
        ),
        case(
            "an off-grid above target is not reached early",
            Rule::Above(p("100.0000000000000000001")),
            None,
            "100",
            false,
        ),
        case(
            "an off-grid crosses target is exact",
            Rule::Crosses(p("99.00000000000000000005")),
            Some("99"),
            "99.0000000000000000001",
            true,
        ),
        case(
            "an off-grid tick price is compared exactly",
            Rule::Below(p("100")),
            None,
            "100.0000000000000000001",
            false,
        ),
    ]
}

#[test]
fn every_semantic_case_of_the_contract_holds() {
    for case in cases() {
        let mut both = Both::with(spec(1, case.rule));
        if let Some(previous) = case.previous {
            both.previous(previous);
        }
        let fired = both.tick(case.price, T0);
        assert_eq!(fired == vec![1], case.fires, "{}", case.name);
    }
}

#[test]
fn a_true_condition_fires_again_exactly_when_the_cooldown_has_passed() {
    let mut both = Both::with(IndexedAlert {
        cooldown_minutes: 5,
        ..spec(1, Rule::Above(p("100")))
    });
    assert_eq!(both.tick("101", T0), vec![1]);
    assert!(both.tick("101", T0 + 5 * MINUTE - 1).is_empty());
    assert_eq!(both.tick("101", T0 + 5 * MINUTE), vec![1]);
    assert!(both.tick("101", T0 + 10 * MINUTE - 1).is_empty());
    assert_eq!(both.tick("102", T0 + 10 * MINUTE), vec![1]);
}

#[test]
fn the_cooldown_counts_from_a_stored_last_trigger() {
    let mut both = Both::with(IndexedAlert {
        cooldown_minutes: 60,
        last_triggered_at: Some(T0),
        ..spec(1, Rule::Below(p("100")))
    });
    assert!(both.tick("50", T0 + 60 * MINUTE - 1).is_empty());
    assert_eq!(both.tick("50", T0 + 60 * MINUTE), vec![1]);
}

#[test]
fn a_crosses_alert_in_cooldown_misses_crossings_until_it_ends() {
    let mut both = Both::with(IndexedAlert {
        cooldown_minutes: 1,
        ..spec(1, Rule::Crosses(p("100")))
    });
    both.previous("99");
    assert_eq!(both.tick("100", T0), vec![1]);
    assert!(both.tick("99", T0 + MINUTE - 1).is_empty());
    assert!(both.tick("99.5", T0 + MINUTE).is_empty());
    assert_eq!(both.tick("100.5", T0 + MINUTE + 1), vec![1]);
}

#[test]
fn a_once_alert_fires_a_single_time() {
    let mut both = Both::with(IndexedAlert {
        trigger: TriggerPolicy::Once,
        cooldown_minutes: 1,
        ..spec(1, Rule::Above(p("100")))
    });
    assert_eq!(both.tick("100", T0), vec![1]);
    assert!(both.tick("100", T0 + 10 * MINUTE).is_empty());
    assert_eq!(both.engine.active_alerts(), 0);
}

#[test]
fn an_expired_alert_never_fires_and_reads_as_inactive() {
    let mut both = Both::with(IndexedAlert {
        expires_at: Some(T0 + MINUTE),
        cooldown_minutes: 1,
        ..spec(1, Rule::Above(p("100")))
    });
    assert_eq!(both.tick("100", T0), vec![1]);
    assert!(both.tick("100", T0 + MINUTE).is_empty());
    assert!(both.tick("100", T0 + 5 * MINUTE).is_empty());
    assert_eq!(both.engine.active_alerts(), 0);
}

#[test]
fn a_removed_alert_never_fires_and_a_patch_applies_to_the_next_tick() {
    let mut both = Both::with(spec(1, Rule::Above(p("100"))));
    both.upsert(&IndexedAlert {
        version: 2,
        ..spec(1, Rule::Above(p("200")))
    });
    assert!(both.tick("150", T0).is_empty());
    both.remove(1);
    assert!(both.tick("250", T0 + 1).is_empty());
}

#[test]
fn a_stale_change_does_not_overwrite_a_newer_one() {
    let mut both = Both::with(IndexedAlert {
        version: 3,
        ..spec(1, Rule::Above(p("200")))
    });
    both.upsert(&IndexedAlert {
        version: 2,
        ..spec(1, Rule::Above(p("100")))
    });
    assert!(both.tick("150", T0).is_empty());
    assert_eq!(both.engine.version(1), Some(3));
}

#[test]
fn a_fire_bumps_the_version_like_the_fire_transaction_does() {
    let mut both = Both::with(spec(1, Rule::Above(p("100"))));
    both.tick("100", T0);
    assert_eq!(both.engine.version(1), Some(2));
}

fn percent(percent: &str, direction: MoveDirection, window_minutes: i64) -> Rule {
    Rule::PercentMove {
        percent: p(percent),
        direction,
        window_minutes,
    }
}

#[test]
fn a_percent_move_never_fires_before_its_window_is_full() {
    let mut both = Both::with(spec(1, percent("2", MoveDirection::Up, 5)));
    assert!(both.tick("100", T0).is_empty());
    assert!(both.tick("150", T0 + 5 * MINUTE - 1).is_empty());
    // Now the window [T0, T0+5min] is covered: average 100 (then 150 for one µs).
    assert_eq!(both.tick("150", T0 + 5 * MINUTE), vec![1]);
}

#[test]
fn a_percent_move_compares_with_the_time_weighted_average() {
    let rule = |direction| percent("2", direction, 5);
    let mut both = Both::new();
    both.upsert(&spec(1, rule(MoveDirection::Up)));
    both.upsert(&spec(2, rule(MoveDirection::Down)));
    both.upsert(&spec(3, rule(MoveDirection::Either)));
    assert!(both.tick("100", T0).is_empty());
    // 100 for 4 minutes then 105 for 1 minute: average 101 over [T0, T0+5].
    assert!(both.tick("105", T0 + 4 * MINUTE).is_empty());
    // 103.02 is exactly 2 % above 101: fires (at least 2 %).
    assert_eq!(both.tick("103.02", T0 + 5 * MINUTE), vec![1, 3]);
}

#[test]
fn a_percent_move_down_fires_at_exactly_the_percent() {
    let mut both = Both::with(spec(2, percent("2", MoveDirection::Down, 5)));
    assert!(both.tick("100", T0).is_empty());
    assert!(both.tick("98.01", T0 + 5 * MINUTE).is_empty());
    // A second tick in the same microsecond: the 98.01 has held for no time yet.
    assert_eq!(both.tick("98", T0 + 5 * MINUTE), vec![2]);
}

#[test]
fn a_window_longer_than_the_history_never_fires() {
    let mut both = Both::with(spec(1, percent("1", MoveDirection::Either, 48 * 60)));
    assert!(both.tick("100", T0).is_empty());
    assert!(both.tick("200", T0 + 49 * 60 * MINUTE).is_empty());
}

#[test]
fn ranges_jumped_over_stay_armed_for_the_way_back() {
    let mut both = Both::with(spec(
        1,
        Rule::Range {
            low: p("100"),
            high: p("101"),
        },
    ));
    assert!(both.tick("90", T0).is_empty());
    assert!(both.tick("120", T0 + 1).is_empty());
    assert!(both.tick("95", T0 + 2).is_empty());
    assert_eq!(both.tick("100.5", T0 + 3), vec![1]);
}
