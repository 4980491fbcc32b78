//! Sessions (ssr only): one per sign-in on one device. Where refresh tokens are rotated and
//! sessions revoked.
//!
//! - `start`: a sign-in creates a session and its first refresh token.
//! - `rotate`: a refresh token is exchanged for its successor — once.
//! - `swaps`: on SQLite, the swaps of rotations arriving together are written together.
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
pub mod swaps;

use crate::{
    server::{db::{Db, Tx}, user_agent::DeviceInfo},
    with_db, with_tx,
};

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

/// A session as a listing of devices needs it, and no more: every column read costs an
/// allocation per row, and a page can hold a hundred rows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedSession {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub ip: String,
    pub name: Option<String>,
    /// Browser, OS and kind, parsed from the User-Agent at sign-in (null in rows older
    /// than that).
    pub browser: Option<String>,
    pub os: Option<String>,
    pub device_kind: Option<String>,
    /// Only for those older rows, to parse when shown; null otherwise.
    pub user_agent: Option<String>,
    /// How it signed in (`start::SignedInWith`).
    pub amr: String,
}

impl ListedSession {
    /// Browser, OS and kind as stored at sign-in.
    pub fn device(&self) -> DeviceInfo {
        let user_agent = self.user_agent.as_deref().unwrap_or_default();
        DeviceInfo::stored(self.browser.as_deref(), self.os.as_deref(), self.device_kind.as_deref(), user_agent)
    }
}

const LISTED_COLUMNS: &str = "id, created_at, last_used_at, ip, name, browser, os, device_kind, amr, \
     case when browser is null or os is null then user_agent end as user_agent";

const SESSION_COLUMNS: &str = "id, user_id, refresh_issued_at, rotations, created_at, last_used_at, \
     expires_at, revoked_at, revoked_reason, user_agent, ip, name";

/// Where a page of a user's sessions starts: after the session last listed, in the order
/// "the caller's own session first, then latest activity first". Handed to clients as an
/// opaque string ([`Cursor::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    last_used_at: i64,
    created_at: i64,
    id: String,
}

impl Cursor {
    /// Right after the caller's own session: every other session is still to come. (Its own
    /// session is listed first, out of activity order, so its position says nothing.)
    fn after_own() -> Cursor {
        Cursor { last_used_at: i64::MAX, created_at: i64::MAX, id: String::new() }
    }

    fn after(row: &ListedSession) -> Cursor {
        Cursor { last_used_at: row.last_used_at, created_at: row.created_at, id: row.id.clone() }
    }

    pub fn encode(&self) -> String {
        use base64::Engine;
        let text = format!("{}.{}.{}", self.last_used_at, self.created_at, self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    /// None for anything we did not hand out.
    pub fn decode(text: &str) -> Option<Cursor> {
        use base64::Engine;
        // Longer than any cursor we make (two i64 and a UUID), refused before decoding.
        if text.len() > 128 {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(3, '.');
        let last_used_at = parts.next()?.parse().ok()?;
        let created_at = parts.next()?.parse().ok()?;
        let id = parts.next()?.to_owned();
        Some(Cursor { last_used_at, created_at, id })
    }
}

/// One page of a user's live sessions.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<ListedSession>,
    /// Where the next page starts; None on the last page.
    pub next: Option<Cursor>,
}

/// One session by id.
pub async fn find(db: &Db, session_id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!("select {SESSION_COLUMNS} from sessions where id = $1");
    with_db!(db.read(), |pool| {
        sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(sql)).bind(session_id).fetch_optional(pool).await
    })
}

/// What makes a session live (not revoked, not past its absolute end, its refresh token not
/// idle too long): `$1` user id, `$2` now, `$3` now minus the idle timeout.
pub(super) const LIVE: &str = "user_id = $1 and revoked_at is null and expires_at > $2 and refresh_issued_at > $3";

/// One page of a user's live sessions: `own` (the caller's session) first, then the rest by
/// latest activity, at most `limit` (≥ 1) of them, starting after `after`.
///
/// Keyset pagination on (last_used_at, created_at, id): each page costs the same however
/// far down it is. A session used between two page requests moves to the top, so a walk
/// through the pages may miss it (never lists one twice); a fresh listing shows it.
pub async fn active_page(
    db: &Db,
    user_id: &str,
    own: &str,
    after: Option<&Cursor>,
    limit: i64,
    settings: &SessionSettings,
    now: i64,
) -> Result<Page, sqlx::Error> {
    // One more than asked for tells whether another page follows.
    let mut rows: Vec<ListedSession> = match after {
        None => {
            let sql = format!(
                "select {LISTED_COLUMNS} from sessions where {LIVE}
                  order by case when id = $4 then 0 else 1 end, last_used_at desc, created_at desc, id desc
                  limit $5"
            );
            with_db!(db.read(), |pool| {
                sqlx::query_as::<_, ListedSession>(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(now)
                    .bind(now - settings.idle_secs)
                    .bind(own)
                    .bind(limit + 1)
                    .fetch_all(pool)
                    .await
            })?
        }
        Some(cursor) => {
            let sql = format!(
                "select {LISTED_COLUMNS} from sessions where {LIVE}
                    and id <> $4 and (last_used_at, created_at, id) < ($5, $6, $7)
                  order by last_used_at desc, created_at desc, id desc
                  limit $8"
            );
            with_db!(db.read(), |pool| {
                sqlx::query_as::<_, ListedSession>(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(now)
                    .bind(now - settings.idle_secs)
                    .bind(own)
                    .bind(cursor.last_used_at)
                    .bind(cursor.created_at)
                    .bind(&cursor.id)
                    .bind(limit + 1)
                    .fetch_all(pool)
                    .await
            })?
        }
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = match rows.last() {
        Some(last) if more => Some(if last.id == own { Cursor::after_own() } else { Cursor::after(last) }),
        _ => None,
    };
    Ok(Page { rows, next })
}

/// How many live sessions a user has.
pub async fn count_active(db: &Db, user_id: &str, settings: &SessionSettings, now: i64) -> Result<i64, sqlx::Error> {
    let sql = format!("select count(*) from sessions where {LIVE}");
    with_db!(db.read(), |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(now).bind(now - settings.idle_secs).fetch_one(pool).await
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

/// Records that the person proved who they are in this live session just now (step-up), and
/// how. Returns the session's absolute end, or `None` when it is no longer live.
pub async fn confirmed_in(tx: &mut Tx, session_id: &str, amr: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar(
            "update sessions set auth_time = $1, amr = $2
              where id = $3 and revoked_at is null and expires_at > $1
              returning expires_at",
        )
        .bind(now)
        .bind(amr)
        .bind(session_id)
        .fetch_optional(conn)
        .await
    })
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
