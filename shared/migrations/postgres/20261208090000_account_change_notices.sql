-- Gateways cache accounts (the user behind a token) in memory. Every change a cached copy could
-- be wrong about -- the password and token generation, the active flag, the email, the phone,
-- the account's deletion -- notifies channel `pricealert_account_changes` with the user's id,
-- on commit and whichever process wrote it, so every replica listening drops its copy at once.
-- The quota's `active_alerts_bound`, written by every alert creation, does not notify.
create function notify_account_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('pricealert_account_changes', old.id::text);
    return null;
end;
$$;

create trigger account_changed
    after update of email, password_hash, phone, is_active, token_generation or delete on users
    for each row execute function notify_account_change();
