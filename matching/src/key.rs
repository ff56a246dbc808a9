//! Prices as fixed-point integer keys, so the hot path compares `i128`s instead of decimals.
//!
//! A key is the price times 10^18. Thresholds are indexed only when their key is exact (at most
//! 18 decimals, magnitude below ~4·10^19); the others go to an exact decimal side list. A tick's
//! price need not be on the grid: for a grid threshold `t` and any price `p`,
//! `t ≤ p ⟺ key(t) ≤ floor_key(p)` and `t ≥ p ⟺ key(t) ≥ ceil_key(p)`, so every comparison
//! the semantics need stays exact.

use domain::Price;
use rust_decimal::Decimal;

/// Digits after the decimal point a key keeps.
pub const KEY_SCALE: u32 = 18;
/// 10^KEY_SCALE.
pub const KEY_ONE: i128 = 1_000_000_000_000_000_000;
/// Largest magnitude of an exact key; prices beyond saturate just outside the grid.
pub const KEY_LIMIT: i128 = i128::MAX / 4;

const POWERS_OF_TEN: [i128; 29] = {
    let mut table = [1i128; 29];
    let mut i = 1;
    while i < 29 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// The exact key of `price`, or `None` when it is off the grid.
pub fn exact_key(price: Price) -> Option<i128> {
    let (floor, ceil) = floor_ceil_keys(price);
    (floor == ceil && floor.abs() <= KEY_LIMIT).then_some(floor)
}

/// `(floor_key, ceil_key)` of `price`: equal when the price is on the grid.
pub fn floor_ceil_keys(price: Price) -> (i128, i128) {
    let decimal: Decimal = price.as_decimal();
    let mantissa = decimal.mantissa();
    let scale = decimal.scale();
    if scale <= KEY_SCALE {
        let factor = POWERS_OF_TEN[(KEY_SCALE - scale) as usize];
        let key = match mantissa.checked_mul(factor) {
            Some(key) if key.abs() <= KEY_LIMIT => key,
            _ => saturated(mantissa),
        };
        (key, key)
    } else {
        let divisor = POWERS_OF_TEN[(scale - KEY_SCALE) as usize];
        let floor = mantissa.div_euclid(divisor);
        let ceil = if mantissa.rem_euclid(divisor) == 0 {
            floor
        } else {
            floor + 1
        };
        (floor, ceil)
    }
}

fn saturated(mantissa: i128) -> i128 {
    if mantissa < 0 {
        -KEY_LIMIT - 1
    } else {
        KEY_LIMIT + 1
    }
}

/// `a × b` of two non-negative `i128`s as a 256-bit `(high, low)` pair, for exact comparisons of
/// products that do not fit 128 bits.
pub fn wide_product(a: i128, b: i128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a, b) = (a.unsigned_abs(), b.unsigned_abs());
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let middle = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let low = (p00 & MASK) | (middle << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64);
    (high, low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        text.parse().expect("price")
    }

    #[test]
    fn grid_prices_have_one_exact_key() {
        assert_eq!(exact_key(price("100")), Some(100 * KEY_ONE));
        assert_eq!(exact_key(price("0.00001234")), Some(12_340_000_000_000));
        assert_eq!(
            exact_key(price("67187.3358936566")),
            Some(67_187_335_893_656_600_000_000)
        );
        assert_eq!(exact_key(price("-2.5")), Some(-5 * KEY_ONE / 2));
    }

    #[test]
    fn off_grid_prices_sit_between_two_keys() {
        let p = price("0.0000000000000000015");
        assert_eq!(exact_key(p), None);
        assert_eq!(floor_ceil_keys(p), (1, 2));
        let n = price("-0.0000000000000000015");
        assert_eq!(floor_ceil_keys(n), (-2, -1));
    }

    #[test]
    fn huge_prices_saturate_beyond_every_grid_key() {
        let p = price("79228162514264337593543950335");
        assert_eq!(exact_key(p), None);
        assert_eq!(floor_ceil_keys(p), (KEY_LIMIT + 1, KEY_LIMIT + 1));
    }

    #[test]
    fn wide_products_match_checked_products_when_they_fit() {
        for (a, b) in [(0i128, 5i128), (3, 7), (u64::MAX as i128, u64::MAX as i128)] {
            assert_eq!(wide_product(a, b), (0, a as u128 * b as u128));
        }
        assert_eq!(wide_product(1 << 100, 1 << 100), (1 << 72, 0));
    }
}
