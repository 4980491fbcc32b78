-- People who can sign in. Times are unix seconds (UTC) throughout.
create table users (
    id            text primary key,           -- uuid v7
    email         text not null,              -- trimmed and lower-cased before it gets here
    display_name  text not null,
    password_hash text not null,              -- argon2id PHC string, never leaves the server
    created_at    bigint not null
);
create unique index users_email_key on users (email);
