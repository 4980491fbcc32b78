-- Passkeys (WebAuthn): the credentials people registered, and the ceremonies under way.

create table passkeys (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    -- The authenticator's credential id, base64url: unique across all accounts.
    credential_id text not null unique,
    name text not null,
    -- webauthn-rs's `Passkey` as JSON: the public key, the signature counter and the flags
    -- (backup eligible, user verified) it was registered with. Updated after each use.
    credential text not null,
    created_at bigint not null,
    last_used_at bigint
);
create index passkeys_by_user on passkeys (user_id);

-- A registration or sign-in begun and not finished: its state (challenge included) lives
-- here, not in one instance's memory, so any instance can finish it. Taken (deleted) by
-- the finish that uses it: a challenge works once. Short-lived; pruned when expired.
create table passkey_ceremonies (
    -- SHA-256 of the handle the client holds (`ceremony`).
    handle_hash bytea primary key,
    -- 'register' or 'sign_in'.
    purpose text not null,
    -- Registration: the account and session that began it; null for a sign-in.
    user_id text references users (id) on delete cascade,
    session_id text,
    -- webauthn-rs's serialised ceremony state (JSON).
    state text not null,
    created_at bigint not null,
    expires_at bigint not null
);
create index passkey_ceremonies_by_expiry on passkey_ceremonies (expires_at);
