//! A sign-in starts a session and mints its first refresh token (ssr only).

use super::SessionSettings;
use crate::{
    server::{client::Client, db::Tx, secret::Secret, tokens::refresh},
    with_tx,
};

/// What a new session hands back to the client.
#[derive(Debug)]
pub struct Started {
    pub session_id: String,
    pub refresh: Secret,
    pub refresh_expires_at: i64,
    /// The session's absolute end; no access token of it may outlive this.
    pub expires_at: i64,
}

/// Longest User-Agent kept; the rest is cut (it is only shown, never trusted).
const MAX_USER_AGENT: usize = 512;

/// Inserts the session inside the caller's transaction (a sign-in records its event in
/// the same one).
pub async fn start(tx: &mut Tx, user_id: &str, client: &Client, settings: &SessionSettings, now: i64) -> Result<Started, sqlx::Error> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let token = refresh::generate();
    let expires_at = now + settings.absolute_secs;
    let user_agent: String = client.user_agent.chars().take(MAX_USER_AGENT).collect();
    let hash = refresh::hash(&token);
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into sessions
               (id, user_id, refresh_hash, refresh_issued_at, rotations, created_at, last_used_at, expires_at, user_agent, ip)
             values ($1, $2, $3, $4, 0, $4, $4, $5, $6, $7)",
        )
        .bind(&session_id)
        .bind(user_id)
        .bind(&hash[..])
        .bind(now)
        .bind(expires_at)
        .bind(&user_agent)
        .bind(&client.ip)
        .execute(conn)
        .await.map(|done| done.rows_affected())
    })?;
    Ok(Started {
        session_id,
        refresh: token,
        refresh_expires_at: (now + settings.idle_secs).min(expires_at),
        expires_at,
    })
}
