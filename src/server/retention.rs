//! Retention (ssr only): what is old enough to delete, deleted on a schedule, so that no
//! table grows without bound. Run by the housekeeping task (`startup.rs`) on every instance;
//! two instances pruning at once delete each row once.
//!
//! - **Ended sessions** — revoked, or past their absolute end — and with them (foreign key,
//!   `on delete cascade`) their spent refresh tokens. Only once no access token of theirs
//!   can still be valid: until then the revocation list must be able to reload a revoked
//!   session from the database (a restart, another instance catching up). Live sessions keep
//!   their spent tokens: a replayed one is how theft is detected.
//! - **Security events** older than their retention (at least 90 days), and the operators'
//!   **audit log** (`operator_actions`) after the same time: an action is a security event
//!   of the person it was done to, and their activity shows it no longer either.
//! - **Sent mail** after 30 days (its words were already dropped when it was delivered), and
//!   **link tokens** and **sign-in challenges** (the step between password and code) a day
//!   after they expired.
//! - **Passkey ceremonies** once expired (5 minutes; one never finished leaves its row).
//!
//! Failed sign-in records are `Throttle::prune`'s.

use crate::{server::db::Db, with_db};
use std::time::Duration;

/// What is kept, and for how long (seconds).
#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// An ended session is deleted this long after it ended (revoked, or absolute end).
    pub ended_sessions_secs: i64,
    /// A security event is deleted this long after it happened.
    pub events_secs: i64,
    /// How often [`prune`] runs.
    pub interval: Duration,
}

impl RetentionSettings {
    /// The shortest safe wait for ended sessions: the access-token lifetime plus the minute
    /// of clock leeway the revocation list allows too.
    pub fn min_ended_sessions_secs(access_ttl_secs: i64) -> i64 {
        access_ttl_secs + 60
    }
}

/// Rows deleted by one [`prune`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub events: u64,
    /// Mail delivered more than [`SENT_MAIL_SECS`] ago (its words were dropped when it went).
    pub mail: u64,
    /// Link tokens expired more than [`EXPIRED_LINK_SECS`] ago.
    pub links: u64,
    /// Sign-in challenges expired more than [`EXPIRED_LINK_SECS`] ago.
    pub challenges: u64,
    /// Passkey ceremonies begun and never finished, once expired.
    pub ceremonies: u64,
    /// Operator actions (the audit log), after the security events' retention.
    pub operator_actions: u64,
}

/// Sent mail is kept this long (who was told what, when), then goes.
pub const SENT_MAIL_SECS: i64 = 30 * 86400;
/// An expired link token or sign-in challenge is kept a day (a late click or code still gets
/// "no longer valid" either way).
pub const EXPIRED_LINK_SECS: i64 = 86400;

/// Rows deleted per statement: each batch is its own short statement, so other writers
/// (SQLite has one writer) get their turn between batches.
const BATCH: i64 = 500;
/// Batches per table per run; a bigger backlog is worked off over the next runs.
const MAX_BATCHES: u32 = 200;

/// Deletes what is past its retention as of `now` (unix seconds).
pub async fn prune(db: &Db, settings: &RetentionSettings, now: i64) -> Result<Pruned, sqlx::Error> {
    let ended_before = now - settings.ended_sessions_secs;
    // The revoked ones, then the ones past their absolute end: one index each.
    let sessions = in_batches(db, "delete from sessions where id in (select id from sessions where revoked_at <= $1 limit $2)", ended_before)
        .await?
        + in_batches(db, "delete from sessions where id in (select id from sessions where expires_at <= $1 limit $2)", ended_before)
            .await?;
    let events = in_batches(
        db,
        "delete from security_events where id in (select id from security_events where created_at < $1 limit $2)",
        now - settings.events_secs,
    )
    .await?;
    let operator_actions = in_batches(
        db,
        "delete from operator_actions where id in (select id from operator_actions where created_at < $1 limit $2)",
        now - settings.events_secs,
    )
    .await?;
    let mail = in_batches(db, "delete from mail_queue where id in (select id from mail_queue where sent_at <= $1 limit $2)", now - SENT_MAIL_SECS)
        .await?;
    let links = in_batches(
        db,
        "delete from link_tokens where token_hash in (select token_hash from link_tokens where expires_at <= $1 limit $2)",
        now - EXPIRED_LINK_SECS,
    )
    .await?;
    let challenges = in_batches(
        db,
        "delete from sign_in_challenges where token_hash in (select token_hash from sign_in_challenges where expires_at <= $1 limit $2)",
        now - EXPIRED_LINK_SECS,
    )
    .await?;
    let ceremonies = in_batches(
        db,
        "delete from passkey_ceremonies where handle_hash in (select handle_hash from passkey_ceremonies where expires_at <= $1 limit $2)",
        now,
    )
    .await?;
    Ok(Pruned { sessions, events, mail, links, challenges, ceremonies, operator_actions })
}

async fn in_batches(db: &Db, sql: &'static str, before: i64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let deleted = with_db!(db.write(), |pool| {
            sqlx::query(sql).bind(before).bind(BATCH).execute(pool).await?.rows_affected()
        });
        total += deleted;
        if deleted < BATCH as u64 {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_session_outlives_every_access_token_it_could_have_minted() {
        // A token minted just before the end lives one access TTL past it; a minute more
        // covers clocks that differ between instances.
        assert_eq!(RetentionSettings::min_ended_sessions_secs(900), 960);
    }
}
