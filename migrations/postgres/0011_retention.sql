-- Pruning (src/server/retention.rs) finds sessions past their absolute end and events past
-- their retention through these; revoked sessions through sessions_revoked_at_idx. Neither
-- column changes after the row is written, so the indexes cost nothing on rotation.
create index sessions_expires_at_idx on sessions (expires_at);
create index security_events_created_at_idx on security_events (created_at);
