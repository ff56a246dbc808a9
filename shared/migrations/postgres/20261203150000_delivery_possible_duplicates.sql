-- A resend after an attempt whose outcome is unknown (the notifier was killed mid-send, or
-- the provider never answered after receiving the message) may deliver a second copy:
-- `in_doubt` is set by every claim and cleared once the outcome is known; a claim that finds
-- it set counts one possible duplicate, shown in the delivery history.
alter table deliveries add column in_doubt boolean not null default false;
alter table deliveries add column possible_duplicates bigint not null default 0;
