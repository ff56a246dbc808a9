//! The index of one symbol: where each armed alert sits so that a tick only touches the alerts
//! it fires (plus O(log n) to find them).
//!
//! - `above`: armed thresholds; a tick at `p` fires every key ≤ floor(p): a prefix.
//! - `below`: every key ≥ ceil(p): a suffix.
//! - `crosses`: the keys in the span between the previous and the current price.
//! - ranges are kept by which side of the last price they lie: `range_above` by low bound
//!   (low > last), `range_below` by high bound (high < last); a tick pops the ones the price
//!   reached, fires those that contain it and re-files those it jumped over; freshly armed
//!   ranges that contained the last price wait in `range_pending` for the next tick.
//! - `percent_move` alerts sit in their window group, ordered by percent.
//! - alerts whose thresholds are off the key grid sit in `exotic`, checked exactly in decimals.
//! - alerts in cooldown are in no index at all; `timers` brings them back (or expires them).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use shared::domain::Price;

use super::slots::{Kind, Slot};
use super::spec::Micros;
use super::window::Windows;

#[derive(Debug, Clone, Copy)]
pub struct LastPrice {
    pub price: Price,
    pub floor: i128,
    pub ceil: i128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// The cooldown ends: arm the alert again.
    Rearm,
    /// `expires_at` is reached: the alert never fires again.
    Expire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    pub at: Micros,
    pub slot: u32,
    pub generation: u32,
    pub kind: TimerKind,
}

#[derive(Debug, Default)]
pub struct Book {
    pub last: Option<LastPrice>,
    pub above: BTreeSet<(i128, u32)>,
    pub below: BTreeSet<(i128, u32)>,
    pub crosses: BTreeSet<(i128, u32)>,
    pub range_above: BTreeSet<(i128, u32)>,
    pub range_below: BTreeSet<(i128, u32)>,
    pub range_pending: Vec<u32>,
    pub exotic: Vec<u32>,
    pub windows: Windows,
    pub timers: BinaryHeap<Reverse<Timer>>,
}

impl Book {
    /// Puts an armed alert where the next tick will find it.
    pub fn arm(&mut self, index: u32, slot: &Slot) {
        if slot.exotic {
            self.exotic.push(index);
            return;
        }
        let entry = (slot.low, index);
        match slot.kind {
            Kind::Above => {
                self.above.insert(entry);
            }
            Kind::Below => {
                self.below.insert(entry);
            }
            Kind::Crosses => {
                self.crosses.insert(entry);
            }
            Kind::Range => match self.last {
                Some(last) if slot.low > last.floor => {
                    self.range_above.insert(entry);
                }
                Some(last) if slot.high < last.ceil => {
                    self.range_below.insert((slot.high, index));
                }
                _ => self.range_pending.push(index),
            },
            Kind::Percent => {
                if let Some(group) = self.windows.find_group(slot.window_minutes) {
                    self.windows.groups[group]
                        .set_mut(slot.direction)
                        .insert(entry);
                }
            }
        }
    }

    /// Takes an armed alert out of the index.
    pub fn disarm(&mut self, index: u32, slot: &Slot) {
        if slot.exotic {
            self.exotic.retain(|&i| i != index);
            return;
        }
        let entry = (slot.low, index);
        match slot.kind {
            Kind::Above => {
                self.above.remove(&entry);
            }
            Kind::Below => {
                self.below.remove(&entry);
            }
            Kind::Crosses => {
                self.crosses.remove(&entry);
            }
            Kind::Range => {
                if !self.range_above.remove(&entry) && !self.range_below.remove(&(slot.high, index))
                {
                    self.range_pending.retain(|&i| i != index);
                }
            }
            Kind::Percent => {
                if let Some(group) = self.windows.find_group(slot.window_minutes) {
                    self.windows.groups[group]
                        .set_mut(slot.direction)
                        .remove(&entry);
                }
            }
        }
    }

    /// Adds one user of the window group of a `percent_move` alert.
    pub fn join_window(&mut self, window_minutes: i64) {
        let group = self.windows.group_index(window_minutes);
        self.windows.groups[group].members += 1;
    }

