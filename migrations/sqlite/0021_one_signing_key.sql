-- At most one signing key that has not been given a retirement time (src/server/tokens/keys.rs).
-- A rotation gives the current key its retirement time and adds the new one in one
-- transaction, so there is one such key at a time; this index makes the database hold it, so
-- that instances starting at once on an empty database cannot each add a first key of their
-- own (`insert … on conflict do nothing`: one wins, the others read the winner's).

-- A database where that race already happened keeps the key instances sign with (the oldest,
-- see `KeyRing::from_stored`) and retires the others now: they still verify their tokens.
update signing_keys set retired_at = unixepoch()
 where retired_at is null
   and kid <> (select kid from signing_keys where retired_at is null order by created_at, kid desc limit 1);

create unique index signing_keys_one_unretired on signing_keys ((retired_at is null)) where retired_at is null;
