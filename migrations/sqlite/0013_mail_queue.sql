-- Mail waiting to be sent, and what became of it. A message is written in the same
-- transaction as the event it tells of, and sent by a background worker with retries.
create table mail_queue (
    -- uuid v7; also the Message-ID's local part.
    id text primary key,
    recipient text not null,
    subject text not null,
    -- Emptied once sent: a link token must not outlive its delivery in the database.
    text_body text not null,
    html_body text not null,
    created_at bigint not null,
    attempts bigint not null default 0,
    -- When a worker may take it (again): now, after a backoff, or after another worker's
    -- claim lapsed.
    next_attempt_at bigint not null,
    sent_at bigint,
    last_error text
);

create index mail_queue_due on mail_queue (next_attempt_at) where sent_at is null;
