create table users (
    id integer primary key autoincrement,
    email text not null,
    password_hash text not null,
    phone text,
    is_active boolean not null default true,
    created_at text not null,
    updated_at text not null
);
create unique index users_email_unique on users (lower(email));

create table alerts (
    id integer primary key autoincrement,
    user_id integer not null references users (id) on delete cascade,
    symbol text not null,
    condition text not null,
    -- exact decimals in canonical text form (see shared::domain::Price)
    target_price text not null,
    target_price_high text,
    notification_types text not null,
    cooldown_minutes integer not null,
    active boolean not null,
    trigger_policy text not null default 'repeat',
    direction text,
    window_minutes integer,
    expires_at text,
    triggered_count integer not null default 0,
    last_triggered_at text,
    version integer not null default 1,
    created_at text not null,
    updated_at text not null
);
create index alerts_by_user on alerts (user_id, id desc);
create index alerts_active_by_symbol on alerts (symbol) where active;

create table latest_prices (
    symbol text primary key,
    price text not null,
    currency text not null,
    source text not null,
    quoted_at text not null,
    updated_at text not null
);
