//! Server functions behind the security page.

use crate::error::AppError;
use leptos::prelude::*;

/// Changes the password; every other device is signed out, this one stays.
/// Returns how many devices were signed out.
#[server(prefix = "/fn", endpoint = "password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    use crate::server::{account, clock};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    account::change_password(&state, &me.user_id, &me.session_id, &current_password, &new_password, clock::now()).await
}

/// The caller's display name, for the frame of pages that need nothing else.
#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<String, AppError> {
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    Ok(state.profiles.get(&state.db, &me.user_id).await?.ok_or(AppError::InvalidToken)?.display_name)
}
