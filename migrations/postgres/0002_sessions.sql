-- One row per sign-in on one device. The refresh token lives here only as a hash.
create table sessions (
    id                text primary key,       -- the `sid` claim of every access token of this session
    user_id           text not null references users (id) on delete cascade,
    refresh_hash      bytea not null,          -- sha-256 of the one live refresh token
    refresh_issued_at bigint not null,        -- when the live refresh token was minted; the idle timeout counts from here
    rotations         bigint not null default 0,
    created_at        bigint not null,        -- sign-in time
    last_used_at      bigint not null,
    expires_at        bigint not null,        -- absolute end, however active the session is
    revoked_at        bigint,                 -- null while the session is alive
    revoked_reason    text,                   -- signed_out, signed_out_elsewhere, password_changed, refresh_token_reused, ...
    user_agent        text not null default '',
    ip                text not null default '',
    name              text                    -- a name the person gave this device
);
create unique index sessions_refresh_hash_key on sessions (refresh_hash);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_revoked_at_idx on sessions (revoked_at);

-- Refresh tokens already rotated away: presenting one again is either a racing tab
-- (inside the grace window) or theft (outside it).
create table spent_refresh_tokens (
    token_hash bytea primary key,              -- sha-256 of the spent token
    session_id text not null references sessions (id) on delete cascade,
    spent_at   bigint not null
);
create index spent_refresh_tokens_session_idx on spent_refresh_tokens (session_id);
