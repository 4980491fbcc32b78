-- Ed25519 keys that sign access tokens. Shared by every instance through the database.
create table signing_keys (
    kid         text primary key,
    algorithm   text not null,                -- EdDSA
    private_key bytea not null,                -- PKCS#8 DER; never logged, never served
    public_key  text not null,                -- base64url raw public key, the JWK `x`
    created_at  bigint not null,
    retired_at  bigint                        -- no longer signs; still verifies until its tokens expire
);

-- Server-wide secrets other than signing keys.
create table server_secrets (
    name       text primary key,              -- refresh_successor: keys the HMAC that derives a rotated token's successor
    value      bytea not null,
    created_at bigint not null
);
