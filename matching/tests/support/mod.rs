//! The engine and the reference scan driven side by side, for the table-driven tests.
#![allow(dead_code)]

use domain::{Price, Symbol, TriggerPolicy};
use matching::reference::ReferenceScan;
use matching::{Engine, EngineConfig, Fire, IndexedAlert, Micros, Rule};

pub const MINUTE: Micros = 60_000_000;
pub const T0: Micros = 1_800_000_000_000_000;

pub fn p(text: &str) -> Price {
    text.parse().expect("price")
}

pub fn btc() -> Symbol {
    "BTC".parse().expect("symbol")
}

pub fn spec(id: i64, rule: Rule) -> IndexedAlert {
    IndexedAlert {
        id,
        symbol: btc(),
        rule,
        cooldown_minutes: 60,
        trigger: TriggerPolicy::Repeat,
        expires_at: None,
        last_triggered_at: None,
        rearm_percent: None,
        rearm_wait: None,
        snoozed_until: None,
        version: 1,
    }
}

/// The indexed engine and the reference scan, driven together; every tick must agree.
pub struct Both {
    pub engine: Engine,
    pub reference: ReferenceScan,
}

impl Both {
    pub fn new() -> Both {
        Both {
            engine: Engine::new(EngineConfig::default()),
            reference: ReferenceScan::new(EngineConfig::default()),
        }
    }

    pub fn with(alert: IndexedAlert) -> Both {
        let mut both = Both::new();
        both.upsert(&alert);
        both
    }

    pub fn upsert(&mut self, alert: &IndexedAlert) {
        self.engine.upsert(alert);
        self.reference.upsert(alert);
    }

    pub fn remove(&mut self, id: i64) {
        self.engine.remove(id);
        self.reference.remove(id);
    }

    pub fn previous(&mut self, price: &str) {
        self.engine.restore_last_price(&btc(), p(price));
        self.reference.restore_last_price(&btc(), p(price));
    }

    /// The fires of a BTC tick at `price` received at `at` (engine and reference agreeing).
    pub fn fires(&mut self, price: &str, at: Micros) -> Vec<Fire> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let symbol = self.engine.symbol_id(&btc());
        self.engine.evaluate(symbol, p(price), at, &mut a);
        let symbol = self.reference.symbol_id(&btc());
        self.reference.evaluate(symbol, p(price), at, &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b, "engine and reference disagree at {price} @ {at}");
        a
    }

    /// Ids fired by a BTC tick at `price` received at `at`.
    pub fn tick(&mut self, price: &str, at: Micros) -> Vec<i64> {
        self.fires(price, at)
            .iter()
            .map(|f: &Fire| f.alert_id)
            .collect()
    }
}
