-- Closed UTC days of 1-minute candles, one row per series and day, the candles packed into
-- one value (domain::history::pack): a 30-day backtest reads 30 rows instead of 43,200. The
-- row candles stay the source of truth; a write into a packed day deletes its pack, and the
-- recorder packs the day again later. A rowid table: each row is ~100 KiB, far past what a
-- `without rowid` table stores well.
create table price_candle_days (
    symbol text not null,
    series text not null,
    day integer not null,
    candles blob not null,
    unique (symbol, series, day)
);
