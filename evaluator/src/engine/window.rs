//! Time-weighted averages over sliding windows, for `percent_move` alerts.
//!
//! A symbol keeps one history of `(time, price key)` points, trimmed to the engine's horizon.
//! A price holds from its point until the next one. Each distinct window length of the symbol's
//! alerts is a [`Group`] with a running integral (price key × µs), so a tick costs O(1)
//! amortised per group. The decisive comparison is done on exact integers:
//! `up: 100·p·W ≥ I·(100 + X)`, `down: 100·p·W ≤ I·(100 − X)` where `I/W` is the average.

use std::collections::VecDeque;

use shared::domain::MoveDirection;

use super::key::{wide_product, KEY_ONE};
use super::keyset::KeySet;
use super::spec::Micros;

const MICROS_PER_MINUTE: i64 = 60_000_000;

#[derive(Debug, Clone, Copy)]
struct Point {
    at: Micros,
    key: i128,
}

/// The price history of one symbol and the window groups over it.
#[derive(Debug, Default)]
pub struct Windows {
    points: VecDeque<Point>,
    /// Sequence number of `points[0]`.
    base: u64,
    pub groups: Vec<Group>,
}

/// The alerts of one symbol sharing a window length, keyed by percent.
#[derive(Debug)]
pub struct Group {
    pub window_minutes: i64,
    window: Micros,
    /// Sequence number of the first point the window still needs.
    start: u64,
    /// That point (`None` before the first tick), and when the point after it begins
    /// (`Micros::MAX` if none yet): cached so a tick rarely reads the history.
    first: Option<Point>,
    next_at: Micros,
    /// Integral from `start` to the newest point; `None` once it overflowed 128 bits
    /// (prices above ~2·10^9 with day-long windows), after which the group never fires.
    integral: Option<i128>,
    /// Alerts (armed or cooling) that use this group; it is dropped at zero.
    pub members: u32,
    pub up: KeySet,
    pub down: KeySet,
    pub either: KeySet,
}

/// The average of a full window (`integral / window`) compared with one price.
#[derive(Debug, Clone, Copy)]
pub struct Average {
    integral: i128,
    /// `100 · key · window · 10^18` of the price, computed once per tick and group.
    scaled_price: (u128, u128),
}

impl Average {
    /// `None` for a non-positive or oversized price (percent moves are defined on positive
    /// prices only).
    fn new(integral: i128, window: Micros, key: i128) -> Option<Average> {
        if key <= 0 {
            return None;
        }
        let hundred_key = key.checked_mul(100)?;
        Some(Average {
            integral,
            scaled_price: wide_product(hundred_key, i128::from(window) * KEY_ONE),
        })
    }

    /// Whether the price is at least `percent_key` % above the average.
    pub fn up(&self, percent_key: i128) -> bool {
        let factor = 100 * KEY_ONE + percent_key;
        self.scaled_price >= wide_product(self.integral, factor)
    }

    /// Whether the price is at least `percent_key` % below the average.
    pub fn down(&self, percent_key: i128) -> bool {
        let factor = 100 * KEY_ONE - percent_key;
        factor > 0 && self.scaled_price <= wide_product(self.integral, factor)
    }
}

impl Windows {
    /// Records a tick. Time never runs backwards inside a history: an older tick counts as now.
    pub fn push(&mut self, at: Micros, key: i128, horizon_minutes: i64) {
        let at = match self.points.back() {
            Some(last) => at.max(last.at),
            None => at,
        };
        if let Some(last) = self.points.back().copied() {
            let segment = last.key.checked_mul(i128::from(at - last.at));
            for group in &mut self.groups {
                group.integral = group
                    .integral
                    .zip(segment)
                    .and_then(|(sum, s)| sum.checked_add(s));
            }
        }
        self.points.push_back(Point { at, key });
        for index in 0..self.groups.len() {
            let group = &mut self.groups[index];
            if group.first.is_none() {
                group.first = Some(Point { at, key });
            } else if group.next_at == Micros::MAX {
                group.next_at = at;
            }
            self.advance(index, at);
        }
        let horizon = horizon_minutes.saturating_mul(MICROS_PER_MINUTE);
        while self.points.len() >= 2 && self.points[1].at <= at.saturating_sub(horizon) {
            self.points.pop_front();
            self.base += 1;
        }
    }

