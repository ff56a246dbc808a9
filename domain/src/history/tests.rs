use proptest::prelude::*;

use super::*;

fn p(text: &str) -> Price {
    text.parse().expect("price")
}

/// 2026-03-01T00:00:00Z, a UTC midnight.
const MIDNIGHT: i64 = 1_772_323_200;

#[test]
fn buckets_start_on_utc_minutes_hours_and_days() {
    let second = MIDNIGHT + 3 * 3_600 + 25 * 60 + 17;
    assert_eq!(bucket_start(second, 60), MIDNIGHT + 3 * 3_600 + 25 * 60);
    assert_eq!(bucket_start(second, 3_600), MIDNIGHT + 3 * 3_600);
    assert_eq!(bucket_start(second, 86_400), MIDNIGHT);
    // The last second of a day is in that day; the next one starts the next.
    assert_eq!(bucket_start(MIDNIGHT - 1, 86_400), MIDNIGHT - 86_400);
    assert_eq!(bucket_start(MIDNIGHT, 86_400), MIDNIGHT);
    // Before the epoch too (floor, not truncation).
    assert_eq!(bucket_start(-1, 60), -60);
}

#[test]
fn a_candle_opens_with_its_first_point_and_closes_with_its_last() {
    let points = [
        Point {
            second: MIDNIGHT + 30,
            price: p("101.5"),
        },
        Point {
            second: MIDNIGHT + 1,
            price: p("100"),
        },
        Point {
            second: MIDNIGHT + 59,
            price: p("99.25"),
        },
        Point {
            second: MIDNIGHT + 60,
            price: p("7"),
        },
    ];
    let candles = candles_of(&points, 60);
    assert_eq!(candles.len(), 2);
    let first = candles[0];
    assert_eq!(
        (first.start, first.open, first.high),
        (MIDNIGHT, p("100"), p("101.5"))
    );
    assert_eq!(
        (first.low, first.close, first.ticks),
        (p("99.25"), p("99.25"), 3)
    );
    assert_eq!((candles[1].start, candles[1].open), (MIDNIGHT + 60, p("7")));
}

#[test]
fn the_last_tick_of_a_second_wins_whatever_order_they_arrive_in() {
    let ticks = [
        Tick {
            at_micros: (MIDNIGHT + 5) * 1_000_000 + 900_000,
            price: p("3"),
        },
        Tick {
            at_micros: (MIDNIGHT + 5) * 1_000_000 + 100_000,
            price: p("1"),
        },
        Tick {
            at_micros: (MIDNIGHT + 5) * 1_000_000 + 900_000,
            price: p("3"),
        },
    ];
    assert_eq!(
        last_per_second(&ticks),
        vec![Point {
            second: MIDNIGHT + 5,
            price: p("3")
        }]
    );
}

#[test]
fn a_replay_walks_open_then_the_nearer_extreme_then_the_farther_then_close() {
    let candle = Candle {
        start: MIDNIGHT,
        open: p("100"),
        high: p("103"),
        low: p("99"),
        close: p("101"),
        first_second: MIDNIGHT,
        last_second: MIDNIGHT + 59,
        ticks: 10,
    };
    let prices: Vec<Price> = candle.path(60).into_iter().map(|(_, p)| p).collect();
    assert_eq!(prices, vec![p("100"), p("99"), p("103"), p("101")]);
    let flat = Candle {
        high: p("100"),
        low: p("100"),
        close: p("100"),
        ..candle
    };
    assert_eq!(flat.path(60), vec![(MIDNIGHT, p("100"))]);
}

fn ticks() -> impl Strategy<Value = Vec<Tick>> {
    // Ticks over ~3 days, so minutes, hours and a day boundary are all crossed.
    // 300 possible seconds ~14 minutes apart, so a second often has several ticks.
    prop::collection::vec((0i64..300, 0i64..1_000, 1u32..100_000), 1..200).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (slot, millis, cents))| Tick {
                // Distinct microseconds: two different quotes never share one.
                at_micros: (MIDNIGHT + slot * 863) * 1_000_000 + millis * 1_000 + i as i64,
                price: Price::new(rust_decimal::Decimal::new(i64::from(cents), 2)),
            })
            .collect()
    })
}

proptest! {
    /// Hours rolled up from minutes, and days from hours, equal candles computed directly
    /// from the points; and the points do not depend on tick order or repeats.
    #[test]
    fn rollups_equal_direct_candles_and_order_does_not_matter(
        ticks in ticks(),
        seed in any::<u64>(),
    ) {
        let points = last_per_second(&ticks);
        let mut shuffled = ticks.clone();
        shuffled.extend(ticks.iter().step_by(3).copied());
        let n = shuffled.len();
        for i in 0..n {
            let j = (seed.wrapping_mul(i as u64 + 1) % n as u64) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(last_per_second(&shuffled), points.clone());
        let minutes = candles_of(&points, 60);
        let hours = rollup(&minutes, 3_600);
        prop_assert_eq!(&hours, &candles_of(&points, 3_600));
        prop_assert_eq!(rollup(&hours, 86_400), candles_of(&points, 86_400));
        let total: i64 = minutes.iter().map(|c| c.ticks).sum();
        prop_assert_eq!(total, points.len() as i64);
    }
}

fn minute(start: i64, close: &str) -> Candle {
    let close = p(close);
    Candle {
        start,
        open: close,
        high: close,
        low: close,
        close,
        first_second: start,
        last_second: start,
        ticks: 1,
    }
}

#[test]
fn averages_weight_each_price_by_how_long_it_held() {
    let now = MIDNIGHT + 86_400;
    // 100 for the first 45 minutes of the last hour, 200 for the last 15.
    let candles = [minute(now - 3_600, "100"), minute(now - 900, "200")];
    assert_eq!(
        time_weighted_average(&candles, now - 3_600, now),
        Some(p("125"))
    );
    let stats = stats_of(&candles, now);
    assert_eq!(stats.average_1h, Some(p("125")));
    assert_eq!(stats.change_24h_percent, Some(p("100")));
    assert_eq!(
        (stats.high_24h, stats.low_24h),
        (Some(p("200")), Some(p("100")))
    );
    // The price 24 h ago is the close then in force.
    let earlier = [minute(now - 90_000, "50"), minute(now - 60, "49")];
    assert_eq!(stats_of(&earlier, now).change_24h_percent, Some(p("-2")));
    assert_eq!(stats_of(&[], now), Stats::default());
}
