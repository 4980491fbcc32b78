//! Sessions (ssr only): one per sign-in on one device. Where refresh tokens are rotated and
//! sessions revoked.
//!
//! - `start`: a sign-in creates a session and its first refresh token.
//! - `rotate`: a refresh token is exchanged for its successor — once.
//! - `revoke`: a session ends (sign-out, another device, theft); its tokens stop working.
//! - `revocation_list`: the in-memory list every request checks, so a revoked session's
//!   access tokens are refused at once rather than when they expire.
//! - `revocation_push`: with several instances on PostgreSQL, how one instance's revocation
//!   reaches the others' lists (LISTEN/NOTIFY, with polling as the fallback).

pub mod revocation_list;
pub mod revocation_push;
pub mod revoke;
pub mod rotate;
pub mod start;

use crate::{server::db::Db, with_db};

/// Lifetimes of refresh tokens and sessions, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// A refresh token unused for this long has expired.
    pub idle_secs: i64,
    /// A session ends this long after sign-in.
    pub absolute_secs: i64,
    /// A just-spent refresh token is still honoured this long (racing tabs); 0 turns it off.
    pub grace_secs: i64,
}

/// A session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub refresh_issued_at: i64,
    pub rotations: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub user_agent: String,
    pub ip: String,
    pub name: Option<String>,
}

impl SessionRow {
    /// When the live refresh token stops working: idle or absolute timeout, whichever first.
    pub fn refresh_expires_at(&self, settings: &SessionSettings) -> i64 {
        (self.refresh_issued_at + settings.idle_secs).min(self.expires_at)
    }
}

const SESSION_COLUMNS: &str = "id, user_id, refresh_issued_at, rotations, created_at, last_used_at, \
     expires_at, revoked_at, revoked_reason, user_agent, ip, name";

/// One session by id.
pub async fn find(db: &Db, session_id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!("select {SESSION_COLUMNS} from sessions where id = $1");
    with_db!(db.read(), |pool| {
        sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(sql)).bind(session_id).fetch_optional(pool).await
    })
}

/// A user's sessions that can still be used (not revoked, not expired), newest activity first.
pub async fn active_for_user(db: &Db, user_id: &str, settings: &SessionSettings, now: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
    let sql = format!(
        "select {SESSION_COLUMNS} from sessions
          where user_id = $1 and revoked_at is null and expires_at > $2 and refresh_issued_at > $3
          order by last_used_at desc, created_at desc"
    );
    with_db!(db.read(), |pool| {
        sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(now)
            .bind(now - settings.idle_secs)
            .fetch_all(pool)
            .await
    })
}

/// `(user_id, session_id)` of the live session whose current refresh token this is — not a
/// spent token, not a revoked or expired session.
pub async fn live_by_refresh_token(
    db: &Db,
    token: &crate::server::secret::Secret,
    settings: &SessionSettings,
    now: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let hash = crate::server::tokens::refresh::hash(token);
    with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select user_id, id from sessions
              where refresh_hash = $1 and revoked_at is null and expires_at > $2 and refresh_issued_at > $3",
        )
        .bind(&hash[..])
        .bind(now)
        .bind(now - settings.idle_secs)
        .fetch_optional(pool)
        .await
    })
}

/// When a session's refresh token was last rotated, up to `limit` times, oldest first (each
/// rotation spends one token, whose hash is kept with the time it was spent).
pub async fn rotation_times(db: &Db, session_id: &str, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let mut times: Vec<i64> = with_db!(db.read(), |pool| {
        sqlx::query_scalar("select spent_at from spent_refresh_tokens where session_id = $1 order by spent_at desc limit $2")
            .bind(session_id)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    times.reverse();
    Ok(times)
}

/// Gives one of the user's live sessions a name of the person's choosing (None: clear it).
/// False when the session is not theirs or not live.
pub async fn rename(db: &Db, user_id: &str, session_id: &str, name: Option<&str>) -> Result<bool, sqlx::Error> {
    let done = with_db!(db.write(), |pool| {
        sqlx::query("update sessions set name = $1 where id = $2 and user_id = $3 and revoked_at is null")
            .bind(name)
            .bind(session_id)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}

/// Remembers when this instance last wrote each session's "last active", so that page views
/// write it at most once per [`Activity::EVERY`] seconds instead of on every request.
pub struct Activity {
    written: quick_cache::sync::Cache<String, i64>,
}

impl Activity {
    /// "Last active" is shown in minutes ("2 minutes ago"); finer writes would be wasted.
    pub const EVERY: i64 = 60;

    pub fn new(capacity: usize) -> Self {
        Activity { written: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    /// Marks the session active now, unless this instance did so less than a minute ago.
    pub async fn touch(&self, db: &Db, session_id: &str, now: i64) -> Result<(), sqlx::Error> {
        if self.written.get(session_id).is_some_and(|at| now - at < Self::EVERY) {
            return Ok(());
        }
        touch(db, session_id, now).await?;
        self.written.insert(session_id.to_owned(), now);
        Ok(())
    }
}

/// Marks a session as active now (the devices page's "last active").
pub async fn touch(db: &Db, session_id: &str, now: i64) -> Result<(), sqlx::Error> {
    with_db!(db.write(), |pool| {
        sqlx::query("update sessions set last_used_at = $1 where id = $2 and last_used_at < $1")
            .bind(now)
            .bind(session_id)
            .execute(pool)
            .await.map(|done| done.rows_affected())
    })?;
    Ok(())
}
