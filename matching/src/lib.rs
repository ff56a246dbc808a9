//! The matching engine: pure, in memory, no I/O.
//!
//! Given the alerts (via [`Engine::upsert`] / [`Engine::remove`]) and a tick, it returns the
//! alerts that fire, in O(log n + k) for n alerts on the symbol and k fires (see [`book`]).
//! It mirrors what the fire transaction writes (cooldown, once, version + 1; the end of a
//! re-arm wait bumps the version too) so the next tick is decided on the state storage will
//! have. Time is whatever the caller passes: the tick's `received_at`, so a replay decides the
//! same way.

mod book;
mod build;
mod checkpoint;
pub mod explain;
mod key;
mod keyset;
pub mod rearm;
pub mod reference;
mod slots;
mod spec;
mod window;

use std::collections::HashMap;

use domain::{AlertId, Price, Symbol};

use book::{Book, LastPrice, Timer, TimerKind, Waiting};
use build::exotic_holds;
pub use key::{exact_key, floor_ceil_keys, KEY_ONE};
use rearm::{wait_after_fire, RearmGate};
use slots::{Kind, Slot, State};
pub use spec::{micros, Fire, IndexedAlert, Micros, Rearmed, Rule};

/// Index of a symbol inside an engine.
pub type SymbolId = u32;

#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Price history kept per symbol for `percent_move`; longer windows never fill.
    pub history_minutes: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            history_minutes: 24 * 60,
        }
    }
}

/// What [`Engine::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Applied,
    /// The engine already has a newer version of this alert.
    Stale,
}

