//! Signing in and out (ssr only): register, sign in, refresh, sign out, change the password.

use crate::{
    error::AppError,
    model::User,
    server::{
        auth::AuthUser,
        client::Client,
        clock::rfc3339,
        events::{self, EndReason, EventKind},
        known_devices,
        mail::{self, templates},
        secret::Secret,
        db::Tx,
        sessions::{self, revoke::Why, rotate::RotateError, start::{SignedInWith, Started}},
        state::AppState,
        throttle::{Claimant, Endpoint, SecretCheck, Via},
        tokens::{access, refresh, Issued},
        user_agent, users, validate,
    },
};
use super::new_device;
use std::net::IpAddr;

/// Where and when a request happened, as a message tells it.
pub(super) fn circumstances(client: &Client, now: i64) -> templates::Circumstances {
    templates::Circumstances {
        when: crate::time::exact(&rfc3339(now)),
        device: user_agent::parse(&client.user_agent).label(),
        ip: client.ip.clone(),
    }
}

/// After a successful sign-in: the client's fresh device token (see `known_devices`). The
/// sign-in stands if this fails: the device stays unknown, which only costs it waiting while
/// someone guesses at this account.
pub(super) async fn remember_device(state: &AppState, user_id: &str, session_id: &str, client: &Client, now: i64) -> Option<Secret> {
    match known_devices::remember(&state.db, user_id, session_id, client.device_token.as_ref(), now).await {
        Ok(token) => Some(token),
        Err(e) => {
            tracing::warn!(error = %e, "could not remember the device");
            None
        }
    }
}

pub(super) fn too_many(retry_after: u64) -> AppError {
    AppError::TooManyAttempts { retry_after }
}

/// Creates an account and mails a link to verify its address (`email`). Does not sign in.
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
    let hash = state.passwords.hash(email.as_str(), &password).await?;
    let mut tx = state.db.begin().await?;
    let row = match users::insert_in(&mut tx, email.as_str(), display_name.as_str(), &hash, now).await {
        Ok(row) => row,
        Err(e) if crate::server::db::is_unique_violation(&e) => return Err(AppError::EmailTaken),
        Err(e) => return Err(e.into()),
    };
    super::email::mail_verification_in(&mut tx, state, &row, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %row.id, "account registered");
    Ok(row.public())
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
    register(state, email, password, display_name, client.ip_addr(), now).await?;
    login(state, email, password, client, now).await
}

/// Checks credentials and starts a session. Unknown email and wrong password answer alike
/// and cost alike (a dummy hash is verified when there is no account). The client leaves
/// with a fresh device token: from now on it is a device this account knows (see
/// `known_devices`), which others' failed sign-ins never slow down. An account with two-step
/// verification on answers `second_factor_required` instead, with a challenge for
/// `two_step::second_factor`. A device the account did not know gets its owner mailed (see
/// `new_device`).
pub async fn login(state: &AppState, email: &str, password: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    let result = async {
        let checked = check_password(state, email, password, client, now).await?;
        super::two_step::challenge_if_on(state, &checked.user, now).await?;
        start_session(state, checked, client, now).await
    }
    .await;
    crate::server::metrics::sign_in(&result);
    result
}

/// A password found right, and the stored hash it was found right against.
#[derive(Debug)]
pub struct Checked {
    pub(super) user: users::UserRow,
    /// Today's parameters differ from the stored hash's: its replacement, already computed.
    rehashed: Option<String>,
}

