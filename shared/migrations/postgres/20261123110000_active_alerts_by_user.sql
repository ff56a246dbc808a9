-- The active-alert quota counts a user's active alerts on every create and activation.
create index alerts_active_by_user on alerts (user_id) where active;
