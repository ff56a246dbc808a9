-- Re-arm hysteresis state (shared::domain::alert::RearmWait): set by the fire that starts the
-- wait, cleared by the tick that moves the price back beyond the re-arm level; null when the
-- alert is not waiting. Persisted, not derived, so a restarted evaluator and explain read it.
alter table alerts add column rearm_wait text;
