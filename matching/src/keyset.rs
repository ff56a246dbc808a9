//! An ordered set of `(key, slot)` that caches its smallest and largest key, so the common
//! "does anything fire?" question is one comparison with no tree access.

use std::collections::BTreeSet;

#[derive(Debug)]
pub struct KeySet {
    min: i128,
    max: i128,
    set: BTreeSet<(i128, u32)>,
}

impl Default for KeySet {
    fn default() -> Self {
        KeySet {
            min: i128::MAX,
            max: i128::MIN,
            set: BTreeSet::new(),
        }
    }
}

impl KeySet {
    pub fn insert(&mut self, key: i128, index: u32) {
        self.set.insert((key, index));
        self.min = self.min.min(key);
        self.max = self.max.max(key);
    }

    pub fn remove(&mut self, key: i128, index: u32) -> bool {
        let removed = self.set.remove(&(key, index));
        if removed && (key == self.min || key == self.max) {
            self.refresh();
        }
        removed
    }

    /// The smallest key, if any.
    pub fn min(&self) -> Option<i128> {
        (!self.set.is_empty()).then_some(self.min)
    }

    /// Empties the set, returning the slots it held.
    pub fn drain(&mut self) -> Vec<u32> {
        let set = std::mem::take(&mut self.set);
        self.refresh();
        set.into_iter().map(|(_, index)| index).collect()
    }

    /// Removes entries from the smallest key up while `holds(key)`, handing each to `take`.
    /// `holds` must be monotone: once false for a key, false for every larger key. Inlined
    /// down to the one comparison a tick that takes nothing makes.
    #[inline]
    pub fn pop_first_while(
        &mut self,
        holds: impl FnMut(i128) -> bool,
        take: impl FnMut(i128, u32),
    ) {
        let mut holds = holds;
        if !self.set.is_empty() && holds(self.min) {
            self.pop_first_while_cold(holds, take);
        }
    }

    /// Removes entries from the largest key down while `holds(key)` (monotone downwards).
    #[inline]
    pub fn pop_last_while(&mut self, holds: impl FnMut(i128) -> bool, take: impl FnMut(i128, u32)) {
        let mut holds = holds;
        if !self.set.is_empty() && holds(self.max) {
            self.pop_last_while_cold(holds, take);
        }
    }

    #[cold]
    fn pop_first_while_cold(
        &mut self,
        mut holds: impl FnMut(i128) -> bool,
        mut take: impl FnMut(i128, u32),
    ) {
        while let Some(&(key, index)) = self.set.first() {
            if !holds(key) {
                break;
            }
            self.set.pop_first();
            take(key, index);
        }
        self.refresh();
    }

    #[cold]
    fn pop_last_while_cold(
        &mut self,
        mut holds: impl FnMut(i128) -> bool,
        mut take: impl FnMut(i128, u32),
    ) {
        while let Some(&(key, index)) = self.set.last() {
            if !holds(key) {
                break;
            }
            self.set.pop_last();
            take(key, index);
        }
        self.refresh();
    }

    fn refresh(&mut self) {
        self.min = self.set.first().map_or(i128::MAX, |&(key, _)| key);
        self.max = self.set.last().map_or(i128::MIN, |&(key, _)| key);
    }
}
