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

/// The engine a batch statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// Moves `symbols` last prices in one statement: per symbol `(symbol, price, received_at of its
/// last tick, received_at of its first tick, previous price of its first tick)`, then the write
/// time; returns one row (the symbol) per row moved. As the per-tick compare-and-set: a row
/// moves only over a tick older than the first one whose price is the first decision's
/// previous price (so fewer rows come back than `symbols` when any is refused).
///
/// Each stored row is matched to its batch row by a join on the key, not by a subquery per
/// conflicting row over the batch (a scan of the batch per row: comparisons grew with the
/// square of the batch and were ~15 % of the embedded evaluator's CPU at 1,000 symbols).
/// - PostgreSQL: the compare-and-set in an `update … from`, whose `where` PostgreSQL re-checks
///   on the row's latest version when another evaluator changed it meanwhile; new symbols are
///   inserted with `on conflict do nothing` (a row inserted meanwhile comes back as refused).
/// - SQLite (one writer at a time): the check in the `select` that feeds the upsert.
///   SQLite looks each numbered parameter's name up in a linear list, at prepare and at every
///   bind, so the parameters are `?` (bound in text order): with 5,000 `$n` that lookup was
///   30 % of the embedded evaluator's CPU (`sqlite3_bind_parameter_name`, `strncmp`).
pub fn batch_last_prices_sql(symbols: usize, dialect: Dialect) -> String {
    let parameter = |n: usize| match dialect {
        Dialect::Postgres => format!("${n}"),
        Dialect::Sqlite => "?".to_owned(),
    };
    let mut rows = String::new();
    for n in 0..symbols {
        let p = n * LAST_PRICE_COLUMNS;
        let separator = if n == 0 { "" } else { ", " };
        let _ = write!(
            rows,
            "{separator}({}, {}, {}, {}, {})",
            parameter(p + 1),
            parameter(p + 2),
            parameter(p + 3),
            parameter(p + 4),
            parameter(p + 5)
        );
    }
    let written = parameter(symbols * LAST_PRICE_COLUMNS + 1);
    let batch =
        format!("with batch (symbol, price, received_at, first_at, previous) as (values {rows})");
    match dialect {
        Dialect::Postgres => format!(
            "{batch}, moved as (update evaluator_last_prices s set price = b.price, \
             received_at = b.received_at, updated_at = {written} from batch b \
             where s.symbol = b.symbol and s.received_at < b.first_at and s.price = b.previous \
             returning s.symbol), \
             inserted as (insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
             select b.symbol, b.price, b.received_at, {written} from batch b \
             where not exists (select 1 from evaluator_last_prices s where s.symbol = b.symbol) \
             on conflict (symbol) do nothing returning symbol) \
             select symbol from moved union all select symbol from inserted"
        ),
        Dialect::Sqlite => format!(
            "{batch} insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
             select b.symbol, b.price, b.received_at, {written} from batch b \
             left join evaluator_last_prices s on s.symbol = b.symbol \
             where s.symbol is null or (s.received_at < b.first_at and s.price = b.previous) \
             on conflict (symbol) do update set price = excluded.price, \
             received_at = excluded.received_at, updated_at = excluded.updated_at \
             returning symbol"
        ),
    }
}
