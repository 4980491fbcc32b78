-- Rotation is one statement: swapping a session's live refresh hash also records the old
-- hash as spent, in the same statement (and so the same transaction). See
-- src/server/sessions/rotate.rs.
create function spend_refresh_token() returns trigger language plpgsql as $$
begin
    insert into spent_refresh_tokens (token_hash, session_id, spent_at)
    values (old.refresh_hash, old.id, new.refresh_issued_at);
    return new;
end
$$;

create trigger sessions_spend_refresh_token
after update of refresh_hash on sessions
for each row when (old.refresh_hash is distinct from new.refresh_hash)
execute function spend_refresh_token();
