//! Signing in and out (ssr only): register, sign in, refresh, sign out, change the password.

use crate::{
    error::AppError,
    model::User,
    server::{
        auth::AuthUser,
        client::Client,
        events::{self, EndReason, EventKind},
        secret::Secret,
        sessions::{self, revoke::Why, rotate::RotateError},
        state::AppState,
        throttle::{Endpoint, ThrottleError},
        tokens::{access, refresh, Issued},
        users, validate,
    },
};
use std::net::IpAddr;

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

/// Creates an account and signs it in from `client` (the browser's registration).
pub async fn register_and_sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    display_name: &str,
    client: &Client,
    now: i64,
) -> Result<Issued, AppError> {
    register(state, email, password, display_name, client.ip.parse().ok(), now).await?;
    login(state, email, password, client, now).await
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
    let ended = sessions::start::make_room(&mut tx, &user.id, &started.session_id, &state.sessions, state.max_sessions, now).await?;
    let event = events::NewEvent { session_id: Some(&started.session_id), client: Some(client), ..events::NewEvent::new(&user.id, EventKind::SignedIn) };
    events::record(&mut tx, event, now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended, now).await?;
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
    let why = Why { reason: EndReason::SignedOut, actor_session_id: Some(session_id) };
    if sessions::revoke::revoke_session(&state.db, &state.revoked, session_id, None, why, now).await? {
        tracing::info!(session_id = %session_id, "signed out");
    }
    Ok(())
}

/// Signs a browser out with whatever credential of its session it still holds: its access
/// token, even expired (the signature says it is ours and names the session), or else its
/// refresh cookie, live or spent. Holding neither, there is nothing to end.
pub async fn logout_browser(state: &AppState, access: Option<&Secret>, refresh: Option<&Secret>, now: i64) -> Result<(), AppError> {
    let from_access = access
        .and_then(|token| access::verify_ignoring_time(&state.keys.current(), &state.access, token.expose()).ok())
        .map(|claims| claims.sid);
    let session_id = match (from_access, refresh) {
        (Some(sid), _) => Some(sid),
        (None, Some(token)) => sessions::revoke::session_of_refresh_token(&state.db, token).await?,
        (None, None) => None,
    };
    match session_id {
        Some(id) => logout(state, &id, now).await,
        None => Ok(()),
    }
}

/// The caller's display name, for the frame of pages that need nothing else.
pub async fn display_name(state: &AppState, caller: &AuthUser) -> Result<String, AppError> {
    Ok(profile(state, &caller.user_id).await?.display_name)
}

/// An account's public side (cached). A token naming an account that is gone is no longer
/// a valid token.
pub async fn profile(state: &AppState, user_id: &str) -> Result<User, AppError> {
    state.profiles.get(&state.db, user_id).await?.ok_or(AppError::InvalidToken)
}

/// Changes the password (the current one is required) and signs out every other session;
/// this one stays signed in.
pub async fn change_password(state: &AppState, caller: &AuthUser, current: &str, new: &str, now: i64) -> Result<u64, AppError> {
    let (user_id, session_id) = (caller.user_id.as_str(), caller.session_id.as_str());
    let new = validate::new_password(new).map_err(|m| AppError::invalid_field("new_password", m))?;
    let user = users::by_id(&state.db, user_id).await?.ok_or(AppError::InvalidToken)?;
    let verified = state.passwords.verify(&Secret::new(current), Some(&user.password_hash)).await?;
    if !verified.matches {
        return Err(AppError::invalid_field("current_password", "Your current password is not right"));
    }
    if current == new.expose() {
        return Err(AppError::invalid_field("new_password", "Choose a password different from the current one"));
    }
    let hash = state.passwords.hash(&new).await?;
    // The new hash, its event and the other devices' sign-out: all or nothing.
    let mut tx = state.db.begin().await?;
    users::set_password_hash_in(&mut tx, user_id, &hash).await?;
    let event = events::NewEvent {
        session_id: Some(session_id),
        actor_session_id: Some(session_id),
        ..events::NewEvent::new(user_id, EventKind::PasswordChanged)
    };
    events::record(&mut tx, event, now).await?;
    let why = Why { reason: EndReason::PasswordChanged, actor_session_id: Some(session_id) };
    let revoked = sessions::revoke::revoke_all_of_user_in(&mut tx, user_id, Some(session_id), why, now).await?;
    let revoked = sessions::revoke::commit_and_list(tx, &state.revoked, revoked, now).await?;
    tracing::info!(user_id = %user_id, revoked = revoked.len(), "password changed; other sessions signed out");
    Ok(revoked.len() as u64)
}
