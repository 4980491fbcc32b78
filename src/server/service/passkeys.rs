//! Passkeys (ssr only): WebAuthn credentials that sign in on their own — something the
//! person has (the authenticator's key) and the user verification it requires (their PIN,
//! fingerprint or face), two factors in one.
//!
//! - **Adding** ([`register_options`], [`register`]) is a sensitive action (step-up), a
//!   security event and a mail; so is **removing** ([`remove`]).
//! - **Signing in** ([`sign_in_options`], [`sign_in`]) uses discoverable credentials: the
//!   options name no account and allow any credential; the authenticator's answer names the
//!   account (its user handle is the account id). User verification is required. It starts
//!   a session without the authenticator-app step, with `amr` `["hwk","user"]` for a
//!   device-bound passkey or `["swk","user"]` for a synced (backup-eligible) one, and is
//!   recent authentication for step-up. A new device is mailed about as after a password.
//! - **Confirming who one is** ([`reauthenticate`]): the same assertion, which must be one of
//!   the caller's own passkeys.
//!
//! Every refusal of an assertion answers the same `invalid_credential`; a signature counter
//! that went back (the mark of a cloned authenticator) is also a security event.
//!
//! The relying party is the host of `GATEHOUSE_PUBLIC_URL`, and answers are accepted only
//! from that exact origin. WebAuthn does not work on an IP address: a public URL that is one
//! leaves passkeys off ([`relying_party`]).

use super::{
    account::{circumstances, start_session_in, too_many},
    step_up::Confirmed,
};
use crate::{
    error::AppError,
    model::PasskeyInfo,
    server::{
        auth::AuthUser,
        client::Client,
        clock::rfc3339,
        db::Tx,
        events::{self, EventKind},
        factors::passkeys::{self as store, Owner, Purpose, StoredPasskey},
        mail::{self, templates},
        secret::Secret,
        sessions::{self, start::SignedInWith},
        state::AppState,
        throttle::Endpoint,
        tokens::{access, Issued},
        user_agent,
        users::{self, UserRow},
    },
};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

/// The relying party for `public_origin`: its host is the RP id, and it is the one origin
/// answers may come from. `None` (passkeys off) when the host is an IP address, which
/// WebAuthn refuses.
pub fn relying_party(public_origin: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_origin).ok()?;
    let rp_id = origin.domain()?.to_owned();
    match WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name("Gatehouse").build()) {
        Ok(webauthn) => Some(webauthn),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are off: the public URL cannot be a WebAuthn relying party");
            None
        }
    }
}

fn webauthn(state: &AppState) -> Result<&Webauthn, AppError> {
    state.webauthn.as_ref().ok_or_else(|| {
        AppError::BadRequest("Passkeys need the server to be reached by a host name (GATEHOUSE_PUBLIC_URL), not an IP address".into())
    })
}

/// Options for the browser (`publicKey` of SPEC's answers) and the handle of the ceremony.
#[derive(Debug)]
pub struct Ceremony {
    pub ceremony: String,
    pub public_key: Value,
}

/// The `publicKey` member of webauthn-rs's answer (binary as base64url, as
/// `PublicKeyCredential.parse…OptionsFromJSON` takes it).
fn public_key_of(options: &impl serde::Serialize) -> Result<Value, AppError> {
    let mut value = serde_json::to_value(options).map_err(internal)?;
    value.get_mut("publicKey").map(Value::take).ok_or(AppError::Internal)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "passkey ceremony state");
    AppError::Internal
}

fn user_handle(user: &UserRow) -> Result<Uuid, AppError> {
    Uuid::parse_str(&user.id).map_err(internal)
}

fn info(p: &StoredPasskey) -> PasskeyInfo {
    PasskeyInfo { id: p.id.clone(), name: p.name.clone(), created_at: rfc3339(p.created_at), last_used_at: p.last_used_at.map(rfc3339) }
}

/// The account's passkeys, oldest first.
pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<PasskeyInfo>, AppError> {
    Ok(store::list(&state.db, user_id).await?.iter().map(info).collect())
}

