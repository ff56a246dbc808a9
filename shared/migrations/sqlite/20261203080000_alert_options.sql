-- Every alert field beyond API.md's lives in one JSON document (shared::domain::AlertOptions),
-- so a new option needs no migration. Existing alerts keep their values.
alter table alerts add column options text not null default '{}';
update alerts set options = json_object(
    'trigger', trigger_policy,
    'expires_at', expires_at,
    'direction', direction,
    'window_minutes', window_minutes
);
alter table alerts drop column trigger_policy;
alter table alerts drop column expires_at;
alter table alerts drop column direction;
alter table alerts drop column window_minutes;
