create table users (
    id bigserial primary key,
    email text not null,
    password_hash text not null,
    phone text,
    is_active boolean not null default true,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index users_email_unique on users (lower(email));

create table alerts (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    symbol text not null,
    condition text not null,
    target_price numeric not null,
    target_price_high numeric,
    notification_types text not null,
    cooldown_minutes bigint not null,
    active boolean not null,
    trigger_policy text not null default 'repeat',
    direction text,
    window_minutes bigint,
    expires_at timestamptz,
    triggered_count bigint not null default 0,
    last_triggered_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index alerts_by_user on alerts (user_id, id desc);
create index alerts_active_by_symbol on alerts (symbol) where active;

-- The latest quote per symbol, written by the ingestor, read by the API.
create table latest_prices (
    symbol text primary key,
    price numeric not null,
    currency text not null,
    source text not null,
    quoted_at timestamptz not null,
    updated_at timestamptz not null
);
