-- The per-user, per-channel rate limit, shared by every notifier replica: one row per
-- (user, channel) holding the GCRA's theoretical arrival time in microseconds since the
-- epoch. A message is admitted by one conditional upsert that succeeds only while the budget
-- allows, so replicas cannot both spend the last slot.
create table delivery_budgets (
    user_id integer not null references users (id) on delete cascade,
    channel text not null,
    tat_us integer not null,
    primary key (user_id, channel)
);