/// Starts adding a passkey (step-up): creation options that exclude the account's passkeys
/// and ask for a discoverable credential with user verification.
pub async fn register_options(state: &AppState, caller: &AuthUser, now: i64) -> Result<Ceremony, AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let webauthn = webauthn(state)?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let existing = store::list(&state.db, &user.id).await?;
    if existing.len() as i64 >= store::MAX_PER_ACCOUNT {
        return Err(AppError::invalid_field("name", format!("An account can hold at most {} passkeys", store::MAX_PER_ACCOUNT)));
    }
    let exclude = existing
        .iter()
        .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, registration) = webauthn
        .start_passkey_registration(user_handle(&user)?, &user.email, &user.display_name, Some(exclude))
        .map_err(internal)?;
    let mut public_key = public_key_of(&options)?;
    // Discoverable, so that signing in needs no address: webauthn-rs asks for none, and
    // does not check it when finishing (the browser's answer cannot prove it either).
    if let Some(selection) = public_key.get_mut("authenticatorSelection").and_then(Value::as_object_mut) {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
    let saved = serde_json::to_string(&registration).map_err(internal)?;
    let owner = Owner { user_id: &user.id, session_id: &caller.session_id };
    let ceremony = store::begin_ceremony(&state.db, Purpose::Register, Some(owner), &saved, now).await?;
    Ok(Ceremony { ceremony, public_key })
}

/// The name given, or else the device's ("Chrome on Linux"); at most 64 characters.
fn passkey_name(name: &str, client: &Client) -> Result<String, AppError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field("name", "Use letters, digits and spaces"));
    }
    if name.chars().count() > store::NAME_MAX_CHARS {
        return Err(AppError::invalid_field("name", format!("Use at most {} characters", store::NAME_MAX_CHARS)));
    }
    if name.is_empty() {
        return Ok(user_agent::parse(&client.user_agent).label().chars().take(store::NAME_MAX_CHARS).collect());
    }
    Ok(name.to_owned())
}

/// Finishes adding a passkey (step-up) with the authenticator's answer to the ceremony
/// this session began.
pub async fn register(
    state: &AppState,
    caller: &AuthUser,
    client: &Client,
    ceremony: &str,
    credential: Value,
    name: &str,
    now: i64,
) -> Result<PasskeyInfo, AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let webauthn = webauthn(state)?;
    let name = passkey_name(name, client)?;
    let owner = Owner { user_id: &caller.user_id, session_id: &caller.session_id };
    let Some(saved) = store::take_ceremony(&state.db, ceremony, Purpose::Register, Some(owner), now).await? else {
        tracing::info!("passkey not added: unknown, spent or expired ceremony");
        return Err(AppError::PasskeyNotAdded);
    };
    let registration: PasskeyRegistration = serde_json::from_str(&saved).map_err(internal)?;
    let answer: RegisterPublicKeyCredential = serde_json::from_value(credential).map_err(|_| AppError::PasskeyNotAdded)?;
    let passkey = webauthn.finish_passkey_registration(&answer, &registration).map_err(|e| {
        tracing::info!(error = %e, "passkey not added: the answer did not verify");
        AppError::PasskeyNotAdded
    })?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let stored = StoredPasskey {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        credential_id: store::encode_credential_id(passkey.cred_id().as_ref()),
        name,
        credential: serde_json::to_string(&passkey).map_err(internal)?,
        created_at: now,
        last_used_at: None,
    };
    let mut tx = state.db.begin().await?;
    if store::count_in(&mut tx, &user.id).await? >= store::MAX_PER_ACCOUNT {
        return Err(AppError::invalid_field("name", format!("An account can hold at most {} passkeys", store::MAX_PER_ACCOUNT)));
    }
    match store::insert_in(&mut tx, &stored).await {
        Ok(()) => {}
        Err(e) if crate::server::db::is_unique_violation(&e) => {
            tracing::info!("passkey not added: its credential is registered already");
            return Err(AppError::PasskeyNotAdded);
        }
        Err(e) => return Err(e.into()),
    }
    tell(&mut tx, &user, caller, client, EventKind::PasskeyAdded, &stored.name, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, passkey = %stored.id, "passkey added");
    Ok(info(&stored))
}

