-- Operators (src/server/service/admin.rs): who may help other people, what they did, and
-- the account states they can set.

-- When `gatehouse admin grant` made the account an operator; null: not an operator.
alter table users add column operator_since bigint;
-- When an operator disabled the account; null: enabled. A disabled account cannot sign in
-- or refresh, and its sessions ended when it was disabled.
alter table users add column disabled_at bigint;
-- When an operator removed the second factor of a person who lost it. Until a new password
-- is set, a right password gets a reset link mailed instead of a session.
alter table users add column password_reset_required_at bigint;

-- Finding accounts by the start of their address (the unique index on email serves it) or
-- of their name, any case.
create index users_by_name on users (lower(display_name));

-- The operators' audit log: every operator action, who did it, to whom. Emails are copied
-- so the log still reads after an address changes or an account is deleted.
create table operator_actions (
    id text primary key,
    operator_id text not null,
    operator_email text not null,
    target_id text not null,
    target_email text not null,
    -- `sign_out`, `sign_out_all`, `disable`, `enable`, `send_reset`, `remove_second_factor`.
    action text not null,
    -- What the action was about beyond its kind (the session signed out).
    detail text,
    created_at bigint not null
);
create index operator_actions_by_time on operator_actions (created_at, id);
create index operator_actions_by_target on operator_actions (target_id, created_at);
