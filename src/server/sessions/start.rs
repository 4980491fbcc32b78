//! A sign-in starts a session and mints its first refresh token (ssr only), and keeps the
//! account within its cap on live sessions.
//!
//! The cap: an API client that signs in again and again without signing out would otherwise
//! pile up live sessions without end (and every listing of them grows with it). Past
//! `max_sessions` live sessions, a sign-in ends the least recently used one(s) ([`make_room`]),
//! recorded in the activity as [`EndReason::SessionLimit`], and revoked at once like any other
//! sign-out (revocation list, PostgreSQL NOTIFY) — all in the sign-in's transaction.

use super::{
    revoke::{self, Why},
    SessionSettings, LIVE,
};
use crate::{
    server::{client::Client, db::Tx, events::EndReason, secret::Secret, tokens::refresh, user_agent},
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
    /// How and when the person proved who they are: the access tokens' `amr`, `auth_time`.
    pub signed_in_with: SignedInWith,
    pub auth_time: i64,
}

/// How a session signed in: stored with it (`sessions.amr`), shown on the devices page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInWith {
    Password,
    /// The password and a code from the authenticator app.
    PasswordAndCode,
    /// The password and a recovery code.
    PasswordAndRecoveryCode,
    /// A passkey bound to one device (not backup eligible): something you have, in
    /// hardware, and the user verification it required.
    DeviceBoundPasskey,
    /// A synced passkey (backup eligible: copies may live in the person's other devices or
    /// their password manager), and its user verification.
    SyncedPasskey,
}

impl SignedInWith {
    /// The stored value: RFC 8176 method names, space-separated.
    pub fn as_str(self) -> &'static str {
        match self {
            SignedInWith::Password => "pwd",
            SignedInWith::PasswordAndCode => "pwd otp",
            SignedInWith::PasswordAndRecoveryCode => "pwd recovery_code",
            SignedInWith::DeviceBoundPasskey => "hwk user",
            SignedInWith::SyncedPasskey => "swk user",
        }
    }

    /// A passkey sign-in: two factors in one.
    pub fn is_passkey(self) -> bool {
        matches!(self, SignedInWith::DeviceBoundPasskey | SignedInWith::SyncedPasskey)
    }

    pub fn parse(value: &str) -> SignedInWith {
        match value {
            "pwd otp" => SignedInWith::PasswordAndCode,
            "pwd recovery_code" => SignedInWith::PasswordAndRecoveryCode,
            "hwk user" => SignedInWith::DeviceBoundPasskey,
            "swk user" => SignedInWith::SyncedPasskey,
            _ => SignedInWith::Password,
        }
    }

    /// In words, for the devices page.
    pub fn describe(self) -> &'static str {
        match self {
            SignedInWith::Password => "password",
            SignedInWith::PasswordAndCode => "password and authentication code",
            SignedInWith::PasswordAndRecoveryCode => "password and recovery code",
            SignedInWith::DeviceBoundPasskey | SignedInWith::SyncedPasskey => "passkey",
        }
    }
}

/// Longest User-Agent kept; the rest is cut (it is only shown, never trusted).
const MAX_USER_AGENT: usize = 512;

/// Inserts the session inside the caller's transaction (a sign-in records its event, and
/// keeps within the cap with [`make_room`], in the same one).
pub async fn start(tx: &mut Tx, user_id: &str, client: &Client, settings: &SessionSettings, now: i64) -> Result<Started, sqlx::Error> {
    start_with(tx, user_id, client, settings, SignedInWith::Password, now).await
}

/// [`start`] for a sign-in that took more than the password.
pub async fn start_with(
    tx: &mut Tx,
    user_id: &str,
    client: &Client,
    settings: &SessionSettings,
    with: SignedInWith,
    now: i64,
) -> Result<Started, sqlx::Error> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let token = refresh::generate();
    let expires_at = now + settings.absolute_secs;
    let user_agent: String = client.user_agent.chars().take(MAX_USER_AGENT).collect();
    // Parsed here, once; listings and the activity read the stored result.
    let device = user_agent::parse(&user_agent);
    let hash = refresh::hash(&token);
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into sessions
               (id, user_id, refresh_hash, refresh_issued_at, rotations, created_at, last_used_at, expires_at, user_agent, ip,
                browser, os, device_kind, amr, auth_time)
             values ($1, $2, $3, $4, 0, $4, $4, $5, $6, $7, $8, $9, $10, $11, $4)",
        )
        .bind(&session_id)
        .bind(user_id)
        .bind(&hash[..])
        .bind(now)
        .bind(expires_at)
        .bind(&user_agent)
        .bind(&client.ip)
        .bind(&device.browser)
        .bind(&device.os)
        .bind(user_agent::kind_as_str(device.kind))
        .bind(with.as_str())
        .execute(conn)
        .await.map(|done| done.rows_affected())
    })?;
    Ok(Started {
        session_id,
        refresh: token,
        refresh_expires_at: (now + settings.idle_secs).min(expires_at),
        expires_at,
        signed_in_with: with,
        auth_time: now,
    })
}

/// Sign-ins of one account wait for each other here, so two at once cannot both count the
/// same sessions and leave one too many: the second counts only after the first committed.
/// SQLite needs nothing: every write goes through its one writing connection, one
/// transaction after the other. PostgreSQL locks the account's row until commit; `for no
/// key update` does not block the key-share locks that inserting rows referencing the
/// account takes, so revocations and events elsewhere do not wait on it.
async fn one_sign_in_at_a_time(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    if !tx.is_postgres() {
        return Ok(());
    }
    with_tx!(tx, |conn| {
        sqlx::query_scalar::<_, String>("select id from users where id = $1 for no key update")
            .bind(user_id)
            .fetch_optional(conn)
            .await
    })?;
    Ok(())
}

/// Signs out the least recently used live sessions of the account, but never `new_session`
/// (the sign-in that is making room), until at most `max_sessions` are left. Inside the
/// sign-in's transaction; returns the ids it signed out, for the caller to put on the
/// revocation list once that has committed (`revoke::commit_and_list`).
pub async fn make_room(
    tx: &mut Tx,
    user_id: &str,
    new_session: &str,
    settings: &SessionSettings,
    max_sessions: u32,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    one_sign_in_at_a_time(tx, user_id).await?;
    let count_sql = format!("select count(*) from sessions where {LIVE}");
    let live: i64 = with_tx!(tx, |conn| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(user_id)
            .bind(now)
            .bind(now - settings.idle_secs)
            .fetch_one(conn)
            .await
    })?;
    let excess = live - i64::from(max_sessions.max(1));
    if excess <= 0 {
        return Ok(Vec::new());
    }
    let pick_sql = format!(
        "select id from sessions where {LIVE} and id <> $4
          order by last_used_at, created_at, id
          limit $5"
    );
    let oldest: Vec<String> = with_tx!(tx, |conn| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(pick_sql))
            .bind(user_id)
            .bind(now)
            .bind(now - settings.idle_secs)
            .bind(new_session)
            .bind(excess)
            .fetch_all(conn)
            .await
    })?;
    let why = Why { reason: EndReason::SessionLimit, actor_session_id: Some(new_session) };
    let mut ended = Vec::with_capacity(oldest.len());
    for id in &oldest {
        ended.extend(revoke::revoke_session_in(tx, id, Some(user_id), why, now).await?);
    }
    tracing::info!(user_id = %user_id, ended = ended.len(), max_sessions, "session cap reached; least recently used sessions signed out");
    Ok(ended)
}