/// Removes one of the caller's passkeys (step-up). Someone else's, or an unknown id, is
/// `not_found` alike.
pub async fn remove(state: &AppState, caller: &AuthUser, client: &Client, id: &str, now: i64) -> Result<(), AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let mut tx = state.db.begin().await?;
    let Some(name) = store::remove_in(&mut tx, &user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    tell(&mut tx, &user, caller, client, EventKind::PasskeyRemoved, &name, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, passkey = %id, "passkey removed");
    Ok(())
}

/// The event and the mail of a passkey added or removed.
async fn tell(tx: &mut Tx, user: &UserRow, caller: &AuthUser, client: &Client, kind: EventKind, name: &str, now: i64) -> Result<(), AppError> {
    let event = events::NewEvent {
        session_id: Some(&caller.session_id),
        actor_session_id: Some(&caller.session_id),
        client: Some(client),
        detail: Some(name),
        ..events::NewEvent::new(&user.id, kind)
    };
    events::record(tx, event, now).await?;
    let (subject, what) = if kind == EventKind::PasskeyAdded {
        ("A passkey was added", format!("A passkey named \u{201c}{name}\u{201d} was added to your account: it can now sign in on its own."))
    } else {
        ("A passkey was removed", format!("The passkey named \u{201c}{name}\u{201d} was removed from your account: it no longer signs in."))
    };
    let message = templates::security_change(&user.email, &user.display_name, &circumstances(client, now), subject, &what);
    mail::queue::enqueue_in(tx, &message, now).await?;
    Ok(())
}

/// Starts a passkey sign-in (or a confirmation of who one is): request options for any
/// discoverable credential, user verification required. Names no account.
pub async fn sign_in_options(state: &AppState, client: &Client, now: i64) -> Result<Ceremony, AppError> {
    state.throttle.request(Endpoint::Login, client.ip_addr()).map_err(too_many)?;
    let webauthn = webauthn(state)?;
    let (options, authentication) = webauthn.start_discoverable_authentication().map_err(internal)?;
    let public_key = public_key_of(&options)?;
    let saved = serde_json::to_string(&authentication).map_err(internal)?;
    let ceremony = store::begin_ceremony(&state.db, Purpose::SignIn, None, &saved, now).await?;
    Ok(Ceremony { ceremony, public_key })
}

/// An assertion that verified: whose passkey it was, how it counts, and the passkey's
/// credential before and after (its counter), for [`Asserted::record_use_in`].
struct Asserted {
    user: UserRow,
    with: SignedInWith,
    passkey_id: String,
    was: String,
    updated: String,
}

impl Asserted {
    /// The passkey's use, in the transaction that acts on it: refused when another use of
    /// the same passkey was recorded since it was read.
    async fn record_use_in(&self, tx: &mut Tx, now: i64) -> Result<(), AppError> {
        if !store::record_use_in(tx, &self.passkey_id, &self.was, &self.updated, now).await? {
            tracing::info!("passkey refused: another use of it came first");
            return Err(AppError::PasskeyRefused);
        }
        Ok(())
    }
}

