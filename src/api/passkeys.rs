//! Server functions for passkeys (the use cases are `server::service::passkeys`). The
//! WebAuthn options and answers travel as JSON text: `public/passkeys.js` turns them into
//! and out of the browser's objects, so the WebAssembly never handles their binary parts.

use crate::{error::AppError, model::PasskeyInfo};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A ceremony begun: its handle, and the options for the browser as JSON text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub public_key: String,
}

#[cfg(feature = "ssr")]
impl TryFrom<crate::server::service::passkeys::Ceremony> for PasskeyCeremony {
    type Error = AppError;
    fn try_from(c: crate::server::service::passkeys::Ceremony) -> Result<Self, AppError> {
        Ok(PasskeyCeremony { ceremony: c.ceremony, public_key: serde_json::to_string(&c.public_key).map_err(|_| AppError::Internal)? })
    }
}

/// The answer the browser sends, parsed; anything that is not JSON is no credential.
#[cfg(feature = "ssr")]
fn credential_json(text: &str, refused: AppError) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(text).map_err(|_| refused)
}

/// "Add a passkey", first half (step-up): the creation options.
#[server(prefix = "/fn", endpoint = "passkey-add-options")]
pub async fn passkey_add_options() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{clock, service::passkeys};
    let (state, me) = super::ctx::caller()?;
    passkeys::register_options(&state, &me, clock::now()).await?.try_into()
}

/// "Add a passkey", second half (step-up): the authenticator's answer, and a name.
#[server(prefix = "/fn", endpoint = "passkey-add")]
pub async fn add_passkey(ceremony: String, credential: String, name: String) -> Result<PasskeyInfo, AppError> {
    use crate::server::{clock, http::client_of, service::passkeys};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let credential = credential_json(&credential, AppError::PasskeyNotAdded)?;
    passkeys::register(&state, &me, &client, &ceremony, credential, &name, clock::now()).await
}

/// "Remove" (step-up). Without JavaScript, back to the security page.
#[server(prefix = "/fn", endpoint = "passkey-remove")]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::passkeys};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    passkeys::remove(&state, &me, &client, &id, clock::now()).await?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/settings/password?passkey=removed");
    }
    Ok(())
}

/// Request options for signing in, or confirming who one is, with a passkey.
#[server(prefix = "/fn", endpoint = "passkey-options")]
pub async fn passkey_options() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{clock, http::client_of, service::passkeys};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    passkeys::sign_in_options(&state, &client, clock::now()).await?.try_into()
}

/// "Sign in with a passkey" (and autofill): sets the session's cookies and answers where to
/// go — `rd` (forward-auth, an allowed host), else `next`, else the dashboard.
#[server(prefix = "/fn", endpoint = "passkey-sign-in")]
pub async fn passkey_sign_in(ceremony: String, credential: String, next: Option<String>, rd: Option<String>) -> Result<String, AppError> {
    use crate::server::{clock, http::{browser::destination, client_of}, service::passkeys};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let credential = credential_json(&credential, AppError::PasskeyRefused)?;
    let issued = passkeys::sign_in(&state, &ceremony, credential, &client_of(&state, &parts), now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    Ok(destination(&state, next.as_deref(), rd.as_deref()).0)
}

/// "Confirm it's you" with a passkey: one of the caller's own.
#[server(prefix = "/fn", endpoint = "reauthenticate-passkey")]
pub async fn reauthenticate_with_passkey(ceremony: String, credential: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::passkeys};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let credential = credential_json(&credential, AppError::PasskeyRefused)?;
    let confirmed = passkeys::reauthenticate(&state, &me, &client, &ceremony, credential, now).await?;
    state.cookies.set_access(&cookies, &confirmed.access_token, confirmed.session_ends_at, now);
    Ok(())
}
