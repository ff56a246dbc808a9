-- The evaluator re-reads recently written alerts to repair changes lost on the bus.
create index alerts_by_updated_at on alerts (updated_at);
