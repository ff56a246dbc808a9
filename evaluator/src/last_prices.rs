//! Each symbol's last price in a batch: its first and last tick there, and the statement
//! that moves every symbol's stored last price at once.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, SubsecRound, Utc};
use shared::domain::Symbol;
use shared::events::PriceTick;

use crate::store::DecidedTick;

/// One symbol's ticks in a batch: its first and its last.
pub struct SymbolRun<'a> {
    pub first: DecidedTick<'a>,
    pub last: DecidedTick<'a>,
}

/// Each symbol's first and last tick, in order of first appearance; `None` unless every
/// symbol's ticks are strictly later one after the other (at storage precision), which writing
/// the last price once per symbol assumes (per tick, a tick not later than its predecessor
/// would be refused as already recorded).
pub fn symbol_runs<'a>(ticks: &[DecidedTick<'a>]) -> Option<Vec<SymbolRun<'a>>> {
    let mut runs: Vec<SymbolRun<'a>> = Vec::new();
    let mut index: HashMap<&Symbol, usize> = HashMap::new();
    for decided in ticks {
        let symbol = &decided.tick.symbol;
        match index.get(symbol) {
            Some(&run) => {
                let last = &mut runs[run].last;
                if storage_time(decided.tick) <= storage_time(last.tick) {
                    return None;
                }
                *last = *decided;
            }
            None => {
                index.insert(symbol, runs.len());
                runs.push(SymbolRun {
                    first: *decided,
                    last: *decided,
                });
            }
        }
    }
    Some(runs)
}

/// The tick's `received_at` as storage keeps it (microseconds).
pub fn storage_time(tick: &PriceTick) -> DateTime<Utc> {
    tick.received_at.trunc_subsecs(6)
}

/// The columns [`batch_last_prices_sql`] binds per symbol, in order.
pub const LAST_PRICE_COLUMNS: usize = 5;

/// Moves `symbols` last prices in one statement: per symbol `(symbol, price, received_at of its
/// last tick, received_at of its first tick, previous price of its first tick)`, then the write
/// time. As the per-tick compare-and-set: a row moves only over a tick older than the first
/// one whose price is the first decision's previous price (so the statement changes fewer rows
/// than `symbols` when any is refused).
pub fn batch_last_prices_sql(symbols: usize) -> String {
    let mut rows = String::new();
    for n in 0..symbols {
        let p = n * LAST_PRICE_COLUMNS;
        let separator = if n == 0 { "" } else { ", " };
        let _ = write!(
            rows,
            "{separator}(${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5
        );
    }
    let written = symbols * LAST_PRICE_COLUMNS + 1;
    format!(
        "with batch (symbol, price, received_at, first_at, previous) as (values {rows}) \
         insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
         select symbol, price, received_at, ${written} from batch where true \
         on conflict (symbol) do update set price = excluded.price, \
         received_at = excluded.received_at, updated_at = excluded.updated_at \
         where evaluator_last_prices.received_at < \
         (select b.first_at from batch b where b.symbol = excluded.symbol) \
         and evaluator_last_prices.price = \
         (select b.previous from batch b where b.symbol = excluded.symbol)"
    )
}
