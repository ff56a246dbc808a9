//! The index of one symbol: where each armed alert sits so that a tick only touches the alerts
//! it fires (plus O(log n) to find them). Every set caches its extreme keys, so a tick that
//! fires nothing reads a few cached bounds and no tree at all.
//!
//! - `above`: armed thresholds; a tick at `p` fires every key ≤ floor(p): a prefix.
//! - `below`: every key ≥ ceil(p): a suffix.
//! - `crosses` are kept by which side of the last price they lie: `crosses_up` (t > last)
//!   fires its prefix up to the new price, `crosses_down` (t < last) its suffix down to it;
//!   targets equal to the last price (or armed before any price) wait in `crosses_unfiled`.
//! - ranges likewise: `range_above` by low bound (low > last), `range_below` by high bound
//!   (high < last); a tick pops the ones the price reached, fires those that contain it and
//!   re-files those it jumped over; freshly armed ranges that contained the last price wait in
//!   `range_pending` for the next tick.
//! - `percent_move` alerts sit in their window group, ordered by percent.
//! - alerts whose thresholds are off the key grid sit in `exotic`, checked exactly in decimals.
//! - alerts in cooldown are in no index at all; `timers` brings them back (or expires them).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use domain::Price;

use super::keyset::KeySet;
use super::rearm::RearmGate;
use super::slots::{Kind, Slot, State};
use super::spec::{Micros, Rearmed};
use super::window::{positive_to_f64, Average, Windows};

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

/// An alert waiting for the price to open its re-arm gate. Entries of rewritten slots are
/// dropped lazily (their generation no longer matches).
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    pub slot: u32,
    pub generation: u32,
    pub gate: RearmGate,
}

#[derive(Debug)]
pub struct Book {
    pub above: KeySet,
    pub below: KeySet,
    pub crosses_up: KeySet,
    pub crosses_down: KeySet,
    pub range_above: KeySet,
    pub range_below: KeySet,
    pub last: Option<LastPrice>,
    /// When the earliest timer is due (`Micros::MAX` when none).
    next_timer_at: Micros,
    pub crosses_unfiled: Vec<u32>,
    pub range_pending: Vec<u32>,
    pub exotic: Vec<u32>,
    /// Checked in decimals on every tick of the symbol: O(w) for w alerts waiting to re-arm,
    /// which only alerts with `rearm_percent` that fired recently are.
    pub rearm_waiting: Vec<Waiting>,
    pub windows: Windows,
    timers: BinaryHeap<Reverse<Timer>>,
}

impl Book {
    /// The book of a symbol whose price history is kept for `horizon_minutes`.
    pub fn new(horizon_minutes: i64) -> Book {
        Book {
            above: KeySet::default(),
            below: KeySet::default(),
            crosses_up: KeySet::default(),
            crosses_down: KeySet::default(),
            range_above: KeySet::default(),
            range_below: KeySet::default(),
            last: None,
            next_timer_at: Micros::MAX,
            crosses_unfiled: Vec::new(),
            range_pending: Vec::new(),
            exotic: Vec::new(),
            rearm_waiting: Vec::new(),
            windows: Windows::new(horizon_minutes),
            timers: BinaryHeap::new(),
        }
    }

    pub fn schedule(&mut self, timer: Timer) {
        self.next_timer_at = self.next_timer_at.min(timer.at);
        self.timers.push(Reverse(timer));
    }

    /// Removes and returns the next timer due at or before `now`.
    pub fn due_timer(&mut self, now: Micros) -> Option<Timer> {
        if self.next_timer_at > now {
            return None;
        }
        let Reverse(timer) = self.timers.pop()?;
        self.next_timer_at = self.timers.peek().map_or(Micros::MAX, |Reverse(t)| t.at);
        Some(timer)
    }

    /// Puts an armed alert where the next tick will find it.
    pub fn arm(&mut self, index: u32, slot: &Slot) {
        if slot.exotic {
            self.exotic.push(index);
            return;
        }
        match slot.kind {
            Kind::Above => self.above.insert(slot.low, index),
            Kind::Below => self.below.insert(slot.low, index),
            Kind::Crosses => match self.last {
                Some(last) if slot.low > last.floor => self.crosses_up.insert(slot.low, index),
                Some(last) if slot.low < last.ceil => self.crosses_down.insert(slot.low, index),
                _ => self.crosses_unfiled.push(index),
            },
            Kind::Range => match self.last {
                Some(last) if slot.low > last.floor => self.range_above.insert(slot.low, index),
                Some(last) if slot.high < last.ceil => self.range_below.insert(slot.high, index),
                _ => self.range_pending.push(index),
            },
            Kind::Percent => {
                if let Some(group) = self.windows.find_group(slot.window_minutes) {
                    self.windows.groups[group].insert(slot.direction, slot.low, index);
                }
            }
        }
    }

    /// Files again every alert whose place depends on the last price (after it was set
    /// from outside a tick).
    pub fn refile(&mut self, slots: &[Slot]) {
        let mut moved = self.crosses_up.drain();
        moved.extend(self.crosses_down.drain());
        moved.append(&mut self.crosses_unfiled);
        moved.extend(self.range_above.drain());
        moved.extend(self.range_below.drain());
        moved.append(&mut self.range_pending);
        for index in moved {
            self.arm(index, &slots[index as usize]);
        }
    }

