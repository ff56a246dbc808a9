-- Trigger events written in the same transaction as the alert update that fired them, then
-- published by the evaluator's relay; rows with no published_at are republished at start.
create table evaluator_outbox (
    id integer primary key autoincrement,
    event_id text not null unique,
    message_key text not null,
    payload text not null,
    created_at text not null,
    published_at text
);
create index evaluator_outbox_unpublished on evaluator_outbox (id) where published_at is null;

-- The last price the evaluator saw per symbol (the previous price of `crosses`).
create table evaluator_last_prices (
    symbol text primary key,
    -- exact decimal in canonical text form
    price text not null,
    received_at text not null,
    updated_at text not null
);