    /// Removes one user of a window group; the group goes with its last user.
    pub fn leave_window(&mut self, window_minutes: i64) {
        if let Some(group) = self.windows.find_group(window_minutes) {
            let members = &mut self.windows.groups[group].members;
            *members = members.saturating_sub(1);
            if *members == 0 {
                self.windows.remove_group(group);
            }
        }
    }

    /// Appends to `fired` every armed non-exotic alert whose condition holds at the price
    /// with keys `(floor, ceil)`, removing them from the index.
    pub fn match_tick(&mut self, floor: i128, ceil: i128, slots: &[Slot], fired: &mut Vec<u32>) {
        while let Some(&(key, index)) = self.above.first() {
            if key > floor {
                break;
            }
            self.above.pop_first();
            fired.push(index);
        }
        while let Some(&(key, index)) = self.below.last() {
            if key < ceil {
                break;
            }
            self.below.pop_last();
            fired.push(index);
        }
        if let Some(last) = self.last {
            // Up: last < t ≤ p  ⟺  key > floor(last) and key ≤ floor(p).
            // Down: last > t ≥ p  ⟺  key < ceil(last) and key ≥ ceil(p).
            let span = if floor > last.floor {
                Some((last.floor + 1, floor))
            } else if ceil < last.ceil {
                Some((ceil, last.ceil - 1))
            } else {
                None
            };
            if let Some((from, to)) = span {
                let start = fired.len();
                fired.extend(
                    self.crosses
                        .range((from, 0)..=(to, u32::MAX))
                        .map(|&(_, index)| index),
                );
                for &index in &fired[start..] {
                    self.crosses.remove(&(slots[index as usize].low, index));
                }
            }
        }
        self.match_ranges(floor, ceil, slots, fired);
    }

    fn match_ranges(&mut self, floor: i128, ceil: i128, slots: &[Slot], fired: &mut Vec<u32>) {
        let contains = |slot: &Slot| slot.low <= floor && slot.high >= ceil;
        for index in std::mem::take(&mut self.range_pending) {
            let slot = &slots[index as usize];
            if contains(slot) {
                fired.push(index);
            } else if slot.low > floor {
                self.range_above.insert((slot.low, index));
            } else {
                self.range_below.insert((slot.high, index));
            }
        }
        while let Some(&(low, index)) = self.range_above.first() {
            if low > floor {
                break;
            }
            self.range_above.pop_first();
            let slot = &slots[index as usize];
            if contains(slot) {
                fired.push(index);
            } else {
                self.range_below.insert((slot.high, index));
            }
        }
        while let Some(&(high, index)) = self.range_below.last() {
            if high < ceil {
                break;
            }
            self.range_below.pop_last();
            let slot = &slots[index as usize];
            if contains(slot) {
                fired.push(index);
            } else {
                self.range_above.insert((slot.low, index));
            }
        }
    }

    /// Appends the armed `percent_move` alerts whose move is large enough at price `key`.
    pub fn match_percent(&mut self, key: i128, fired: &mut Vec<u32>) {
        let Some(now) = self.windows.latest() else {
            return;
        };
        for group_index in 0..self.windows.groups.len() {
            if !self.windows.groups[group_index].has_armed() {
                continue;
            }
            let Some(average) = self.windows.average(group_index, now) else {
                continue;
            };
            let group = &mut self.windows.groups[group_index];
            pop_while(&mut group.up, fired, |percent| average.up(key, percent));
            pop_while(&mut group.down, fired, |percent| average.down(key, percent));
            pop_while(&mut group.either, fired, |percent| {
                average.up(key, percent) || average.down(key, percent)
            });
        }
    }
}

/// Pops from the smallest percent up while `holds` (which only gets harder as percent grows).
fn pop_while(set: &mut BTreeSet<(i128, u32)>, fired: &mut Vec<u32>, holds: impl Fn(i128) -> bool) {
    while let Some(&(percent, index)) = set.first() {
        if !holds(percent) {
            break;
        }
        set.pop_first();
        fired.push(index);
    }
}
