-- Trigger events written in the same transaction as the alert update that fired them, then
-- published by the evaluator's relay; rows with no published_at are republished at start.
create table evaluator_outbox (
    id bigserial primary key,
    event_id text not null unique,
    message_key text not null,
    payload text not null,
    created_at timestamptz not null,
    published_at timestamptz
);
create index evaluator_outbox_unpublished on evaluator_outbox (id) where published_at is null;

-- The last price the evaluator saw per symbol (the previous price of `crosses`), owned by the
-- evaluator; the ingestor's latest_prices is what the API serves.
create table evaluator_last_prices (
    symbol text primary key,
    price numeric not null,
    received_at timestamptz not null,
    updated_at timestamptz not null
);