#[derive(Debug, Default)]
pub struct Engine {
    config: EngineConfig,
    symbol_ids: HashMap<Symbol, SymbolId>,
    symbols: Vec<Symbol>,
    books: Vec<Book>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: HashMap<AlertId, u32>,
    /// Rules of alerts whose thresholds are off the key grid.
    exotic_rules: HashMap<u32, Rule>,
    /// Rule and re-arm percent of alerts with hysteresis.
    rearm_rules: HashMap<u32, (Rule, Price)>,
    /// Alerts whose re-arm gate the last tick opened (their stored wait is to be cleared).
    rearmed: Vec<Rearmed>,
    expired: usize,
    fired: Vec<u32>,
    /// While a batch is open: each symbol it evaluated, with its last price before the batch
    /// (see [`checkpoint`]).
    checkpoint: Option<Vec<(SymbolId, Option<LastPrice>)>>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            ..Engine::default()
        }
    }

    /// The id of `symbol`, registering it on first sight.
    pub fn symbol_id(&mut self, symbol: &Symbol) -> SymbolId {
        if let Some(&id) = self.symbol_ids.get(symbol) {
            return id;
        }
        let id = self.symbols.len() as SymbolId;
        self.symbols.push(symbol.clone());
        self.books.push(Book::new(self.config.history_minutes));
        self.symbol_ids.insert(symbol.clone(), id);
        id
    }

    /// Alerts the engine holds that can still fire (armed, cooling down, or inert).
    pub fn active_alerts(&self) -> usize {
        self.by_id.len() - self.expired
    }

    /// The version the engine holds of an alert.
    pub fn version(&self, id: AlertId) -> Option<i64> {
        self.by_id
            .get(&id)
            .map(|&index| self.slots[index as usize].version)
    }

    /// Alerts whose re-arm gate the last [`Engine::evaluate`] opened.
    pub fn rearmed(&self) -> &[Rearmed] {
        &self.rearmed
    }

    /// The last price seen for `symbol`: the previous price of its next tick.
    pub fn last_price(&self, symbol: SymbolId) -> Option<Price> {
        self.books
            .get(symbol as usize)
            .and_then(|book| book.last.map(|last| last.price))
    }

    /// Sets the last price of a symbol, e.g. from storage at start (so `crosses` survives
    /// restarts).
    pub fn restore_last_price(&mut self, symbol: &Symbol, price: Price) {
        let id = self.symbol_id(symbol);
        let (floor, ceil) = floor_ceil_keys(price);
        let book = &mut self.books[id as usize];
        book.last = Some(LastPrice { price, floor, ceil });
        book.refile(&self.slots);
    }

    /// Adds or replaces an alert, unless the engine already holds a newer version.
    pub fn upsert(&mut self, spec: &IndexedAlert) -> Upsert {
        let index = match self.by_id.get(&spec.id) {
            Some(&index) => {
                if self.slots[index as usize].version > spec.version {
                    return Upsert::Stale;
                }
                self.release(index);
                index
            }
            None => {
                let index = self.allocate();
                self.by_id.insert(spec.id, index);
                index
            }
        };
        let symbol = self.symbol_id(&spec.symbol);
        let mut slot = self.build_slot(spec, symbol);
        slot.generation = self.slots[index as usize].generation.wrapping_add(1);
        if slot.exotic {
            self.exotic_rules.insert(index, spec.rule);
        }
        if let Some(percent) = spec.rearm_percent {
            slot.rearm = true;
            self.rearm_rules.insert(index, (spec.rule, percent));
            slot.rearm_wait = spec.rearm_wait;
        }
        let book = &mut self.books[symbol as usize];
        if let (Some(wait), Some(percent)) = (slot.rearm_wait, spec.rearm_percent) {
            book.rearm_waiting.push(Waiting {
                slot: index,
                generation: slot.generation,
                gate: RearmGate::new(&spec.rule, percent, wait),
            });
        }
        if slot.kind == Kind::Percent && slot.state != State::Inert {
            book.join_window(slot.window_minutes);
        }
        if let Some(expires_at) = spec.expires_at {
            book.schedule(Timer {
                at: expires_at,
                slot: index,
                generation: slot.generation,
                kind: TimerKind::Expire,
            });
        }
        if slot.state != State::Inert {
            // Cooldown and snooze both end in a timer; the later one counts.
            let cooled = spec
                .last_triggered_at
                .map(|last| last.saturating_add(slot.cooldown));
            match cooled.max(spec.snoozed_until) {
                Some(at) => {
                    slot.state = State::Cooling;
                    book.schedule(Timer {
                        at,
                        slot: index,
                        generation: slot.generation,
                        kind: TimerKind::Rearm,
                    });
                }
                None if slot.rearm_wait.is_some() => slot.state = State::AwaitingRearm,
                None => {
                    slot.state = State::Armed;
                    book.arm(index, &slot);
                }
            }
        }
        self.slots[index as usize] = slot;
        Upsert::Applied
    }

    /// Replaces an alert whatever version the engine holds: for state read back from storage,
    /// which is authoritative.
    pub fn replace(&mut self, spec: &IndexedAlert) {
        self.remove(spec.id);
        self.upsert(spec);
    }

    /// Forgets an alert unless the engine holds a newer version (a late "paused" change must
    /// not undo a newer activation).
    pub fn remove_unless_newer(&mut self, id: AlertId, version: i64) -> bool {
        if self.version(id).is_some_and(|held| held > version) {
            return false;
        }
        self.remove(id)
    }

    /// Forgets an alert (deleted, paused, or its owner gone). Returns whether it was known.
    pub fn remove(&mut self, id: AlertId) -> bool {
        let Some(index) = self.by_id.remove(&id) else {
            return false;
        };
        self.release(index);
        self.free_slot(index);
        true
    }

    /// Evaluates one tick of `symbol` at `price`, received at `at`, appending what fires to
    /// `fires`. The price becomes the symbol's last price.
    pub fn evaluate(&mut self, symbol: SymbolId, price: Price, at: Micros, fires: &mut Vec<Fire>) {
        self.rearmed.clear();
        let Some(book) = self.books.get_mut(symbol as usize) else {
            return;
        };
        if let Some(marks) = self
            .checkpoint
            .as_mut()
            .filter(|_| !book.windows.is_marked())
        {
            book.windows.mark();
            marks.push((symbol, book.last));
        }
        let (floor, ceil) = floor_ceil_keys(price);
        while let Some(timer) = book.due_timer(at) {
            let slot = &mut self.slots[timer.slot as usize];
            if slot.generation != timer.generation {
                continue;
            }
            match (timer.kind, slot.state) {
                (TimerKind::Rearm, State::Cooling) if slot.rearm_wait.is_some() => {
                    slot.state = State::AwaitingRearm;
                }
                (TimerKind::Rearm, State::Cooling) => {
                    slot.state = State::Armed;
                    book.arm(timer.slot, slot);
                }
                (
                    TimerKind::Expire,
                    State::Armed | State::Cooling | State::Inert | State::AwaitingRearm,
                ) => {
                    if slot.state == State::Armed {
                        book.disarm(timer.slot, slot);
                    }
                    slot.state = State::Expired;
                    self.expired += 1;
                }
                _ => {}
            }
        }
        book.windows.push(at, floor);
        let mut fired = std::mem::take(&mut self.fired);
        fired.clear();
        book.match_tick(floor, ceil, &self.slots, &mut fired);
        book.match_percent(floor, &mut fired);
        if !book.exotic.is_empty() {
            let last = book.last.map(|l| l.price);
            let rules = &self.exotic_rules;
            book.exotic.retain(|index| {
                let holds = rules
                    .get(index)
                    .is_some_and(|rule| exotic_holds(rule, price, last));
                if holds {
                    fired.push(*index);
                }
                !holds
            });
        }
        let previous = book.last.map(|l| l.price);
        book.last = Some(LastPrice { price, floor, ceil });
        for &index in &fired {
            self.fire(index, at, price, previous, fires);
        }
        self.fired = fired;
        // After the fires: the tick that re-arms an alert never fires it.
        self.books[symbol as usize].open_rearm_gates(&mut self.slots, price, &mut self.rearmed);
    }

    /// Records a fire decided on slot `index` (already out of the index).
    fn fire(
        &mut self,
        index: u32,
        at: Micros,
        price: Price,
        previous: Option<Price>,
        fires: &mut Vec<Fire>,
    ) {
        let slot = &mut self.slots[index as usize];
        let rearm = self.rearm_rules.get(&index).map(|(rule, percent)| {
            let wait = wait_after_fire(rule, price, previous);
            (wait, RearmGate::new(rule, *percent, wait))
        });
        fires.push(Fire {
            alert_id: slot.id,
            version: slot.version,
            condition: slot.kind.condition(),
            rearm_wait: rearm.map(|(wait, _)| wait),
        });
        if let Some((wait, gate)) = rearm {
            slot.rearm_wait = Some(wait);
            self.books[slot.symbol as usize]
                .rearm_waiting
                .push(Waiting {
                    slot: index,
                    generation: slot.generation,
                    gate,
                });
        }
        slot.version += 1;
        slot.state = State::Cooling;
        let (id, once) = (slot.id, slot.once);
        let timer = Timer {
            at: at.saturating_add(slot.cooldown),
            slot: index,
            generation: slot.generation,
            kind: TimerKind::Rearm,
        };
        let symbol = slot.symbol as usize;
        if once {
            self.by_id.remove(&id);
            self.release(index);
            self.free_slot(index);
        } else {
            self.books[symbol].schedule(timer);
        }
    }

    fn allocate(&mut self) -> u32 {
        match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot::FREE);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Takes slot `index` out of every structure except `by_id` and the slab itself.
    fn release(&mut self, index: u32) {
        let slot = self.slots[index as usize];
        let book = &mut self.books[slot.symbol as usize];
        match slot.state {
            State::Armed => book.disarm(index, &slot),
            State::Expired => self.expired -= 1,
            _ => {}
        }
        if slot.kind == Kind::Percent && !matches!(slot.state, State::Inert | State::Free) {
            book.leave_window(slot.window_minutes);
        }
        if slot.exotic {
            self.exotic_rules.remove(&index);
        }
        if slot.rearm {
            self.rearm_rules.remove(&index);
        }
        self.slots[index as usize].state = State::Free;
    }

    fn free_slot(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        let generation = slot.generation.wrapping_add(1);
        *slot = Slot {
            generation,
            ..Slot::FREE
        };
        self.free.push(index);
    }
}
