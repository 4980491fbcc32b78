//! Server functions for getting back in: "Forgot password?" and the reset link's page (the
//! use cases are `server::service::recovery`).

use crate::error::AppError;
use leptos::prelude::*;

/// Mails a reset link when the address has an account; the same answer either way.
#[server(prefix = "/fn", endpoint = "forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::recovery};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    recovery::forgot_password(&state, &email, &client, clock::now())?;
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

/// Whether the reset link a page was opened with still works. Changes nothing.
#[server(prefix = "/fn", endpoint = "reset-link")]
pub async fn reset_link_usable(token: String) -> Result<bool, AppError> {
    use crate::server::{clock, service::recovery};
    let state = super::ctx::state()?;
    recovery::reset_link_usable(&state, &token, clock::now()).await
}

/// Sets the new password, signs every device out and this browser in.
#[server(prefix = "/fn", endpoint = "reset-password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::recovery};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let issued = recovery::reset_password(&state, &token, &new_password, &client, now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    leptos_axum::redirect("/dashboard?reset=1");
    Ok(())
}
