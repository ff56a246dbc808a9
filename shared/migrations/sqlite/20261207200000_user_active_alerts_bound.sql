-- An upper bound on the user's active alerts, so that the quota check of a create is one
-- conditional update of the user's row (which also serialises that user's creates) instead of
-- a count of their alerts. Creates and activations raise it by one under that row's lock;
-- deactivations and deletions leave it alone (it may only overstate), and the gateway recounts
-- it exactly, under the same lock, when it reaches the quota.
alter table users add column active_alerts_bound bigint not null default 0;
update users set active_alerts_bound =
    (select count(*) from alerts where alerts.user_id = users.id and alerts.active);
