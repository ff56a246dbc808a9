//! Each symbol's last price in a batch: its first and last tick there, and the statement
//! that moves every symbol's stored last price at once.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
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

/// The engine a batch statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// PostgreSQL's batch statement: the batch is one `jsonb` parameter (`$1`, [`batch_json`]),
/// the write time `$2`, so the text never changes and is prepared once per connection (a
/// `values` list of 5,000 parameters was parsed and planned again for every batch, as its
/// length changed). Returns one row (the symbol) per row moved. The compare-and-set sits in
/// an `update … from`, whose `where` PostgreSQL re-checks on the row's latest version when
/// another evaluator changed it meanwhile; new symbols are inserted with `on conflict do
/// nothing` (a row inserted meanwhile comes back as refused).
pub const POSTGRES_BATCH_LAST_PRICES_SQL: &str = "with batch as (select * from \
    jsonb_to_recordset($1::jsonb) as b(symbol text, price numeric, received_at timestamptz, \
    first_at timestamptz, previous numeric)), \
    moved as (update evaluator_last_prices s set price = b.price, \
    received_at = b.received_at, updated_at = $2 from batch b \
    where s.symbol = b.symbol and s.received_at < b.first_at and s.price = b.previous \
    returning s.symbol), \
    inserted as (insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
    select b.symbol, b.price, b.received_at, $2 from batch b \
    where not exists (select 1 from evaluator_last_prices s where s.symbol = b.symbol) \
    on conflict (symbol) do nothing returning symbol) \
    select symbol from moved union all select symbol from inserted";

/// The batch of [`POSTGRES_BATCH_LAST_PRICES_SQL`]: per symbol its last tick's price and
/// time, its first tick's time and previous price (exact decimals as text).
pub fn batch_json(runs: &[SymbolRun<'_>]) -> String {
    let time = |tick: &PriceTick| storage_time(tick).to_rfc3339_opts(SecondsFormat::Micros, true);
    let rows: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            serde_json::json!({
                "symbol": run.last.tick.symbol.as_str(),
                "price": run.last.tick.price.to_string(),
                "received_at": time(run.last.tick),
                "first_at": time(run.first.tick),
                "previous": run.first.previous.map(|price| price.to_string()),
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// SQLite's batch statement for `symbols` symbols: per symbol `(symbol, price, received_at of
/// its last tick, received_at of its first tick, previous price of its first tick)`, then the
/// write time; returns one row (the symbol) per row moved. As the per-tick compare-and-set: a
/// row moves only over a tick older than the first one whose price is the first decision's
/// previous price (so fewer rows come back than `symbols` when any is refused).
///
/// Each stored row is matched to its batch row by a join on the key (SQLite has one writer at
/// a time), not by a subquery per conflicting row over the batch: that scanned the batch per
/// row, comparisons growing with the square of the batch (~15 % of the embedded evaluator's
/// CPU at 1,000 symbols). The parameters are `?`, bound in text order: SQLite looks each
/// numbered parameter's name up in a linear list at prepare and at every bind, and with 5,000
/// `$n` that was 30 % of the CPU (`sqlite3_bind_parameter_name`, `strncmp`).
pub fn sqlite_batch_last_prices_sql(symbols: usize) -> String {
    let row = "(?, ?, ?, ?, ?)";
    let rows = vec![row; symbols].join(", ");
    format!(
        "with batch (symbol, price, received_at, first_at, previous) as (values {rows}) \
         insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
         select b.symbol, b.price, b.received_at, ? from batch b \
         left join evaluator_last_prices s on s.symbol = b.symbol \
         where s.symbol is null or (s.received_at < b.first_at and s.price = b.previous) \
         on conflict (symbol) do update set price = excluded.price, \
         received_at = excluded.received_at, updated_at = excluded.updated_at \
         returning symbol"
    )
}