/// The first half of [`login`]: throttling and the password check, which takes a while.
pub async fn check_password(state: &AppState, email: &str, password: &str, client: &Client, now: i64) -> Result<Checked, AppError> {
    // Over-long input cannot match anything we stored; refuse it before hashing.
    if email.len() > 4 * validate::EMAIL_MAX_CHARS || password.chars().count() > validate::PASSWORD_MAX_CHARS {
        return Err(AppError::InvalidCredentials);
    }
    let email = email.trim().to_lowercase();
    let ip = client.ip_addr();
    state.throttle.request(Endpoint::Login, ip).map_err(too_many)?;
    let claimant = Claimant { account: &email, ip, via: Via::SignIn { device_token: client.device_token.as_ref() } };
    // Counted as a failure from here on, until the password turns out right.
    let attempt = state.throttle.admit(SecretCheck::SignIn, &claimant, now).await?;
    let password = Secret::new(password);
    let user = users::by_email(&state.db, &email).await?;
    let verified = state.passwords.verify(&email, &password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let Some(user) = user.filter(|_| verified.matches) else {
        tracing::info!("sign-in failed");
        return Err(AppError::InvalidCredentials);
    };
    if user.disabled_at.is_some() {
        // The same answer, after the same work, as a wrong password; and it counts as a
        // failed check like one.
        tracing::info!(user_id = %user.id, "sign-in refused: the account is disabled");
        return Err(AppError::InvalidCredentials);
    }
    state.throttle.succeeded(attempt, now).await?;
    if user.password_reset_required_at.is_some() {
        super::admin::password_reset_required(state, &user, client, now).await?;
        return Err(AppError::PasswordResetRequired);
    }
    if state.require_verified_email && user.email_verified_at.is_none() {
        tracing::info!(user_id = %user.id, "sign-in refused: the address is not verified");
        return Err(AppError::EmailNotVerified);
    }
    let rehashed = if verified.needs_rehash { Some(state.passwords.hash(&email, &password).await?) } else { None };
    Ok(Checked { user, rehashed })
}

/// The second half of [`login`]: the session, its event, and (when due) the fresh hash, in
/// one transaction that first makes sure the password is still the one that was checked. A
/// password change that committed in between (its "sign out everyone" could not see this
/// session yet) makes the check stale: no session, and no old password's hash written back.
pub async fn start_session(state: &AppState, checked: Checked, client: &Client, now: i64) -> Result<Issued, AppError> {
    let Checked { user, rehashed } = checked;
    let tx = state.db.begin().await?;
    let keep = rehashed.as_deref().unwrap_or(&user.password_hash).to_owned();
    start_session_in(state, tx, &user, &keep, client, SignedInWith::Password, now).await
}

/// Starts the session inside `tx` (which may hold what else the sign-in spent: a code, a
/// challenge) and commits: the password must still be `user`'s (`keep` is written as its
/// hash — the same, or today's parameters' rehash), the cap on sessions is kept, the event
/// recorded, and a new device's alert (link and mail) queued.
pub(crate) async fn start_session_in(
    state: &AppState,
    mut tx: Tx,
    user: &users::UserRow,
    keep: &str,
    client: &Client,
    with: SignedInWith,
    now: i64,
) -> Result<Issued, AppError> {
    // Asked before anything renews the device token (outside `tx`: a read).
    let known = new_device::is_known(state, client, &user.email, now).await?;
    if !users::replace_password_hash_in(&mut tx, &user.id, &user.password_hash, keep).await? {
        tracing::info!(user_id = %user.id, "sign-in refused: the password changed while it was being checked");
        return Err(AppError::InvalidCredentials);
    }
    // Read under the row lock just taken: an operator disabling the account meanwhile either
    // committed before (seen here) or waits, and then ends this session with the others.
    if crate::server::operators::disabled_in(&mut tx, &user.id).await? {
        tracing::info!(user_id = %user.id, "sign-in refused: the account was disabled while it was being checked");
        return Err(AppError::InvalidCredentials);
    }
    let started = sessions::start::start_with(&mut tx, &user.id, client, &state.sessions, with, now).await?;
    let ended = sessions::start::make_room(&mut tx, &user.id, &started.session_id, &state.sessions, state.max_sessions, now).await?;
    let alert = new_device::alert_due_in(&mut tx, &user.id, known, now).await?;
    record_sign_in(&mut tx, &user.id, &started.session_id, client, alert, with, now).await?;
    if alert {
        new_device::queue_alert_in(&mut tx, state, user, &started.session_id, client, now).await?;
    }
    sessions::revoke::commit_and_list(tx, &state.revoked, ended, now).await?;
    if alert {
        state.mailer.wake();
    }
    tracing::info!(user_id = %user.id, session_id = %started.session_id, "signed in");
    issue(state, user, started, client, now).await
}

/// The `signed_in` event of a session just started, inside its transaction; `new_device`
/// when its owner is mailed about it; a passkey sign-in says so.
pub(super) async fn record_sign_in(
    tx: &mut Tx,
    user_id: &str,
    session_id: &str,
    client: &Client,
    new_device: bool,
    with: SignedInWith,
    now: i64,
) -> Result<(), sqlx::Error> {
    let event = events::NewEvent {
        session_id: Some(session_id),
        client: Some(client),
        new_device,
        detail: with.is_passkey().then_some(events::PASSKEY_SIGN_IN),
        ..events::NewEvent::new(user_id, EventKind::SignedIn)
    };
    events::record(tx, event, now).await
}

/// What a client gets for a session started (and committed) for it: the first access token,
/// the refresh token, and a renewed device token.
pub(super) async fn issue(state: &AppState, user: &users::UserRow, started: Started, client: &Client, now: i64) -> Result<Issued, AppError> {
    let subject = access::Subject {
        user_id: &user.id,
        session_id: &started.session_id,
        session_ends_at: started.expires_at,
        auth_time: started.auth_time,
        amr: started.signed_in_with.as_str(),
        operator: user.operator_since.is_some(),
    };
    let (token, claims) = access::mint_for(&state.keys.current(), &state.access, &subject, now)?;
    let device_token = remember_device(state, &user.id, &started.session_id, client, now).await;
    Ok(Issued {
        user: user.public(),
        session_id: started.session_id,
        access_token: Secret::new(token),
        access_claims: claims,
        refresh_token: started.refresh,
        refresh_expires_at: started.refresh_expires_at,
        device_token,
    })
}

/// Exchanges a refresh token for a new pair (rotation), for `client`: inside the grace
/// window a spent token buys the successor only for the browser that holds it.
pub async fn refresh(state: &AppState, presented: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    let result = rotate(state, presented, client, now).await;
    crate::server::metrics::refresh(&result);
    result
}

async fn rotate(state: &AppState, presented: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    state.throttle.request(Endpoint::Refresh, client.ip_addr()).map_err(too_many)?;
    let token = refresh::parse(presented).ok_or(AppError::InvalidRefreshToken)?;
    let rotated = sessions::rotate::rotate(&state.db, &state.successor_keys, &state.revoked, &token, client, &state.sessions, now)
        .await
        .map_err(|e| match e {
            RotateError::Invalid => AppError::InvalidRefreshToken,
            RotateError::Expired => AppError::RefreshTokenExpired,
            RotateError::Revoked => AppError::SessionRevoked,
            RotateError::Reused { .. } => AppError::RefreshTokenReused,
            RotateError::Db(e) => e.into(),
        })?;
    let (user, operator) = state.profiles.get_with_role(&state.db, &rotated.user_id).await?.ok_or(AppError::InvalidRefreshToken)?;
    let keys = state.keys.current();
    let subject = access::Subject {
        user_id: &user.id,
        session_id: &rotated.session_id,
        session_ends_at: rotated.session_expires_at,
        auth_time: rotated.auth_time,
        amr: &rotated.amr,
        operator,
    };
    let (token, claims) = access::mint_for(&keys, &state.access, &subject, now)?;
    Ok(Issued {
        user: std::sync::Arc::unwrap_or_clone(user),
        session_id: rotated.session_id,
        access_token: Secret::new(token),
        access_claims: claims,
        refresh_token: rotated.refresh,
        refresh_expires_at: rotated.refresh_expires_at,
        device_token: None,
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

/// An account's public side (cached). A token naming an account that is gone is no longer
/// a valid token.
pub async fn profile(state: &AppState, user_id: &str) -> Result<std::sync::Arc<User>, AppError> {
    state.profiles.get(&state.db, user_id).await?.ok_or(AppError::InvalidToken)
}

/// Changes the password (the current one is required) and signs out every other session;
/// this one stays signed in. Checking the current password is throttled like signing in:
/// this session and its address wait after repeated failures, other clients of the account
/// are slowed down, never refused.
pub async fn change_password(
    state: &AppState,
    caller: &AuthUser,
    client: &Client,
    current: &str,
    new: &str,
    now: i64,
) -> Result<u64, AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let (user_id, session_id) = (caller.user_id.as_str(), caller.session_id.as_str());
    let new = validate::new_password(new).map_err(|m| AppError::invalid_field("new_password", m))?;
    let user = users::by_id(&state.db, user_id).await?.ok_or(AppError::InvalidToken)?;
    let claimant = Claimant { account: user_id, ip: client.ip_addr(), via: Via::Session(session_id) };
    let attempt = state.throttle.admit(SecretCheck::CurrentPassword, &claimant, now).await?;
    let verified = state.passwords.verify(user_id, &Secret::new(current), Some(&user.password_hash)).await?;
    if !verified.matches {
        tracing::info!("current password check failed");
        return Err(AppError::invalid_field("current_password", "Your current password is not right"));
    }
    state.throttle.succeeded(attempt, now).await?;
    if current == new.expose() {
        return Err(AppError::invalid_field("new_password", "Choose a password different from the current one"));
    }
    let hash = state.passwords.hash(user_id, &new).await?;
    // The new hash, its event and the other devices' sign-out: all or nothing.
    let mut tx = state.db.begin().await?;
    if !users::replace_password_hash_in(&mut tx, user_id, &user.password_hash, &hash).await? {
        // Another change won the race: the current password checked above is not current.
        return Err(AppError::invalid_field("current_password", "Your current password is not right"));
    }
    crate::server::operators::clear_reset_required_in(&mut tx, user_id).await?;
    let event = events::NewEvent {
        session_id: Some(session_id),
        actor_session_id: Some(session_id),
        ..events::NewEvent::new(user_id, EventKind::PasswordChanged)
    };
    events::record(&mut tx, event, now).await?;
    let why = Why { reason: EndReason::PasswordChanged, actor_session_id: Some(session_id) };
    let reach = sessions::revoke::Reach::new(&state.sessions, &state.revoked);
    let ended = sessions::revoke::revoke_all_of_user_in(&mut tx, user_id, Some(session_id), why, reach, now).await?;
    let notice = templates::password_changed(&user.email, &user.display_name, &circumstances(client, now), &state.link("/forgot-password"));
    mail::queue::enqueue_in(&mut tx, &notice, now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended.ids, now).await?;
    state.mailer.wake();
    tracing::info!(user_id = %user_id, revoked = ended.live, "password changed; other sessions signed out");
    Ok(ended.live)
}
