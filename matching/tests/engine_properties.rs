//! Property: the indexed engine fires exactly the alerts a plain scan of every alert fires,
//! over random alerts, ticks, patches, pauses, deletions and clock advances, with re-arm
//! hysteresis (fresh or restored waits) and snoozes among the policies.

use domain::{MoveDirection, Price, RearmWait, Symbol, TriggerPolicy};
use matching::reference::ReferenceScan;
use matching::{Engine, EngineConfig, IndexedAlert, Micros, Rule};
use proptest::prelude::*;
use rust_decimal::Decimal;

const SECOND: Micros = 1_000_000;
const T0: Micros = 1_800_000_000_000_000;

#[derive(Debug, Clone)]
enum Action {
    Upsert {
        id: i64,
        symbol: usize,
        rule: Rule,
        cooldown_minutes: i64,
        once: bool,
        expires_in: Option<Micros>,
        stale: bool,
        policies: Policies,
    },
    Remove {
        id: i64,
    },
    /// The last price set from outside a tick, as at start from storage.
    Restore {
        symbol: usize,
        price: Price,
    },
    Tick {
        symbol: usize,
        price: Price,
        advance: Micros,
    },
}

/// The issue-17 policies of an upserted alert.
#[derive(Debug, Clone)]
struct Policies {
    rearm_percent: Option<Price>,
    /// A wait as storage would restore it.
    rearm_wait: Option<RearmWait>,
    snoozed_for: Option<Micros>,
}

fn policies() -> impl Strategy<Value = Policies> {
    let wait = prop_oneof![
        Just(RearmWait::Below),
        Just(RearmWait::Above),
        Just(RearmWait::Outside)
    ];
    (
        proptest::option::weighted(
            0.4,
            (1i64..60).prop_map(|tenths| Price::new(Decimal::new(tenths, 1))),
        ),
        proptest::option::weighted(0.2, wait),
        proptest::option::weighted(0.2, 0..(300 * SECOND)),
    )
        .prop_map(|(rearm_percent, rearm_wait, snoozed_for)| Policies {
            rearm_percent,
            rearm_wait,
            snoozed_for,
        })
}

/// Prices on a coarse grid around 100 so that thresholds are hit exactly, often.
fn price() -> impl Strategy<Value = Price> {
    (1800i64..2200).prop_map(|cents| Price::new(Decimal::new(cents * 5, 2)))
}

fn rule() -> impl Strategy<Value = Rule> {
    let direction = prop_oneof![
        Just(MoveDirection::Up),
        Just(MoveDirection::Down),
        Just(MoveDirection::Either)
    ];
    prop_oneof![
        price().prop_map(Rule::Above),
        price().prop_map(Rule::Below),
        price().prop_map(Rule::Crosses),
        (price(), price()).prop_map(|(low, high)| Rule::Range { low, high }),
        (
            1i64..40,
            direction,
            prop_oneof![Just(1i64), Just(2), Just(5), Just(30)]
        )
            .prop_map(|(tenths, direction, window_minutes)| Rule::PercentMove {
                percent: Price::new(Decimal::new(tenths, 1)),
                direction,
                window_minutes,
            }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (
            1i64..12,
            0usize..2,
            rule(),
            1i64..4,
            any::<bool>(),
            proptest::option::weighted(0.3, 0..(600 * SECOND)),
            proptest::bool::weighted(0.15),
            policies(),
        )
            .prop_map(|(id, symbol, rule, cooldown_minutes, once, expires_in, stale, policies)| {
                Action::Upsert { id, symbol, rule, cooldown_minutes, once, expires_in, stale, policies }
            }),
        1 => (1i64..12).prop_map(|id| Action::Remove { id }),
        1 => (0usize..2, price()).prop_map(|(symbol, price)| Action::Restore { symbol, price }),
        8 => (0usize..2, price(), prop_oneof![Just(0), 0..(90 * SECOND)])
            .prop_map(|(symbol, price, advance)| Action::Tick { symbol, price, advance }),
    ]
}

fn symbols() -> [Symbol; 2] {
    [
        "BTC".parse().expect("symbol"),
        "ETH".parse().expect("symbol"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_index_fires_exactly_what_a_full_scan_fires(
        actions in proptest::collection::vec(action(), 1..200),
    ) {
        let config = EngineConfig { history_minutes: 10 };
        let mut engine = Engine::new(config);
        let mut reference = ReferenceScan::new(config);
        let symbols = symbols();
        let mut now = T0;
        for action in actions {
            match action {
                Action::Upsert { id, symbol, rule, cooldown_minutes, once, expires_in, stale, policies } => {
                    let current = reference.version(id).unwrap_or(0);
                    let version = if stale { current - 1 } else { current + 1 };
                    let spec = IndexedAlert {
                        id,
                        symbol: symbols[symbol].clone(),
                        rule,
                        cooldown_minutes,
                        trigger: if once { TriggerPolicy::Once } else { TriggerPolicy::Repeat },
                        expires_at: expires_in.map(|d| now + d),
                        last_triggered_at: None,
                        rearm_percent: policies.rearm_percent,
                        rearm_wait: policies.rearm_wait,
                        snoozed_until: policies.snoozed_for.map(|d| now + d),
                        version,
                    };
                    engine.upsert(&spec);
                    reference.upsert(&spec);
                }
                Action::Remove { id } => {
                    engine.remove(id);
                    reference.remove(id);
                }
                Action::Restore { symbol, price } => {
                    engine.restore_last_price(&symbols[symbol], price);
                    reference.restore_last_price(&symbols[symbol], price);
                }
                Action::Tick { symbol, price, advance } => {
                    now += advance;
                    let (mut fired, mut expected) = (Vec::new(), Vec::new());
                    let id = engine.symbol_id(&symbols[symbol]);
                    engine.evaluate(id, price, now, &mut fired);
                    let id = reference.symbol_id(&symbols[symbol]);
                    reference.evaluate(id, price, now, &mut expected);
                    fired.sort();
                    expected.sort();
                    prop_assert_eq!(fired, expected, "tick {} at {}", price, now);
                }
            }
        }
    }
}

/// Any decimal a price can be: up to 28 decimals, magnitudes far beyond the key grid.
fn any_price() -> impl Strategy<Value = Price> {
    (any::<i64>(), 0u32..=28)
        .prop_map(|(mantissa, scale)| Price::new(Decimal::new(mantissa, scale)))
}

proptest! {
    #[test]
    fn integer_keys_order_prices_exactly_like_decimals(t in any_price(), p in any_price()) {
        use matching::{exact_key, floor_ceil_keys};
        let (floor, ceil) = floor_ceil_keys(p);
        prop_assert!(floor <= ceil);
        if let Some(key) = exact_key(t) {
            prop_assert_eq!(t <= p, key <= floor);
            prop_assert_eq!(t >= p, key >= ceil);
            prop_assert_eq!(t < p, key < ceil);
            prop_assert_eq!(t > p, key > floor);
        }
    }
}
