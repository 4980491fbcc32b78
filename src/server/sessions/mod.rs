//! Sessions (ssr only): one per sign-in on one device. Where refresh tokens are rotated and
//! sessions revoked.
//!
//! - `start`: a sign-in creates a session and its first refresh token.
//! - `rotate`: a refresh token is exchanged for its successor — once.
//! - `revoke`: a session ends (sign-out, another device, theft); its tokens stop working.
//! - `revocation_list`: the in-memory list every request checks, so a revoked session's
//!   access tokens are refused at once rather than when they expire.

pub mod revocation_list;
pub mod revoke;
pub mod rotate;
pub mod start;

use crate::server::db::Db;

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

/// Where a session was started from, as the devices page shows it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: String,
    pub ip: String,
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
    sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(format!(
        "select {SESSION_COLUMNS} from sessions where id = $1"
    )))
    .bind(session_id)
    .fetch_optional(db)
    .await
}