    /// Takes an armed alert out of the index.
    pub fn disarm(&mut self, index: u32, slot: &Slot) {
        if slot.exotic {
            self.exotic.retain(|&i| i != index);
            return;
        }
        match slot.kind {
            Kind::Above => {
                self.above.remove(slot.low, index);
            }
            Kind::Below => {
                self.below.remove(slot.low, index);
            }
            Kind::Crosses => {
                if !self.crosses_up.remove(slot.low, index)
                    && !self.crosses_down.remove(slot.low, index)
                {
                    self.crosses_unfiled.retain(|&i| i != index);
                }
            }
            Kind::Range => {
                if !self.range_above.remove(slot.low, index)
                    && !self.range_below.remove(slot.high, index)
                {
                    self.range_pending.retain(|&i| i != index);
                }
            }
            Kind::Percent => {
                if let Some(group) = self.windows.find_group(slot.window_minutes) {
                    self.windows.groups[group].remove(slot.direction, slot.low, index);
                }
            }
        }
    }

    /// Re-arms the waiting alerts whose gate `price` opens (arming those already cooled down),
    /// appending their ids to `rearmed`.
    pub fn open_rearm_gates(
        &mut self,
        slots: &mut [Slot],
        price: Price,
        rearmed: &mut Vec<Rearmed>,
    ) {
        if self.rearm_waiting.is_empty() {
            return;
        }
        let mut waiting = std::mem::take(&mut self.rearm_waiting);
        waiting.retain(|entry| {
            let slot = &mut slots[entry.slot as usize];
            if slot.generation != entry.generation || slot.rearm_wait.is_none() {
                return false;
            }
            if !entry.gate.opens_at(price) {
                return true;
            }
            slot.rearm_wait = None;
            rearmed.push(Rearmed {
                alert_id: slot.id,
                version: slot.version,
            });
            slot.version += 1;
            if slot.state == State::AwaitingRearm {
                slot.state = State::Armed;
                self.arm(entry.slot, slot);
            }
            false
        });
        self.rearm_waiting = waiting;
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

    /// Appends to `fired` every armed non-exotic, non-percent alert whose condition holds at
    /// the price with keys `(floor, ceil)`, removing them from the index.
    pub fn match_tick(&mut self, floor: i128, ceil: i128, slots: &[Slot], fired: &mut Vec<u32>) {
        let mut fire = |_key, index| fired.push(index);
        self.above.pop_first_while(|key| key <= floor, &mut fire);
        self.below.pop_last_while(|key| key >= ceil, &mut fire);
        // Up: last < t ≤ p; down: last > t ≥ p. Both sets hold only targets strictly on
        // their side of the last price.
        self.crosses_up
            .pop_first_while(|key| key <= floor, &mut fire);
        self.crosses_down
            .pop_last_while(|key| key >= ceil, &mut fire);
        if !self.crosses_unfiled.is_empty() {
            self.file_crosses(floor, ceil, slots);
        }
        self.match_ranges(floor, ceil, slots, fired);
    }

    /// Files the crosses targets that were equal to the last price against the new one.
    fn file_crosses(&mut self, floor: i128, ceil: i128, slots: &[Slot]) {
        let (up, down) = (&mut self.crosses_up, &mut self.crosses_down);
        self.crosses_unfiled.retain(|&index| {
            let key = slots[index as usize].low;
            if key > floor {
                up.insert(key, index);
                false
            } else if key < ceil {
                down.insert(key, index);
                false
            } else {
                true
            }
        });
    }

    fn match_ranges(&mut self, floor: i128, ceil: i128, slots: &[Slot], fired: &mut Vec<u32>) {
        let contains = |slot: &Slot| slot.low <= floor && slot.high >= ceil;
        if !self.range_pending.is_empty() {
            for index in std::mem::take(&mut self.range_pending) {
                let slot = &slots[index as usize];
                if contains(slot) {
                    fired.push(index);
                } else if slot.low > floor {
                    self.range_above.insert(slot.low, index);
                } else {
                    self.range_below.insert(slot.high, index);
                }
            }
        }
        let (above, below) = (&mut self.range_above, &mut self.range_below);
        let mut jumped = Vec::new();
        above.pop_first_while(
            |low| low <= floor,
            |_, index| {
                let slot = &slots[index as usize];
                if contains(slot) {
                    fired.push(index);
                } else {
                    jumped.push(index);
                }
            },
        );
        below.pop_last_while(
            |high| high >= ceil,
            |_, index| {
                let slot = &slots[index as usize];
                if contains(slot) {
                    fired.push(index);
                } else {
                    above.insert(slot.low, index);
                }
            },
        );
        // Ranges the price jumped over upwards now lie below it.
        for index in jumped {
            below.insert(slots[index as usize].high, index);
        }
    }

    /// Appends the armed `percent_move` alerts whose move is large enough at price `key`.
    pub fn match_percent(&mut self, key: i128, fired: &mut Vec<u32>) {
        if self.windows.groups.is_empty() || key <= 0 {
            return;
        }
        let key_f64 = positive_to_f64(key);
        for group_index in 0..self.windows.groups.len() {
            if !self.windows.groups[group_index].has_armed() {
                continue;
            }
            let Some(integral) = self.windows.integral(group_index) else {
                continue;
            };
            let group = &mut self.windows.groups[group_index];
            if !group.may_fire(key_f64, integral) {
                continue;
            }
            let Some(average) = Average::new(integral, group.window(), key) else {
                continue;
            };
            let mut fire = |_percent, index| fired.push(index);
            group
                .up
                .pop_first_while(|percent| average.up(percent), &mut fire);
            group
                .down
                .pop_first_while(|percent| average.down(percent), &mut fire);
            group.either.pop_first_while(
                |percent| average.up(percent) || average.down(percent),
                &mut fire,
            );
            group.refresh_screen();
        }
    }
}
