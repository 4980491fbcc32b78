-- Bulk accounts and sessions for the benchmarks on PostgreSQL, in one transaction (the
-- SQLite twin is inline in scripts/bench.sh). Variables (psql -v): prefix, users, sessions,
-- now. Every account gets the bench password's real argon2id hash (copied from the account
-- registered through the API); every session a random 32-byte refresh hash.
begin;
insert into users (id, email, display_name, password_hash, created_at)
select format('%s-%s', :'prefix', lpad(i::text, 8, '0')),
       format('%s-%s@bench.example', :'prefix', lpad(i::text, 8, '0')),
       format('User %s', i),
       (select password_hash from users where email = 'me@bench.example'),
       :now
  from generate_series(1, :users) as i;
insert into sessions (id, user_id, refresh_hash, refresh_issued_at, created_at, last_used_at, expires_at, user_agent, ip)
select gen_random_uuid()::text,
       format('%s-%s', :'prefix', lpad((1 + i % :users)::text, 8, '0')),
       decode(md5(random()::text || i::text) || md5(random()::text || i::text), 'hex'),
       :now, :now, :now, :now + 30 * 86400,
       'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', '127.0.0.1'
  from generate_series(1, :sessions) as i;
commit;
analyze users;
analyze sessions;
