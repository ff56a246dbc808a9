-- Price history (issue 15); see the PostgreSQL migration. Prices are canonical decimal text.
-- Clustered on the primary key (without rowid): the key is the only index either table needs.
create table price_points (
    symbol text not null,
    series text not null,
    second integer not null,
    price text not null,
    tick_micros integer not null,
    backfilled boolean not null,
    primary key (symbol, series, second)
) without rowid;

create table price_candles (
    symbol text not null,
    series text not null,
    resolution text not null,
    bucket integer not null,
    open text not null,
    high text not null,
    low text not null,
    close text not null,
    first_second integer not null,
    last_second integer not null,
    ticks integer not null,
    primary key (symbol, series, resolution, bucket)
) without rowid;
