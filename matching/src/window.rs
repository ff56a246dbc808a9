//! Time-weighted averages over sliding windows, for `percent_move` alerts.
//!
//! A symbol keeps one history of points `(time, price key, prefix)`, trimmed to the engine's
//! horizon, where `prefix` is the integral of the price (key × µs) from the first point ever up
//! to this one, kept in wrapping (mod 2¹²⁸) arithmetic. The integral over any span is then a
//! difference of two prefixes, exact whenever the true value fits in `i128` however far the
//! prefixes wrapped. So a tick costs one multiplication for the history, plus, for each window
//! length that has armed alerts, a cursor step and one multiplication: nothing is kept per
//! window but that cursor. A segment whose key is too large for the guarantee (prices above
//! ~2·10⁹ with day-long horizons) is remembered, and a window overlapping it never fires.
//!
//! The decisive comparison is on exact integers:
//! `up: 100·p·W ≥ I·(100 + X)`, `down: 100·p·W ≤ I·(100 − X)` where `I/W` is the average.
//! It costs 256-bit products, so each group first screens the tick in `f64`: the ratio
//! `p·W / I` against its smallest armed percent of each direction, with a margin a million
//! times the rounding error. Only a ratio inside the margin, or beyond a threshold, goes on to
//! the exact comparison, which alone decides.

use domain::MoveDirection;

use super::key::{wide_product, KEY_ONE};
use super::keyset::KeySet;
use super::spec::Micros;

const MICROS_PER_MINUTE: i64 = 60_000_000;
/// Cursor steps per window and tick taken without branches (see [`Windows::integral`]).
const BRANCHLESS_STEPS: usize = 2;
/// Pushes between two trims of a history (see [`Windows::push`]).
const TRIM_EVERY: u64 = 8;

#[derive(Debug, Clone, Copy)]
struct Point {
    at: Micros,
    key: i128,
    /// Wrapping integral of every earlier segment.
    prefix: i128,
}

/// The price history of one symbol and the window groups over it.
#[derive(Debug)]
pub struct Windows {
    /// The history is `points[head..]`; older entries are dropped in bulk (see [`Windows::push`]).
    points: Vec<Point>,
    head: usize,
    /// Sequence number of `points[head]`.
    base: u64,
    horizon: Micros,
    /// Largest |key| whose integral over the horizon fits in `i128`.
    safe_key: u128,
    /// End of the newest segment whose key exceeded `safe_key`: windows starting before it
    /// are not exact.
    unsafe_until: Micros,
    pub groups: Vec<Group>,
    /// The history as it was before the ticks of an uncommitted batch (see [`Windows::mark`]).
    mark: Option<Mark>,
}

/// Enough to take a history back to an earlier moment: while a mark is held nothing is
/// drained from `points`, so truncating them and restoring the cursor is exact.
#[derive(Debug, Clone, Copy)]
struct Mark {
    len: usize,
    head: usize,
    base: u64,
    unsafe_until: Micros,
}

/// The alerts of one symbol sharing a window length, keyed by percent.
#[derive(Debug)]
pub struct Group {
    pub window_minutes: i64,
    window: Micros,
    window_f64: f64,
    screen: Screen,
    /// Sequence number of the point in force at the window's start when last evaluated. It
    /// only moves forward, and only for groups with armed alerts: the others cost nothing.
    start: u64,
    /// Alerts (armed or cooling) that use this group; it is dropped at zero.
    pub members: u32,
    pub up: KeySet,
    pub down: KeySet,
    pub either: KeySet,
}

/// The ratios `price / average` at which the smallest armed percent of each direction fires:
/// up at or above `1 + X/100`, down at or below `1 − X/100`; ±∞ for an empty direction.
#[derive(Debug, Clone, Copy)]
struct Screen {
    up: f64,
    down: f64,
    either_up: f64,
    either_down: f64,
}

impl Screen {
    /// Relative margin kept around every threshold. `f64` ratios here are off by a few units
    /// of 2⁻⁵³ (~10⁻¹⁶); anything within 10⁻⁹ is left to the exact comparison.
    const MARGIN: f64 = 1e-9;

    const NEVER: Screen = Screen {
        up: f64::INFINITY,
        down: f64::NEG_INFINITY,
        either_up: f64::INFINITY,
        either_down: f64::NEG_INFINITY,
    };

