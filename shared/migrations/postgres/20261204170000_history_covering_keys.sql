-- A history read walks one symbol's primary key in order, but the table's pages interleave
-- every symbol (the recorder appends all 55 each minute), so fetching each row from the table
-- touched one page per candle: a 30-day read of 43,200 one-minute candles visited ~33,000
-- pages (~300 ms). With every column carried in the key's index the read is an index-only
-- scan of contiguous leaf pages (~20 ms). The cost: a candle update changes indexed columns,
-- so it is no longer a HOT update (measured in docs/BENCHMARKS.md, "Recording").
-- SQLite needs none of this: its history tables are clustered on the key (without rowid).
alter table price_candles
    drop constraint price_candles_pkey,
    add primary key (symbol, series, resolution, bucket)
        include (open, high, low, close, first_second, last_second, ticks);

alter table price_points
    drop constraint price_points_pkey,
    add primary key (symbol, series, second) include (price);
