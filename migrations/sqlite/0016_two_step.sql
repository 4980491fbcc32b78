-- Two-step verification: an authenticator app (TOTP), recovery codes, and the short step
-- between a right password and a session when a second factor is on.

create table totp_factors (
    user_id text primary key references users (id) on delete cascade,
    -- The shared secret, sealed (XChaCha20-Poly1305) under a key derived from the refresh
    -- secret, which never lives in the database: "v1.<key id>.<base64url nonce+ciphertext>".
    secret_sealed text not null,
    created_at bigint not null,
    -- Null while pending: set up, not yet confirmed with a code.
    confirmed_at bigint,
    -- The time step of the last code accepted: codes of that step or earlier are refused.
    last_step bigint not null default 0
);

-- Single-use codes for when the phone is gone. Only a hash of each is stored.
create table recovery_codes (
    code_hash blob primary key,
    user_id text not null references users (id) on delete cascade,
    created_at bigint not null,
    used_at bigint
);
create index recovery_codes_by_user on recovery_codes (user_id);

-- A right password waiting for its second factor. Holds no token of a session; the
-- browser keeps the challenge in an HttpOnly cookie, an API client in its memory.
create table sign_in_challenges (
    token_hash blob primary key,
    user_id text not null references users (id) on delete cascade,
    -- The fingerprint of the password hash it was made under: a password change kills it.
    bound_to text not null,
    created_at bigint not null,
    expires_at bigint not null,
    failures bigint not null default 0,
    used_at bigint
);

-- How a session signed in: "pwd", "pwd otp" or "pwd recovery_code" (the access tokens'
-- amr), and when the person last proved who they are in it.
alter table sessions add column amr text not null default 'pwd';
alter table sessions add column auth_time bigint;
