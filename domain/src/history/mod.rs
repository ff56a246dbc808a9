//! Price history as pure arithmetic: raw points (at most the last price of each second), and
//! OHLCV candles aligned to UTC boundaries, merged in exact decimals.
//!
//! Times are whole seconds since the Unix epoch (UTC). A candle of resolution `r` starts at a
//! multiple of `r` seconds, so minutes, hours and days start on UTC boundaries (the epoch is
//! one, and a UTC day has exactly 86,400 seconds). The recorder keeps a candle equal to
//! [`candles_of`] over the raw points of its bucket; coarser candles equal the
//! [`rollup`] of finer ones, which is the same as candles of the same points.

mod interval;
pub mod pack;
mod stats;

pub use interval::{Interval, IntervalError, Resolution};
pub use stats::{stats_of, time_weighted_average, Stats};

use crate::Price;

/// One tick as the recorder receives it: a price and when it was quoted, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub at_micros: i64,
    pub price: Price,
}

impl Tick {
    /// The second the tick falls in (floor, also before 1970).
    pub fn second(&self) -> i64 {
        self.at_micros.div_euclid(1_000_000)
    }

    /// Whether this tick replaces `stored` as the price of their second: it is later, so the
    /// point is the last price of the second whatever order ticks arrive in. A redelivered
    /// tick (same time) changes nothing; of two different ticks quoted in the very same
    /// microsecond the first stored is kept.
    pub fn replaces(&self, stored_at_micros: i64) -> bool {
        self.at_micros > stored_at_micros
    }
}

/// A raw point: the last price of one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub second: i64,
    pub price: Price,
}

/// The last price of each second of `ticks` (in any order, repeats allowed), by second.
pub fn last_per_second(ticks: &[Tick]) -> Vec<Point> {
    let mut kept: std::collections::BTreeMap<i64, Tick> = std::collections::BTreeMap::new();
    for tick in ticks {
        match kept.get(&tick.second()) {
            Some(stored) if !tick.replaces(stored.at_micros) => {}
            _ => {
                kept.insert(tick.second(), *tick);
            }
        }
    }
    kept.into_iter()
        .map(|(second, tick)| Point {
            second,
            price: tick.price,
        })
        .collect()
}

/// An OHLC candle with its tick count (`ticks`: the raw points it was built from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Start of the bucket, in seconds.
    pub start: i64,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    /// Second of the first and of the last point, which decide `open` and `close` when
    /// candles are merged.
    pub first_second: i64,
    pub last_second: i64,
    pub ticks: i64,
}

impl Candle {
    /// The candle of one point, in the bucket `start`.
    pub fn of_point(start: i64, point: Point) -> Candle {
        Candle {
            start,
            open: point.price,
            high: point.price,
            low: point.price,
            close: point.price,
            first_second: point.second,
            last_second: point.second,
            ticks: 1,
        }
    }

    /// Folds `other` (of the same bucket, disjoint points) into this candle.
    pub fn merge(&mut self, other: &Candle) {
        if other.first_second < self.first_second {
            self.open = other.open;
            self.first_second = other.first_second;
        }
        if other.last_second > self.last_second {
            self.close = other.close;
            self.last_second = other.last_second;
        }
        self.high = self.high.max(other.high);
        self.low = self.low.min(other.low);
        self.ticks += other.ticks;
    }

    /// Whether the bucket is over at `now` (seconds): no later point can fall in it.
    pub fn closed_at(&self, seconds: i64, now: i64) -> bool {
        self.start + seconds <= now
    }

    /// The path a replay walks through a candle of `seconds`, with a time for each step:
    /// open (at the start) → the extreme nearer the open → the farther one → close (in the
    /// bucket's last second). A step equal to the one before it is left out.
    pub fn path(&self, seconds: i64) -> Vec<(i64, Price)> {
        let (first, second) = if self.high.as_decimal() - self.open.as_decimal()
            <= self.open.as_decimal() - self.low.as_decimal()
        {
            (self.high, self.low)
        } else {
            (self.low, self.high)
        };
        let steps = [
            (self.start, self.open),
            (self.start + seconds / 3, first),
            (self.start + 2 * seconds / 3, second),
            (self.start + seconds - 1, self.close),
        ];
        let mut path: Vec<(i64, Price)> = Vec::with_capacity(4);
        for step in steps {
            if path.last().is_none_or(|last| last.1 != step.1) {
                path.push(step);
            }
        }
        path
    }
}

/// Candles of `bucket_seconds` over `points` (in any order; one per second), oldest first.
pub fn candles_of(points: &[Point], bucket_seconds: i64) -> Vec<Candle> {
    let mut by_bucket: std::collections::BTreeMap<i64, Candle> = std::collections::BTreeMap::new();
    for point in points {
        let start = bucket_start(point.second, bucket_seconds);
        let single = Candle::of_point(start, *point);
        by_bucket
            .entry(start)
            .and_modify(|c| c.merge(&single))
            .or_insert(single);
    }
    by_bucket.into_values().collect()
}

/// Finer candles merged into buckets of `bucket_seconds` (a multiple of theirs), oldest first.
pub fn rollup(candles: &[Candle], bucket_seconds: i64) -> Vec<Candle> {
    let mut by_bucket: std::collections::BTreeMap<i64, Candle> = std::collections::BTreeMap::new();
    for candle in candles {
        let start = bucket_start(candle.start, bucket_seconds);
        let moved = Candle { start, ..*candle };
        by_bucket
            .entry(start)
            .and_modify(|c| c.merge(&moved))
            .or_insert(moved);
    }
    by_bucket.into_values().collect()
}

/// The start of the bucket of `bucket_seconds` that `second` falls in (UTC-aligned).
pub fn bucket_start(second: i64, bucket_seconds: i64) -> i64 {
    second.div_euclid(bucket_seconds) * bucket_seconds
}

#[cfg(test)]
mod tests;
