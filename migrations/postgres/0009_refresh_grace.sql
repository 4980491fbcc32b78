-- Who received a session's live refresh token, so that the grace window serves only a racing
-- tab of that same browser: sha-256 of the User-Agent and network of the request that got it
-- by rotation (src/server/sessions/rotate.rs). Null until the session's first rotation.
alter table sessions add column refresh_holder bytea;

-- The secret that derives a rotated refresh token's successor no longer lives here: with a
-- dump of this database and one spent token (from a log, say) anyone could compute the live
-- one. It now comes from outside (GATEHOUSE_REFRESH_SECRET or a secret file; see
-- src/server/tokens/refresh_secret.rs). The old one is deleted and never used again: a tab
-- racing a rotation made just before the upgrade is treated as reuse, a 5-second matter.
delete from server_secrets where name = 'refresh_successor';
