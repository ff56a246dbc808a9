-- Alert changes written in the same transaction as the alert write they announce (create,
-- patch, toggle, delete, account deletion), then published on `alert-changes` in id order by
-- the gateway's relay and deleted; rows left by a crash are published by the next relay.
create table alert_change_outbox (
    id bigserial primary key,
    message_key text not null,
    payload text not null,
    created_at timestamptz not null,
    -- Always null here (rows are deleted once published); the column keeps the relay's
    -- queries the same for every outbox.
    published_at timestamptz
);
