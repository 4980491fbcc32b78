-- What happened to an account, in the person's own words on the dashboard.
create table security_events (
    id                text primary key,       -- uuid v7: sorts by time
    user_id           text not null references users (id) on delete cascade,
    kind              text not null,          -- signed_in, password_changed, session_revoked, refresh_token_reused
    session_id        text,                   -- the session the event is about
    actor_session_id  text,                   -- the session that caused it; null when the server did (reuse detection, expiry)
    reason            text,                   -- for session_revoked: signed_out, signed_out_elsewhere, password_changed, ...
    ip                text not null default '',
    user_agent        text not null default '',
    created_at        bigint not null
);
create index security_events_user_idx on security_events (user_id, created_at);
