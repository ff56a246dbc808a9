//! 24-hour statistics of a symbol from its 1-minute candles: change, high, low, and
//! time-weighted averages, in exact decimals.
//!
//! Time weighting is at one-minute resolution: each candle's close holds from the start of
//! its minute until the next candle's start (or `now`), as the price a chart would show.

use rust_decimal::Decimal;

use super::Candle;
use crate::Price;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Percent from the price 24 hours ago to the latest, rounded to 4 decimals.
    pub change_24h_percent: Option<Price>,
    pub high_24h: Option<Price>,
    pub low_24h: Option<Price>,
    pub average_1h: Option<Price>,
    pub average_24h: Option<Price>,
}

/// Statistics at `now` (seconds) of 1-minute `candles` (oldest first; those before the
/// window give the price it starts at).
pub fn stats_of(candles: &[Candle], now: i64) -> Stats {
    let day_start = now - DAY;
    let in_day: Vec<&Candle> = candles
        .iter()
        .filter(|c| c.start + 60 > day_start && c.start <= now)
        .collect();
    let (Some(first), Some(last)) = (in_day.first(), in_day.last()) else {
        return Stats::default();
    };
    let then = price_at(candles, day_start).unwrap_or(first.open);
    let change = (then.is_positive()).then(|| {
        let change =
            (last.close.as_decimal() - then.as_decimal()) * Decimal::from(100) / then.as_decimal();
        Price::new(change.round_dp(4))
    });
    Stats {
        change_24h_percent: change,
        high_24h: in_day.iter().map(|c| c.high).max(),
        low_24h: in_day.iter().map(|c| c.low).min(),
        average_1h: time_weighted_average(candles, now - HOUR, now),
        average_24h: time_weighted_average(candles, day_start, now),
    }
}

/// The close in force at `at`: that of the last candle starting at or before it.
fn price_at(candles: &[Candle], at: i64) -> Option<Price> {
    candles
        .iter()
        .rev()
        .find(|c| c.start <= at)
        .map(|c| c.close)
}

/// The time-weighted average price over `[from, to)` of 1-minute `candles` (oldest first),
/// over the part of it that has a price; `None` when none of it has.
pub fn time_weighted_average(candles: &[Candle], from: i64, to: i64) -> Option<Price> {
    let mut sum = Decimal::ZERO;
    let mut covered: i64 = 0;
    for (i, candle) in candles.iter().enumerate() {
        let end = candles.get(i + 1).map_or(to, |next| next.start).min(to);
        let start = candle.start.max(from);
        if end > start {
            sum = sum.checked_add(
                candle
                    .close
                    .as_decimal()
                    .checked_mul(Decimal::from(end - start))?,
            )?;
            covered += end - start;
        }
    }
    (covered > 0).then(|| Price::new((sum / Decimal::from(covered)).round_dp(8)))
}
