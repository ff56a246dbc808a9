-- Which generation of access tokens a user's account accepts. Every token carries the
-- generation it was issued in (claim `gen`; tokens from before this column carry none and count
-- as 0); changing the password bumps the generation, so every session opened before the change
-- is refused from then on while the new one goes on.
alter table users add column token_generation integer not null default 0;
