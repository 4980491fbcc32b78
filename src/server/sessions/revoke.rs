//! Revocation (ssr only): a session ends, in the database and in the in-memory list that
//! every request checks, so its access tokens stop working on the next request. Each
//! revocation is recorded in the security activity, in the same transaction.

use super::revocation_list::RevocationList;
use crate::server::{db::Db, events, secret::Secret, tokens::refresh};

/// Why a session ended, and which session (if any) ended it.
#[derive(Debug, Clone, Copy)]
pub struct Why<'a> {
    /// signed_out, signed_out_elsewhere, signed_out_everywhere, password_changed,
    /// refresh_token_reused, reported_by_owner
    pub reason: &'a str,
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
    let owner: Option<(String,)> = sqlx::query_as(
        "update sessions set revoked_at = $1, revoked_reason = $2
          where id = $3 and revoked_at is null and ($4 is null or user_id = $4)
          returning user_id",
    )
    .bind(now)
    .bind(why.reason)
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((owner,)) = owner else {
        tx.rollback().await?;
        return Ok(false);
    };
    let kind = if why.reason == "refresh_token_reused" { events::REFRESH_TOKEN_REUSED } else { events::SESSION_REVOKED };
    events::record(
        &mut *tx,
        events::NewEvent {
            user_id: &owner,
            kind,
            session_id: Some(session_id),
            actor_session_id: why.actor_session_id,
            reason: Some(why.reason),
            client: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    list.insert(session_id.to_owned(), now);
    Ok(true)
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
    let ids: Vec<(String,)> = sqlx::query_as(
        "update sessions set revoked_at = $1, revoked_reason = $2
          where user_id = $3 and revoked_at is null and expires_at > $1 and ($4 is null or id <> $4)
          returning id",
    )
    .bind(now)
    .bind(why.reason)
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut *tx)
    .await?;
    for (id,) in &ids {
        events::record(
            &mut *tx,
            events::NewEvent {
                user_id,
                kind: events::SESSION_REVOKED,
                session_id: Some(id),
                actor_session_id: why.actor_session_id,
                reason: Some(why.reason),
                client: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    for (id,) in &ids {
        list.insert(id.clone(), now);
    }
    Ok(ids.len() as u64)
}

/// The session a refresh token (live or spent) belongs to, if any — for signing out with
/// only the refresh cookie in hand.
pub async fn session_of_refresh_token(db: &Db, token: &Secret) -> Result<Option<String>, sqlx::Error> {
    let h = refresh::hash(token);
    let row: Option<(String,)> = sqlx::query_as(
        "select id from sessions where refresh_hash = $1
         union all
         select session_id from spent_refresh_tokens where token_hash = $1",
    )
    .bind(&h[..])
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id,)| id))
}
