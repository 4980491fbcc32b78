-- New-device sign-in alerts (src/server/service/new_device.rs).

-- When the account first signed in. The very first sign-in (right after registering) is
-- not mailed about; every later one from a device the account does not know is. Accounts
-- from before this migration count as having signed in already.
alter table users add column first_sign_in_at bigint;
update users set first_sign_in_at = created_at;

-- A device's identity for one account, kept while its token is renewed at every sign-in
-- (token_hash changes, device_id does not). Rows from before take their current hash.
alter table known_devices add column device_id text;
update known_devices set device_id = encode(token_hash, 'hex');

-- The device (known_devices.device_id) a session signed in from, written once it is
-- remembered; "This wasn't me" forgets that device for the account.
alter table sessions add column device_id text;

-- A sign-in from a device the account did not know, about which the owner was mailed.
alter table security_events add column new_device boolean not null default false;
