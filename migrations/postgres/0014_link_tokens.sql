-- Single-use tokens in links we mail (reset a password, and later: verify an address, …).
-- Only the SHA-256 of a token is stored.
create table link_tokens (
    token_hash bytea primary key,
    user_id text not null references users (id) on delete cascade,
    -- What the link does: 'password_reset', …
    purpose text not null,
    -- What must still hold when the link is used (a reset link: the fingerprint of the
    -- password hash it was made under, so any change of password kills it).
    bound_to text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

create index link_tokens_by_user on link_tokens (user_id, purpose, created_at);
