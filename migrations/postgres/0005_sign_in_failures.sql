-- Failed sign-ins per account (`account:<email>`) and per client address (`address:<ip>`),
-- shared by every instance so that spreading guesses over instances gains nothing.
create table sign_in_failures (
    subject        text primary key,
    failures       bigint not null,
    last_failed_at bigint not null,
    blocked_until  bigint not null             -- no sign-in for this subject before then
);
create index sign_in_failures_last_failed_idx on sign_in_failures (last_failed_at);
