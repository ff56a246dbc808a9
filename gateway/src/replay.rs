//! A backtest's replay: one alert through the matching engine the evaluator runs, over
//! recorded prices: raw points as they are, candles walked open → nearer extreme → farther
//! extreme → close. Pure and synchronous (run on the blocking pool).

use matching::{Engine, EngineConfig, Fire, IndexedAlert};
use shared::domain::history::{Candle, Point};
use shared::domain::Price;

/// What a backtest replays.
pub enum Recorded {
    Points(Vec<Point>),
    /// Candles of `seconds`.
    Candles(Vec<Candle>, i64),
}

/// The steps a replay walks, `(second, price)`, oldest first.
pub fn steps(recorded: &Recorded) -> Vec<(i64, Price)> {
    match recorded {
        Recorded::Points(points) => points.iter().map(|p| (p.second, p.price)).collect(),
        Recorded::Candles(candles, seconds) => {
            candles.iter().flat_map(|c| c.path(*seconds)).collect()
        }
    }
}

/// Replays `alert` over the steps in `[from, to]` (seconds): each fire's time (µs) and price,
/// and how many steps were walked.
pub fn replay(
    alert: &IndexedAlert,
    steps: &[(i64, Price)],
    (from, to): (i64, i64),
) -> (Vec<(i64, Price)>, usize) {
    let mut engine = Engine::new(EngineConfig::default());
    engine.upsert(alert);
    let symbol = engine.symbol_id(&alert.symbol);
    let mut fires: Vec<Fire> = Vec::new();
    let mut fired = Vec::new();
    let mut walked = 0;
    for &(second, price) in steps.iter().filter(|(s, _)| (from..=to).contains(s)) {
        let at = second.saturating_mul(1_000_000);
        engine.evaluate(symbol, price, at, &mut fires);
        if !fires.is_empty() {
            fired.push((at, price));
            fires.clear();
        }
        walked += 1;
    }
    (fired, walked)
}
