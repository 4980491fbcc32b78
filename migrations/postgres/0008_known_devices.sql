-- Devices that signed in to an account before (OWASP's "device cookies"; see
-- src/server/known_devices.rs): failed sign-ins from elsewhere never slow them down.
-- One row per device token and account it signed in to. Failed checks of every secret
-- (sign-in, current password …) are counted in sign_in_failures, by subject:
-- `<check>:<who>:…` (src/server/throttle.rs).
create table known_devices (
    token_hash   bytea not null,         -- sha-256 of the device token; the token itself is never stored
    user_id      text not null references users (id) on delete cascade,
    created_at   bigint not null,
    last_used_at bigint not null,        -- last sign-in with it; forgotten 180 days later
    primary key (token_hash, user_id)
);
create index known_devices_user_id_idx on known_devices (user_id);
create index known_devices_last_used_idx on known_devices (last_used_at);
