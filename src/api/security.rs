//! Server functions behind the security page (the use cases are `server::service::account`).

use crate::error::AppError;
use leptos::prelude::*;

/// Changes the password; every other device is signed out, this one stays.
/// Returns how many devices were signed out.
#[server(prefix = "/fn", endpoint = "password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    account::change_password(&state, &me, &client, &current_password, &new_password, clock::now()).await
}

/// The caller's account, for the frame of pages that need nothing else.
#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<crate::model::User, AppError> {
    use crate::server::service::account;
    let (state, me) = super::ctx::caller()?;
    account::profile(&state, &me.user_id).await.map(std::sync::Arc::unwrap_or_clone)
}

/// Whether this session proved who it is recently enough for a sensitive action: `()`, or
/// 403 `reauthentication_required` (saying how to confirm). Changes nothing. A page asks before
/// it sends one of its plain forms that needs a recent sign-in (an operator's action), so
/// "Confirm it's you" can come first and the form can then go on by itself.
#[server(prefix = "/fn", endpoint = "step-up/check")]
pub async fn recent_sign_in() -> Result<(), AppError> {
    use crate::server::{clock, service::step_up};
    let (state, me) = super::ctx::caller()?;
    step_up::require_recent(&state, &me, clock::now()).await
}

/// "Confirm it's you": the password (and a code with two-step verification on) renews this
/// session's proof of identity; the browser gets an access token that carries it. A form
/// sent without JavaScript goes on to `next` (a same-site path).
#[server(prefix = "/fn", endpoint = "reauthenticate")]
pub async fn reauthenticate(confirm_password: String, confirm_code: Option<String>, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{clock, http::{browser::safe_next, client_of}, service::step_up};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let confirmed = step_up::reauthenticate(&state, &me, &client, &confirm_password, confirm_code.as_deref(), now).await?;
    state.cookies.set_access(&cookies, &confirmed.access_token, confirmed.session_ends_at, now);
    if super::ctx::plain_form()? {
        leptos_axum::redirect(&safe_next(next.as_deref()));
    }
    Ok(())
}
