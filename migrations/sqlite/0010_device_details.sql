-- Device details parsed from the User-Agent once, at sign-in (src/server/user_agent.rs),
-- instead of on every listing. Null in rows written before this migration: those are parsed
-- when shown, and every one of them ends within the absolute session lifetime.
alter table sessions add column browser text;
alter table sessions add column os text;
alter table sessions add column device_kind text;           -- desktop, phone, tablet, bot, other

-- The device an event is about, copied from its session when the event is recorded, so the
-- activity still names the device after the session row has been pruned (retention.rs).
alter table security_events add column browser text;
alter table security_events add column os text;

-- Older events about a session (sign-outs) carry no User-Agent of their own: they named the
-- device through the session row. Give them the session's, before pruning removes it.
update security_events
   set user_agent = (select s.user_agent from sessions s where s.id = security_events.session_id)
 where user_agent = ''
   and exists (select 1 from sessions s where s.id = security_events.session_id);
