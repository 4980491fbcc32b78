-- Email verification and email change.
-- When the account's current address was last proven by a link sent to it; null: not yet.
alter table users add column email_verified_at bigint;
-- The address an email-change link moves the account to (null for other links).
alter table link_tokens add column new_email text;
-- What an event needs said beyond its kind (the new address of an email change).
alter table security_events add column detail text;
