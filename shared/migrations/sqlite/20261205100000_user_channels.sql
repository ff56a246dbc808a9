-- A user's chat channels (telegram, slack, discord, ntfy): one row per (user, kind), the
-- validated configuration as JSON (webhook URLs and tokens included: the notifier sends with
-- them; the API never shows them back). Deleted with the user.
create table user_channels (
    user_id integer not null references users (id) on delete cascade,
    kind text not null,
    config text not null,
    created_at text not null,
    updated_at text not null,
    primary key (user_id, kind)
);