/// Checks an assertion against the ceremony it answers (which it spends) and the passkey it
/// names. Every refusal is `PasskeyRefused`; a counter that went back is also recorded.
/// Writes outside any transaction (on SQLite the one writer would wait for it).
async fn verify_assertion(state: &AppState, client: &Client, ceremony: &str, credential: Value, now: i64) -> Result<Asserted, AppError> {
    let webauthn = webauthn(state)?;
    let Some(saved) = store::take_ceremony(&state.db, ceremony, Purpose::SignIn, None, now).await? else {
        tracing::info!("passkey refused: unknown, spent or expired ceremony");
        return Err(AppError::PasskeyRefused);
    };
    let authentication: DiscoverableAuthentication = serde_json::from_str(&saved).map_err(internal)?;
    let answer: PublicKeyCredential = serde_json::from_value(credential).map_err(|_| AppError::PasskeyRefused)?;
    let (handle, raw_id) = webauthn.identify_discoverable_authentication(&answer).map_err(|_| AppError::PasskeyRefused)?;
    let Some(stored) = store::by_credential_id(&state.db, &store::encode_credential_id(raw_id)).await? else {
        tracing::info!("passkey refused: unknown credential");
        return Err(AppError::PasskeyRefused);
    };
    // The user handle the authenticator returns must name the account that registered it.
    if Uuid::parse_str(&stored.user_id).ok() != Some(handle) {
        tracing::info!("passkey refused: the user handle names another account");
        return Err(AppError::PasskeyRefused);
    }
    let mut passkey: Passkey = serde_json::from_str(&stored.credential).map_err(internal)?;
    let result = match webauthn.finish_discoverable_authentication_v2(&answer, authentication, &passkey) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            counter_went_back(state, &stored, client, now).await?;
            return Err(AppError::PasskeyRefused);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey refused: the assertion did not verify");
            return Err(AppError::PasskeyRefused);
        }
    };
    if !result.user_verified() {
        return Err(AppError::PasskeyRefused);
    }
    passkey.update_credential(&result);
    let updated = serde_json::to_string(&passkey).map_err(internal)?;
    let user = users::by_id(&state.db, &stored.user_id).await?.ok_or(AppError::PasskeyRefused)?;
    let with = if result.backup_eligible() { SignedInWith::SyncedPasskey } else { SignedInWith::DeviceBoundPasskey };
    Ok(Asserted { user, with, passkey_id: stored.id, was: stored.credential, updated })
}

async fn counter_went_back(state: &AppState, stored: &StoredPasskey, client: &Client, now: i64) -> Result<(), AppError> {
    tracing::warn!(user_id = %stored.user_id, passkey = %stored.id, "passkey refused: its signature counter went back (cloned authenticator?)");
    let mut tx = state.db.begin().await?;
    let event = events::NewEvent {
        client: Some(client),
        detail: Some(&stored.name),
        ..events::NewEvent::new(&stored.user_id, EventKind::PasskeyCounterWentBack)
    };
    events::record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Signs in with a passkey: a session whose `amr` is the passkey's two factors, without the
/// authenticator-app step.
pub async fn sign_in(state: &AppState, ceremony: &str, credential: Value, client: &Client, now: i64) -> Result<Issued, AppError> {
    state.throttle.request(Endpoint::Login, client.ip_addr()).map_err(too_many)?;
    let asserted = verify_assertion(state, client, ceremony, credential, now).await?;
    let user = &asserted.user;
    if state.require_verified_email && user.email_verified_at.is_none() {
        return Err(AppError::EmailNotVerified);
    }
    let mut tx = state.db.begin().await?;
    asserted.record_use_in(&mut tx, now).await?;
    start_session_in(state, tx, user, &user.password_hash, client, asserted.with, now).await
}

/// "Confirm it's you" with a passkey: one of the caller's own. Renews the session's
/// `auth_time` and `amr` like the password does.
pub async fn reauthenticate(state: &AppState, caller: &AuthUser, client: &Client, ceremony: &str, credential: Value, now: i64) -> Result<Confirmed, AppError> {
    state.throttle.request(Endpoint::Login, client.ip_addr()).map_err(too_many)?;
    let asserted = verify_assertion(state, client, ceremony, credential, now).await?;
    let user = &asserted.user;
    if user.id != caller.user_id {
        tracing::info!("step-up refused: the passkey is another account's");
        return Err(AppError::PasskeyRefused);
    }
    let amr = asserted.with.as_str();
    let mut tx = state.db.begin().await?;
    asserted.record_use_in(&mut tx, now).await?;
    let Some(session_ends_at) = sessions::confirmed_in(&mut tx, &caller.session_id, amr, now).await? else {
        return Err(AppError::SessionRevoked);
    };
    tx.commit().await?;
    let subject = access::Subject { user_id: &user.id, session_id: &caller.session_id, session_ends_at, auth_time: now, amr, operator: user.operator_since.is_some() };
    let (token, claims) = access::mint_for(&state.keys.current(), &state.access, &subject, now)?;
    tracing::info!(user_id = %user.id, session_id = %caller.session_id, "identity confirmed with a passkey (step-up)");
    Ok(Confirmed { access_token: Secret::new(token), claims, user: user.public(), session_ends_at })
}
