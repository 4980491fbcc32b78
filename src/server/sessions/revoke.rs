//! Revocation (ssr only): a session ends, in the database and in the in-memory list that
//! every request checks, so its access tokens stop working on the next request. Each
//! revocation is recorded in the security activity, in the same transaction.

use super::{revocation_list::RevocationList, revocation_push};
use crate::{
    server::{
        db::{Db, Tx},
        events::{self, EndReason},
        secret::Secret,
        tokens::refresh,
    },
    with_db, with_tx,
};

/// Why a session ended, and which session (if any) ended it.
#[derive(Debug, Clone, Copy)]
pub struct Why<'a> {
    pub reason: EndReason,
    pub actor_session_id: Option<&'a str>,
}

/// Revokes one session. With `user_id`, only if it belongs to that user (someone else's
/// session id behaves exactly like an unknown one). Returns false when nothing was revoked.
pub async fn revoke_session(
    db: &Db,
    list: &RevocationList,
    session_id: &str,
    user_id: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let revoked = revoke_session_in(&mut tx, session_id, user_id, why, now).await?;
    Ok(!commit_and_list(tx, list, revoked, now).await?.is_empty())
}

/// [`revoke_session`] inside the caller's transaction. Returns the revoked id (none or one);
/// the caller puts it on the revocation list once the transaction has committed.
pub async fn revoke_session_in(
    tx: &mut Tx,
    session_id: &str,
    user_id: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    // `cast($4 as text)`: PostgreSQL cannot type a parameter that is only compared with null.
    let owner: Option<String> = with_tx!(tx, |conn| {
        sqlx::query_scalar(
            "update sessions set revoked_at = $1, revoked_reason = $2
              where id = $3 and revoked_at is null and (cast($4 as text) is null or user_id = $4)
              returning user_id",
        )
        .bind(now)
        .bind(why.reason.as_str())
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
    })?;
    let Some(owner) = owner else {
        return Ok(Vec::new());
    };
    let ids = vec![session_id.to_owned()];
    record_revoked(tx, &owner, &ids, why, now).await?;
    Ok(ids)
}

/// Revokes every live session of a user except `keep` (all of them when `keep` is None).
/// Returns how many were revoked. Sessions already past their absolute end are left alone
/// (they can do nothing any more), so the count matches what the devices page showed.
pub async fn revoke_all_of_user(
    db: &Db,
    list: &RevocationList,
    user_id: &str,
    keep: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let revoked = revoke_all_of_user_in(&mut tx, user_id, keep, why, now).await?;
    Ok(commit_and_list(tx, list, revoked, now).await?.len() as u64)
}

/// [`revoke_all_of_user`] inside the caller's transaction; returns the revoked ids for the
/// caller to put on the revocation list after commit.
pub async fn revoke_all_of_user_in(
    tx: &mut Tx,
    user_id: &str,
    keep: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<String> = with_tx!(tx, |conn| {
        sqlx::query_scalar(
            "update sessions set revoked_at = $1, revoked_reason = $2
              where user_id = $3 and revoked_at is null and expires_at > $1 and (cast($4 as text) is null or id <> $4)
              returning id",
        )
        .bind(now)
        .bind(why.reason.as_str())
        .bind(user_id)
        .bind(keep)
        .fetch_all(conn)
        .await
    })?;
    record_revoked(tx, user_id, &ids, why, now).await?;
    Ok(ids)
}

/// Commits, then puts the revoked sessions on this instance's list (the others hear of them
/// by the notification the transaction carried).
pub async fn commit_and_list(tx: Tx, list: &RevocationList, revoked: Vec<String>, now: i64) -> Result<Vec<String>, sqlx::Error> {
    tx.commit().await?;
    list.insert_all(&revoked, now);
    Ok(revoked)
}

/// What every revocation leaves behind in its transaction: one activity event per session,
/// and (PostgreSQL) a notification that reaches the other instances when it commits.
async fn record_revoked(tx: &mut Tx, user_id: &str, ids: &[String], why: Why<'_>, now: i64) -> Result<(), sqlx::Error> {
    for id in ids {
        let event = events::NewEvent {
            user_id,
            kind: why.reason.event_kind(),
            session_id: Some(id),
            actor_session_id: why.actor_session_id,
            reason: Some(why.reason),
            client: None,
        };
        events::record(tx, event, now).await?;
    }
    revocation_push::notify(tx, ids, now).await
}

/// The session a refresh token (live or spent) belongs to, if any — for signing out with
/// only the refresh cookie in hand.
pub async fn session_of_refresh_token(db: &Db, token: &Secret) -> Result<Option<String>, sqlx::Error> {
    let h = refresh::hash(token);
    with_db!(db.read(), |pool| {
        sqlx::query_scalar(
            "select id from sessions where refresh_hash = $1
             union all
             select session_id from spent_refresh_tokens where token_hash = $1",
        )
        .bind(&h[..])
        .fetch_optional(pool)
        .await
    })
}
