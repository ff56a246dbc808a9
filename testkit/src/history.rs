//! Price history as the ingestor's recorder leaves it, for the gateway's tests: raw points and
//! the 1m/1h/1d candles computed from them with the domain's candle arithmetic.

use shared::domain::history::{candles_of, Point, Resolution};
use shared::domain::Price;
use shared::on_pool;
use shared::storage::Database;

/// Stores `points` (second, price) of `symbol` in `series`: the candles of every resolution,
/// and the raw points themselves unless `with_points` is false (as after they were pruned).
pub async fn store_history(
    db: &Database,
    symbol: &str,
    series: &str,
    points: &[(i64, Price)],
    with_points: bool,
) {
    const POINT: &str = "insert into price_points \
        (symbol, series, second, price, tick_micros, backfilled) values ($1, $2, $3, $4, $5, false)";
    const CANDLE: &str = "insert into price_candles (symbol, series, resolution, bucket, open, \
        high, low, close, first_second, last_second, ticks) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let points: Vec<Point> = points
        .iter()
        .map(|&(second, price)| Point { second, price })
        .collect();
    on_pool!(db, pool => async {
        let mut tx = pool.begin().await?;
        if with_points {
            for point in &points {
                sqlx::query(POINT)
                    .bind(symbol)
                    .bind(series)
                    .bind(point.second)
                    .bind(point.price)
                    .bind(point.second * 1_000_000)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for resolution in Resolution::ALL {
            for c in candles_of(&points, resolution.seconds()) {
                sqlx::query(CANDLE)
                    .bind(symbol)
                    .bind(series)
                    .bind(resolution.as_str())
                    .bind(c.start)
                    .bind(c.open)
                    .bind(c.high)
                    .bind(c.low)
                    .bind(c.close)
                    .bind(c.first_second)
                    .bind(c.last_second)
                    .bind(c.ticks)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    }.await)
    .expect("store price history");
}
