//! The flow itself (ssr only): register, sign in, refresh, sign out. Server functions and the
//! JSON API both call these, so the browser and API clients get exactly the same rules.

use crate::{
    error::AppError,
    model::User,
    server::{
        password::PasswordError,
        secret::Secret,
        sessions::{self, rotate::RotateError, Client},
        state::AppState,
        tokens::{access, refresh},
        events,
        throttle::{Endpoint, ThrottleError},
        users, validate,
    },
};
use std::net::IpAddr;

/// A token pair handed to a client after sign-in or refresh.
#[derive(Debug)]
pub struct Issued {
    pub user: User,
    pub session_id: String,
    pub access_token: Secret,
    pub access_claims: access::AccessClaims,
    pub refresh_token: Secret,
    pub refresh_expires_at: i64,
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

impl From<PasswordError> for AppError {
    fn from(err: PasswordError) -> Self {
        tracing::error!(error = %err, "password hashing error");
        AppError::Internal
    }
}

impl From<jsonwebtoken::errors::Error> for AppError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        tracing::error!(error = %err, "token signing error");
        AppError::Internal
    }
}

fn too_many(retry_after: u64) -> AppError {
    AppError::TooManyAttempts { retry_after }
}

/// Creates an account. Does not sign in.
pub async fn register(
    state: &AppState,
    email: &str,
    password: &str,
    display_name: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<User, AppError> {
    state.throttle.request(Endpoint::Register, ip).map_err(too_many)?;
    let (email, password, display_name) = validate::registration(email, password, display_name)?;
    let hash = state.passwords.hash(&password).await?;
    match users::insert(&state.db, email.as_str(), display_name.as_str(), &hash, now).await {
        Ok(row) => {
            tracing::info!(user_id = %row.id, "account registered");
            Ok(row.public())
        }
        Err(e) if crate::server::db::is_unique_violation(&e) => Err(AppError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Checks credentials and starts a session. Unknown email and wrong password answer alike
/// and cost alike (a dummy hash is verified when there is no account).
pub async fn login(state: &AppState, email: &str, password: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    // Over-long input cannot match anything we stored; refuse it before hashing.
    if email.len() > 4 * validate::EMAIL_MAX_CHARS || password.chars().count() > validate::PASSWORD_MAX_CHARS {
        return Err(AppError::InvalidCredentials);
    }
    let email = email.trim().to_lowercase();
    let ip = client.ip.parse::<IpAddr>().ok();
    state.throttle.request(Endpoint::Login, ip).map_err(too_many)?;
    let failures_seen = state.throttle.before_sign_in(&email, ip, now).await.map_err(|e| match e {
        ThrottleError::Wait(secs) => too_many(secs),
        ThrottleError::Db(e) => e.into(),
    })?;
    let password = Secret::new(password);
    let user = users::by_email(&state.db, &email).await?;
    let verified = state.passwords.verify(&password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let Some(user) = user.filter(|_| verified.matches) else {
        state.throttle.sign_in_failed(&email, ip, now).await?;
        tracing::info!("sign-in failed");
        return Err(AppError::InvalidCredentials);
    };
    state.throttle.sign_in_succeeded(&email, ip, failures_seen).await?;
    if verified.needs_rehash {
        let hash = state.passwords.hash(&password).await?;
        users::set_password_hash(&state.db, &user.id, &hash).await?;
    }
    let mut tx = state.db.begin().await?;
    let started = sessions::start::start(&mut tx, &user.id, client, &state.sessions, now).await?;
    events::record(
        &mut tx,
        events::NewEvent {
            user_id: &user.id,
            kind: events::SIGNED_IN,
            session_id: Some(&started.session_id),
            client: Some(client),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, session_id = %started.session_id, "signed in");
    let (token, claims) = access::mint(&state.keys.current(), &state.access, &user.id, &started.session_id, now)?;
    Ok(Issued {
        user: user.public(),
        session_id: started.session_id,
        access_token: Secret::new(token),
        access_claims: claims,
        refresh_token: started.refresh,
        refresh_expires_at: started.refresh_expires_at,
    })
}

/// Exchanges a refresh token for a new pair (rotation).
pub async fn refresh(state: &AppState, presented: &str, ip: Option<IpAddr>, now: i64) -> Result<Issued, AppError> {
    state.throttle.request(Endpoint::Refresh, ip).map_err(too_many)?;
    let token = refresh::parse(presented).ok_or(AppError::InvalidRefreshToken)?;
    let rotated = sessions::rotate::rotate(&state.db, &state.successor_key, &state.revoked, &token, &state.sessions, now)
        .await
        .map_err(|e| match e {
            RotateError::Invalid => AppError::InvalidRefreshToken,
            RotateError::Expired => AppError::RefreshTokenExpired,
            RotateError::Revoked => AppError::SessionRevoked,
            RotateError::Reused { .. } => AppError::RefreshTokenReused,
            RotateError::Db(e) => e.into(),
        })?;
    let user = state.profiles.get(&state.db, &rotated.user_id).await?.ok_or(AppError::InvalidRefreshToken)?;
    let (token, claims) = access::mint(&state.keys.current(), &state.access, &user.id, &rotated.session_id, now)?;
    Ok(Issued {
        user,
        session_id: rotated.session_id,
        access_token: Secret::new(token),
        access_claims: claims,
        refresh_token: rotated.refresh,
        refresh_expires_at: rotated.refresh_expires_at,
    })
}

/// Ends one session for good.
pub async fn logout(state: &AppState, session_id: &str, now: i64) -> Result<(), AppError> {
    let why = sessions::revoke::Why { reason: "signed_out", actor_session_id: Some(session_id) };
    if sessions::revoke::revoke_session(&state.db, &state.revoked, session_id, None, why, now).await? {
        tracing::info!(session_id = %session_id, "signed out");
    }
    Ok(())
}

/// Changes the password (the current one is required) and signs out every other session;
/// this one stays signed in.
pub async fn change_password(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    current: &str,
    new: &str,
    now: i64,
) -> Result<u64, AppError> {
    let new = validate::new_password(new).map_err(|m| {
        AppError::invalid(std::iter::once(("new_password".to_string(), m)).collect())
    })?;
    let user = users::by_id(&state.db, user_id).await?.ok_or(AppError::InvalidToken)?;
    let verified = state.passwords.verify(&Secret::new(current), Some(&user.password_hash)).await?;
    if !verified.matches {
        return Err(AppError::invalid(
            std::iter::once(("current_password".to_string(), "Your current password is not right".to_string())).collect(),
        ));
    }
    if current == new.expose() {
        return Err(AppError::invalid(
            std::iter::once(("new_password".to_string(), "Choose a password different from the current one".to_string()))
                .collect(),
        ));
    }
    let hash = state.passwords.hash(&new).await?;
    // The new hash, its event and the other devices' sign-out: all or nothing.
    let mut tx = state.db.begin().await?;
    users::set_password_hash_in(&mut tx, user_id, &hash).await?;
    events::record(
        &mut tx,
        events::NewEvent { user_id, kind: events::PASSWORD_CHANGED, session_id: Some(session_id), actor_session_id: Some(session_id), ..Default::default() },
        now,
    )
    .await?;
    let why = sessions::revoke::Why { reason: "password_changed", actor_session_id: Some(session_id) };
    let revoked = sessions::revoke::revoke_all_of_user_in(&mut tx, user_id, Some(session_id), why, now).await?;
    tx.commit().await?;
    state.revoked.insert_all(&revoked, now);
    tracing::info!(user_id = %user_id, revoked = revoked.len(), "password changed; other sessions signed out");
    Ok(revoked.len() as u64)
}
