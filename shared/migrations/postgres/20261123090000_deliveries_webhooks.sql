-- One row per (trigger event, channel): the notifier's durable record of every delivery.
-- Inserted (if absent) before the bus message is committed, so a redelivered event never
-- sends twice and a restart resumes whatever is still pending or deferred.
create table deliveries (
    event_id text not null,
    channel text not null,
    alert_id bigint not null,
    user_id bigint not null references users (id) on delete cascade,
    -- pending | deferred | sent | failed | unknown
    status text not null,
    attempts bigint not null default 0,
    -- the provider's id (email Message-ID, Twilio SID) and status (SMTP code, Twilio status)
    provider_id text,
    provider_status text,
    last_error text,
    next_attempt_at timestamptz not null,
    -- set while a send is in flight; an expired claim means the sender was interrupted
    claimed_until timestamptz,
    -- rows settled together by one digest message share it
    digest_id text,
    -- the trigger event as received (JSON), so a restart can resend without the bus
    payload text not null,
    -- arrival order (ties in created_at are common)
    seq bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    sent_at timestamptz,
    primary key (event_id, channel)
);
create index deliveries_open on deliveries (next_attempt_at) where status in ('pending', 'deferred');
create index deliveries_by_alert on deliveries (user_id, alert_id, seq desc);
create index deliveries_by_seq on deliveries (seq);
create index deliveries_by_user_channel on deliveries (user_id, channel, seq) where status in ('pending', 'deferred');
create index deliveries_recent_sends on deliveries (sent_at) where status = 'sent';

create table user_webhooks (
    user_id bigint primary key references users (id) on delete cascade,
    url text not null,
    secret text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Twilio 21610: the recipient replied STOP; never text this number for this user again.
create table sms_opt_outs (
    user_id bigint not null references users (id) on delete cascade,
    phone text not null,
    created_at timestamptz not null,
    primary key (user_id, phone)
);