    /// No alert armed in any direction.
    fn is_never(&self) -> bool {
        self.up.min(self.either_up) == f64::INFINITY
            && self.down.max(self.either_down) == f64::NEG_INFINITY
    }

    /// `false` only when no armed alert of the group can fire at this ratio.
    fn may_fire(&self, ratio: f64) -> bool {
        let margin = Self::MARGIN * ratio.max(1.0);
        let (high, low) = (ratio + margin, ratio - margin);
        high >= self.up.min(self.either_up) || low <= self.down.max(self.either_down)
    }
}

/// The percent of a percent key, as a ratio offset: `key / 10^18 / 100`.
fn percent_fraction(percent_key: i128) -> f64 {
    percent_key as f64 / (100.0 * KEY_ONE as f64)
}

/// A positive `i128` as `f64` within a few units of 2⁻⁵³, without the generic (slow)
/// 128-bit conversion.
#[inline]
pub fn positive_to_f64(value: i128) -> f64 {
    debug_assert!(value > 0);
    if let Ok(small) = i64::try_from(value) {
        return small as f64;
    }
    // value ≥ 2⁶³: dropping the low 11 bits costs at most 2⁻⁵² relative, and both halves
    // convert as signed 64-bit integers (one instruction each).
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    let high = (value >> 64) as i64 as f64;
    let low = ((value as u64) >> 11) as i64 as f64;
    high * TWO_POW_64 + low * 2048.0
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
    pub fn new(integral: i128, window: Micros, key: i128) -> Option<Average> {
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
    /// An empty history kept for `horizon_minutes` (the longest window that can fill).
    pub fn new(horizon_minutes: i64) -> Windows {
        let horizon = horizon_minutes.clamp(1, i64::MAX / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
        Windows {
            points: Vec::new(),
            head: 0,
            base: 0,
            horizon,
            safe_key: i128::MAX as u128 / horizon as u128,
            unsafe_until: Micros::MIN,
            groups: Vec::new(),
            mark: None,
        }
    }

    /// Whether a mark is held.
    pub fn is_marked(&self) -> bool {
        self.mark.is_some()
    }

    /// Remembers the history as it is now, so [`Windows::rollback`] can forget every tick
    /// pushed after it (a batch whose record storage refused is decided again tick by tick:
    /// the same ticks pushed twice would count twice in the averages).
    pub fn mark(&mut self) {
        self.mark = Some(Mark {
            len: self.points.len(),
            head: self.head,
            base: self.base,
            unsafe_until: self.unsafe_until,
        });
    }

    /// Keeps what was pushed since the mark.
    pub fn unmark(&mut self) {
        self.mark = None;
    }

    /// Takes the history back to the mark. Group cursors go back to the oldest point kept:
    /// they only ever move forward, and a cursor past the true start would skip history.
    pub fn rollback(&mut self) {
        let Some(mark) = self.mark.take() else {
            return;
        };
        self.points.truncate(mark.len);
        self.head = mark.head;
        self.base = mark.base;
        self.unsafe_until = mark.unsafe_until;
        for group in &mut self.groups {
            group.start = group.start.min(self.base);
        }
    }

    /// Records a tick. Time never runs backwards inside a history: an older tick counts as now.
    pub fn push(&mut self, at: Micros, key: i128) {
        let point = match self.points.last() {
            Some(last) => {
                let at = at.max(last.at);
                if last.key.unsigned_abs() > self.safe_key {
                    self.unsafe_until = at;
                }
                let segment = last.key.wrapping_mul(i128::from(at - last.at));
                Point {
                    at,
                    key,
                    prefix: last.prefix.wrapping_add(segment),
                }
            }
            None => Point { at, key, prefix: 0 },
        };
        self.points.push(point);
        // Points older than the horizon go once the next one is old too. Checked every
        // `TRIM_EVERY` pushes: a pop per push is a branch whose outcome varies tick by tick,
        // while a few points more of history change nothing.
        if !(self.points.len() as u64).is_multiple_of(TRIM_EVERY) {
            return;
        }
        let oldest_needed = point.at.saturating_sub(self.horizon);
        while self.points.len() - self.head >= 2 && self.points[self.head + 1].at <= oldest_needed {
            self.head += 1;
            self.base += 1;
        }
        // Dropped entries are removed once they are the larger part: amortised O(1). Not while
        // a mark is held: a rollback may need them back.
        if self.head * 2 >= self.points.len() && self.mark.is_none() {
            self.points.drain(..self.head);
            self.head = 0;
        }
    }

    /// The integral of group `index` over the window ending at the newest point; `None` while
    /// the window does not yet hold `window_minutes` of data, when it is not exact, or when it
    /// is not positive (percent moves are defined on positive averages only).
    #[inline]
    pub fn integral(&mut self, index: usize) -> Option<i128> {
        let points = &self.points[self.head..];
        let newest = points.last()?;
        let group = &mut self.groups[index];
        let cutoff = newest.at.checked_sub(group.window)?;
        if self.unsafe_until > cutoff {
            return None;
        }
        // The point in force at `cutoff`: the last one at or before it. Between two ticks of a
        // symbol the cursor moves a step or two, a count no branch predictor can guess, so
        // those steps are taken without branches; the loop only runs after long gaps.
        let last = points.len() - 1;
        let mut offset = (group.start.saturating_sub(self.base) as usize).min(last);
        for _ in 0..BRANCHLESS_STEPS {
            let next = (offset + 1).min(last);
            offset += usize::from((points[next].at <= cutoff) & (next > offset));
        }
        while offset < last && points[offset + 1].at <= cutoff {
            offset += 1;
        }
        group.start = self.base + offset as u64;
        let first = &points[offset];
        if first.at > cutoff || first.key.unsigned_abs() > self.safe_key {
            return None;
        }
        let clipped = first.key.wrapping_mul(i128::from(cutoff - first.at));
        let integral = newest
            .prefix
            .wrapping_sub(first.prefix)
            .wrapping_sub(clipped);
        (integral > 0).then_some(integral)
    }

    /// The group of `window_minutes`, created if new (it reads the history kept so far).
    pub fn group_index(&mut self, window_minutes: i64) -> usize {
        if let Some(index) = self.find_group(window_minutes) {
            return index;
        }
        let window = window_minutes.saturating_mul(MICROS_PER_MINUTE);
        self.groups.push(Group {
            window_minutes,
            window,
            window_f64: window as f64,
            screen: Screen::NEVER,
            start: self.base,
            members: 0,
            up: KeySet::default(),
            down: KeySet::default(),
            either: KeySet::default(),
        });
        self.groups.len() - 1
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
}

impl Group {
    pub fn insert(&mut self, direction: MoveDirection, percent_key: i128, index: u32) {
        self.set_mut(direction).insert(percent_key, index);
        self.refresh_screen();
    }

    pub fn remove(&mut self, direction: MoveDirection, percent_key: i128, index: u32) -> bool {
        let removed = self.set_mut(direction).remove(percent_key, index);
        self.refresh_screen();
        removed
    }

    fn set_mut(&mut self, direction: MoveDirection) -> &mut KeySet {
        match direction {
            MoveDirection::Up => &mut self.up,
            MoveDirection::Down => &mut self.down,
            MoveDirection::Either => &mut self.either,
        }
    }

    pub fn window(&self) -> Micros {
        self.window
    }

    /// Whether any alert of the group is armed (read from the screen: one cache line).
    pub fn has_armed(&self) -> bool {
        !self.screen.is_never()
    }

    /// Whether the `f64` screen lets a tick at `key` with window integral `integral` through
    /// to the exact comparison (both positive).
    #[inline]
    pub fn may_fire(&self, key: f64, integral: i128) -> bool {
        self.screen
            .may_fire(key * self.window_f64 / positive_to_f64(integral))
    }

    /// Recomputes the screen from the smallest percent of each direction; after every change
    /// of the sets.
    pub fn refresh_screen(&mut self) {
        let up = |set: &KeySet| {
            set.min()
                .map_or(f64::INFINITY, |x| 1.0 + percent_fraction(x))
        };
        let down = |set: &KeySet| {
            set.min()
                .map_or(f64::NEG_INFINITY, |x| 1.0 - percent_fraction(x))
        };
        self.screen = Screen {
            up: up(&self.up),
            down: down(&self.down),
            either_up: up(&self.either),
            either_down: down(&self.either),
        };
    }
}

#[cfg(test)]
mod tests;
