-- A user's quiet hours (shared::domain::QuietHours): notifications due inside the daily window
-- are held and sent as one digest when it ends. Local wall-clock times in an IANA zone, kept as
-- the user gave them ("HH:MM"), so the window follows the zone's DST changes. Deleted with the
-- user.
create table user_quiet_hours (
    user_id integer primary key references users (id) on delete cascade,
    timezone text not null,
    start_time text not null,
    end_time text not null,
    created_at text not null,
    updated_at text not null
);
