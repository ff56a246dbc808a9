//! PostgreSQL's binary `numeric` read straight into a `Decimal`.
//!
//! sqlx's own decoding collects the base-10,000 digits into a `Vec` and then adds them up in
//! `Decimal` arithmetic, raising 10,000 to each digit's weight (a division for every digit
//! after the point): on a 30-day backtest, 172,800 prices, that was the largest single cost
//! of the read. Here the digits are accumulated in an integer and the value built once. Any
//! value this path does not cover exactly (NaN, infinities, more than 28 decimals, more than
//! 96 bits of mantissa) answers `None`, and the caller falls back to sqlx's decoding, so the
//! result is always sqlx's value.

use rust_decimal::Decimal;

/// `sign` values of the binary form (PostgreSQL's `numeric.c`).
const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;

/// The most decimals a `Decimal` holds.
const MAX_SCALE: u32 = 28;

/// The value of a binary `numeric`: a header of four big-endian 16-bit words (digit count,
/// weight of the first digit in powers of 10,000, sign, display scale), then the digits.
/// `None` when it is not a plain finite number that fits a `Decimal` exactly.
pub fn decode(bytes: &[u8]) -> Option<Decimal> {
    let pair = |at: usize| -> Option<[u8; 2]> {
        let pair = bytes.get(at..at + 2)?;
        Some([pair[0], pair[1]])
    };
    let count = usize::from(u16::from_be_bytes(pair(0)?));
    let weight = i32::from(i16::from_be_bytes(pair(2)?));
    let negative = match u16::from_be_bytes(pair(4)?) {
        POSITIVE => false,
        NEGATIVE => true,
        _ => return None,
    };
    let digits = bytes.get(8..)?;
    if digits.len() != 2 * count {
        return None;
    }
    if count == 0 {
        return Some(Decimal::ZERO);
    }
    let mut mantissa: u128 = 0;
    for pair in digits.chunks_exact(2) {
        let digit = u16::from_be_bytes([pair[0], pair[1]]);
        if digit > 9_999 {
            return None;
        }
        mantissa = mantissa
            .checked_mul(10_000)?
            .checked_add(u128::from(digit))?;
    }
    // The value is mantissa × 10,000^(weight − count + 1).
    let exponent = 4 * (weight - i32::try_from(count).ok()? + 1);
    let mut scale = 0u32;
    if exponent >= 0 {
        mantissa = mantissa.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?;
    } else {
        scale = exponent.unsigned_abs();
        // Digits come without trailing zero groups, but the last group may end in zeros.
        while scale > 0 && mantissa.is_multiple_of(10) {
            mantissa /= 10;
            scale -= 1;
        }
    }
    if scale > MAX_SCALE {
        return None;
    }
    let signed = i128::try_from(mantissa).ok()?;
    Decimal::try_from_i128_with_scale(if negative { -signed } else { signed }, scale).ok()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;
    use sqlx::postgres::PgArgumentBuffer;
    use sqlx::Encode;

    use super::*;

    /// The binary form sqlx sends for `value`: what PostgreSQL sends back for it.
    fn binary(value: Decimal) -> Vec<u8> {
        let mut buffer = PgArgumentBuffer::default();
        let _ = <Decimal as Encode<sqlx::Postgres>>::encode_by_ref(&value, &mut buffer)
            .expect("encodes");
        buffer.to_vec()
    }

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).expect("a decimal")
    }

    #[test]
    fn prices_of_every_shape_read_back_exactly() {
        for text in [
            "0",
            "1",
            "-1",
            "64123.45",
            "0.00000123",
            "-0.5",
            "10000",
            "100000000",
            "9999.9999",
            "0.0001",
            "123456789012345678.9012345678",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
        ] {
            let value = decimal(text);
            assert_eq!(decode(&binary(value)), Some(value.normalize()), "{text}");
        }
    }

    #[test]
    fn what_a_decimal_cannot_hold_is_left_to_the_fallback() {
        // NaN: no digits, sign 0xC000.
        assert_eq!(decode(&[0, 0, 0, 0, 0xC0, 0, 0, 0]), None);
        // 10,000^8 = 1e32: more than 96 bits.
        assert_eq!(decode(&[0, 1, 0, 8, 0, 0, 0, 0, 0, 1]), None);
        // 1e-32: more than 28 decimals.
        assert_eq!(decode(&[0, 1, 0xFF, 0xF8, 0, 0, 0, 32, 0, 1]), None);
        // A digit of 10,000 and a truncated digit list are not numerics.
        assert_eq!(decode(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]), None);
        assert_eq!(decode(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(decode(&[0, 0, 0]), None);
    }

    proptest! {
        #[test]
        fn any_decimal_reads_back_as_itself(mantissa in any::<i64>(), scale in 0u32..=28) {
            let value = Decimal::new(mantissa, scale);
            prop_assert_eq!(decode(&binary(value)), Some(value.normalize()));
        }

        #[test]
        fn wide_decimals_read_back_as_themselves(
            mantissa in -(1i128 << 95)..(1i128 << 95),
            scale in 0u32..=28,
        ) {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            prop_assert_eq!(decode(&binary(value)), Some(value.normalize()));
        }
    }
}
