-- Every alert field beyond API.md's lives in one JSON document (shared::domain::AlertOptions),
-- so a new option needs no migration. Existing alerts keep their values.
alter table alerts add column options jsonb not null default '{}';
update alerts set options = jsonb_build_object(
    'trigger', trigger_policy,
    'expires_at', expires_at,
    'direction', direction,
    'window_minutes', window_minutes
);
alter table alerts
    drop column trigger_policy,
    drop column expires_at,
    drop column direction,
    drop column window_minutes;
