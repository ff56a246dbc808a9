-- Price history (issue 15). Times are whole seconds since the Unix epoch, UTC; a candle's
-- `bucket` is the start of its minute, hour or day. `series` is the source label of the ticks
-- (`coingecko`, `yahoo`, `simulated`, …): a source's points never mix with another's.

-- The last price of each second per symbol and series; the tick's own time (microseconds)
-- decides which tick of a second is kept, so a redelivered or late tick changes nothing.
create table price_points (
    symbol text not null,
    series text not null,
    second bigint not null,
    price numeric not null,
    tick_micros bigint not null,
    backfilled boolean not null,
    primary key (symbol, series, second)
);

-- OHLC candles at 1m, 1h and 1d, each recomputed from the points (1m) or the finer candles
-- (1h, 1d) of its own bucket when one of them changes: incremental, never a full rollup.
create table price_candles (
    symbol text not null,
    series text not null,
    resolution text not null,
    bucket bigint not null,
    open numeric not null,
    high numeric not null,
    low numeric not null,
    close numeric not null,
    first_second bigint not null,
    last_second bigint not null,
    ticks bigint not null,
    primary key (symbol, series, resolution, bucket)
);