    fn point(&self, sequence: u64) -> Point {
        self.points[(sequence - self.base) as usize]
    }

    fn end(&self) -> u64 {
        self.base + self.points.len() as u64
    }

    /// Drops from group `index` the points its window no longer needs at time `now`: a point
    /// goes once the next one began at or before the window's start.
    fn advance(&mut self, index: usize, now: Micros) {
        let end = self.end();
        let cutoff = now.saturating_sub(self.groups[index].window);
        while self.groups[index].next_at <= cutoff {
            let next = self.groups[index].start + 1;
            let second = self.point(next);
            let after = if next + 1 < end {
                self.point(next + 1).at
            } else {
                Micros::MAX
            };
            let group = &mut self.groups[index];
            let Some(first) = group.first else {
                break;
            };
            let segment = first.key.checked_mul(i128::from(second.at - first.at));
            group.integral = group
                .integral
                .zip(segment)
                .and_then(|(sum, s)| sum.checked_sub(s));
            group.start = next;
            group.first = Some(second);
            group.next_at = after;
        }
    }

    /// The average of group `index` at `now` (the newest point's time) against price `key`,
    /// or `None` while the window does not yet hold `window_minutes` of data (or the average
    /// or the price is not positive).
    pub fn average(&self, index: usize, now: Micros, key: i128) -> Option<Average> {
        let group = &self.groups[index];
        let first = group.first?;
        let cutoff = now.checked_sub(group.window)?;
        if first.at > cutoff {
            return None;
        }
        let clipped = first.key.checked_mul(i128::from(cutoff - first.at))?;
        let integral = group.integral?.checked_sub(clipped)?;
        if integral <= 0 {
            return None;
        }
        Average::new(integral, group.window, key)
    }

    /// The group of `window_minutes`, created from the history kept so far if new.
    pub fn group_index(&mut self, window_minutes: i64) -> usize {
        if let Some(index) = self
            .groups
            .iter()
            .position(|g| g.window_minutes == window_minutes)
        {
            return index;
        }
        let mut integral = Some(0i128);
        for pair in self.points.iter().collect::<Vec<_>>().windows(2) {
            let segment = pair[0].key.checked_mul(i128::from(pair[1].at - pair[0].at));
            integral = integral
                .zip(segment)
                .and_then(|(sum, s)| sum.checked_add(s));
        }
        self.groups.push(Group {
            window_minutes,
            window: window_minutes.saturating_mul(MICROS_PER_MINUTE),
            start: self.base,
            first: self.points.front().copied(),
            next_at: self.points.get(1).map_or(Micros::MAX, |p| p.at),
            integral,
            members: 0,
            up: KeySet::default(),
            down: KeySet::default(),
            either: KeySet::default(),
        });
        let index = self.groups.len() - 1;
        if let Some(last) = self.points.back() {
            self.advance(index, last.at);
        }
        index
    }

    pub fn find_group(&self, window_minutes: i64) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.window_minutes == window_minutes)
    }

    /// Drops group `index` (no alert uses it any more).
    pub fn remove_group(&mut self, index: usize) {
        self.groups.swap_remove(index);
    }

    /// Time of the newest point.
    pub fn latest(&self) -> Option<Micros> {
        self.points.back().map(|p| p.at)
    }
}

impl Group {
    pub fn set_mut(&mut self, direction: MoveDirection) -> &mut KeySet {
        match direction {
            MoveDirection::Up => &mut self.up,
            MoveDirection::Down => &mut self.down,
            MoveDirection::Either => &mut self.either,
        }
    }

    pub fn has_armed(&self) -> bool {
        !(self.up.is_empty() && self.down.is_empty() && self.either.is_empty())
    }
}
