//! The windows against exact arithmetic, and the f64 screen against the exact decision.

use super::*;

const MINUTE: Micros = MICROS_PER_MINUTE;

/// The exact average of group `index` against price `key`.
fn exact_average(windows: &mut Windows, index: usize, key: i128) -> Option<Average> {
    let integral = windows.integral(index)?;
    Average::new(integral, windows.groups[index].window, key)
}

fn windows_with_group(window_minutes: i64) -> (Windows, usize) {
    let mut windows = Windows::new(60);
    let index = windows.group_index(window_minutes);
    (windows, index)
}

#[test]
fn the_average_is_time_weighted_and_waits_for_a_full_window() {
    let (mut windows, group) = windows_with_group(5);
    windows.push(0, 100 * KEY_ONE);
    windows.push(4 * MINUTE, 200 * KEY_ONE);
    assert!(
        exact_average(&mut windows, group, 200 * KEY_ONE).is_none(),
        "4 minutes of data"
    );
    // 100 for 4 minutes, 200 for 2: over the last 5 minutes, 100·3 + 200·2 = 700 → 140.
    windows.push(6 * MINUTE, 200 * KEY_ONE);
    let average = exact_average(&mut windows, group, 168 * KEY_ONE).expect("full window");
    assert!(average.up(20 * KEY_ONE), "168 is 20 % above 140");
    assert!(!average.up(20 * KEY_ONE + 1));
    let average = exact_average(&mut windows, group, 112 * KEY_ONE).expect("full window");
    assert!(average.down(20 * KEY_ONE), "112 is 20 % below 140");
    assert!(!average.down(20 * KEY_ONE + 1));
}

#[test]
fn prefixes_may_wrap_without_changing_any_average() {
    // A price near the largest safe key, held for hours: the prefixes wrap around i128.
    let mut windows = Windows::new(60);
    let group = windows.group_index(60);
    let key = (windows.safe_key / 2) as i128;
    for hour in 0..100 {
        windows.push(hour * 60 * MINUTE, key);
    }
    let average = exact_average(&mut windows, group, key).expect("full window");
    assert!(
        average.up(0) && average.down(0),
        "the average equals the constant price"
    );
    assert!(!average.up(1) && !average.down(1));
}

#[test]
fn a_window_overlapping_an_oversized_price_never_fires_until_it_slides_past() {
    let (mut windows, group) = windows_with_group(5);
    let huge = (windows.safe_key + 1) as i128;
    windows.push(0, 100 * KEY_ONE);
    windows.push(MINUTE, huge);
    windows.push(2 * MINUTE, 100 * KEY_ONE);
    windows.push(6 * MINUTE, 100 * KEY_ONE);
    assert!(exact_average(&mut windows, group, 100 * KEY_ONE).is_none());
    windows.push(7 * MINUTE, 100 * KEY_ONE);
    assert!(exact_average(&mut windows, group, 100 * KEY_ONE).is_some());
}

#[test]
fn a_group_created_late_reads_the_history_already_kept() {
    let mut windows = Windows::new(60);
    windows.push(0, 100 * KEY_ONE);
    windows.push(10 * MINUTE, 100 * KEY_ONE);
    let group = windows.group_index(5);
    assert!(exact_average(&mut windows, group, 100 * KEY_ONE).is_some());
}

#[test]
fn positive_integers_convert_to_f64_within_two_units_of_the_last_place() {
    for value in [
        1i128,
        7,
        (1 << 53) + 1,
        i64::MAX as i128,
        1 << 63,
        (1 << 64) + 4097,
    ]
    .into_iter()
    .chain((0..120).map(|shift| (1i128 << shift) + 12_345_678_901 * shift as i128 + 1))
    .chain([i128::MAX, i128::MAX / 3])
    {
        let exact = value as f64; // the generic conversion, correctly rounded
        let fast = positive_to_f64(value);
        assert!(
            (fast - exact).abs() <= 2.0 * f64::EPSILON * exact,
            "{value}: {fast} vs {exact}"
        );
    }
}

/// The largest integral at which `fires` (monotone: true up to some integral, false
/// beyond) still holds, by bisection over `1..=2^120`; `None` if it never holds.
fn last_firing_integral(fires: impl Fn(i128) -> bool) -> Option<i128> {
    let (mut low, mut high) = (1i128, 1i128 << 120);
    if !fires(low) {
        return None;
    }
    while low < high {
        let middle = low + (high - low + 1) / 2;
        if fires(middle) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    Some(low)
}

proptest::proptest! {
    /// The `f64` screen never hides a fire: at the exact boundary of the decision (the
    /// last integral at which an up move fires, the first at which a down move fires) it
    /// lets the tick through, for prices from 10⁻⁸ to 10⁹ and every window length.
    #[test]
    fn the_screen_lets_every_exact_fire_through(
        price_key in 10_000_000_000i128..1_000_000_000_000_000_000_000_000_000,
        window_minutes in proptest::sample::select(vec![1i64, 5, 60, 1440]),
        percent_key in 1i128..150 * KEY_ONE,
    ) {
        let mut windows = Windows::new(1440);
        let index = windows.group_index(window_minutes);
        let group = &mut windows.groups[index];
        group.insert(MoveDirection::Up, percent_key, 1);
        let window = group.window;
        let up = |integral| {
            Average::new(integral, window, price_key).is_some_and(|a| a.up(percent_key))
        };
        if let Some(boundary) = last_firing_integral(up) {
            proptest::prop_assert!(group.may_fire(positive_to_f64(price_key), boundary));
        }
        group.remove(MoveDirection::Up, percent_key, 1);
        group.insert(MoveDirection::Down, percent_key, 2);
        let below = |integral| {
            !Average::new(integral, window, price_key).is_some_and(|a| a.down(percent_key))
        };
        // Down fires from some integral on: the first integral beyond the last quiet one.
        if let Some(quiet) = last_firing_integral(below) {
            if quiet < (1 << 120) {
                proptest::prop_assert!(group.may_fire(positive_to_f64(price_key), quiet + 1));
            }
        }
        group.remove(MoveDirection::Down, percent_key, 2);
        proptest::prop_assert!(!group.may_fire(positive_to_f64(price_key), 1 << 100));
    }
}
