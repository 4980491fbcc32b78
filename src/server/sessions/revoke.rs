//! Revocation (ssr only): a session ends, in the database and in the in-memory list that
//! every request checks, so its access tokens stop working on the next request.

use super::revocation_list::RevocationList;
use crate::server::{db::Db, secret::Secret, tokens::refresh};

/// Revokes one session. With `user_id`, only if it belongs to that user (someone else's
/// session id behaves exactly like an unknown one). Returns false when nothing was revoked.
pub async fn revoke_session(
    db: &Db,
    list: &RevocationList,
    session_id: &str,
    user_id: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update sessions set revoked_at = $1, revoked_reason = $2
          where id = $3 and revoked_at is null and ($4 is null or user_id = $4)",
    )
    .bind(now)
    .bind(reason)
    .bind(session_id)
    .bind(user_id)
    .execute(db)
    .await?
    .rows_affected()
        == 1;
    if done {
        list.insert(session_id.to_owned(), now);
    }
    Ok(done)
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
