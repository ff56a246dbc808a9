-- Closed UTC days of 1-minute candles, one row per series and day, the candles packed into
-- one value (domain::history::pack): a 30-day backtest reads 30 rows instead of 43,200. The
-- row candles stay the source of truth; a write into a packed day deletes its pack, and the
-- recorder packs the day again later.
create table price_candle_days (
    symbol text not null,
    series text not null,
    day bigint not null,
    candles bytea not null,
    primary key (symbol, series, day)
);

-- Stored out of line without compression: packs of exact decimals hardly compress, and
-- decompressing megabytes on every long read would cost more than the bytes saved.
alter table price_candle_days alter column candles set storage external;
