-- Who received a session's live refresh token, so that the grace window serves only a racing
-- tab of that same browser: sha-256 of the User-Agent and network of the request that got it
-- by rotation (src/server/sessions/rotate.rs). Null until the session's first rotation.
alter table sessions add column refresh_holder blob;
